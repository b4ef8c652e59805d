"""Orchestration: events in, lifecycle, windows, timers, holds and alerts out, all in the database.

In: events for orders of the hub (`post_event`), the clock (`tick` fires the timers that are
due), people (`release_hold`). Out: the order's lifecycle state and timeline, open alerts, and
the answer to each event. Raises the service errors (Invalid 422, NotFound 404, Conflict 409).

Every event is handled in ONE transaction: the idempotency record, the lifecycle transition,
the window entries, the timers it arms or cancels, the effects of the rules it wakes (holds,
alerts) and the timeline entries commit together or not at all. So a crash loses nothing that
was answered 2xx, and a retried event (same id) is answered from the record and changes nothing.
Timers due before an event's time are fired for that order first, so the order of effects
depends only on event times, not on when the service happened to tick. An order's row in
orch_orders is locked (FOR UPDATE on PostgreSQL; SQLite takes the write lock at BEGIN) so the
events of one order are applied one at a time.

The rules themselves (engine/events.py) are pure: they return effects; this module applies them.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ordinance.engine.events import Effect, EventRules, EventState
from ordinance.engine.processes import choose, plan_of
from ordinance.engine.values import RuleError, render
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from . import billing, inventory, lifecycle, rebates, webhooks
from .clock import Clock, SystemClock, utc
from .db import Database
from .eventstore import Event, iso_z, parse_event
from .models import DecisionRecord, Order
from .models_orchestration import (
    AlertRecord,
    EventRecord,
    OrderState,
    TimelineEntry,
    Timer,
    WindowEntry,
)
from .store import Conflict, Invalid, NotFound, loads_exact

PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}
MAX_FIRINGS = 1000  # per timer and tick: a repeating timer far behind catches up in bounds


def _plain(value: Any) -> Any:
    """Effect data for JSON answers: Decimals as exact text (money is never a float)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _dumps(value: Any) -> str:
    return json.dumps(_plain(value), separators=(",", ":"), ensure_ascii=False)


class _Run:
    """One transaction's work on one order: its row, its decision's order, what happened."""

    def __init__(self, s: Any, row: OrderState, order: dict[str, Any], rules: EventRules | None,
                 ref: Any, actor: str):
        self.s = s
        self.row = row
        self.order = order
        self.rules = rules
        self.ref = ref
        self.actor = actor
        self.effects: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.plan = json.loads(row.plan)
        self.extra: list[Any] = []  # hooks of later slices (payments, stock) append here
        self.derived: list[Event] = []  # events this one causes (stock, shipped lines)
        self.invoices: list[str] = []
        self.notes: list[dict[str, Any]] = []  # for webhooks (the outbox)
        self.reference: dict[str, Any] = {}

    def step(self, event: dict[str, Any]) -> dict[str, Any] | None:
        sid = event.get("step")
        return next((p for p in self.plan if p["id"] == sid), None) if sid else None

    def timeline(self, at: datetime, kind: str, cause: str, frm: str | None = None,
                 to: str | None = None, detail: Any = None, actor: str | None = None) -> None:
        self.s.add(TimelineEntry(order_id=self.row.order_id, at=at, actor=actor or self.actor,
                                 kind=kind, from_state=frm, to_state=to, cause=cause[:4000],
                                 detail=_dumps(detail or {})))
        if kind in webhooks.KIND_TOPIC:
            self.notes.append({"kind": kind, "at": iso_z(at), "at_dt": at, "from": frm,
                               "to": to, "cause": cause, "detail": _plain(detail or {})})

    def move(self, at: datetime, to: str, cause: str, actor: str | None = None) -> None:
        frm = self.row.state
        if frm == to:
            return
        self.row.state = to
        self.timeline(at, "transition", cause, frm, to, actor=actor)


