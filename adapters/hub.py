"""The order hub: capture orders from any channel, decide them, keep every version, run the
approval state machine, answer searches and the top-N reports, and keep the audit trail.

- Capture (`submit`) is idempotent on the order id: the same content again returns the
  stored result; different content is a Conflict (a change goes through `change`).
- A change order (`change`) is decided again and becomes a new version; the open approval
  tasks of the old version are cancelled and the new decision's tasks opened. It applies over
  the version it read (or the one the caller names, If-Match): the UPDATE's WHERE clause holds
  that version, so of two changes over one version one wins and the other is a Conflict.
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

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from ordinance.engine.segments import Segmenter

from .clock import Clock, SystemClock
from .db import Database
from .models import ApprovalTask, AuditEntry, DecisionRecord, Order, OrderLine, OrderVersion
from .store import (Conflict, Forbidden, Invalid, NotFound, clean, decode_cursor, encode_cursor,
                    iso, now)
from .store_decisions import Evaluated, evaluate, record_row
from .store_keys import KeyInfo

REPORT_DIMENSIONS = ("product", "customer", "channel", "country", "category", "brand",
                     "seller", "day")


def _text(value: Any, limit: int = 200) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).replace("\x00", "")[:limit]


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    return value


def content_hash(order: dict, as_of: date | None, ruleset: str | None) -> str:
    text = json.dumps({"order": _canonical(order), "as_of": str(as_of) if as_of else None,
                       "ruleset": ruleset}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def order_id_of(order: dict) -> str:
    oid = order.get("id")
    if oid is None:
        raise Invalid("the order hub needs an order id", code="BAD_ORDER", path="$.order.id")
    text = str(oid)
    if "\x00" in text:
        raise Invalid("order id must not hold NUL characters", code="BAD_ORDER",
                      path="$.order.id")
    if not text.strip() or len(text) > 200:
        raise Invalid("order id must be 1 to 200 characters", code="BAD_ORDER",
                      path="$.order.id")
    return text


def _field(obj: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(p)
    return obj


def _customer(order: dict) -> str | None:
    c = order.get("customer")
    if isinstance(c, dict):
        return _text(c.get("id")) or _text(c.get("name"))
    return _text(order.get("customer_id")) or _text(c)


class _RefIndex:
    """`ref.products[sku]` rows: the first row whose first column equals the sku."""

    def __init__(self) -> None:
        self._by_rs: dict[str, dict[str, dict]] = {}

    def products(self, rs: Any) -> dict[str, dict]:
        digest = str(getattr(rs, "digest", ""))
        idx = self._by_rs.get(digest)
        if idx is None:
            idx = {}
            rows = (getattr(rs, "reference", None) or {}).get("products") or []
            for row in rows if isinstance(rows, list) else []:
                if isinstance(row, dict) and row:
                    first = next(iter(row.values()))
                    idx.setdefault(str(first), row)
            self._by_rs[digest] = idx
        return idx


_REFS = _RefIndex()


class _Segmenters:
    """One `Segmenter` per rule-set digest (its channel codes)."""

    def __init__(self) -> None:
        self._by_rs: dict[str, Segmenter] = {}

    def of(self, rs: Any) -> Segmenter:
        digest = str(getattr(rs, "digest", ""))
        seg = self._by_rs.get(digest)
        if seg is None:
            reference = getattr(rs, "reference", None)
            seg = self._by_rs[digest] = Segmenter(reference if isinstance(reference, dict)
                                                  else None)
        return seg


_SEGMENTERS = _Segmenters()


def _lines(rs: Any, ev: Evaluated) -> list[dict[str, Any]]:
    decided = ev.body.get("order") or {}
    lines = decided.get("lines") if isinstance(decided, dict) else None
    pricing = ev.body.get("pricing") or {}
    priced = pricing.get("lines") if isinstance(pricing, dict) else None
    priced = priced if isinstance(priced, list) else []
    products = _REFS.products(rs)
    out = []
    for i, line in enumerate(lines if isinstance(lines, list) else []):
        if not isinstance(line, dict):
            continue
        sku = _text(line.get("sku"))
        row = products.get(sku or "", {}) if sku else {}
        net = priced[i].get("net") if i < len(priced) and isinstance(priced[i], dict) else None
        out.append({
            "line_no": i, "sku": sku,
            "category": _text(line.get("category")) or _text(row.get("category")),
            "brand": _text(line.get("brand")) or _text(row.get("brand")),
            "quantity": str(_decimal(line.get("quantity"))),
            "net": str(_decimal(net)),
        })
    return out


def _tasks_from(ev: Evaluated) -> list[dict[str, Any]]:
    grouped: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()
    for a in ev.body.get("approvals") or []:
        if not isinstance(a, dict):
            continue
        try:
            level = int(a.get("level", 1))
        except (TypeError, ValueError):
            level = 1
        key = (str(a.get("role")), level)
        g = grouped.setdefault(key, {"role": key[0], "level": level, "reasons": [],
                                     "rules": []})
        if a.get("reason") and str(a["reason"]) not in g["reasons"]:
            g["reasons"].append(str(a["reason"]))
        if a.get("rule") and str(a["rule"]) not in g["rules"]:
            g["rules"].append(str(a["rule"]))
    return list(grouped.values())


@dataclass(frozen=True)
class PreparedChange:
    """A change order decided and not stored yet (`Hub.prepare_change`); `view` is set when
    the content equals the current version's (nothing to store)."""

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


