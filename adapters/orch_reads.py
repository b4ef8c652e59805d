"""Orchestration's reads: an order's timeline and the alerts.

In: an order id, or the alerts' filters. Out: JSON-ready dicts (the public shapes of GET
/v1/orders/{id}/timeline and GET /v1/alerts). An order orchestration has not seen yet is shown
as its decision left it (no entries). Read-only: one short read transaction each.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from . import lifecycle
from .clock import utc
from .eventstore import iso_z
from .models import Order
from .models_orchestration import AlertRecord, OrderState, TimelineEntry
from .store import Invalid, NotFound

PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}


class Reads:
    """The reads of `Orchestrator` (adapters/orchestration.py)."""

    # ------------------------------------------------------------------ reads

    def timeline(self, order_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(OrderState, order_id)
            if row is None:
                hub = s.get(Order, order_id)
                if hub is None:
                    raise NotFound(f"no order {order_id!r}", code="ORDER_NOT_FOUND")
                holds: list[dict[str, Any]] = []
                if hub.status == "on_hold":
                    self._decided_order(s, hub.decision_id)
                    holds = self._decision_holds(hub.decision_id, utc(hub.updated_at))
                return {"order_id": order_id, "state": lifecycle.initial_state(hub.status),
                        "holds": holds, "process": None, "plan": [], "lines": {},
                        "entries": []}
            entries = s.scalars(select(TimelineEntry).where(
                TimelineEntry.order_id == order_id).order_by(TimelineEntry.id)).all()
            return {"order_id": order_id, "state": row.state, "holds": json.loads(row.holds),
                    "process": row.process, "plan": json.loads(row.plan),
                    "lines": json.loads(row.lines),
                    "entries": [{"at": iso_z(utc(e.at)), "actor": e.actor, "kind": e.kind,
                                 "from": e.from_state, "to": e.to_state, "cause": e.cause,
                                 "detail": json.loads(e.detail)} for e in entries]}

    def alerts(self, state: str = "open", priority: str | None = None,
               order_id: str | None = None, limit: int = 500) -> dict[str, Any]:
        if state not in ("open", "cleared", "all"):
            raise Invalid("state is open, cleared or all", code="BAD_REQUEST", path="state")
        if priority is not None and priority not in PRIORITY_RANK:
            raise Invalid("priority is low, medium or high", code="BAD_REQUEST",
                          path="priority")
        with self.db.session() as s:
            q = select(AlertRecord)
            if state != "all":
                q = q.where(AlertRecord.state == state)
            if priority is not None:
                q = q.where(AlertRecord.priority == priority)
            if order_id is not None:
                q = q.where(AlertRecord.order_id == order_id)
            rows = s.scalars(q.order_by(AlertRecord.raised_at, AlertRecord.id)
                             .limit(limit)).all()
            items = [{"id": a.id, "order_id": a.order_id, "code": a.code, "key": a.key,
                      "rule": a.rule, "priority": a.priority, "message": a.message,
                      "state": a.state, "raised_at": iso_z(utc(a.raised_at)),
                      "updated_at": iso_z(utc(a.updated_at)),
                      "cleared_at": iso_z(utc(a.cleared_at)) if a.cleared_at else None,
                      "clear_reason": a.clear_reason} for a in rows]
        items.sort(key=lambda a: PRIORITY_RANK.get(a["priority"], 3))
        counts = {p: sum(1 for a in items if a["priority"] == p) for p in PRIORITY_RANK}
        return {"items": items, "counts": counts}
