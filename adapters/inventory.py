"""Stock per location and SKU after allocations and shipments, and the reorder proposals.

The ledger (orch_stock) starts from the rule set's `inventory` reference table the first time
a pair is touched; an order's sourcing allocations are reserved when orchestration first sees
it, a shipment takes them out of stock, a cancellation gives them back. Each move yields a
`stock_changed` event (sku, location, on_hand, allocated, available) for the event rules, so a
reorder rule reads `event.available`.

A `propose_reorder` effect opens a proposal unless its location and SKU have an open one.
Proposals move `proposed` -> `ordered` (a purchase order placed, `order`) -> `received` (a goods
receipt, `receive`), or to `dismissed` (`dismiss`, while nothing was received); proposed and
ordered proposals are open (goods on order still count against a second proposal), received and
dismissed ones are closed and block nothing. A goods receipt raises the location's on hand
through `move`, the same stock ledger as shipments and returns, and is recorded with its stock
move (orch_goods_receipts), idempotent on its id per proposal. The proposal is received when
its receipts reach the ordered quantity, or at a receipt marked `final` (a short delivery).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .models_orchestration import GoodsReceipt, ReorderProposal, StockLevel
from .store import Conflict, Invalid, NotFound

STATES = ("proposed", "ordered", "received", "dismissed")
OPEN = ("proposed", "ordered")  # block a second proposal of their location and SKU
FILTERS = {**{s: (s,) for s in STATES}, "open": OPEN, "closed": ("received", "dismissed")}


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
            "state": "proposed", "created_at": at}


def _iso(at: datetime | None) -> str | None:
    from .clock import utc

    return None if at is None else utc(at).isoformat().replace("+00:00", "Z")


def _view(r: ReorderProposal) -> dict[str, Any]:
    return {"id": r.id, "location": r.location, "sku": r.sku, "quantity": r.quantity,
            "supplier": r.supplier, "reason": r.reason, "rule": r.rule, "order_id": r.order_id,
            "state": r.state, "created_at": _iso(r.created_at),
            "purchase_order": r.purchase_order, "ordered_quantity": r.ordered_quantity,
            "ordered_at": _iso(r.ordered_at), "received_quantity": r.received_quantity,
            "closed_at": _iso(r.closed_at), "note": r.note, "updated_by": r.updated_by}


def _receipt(g: GoodsReceipt) -> dict[str, Any]:
    return {"id": g.receipt_id, "reorder_id": g.reorder_id, "location": g.location,
            "sku": g.sku, "quantity": g.quantity, "on_hand_after": g.on_hand_after,
            "actor": g.actor, "at": _iso(g.at)}


def reorders(db: Any, state: str = "open") -> dict[str, Any]:
    """Proposals in `state` (a state, `open`: proposed or ordered, `closed`, or `all`), oldest
    first."""
    if state != "all" and state not in FILTERS:
        raise Invalid(f"state is {', '.join(FILTERS)} or all", code="BAD_REQUEST", path="state")
    with db.session() as s:
        q = select(ReorderProposal).order_by(ReorderProposal.id)
        if state != "all":
            q = q.where(ReorderProposal.state.in_(FILTERS[state]))
        return {"items": [_view(r) for r in s.scalars(q)]}


def reorder(db: Any, reorder_id: int) -> dict[str, Any]:
    """One proposal with its goods receipts."""
    with db.session() as s:
        row = s.get(ReorderProposal, reorder_id)
        if row is None:
            raise NotFound(f"no reorder proposal {reorder_id}", code="REORDER_NOT_FOUND")
        receipts = s.scalars(select(GoodsReceipt).where(GoodsReceipt.reorder_id == reorder_id)
                             .order_by(GoodsReceipt.id)).all()
        return {**_view(row), "receipts": [_receipt(g) for g in receipts]}


def _quantity(body: dict[str, Any], what: str, required: bool) -> Decimal | None:
    q = body.get("quantity")
    if q is None and not required:
        return None
    if isinstance(q, str):
        try:
            q = Decimal(q)
        except ArithmeticError:
            q = None
    if isinstance(q, bool) or not isinstance(q, (int, Decimal)) or not Decimal(q).is_finite() \
            or q <= 0:
        raise Invalid(f"quantity is the {what}: a number above zero (text or JSON number)",
                      code="BAD_REORDER", path="$.quantity")
    return Decimal(q)


def _text(body: dict[str, Any], key: str, what: str, required: bool,
          limit: int = 200) -> str | None:
    v = body.get(key)
    if v is None and not required:
        return None
    if not isinstance(v, str) or not v.strip() or len(v) > limit:
        raise Invalid(f"{key} is {what} (1 to {limit} characters)", code="BAD_REORDER",
                      path=f"$.{key}")
    return v


def _locked(s: Any, db: Any, reorder_id: int, allowed: tuple[str, ...],
            action: str) -> ReorderProposal:
    row = s.get(ReorderProposal, reorder_id, with_for_update=not db.is_sqlite)
    if row is None:
        raise NotFound(f"no reorder proposal {reorder_id}", code="REORDER_NOT_FOUND")
    if row.state not in allowed:
        raise Conflict(f"a {row.state} proposal cannot be {action}", code="WRONG_STATE",
                       details={"state": row.state, "allowed_in": list(allowed)})
    return row


def order(db: Any, reorder_id: int, body: dict[str, Any], actor: str,
          now: datetime) -> dict[str, Any]:
    """proposed -> ordered: `{"purchase_order": "PO-...", "quantity"?: the proposed one}`."""
    po = _text(body, "purchase_order", "the purchase order's number", required=True)
    qty = _quantity(body, "quantity ordered", required=False)
    with db.session(write=True) as s:
        row = _locked(s, db, reorder_id, ("proposed",), "ordered")
        row.state, row.purchase_order, row.ordered_at, row.updated_by = "ordered", po, now, actor
        row.ordered_quantity = format(qty, "f") if qty is not None else row.quantity
        row.received_quantity = "0"
        return _view(row)


def dismiss(db: Any, reorder_id: int, body: dict[str, Any], actor: str,
            now: datetime) -> dict[str, Any]:
    """proposed or ordered (nothing received yet) -> dismissed: `{"reason": "..."}`."""
    reason = _text(body, "reason", "why the proposal is dismissed", required=True, limit=2000)
    with db.session(write=True) as s:
        row = _locked(s, db, reorder_id, OPEN, "dismissed")
        if Decimal(row.received_quantity or "0") > 0:
            raise Conflict(f"{row.received_quantity} were received already: close it with a "
                           "final goods receipt", code="PARTLY_RECEIVED",
                           details={"received_quantity": row.received_quantity})
        row.state, row.note, row.closed_at, row.updated_by = "dismissed", reason, now, actor
        return _view(row)


def receive(db: Any, ref_inventory: Any, reorder_id: int, body: dict[str, Any],
            actor: str, now: datetime, network: Any = None) -> dict[str, Any]:
    """A goods receipt against an ordered proposal: `{"id": RECEIPT, "quantity": "700",
    "final"?: false}`. Raises the location's on hand (the stock ledger's `move`), records the
    receipt, and closes the proposal as received when its receipts reach the ordered quantity
    or the receipt is final. When its purchase order is stored supply, what orders reserved
    on it becomes stock allocated to them (adapters/supply_reserve.py `receive_reserved`;
    `network`: the active rule set's, for the locations' handling days), in the same
    transaction. The same id again is answered from the record."""
    rid = _text(body, "id", "the goods receipt's id (its idempotency key)", required=True)
    qty = _quantity(body, "quantity received", required=True)
    final = body.get("final", False)
    if not isinstance(final, bool):
        raise Invalid("final is true or false", code="BAD_REORDER", path="$.final")
    rhash = hashlib.sha256(json.dumps([format(qty, "f"), final]).encode()).hexdigest()
    try:
        with db.session(write=True) as s:
            row = _locked(s, db, reorder_id, STATES, "received")  # then ask for the receipt
            old = s.scalars(select(GoodsReceipt).where(GoodsReceipt.reorder_id == reorder_id,
                                                       GoodsReceipt.receipt_id == rid)).first()
            if old is not None:
                if old.request_hash != rhash:
                    raise Conflict("goods receipt id already used for another receipt",
                                   code="RECEIPT_REUSED", path="$.id")
                return {**_view(row), "receipt": _receipt(old), "duplicate": True}
            row = _locked(s, db, reorder_id, ("ordered",), "received")
            from .supply import received  # its purchase order's supply to come is lower
            from .supply_reserve import receive_reserved, waiting_orders

            waiting_orders(s, db.is_sqlite, row.location, row.sku)  # before the stock row
            move(s, ref_inventory, row.location, row.sku, now, on_hand=qty)
            due = received(s, row.location, row.sku, row.purchase_order, qty, now)
            turned = receive_reserved(s, network, ref_inventory, row.location, row.sku, due,
                                      now)
            stock = view(s.get(StockLevel, (row.location, row.sku)))
            got = Decimal(row.received_quantity or "0") + qty
            row.received_quantity, row.updated_by = format(got, "f"), actor
            if final or got >= Decimal(row.ordered_quantity or row.quantity):
                row.state, row.closed_at = "received", now
            g = GoodsReceipt(reorder_id=reorder_id, receipt_id=rid, location=row.location,
                             sku=row.sku, quantity=format(qty, "f"),
                             on_hand_after=format(stock["on_hand"], "f"), request_hash=rhash,
                             actor=actor, at=now)
            s.add(g)
            s.flush()
            out = {**_view(row), "receipt": _receipt(g),
                   "stock": {k: (format(v, "f") if isinstance(v, Decimal) else v)
                             for k, v in stock.items()}, "allocated_to": turned,
                   "duplicate": False}
    except IntegrityError:
        raise Conflict("the same goods receipt is being recorded; retry",
                       code="CONCURRENT_RECEIPT") from None
    return out


def stock(db: Any, location: str, sku: str) -> dict[str, Any] | None:
    with db.session() as s:
        row = s.get(StockLevel, (location, sku))
        if row is None:
            return None
        return {k: (format(v, "f") if isinstance(v, Decimal) else v)
                for k, v in view(row).items()}
