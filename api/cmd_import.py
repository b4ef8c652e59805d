"""`ordinance import dmn|jdm FILE`: decision tables from DMN or GoRules JDM as a rule pack.

Reads FILE, calls the pure importer (engine/importers), writes the pack's YAML to `-o OUT` (or
stdout) and prints each refusal as FILE:LINE:COL: error: MESSAGE on stderr. Exit 0 imported,
1 something was refused (nothing is written), 2 the file cannot be read or an option is bad.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from ordinance.engine.importers import import_dmn, import_jdm

IMPORTERS = {"dmn": import_dmn, "jdm": import_jdm}


def register(sub: Any) -> None:
    p = sub.add_parser("import", help="turn DMN or GoRules JDM decision tables into a pack",
                       description="Imports the decision tables of a DMN 1.1-1.5 file or a "
                       "GoRules JDM file as a defaulting pack (docs/importing.md). Refusals "
                       "are printed as FILE:LINE:COL: error: MESSAGE; nothing is written then.")
    p.add_argument("format", choices=sorted(IMPORTERS), help="dmn or jdm")
    p.add_argument("file", help="FILE.dmn or FILE.json")
    p.add_argument("-o", "--out", metavar="OUT.yaml", help="where the pack goes (default "
                   "stdout)")
    p.add_argument("--phase", default="defaulting", choices=["defaulting"],
                   help="the pack's phase: defaulting, whose set action writes the outputs "
                   "on the order for the later phases to read")
    p.add_argument("--map", action="append", default=[], metavar="NAME=PATH",
                   help="read input NAME (or write decision NAME) at PATH instead of "
                   "order.NAME; repeatable")
    p.add_argument("--quiet", "-q", action="store_true", help="no source lines")
    p.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    mapping = {}
    for item in args.map:
        name, eq, path = item.partition("=")
        if not eq or not name.strip() or not path.strip():
            print(f"ordinance import: --map {item!r}: write NAME=PATH", file=sys.stderr)
            return 2
        mapping[name.strip()] = path.strip()
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        print(f"ordinance import: {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"ordinance import: {args.file}: not UTF-8 text (byte {exc.start})",
              file=sys.stderr)
        return 2
    result = IMPORTERS[args.format](text, args.file, mapping)
    lines = text.splitlines()
    for d in result.diagnostics:
        if 1 <= d.span.line <= len(lines) and len(lines[d.span.line - 1]) <= 300:
            d = replace(d, source_line=lines[d.span.line - 1])
        print(d.render(with_source=not args.quiet), file=sys.stderr)
    if result.pack is None:
        errors = sum(1 for d in result.diagnostics if d.is_error)
        print(f"ordinance import: {args.file}: {errors} refusal{'s' * (errors != 1)}; nothing "
              "written", file=sys.stderr)
        return 1
    if args.out in (None, "-"):
        sys.stdout.write(result.pack)
    else:
        try:
            Path(args.out).write_text(result.pack, encoding="utf-8")
        except OSError as exc:
            print(f"ordinance import: {args.out}: {exc.strerror}", file=sys.stderr)
            return 2
        print(f"ordinance import: wrote {args.out}", file=sys.stderr)
    return 0
