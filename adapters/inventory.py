"""Stock per location and SKU after allocations and shipments, and the reorder proposals.

The ledger (orch_stock) starts from the rule set's `inventory` reference table the first time
a pair is touched; an order's sourcing allocations are reserved when orchestration first sees
it, a shipment takes them out of stock, a cancellation gives them back. Each move yields a
`stock_changed` event (sku, location, on_hand, allocated, available) for the event rules, so a
reorder rule reads `event.available`. A `propose_reorder` effect opens at most one proposal per
location and SKU until it is taken.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from .models_orchestration import ReorderProposal, StockLevel
from .store import rows_in_state


def _initial(ref_rows: Any, location: str, sku: str) -> Decimal:
    for row in ref_rows or []:
        if isinstance(row, dict) and row.get("location") == location and row.get("sku") == sku:
            v = row.get("on_hand")
            return v if isinstance(v, Decimal) else Decimal(str(v or 0))
    return Decimal(0)


def level(s: Any, inventory: Any, location: str, sku: str, at: datetime) -> StockLevel:
    row = s.get(StockLevel, (location, sku))
    if row is None:
        row = StockLevel(location=location, sku=sku, on_hand=str(_initial(inventory, location,
                                                                           sku)),
                         allocated="0", updated_at=at)
        s.add(row)
        s.flush()
    return row


def move(s: Any, inventory: Any, location: str, sku: str, at: datetime,
         on_hand: Decimal = Decimal(0), allocated: Decimal = Decimal(0)) -> dict[str, Any]:
    """Adds to on hand and allocated (negative to take away); the `stock_changed` payload."""
    row = level(s, inventory, location, sku, at)
    row.on_hand = str(Decimal(row.on_hand) + on_hand)
    row.allocated = str(max(Decimal(row.allocated) + allocated, Decimal(0)))
    row.updated_at = at
    return view(row)


def view(row: StockLevel) -> dict[str, Any]:
    oh, al = Decimal(row.on_hand), Decimal(row.allocated)
    return {"location": row.location, "sku": row.sku, "on_hand": oh, "allocated": al,
            "available": oh - al}


def propose(s: Any, data: dict[str, Any], rule: str, order_id: str | None,
            at: datetime) -> bool:
    loc, sku, qty = data.get("location"), data.get("sku"), data.get("quantity")
    if not isinstance(qty, Decimal) or qty <= 0 or not loc or not sku:
        from ordinance.engine.values import RuleError

        raise RuleError(f"propose_reorder needs a location, a sku and a quantity above zero "
                        f"(got {loc!r}, {sku!r}, {qty!r})")
    exists = s.scalars(select(ReorderProposal.id).where(
        ReorderProposal.location == str(loc), ReorderProposal.sku == str(sku),
        ReorderProposal.state == "open")).first()
    if exists is not None:
        return False
    s.add(ReorderProposal(location=str(loc), sku=str(sku), quantity=format(qty, "f"),
                          supplier=None if data.get("supplier") is None
                          else str(data["supplier"]), reason=str(data.get("reason") or ""),
                          rule=rule, order_id=order_id, state="open", created_at=at))
    return True


def reorders(db: Any, state: str = "open") -> dict[str, Any]:
    with db.session() as s:
        rows = rows_in_state(s, ReorderProposal, state, ("open", "ordered", "dismissed"))
        return {"items": [{"id": r.id, "location": r.location, "sku": r.sku,
                           "quantity": r.quantity, "supplier": r.supplier, "reason": r.reason,
                           "rule": r.rule, "order_id": r.order_id, "state": r.state,
                           "created_at": r.created_at.isoformat()} for r in rows]}


def stock(db: Any, location: str, sku: str) -> dict[str, Any] | None:
    with db.session() as s:
        row = s.get(StockLevel, (location, sku))
        if row is None:
            return None
        return {k: (format(v, "f") if isinstance(v, Decimal) else v)
                for k, v in view(row).items()}
