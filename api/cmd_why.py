"""`ordinance why DECISION_ID`: a logged decision decided again, what changed, what would
change it (the command-line door of api/usecases/why.py).

    ordinance why dec_01J... --against original          # the same? (the default)
    ordinance why dec_01J... --against active
    ordinance why dec_01J... --against acme-distribution@2026.12.0
    ordinance why dec_01J... --against 2026.12.0          # a version of the same rule set
    ordinance why dec_01J... --against ./rulesets/acme-candidate   # a local directory
    ordinance why dec_01J... --json

The decision log is read from the database (`--database-url` or ORDINANCE_DATABASE_URL);
a local directory is checked and loaded here and stored nowhere. Exit status: 0 when the
answer was given (whatever it says), 1 for a decision, rule set or database that cannot be
read.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

MAX_SHOWN = 20


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "why", help="decide a logged decision again, show the difference and the remedies",
        description="Decide a logged decision's request again with its original as-of date, "
                    "under its own rule set, the active one, a stored version or a local "
                    "directory; show both, their difference, and what would change it.")
    p.add_argument("decision_id")
    p.add_argument("--against", default="original", metavar="WHICH",
                   help="original (default), active, NAME@DIGEST, NAME@VERSION, a version "
                        "of the decision's own rule set, or a rule-set directory")
    p.add_argument("--database-url", default=None, help="overrides ORDINANCE_DATABASE_URL")
    p.add_argument("--json", action="store_true", help="the answer as JSON (as REST gives it)")
    p.add_argument("--no-remedies", dest="remedies", action="store_false",
                   help="only the two decisions and their difference")
    p.set_defaults(func=cmd_why)


def cmd_why(args: argparse.Namespace) -> int:
    import datetime

    from ordinance import engine
    from ordinance.adapters import db as dbmod
    from ordinance.adapters.store import ServiceError
    from ordinance.adapters.store_rulesets import RuleSets
    from ordinance.engine.codec import dumps

    from .settings import Settings
    from .usecases import why

    settings = Settings.from_env(database_url=args.database_url)
    try:
        db = dbmod.connect(settings.database_url, pool_size=2)
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the user's to see
        return _fail(f"cannot reach the database: {exc}")
    try:
        log = why.logged(db, args.decision_id)
        local = Path(args.against)
        if args.against not in ("original", "active") and local.is_dir():
            try:
                rs = engine.load(local)
            except engine.RuleSetInvalid as exc:
                for d in exc.diagnostics[:MAX_SHOWN]:
                    print(str(d), file=sys.stderr)
                return _fail(f"{local} is not a valid rule set")
        else:
            rs = why.resolve(RuleSets(db, settings.cache_dir), log, args.against)
        out = why.answer_for(log, rs, datetime.date.today(), args.remedies)
    except ServiceError as exc:
        return _fail(exc.message)
    except dbmod.DatabaseUnavailable as exc:
        return _fail(f"cannot reach the database: {exc}")
    finally:
        db.dispose()
    if args.json:
        print(dumps(out, indent=2))
    else:
        print(render(out))
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def render(out: dict[str, Any]) -> str:
    """The answer as text: both decisions, what moved, the remedies, a rejection's wants."""
    o, r = out["original"], out["redecided"]
    rows = [f"decision {out['decision_id']} (order {out['order_id']}), as of {out['as_of']}",
            f"  logged:    {o['status']:<17} {_ruleset(o['ruleset'])}",
            f"  again:     {r['status']:<17} {_ruleset(r['ruleset'])}"]
    diff = out["difference"]
    if out["same"]:
        rows.append("  the same decision")
    else:
        rows.append(f"  {diff['explanation']}")
        for f in diff["fields"][:MAX_SHOWN]:
            rows.append(f"    {f['path']}: {_short(f['before'])} -> {_short(f['after'])}")
        if len(diff["fields"]) > MAX_SHOWN:
            rows.append(f"    ... {len(diff['fields']) - MAX_SHOWN} more (--json)")
    why = out.get("why")
    if why:
        for w in why["wants"]:
            at = f" at {w['field']}" if w["field"] else ""
            rows.append(f"{'held' if w['kind'] == 'hold' else 'rejected'} by {w['rule']} "
                        f"({w['code']}){at}: {w['message']}; wants {w['wants']}")
            if w.get("not_actionable"):
                rows.append(f"      not proposed: {w['not_actionable']}")
        if why["remedies"]:
            rows.append("what would change it (each verified by deciding the changed order):")
        for m in why["remedies"]:
            change = ", ".join(f"{c['field']} {_short(c['from'])} -> {_short(c['to'])}"
                               for c in m["changes"])
            status = m["effect"].get("status") or ["", m["status_after"]]
            where = f" line {m['line_id']}" if m["line_id"] is not None else ""
            rows.append(f"  [{m['kind']}] {m['rule'] or ''}{where}")
            effect = m["effect"]
            rows.append(f"      {change}; status {status[0]} -> {status[1]}"
                        + (f"; saving {effect['saving']}" if "saving" in effect else "")
                        + ("; approvals " + " -> ".join(",".join(a) or "none"
                                                        for a in effect["approvals"])
                           if "approvals" in effect else ""))
            rows.append(f"      because {m['wants']}")
        if not why["remedies"]:
            rows.append("no remedy found that passes its re-decision")
        blocked = why.get("not_actionable") or []
        if blocked:
            rows.append("not the order's to change:")
        for b in blocked:
            lines = b["line_ids"]
            where = f" line{'s' if len(lines) > 1 else ''} {', '.join(lines)}" if lines else ""
            rows.append(f"  {b['rule']}{where}: wants {b['wants']}")
            rows.append(f"      {b['reason']}")
    return "\n".join(rows)


def _ruleset(rs: Any) -> str:
    if not isinstance(rs, dict):
        return str(rs)
    return f"{rs.get('name')} {rs.get('version')} {str(rs.get('digest'))[:19]}"


def _short(v: Any) -> str:
    from ordinance.engine.codec import dumps

    text = v if isinstance(v, str) else dumps(v)
    return text if len(text) <= 60 else text[:57] + "..."
