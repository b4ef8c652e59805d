"""`ordinance orders generate` and `ordinance reference import-sdn|import-eu`.

orders generate: writes a synthetic order stream (JSONL) consistent with a rule set's reference
data, via `ordinance.simulator.generate`. Exit 0; 2 for a bad option or a rule set without the
tables the generator needs.

reference import-sdn / import-eu: turns an official screening-list download into a reference
table CSV (`name, aliases, program, type, list, source_id`), via
`ordinance.adapters.screening_lists`. Exit 0; 2 for a file that cannot be read or parsed.
"""
from __future__ import annotations

import argparse
import datetime
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

# The shipped rule set: next to the source tree in a checkout (editable install), else ./rulesets.
_CHECKOUT_RULESET = Path(__file__).resolve().parent.parent / "rulesets" / "acme"
DEFAULT_RULESET = _CHECKOUT_RULESET if _CHECKOUT_RULESET.is_dir() else Path("rulesets") / "acme"


def register(subparsers: Any) -> None:
    orders = subparsers.add_parser("orders", help="synthetic order streams",
                                   description="Synthetic order streams for simulations and tests.")
    osub = orders.add_subparsers(dest="orders_command", metavar="COMMAND")
    gen = osub.add_parser(
        "generate", help="write a synthetic order stream as JSONL",
        description="Writes COUNT orders (JSONL, one per line) drawn from a rule set's reference "
                    "data: skewed customers and products, seasonality and peak days, 1 to 20 "
                    "lines, and a share of bad orders. The same seed gives the same bytes.")
    gen.add_argument("--count", type=_count, required=True, metavar="N")
    gen.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default 1)")
    gen.add_argument("--ruleset", default=str(DEFAULT_RULESET), metavar="DIR",
                     help="rule set whose reference data to draw from (default: rulesets/acme)")
    gen.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    gen.add_argument("--bad-share", type=_share, default=Decimal("0.05"), metavar="X",
                     help="share of bad orders, 0 to 1 (default 0.05)")
    gen.add_argument("--start", type=_date, default=datetime.date(2026, 1, 1), metavar="DATE",
                     help="first order date (default 2026-01-01)")
    gen.add_argument("--days", type=_count, default=365, metavar="N",
                     help="days the orders spread over (default 365)")
    gen.add_argument("--progress", action="store_true",
                     help="show a progress bar on stderr even when it is not a terminal")
    gen.set_defaults(func=cmd_generate)
    orders.set_defaults(func=lambda args: _usage(orders))

    ref = subparsers.add_parser("reference", help="reference tables from official downloads",
                                description="Turn official screening-list downloads into "
                                            "reference tables.")
    rsub = ref.add_subparsers(dest="reference_command", metavar="COMMAND")
    sdn = rsub.add_parser("import-sdn", help="OFAC sdn.csv -> denied-party table CSV",
                          description="Reads OFAC's sdn.csv (and alt.csv with --alt) and writes a "
                                      "reference table: name, aliases (';'), program, type, list, "
                                      "source_id.")
    sdn.add_argument("file", metavar="FILE", help="sdn.csv as downloaded from OFAC")
    sdn.add_argument("--alt", metavar="ALT.csv", help="OFAC's alt.csv, for the aliases")
    sdn.add_argument("--out", metavar="OUT.csv", help="write here instead of stdout")
    sdn.set_defaults(func=cmd_import_sdn)
    eu = rsub.add_parser("import-eu", help="EU consolidated list XML -> denied-party table CSV",
                         description="Reads the EU Financial Sanctions Files consolidated list "
                                     "(XML) and writes a reference table.")
    eu.add_argument("file", metavar="FILE", help="the consolidated list XML")
    eu.add_argument("--out", metavar="OUT.csv", help="write here instead of stdout")
    eu.set_defaults(func=cmd_import_eu)
    ref.set_defaults(func=lambda args: _usage(ref))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {n}")
    return n


def _share(text: str) -> Decimal:
    try:
        x = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not x.is_finite() or not Decimal(0) <= x <= Decimal(1):
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text}")
    return x


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def cmd_generate(args: argparse.Namespace) -> int:
    from ordinance.simulator.generate import (
        CatalogueError,
        generate_orders,
        load_catalogue,
        write_jsonl,
    )
    try:
        catalogue = load_catalogue(args.ruleset)
    except CatalogueError as exc:
        print(f"ordinance orders generate: {exc}", file=sys.stderr)
        return 2
    orders = generate_orders(catalogue, args.count, args.seed, bad_share=args.bad_share,
                             start=args.start, days=args.days)
    progress = args.progress or sys.stderr.isatty()
    try:
        if args.out:
            with open(args.out, "w", encoding="utf-8", newline="\n") as out:
                write_jsonl(orders, out, total=args.count, progress=progress, progress_file=sys.stderr)
        else:
            write_jsonl(orders, sys.stdout, total=args.count, progress=progress, progress_file=sys.stderr)
            sys.stdout.flush()
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        print(f"ordinance orders generate: {exc}", file=sys.stderr)
        return 2
    return 0


def _write_rows(rows: list[Any], out_path: str | None) -> None:
    from ordinance.adapters.screening_lists import write_table
    if out_path:
        with open(out_path, "w", encoding="utf-8", newline="") as out:
            n = write_table(rows, out)
        print(f"wrote {n} rows to {out_path}", file=sys.stderr)
    else:
        write_table(rows, sys.stdout)


def cmd_import_sdn(args: argparse.Namespace) -> int:
    from ordinance.adapters.screening_lists import ScreeningListError, read_ofac_sdn
    try:
        # OFAC publishes these files in Windows-1252; latin-1 would garble a few letters.
        with open(args.file, encoding="cp1252", errors="replace", newline="") as sdn:
            if args.alt:
                with open(args.alt, encoding="cp1252", errors="replace", newline="") as alt:
                    rows = read_ofac_sdn(sdn, alt)
            else:
                rows = read_ofac_sdn(sdn)
        _write_rows(rows, args.out)
    except (OSError, ScreeningListError) as exc:
        print(f"ordinance reference import-sdn: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_import_eu(args: argparse.Namespace) -> int:
    from ordinance.adapters.screening_lists import ScreeningListError, read_eu_consolidated
    try:
        with open(args.file, "rb") as xml:
            rows = read_eu_consolidated(xml)
        _write_rows(rows, args.out)
    except (OSError, ScreeningListError) as exc:
        print(f"ordinance reference import-eu: {exc}", file=sys.stderr)
        return 2
    return 0
