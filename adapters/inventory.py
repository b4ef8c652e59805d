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

from .models_orchestration import ReorderProposal, StockLevel
from .store import rows_in_state


def initial(ref_rows: Any, location: str, sku: str) -> Decimal:
    """On hand of a pair the first time it is touched: the rule set's inventory table."""
    for row in ref_rows or []:
        if isinstance(row, dict) and row.get("location") == location and row.get("sku") == sku:
            v = row.get("on_hand")
            return v if isinstance(v, Decimal) else Decimal(str(v or 0))
    return Decimal(0)


def new_level(inventory: Any, location: str, sku: str, at: datetime) -> dict[str, Any]:
    """An orch_stock row (as a dict) seeded from the inventory table."""
    return {"location": location, "sku": sku, "on_hand": str(initial(inventory, location, sku)),
            "allocated": "0", "updated_at": at}


def apply(row: dict[str, Any], at: datetime, on_hand: Decimal = Decimal(0),
          allocated: Decimal = Decimal(0)) -> dict[str, Any]:
    """Adds to on hand and allocated of an orch_stock row (a dict, changed in place; allocated
    never goes below zero); the `stock_changed` payload."""
    oh = Decimal(row["on_hand"]) + on_hand
    al = max(Decimal(row["allocated"]) + allocated, Decimal(0))
    row.update(on_hand=str(oh), allocated=str(al), updated_at=at)
    return {"location": row["location"], "sku": row["sku"], "on_hand": oh, "allocated": al,
            "available": oh - al}


def move(s: Any, inventory: Any, location: str, sku: str, at: datetime,
         on_hand: Decimal = Decimal(0), allocated: Decimal = Decimal(0)) -> dict[str, Any]:
    """`apply` on the ORM row of a session (returns put stock back this way)."""
    row = s.get(StockLevel, (location, sku), with_for_update=True)
    if row is None:
        row = StockLevel(**new_level(inventory, location, sku, at))
        s.add(row)
    values = {"location": row.location, "sku": row.sku, "on_hand": row.on_hand,
              "allocated": row.allocated}
    out = apply(values, at, on_hand, allocated)
    row.on_hand, row.allocated, row.updated_at = values["on_hand"], values["allocated"], at
    return out


def view(row: StockLevel) -> dict[str, Any]:
    oh, al = Decimal(row.on_hand), Decimal(row.allocated)
    return {"location": row.location, "sku": row.sku, "on_hand": oh, "allocated": al,
            "available": oh - al}


def proposal(data: dict[str, Any], rule: str, order_id: str | None,
             at: datetime) -> dict[str, Any]:
    """The orch_reorders row of a `propose_reorder` effect (RuleError when it is incomplete);
    the caller opens it unless the pair has an open proposal already."""
    loc, sku, qty = data.get("location"), data.get("sku"), data.get("quantity")
    if not isinstance(qty, Decimal) or qty <= 0 or not loc or not sku:
        from ordinance.engine.values import RuleError

        raise RuleError(f"propose_reorder needs a location, a sku and a quantity above zero "
                        f"(got {loc!r}, {sku!r}, {qty!r})")
    return {"location": str(loc), "sku": str(sku), "quantity": format(qty, "f"),
            "supplier": None if data.get("supplier") is None else str(data["supplier"]),
            "reason": str(data.get("reason") or ""), "rule": rule, "order_id": order_id,
            "state": "open", "created_at": at}


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
