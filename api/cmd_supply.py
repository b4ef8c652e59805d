"""`ordinance supply import FILE.csv` and `ordinance availability ORDER.json`: order promising
against the service's database (docs/promising.md, "In the service"). The commands call the
same use cases as POST /v1/supply and POST /v1/availability (api/usecases/supply.py)."""
from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("supply", help="supply in the database (order promising)")
    sub = p.add_subparsers(dest="supply_command", metavar="ACTION")
    imp = sub.add_parser("import", help="import supply from a CSV (location,sku,kind,date,"
                         "quantity,ref): on_hand rows set on hand, the others add or replace "
                         "their (location, sku, kind, ref)")
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument("--database-url", default=None, help="overrides ORDINANCE_DATABASE_URL")
    imp.set_defaults(func=cmd_import)
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])
    a = subparsers.add_parser("availability", help="the promise an order would get now from "
                              "the database's supply, with ranked alternatives (nothing is "
                              "reserved)")
    a.add_argument("order", metavar="ORDER.json",
                   help='an order, or a request {"order": ..., "as_of"?, "ruleset"?}')
    a.add_argument("--as-of", default=None, metavar="YYYY-MM-DD")
    a.add_argument("--database-url", default=None, help="overrides ORDINANCE_DATABASE_URL")
    a.set_defaults(func=cmd_availability)


def _context(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from ordinance.adapters import db as dbmod
    from ordinance.adapters.store_rulesets import RuleSets

    from .settings import Settings

    settings = Settings.from_env(database_url=args.database_url)
    db = dbmod.connect(settings.database_url, pool_size=2)
    dbmod.upgrade(db)
    return db, RuleSets(db, settings.cache_dir, 0.0)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def cmd_import(args: argparse.Namespace) -> int:
    from ordinance.adapters.db import DatabaseUnavailable
    from ordinance.adapters.store import ServiceError
    from ordinance.engine.codec import dumps

    from .usecases import supply

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"{args.file}: {exc}")
    try:
        db, rulesets = _context(args)
        try:
            out = supply.import_csv(db, rulesets, text, args.file, "cli",
                                    datetime.datetime.now(datetime.timezone.utc))
        finally:
            db.dispose()
    except DatabaseUnavailable as exc:
        return _fail(f"cannot reach the database: {exc}")
    except ServiceError as exc:
        return _fail(exc.message)
    print(dumps(out))
    return 0


def cmd_availability(args: argparse.Namespace) -> int:
    from ordinance.adapters import store
    from ordinance.adapters.db import DatabaseUnavailable
    from ordinance.adapters.store import ServiceError
    from ordinance.engine.codec import dumps

    from .usecases import supply

    try:
        raw = sys.stdin.buffer.read() if args.order == "-" else Path(args.order).read_bytes()
    except OSError as exc:
        return _fail(f"{args.order}: {exc}")
    try:
        body = store.json_object(raw, "an order", "BAD_ORDER")
        request = body if isinstance(body.get("order"), dict) else {"order": body}
        as_of = args.as_of or request.get("as_of")
        try:
            day = datetime.date.fromisoformat(as_of) if as_of else None
        except (TypeError, ValueError):
            return _fail(f"as_of {as_of!r} is not YYYY-MM-DD")
        db, rulesets = _context(args)
        try:
            out = supply.availability(db, rulesets, request["order"], day,
                                      request.get("ruleset"), datetime.date.today())
        finally:
            db.dispose()
    except DatabaseUnavailable as exc:
        return _fail(f"cannot reach the database: {exc}")
    except ServiceError as exc:
        where = f" (at {exc.path})" if exc.path else ""
        return _fail(f"{exc.message}{where}")
    print(dumps(out, indent=2))
    return 0
