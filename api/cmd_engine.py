"""`ordinance check | eval | test`: the engine's doors on the command line (SPEC section 8)."""
from __future__ import annotations

import argparse
import gc
import dataclasses
import datetime
import os
import sys
from pathlib import Path
from typing import IO, Any

from ordinance.adapters.compiled_cache import load_cached
from ordinance.engine import BadOrder, Diagnostic, RuleSetInvalid, Span, check, dumps, parse_order
from ordinance.engine.codec import dumpb, dumps_reference

from .usecases.decide import evaluate_order


def register(sub: Any) -> None:
    p = sub.add_parser("check", help="validate and analyse a rule set",
                       description="Validates a rule set and analyses it; prints "
                       "FILE:LINE:COL: error|warning: MESSAGE. Exit 0 valid, 1 invalid.")
    p.add_argument("ruleset", help="the rule set directory")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--quiet", "-q", action="store_true", help="no source lines or hints")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("eval", help="evaluate orders against a rule set",
                       description="Prints the decision for one order (ORDER.json, or - for "
                       "stdin), or one decision per line for a JSONL stream (--orders).")
    p.add_argument("ruleset")
    p.add_argument("order", nargs="?", help="ORDER.json, or - to read stdin")
    p.add_argument("--orders", metavar="IN.jsonl", help="a JSONL stream of orders (- = stdin)")
    p.add_argument("--out", metavar="OUT.jsonl", help="where decisions go (default stdout)")
    p.add_argument("--as-of", type=_date, help="the decision date YYYY-MM-DD")
    p.add_argument("--compact", action="store_true", help="one-line JSON for a single order")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("test", help="run a rule set's analysts' tests",
                       description="Runs tests/*.yaml; prints each failure with its "
                       "differences, the share of rules that fired and, per decision table, "
                       "the rows hit and never hit. Exit 0 all pass.")
    p.add_argument("ruleset")
    p.add_argument("--verbose", "-v", action="store_true", help="list passing cases too")
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("docs", help="regenerate the generated reference page",
                       description="Writes docs/reference-generated.md from the engine's "
                       "registries of functions, actions, hit policies and cell forms.")
    p.add_argument("--out", default="docs/reference-generated.md")
    p.set_defaults(func=cmd_docs)


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _load(path: str) -> Any:
    if not Path(path).is_dir():
        print(f"ordinance: {path}: not a rule set directory", file=sys.stderr)
        return None
    try:
        return load_cached(path)  # a second start of the same rule set skips compiling
    except RuleSetInvalid as exc:
        for d in exc.diagnostics:
            if d.is_error:
                print(_here(d, path).render(), file=sys.stderr)
        print(f"ordinance: {path}: invalid rule set (run `ordinance check {path}`)",
              file=sys.stderr)
        return None


def _here(d: Diagnostic, ruleset: str) -> Diagnostic:
    """The diagnostic with its file relative to where the command runs (JSON keeps it relative
    to the rule set, as REST does)."""
    base = os.path.relpath(ruleset)
    if base == "." or d.span.file.startswith(("/", "..")):
        return d
    where = Span(Path(base, d.span.file).as_posix(), d.span.line, d.span.col)
    return dataclasses.replace(d, span=where)


def cmd_check(args: argparse.Namespace) -> int:
    if not Path(args.ruleset).is_dir():
        print(f"ordinance: {args.ruleset}: not a rule set directory", file=sys.stderr)
        return 1
    diags = check(args.ruleset)
    errors = sum(1 for d in diags if d.is_error)
    warnings = len(diags) - errors
    if args.format == "json":
        print(dumps({"valid": errors == 0, "diagnostics": [d.to_json() for d in diags]},
                    indent=2))
    else:
        for d in diags:
            print(_here(d, args.ruleset).render(with_source=not args.quiet))
        verdict = "invalid" if errors else "valid"
        print(f"{args.ruleset}: {verdict}: {errors} error{'s' * (errors != 1)}, "
              f"{warnings} warning{'s' * (warnings != 1)}", file=sys.stderr)
    return 1 if errors else 0


def _open_out(path: str | None) -> IO[str]:
    if path is None or path == "-":
        return sys.stdout
    return open(path, "w", encoding="utf-8")


def _open_out_bytes(path: str | None) -> Any:
    """The stream's output, written as bytes (the codec writes UTF-8 JSON: no text made only
    to be encoded again)."""
    if path is None or path == "-":
        sys.stdout.flush()
        return getattr(sys.stdout, "buffer", None) or _TextOut(sys.stdout)
    return open(path, "wb")


class _TextOut:
    """Bytes written to a text stream that has no binary buffer (a test's captured stdout)."""

    def __init__(self, text: IO[str]):
        self.text = text

    def write(self, data: bytes) -> None:
        self.text.write(data.decode("utf-8"))

    def flush(self) -> None:
        self.text.flush()


