"""Returns: authorisations per line under the rule set's return policy, the refund computed from
what was paid, and the stock put back at a location.

Policy (reference table `return_policies`, one row per channel): `window_days` from delivery
(else from the last shipment), restocking fee in percent of the returned net by condition
(`fee_new`, `fee_opened`, `fee_damaged`), and `non_returnable` product categories (`;`
separated). A line may return at most what was shipped and not yet returned.

Refund per line: the returned quantity's share of the line's net and tax (cumulative shares, as
on invoices, so returning everything refunds exactly what was invoiced for it) minus the fee;
the order's refund is capped by what the payment ledger holds as paid, and is refunded through
the provider (idempotency key `return:RMA`); when nothing was captured it is recorded as due.
Stock of new and opened items goes back to the location (the given one, else where the line
shipped from); damaged items do not. A return of everything shipped moves the order to
`returned`. Errors: 422 with a JSON path for bad input, 409 for what the order's state or the
policy does not allow.

`listing` is `GET /v1/returns`: the authorisations newest first, filtered by refund status,
order and customer (the order hub's customer id), in pages whose cursor is the last
authorisation's id (as the decision log's cursor is its seq).
"""
from __future__ import annotations

import hashlib
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ordinance.engine.values import render

from . import inventory
from .billing import share
from .clock import utc
from .models import Order
from .payments import derived_key
from .models_orchestration import OrderState, ReturnAuthorisation, TimelineEntry
from .store import Conflict, Invalid, NotFound, iso

CONDITIONS = ("new", "opened", "damaged")
CENT = Decimal("0.01")


def _parse(body: dict[str, Any]) -> dict[str, Any]:
    rma = body.get("id")
    if not isinstance(rma, str) or not rma.strip() or len(rma) > 200:
        raise Invalid("id is the return's idempotency key (1 to 200 characters)",
                      code="BAD_RETURN", path="$.id")
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        raise Invalid("lines is a non-empty list of {line_id, quantity, condition}",
                      code="BAD_RETURN", path="$.lines")
    for i, ln in enumerate(lines):
        if not isinstance(ln, dict) or not isinstance(ln.get("line_id"), str):
            raise Invalid("line_id names a line of the order", code="BAD_RETURN",
                          path=f"$.lines[{i}].line_id")
        q = ln.get("quantity")
        if isinstance(q, str):
            try:
                q = ln["quantity"] = Decimal(q)
            except ArithmeticError:
                q = None
        if not isinstance(q, Decimal) or not q.is_finite() or q <= 0:
            raise Invalid("quantity is a number above zero", code="BAD_RETURN",
                          path=f"$.lines[{i}].quantity")
        if ln.get("condition", "new") not in CONDITIONS:
            raise Invalid(f"condition is one of {', '.join(CONDITIONS)}", code="BAD_RETURN",
                          path=f"$.lines[{i}].condition")
    loc = body.get("location")
    if loc is not None and not isinstance(loc, str):
        raise Invalid("location is a location id", code="BAD_RETURN", path="$.location")
    return body


def _policy(reference: dict[str, Any], channel: str | None) -> dict[str, Any]:
    for row in reference.get("return_policies") or []:
        if isinstance(row, dict) and row.get("channel") == channel:
            return row
    return {"window_days": Decimal(30), "fee_new": Decimal(0), "fee_opened": Decimal(0),
            "fee_damaged": Decimal(100), "non_returnable": ""}


