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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ordinance",
        description="Order policies as YAML rule packs: check, evaluate, test, serve, simulate.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
