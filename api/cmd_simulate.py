"""`ordinance simulate`: replay orders against a baseline and a candidate rule set.

Parses the arguments, calls `ordinance.simulator.replay.simulate`, writes what was asked for
(`--json`, `--changes`, `--report`) and prints a short account on stdout. Exit 0 when done,
2 for bad input (a rule set that does not load, an unreadable order file, a bad option).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich is loaded when `simulate` runs, not by every `ordinance` command
    from rich.console import Console


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "simulate", help="replay orders against a baseline and a candidate rule set",
        description="Replays an order stream against two rule sets and reports what would "
                    "change. See docs/simulator.md.")
    p.add_argument("--baseline", required=True, metavar="RULESET",
                   help="the rule set in force: a directory (or NAME@DIGEST / active with the "
                        "service's storage)")
    p.add_argument("--candidate", required=True, metavar="RULESET", help="the rule set to try")
    p.add_argument("--orders", required=True, metavar="IN",
                   help="orders: JSONL, or CSV (one row per order line) for a .csv name; - for "
                        "stdin")
    p.add_argument("--format", choices=("jsonl", "csv"), help="the order format, if not by name")
    p.add_argument("--as-of", type=_date, metavar="DATE",
                   help="decide every order as of this date (default: each order's date)")
    p.add_argument("--json", metavar="OUT", help="write the summary JSON here (- for stdout)")
    p.add_argument("--changes", metavar="OUT.csv", help="write every changed order as CSV")
    p.add_argument("--report", metavar="R.html", help="write the HTML report here")
    p.add_argument("--sample", type=_count, default=20, metavar="N",
                   help="changed orders shown in full in the summary and report (default 20)")
    p.add_argument("--consume-stock", action="store_true",
                   help="each side keeps a stock ledger that orders deplete, in stream order "
                        "(runs sequentially)")
    p.add_argument("--supply-change", metavar="FILE", help="with --consume-stock: supply "
                   "changes for the candidate (JSON/YAML: 'PO-1 late 10 days', ...)")
    p.add_argument("--executor", choices=("processes", "dask", "inline"), default="processes",
                   help="where the orders are decided (default: local processes)")
    p.add_argument("--workers", type=_count, default=None, metavar="N",
                   help=f"local processes (default: the CPU count, {os.cpu_count()})")
    p.add_argument("--scheduler", metavar="ADDRESS", help="the Dask scheduler, for --executor dask")
    p.add_argument("--chunk-size", type=_count, default=500, metavar="N",
                   help="orders per unit of work (default 500)")
    p.add_argument("--no-blame", action="store_true",
                   help="do not name the edits behind each changed order (faster: no rule set "
                        "with edits reverted is compiled)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=handler)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a count: {text!r}")
    return value


def handler(args: argparse.Namespace) -> int:
    from ordinance.adapters.clock import clock_from_env
    from ordinance.engine import RuleSetInvalid
    from ordinance.simulator import outputs, report
    from ordinance.simulator.replay import Options, SimulationError, simulate
    from ordinance.simulator.rulesets import RuleSetNotFound, resolve
    from ordinance.simulator.streams import open_orders
    from rich.console import Console

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if args.executor == "dask" and not args.scheduler:
        err.print("ordinance simulate: --executor dask needs --scheduler ADDRESS")
        return 2
    try:
        stored = _stored_versions()
        baseline, candidate = resolve(args.baseline, stored), resolve(args.candidate, stored)
        source = open_orders(args.orders, args.format)
        supply_changes = _supply_changes(args)
    except (RuleSetNotFound, OSError, ValueError) as exc:
        err.print(f"ordinance simulate: {exc}", markup=False)
        return 2
    options = Options(as_of=args.as_of, today=clock_from_env().now().date(),
                      consume_stock=args.consume_stock, supply_changes=supply_changes,
                      sample_size=args.sample, collect_changes=bool(args.changes),
                      chunk_size=max(args.chunk_size, 1), blame=not args.no_blame)
    changes = outputs.ChangesCsv(args.changes) if args.changes else None
    try:
        with _progress_bar(err, source.total_bytes, disabled=args.quiet) as on_progress:
            summary = simulate(baseline, candidate, source, options, executor=args.executor,
                               workers=args.workers, scheduler=args.scheduler,
                               progress=on_progress,
                               on_changes=changes.write if changes else None,
                               notice=lambda text: err.print(text))
    except RuleSetInvalid as exc:
        for d in exc.diagnostics:
            span = d.span
            err.print(f"{span.file}:{span.line}:{span.col}: {d.severity}: {d.message}"
                      if span else f"{d.severity}: {d.message}", markup=False)
        return 2
    except (SimulationError, OSError, ValueError) as exc:
        err.print(f"ordinance simulate: {exc}", markup=False)
        return 2
    finally:
        if changes:
            changes.close()

    if args.json == "-":
        sys.stdout.write(outputs.summary_json(summary))
    else:
        if args.json:
            outputs.write_text(args.json, outputs.summary_json(summary))
        print(_account(summary))
    if args.report:
        outputs.write_text(args.report, report.render(summary))
    if summary["bad_lines"]:
        err.print(f"{summary['bad_lines']} line(s) were not orders; the first: "
                  f"{summary['bad_line_samples'][0]}", markup=False)
    return 0


def _supply_changes(args: argparse.Namespace) -> tuple[Any, ...]:
    if not args.supply_change:
        return ()
    if not args.consume_stock:
        raise ValueError("--supply-change needs --consume-stock (supply over time)")
    from ordinance.simulator.promising import read_changes
    return read_changes(args.supply_change)


def _stored_versions() -> Callable[[str], Path | None]:
    """Finds `NAME@DIGEST`, `NAME@VERSION` and `active` in the service's database
    (ORDINANCE_DATABASE_URL), connecting only when such a name is asked for."""
    def find(spec: str) -> Path | None:
        if spec != "active" and "@" not in spec:
            return None
        from sqlalchemy.exc import SQLAlchemyError

        from ordinance.adapters import db
        from ordinance.adapters.store import ServiceError
        from ordinance.adapters.store_rulesets import RuleSets
        from ordinance.simulator.rulesets import RuleSetNotFound, storage_resolver

        from .settings import Settings

        settings = Settings.from_env()
        try:
            store = RuleSets(db.connect(settings.database_url), settings.cache_dir)
            return storage_resolver(store)(spec)
        except (ServiceError, SQLAlchemyError) as exc:
            raise RuleSetNotFound(f"{spec}: not found in the service's storage at "
                                  f"{settings.database_url}: {exc}") from None
    return find


class _progress_bar:
    """A rich progress bar on stderr over the bytes of the order file, with orders/s and ETA."""

    def __init__(self, console: Console, total_bytes: int | None, disabled: bool) -> None:
        from rich.progress import (BarColumn, Progress, TaskProgressColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self.progress = Progress(
            TextColumn("simulating"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[orders]:,} orders"), TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=console, disable=disabled, transient=False)
        self.task = self.progress.add_task("simulate", total=total_bytes, orders=0, rate="")

    def __enter__(self) -> Callable[[Any], None]:
        self.progress.start()

        def update(p: Any) -> None:
            elapsed = self.progress.tasks[0].elapsed or 0
            rate = f"{p.items / elapsed:,.0f}/s" if elapsed > 0 else ""
            self.progress.update(self.task, completed=p.bytes_read, orders=p.items, rate=rate)
        return update

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _account(summary: dict[str, Any]) -> str:
    """The short account on stdout: counts, then money per currency (never added across
    currencies), then the one converted figure when the baseline has dated rates."""
    ch = summary["changes"]
    lines = [(f"{summary['orders']} orders, {summary['changed_orders']} changed "
              f"(status {ch['status']}, total {ch['total']}, approvals {ch['approvals']}, "
              f"sourcing {ch['sourcing']})")]
    for what in ("revenue", "margin"):
        for currency, m in ch.get(what, {}).items():
            lines.append(f"{what} {currency} {m['baseline']} -> {m['candidate']} "
                         f"({_signed(m['delta'])})")
    conv, fx = ch.get("revenue_converted"), summary.get("fx") or {}
    if conv:
        left_out = (f"; not converted (no rate): {', '.join(conv['unconverted'])}"
                    if conv["unconverted"] else "")
        lines.append(f"revenue, all currencies {fx.get('label', '')}: {conv['currency']} "
                     f"{conv['baseline']} -> {conv['candidate']} ({_signed(conv['delta'])})"
                     f"{left_out}")
    elif fx.get("error"):
        lines.append(f"revenue not converted to one currency: {fx['error']}")
    lines += [f"  {k}: {v}" for k, v in ch["transitions"].items()]
    if summary.get("promising"):
        from ordinance.simulator.promise_stats import account
        lines += account(summary["promising"])
    blame = summary.get("blame") or {}
    moved = [e for e in blame.get("edits", ()) if e["orders"]][:5]
    if moved:  # simulator/blame.py: the edits behind the changes, most orders first
        lines.append("edits behind the changes:")
        lines += [f"  {e['orders']} orders: {e['summary']} ({e['place']})" for e in moved]
    if blame.get("unexplained_orders"):
        lines.append(f"  {blame['unexplained_orders']} changed orders no set of edits explains")
    return "\n".join(lines)


def _signed(amount: str) -> str:
    return amount if amount.startswith("-") else "+" + amount
