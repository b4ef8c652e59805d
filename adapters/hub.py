"""The order hub: capture orders from any channel, decide them, keep every version, run the
approval state machine, answer searches and the top-N reports, and keep the audit trail.

- Capture is idempotent on the order id: the same content again returns the stored result
  (`captured`); different content is a Conflict (a change goes through a change order).
- A change order is read (`read_change`), decided by the use case, and stored as a new version
  (`write_change`); the open approval tasks of the old version are cancelled and the new
  decision's tasks opened. It applies over the version it read (or the one the caller names,
  If-Match): the UPDATE's WHERE clause holds that version, so of two changes over one version
  one wins and the other is a Conflict.
- The hub never decides: the use cases (api/usecases/orders.py) decide between its read and
  its write, so the costly part runs outside any writing transaction.
- Approvals: one task per required (role, level) of the current version. A task is acted on
  by a key that may approve for its role; every task of a lower level must be approved first.
  One rejection rejects the order (the other open tasks are cancelled); when every task is
  approved the order is accepted.
- Every read of an order (or of a decision that belongs to one) is an audit entry, one per
  request, written by the service's door (api/audit.py) through `record_read`.

The order, its version, its decision record, its lines and its tasks are written in one
transaction, so an order is never stored without the decision that was answered for it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from ordinance.engine.answer import Evaluated

from .db import Database
from .hub_approvals import Approvals
from .hub_reports import Reports, date_param
from .hub_rows import (REPORT_DIMENSIONS, SEGMENTERS, content_hash, customer_of, field_of,
                       lines_of, order_id_of, task_json, tasks_from, text_of)
from .models import ApprovalTask, AuditEntry, DecisionRecord, Order, OrderLine, OrderVersion
from .store import (Conflict, Invalid, NotFound, clean, decode_cursor, encode_cursor, iso, now)
from .rollouts import Tag
from .store_decisions import record_row
from .store_keys import KeyInfo

_lines = lines_of  # the name tests/api/test_service_orders.py reads

__all__ = ["Hub", "PreparedChange", "REPORT_DIMENSIONS", "content_hash", "order_id_of",
           "task_json", "concurrent_change"]


@dataclass(frozen=True)
class PreparedChange:
    """A change order read (`Hub.read_change`), decided by the use case (`evaluated`), not
    stored yet; `view` is set when the content equals the current version's (nothing to
    store)."""

    rs: Any
    order_id: str
    order: dict
    order_text: str
    request_text: str
    chash: str
    key: KeyInfo
    existing: Order
    base: int  # the version the change is over
    evaluated: Evaluated | None
    view: str | None
    tags: list[Tag] | None = None  # what running shadows/rollouts count (on the record)


class Hub(Approvals, Reports):
    def __init__(self, db: Database):
        # The hub stores and reads; it never decides. The capture and change use cases
        # (api/usecases/orders.py) decide between its read and its write.
        self.db = db

    # ------------------------------------------------------------------ writing orders

    def _write_version(self, s: Any, rs: Any, order_id: str, version: int, ev: Evaluated,
                       order_text: str, request_text: str, chash: str, key: KeyInfo,
                       order: dict, existing: Order | None,
                       tags: list[Tag] | None = None) -> None:
        t = now()
        s.execute(insert(DecisionRecord), [record_row(ev, "order", key.name, order_id,
                                                      request_text, tags)])
        status = ev.status
        # reports file the order as decided (after defaulting), the channel in the rule
        # set's own spelling (engine/segments.py), never as it was sent
        decided = ev.body.get("order") if isinstance(ev.body.get("order"), dict) else order
        segments = SEGMENTERS.of(rs).of(decided)
        fields = dict(
            version=version, status=status, customer=customer_of(order),
            channel=text_of(segments["channel"], 100) or SEGMENTERS.of(rs).channel(
                text_of(field_of(decided, "attributes", "channel"))),
            country=text_of(segments["country"], 20),
            seller=text_of(order.get("seller")) or text_of(
                field_of(order, "attributes", "seller")),
            order_date=ev.as_of or str(date.today()),
            currency=text_of(field_of(ev.body, "pricing", "currency"), 10),
            total=text_of(field_of(ev.body, "pricing", "total"), 40),
            content_hash=chash, decision_id=ev.decision_id, updated_at=t)
        if existing is None:
            s.add(Order(id=order_id, created_at=t, **fields))
            s.flush()
        else:
            # Over the version the change was decided on, or not at all.
            done = s.execute(update(Order).where(Order.id == order_id,
                                                 Order.version == version - 1).values(**fields))
            if done.rowcount != 1:
                raise concurrent_change(order_id)
            s.execute(delete(OrderLine).where(OrderLine.order_id == order_id))
            s.execute(update(ApprovalTask).where(
                ApprovalTask.order_id == order_id, ApprovalTask.state == "open").values(
                state="cancelled", acted_at=t, comment=f"superseded by version {version}"))
        s.add(OrderVersion(order_id=order_id, version=version, content_hash=chash,
                           order=order_text, decision_id=ev.decision_id, status=status,
                           created_at=t, created_by=key.name))
        lines = lines_of(rs, ev)
        if lines:
            s.execute(insert(OrderLine), [dict(order_id=order_id, **ln) for ln in lines])
        if status == "pending_approval":
            for task in tasks_from(ev):
                s.add(ApprovalTask(order_id=order_id, order_version=version,
                                   role=clean(task["role"])[:200], level=task["level"],
                                   reason=clean("; ".join(task["reasons"])),
                                   rules=clean(" ".join(task["rules"])), state="open",
                                   created_at=t))
        s.add(AuditEntry(at=t, key_id=key.id, key_name=key.name,
                         action="create_order" if existing is None else "change_order",
                         order_id=order_id, decision_id=ev.decision_id,
                         detail=f"version {version}: {status}"))

    def captured(self, order: dict, as_of: date | None, ruleset_ref: str | None,
                 key: KeyInfo) -> str | None:
        """The stored view when this order was captured already with the same content (a
        capture is idempotent on the order id), None when it is new; a Conflict when the id
        is taken by different content."""
        order_id = order_id_of(order)
        with self.db.session() as s:
            existing = s.get(Order, order_id)
            if existing is None:
                return None
            return self._idempotent(s, existing, content_hash(order, as_of, ruleset_ref), key)

    def store_capture(self, rs: Any, order: dict, as_of: date | None, ruleset_ref: str | None,
                      ev: Evaluated, order_text: str, request_text: str, key: KeyInfo,
                      then: Callable[[Any, Any, str, Evaluated], None] | None = None,
                      tags: list[Tag] | None = None) -> tuple[bool, str]:
        """Stores a decided new order as version 1 with its decision, in one transaction;
        `then(session, rs, order id, decision)` runs in the same transaction (promising
        reserves there); `tags`: what running shadows and rollouts count of the decision,
        written on its record (adapters/rollouts.py). Returns (created, view JSON text): (False, the stored view) when the
        same content was captured meanwhile by someone else."""
        order_id = order_id_of(order)
        chash = content_hash(order, as_of, ruleset_ref)
        try:
            with self.db.session(write=True) as s:
                self._write_version(s, rs, order_id, 1, ev, order_text, request_text, chash,
                                    key, order, None, tags)
                if then is not None:
                    then(s, rs, order_id, ev)
                return True, self._view(s, s.get(Order, order_id))
        except IntegrityError:
            with self.db.session() as s:  # someone captured the same id meanwhile
                existing = s.get(Order, order_id)
                if existing is None:
                    raise
                return False, self._idempotent(s, existing, chash, key)

    def _idempotent(self, s: Any, existing: Order, chash: str, key: KeyInfo) -> str:
        if existing.content_hash != chash:
            raise Conflict(
                f"order {existing.id!r} exists with different content; send a change order "
                f"(PUT /v1/orders/{existing.id}) to change it", code="ORDER_EXISTS")
        return self._view(s, existing)

    def read_change(self, rs: Any, order_id: str, order: dict, as_of: date | None,
                    ruleset_ref: str | None, order_text: str, request_text: str,
                    key: KeyInfo, if_match: tuple[int, ...] | None = None) -> PreparedChange:
        """A change order read against the stored order (outside any writing transaction),
        not decided yet: to be decided (the use case sets `evaluated`) and stored as the next
        version over the version read here, which must be one of `if_match` when given (else
        a Conflict). The same content as the current version changes nothing: the prepared
        change then holds the current view."""
        if order.get("id") is not None and str(order["id"]) != order_id:
            raise Invalid(f"the order's id {str(order['id'])!r} is not {order_id!r} (the URL)",
                          code="BAD_ORDER", path="$.order.id")
        chash = content_hash(order, as_of, ruleset_ref)
        with self.db.session() as s:
            existing = s.get(Order, order_id)
            if existing is None:
                raise NotFound(f"no order {order_id!r}; capture it with POST /v1/orders",
                               code="ORDER_NOT_FOUND")
            if if_match is not None and existing.version not in if_match:
                raise Conflict(f"order {order_id!r} is at version {existing.version}, not "
                               f"{' or '.join(map(str, if_match))} (If-Match); fetch it and "
                               "retry", code="CONCURRENT_CHANGE")
            view = self._view(s, existing) if existing.content_hash == chash else None
        return PreparedChange(rs, order_id, order, order_text, request_text, chash, key,
                              existing, existing.version, None, view)

    def write_change(self, s: Any, p: PreparedChange) -> str:
        """Stores a prepared change as version `base + 1` in the caller's transaction (the
        order's row is updated first, so it is locked until the commit); the view."""
        assert p.evaluated is not None
        self._write_version(s, p.rs, p.order_id, p.base + 1, p.evaluated, p.order_text,
                            p.request_text, p.chash, p.key, p.order, p.existing, p.tags)
        s.flush()
        return self._view(s, s.get(Order, p.order_id, populate_existing=True))

    # ------------------------------------------------------------------ reading orders

    def _view(self, s: Any, o: Order) -> str:
        version = s.get(OrderVersion, (o.id, o.version))
        decision = s.scalars(select(DecisionRecord.decision).where(
            DecisionRecord.id == o.decision_id)).first()
        tasks = [task_json(t) for t in s.scalars(select(ApprovalTask).where(
            ApprovalTask.order_id == o.id, ApprovalTask.order_version == o.version)
            .order_by(ApprovalTask.level, ApprovalTask.id))]
        head = {
            "order_id": o.id, "version": o.version, "status": o.status,
            "customer": o.customer, "channel": o.channel, "country": o.country,
            "seller": o.seller, "order_date": o.order_date, "currency": o.currency,
            "total": o.total, "decision_id": o.decision_id,
            "created_at": iso(o.created_at), "updated_at": iso(o.updated_at),
            "approvals": tasks,
        }
        return "".join([json.dumps(head)[:-1], ', "order": ',
                        version.order if version else "null",
                        ', "decision": ', decision or "null", "}"])

    def _audit(self, s: Any, key: KeyInfo, action: str, order_id: str | None,
               decision_id: str | None = None, detail: str = "") -> None:
        s.add(AuditEntry(at=now(), key_id=key.id, key_name=key.name, action=action,
                         order_id=order_id, decision_id=decision_id, detail=detail))

    def get(self, order_id: str) -> tuple[int, str]:
        """(version, view JSON text) of the order's current version."""
        with self.db.session() as s:
            o = s.get(Order, order_id)
            if o is None:
                raise NotFound(f"no order {order_id!r}", code="ORDER_NOT_FOUND")
            return o.version, self._view(s, o)

    def versions(self, order_id: str) -> str:
        with self.db.session() as s:
            o = s.get(Order, order_id)
            if o is None:
                raise NotFound(f"no order {order_id!r}", code="ORDER_NOT_FOUND")
            parts = []
            for v in s.scalars(select(OrderVersion).where(OrderVersion.order_id == order_id)
                               .order_by(OrderVersion.version)):
                head = {"version": v.version, "status": v.status,
                        "decision_id": v.decision_id, "created_at": iso(v.created_at),
                        "created_by": v.created_by}
                parts.append(json.dumps(head)[:-1] + ', "order": ' + v.order + "}")
            return '{"order_id": ' + json.dumps(order_id) + ', "versions": [' + \
                ", ".join(parts) + "]}"

    def search(self, *, status: str | None = None, customer: str | None = None,
               channel: str | None = None, sku: str | None = None, start: str | None = None,
               end: str | None = None, cursor: str | None = None, limit: int = 50) -> dict:
        q = select(Order).order_by(Order.id).limit(limit + 1)
        if status:
            q = q.where(Order.status == status)
        if customer:
            q = q.where(Order.customer == customer)
        if channel:
            q = q.where(Order.channel == channel)
        if sku:
            q = q.where(exists().where(OrderLine.order_id == Order.id, OrderLine.sku == sku))
        if start:
            q = q.where(Order.order_date >= date_param(start, "from"))
        if end:
            q = q.where(Order.order_date <= date_param(end, "to"))
        if cursor:
            (after,) = decode_cursor(cursor, 1)
            if not isinstance(after, str):
                raise Invalid("cursor is not one this service handed out", code="BAD_CURSOR",
                              path="cursor")
            q = q.where(Order.id > after)
        with self.db.session() as s:
            rows = list(s.scalars(q))
            more = len(rows) > limit
            rows = rows[:limit]
            items = [{"order_id": o.id, "version": o.version, "status": o.status,
                      "customer": o.customer, "channel": o.channel, "country": o.country,
                      "order_date": o.order_date, "currency": o.currency, "total": o.total,
                      "decision_id": o.decision_id, "updated_at": iso(o.updated_at)}
                     for o in rows]
            return {"items": items,
                    "next_cursor": encode_cursor([rows[-1].id]) if more and rows else None}

    def audit(self, order_id: str) -> dict:
        with self.db.session() as s:
            if s.get(Order, order_id) is None:
                raise NotFound(f"no order {order_id!r}", code="ORDER_NOT_FOUND")
            entries = [{"at": iso(a.at), "key": a.key_name, "key_id": a.key_id,
                        "action": a.action, "decision_id": a.decision_id, "detail": a.detail}
                       for a in s.scalars(select(AuditEntry).where(
                           AuditEntry.order_id == order_id).order_by(AuditEntry.id))]
            return {"order_id": order_id, "entries": entries}

    def record_read(self, key: KeyInfo, action: str, order_id: str | None = None,
                    decision_id: str | None = None, detail: str = "") -> None:
        """One audit entry for one read, whatever its outcome. A decision's read is filed
        under its order too (when the decision is one of an order's)."""
        order_id = None if order_id is None else clean(order_id)[:200]
        decision_id = None if decision_id is None else clean(decision_id)[:40]
        with self.db.session(write=True) as s:
            if decision_id is not None and order_id is None:
                order_id = s.scalars(select(DecisionRecord.order_id).where(
                    DecisionRecord.id == decision_id)).first()
            self._audit(s, key, action, order_id, decision_id, clean(detail)[:2000])


def concurrent_change(order_id: str) -> Conflict:
    return Conflict(f"order {order_id!r} was changed by another request at the same time; "
                    "fetch it and retry", code="CONCURRENT_CHANGE")
