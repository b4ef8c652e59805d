"""`ordinance serve`, `ordinance db upgrade`, `ordinance keys create|list|revoke`.

Secrets go to stdout alone (so `KEY=$(ordinance keys create --role analyst)` works);
explanations go to stderr.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from ordinance.engine import codec

from .settings import Settings

ROLES = ("evaluator", "analyst", "approver", "admin")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="run the REST service",
                              description="Run the REST service (uvicorn).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes (use PostgreSQL for more than one)")
    p.add_argument("--database-url", default=None,
                   help="overrides ORDINANCE_DATABASE_URL")
    p.add_argument("--ruleset", default=None, metavar="DIR",
                   help="with --bootstrap: the rule set to store and activate "
                        "(default rulesets/acme when it exists)")
    p.add_argument("--bootstrap", action="store_true",
                   help="on first start create an admin key (printed once) and store and "
                        "activate the shipped rule set")
    p.add_argument("--log-level", default="warning")
    p.add_argument("--no-access-log", dest="access_log", action="store_false",
                   help="do not log each request (method, path, status, time, key id) "
                        "to stderr")
    p.add_argument("--graceful-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="on SIGTERM, how long requests in flight may finish (default 10)")
    p.set_defaults(func=cmd_serve)

    w = subparsers.add_parser(
        "worker", help="run the background worker alone (due timers, webhook and fulfilment "
        "deliveries), for more processes over the same PostgreSQL",
        description="Runs the background worker in the foreground until SIGINT or SIGTERM. "
                    "Every `ordinance serve` process runs one too (ORDINANCE_WORKER=0 turns "
                    "that off); several are safe over one PostgreSQL.")
    w.add_argument("--database-url", default=None, help="overrides ORDINANCE_DATABASE_URL")
    w.add_argument("--interval", type=float, default=None, metavar="SECONDS",
                   help="seconds between rounds (default ORDINANCE_WORKER_INTERVAL or 0.5)")
    w.set_defaults(func=cmd_worker)

    db = subparsers.add_parser("db", help="database maintenance")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION")
    up = dbsub.add_parser("upgrade", help="apply the migrations")
    up.add_argument("--database-url", default=None)
    up.set_defaults(func=cmd_db_upgrade)
    db.set_defaults(func=lambda a: _usage(db))

    keys = subparsers.add_parser("keys", help="API keys")
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION")
    kc = ksub.add_parser("create", help="create a key; prints it once, alone on stdout")
    kc.add_argument("--role", required=True, choices=ROLES)
    kc.add_argument("--name", default=None)
    kc.add_argument("--approves", default="", metavar="ROLE,ROLE",
                    help="business roles an approver (or admin) key approves for")
    kc.add_argument("--database-url", default=None)
    kc.set_defaults(func=cmd_keys_create)
    kl = ksub.add_parser("list", help="list keys (never their secrets)")
    kl.add_argument("--json", action="store_true")
    kl.add_argument("--database-url", default=None)
    kl.set_defaults(func=cmd_keys_list)
    kr = ksub.add_parser("revoke", help="revoke a key by its id or its prefix (see list)")
    which = kr.add_mutually_exclusive_group()
    which.add_argument("--id", type=int, dest="key_id", metavar="ID")
    which.add_argument("--prefix", metavar="ord_XXXXXX",
                       help="the first 10 characters of the key, as `keys list` shows them")
    kr.add_argument("key", nargs="?", help=argparse.SUPPRESS)
    kr.add_argument("--database-url", default=None)
    kr.set_defaults(func=cmd_keys_revoke)
    keys.set_defaults(func=lambda a: _usage(keys))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(database_url=getattr(args, "database_url", None))


def _database(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from ordinance.adapters import db as dbmod

    settings = _settings(args)
    db = dbmod.connect(settings.database_url, pool_size=2)
    dbmod.upgrade(db)
    return db


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from ordinance.adapters import db as dbmod

    settings = _settings(args)
    try:
        db = dbmod.connect(settings.database_url, pool_size=1)
        dbmod.upgrade(db)
        rev = dbmod.current_revision(db)
        db.dispose()
    except dbmod.DatabaseUnavailable as exc:
        return _fail(f"cannot reach the database: {exc}")
    print(f"database at revision {rev}", file=sys.stderr)
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    from ordinance.adapters import db as dbmod
    from ordinance.adapters import store_keys
    from ordinance.adapters.store import ServiceError

    try:
        db = _database(args)
        approves = store_keys.parse_approves(args.approves)
        secret, info = store_keys.create_key(db, args.role, args.name, approves)
        db.dispose()
    except dbmod.DatabaseUnavailable as exc:
        return _fail(f"cannot reach the database: {exc}")
    except ServiceError as exc:
        return _fail(exc.message)
    extra = f", approves {', '.join(info['approves'])}" if info["approves"] else ""
    print(f"created {info['role']} key {info['name']!r} (id {info['id']}{extra}); "
          "it is shown once, store it now", file=sys.stderr)
    print(secret)
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    from ordinance.adapters import db as dbmod
    from ordinance.adapters import store_keys

    try:
        db = _database(args)
        keys = store_keys.list_keys(db)
        db.dispose()
    except dbmod.DatabaseUnavailable as exc:
        return _fail(f"cannot reach the database: {exc}")
    if args.json:
        print(codec.dumps(keys, indent=2))
        return 0
    for k in keys:
        state = f"revoked {k['revoked_at']}" if k["revoked_at"] else "active"
        approves = ",".join(k["approves"]) or "-"
        name = k["name"] if k["name"].isprintable() else repr(k["name"])  # older keys
        print(f"{k['id']}\t{name}\t{k['role']}\t{approves}\t{k['prefix']}…\t{state}")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from ordinance.adapters import db as dbmod
    from ordinance.adapters import store_keys
    from ordinance.adapters.store import ServiceError

    if args.key is not None or (args.key_id is None and args.prefix is None):
        # A bare NAME or number was once read as a name or an id, which revoked the wrong
        # key when names repeat: the caller says which.
        return _fail("say which key: `keys revoke --id ID` or `keys revoke --prefix PREFIX` "
                     "(both are in `keys list`)")
    try:
        db = _database(args)
        info = store_keys.revoke_key(db, key_id=args.key_id, prefix=args.prefix)
        db.dispose()
    except dbmod.DatabaseUnavailable as exc:
        return _fail(f"cannot reach the database: {exc}")
    except ServiceError as exc:
        return _fail(exc.message)
    print(f"revoked key {info['name']!r} (id {info['id']})", file=sys.stderr)
    return 0


def bootstrap(settings: Settings, ruleset: str | None, url_hint: str) -> int:
    """First start: an admin key if there is none; the shipped rule set if none is active."""
    from ordinance.adapters import db as dbmod
    from ordinance.adapters import store_keys, store_rulesets
    from ordinance.adapters.store import ServiceError

    db = dbmod.connect(settings.database_url, pool_size=2)
    try:
        dbmod.upgrade(db)
        if store_keys.count_keys(db) == 0:
            secret, _ = store_keys.create_key(db, "admin", "bootstrap-admin")
            print(f"Ordinance at {url_hint}\n"
                  f"admin key (shown once, store it now): {secret}", flush=True)
        if ruleset is None and store_rulesets.active_version(db) is None:
            default = Path("rulesets/acme")
            ruleset = str(default) if default.is_dir() else None
            if ruleset is None:
                print("no rule set is active and rulesets/acme does not exist: decisions "
                      "answer 409 until one is uploaded and activated", file=sys.stderr)
        if ruleset is not None:
            path = Path(ruleset)
            if not (path / "ruleset.yaml").is_file():
                print(f"error: {ruleset} is not a rule set (no ruleset.yaml)", file=sys.stderr)
                return 1
            try:
                _created, info = store_rulesets.store_directory(db, path, by="bootstrap")
            except ServiceError as exc:
                print(f"error: {ruleset}: {exc.message}", file=sys.stderr)
                for d in exc.details or []:
                    print(f"  {d.get('file')}:{d.get('line')}:{d.get('col')}: "
                          f"{d.get('severity')}: {d.get('message')}", file=sys.stderr)
                return 1
            store_rulesets.activate(db, info["name"], info["digest"], by="bootstrap")
            print(f"active rule set: {info['name']}@{info['digest']} ({info['version']})",
                  file=sys.stderr)
    except dbmod.DatabaseUnavailable as exc:
        return _fail(f"cannot reach the database: {exc}")
    finally:
        db.dispose()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import signal

    from ordinance.adapters import db as dbmod

    from .app import background_worker, create_app

    settings = _settings(args)
    if args.interval is not None:
        if args.interval <= 0:
            return _fail("--interval is a positive number of seconds")
        settings = dataclasses.replace(settings, worker_interval=args.interval)
    try:
        app = create_app(dataclasses.replace(settings, worker=False))
    except dbmod.DatabaseUnavailable as exc:
        return _fail(f"cannot reach the database: {exc}")
    worker = background_worker(app)
    if worker is None:
        return _fail("the worker follows the system clock; ORDINANCE_CLOCK is manual")
    signal.signal(signal.SIGTERM, lambda *_: worker.stop(timeout=0))
    print(f"worker running every {worker.interval} s (database "
          f"{_redact(settings.database_url)})", file=sys.stderr)
    try:
        worker.run()
    except KeyboardInterrupt:
        pass
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ordinance.adapters import db as dbmod

    settings = _settings(args)
    # Worker processes read their settings from the environment.
    os.environ["ORDINANCE_DATABASE_URL"] = settings.database_url
    url = f"http://{args.host}:{args.port}"
    if args.workers > 1 and settings.database_url.startswith("sqlite"):
        print("note: several workers over SQLite serialise their writes; use PostgreSQL to "
              "scale out", file=sys.stderr)
    if args.bootstrap or args.ruleset:
        code = bootstrap(settings, args.ruleset, url)
        if code:
            return code
    else:
        try:
            db = dbmod.connect(settings.database_url, pool_size=1)
            dbmod.upgrade(db)
            db.dispose()
        except dbmod.DatabaseUnavailable as exc:
            return _fail(f"cannot reach the database: {exc}")
    os.environ["ORDINANCE_AUTO_MIGRATE"] = "0"  # done above, once
    print(f"serving on {url} (database {_redact(settings.database_url)}, "
          f"{args.workers} worker(s))", file=sys.stderr)
    uvicorn.run("ordinance.api.app:create_app_from_env", factory=True, host=args.host,
                port=args.port, workers=args.workers, log_level=args.log_level,
                access_log=False,  # ours (api/door.py) names the key and hides the query
                log_config=_log_config(args.access_log),
                timeout_graceful_shutdown=args.graceful_timeout)
    return 0


def _log_config(access_log: bool) -> dict:
    """uvicorn's logging, plus the service's access log (`ordinance.access`) on stderr."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["ordinance"] = {"format": "%(asctime)s %(name)s %(message)s"}
    config["handlers"]["ordinance"] = {"formatter": "ordinance", "class": "logging.StreamHandler",
                                       "stream": "ext://sys.stderr"}
    config["loggers"]["ordinance.access"] = {
        "handlers": ["ordinance"], "level": "INFO" if access_log else "WARNING",
        "propagate": False}
    return config


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url
