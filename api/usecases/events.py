"""Use cases of orchestration: report an event (one, or many at once), release a hold, let the
clock fire the timers that are due, read an order's timeline.

In: the parsed request (the door checked its shape) and the service's orchestrator. Out: the
answer as a JSON-ready dict, or a service error (Invalid 422, NotFound 404, Conflict 409).
The non-obvious choice: these use cases do not open the transaction themselves. The
orchestrator's unit of work (adapters/orchestration.py) does, because events posted at the same
time from many request threads share one transaction (group commit) and the grouping must see
them all; each event is still applied and answered on its own. The walk of an event: door
(api/routes_events.py) -> `post_event` here -> orchestrator (unit of work: load, lock) -> core
(engine/events.py rules, engine/oms_*.py lifecycle, holds, stock, invoices) -> adapters
(rows written, outbox).
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from ordinance.adapters.orchestration import Orchestrator


def post_event(orch: Orchestrator, order_id: str, body: dict[str, Any],
               actor: str) -> dict[str, Any]:
    """One event, idempotent on its id: lifecycle, rules, timers, ledgers, in one transaction."""
    return orch.post_event(order_id, body, actor=actor)


def post_batch(orch: Orchestrator, pairs: list[tuple[str, Any]],
               actor: str) -> list[dict[str, Any]]:
    """Many events in one transaction; each answered on its own with a status."""
    return orch.post_batch(pairs, actor=actor)


def release_hold(orch: Orchestrator, order_id: str, code: str | None, reason: Any,
                 actor: str) -> dict[str, Any]:
    """A person releases the order's hold `code` (every hold when None), with a reason."""
    return orch.release_hold(order_id, code, reason, actor)


def tick(orch: Orchestrator) -> dict[str, Any]:
    """Fires every timer due by the orchestrator's clock."""
    return orch.tick()


def timeline(orch: Orchestrator, order_id: str) -> dict[str, Any]:
    return orch.timeline(order_id)


def replay_compare(baseline: Any, candidate: Any, orders: list[dict[str, Any]],
                   stream: list[tuple[str, dict[str, Any]]], workdir: str) -> dict[str, Any]:
    """The event stream replayed under two rule sets, each on a scratch SQLite database in
    `workdir`, and how alerts, holds, reorders, accruals and final states differ."""
    from ordinance.adapters import db as dbmod
    from ordinance.adapters.orch_replay import compare

    results = []
    for i, rs in enumerate((baseline, candidate)):
        db = dbmod.connect(f"sqlite:///{workdir}/side{i}.db", pool_size=2)
        try:
            dbmod.upgrade(db)
            results.append(run_stream(rs, db, orders, stream))
        finally:
            db.dispose()
    return compare(*results)


def run_stream(rs: Any, db: Any, orders: list[dict[str, Any]],
               events: list[tuple[str, dict[str, Any]]],
               horizon: timedelta = timedelta(days=7)) -> dict[str, Any]:
    """Captures the orders with `rs` (the capture use case), applies the events in their order
    with a manual clock at each event's time, then lets the clock run `horizon` past the last
    event. Returns the summary (adapters/orch_replay.py). The clock starts at the first
    event's time (else 2026-01-01), so a replay gives the same result however fast, and
    whenever, it runs: it is also the as-of of an order without a date."""
    from ordinance.adapters.clock import ManualClock, parse_instant
    from ordinance.adapters.hub import Hub
    from ordinance.adapters.orch_replay import FixedRuleSet, summary
    from ordinance.adapters.store import Conflict, Invalid, NotFound
    from ordinance.adapters.store_keys import KeyInfo
    from ordinance.engine import dumps, parse_order

    from .orders import capture_order

    first = events[0][1].get("at") if events else None
    clock = ManualClock(first or "2026-01-01T00:00:00Z")
    fixed = FixedRuleSet(rs)
    hub, key = Hub(db), KeyInfo(0, "replay", "admin", ())
    for raw in orders:
        o = parse_order(json.dumps(raw, default=str))
        text = dumps(o)
        as_of = date.fromisoformat(str(o["order_date"])[:10]) if o.get("order_date") else None
        capture_order(hub, fixed, o, as_of, None, text, text, key, clock)
    orch = Orchestrator(db, fixed, clock)
    refused: dict[str, int] = {}
    for oid, body in events:
        if body.get("at"):
            clock.set(parse_instant(body["at"]))
        try:
            orch.post_event(oid, json.dumps(body, default=str))
        except (Conflict, Invalid, NotFound) as exc:
            refused[exc.code] = refused.get(exc.code, 0) + 1
    orch.tick(clock.advance(horizon))
    return summary(db, refused)
