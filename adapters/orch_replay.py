"""Replay's reads: what a replayed event stream left in its scratch database, and two of them
compared.

In: a database a replay ran on (api/usecases/events.py `run_stream` captures the orders and
applies the events). Out: a summary (alerts, holds, reorders, accruals, final states,
refusals) and the difference of two summaries (`ordinance events replay`, api/cmd_events.py).
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from .db import Database
from .models_orchestration import AlertRecord, OrderState, TimelineEntry


class FixedRuleSet:
    """The `rulesets` the orchestrator asks for the active rule set: always this one."""

    def __init__(self, rs: Any):
        self.rs = rs

    def resolve(self, ref: Any) -> Any:
        return self.rs


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