def authorise(orch: Any, ledger: Any, order_id: str, request: dict[str, Any],
              actor: str) -> dict[str, Any]:
    """A return authorised against a shipped order; `request` is the body the door read."""
    body = _parse(request)
    rhash = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    rs = orch._active()
    reference = getattr(rs, "reference", None) or {}
    now = orch.clock.now()
    with orch.db.session(write=True) as s:
        old = s.scalars(select(ReturnAuthorisation).where(
            ReturnAuthorisation.order_id == order_id,
            ReturnAuthorisation.rma == body["id"])).first()
        if old is not None:
            if old.request_hash != rhash:
                raise Conflict("return id already used for another return", code="RMA_REUSED",
                               path="$.id")
            return {**json.loads(old.document), "duplicate": True}
        hub = s.get(Order, order_id)
        row = s.get(OrderState, order_id, with_for_update=not orch.db.is_sqlite)
        if hub is None:
            raise NotFound(f"no order {order_id!r}", code="ORDER_NOT_FOUND")
        if row is None or row.state not in ("shipped", "delivered", "billed", "paid"):
            raise Conflict(f"an order that is {row.state if row else 'not shipped'} takes no "
                           "returns", code="WRONG_STATE")
        order = orch._decided_order(s, hub.decision_id)
        pricing = orch._extras.get(hub.decision_id, ({}, {}))[0]
        policy = _policy(reference, order.get("channel"))
        since = s.scalars(select(TimelineEntry.at).where(
            TimelineEntry.order_id == order_id, TimelineEntry.kind == "transition",
            TimelineEntry.to_state.in_(("delivered", "shipped"))).order_by(
            TimelineEntry.id.desc())).first()
        days = Decimal(str(policy.get("window_days") or 30))
        if since is not None and (now - utc(since)).days > days:
            raise Conflict(f"the return window of {days} days for {order.get('channel')} "
                           f"orders has closed", code="RETURN_WINDOW_CLOSED")
        banned = {c for c in str(policy.get("non_returnable") or "").split(";") if c}
        products = reference.get("products") or []
        lines = json.loads(row.lines)
        plines = {str(p.get("line_id")): p for p in pricing.get("lines") or []}
        out_lines, total = [], Decimal(0)
        for i, ln in enumerate(body["lines"]):
            lid, qty, cond = ln["line_id"], ln["quantity"], ln.get("condition", "new")
            line = lines.get(lid)
            if line is None:
                raise Conflict(f"the order has no line {lid!r}", code="UNKNOWN_LINE",
                               path=f"$.lines[{i}].line_id")
            cat = next((p.get("category") for p in products if isinstance(p, dict)
                        and p.get("sku") == line.get("sku")), None)
            if cat in banned:
                raise Conflict(f"{line.get('sku')} ({cat}) cannot be returned",
                               code="NOT_RETURNABLE", path=f"$.lines[{i}]")
            shipped = Decimal(line["shipped"])
            before = Decimal(line.get("returned", "0"))
            if before + qty > shipped:
                raise Conflict(f"line {lid!r}: returning {qty} would make {before + qty} of "
                               f"{shipped} shipped", code="OVER_RETURNED",
                               path=f"$.lines[{i}].quantity")
            ordered = Decimal(line["ordered"])
            p = plines.get(lid) or {}
            net, tax = Decimal(str(p.get("net") or 0)), Decimal(str(p.get("tax") or 0))
            n = share(net, before + qty, ordered, CENT) - share(net, before, ordered, CENT)
            t = share(tax, before + qty, ordered, CENT) - share(tax, before, ordered, CENT)
            pct = Decimal(str(policy.get(f"fee_{cond}") or 0))
            fee = (n * pct / 100).quantize(CENT, ROUND_HALF_UP)
            refund = n + t - fee if pct < 100 else Decimal("0.00")
            line["returned"] = str(before + qty)
            loc = body.get("location") or next(iter(line.get("allocations") or {}), None)
            if cond != "damaged" and loc and line.get("sku"):
                inventory.move(s, reference.get("inventory"), loc, line["sku"], now,
                               on_hand=qty)
            out_lines.append({"line_id": lid, "sku": line.get("sku"), "quantity": str(qty),
                              "condition": cond, "net": str(n), "tax": str(t),
                              "restocking_fee": str(fee), "refund": str(refund),
                              "restocked_at": loc if cond != "damaged" else None})
            total += refund
        row.lines = json.dumps(lines)
        all_back = all(Decimal(v.get("returned", "0")) >= Decimal(v["shipped"])
                       for v in lines.values() if Decimal(v["shipped"]) > 0)
        frm = row.state
        if all_back and frm in ("delivered", "billed", "paid"):
            row.state = "returned"
        s.add(TimelineEntry(order_id=order_id, at=now, actor=actor, kind="return",
                            from_state=frm, to_state=row.state,
                            cause=f"return {body['id']}: refund {total}",
                            detail=json.dumps({"rma": body["id"], "lines": out_lines})))
        doc = {"order_id": order_id, "rma": body["id"], "currency": pricing.get("currency"),
               "lines": out_lines, "refund": str(total), "state": row.state,
               "refund_status": "pending"}
        rec = ReturnAuthorisation(order_id=order_id, rma=body["id"], request_hash=rhash,
                                  document=json.dumps(doc), refund=str(total),
                                  refund_status="pending", at=now)
        s.add(rec)
        try:
            s.flush()
        except IntegrityError:
            raise Conflict("the same return is being handled; retry",
                           code="CONCURRENT_RETURN") from None
    # the refund goes through the provider, outside the return's transaction
    bal = ledger.balance(order_id)
    amount = min(total, Decimal(bal["paid"]))
    status = "none"
    if amount > 0:
        ledger.act(order_id, {"action": "refund", "amount": render(amount),
                              "idempotency_key": derived_key("return:", body["id"])},
                   actor)
        status = "refunded" if amount == total else "partly_refunded"
    elif total > 0:
        status = "due"
    doc["refund_status"], doc["refunded"] = status, str(amount)
    with orch.db.session(write=True) as s:
        rec = s.scalars(select(ReturnAuthorisation).where(
            ReturnAuthorisation.order_id == order_id,
            ReturnAuthorisation.rma == body["id"])).first()
        rec.refund_status, rec.document = status, json.dumps(doc)
    return {**doc, "duplicate": False}



def _summary(rec: Any, customer: str | None) -> dict[str, Any]:
    doc = json.loads(rec.document)
    lines = doc.get("lines") or []
    return {"id": rec.id, "rma": rec.rma, "order_id": rec.order_id, "customer": customer,
            "at": iso(rec.at), "state": doc.get("state"), "currency": doc.get("currency"),
            "refund": rec.refund, "refunded": doc.get("refunded"),
            "refund_status": rec.refund_status,
            "quantity": str(sum((Decimal(str(ln.get("quantity") or 0)) for ln in lines),
                                Decimal(0))),
            "lines": lines}


def listing(db: Any, *, status: str | None = None, order_id: str | None = None,
            customer: str | None = None, cursor: int | None = None,
            limit: int = 50) -> dict[str, Any]:
    """One page of return authorisations, newest first; `cursor` is the previous page's
    `next_cursor` (the last id it held)."""
    q = (select(ReturnAuthorisation, Order.customer)
         .join(Order, Order.id == ReturnAuthorisation.order_id, isouter=True)
         .order_by(ReturnAuthorisation.id.desc()).limit(limit + 1))
    if status:
        q = q.where(ReturnAuthorisation.refund_status == status)
    if order_id:
        q = q.where(ReturnAuthorisation.order_id == order_id)
    if customer:
        q = q.where(Order.customer == customer)
    if cursor is not None:
        q = q.where(ReturnAuthorisation.id < cursor)
    with db.session() as s:
        rows = s.execute(q).all()
        more = len(rows) > limit
        items = [_summary(rec, cust) for rec, cust in rows[:limit]]
    return {"items": items, "next_cursor": str(items[-1]["id"]) if more and items else None}
