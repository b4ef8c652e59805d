"""The `ordinance` command: one argparse parser, subcommands registered by small modules.

Each command module exposes `register(subparsers)`; it adds its parsers and sets
`func=handler` where `handler(args) -> int` is the exit code. This module only wires them
together, so a door for a new feature is one module and one line in COMMAND_MODULES.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = [
    "ordinance.api.cmd_engine",      # check, eval, test, bench
    "ordinance.api.cmd_orders",      # orders generate, reference import-sdn
    "ordinance.api.cmd_service",     # serve, db, keys
    "ordinance.api.cmd_simulate",    # simulate
    "ordinance.api.cmd_events",      # simulate-events (orchestration replay, issue #6)
    "ordinance.api.cmd_import",      # import dmn, import jdm (issue #15)
    "ordinance.api.cmd_why",         # why DECISION_ID (issue #18)
    "ordinance.api.cmd_configure",   # configure (issue #17)
    "ordinance.api.cmd_supply",      # supply import, availability (issue 14)
]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; given `command` (the first word of the command line), it
    stops at the module that registers it: `ordinance eval` imports cmd_engine alone, not the
    service's, simulator's or importers' doors (issue 16, start-up)."""
    parser = argparse.ArgumentParser(
        prog="ordinance",
        description="Order policies as YAML rule packs: check, evaluate, test, serve, simulate.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        if command is not None and command in sub.choices:
            break
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(words[0] if words and not words[0].startswith("-") else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
