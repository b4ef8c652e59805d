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
    from ordinance.adapters.orch_replay import compare, run_stream

    from . import decide

    results = []
    for i, rs in enumerate((baseline, candidate)):
        db = dbmod.connect(f"sqlite:///{workdir}/side{i}.db", pool_size=2)
        try:
            dbmod.upgrade(db)
            results.append(run_stream(rs, db, orders, stream, decide.evaluate))
        finally:
            db.dispose()
    return compare(*results)