def task_json(t: ApprovalTask) -> dict[str, Any]:
    return {
        "id": t.id, "order_id": t.order_id, "order_version": t.order_version,
        "role": t.role, "level": t.level, "reason": t.reason,
        "rules": [r for r in t.rules.split(" ") if r], "state": t.state,
        "created_at": iso(t.created_at), "acted_by": t.acted_by, "acted_at": iso(t.acted_at),
        "comment": t.comment,
    }


class Hub:
    def __init__(self, db: Database, clock: Clock | None = None):
        self.db = db
        self.clock: Clock = clock or SystemClock()  # the as-of of an order without a date

    # ------------------------------------------------------------------ writing orders

    def _write_version(self, s: Any, rs: Any, order_id: str, version: int, ev: Evaluated,
                       order_text: str, request_text: str, chash: str, key: KeyInfo,
                       order: dict, existing: Order | None) -> None:
        t = now()
        s.execute(insert(DecisionRecord), [record_row(ev, "order", key.name, order_id,
                                                      request_text)])
        status = ev.status
        # reports file the order as decided (after defaulting), the channel in the rule
        # set's own spelling (engine/segments.py), never as it was sent
        decided = ev.body.get("order") if isinstance(ev.body.get("order"), dict) else order
        segments = _SEGMENTERS.of(rs).of(decided)
        fields = dict(
            version=version, status=status, customer=_customer(order),
            channel=_text(segments["channel"], 100) or _SEGMENTERS.of(rs).channel(
                _text(_field(decided, "attributes", "channel"))),
            country=_text(segments["country"], 20),
            seller=_text(order.get("seller")) or _text(_field(order, "attributes", "seller")),
            order_date=ev.as_of or str(date.today()),
            currency=_text(_field(ev.body, "pricing", "currency"), 10),
            total=_text(_field(ev.body, "pricing", "total"), 40),
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
        lines = _lines(rs, ev)
        if lines:
            s.execute(insert(OrderLine), [dict(order_id=order_id, **ln) for ln in lines])
        if status == "pending_approval":
            for task in _tasks_from(ev):
                s.add(ApprovalTask(order_id=order_id, order_version=version,
                                   role=clean(task["role"])[:200], level=task["level"],
                                   reason=clean("; ".join(task["reasons"])),
                                   rules=clean(" ".join(task["rules"])), state="open",
                                   created_at=t))
        s.add(AuditEntry(at=t, key_id=key.id, key_name=key.name,
                         action="create_order" if existing is None else "change_order",
                         order_id=order_id, decision_id=ev.decision_id,
                         detail=f"version {version}: {status}"))

    def submit(self, rs: Any, order: dict, as_of: date | None, ruleset_ref: str | None,
               order_text: str, request_text: str, key: KeyInfo) -> tuple[bool, str]:
        """Capture an order. Returns (created, view JSON text)."""
        order_id = order_id_of(order)
        chash = content_hash(order, as_of, ruleset_ref)
        with self.db.session() as s:
            existing = s.get(Order, order_id)
            if existing is not None:
                return False, self._idempotent(s, existing, chash, key)
        ev = evaluate(rs, order, as_of, "decide", self.clock.now().date())
        try:
            with self.db.session(write=True) as s:
                self._write_version(s, rs, order_id, 1, ev, order_text, request_text, chash,
                                    key, order, None)
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

    def change(self, rs: Any, order_id: str, order: dict, as_of: date | None,
               ruleset_ref: str | None, order_text: str, request_text: str,
               key: KeyInfo, if_match: tuple[int, ...] | None = None) -> tuple[bool, int, str]:
        """A change order in a transaction of its own (the hub alone; the service changes the
        hub and orchestration together: api/usecases/orders.py). Returns (changed, version,
        view)."""
        prepared = self.prepare_change(rs, order_id, order, as_of, ruleset_ref, order_text,
                                       request_text, key, if_match)
        if prepared.view is not None:
            return False, prepared.base, prepared.view
        try:
            with self.db.session(write=True) as s:
                return True, prepared.base + 1, self.write_change(s, prepared)
        except IntegrityError:
            raise concurrent_change(order_id) from None

    def prepare_change(self, rs: Any, order_id: str, order: dict, as_of: date | None,
                       ruleset_ref: str | None, order_text: str, request_text: str,
                       key: KeyInfo, if_match: tuple[int, ...] | None = None) -> PreparedChange:
        """A change order read and decided again (outside any writing transaction): to be
        stored as the next version over the version read here, which must be one of
        `if_match` when given (else a Conflict). The same content as the current version
        changes nothing: the prepared change then holds the current view."""
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
            if existing.content_hash == chash:
                return PreparedChange(rs, order_id, order, order_text, request_text, chash,
                                      key, existing, existing.version, None,
                                      self._view(s, existing))
            base = existing.version
        ev = evaluate(rs, order, as_of, "decide", self.clock.now().date())
        return PreparedChange(rs, order_id, order, order_text, request_text, chash, key,
                              existing, base, ev, None)

    def write_change(self, s: Any, p: PreparedChange) -> str:
        """Stores a prepared change as version `base + 1` in the caller's transaction (the
        order's row is updated first, so it is locked until the commit); the view."""
        assert p.evaluated is not None
        self._write_version(s, p.rs, p.order_id, p.base + 1, p.evaluated, p.order_text,
                            p.request_text, p.chash, p.key, p.order, p.existing)
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
            q = q.where(Order.order_date >= _date_param(start, "from"))
        if end:
            q = q.where(Order.order_date <= _date_param(end, "to"))
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

    # ------------------------------------------------------------------ approvals

    def tasks(self, role: str | None = None, state: str = "open",
              order_id: str | None = None, limit: int = 500,
              for_key: KeyInfo | None = None) -> list[dict]:
        """Tasks, oldest first; with `for_key`, only those that key may act on."""
        q = select(ApprovalTask).order_by(ApprovalTask.id).limit(limit)
        if for_key is not None and for_key.role != "admin":
            q = q.where(ApprovalTask.role.in_(for_key.approves or ("",)))
        if state != "all":
            q = q.where(ApprovalTask.state == state)
        if role:
            q = q.where(ApprovalTask.role == role)
        if order_id:
            q = q.where(ApprovalTask.order_id == order_id)
        with self.db.session() as s:
            return [task_json(t) for t in s.scalars(q)]

    def act(self, task_id: int, action: str, comment: str | None, key: KeyInfo) -> dict:
        """`act_in` in a transaction of its own (the hub alone)."""
        with self.db.session(write=True) as s:
            return self.act_in(s, task_id, action, comment, key)

    def act_in(self, s: Any, task_id: int, action: str, comment: str | None,
               key: KeyInfo) -> dict:
        """Approve or reject a task in the caller's transaction (the order's row is locked
        until its commit)."""
        if action not in ("approve", "reject"):
            raise Invalid("action must be \"approve\" or \"reject\"", code="BAD_ACTION",
                          path="$.action")
        comment = clean(comment)
        task = s.get(ApprovalTask, task_id)
        if task is None:
            raise NotFound(f"no approval task {task_id}", code="TASK_NOT_FOUND")
        # Lock the order: acts on one order's tasks happen one at a time.
        order = s.get(Order, task.order_id, with_for_update=not self.db.is_sqlite)
        s.refresh(task)
        if not key.may_approve(task.role):
            raise Forbidden(f"key {key.name!r} may not approve for role {task.role!r}",
                            code="NOT_YOUR_ROLE")
        if task.state != "open":
            raise Conflict(f"approval task {task_id} is already {task.state}",
                           code="TASK_CLOSED")
        siblings = list(s.scalars(select(ApprovalTask).where(
            ApprovalTask.order_id == task.order_id,
            ApprovalTask.order_version == task.order_version)))
        waiting = [t for t in siblings if t.level < task.level and t.state != "approved"]
        if waiting:
            names = ", ".join(f"{t.role} (level {t.level})" for t in waiting)
            raise Conflict(f"level {task.level} cannot act before level(s) below it are "
                           f"approved: {names}", code="LOWER_LEVEL_OPEN")
        t = now()
        task.state = "approved" if action == "approve" else "rejected"
        task.acted_by = key.name
        task.acted_at = t
        task.comment = comment
        if action == "reject":
            for other in siblings:
                if other.id != task.id and other.state == "open":
                    other.state = "cancelled"
                    other.acted_at = t
                    other.comment = f"order rejected at task {task.id}"
            order.status = "rejected"
        elif all(x.state == "approved" for x in siblings):
            order.status = "accepted"
        order.updated_at = t
        s.execute(update(OrderVersion).where(
            OrderVersion.order_id == order.id, OrderVersion.version == order.version)
            .values(status=order.status))
        self._audit(s, key, action, order.id, None,
                    f"task {task.id} {task.role} level {task.level}"
                    + (f": {comment}" if comment else ""))
        s.flush()
        out = task_json(task)
        out["order_status"] = order.status
        return out

    # ------------------------------------------------------------------ reports

    def top(self, by: str, start: str | None = None, end: str | None = None,
            limit: int = 10, sort: str = "revenue", currency: str | None = None) -> dict:
        """Top entries by revenue (sum of line nets), units or order count (`sort`), each
        with all three, per currency: an entry is a (key, currency) pair, amounts of
        different currencies are never added, and revenues are ranked only against the
        same currency's. With `currency`, that currency's top `limit`; without, the top
        `limit` of each currency, currencies in code order. Rejected orders are left out.
        Channel and country are the decided order's (after defaulting; the channel in the
        rule set's spelling), as `_write_version` stored them."""
        if sort not in ("revenue", "units", "orders"):
            raise Invalid("sort must be revenue, units or orders", code="BAD_QUERY",
                          path="sort")
        if by not in REPORT_DIMENSIONS:
            raise Invalid(f"by must be one of {', '.join(REPORT_DIMENSIONS)}",
                          code="BAD_QUERY", path="by")
        if currency is not None and not (len(currency) == 3 and currency.isascii()
                                         and currency.isalpha() and currency.isupper()):
            raise Invalid(f"currency must be an ISO 4217 code such as EUR, not {currency!r}",
                          code="BAD_QUERY", path="currency")
        column = {"product": OrderLine.sku, "category": OrderLine.category,
                  "brand": OrderLine.brand, "customer": Order.customer,
                  "channel": Order.channel, "country": Order.country, "seller": Order.seller,
                  "day": Order.order_date}[by]
        q = select(column, Order.currency, OrderLine.net, OrderLine.quantity, Order.id).join(
            Order, Order.id == OrderLine.order_id).where(Order.status != "rejected")
        if currency is not None:
            q = q.where(Order.currency == currency)
        if start:
            q = q.where(Order.order_date >= _date_param(start, "from"))
        if end:
            q = q.where(Order.order_date <= _date_param(end, "to"))
        groups: dict[tuple[Any, str | None], list[Any]] = {}
        with self.db.session() as s:
            for k, cur, net, qty, oid in s.execute(q):
                g = groups.setdefault((k, cur), [Decimal(0), Decimal(0), set()])
                g[0] += _decimal(net)
                g[1] += _decimal(qty)
                g[2].add(oid)
        first = {"revenue": 0, "units": 1, "orders": 2}[sort]

        def rank(kv: tuple[tuple[Any, str | None], list[Any]]) -> tuple:
            metrics = (kv[1][0], kv[1][1], Decimal(len(kv[1][2])))
            order = (metrics[first],) + tuple(m for i, m in enumerate(metrics) if i != first)
            return tuple(-m for m in order) + ("" if kv[0][0] is None else str(kv[0][0]),)

        per_currency: dict[str | None, list[Any]] = {}
        for (k, cur), v in sorted(groups.items(), key=rank):
            per_currency.setdefault(cur, []).append((k, cur, v))
        items = [{"key": k, "currency": cur, "revenue": str(v[0]), "units": str(v[1]),
                  "orders": len(v[2])}
                 for cur in sorted(per_currency, key=lambda c: (c is None, c or ""))
                 for k, cur, v in per_currency[cur][:limit]]
        return {"by": by, "sort": sort, "from": start, "to": end, "currency": currency,
                "items": items}


def concurrent_change(order_id: str) -> Conflict:
    return Conflict(f"order {order_id!r} was changed by another request at the same time; "
                    "fetch it and retry", code="CONCURRENT_CHANGE")


def _date_param(text: str, name: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise Invalid(f"{name} must be a date YYYY-MM-DD, not {text!r}", code="BAD_QUERY",
                      path=name) from None