def cmd_eval(args: argparse.Namespace) -> int:
    """Reads the orders and renders the decisions; the decide use case decides
    (api/usecases/decide.py `evaluate_order`: nothing is logged from the command line)."""
    if (args.order is None) == (args.orders is None):
        print("ordinance eval: give ORDER.json (or -) or --orders IN.jsonl", file=sys.stderr)
        return 2
    rs = _load(args.ruleset)
    if rs is None:
        return 2
    if args.order is not None:
        try:
            text = sys.stdin.buffer.read() if args.order == "-" else Path(args.order).read_bytes()
        except OSError as exc:
            print(f"ordinance eval: {args.order}: {exc.strerror}", file=sys.stderr)
            return 2
        try:
            order = parse_order(text)
        except BadOrder as exc:
            print(f"ordinance eval: {args.order}: bad order at {exc.path}: {exc.message}",
                  file=sys.stderr)
            return 2
        decision = evaluate_order(rs, order, args.as_of, _today(), owned=True)
        out = _open_out(args.out)
        # one value: the codec's reference writer, byte for byte what `dumps` writes, spares
        # the start msgspec's import (a writer for streams; issue 16)
        out.write(dumps_reference(decision.to_json(), None if args.compact else 2) + "\n")
        if out is not sys.stdout:
            out.close()
        return 0
    return _eval_stream(rs, args)


def _today() -> datetime.date:
    """The as-of date of an order that has none: today by the clock adapter (ORDINANCE_CLOCK
    sets it), read here at the door; the engine reads no clock."""
    from ordinance.adapters.clock import clock_from_env

    return clock_from_env().now().date()


def _eval_stream(rs: Any, args: argparse.Namespace) -> int:
    # the compiled rule set and everything loaded so far live as long as the process: out of
    # the collector's sight, full collections while the stream is decided do not walk them
    # again (as adapters/store_rulesets.py does for the service's rule sets)
    gc.freeze()
    try:
        src = sys.stdin.buffer if args.orders == "-" else open(args.orders, "rb")
    except OSError as exc:
        print(f"ordinance eval: {args.orders}: {exc.strerror}", file=sys.stderr)
        return 2
    bad, today = 0, _today()
    out = _open_out_bytes(args.out)
    progress = _progress(args.orders, src) if sys.stderr.isatty() else None
    try:
        for n, raw in enumerate(src, start=1):
            if progress is not None and n % 1000 == 0:
                progress()
            if not raw.strip():
                continue
            try:
                order = parse_order(raw)
            except BadOrder as exc:
                bad += 1
                out.write(dumpb({"line": n, "error": f"{exc.path}: {exc.message}"}) + b"\n")
                continue
            out.write(dumpb(evaluate_order(rs, order, args.as_of, today, owned=True).to_json())
                      + b"\n")
    finally:
        if progress is not None:
            progress(done=True)
        if src is not sys.stdin.buffer:
            src.close()
        if args.out is None or args.out == "-":
            out.flush()
        else:
            out.close()
    if bad:
        print(f"ordinance eval: {bad} line{'s' * (bad != 1)} were not orders", file=sys.stderr)
    return 2 if bad else 0


def _progress(path: str, src: Any) -> Any:
    """A progress bar on stderr (a terminal only): bytes read of the input, with an ETA."""
    from rich.progress import (BarColumn, Progress, TextColumn, TimeRemainingColumn,
                               TransferSpeedColumn)
    try:
        total = Path(path).stat().st_size if path != "-" else None
        src.tell()
    except (OSError, ValueError):
        return None
    bar = Progress(TextColumn("evaluating"), BarColumn(), TransferSpeedColumn(),
                   TimeRemainingColumn(), transient=True)
    task = bar.add_task("eval", total=total)
    bar.start()

    def advance(done: bool = False) -> None:
        bar.update(task, completed=src.tell())
        if done:
            bar.stop()
    return advance


def cmd_test(args: argparse.Namespace) -> int:
    from ordinance.engine.testing import failure_lines, run_tests, table_row_lines  # reads YAML

    rs = _load(args.ruleset)
    if rs is None:
        return 1
    report = run_tests(rs, args.ruleset, _today(), rows=True)
    for problem in report.problems:
        print(f"error: {problem}")
    for case in report.cases:
        if case.passed:
            if args.verbose:
                print(f"PASS {case.span.file}:{case.span.line}: {case.name}")
            continue
        print("\n".join(failure_lines(case)))
    total, failed = len(report.cases), len(report.failed)
    print(f"{total - failed} passed, {failed} failed")
    fired = len(report.rule_ids) - len(report.never_fired)
    print(f"rules fired: {fired}/{len(report.rule_ids)} "
          f"({report.coverage.quantize(1) if report.rule_ids else 100}%)")
    for rid in report.never_fired:
        print(f"    never fired: {rid}")
    print("\n".join(table_row_lines(report)))
    if total == 0:
        print(f"no tests: add cases to {args.ruleset}/tests/*.yaml")
    return 1 if failed or report.problems else 0


def cmd_docs(args: argparse.Namespace) -> int:
    from ordinance.engine.reference import markdown
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(markdown() + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0