class Orchestrator:
    def __init__(self, db: Database, rulesets: Any = None, clock: Clock | None = None):
        self.db = db
        self.rulesets = rulesets
        self.clock: Clock = clock or SystemClock()
        self._rules: dict[str, EventRules] = {}
        self._orders: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._extras: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ rule sets and orders

    def _active(self) -> Any:
        if self.rulesets is None:
            return None
        try:
            return self.rulesets.resolve(None)
        except Conflict:  # no active rule set: the lifecycle still works, no rules run
            return None

    def rules_of(self, rs: Any) -> EventRules | None:
        if rs is None:
            return None
        digest = str(rs.digest)
        rules = self._rules.get(digest)
        if rules is None:
            rules = EventRules(list(getattr(rs.model, "event_packs", [])))
            with self._lock:
                self._rules[digest] = rules
        return rules

    def _decided_order(self, s: Any, decision_id: str) -> dict[str, Any]:
        """The order as its decision left it (after defaulting), cached by decision id."""
        with self._lock:
            doc = self._orders.get(decision_id)
            if doc is not None:
                self._orders.move_to_end(decision_id)
                return doc
        text = s.scalars(select(DecisionRecord.decision).where(
            DecisionRecord.id == decision_id)).first()
        doc: dict[str, Any] = {}
        if text:
            decision = loads_exact(text)
            doc = decision.get("order") or {}
            self._extras[decision_id] = (decision.get("pricing") or {},
                                         decision.get("sourcing") or {})
        with self._lock:
            self._orders[decision_id] = doc
            while len(self._orders) > 4096:
                old, _ = self._orders.popitem(last=False)
                self._extras.pop(old, None)
        return doc

    def _row(self, s: Any, order_id: str, rs: Any, at: datetime, actor: str) -> tuple[
            OrderState, Order, bool]:
        hub = s.get(Order, order_id)
        if hub is None:
            raise NotFound(f"no order {order_id!r} in the hub; capture it with POST /v1/orders",
                           code="ORDER_NOT_FOUND")
        row = s.get(OrderState, order_id, with_for_update=not self.db.is_sqlite)
        if row is not None:
            return row, hub, False
        order = self._decided_order(s, hub.decision_id)
        process, plan = None, []
        if rs is not None and getattr(rs.model, "processes", None):
            try:
                chosen = choose(rs.model.processes, order, rs.ref, at.date())
                if chosen is not None:
                    process, plan = chosen.id, plan_of(chosen, order, rs.ref, at.date())
            except RuleError:
                process, plan = None, []
        lines = self._lines_of(s, hub.decision_id, order)
        row = OrderState(order_id=order_id, state=lifecycle.initial_state(hub.status),
                         holds="[]", process=process, plan=_dumps(plan), lines=_dumps(lines),
                         digest=str(getattr(rs, "digest", "")), decision_id=hub.decision_id,
                         updated_at=at)
        s.add(row)
        s.flush()
        return row, hub, True

    def _lines_of(self, s: Any, decision_id: str, order: dict[str, Any]) -> dict[str, Any]:
        """Per line: ordered and shipped quantities, sku, net, and the sourcing allocations
        still reserved for it ({location: quantity})."""
        self._decided_order(s, decision_id)
        pricing, sourcing = self._extras.get(decision_id, ({}, {}))
        nets = {str(p.get("line_id")): p.get("net") for p in pricing.get("lines") or []
                if isinstance(p, dict)}
        allocs: dict[str, dict[str, str]] = {}
        for sl in sourcing.get("lines") or []:
            if isinstance(sl, dict):
                allocs[str(sl.get("line_id"))] = {
                    str(a["location"]): render(a["quantity"]) for a in sl.get("allocations")
                    or [] if isinstance(a, dict) and a.get("location")}
        lines = {}
        for i, ln in enumerate(order.get("lines") or []):
            if isinstance(ln, dict):
                lid = render(ln.get("id")) or str(i + 1)
                lines[lid] = {"ordered": render(ln.get("quantity") or 0) or "0", "shipped": "0",
                              "sku": render(ln.get("sku")),
                              "net": render(nets.get(lid)) or None,
                              "allocations": allocs.get(lid, {})}
        return lines

    # ------------------------------------------------------------------ events

    def post_event(self, order_id: str, raw: bytes | str | dict[str, Any],
                   actor: str = "system") -> dict[str, Any]:
        """Applies one event; the answer (also stored for repeats) as a dict."""
        event = parse_event(raw, self.clock.now())
        rs = self._active()
        for attempt in range(3):
            try:
                return self._post(order_id, event, rs, actor)
            except IntegrityError:
                # a concurrent first event created the order's row, or the same event id
                # arrived twice at once: the retry sees the other's commit
                if attempt == 2:
                    raise Conflict("the event raced another one for the same order; retry",
                                   code="CONCURRENT_EVENT") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _duplicate(self, s: Any, order_id: str, event: Event) -> dict[str, Any] | None:
        rec = s.scalars(select(EventRecord).where(EventRecord.order_id == order_id,
                                                  EventRecord.event_id == event.id)).first()
        if rec is None:
            return None
        if rec.payload_hash != event.digest:
            raise Conflict(f"event id {event.id!r} was already used for another event of this "
                           "order", code="EVENT_ID_REUSED", path="$.id")
        answer: dict[str, Any] = json.loads(rec.result)
        answer["duplicate"] = True
        return answer

    def post_batch(self, items: list[tuple[str, Any]], actor: str = "system") -> list[
            dict[str, Any]]:
        """Applies many events in ONE transaction (group commit), each in its own savepoint:
        an event that does not fit is answered with its error and changes nothing, the others
        commit together. Answers in item order, each with an HTTP-like `status`. Senders that
        run batches in parallel should own disjoint sets of orders (row locks are taken in
        batch order; PostgreSQL aborts a deadlocked batch, which is then retried whole)."""
        from .store import ServiceError

        now = self.clock.now()
        rs = self._active()
        parsed: list[tuple[str, Event | None, dict[str, Any] | None]] = []
        for order_id, raw in items:
            try:
                parsed.append((order_id, parse_event(raw, now), None))
            except ServiceError as exc:
                parsed.append((order_id, None, {"status": 422, **exc.to_json()}))
        out: list[dict[str, Any]] = []
        with self.db.session(write=True) as s:
            for order_id, event, err in parsed:
                if event is None:
                    out.append(err or {})
                    continue
                try:
                    with s.begin_nested():
                        answer = self._apply_in(s, order_id, event, rs, actor)
                    out.append({"status": 200, **answer})
                except ServiceError as exc:
                    status = 404 if isinstance(exc, NotFound) else 409 if isinstance(
                        exc, Conflict) else 422
                    out.append({"status": status, "event_id": event.id, **exc.to_json()})
                except IntegrityError:
                    out.append({"status": 409, "event_id": event.id, "error": {
                        "code": "CONCURRENT_EVENT", "message": "the event raced another one "
                        "for the same order; retry"}})
        return out

    def _post(self, order_id: str, event: Event, rs: Any, actor: str) -> dict[str, Any]:
        with self.db.session(write=True) as s:
            return self._apply_in(s, order_id, event, rs, actor)

    def _apply_in(self, s: Any, order_id: str, event: Event, rs: Any,
                  actor: str) -> dict[str, Any]:
        dup = self._duplicate(s, order_id, event)
        if dup is not None:
            return dup
        row, hub, created = self._row(s, order_id, rs, event.at, actor)
        order = self._decided_order(s, hub.decision_id)
        run = _Run(s, row, order, self.rules_of(rs), getattr(rs, "ref", None), actor)
        run.reference = getattr(rs, "reference", None) or {}
        if created:
            self._reserve(run, event, +1)
        before = row.state
        self._sync_hub(run, hub, event.at)
        self._fire_due(run, event.at)
        self._lifecycle(run, event)
        run.timeline(event.at, "event", event.type, detail={"event_id": event.id,
                                                              "payload": event.payload})
        self._react(run, event)
        for derived in run.derived:
            self._react(run, derived)
        row.updated_at = event.at
        answer = {"order_id": order_id, "event_id": event.id, "type": event.type,
                  "at": iso_z(event.at), "previous_state": before, "state": row.state,
                  "holds": json.loads(row.holds), "effects": run.effects,
                  "errors": run.errors, "invoices": run.invoices, "duplicate": False}
        webhooks.enqueue(s, order_id, run.notes)
        s.add(EventRecord(order_id=order_id, event_id=event.id, type=event.type,
                          at=event.at, payload_hash=event.digest, result=_dumps(answer)))
        s.flush()
        return answer

    def _sync_hub(self, run: _Run, hub: Order, at: datetime) -> None:
        """An approval or a change order in the hub moves the orchestration state along."""
        row = run.row
        if row.decision_id != hub.decision_id:
            self._change(run, hub, at)
        if row.state == "pending_approval" and hub.status == "accepted":
            run.move(at, "captured", "approved in the hub", actor="approvals")
        elif row.state == "pending_approval" and hub.status == "rejected":
            run.move(at, "cancelled", "rejected in the hub", actor="approvals")

    def _change(self, run: _Run, hub: Order, at: datetime) -> None:
        """A change order decided again in the hub: what was shipped stays shipped; the
        outstanding fulfilment request is cancelled (its reservations given back, its step
        timers cancelled by a `fulfilment_cancelled` event); the new decision's allocations are
        reserved; the order is rescheduled, or waits for approval when the new decision needs
        it (or is cancelled when it is rejected)."""
        row = run.row
        old_lines = json.loads(row.lines)
        cause = Event(f"change-v{hub.version}", "order_changed", at, {}, "")
        self._reserve(run, cause, -1)  # give back what the old version still held
        run.order = self._decided_order(run.s, hub.decision_id)
        new_lines = self._lines_of(run.s, hub.decision_id, run.order)
        for lid, line in new_lines.items():
            shipped = Decimal(old_lines.get(lid, {}).get("shipped", "0"))
            line["shipped"] = str(shipped)
            line["returned"] = old_lines.get(lid, {}).get("returned", "0")
            for loc, qty in list(line["allocations"].items()):  # shipped needs no reservation
                take = min(Decimal(qty), shipped)
                shipped -= take
                line["allocations"][loc] = str(Decimal(qty) - take)
        for lid, line in old_lines.items():  # a line removed after shipping stays on record
            if lid not in new_lines and Decimal(line["shipped"]) > 0:
                new_lines[lid] = {**line, "ordered": line["shipped"], "allocations": {}}
        row.lines = _dumps(new_lines)
        row.decision_id = hub.decision_id
        self._reserve(run, Event(f"change-v{hub.version}-new", "order_changed", at, {}, ""), +1)
        frm = row.state
        run.timeline(at, "change", f"order version {hub.version} decided {hub.status}",
                     detail={"version": hub.version, "status": hub.status})
        if frm in ("scheduled", "released", "shipped"):
            system = next((p["system"] for p in run.plan if p.get("kind") == "ship"), None)
            run.timeline(at, "fulfilment_cancelled", f"outstanding fulfilment request "
                         f"cancelled{' at ' + system if system else ''}",
                         detail={"system": system})
            run.derived.append(Event(f"change-v{hub.version}-cancel", "fulfilment_cancelled",
                                     at, {"version": hub.version}, ""))
        if frm in ("captured", "scheduled", "released", "shipped", "pending_approval"):
            to = {"accepted": "scheduled" if frm != "captured" else "captured",
                  "pending_approval": "pending_approval", "on_hold": "on_hold",
                  "rejected": "cancelled"}.get(hub.status, frm)
            run.move(at, to, f"change order (version {hub.version})"
                     + (": rescheduled" if to == "scheduled" else ""), actor="change")
        run.derived.append(Event(f"change-v{hub.version}-changed", "order_changed", at,
                                 {"version": hub.version, "status": hub.status}, ""))

    def _lifecycle(self, run: _Run, event: Event) -> None:
        row = run.row
        to = lifecycle.next_state(row.state, event.type)
        if event.type == "shipment_confirmed":
            self._ship(run, event)
        if event.type == "cancelled":
            self._reserve(run, event, -1)
        if event.type == "delivered" and not lifecycle.fully_shipped(json.loads(row.lines)):
            raise Conflict("the order is not fully shipped; delivered needs every line shipped",
                           code="WRONG_STATE", details={"state": row.state})
        run.move(event.at, to, event.type)

    # ------------------------------------------------------------------ stock

    def _stock_event(self, run: _Run, cause: Event, n: int, payload: dict[str, Any]) -> None:
        etype = payload.pop("_type", "stock_changed")
        body = {**payload, "order_id": run.row.order_id}
        run.derived.append(Event(f"{cause.id}#{n}", etype, cause.at, body, ""))

    def _reserve(self, run: _Run, event: Event, sign: int) -> None:
        """Reserves (sign +1) or gives back (-1) the allocations still held for the lines."""
        lines = json.loads(run.row.lines)
        inv = run.reference.get("inventory")
        n = 0
        for line in lines.values():
            for loc, qty in list(line.get("allocations", {}).items()):
                q = Decimal(qty)
                if q <= 0 or not line.get("sku"):
                    continue
                stock = inventory.move(run.s, inv, loc, line["sku"], event.at,
                                       allocated=q * sign)
                n += 1
                self._stock_event(run, event, n, stock)
                if sign < 0:
                    line["allocations"][loc] = "0"
        run.row.lines = _dumps(lines)

    def _ship(self, run: _Run, event: Event) -> None:
        """Per shipped line: the quantities, the stock it leaves, and a `line_shipped` event
        (sku, quantity, location, amount: the line's net share, exact to the cent)."""
        lines = json.loads(run.row.lines)
        shipped = [(str(ln["line_id"]), ln["quantity"], ln.get("location"))
                   for ln in event.payload.get("lines", [])]
        lifecycle.apply_shipment(lines, [(lid, q) for lid, q, _ in shipped])
        pricing = self._extras.get(run.row.decision_id, ({}, {}))[0]
        doc = billing.issue(run.s, run.row.order_id, event.id, event.at, pricing, lines,
                            [(lid, q) for lid, q, _ in shipped], run.reference,
                            run.order.get("customer"))
        if doc is not None:
            run.invoices.append(doc["number"])
            run.timeline(event.at, "invoice", f"invoice {doc['number']}: {doc['total']} "
                         f"{doc['currency']}", detail={"number": doc["number"],
                                                       "total": doc["total"]})
        inv = run.reference.get("inventory")
        n = 0
        for lid, qty, loc in shipped:
            line = lines[lid]
            allocs = line.setdefault("allocations", {})
            if loc is None:
                loc = next((k for k, v in allocs.items() if Decimal(v) > 0),
                           next(iter(allocs), None))
            amount = None
            if line.get("net") is not None and Decimal(line["ordered"]) > 0:
                amount = (Decimal(line["net"]) * qty / Decimal(line["ordered"])).quantize(
                    Decimal("0.01"), rounding="ROUND_HALF_UP")
            n += 1
            self._stock_event(run, event, n, {
                "_type": "line_shipped", "line_id": lid, "sku": line.get("sku"),
                "quantity": qty, "location": loc, "amount": amount,
                "currency": run.order.get("currency")})
            if loc is None or not line.get("sku"):
                continue
            held = Decimal(allocs.get(str(loc), "0"))
            take = min(held, qty)
            if take:
                allocs[str(loc)] = str(held - take)
            stock = inventory.move(run.s, inv, str(loc), line["sku"], event.at,
                                   on_hand=-qty, allocated=-take)
            n += 1
            self._stock_event(run, event, n, stock)
        run.row.lines = _dumps(lines)

    # ------------------------------------------------------------------ rules

    def _state(self, run: _Run, event: dict[str, Any], at: datetime) -> EventState:
        return EventState(run.ref, event, run.order, run.row.state, run.step(event), at.date())

    def _react(self, run: _Run, event: Event) -> None:
        rules = run.rules
        if rules is None:
            return
        scope = event.scope()
        s, oid = run.s, run.row.order_id
        for rule in rules.cancelled_by(event.type):
            st = self._state(run, scope, event.at)
            try:
                key = rule.key_of(st)
            except RuleError as exc:
                self._error(run, rule.qid, exc, event.at)
                continue
            # an event that names no key (a cancellation of the whole order) cancels them all
            q = update(Timer).where(Timer.order_id == oid, Timer.rule == rule.qid,
                                    Timer.state == "armed")
            s.execute((q.where(Timer.key == key) if key else q).values(state="cancelled"))
        for rule in rules.on(event.type):
            st = self._state(run, scope, event.at)
            try:
                st.key = rule.key_of(st)
                if not rule.matches(st):
                    continue
                if rule.is_timer:
                    due = event.at + rule.delay(st)
                    s.execute(update(Timer).where(Timer.order_id == oid, Timer.rule == rule.qid,
                                                  Timer.key == st.key, Timer.state == "armed")
                              .values(state="cancelled"))
                    s.add(Timer(order_id=oid, rule=rule.qid, key=st.key, first_due=due,
                                due_at=due, state="armed", event=_dumps(scope), fired=0))
                    run.timeline(event.at, "timer", f"{rule.qid} armed for {iso_z(due)}",
                                 detail={"rule": rule.qid, "key": st.key, "due": iso_z(due)})
                    continue
                if rule.within is not None:
                    wkey = f"{oid}\x1f{st.key}"
                    measure = rule.measure_of(st)
                    s.add(WindowEntry(rule=rule.qid, key=wkey, at=event.at,
                                      measure=format(measure, "f")))
                    s.flush()
                    values = s.scalars(select(WindowEntry.measure).where(
                        WindowEntry.rule == rule.qid, WindowEntry.key == wkey,
                        WindowEntry.at > event.at - rule.within,
                        WindowEntry.at <= event.at)).all()
                    st.S["count"] = Decimal(len(values))
                    st.S["sum"] = sum((Decimal(v) for v in values), Decimal(0))
                    if not rule.passes(st):
                        continue
                self._apply(run, rule.fire(st), event.at)
            except RuleError as exc:
                self._error(run, rule.qid, exc, event.at)
            except Conflict as exc:
                self._error(run, rule.qid, exc, event.at)

    def _error(self, run: _Run, rule: str, exc: Exception, at: datetime) -> None:
        err = {"rule": rule, "code": getattr(exc, "code", "RULE_ERROR"),
               "message": getattr(exc, "message", str(exc))}
        run.errors.append(err)
        run.timeline(at, "rule_error", f"{rule}: {err['message']}", detail=err)

    def _apply(self, run: _Run, effects: list[Effect], at: datetime) -> None:
        for eff in effects:
            handler = _EFFECTS.get(eff.kind)
            if handler is None:
                for hook in run.extra:
                    if hook(run, eff, at):
                        break
                else:
                    run.timeline(at, eff.kind, f"{eff.rule}", detail=eff.data)
            else:
                handler(self, run, eff, at)
            run.effects.append({"kind": eff.kind, "rule": eff.rule, **_plain(eff.data)})

    # effect handlers -------------------------------------------------------------

    def _hold(self, run: _Run, eff: Effect, at: datetime) -> None:
        self.hold(run, eff.data["code"], eff.data["reason"], at, f"rule {eff.rule}")

    def hold(self, run: _Run, code: str, reason: str, at: datetime, actor: str) -> None:
        row = run.row
        if row.state in lifecycle.FINAL or row.state in ("rejected", "shipped", "delivered",
                                                          "billed", "paid", "returned"):
            raise Conflict(f"an order that is {row.state} cannot be put on hold",
                           code="WRONG_STATE")
        holds = json.loads(row.holds)
        if any(h["code"] == code for h in holds):
            return
        resume = row.state if row.state != "on_hold" else (
            holds[0]["resume"] if holds else "captured")
        holds.append({"code": code, "reason": reason, "since": iso_z(at), "by": actor,
                      "resume": resume})
        row.holds = _dumps(holds)
        run.timeline(at, "hold", reason, row.state, "on_hold", {"code": code}, actor=actor)
        row.state = "on_hold"

    def _release(self, run: _Run, eff: Effect, at: datetime) -> None:
        self.release(run, eff.data["code"], eff.data["reason"], at, f"rule {eff.rule}",
                     quiet=True)

    def release(self, run: _Run, code: str | None, reason: str, at: datetime, actor: str,
                quiet: bool = False) -> None:
        row = run.row
        holds = json.loads(row.holds)
        keep = [h for h in holds if code is not None and h["code"] != code]
        gone = [h for h in holds if h not in keep]
        if not gone:
            if quiet:
                return
            raise Conflict(f"the order has no hold{' ' + code if code else ''} to release",
                           code="NOT_ON_HOLD", details={"state": row.state,
                                                        "holds": [h["code"] for h in holds]})
        row.holds = _dumps(keep)
        to = row.state if keep else gone[0]["resume"]
        run.timeline(at, "release", reason, row.state, to,
                     {"codes": [h["code"] for h in gone]}, actor=actor)
        row.state = to

    def _transition(self, run: _Run, eff: Effect, at: datetime) -> None:
        lifecycle.check_transition(run.row.state, eff.data["to"])
        run.move(at, eff.data["to"], eff.data.get("reason") or eff.rule,
                 actor=f"rule {eff.rule}")

    def _alert(self, run: _Run, eff: Effect, at: datetime) -> None:
        d, s, oid = eff.data, run.s, run.row.order_id
        open_ = s.scalars(select(AlertRecord).where(
            AlertRecord.order_id == oid, AlertRecord.code == d["code"],
            AlertRecord.key == d["key"], AlertRecord.state == "open")).first()
        if open_ is None:
            s.add(AlertRecord(order_id=oid, code=d["code"], key=d["key"], rule=eff.rule,
                              priority=d["priority"], message=d["message"], state="open",
                              raised_at=at, updated_at=at))
            run.timeline(at, "alert", d["message"], detail=d, actor=f"rule {eff.rule}")
        elif open_.priority != d["priority"] or open_.message != d["message"]:
            run.timeline(at, "alert", f"{open_.priority} -> {d['priority']}: {d['message']}",
                         detail=d, actor=f"rule {eff.rule}")
            open_.priority, open_.message, open_.updated_at = d["priority"], d["message"], at

    def _clear(self, run: _Run, eff: Effect, at: datetime) -> None:
        d, s, oid = eff.data, run.s, run.row.order_id
        alerts = s.scalars(select(AlertRecord).where(
            AlertRecord.order_id == oid, AlertRecord.code == d["code"],
            AlertRecord.key == d["key"], AlertRecord.state == "open")).all()
        for a in alerts:
            a.state, a.cleared_at, a.clear_reason, a.updated_at = "cleared", at, d["reason"], at
            run.timeline(at, "alert_cleared", d["reason"], detail={"code": a.code, "key": a.key},
                         actor=f"rule {eff.rule}")

    def _reorder(self, run: _Run, eff: Effect, at: datetime) -> None:
        if inventory.propose(run.s, eff.data, eff.rule, run.row.order_id, at):
            run.timeline(at, "reorder", f"proposed {eff.data.get('quantity')} of "
                         f"{eff.data.get('sku')} for {eff.data.get('location')}",
                         detail=eff.data, actor=f"rule {eff.rule}")

    def _accrue(self, run: _Run, eff: Effect, at: datetime) -> None:
        out = rebates.accrue(run.s, run.reference, eff.data, run.row.order_id, at)
        run.timeline(at, "rebate", f"{out.get('programme')} {out.get('period')}: accrued "
                     f"{out.get('accrued')} at {out.get('rate')}%", detail=out,
                     actor=f"rule {eff.rule}")

    def _claim(self, run: _Run, eff: Effect, at: datetime) -> None:
        out = rebates.claim(run.s, eff.data, run.row.order_id, at)
        run.timeline(at, "claim", f"ship-and-debit claim {out['amount']} on "
                     f"{eff.data.get('agreement')}", detail=eff.data, actor=f"rule {eff.rule}")

    # ------------------------------------------------------------------ timers

    def _fire_due(self, run: _Run, until: datetime) -> int:
        if run.rules is None:
            return 0
        timers = run.s.scalars(select(Timer).where(
            Timer.order_id == run.row.order_id, Timer.state == "armed",
            Timer.due_at <= until).order_by(Timer.due_at, Timer.id)).all()
        fired = 0
        for t in timers:
            rule = run.rules.by_id.get(t.rule)
            if rule is None:  # the active rule set no longer has the rule
                t.state = "cancelled"
                continue
            scope = json.loads(t.event, parse_float=Decimal, parse_int=Decimal)
            first, due = utc(t.first_due), utc(t.due_at)
            for _ in range(MAX_FIRINGS):
                if due > until or t.state != "armed":
                    break
                st = self._state(run, scope, due)
                st.key = t.key
                st.S["late_days"] = Decimal((due - first) // timedelta(days=1))
                try:
                    self._apply(run, rule.fire(st), due)
                except (RuleError, Conflict) as exc:
                    self._error(run, rule.qid, exc, due)
                fired += 1
                t.fired += 1
                if rule.repeat is None:
                    t.state = "done"
                    break
                due = due + rule.repeat
            t.due_at = due
        return fired

    def tick(self, now: datetime | None = None) -> dict[str, Any]:
        """Fires every timer due by `now` (the clock's time by default), order by order."""
        now = utc(now) if now is not None else self.clock.now()
        rs = self._active()
        rules = self.rules_of(rs)
        with self.db.session() as s:
            order_ids = list(dict.fromkeys(s.scalars(select(Timer.order_id).where(
                Timer.state == "armed", Timer.due_at <= now).order_by(Timer.due_at))))
        fired = 0
        for oid in order_ids:
            with self.db.session(write=True) as s:
                row = s.get(OrderState, oid, with_for_update=not self.db.is_sqlite)
                hub = s.get(Order, oid)
                if row is None or hub is None:
                    continue
                run = _Run(s, row, self._decided_order(s, hub.decision_id), rules,
                           getattr(rs, "ref", None), "clock")
                run.reference = getattr(rs, "reference", None) or {}
                fired += self._fire_due(run, now)
                webhooks.enqueue(s, oid, run.notes)
        return {"now": iso_z(now), "orders": len(order_ids), "fired": fired}

    # ------------------------------------------------------------------ people and reads

    def release_hold(self, order_id: str, code: str | None, reason: str,
                     actor: str) -> dict[str, Any]:
        if not isinstance(reason, str) or not reason.strip():
            raise Invalid("a release needs a reason", code="BAD_REQUEST", path="$.reason")
        at = self.clock.now()
        rs = self._active()
        with self.db.session(write=True) as s:
            row, hub, _ = self._row(s, order_id, rs, at, actor)
            run = _Run(s, row, self._decided_order(s, hub.decision_id), self.rules_of(rs),
                       getattr(rs, "ref", None), actor)
            self.release(run, code, reason.strip(), at, actor)
            webhooks.enqueue(s, order_id, run.notes)
            row.updated_at = at
            return {"order_id": order_id, "state": row.state, "holds": json.loads(row.holds)}

    def timeline(self, order_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(OrderState, order_id)
            if row is None:
                hub = s.get(Order, order_id)
                if hub is None:
                    raise NotFound(f"no order {order_id!r}", code="ORDER_NOT_FOUND")
                return {"order_id": order_id, "state": lifecycle.initial_state(hub.status),
                        "holds": [], "process": None, "plan": [], "lines": {}, "entries": []}
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


_EFFECTS = {
    "hold": Orchestrator._hold,
    "release_hold": Orchestrator._release,
    "transition": Orchestrator._transition,
    "alert": Orchestrator._alert,
    "clear_alert": Orchestrator._clear,
    "reorder": Orchestrator._reorder,
    "accrue": Orchestrator._accrue,
    "claim": Orchestrator._claim,
}


# ---------------------------------------------------------------------- replay

class _FixedRuleSet:
    """The `rulesets` the orchestrator asks for the active rule set: always this one."""

    def __init__(self, rs: Any):
        self.rs = rs

    def resolve(self, ref: Any) -> Any:
        return self.rs


def run_stream(rs: Any, db: Database, orders: list[dict[str, Any]],
               events: list[tuple[str, dict[str, Any]]],
               horizon: timedelta = timedelta(days=7)) -> dict[str, Any]:
    """Captures the orders with `rs`, applies the events in their order with the clock at each
    event's time, then lets the clock run `horizon` past the last event. Returns a summary."""
    import json as _json
    from datetime import date as _date

    from ordinance.engine import dumps, parse_order

    from .clock import ManualClock, parse_instant
    from .hub import Hub
    from .store_keys import KeyInfo

    hub, key = Hub(db), KeyInfo(0, "replay", "admin", ())
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
