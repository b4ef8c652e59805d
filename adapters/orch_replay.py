"""Replay: an event stream run against a rule set on a scratch database, and two runs compared.

In: a compiled rule set, a database, orders and (order id, event body) pairs. Out: a summary
(alerts, holds, reorders, accruals, final states, refusals) and the difference of two summaries
(`ordinance events replay`, api/cmd_events.py). The clock is a manual one set to each event's
time, so a replay gives the same result however fast it runs.
"""
from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .db import Database
from .models_orchestration import AlertRecord, OrderState, TimelineEntry
from .store import Conflict, Invalid, NotFound

if TYPE_CHECKING:
    from .hub import Evaluate

class _FixedRuleSet:
    """The `rulesets` the orchestrator asks for the active rule set: always this one."""

    def __init__(self, rs: Any):
        self.rs = rs

    def resolve(self, ref: Any) -> Any:
        return self.rs


def run_stream(rs: Any, db: Database, orders: list[dict[str, Any]],
               events: list[tuple[str, dict[str, Any]]],
               evaluate: "Evaluate", horizon: timedelta = timedelta(days=7)) -> dict[str, Any]:
    """Captures the orders with `rs`, applies the events in their order with the clock at each
    event's time, then lets the clock run `horizon` past the last event. Returns a summary."""
    import json as _json
    from datetime import date as _date

    from ordinance.engine import dumps, parse_order

    from .clock import ManualClock, parse_instant
    from .hub import Hub
    from .orchestration import Orchestrator
    from .store_keys import KeyInfo

    hub, key = Hub(db, evaluate), KeyInfo(0, "replay", "admin", ())
    for raw in orders:
        o = parse_order(_json.dumps(raw, default=str))
        text = dumps(o)
        hub.submit(rs, o, _date.fromisoformat(str(o.get("order_date", ""))[:10])
                   if o.get("order_date") else None, None, text, text, key)
    first = events[0][1].get("at") if events else None
    clock = ManualClock(first or "2026-01-01T00:00:00Z")
    orch = Orchestrator(db, _FixedRuleSet(rs), clock)
    refused: dict[str, int] = {}
    for oid, body in events:
        if body.get("at"):
            clock.set(parse_instant(body["at"]))
        try:
            orch.post_event(oid, _json.dumps(body, default=str))
        except (Conflict, Invalid, NotFound) as exc:
            refused[exc.code] = refused.get(exc.code, 0) + 1
    orch.tick(clock.advance(horizon))
    return summary(db, refused)


def summary(db: Database, refused: dict[str, int] | None = None) -> dict[str, Any]:
    from .models_orchestration import RebateAccrual, ReorderProposal

    with db.session() as s:
        alerts = sorted({(a.order_id, a.code, a.key, a.priority)
                         for a in s.scalars(select(AlertRecord))})
        holds = sorted({(e.order_id, json.loads(e.detail).get("code", ""))
                        for e in s.scalars(select(TimelineEntry).where(
                            TimelineEntry.kind == "hold"))})
        reorders = sorted((r.location, r.sku, r.quantity, r.supplier or "", r.order_id or "")
                          for r in s.scalars(select(ReorderProposal)))
        accruals = {f"{a.programme} {a.period}": {"quantity": a.quantity, "rate": a.rate,
                                                  "accrued": a.accrued}
                    for a in s.scalars(select(RebateAccrual))}
        states = {r.order_id: r.state for r in s.scalars(select(OrderState))}
    return {"alerts": alerts, "holds": holds, "reorders": reorders, "accruals": accruals,
            "states": states, "refused": refused or {}}


def compare(base: dict[str, Any], cand: dict[str, Any], limit: int = 20) -> dict[str, Any]:
    """How alerts, holds, reorders, accruals and final states differ between two replays."""
    out: dict[str, Any] = {}
    for k in ("alerts", "holds", "reorders"):
        a, b = set(map(tuple, base[k])), set(map(tuple, cand[k]))
        out[k] = {"baseline": len(a), "candidate": len(b),
                  "only_baseline": sorted(a - b)[:limit],
                  "only_candidate": sorted(b - a)[:limit]}
    keys = sorted(set(base["accruals"]) | set(cand["accruals"]))
    out["accruals"] = {k: {"baseline": base["accruals"].get(k), "candidate":
                           cand["accruals"].get(k)} for k in keys
                       if base["accruals"].get(k) != cand["accruals"].get(k)}
    moved = {o: (base["states"].get(o), cand["states"].get(o))
             for o in sorted(set(base["states"]) | set(cand["states"]))
             if base["states"].get(o) != cand["states"].get(o)}
    out["states"] = {"differ": len(moved), "examples": dict(list(moved.items())[:limit])}
    out["refused"] = {"baseline": base["refused"], "candidate": cand["refused"]}
    return out
