"""Orchestration: events in, lifecycle, windows, timers, holds and alerts out, all in the database.

In: events for orders of the hub (`post_event`, or many at once with `post_batch`), the clock
(`tick` fires the timers that are due), people (`release_hold`), the hub (`sync` after a change
order or an approval). Out: the order's lifecycle
state and timeline, open alerts, and the answer to each event. Raises the service errors
(Invalid 422, NotFound 404, Conflict 409).

Every call is ONE transaction (adapters/orch_unit.py reads what it needs in a few queries and
writes everything in a few statements at its end): the idempotency record, the lifecycle
transition, the window entries, the timers it arms or cancels, the effects of the rules it wakes
(holds, alerts), the timeline entries and the outbox commit together or not at all. So a crash
loses nothing that was answered 2xx, and a retried event (same id) is answered from the record
and changes nothing. In a batch, an event that does not fit is answered with its error and
changes nothing; the others commit. Timers due before an event's time are fired for that order
first, so the order of effects depends only on event times, not on when the service happened to
tick. The orders' rows are locked (FOR UPDATE on PostgreSQL; SQLite takes the write lock at
BEGIN) so the events of one order are applied one at a time.

Two stages per transaction. Stage 1 applies each event to its order (lifecycle, timers,
windows, holds, alerts) in the given order. Stage 2 then works the shared ledgers in the same
order: stock moves and their `stock_changed` events, `line_shipped` events, reorder proposals,
rebate accruals, claims and invoice numbers. Rules on ledger events may only act on ledgers
(engine/events.py LEDGER_ACTIONS, checked by `ordinance check`), so the result does not depend on
how events are grouped into transactions, and the ledgers' rows are locked (in key order) only
for the end of the transaction.

The rules themselves (engine/events.py) are pure: they return effects; this module applies them.
"""
from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from ordinance.engine.events import Effect, EventRules, EventState
from ordinance.engine.processes import choose, plan_of
from ordinance.engine.values import RuleError, render
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

from . import billing, inventory, lifecycle, rebates, webhooks
from .clock import Clock, SystemClock, utc
from .db import Database, DatabaseUnavailable
from .eventstore import Event, iso_z, parse_event
from .models import DecisionRecord, Order
from .models_orchestration import AlertRecord, OrderState, TimelineEntry, Timer
from .orch_unit import OrderCtx, Unit, Work, count_window, window_since
from .store import Conflict, Invalid, NotFound, ServiceError, Unavailable, loads_exact

logger = logging.getLogger("ordinance.orchestration")
PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}
MAX_FIRINGS = 1000  # per timer and tick: a repeating timer far behind catches up in bounds
LEDGER_EFFECTS = frozenset({"reorder", "accrue", "claim"})
GROUP_MAX = 200  # events one group commit takes at most
ATTEMPTS = 5  # a transaction that raced another (a deadlock, a new row made twice) is retried
JUDGED = frozenset({"event", "timer", "rule_error"})  # entries that name the judging version


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


def _exact(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _dumps(value: Any) -> str:
    """JSON text with Decimals as exact text (as `_plain` gives them)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_exact)


@dataclass
class _Item:
    """One thing a transaction does to one order: an event, a clock tick or a release."""

    kind: str  # event | tick | release | sync
    order_id: str
    event: Event | None = None
    at: datetime | None = None
    code: str | None = None
    reason: str = ""
    actor: str = "system"


class _Group:
    """Events posted while a transaction runs: they share the next one (see post_event)."""

    def __init__(self) -> None:
        self.items: list[_Item] = []
        self.results: list[Any] = []
        self.error: BaseException | None = None
        self.done = threading.Event()


class _Run:
    """One item's work on one order: its context, its decision's order, what happened."""

    def __init__(self, unit: Unit, ctx: OrderCtx, order: dict[str, Any], rules: EventRules | None,
                 rs: Any, actor: str, work: Work):
        self.unit = unit
        self.ctx = ctx
        self.order = order
        self.rules = rules
        self.ref = getattr(rs, "ref", None)
        self.reference: dict[str, Any] = getattr(rs, "reference", None) or {}
        # the version that judges this order's events: recorded on every judgement
        self.judge = None if rules is None else {
            "name": getattr(rs, "name", None), "version": getattr(rs, "version", None),
            "digest": str(getattr(rs, "digest", ""))}
        self.actor = actor
        self.work = work
        self.derived: list[Event] = []  # order events this one causes (change orders)

    def step(self, event: dict[str, Any]) -> dict[str, Any] | None:
        sid = event.get("step")
        return next((p for p in self.ctx.plan if p["id"] == sid), None) if sid else None

    def timeline(self, at: datetime, kind: str, cause: str, frm: str | None = None,
                 to: str | None = None, detail: Any = None,
                 actor: str | None = None) -> dict[str, Any]:
        actor = actor or self.actor
        if self.judge is not None and (kind in JUDGED or actor.startswith("rule ")):
            detail = {**(detail or {}), "ruleset": self.judge}
        entry = {"order_id": self.ctx.order_id, "at": at, "actor": actor,
                 "kind": kind, "from_state": frm, "to_state": to, "cause": cause[:4000],
                 "detail": _dumps(detail or {})}
        self.work.timeline.append(entry)
        if kind in webhooks.KIND_TOPIC:
            self.work.notes.append({"kind": kind, "at": iso_z(at), "at_dt": at, "from": frm,
                                    "to": to, "cause": cause, "detail": _plain(detail or {})})
        return entry

    def move(self, at: datetime, to: str, cause: str, actor: str | None = None) -> None:
        frm = self.ctx.state
        if frm == to:
            return
        self.ctx.state = to
        self.timeline(at, "transition", cause, frm, to, actor=actor)
        if to == "scheduled":
            self.request_fulfilment(at)
        elif to == "cancelled" and frm in ("scheduled", "released"):
            system = self.ship_system()
            self.timeline(at, "fulfilment_cancelled", "order cancelled: outstanding fulfilment "
                          f"request cancelled{' at ' + system if system else ''}",
                          detail={"system": system}, actor=actor)

    def ship_system(self) -> str | None:
        return next((p["system"] for p in self.ctx.plan if p.get("kind") == "ship"), None)

    def request_fulfilment(self, at: datetime) -> None:
        """What the warehouse must do for the order now: each line's quantity still to ship
        and where it is reserved. A `fulfilment_request` timeline entry, delivered to the
        subscriptions of topic `fulfilment` from the outbox (webhooks.KIND_TOPIC)."""
        lines = [{"line_id": lid, "sku": ln.get("sku"),
                  "quantity": str(Decimal(ln["ordered"]) - Decimal(ln["shipped"])),
                  "allocations": dict(ln.get("allocations") or {})}
                 for lid, ln in self.ctx.lines.items()
                 if Decimal(ln["ordered"]) > Decimal(ln["shipped"])]
        system = self.ship_system()
        self.timeline(at, "fulfilment_request", "fulfilment requested"
                      + (f" at {system}" if system else ""),
                      detail={"system": system, "process": self.ctx.process,
                              "lines": lines})


class _StockMove(NamedTuple):
    """Stage 2: move stock of a location and SKU (then its `stock_changed` event)."""

    run: _Run
    state: str  # the order's state when the move was made
    at: datetime
    event_id: str
    location: str
    sku: str
    on_hand: Decimal
    allocated: Decimal


class _LedgerEvent(NamedTuple):
    """Stage 2: a derived ledger event (`line_shipped`) for the rules."""

    run: _Run
    state: str
    event: Event


class _LedgerEffect(NamedTuple):
    """Stage 2: a reorder, rebate or claim effect a rule of stage 1 produced."""

    run: _Run
    effect: Effect
    at: datetime


class _InvoiceDue(NamedTuple):
    """Stage 2: an invoice to number (its timeline entry is completed then)."""

    run: _Run
    doc: dict[str, Any]
    entry: dict[str, Any]
    at: datetime


class _Books:
    """Stage 2's view of the shared ledgers: locked rows and the rows to insert."""

    def __init__(self, unit: Unit):
        self.unit = unit
        self.stock: dict[tuple[str, str], dict[str, Any]] = {}
        self.open_reorders: set[tuple[str, str]] = set()
        self.checked: set[tuple[str, str]] = set()
        self.accruals: list[tuple[tuple[str, str], _Run, Effect, datetime, dict[str, Any]]] = []
        self.accrual_rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {"reorders": [], "rebate_entries": [],
                                                      "claims": [], "invoices": [],
                                                      "outbox": []}

    def has_open_reorder(self, key: tuple[str, str]) -> bool:
        if key not in self.checked:  # a pair outside the locked stock rows: ask now
            self.open_reorders |= self.unit.open_reorders([key])
            self.checked.add(key)
        return key in self.open_reorders


def retryable(exc: BaseException) -> bool:
    """A deadlock or serialization failure PostgreSQL resolved by aborting us: try again."""
    orig = getattr(exc.__cause__, "orig", None)
    return getattr(orig, "sqlstate", None) in ("40P01", "40001")


class Orchestrator:
    def __init__(self, db: Database, rulesets: Any = None, clock: Clock | None = None):
        self.db = db
        self.rulesets = rulesets
        self.clock: Clock = clock or SystemClock()
        self._rules: dict[str, EventRules] = {}
        self._deciders: dict[str, tuple[str, str]] = {}  # decision id -> (name, digest)
        self._pinned: dict[str, Any] = {}  # digest -> compiled rule set (digests never change)
        self._orders: OrderedDict[str, dict[str, Any]] = OrderedDict()
        # per decision id: its pricing, sourcing, holds and approvals
        self._extras: dict[str, tuple[dict[str, Any], dict[str, Any], list[Any], list[Any]]] = {}
        self._lock = threading.Lock()
        self._group_lock = threading.Lock()  # guards _open
        self._run_lock = threading.Lock()  # held by the group whose transaction runs
        self._open: _Group | None = None  # the group events join while another one runs

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

    def ruleset_of(self, decision_id: str, active: Any) -> Any:
        """The rule set version that decided the order (its decision record names it), so the
        order's events are judged by the rules it was decided under until a change order
        decides it again; the active one when that version is not stored (or for a decision
        that names none)."""
        decider = self._deciders.get(decision_id)
        if decider is None or self.rulesets is None or (
                active is not None and str(active.digest) == decider[1]):
            return active
        rs = self._pinned.get(decider[1])
        if rs is None:
            try:
                rs = self.rulesets.resolve(f"{decider[0]}@{decider[1]}")
            except (NotFound, Invalid, Unavailable):
                return active
            with self._lock:
                self._pinned[decider[1]] = rs
        return rs

    def _remember(self, decision_id: str, text: str | None) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        decider: tuple[str, str] | None = None
        extras: tuple[dict[str, Any], dict[str, Any], list[Any], list[Any]] = ({}, {}, [], [])
        if text:
            decision = loads_exact(text)
            doc = decision.get("order") or {}
            extras = (decision.get("pricing") or {}, decision.get("sourcing") or {},
                      decision.get("holds") or [], decision.get("approvals") or [])
            ref = decision.get("ruleset")
            if isinstance(ref, dict) and ref.get("name") and ref.get("digest"):
                decider = (str(ref["name"]), str(ref["digest"]))
        with self._lock:
            self._orders[decision_id] = doc
            self._extras[decision_id] = extras
            if text and decider is not None:
                self._deciders[decision_id] = decider
            while len(self._orders) > 4096:
                old, _ = self._orders.popitem(last=False)
                self._extras.pop(old, None)
                self._deciders.pop(old, None)
        return doc

    def _decided_order(self, s: Any, decision_id: str) -> dict[str, Any]:
        """The order as its decision left it (after defaulting), cached by decision id."""
        with self._lock:
            doc = self._orders.get(decision_id)
            if doc is not None:
                self._orders.move_to_end(decision_id)
                return doc
        return self._remember(decision_id, s.scalars(select(DecisionRecord.decision).where(
            DecisionRecord.id == decision_id)).first())

    def _load_decisions(self, s: Any, ids: set[str]) -> None:
        """Reads the decisions not cached yet in one query."""
        with self._lock:
            missing = sorted(i for i in ids if i not in self._orders)
        if missing:
            found = dict(s.execute(select(DecisionRecord.id, DecisionRecord.decision).where(
                DecisionRecord.id.in_(missing))).all())
            for i in missing:
                self._remember(i, found.get(i))

    def _ctx(self, unit: Unit, order_id: str, rs: Any, rules: EventRules | None, at: datetime,
             cause: Event | None, work: Work, actor: str) -> OrderCtx:
        """The order's context; made (process chosen, allocations reserved) the first time
        orchestration sees the order."""
        hub = unit.hub.get(order_id)
        if hub is None:
            raise NotFound(f"no order {order_id!r} in the hub; capture it with POST /v1/orders",
                           code="ORDER_NOT_FOUND")
        ctx = unit.ctxs.get(order_id)
        if ctx is not None:
            return ctx
        decision_id, status, _ = hub
        order = self._decided_order(unit.s, decision_id)
        process, plan = None, []
        if rs is not None and getattr(rs.model, "processes", None):
            try:
                chosen = choose(rs.model.processes, order, rs.ref, at.date())
                if chosen is not None:
                    process, plan = chosen.id, plan_of(chosen, order, rs.ref, at.date())
            except RuleError:
                process, plan = None, []
        ctx = OrderCtx(order_id, lifecycle.initial_state(status),
                       self._decision_holds(decision_id, at) if status == "on_hold" else [],
                       process, json.loads(_dumps(plan)),
                       self._lines_of(unit.s, decision_id, order),
                       str(getattr(rs, "digest", "")), decision_id, at, exists=False)
        unit.ctxs[order_id] = ctx
        run = _Run(unit, ctx, order, rules, rs, actor, work)
        self._reserve(run, cause or Event("captured", "order_captured", at, {}, ""), +1)
        return ctx

    def _decision_holds(self, decision_id: str, at: datetime) -> list[dict[str, Any]]:
        """The holds a decision put the order on, as holds of orchestration: each released by a
        person with a reason like any other. Released, the order goes on as its decision
        would have had it without them: waiting for approval when it needs one, else captured."""
        _pricing, _sourcing, holds, approvals = self._extras.get(decision_id, ({}, {}, [], []))
        resume = "pending_approval" if approvals else "captured"
        out: list[dict[str, Any]] = []
        for h in holds:
            if isinstance(h, dict) and h.get("code") and all(
                    o["code"] != h["code"] for o in out):
                out.append({"code": str(h["code"]), "reason": str(h.get("reason") or ""),
                            "since": iso_z(at), "by": "decision", "resume": resume})
        return out

    def _lines_of(self, s: Any, decision_id: str, order: dict[str, Any]) -> dict[str, Any]:
        """Per line: ordered and shipped quantities, sku, net, and the sourcing allocations
        still reserved for it ({location: quantity})."""
        self._decided_order(s, decision_id)
        pricing, sourcing, _holds, _approvals = self._extras.get(decision_id, ({}, {}, [], []))
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

    # ------------------------------------------------------------------ transactions

    def post_event(self, order_id: str, raw: bytes | str | dict[str, Any],
                   actor: str = "system") -> dict[str, Any]:
        """Applies one event; the answer (also stored for repeats) as a dict.

        Group commit: events posted at the same time from several threads (the service's
        request threads) share one transaction. The first caller runs the transaction; those
        arriving while another transaction of this orchestrator runs wait and go together in
        the next one. Each event is still answered on its own (one that does not fit changes
        nothing), and a caller alone is never made to wait."""
        event = parse_event(raw, self.clock.now())
        out = self._grouped(_Item("event", order_id, event=event, actor=actor))
        if isinstance(out, ServiceError):
            raise out
        return out

    def _grouped(self, item: _Item) -> Any:
        with self._group_lock:
            group = self._open
            leader = group is None or len(group.items) >= GROUP_MAX
            if leader:
                group = self._open = _Group()
            assert group is not None
            index = len(group.items)
            group.items.append(item)
        if leader:
            with self._run_lock:  # one transaction at a time; meanwhile the next group fills
                with self._group_lock:
                    if self._open is group:
                        self._open = None
                try:
                    group.results = self._execute(group.items)
                except BaseException as exc:  # every caller of the group gets it
                    group.error = exc
                finally:
                    group.done.set()
        else:
            group.done.wait()
        if group.error is not None:
            raise group.error
        return group.results[index]

    def post_batch(self, items: list[tuple[str, Any]], actor: str = "system") -> list[
            dict[str, Any]]:
        """Applies many events in ONE transaction (group commit): an event that does not fit
        is answered with its error and changes nothing, the others commit together. Answers in
        item order, each with an HTTP-like `status`."""
        now = self.clock.now()
        parsed: list[_Item | dict[str, Any]] = []  # an item, or the answer to a bad body
        for order_id, raw in items:
            try:
                parsed.append(_Item("event", order_id, event=parse_event(raw, now), actor=actor))
            except ServiceError as exc:
                parsed.append({"status": 422, **exc.to_json()})
        work = [p for p in parsed if isinstance(p, _Item)]
        try:
            results = iter(self._execute(work) if work else [])
        except Conflict as exc:  # raced other transactions every time: nothing was applied
            results = iter([exc] * len(work))
        answers = []
        for p in parsed:
            if isinstance(p, dict):
                answers.append(p)
                continue
            res = next(results)
            if isinstance(res, ServiceError):
                status = 404 if isinstance(res, NotFound) else 409 if isinstance(
                    res, Conflict) else 503 if isinstance(res, Unavailable) else 422
                answers.append({"status": status, "event_id": p.event.id if p.event else None,
                                **res.to_json()})
            else:
                answers.append({"status": 200, **res})
        return answers

    def _execute(self, items: list[_Item]) -> list[Any]:
        """Runs the items in one transaction, again when it raced another one. When the
        database refuses the transaction of several items for another reason (a value a rule
        made that does not fit a column, say), each item runs alone, so one item cannot fail
        the others of its batch or group."""
        rs = self._active()
        for attempt in range(ATTEMPTS):
            try:
                with self.db.session(write=True) as s:
                    return self._transaction(s, items, rs)
            except IntegrityError:
                # a concurrent first event made the same order's row, or the same event id
                # arrived twice at once: the retry sees the other's commit
                if attempt == ATTEMPTS - 1:
                    raise Conflict("the event raced another one for the same order; retry",
                                   code="CONCURRENT_EVENT") from None
            except DBAPIError as exc:
                if len(items) > 1:
                    return [self._execute([item])[0] for item in items]
                logger.error("orchestration: the database refused the %s of order %s: %s",
                             items[0].kind, items[0].order_id, exc)
                return [Unavailable("the database refused to store this event (the service "
                                    "log says why)", code="EVENT_NOT_STORED")]
            except DatabaseUnavailable as exc:
                if not retryable(exc) or attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def apply_in(self, s: Any, items: list[_Item]) -> list[Any]:
        """Runs the items in the caller's transaction `s` (a use case that changes the hub and
        orchestration together); the caller commits, or retries the whole."""
        return self._transaction(s, items, self._active())

    def _transaction(self, s: Any, items: list[_Item], rs: Any) -> list[Any]:
        unit = Unit(s, self.db.is_sqlite)
        unit.load_orders([it.order_id for it in items])
        self._load_decisions(s, {h[0] for h in unit.hub.values()}
                             | {c.decision_id for c in unit.ctxs.values()})
        judges: dict[str, tuple[Any, EventRules | None]] = {}
        for oid in dict.fromkeys(it.order_id for it in items):
            hub = unit.hub.get(oid)
            pinned = self.ruleset_of(hub[0], rs) if hub is not None else rs
            judges[oid] = (pinned, self.rules_of(pinned))
        every = list({id(r): r for _, r in judges.values() if r is not None}.values())
        times = [it.event.at if it.event is not None else it.at for it in items]
        first = min((t for t in times if t is not None), default=None)
        spans = [w for w in (window_since(r, first) for r in every)
                 if w is not None] if first is not None else []
        unit.load([(it.order_id, it.event.id) for it in items if it.event is not None],
                  min(spans) if spans else None,
                  [it.order_id for it in items if it.event is not None
                   and it.event.type == "shipment_confirmed"],
                  frozenset(t for rules in every for r in rules.by_id.values()
                            if r.within is not None for t in r.on),
                  {it.event.type for it in items if it.event is not None})
        outs: list[Any] = []
        works: list[Work] = []
        for it in items:
            work = Work(it.order_id)
            ctx = unit.ctxs.get(it.order_id)
            snap = ctx.snapshot() if ctx is not None else None
            try:
                outs.append(_HANDLERS[it.kind](self, unit, it, *judges[it.order_id], work))
            except ServiceError as exc:  # the item changes nothing
                if snap is None:
                    unit.ctxs.pop(it.order_id, None)
                else:
                    unit.ctxs[it.order_id].restore(snap)
                outs.append(exc)
                continue
            works.append(work)
        books = self._ledgers(unit, works, rs)
        subs = None
        for work in works:
            if work.notes:
                subs = webhooks.active_subscriptions(s) if subs is None else subs
                books.rows["outbox"] += webhooks.outbox_rows(subs, work.order_id, work.notes)
            if work.record is not None:
                work.record["result"] = _dumps(work.answer)
        unit.write(works, _dumps, books.rows,
                   {"stock": [r for r in books.stock.values() if r["_dirty"]],
                    "accruals": [r for r in books.accrual_rows.values() if r["_dirty"]]})
        return [_resolve(o) for o in outs]

    # ------------------------------------------------------------------ stage 1: items

    def _on_event(self, unit: Unit, it: _Item, rs: Any, rules: EventRules | None,
                  work: Work) -> Any:
        event, order_id = it.event, it.order_id
        assert event is not None
        known = unit.records.get((order_id, event.id))
        if known is not None:
            if known[0] != event.digest:
                raise Conflict(f"event id {event.id!r} was already used for another event of "
                               "this order", code="EVENT_ID_REUSED", path="$.id")
            return ("duplicate", known[1])
        ctx = self._ctx(unit, order_id, rs, rules, event.at, event, work, it.actor)
        run = _Run(unit, ctx, self._decided_order(unit.s, ctx.decision_id), rules, rs,
                   it.actor, work)
        before = ctx.state
        self._sync_hub(run, event.at)
        self._fire_due(run, event.at)
        self._lifecycle(run, event)
        run.timeline(event.at, "event", event.type, detail={"event_id": event.id,
                                                              "payload": event.payload})
        self._react(run, event)
        for derived in run.derived:
            self._react(run, derived)
        ctx.updated_at, ctx.dirty = event.at, True
        work.answer = {"order_id": order_id, "event_id": event.id, "type": event.type,
                       "at": iso_z(event.at), "previous_state": before, "state": ctx.state,
                       "holds": [dict(h) for h in ctx.holds], "effects": work.effects,
                       "errors": work.errors, "invoices": work.invoices, "duplicate": False}
        work.record = {"order_id": order_id, "event_id": event.id, "type": event.type,
                       "at": event.at, "payload_hash": event.digest}
        unit.records[(order_id, event.id)] = (event.digest, work.answer)
        return work.answer

    def _on_tick(self, unit: Unit, it: _Item, rs: Any, rules: EventRules | None,
                 work: Work) -> Any:
        ctx = unit.ctxs.get(it.order_id)
        if ctx is None or it.order_id not in unit.hub or it.at is None:
            return {"fired": 0}
        run = _Run(unit, ctx, self._decided_order(unit.s, ctx.decision_id), rules, rs,
                   "clock", work)
        fired = self._fire_due(run, it.at)
        ctx.dirty = ctx.dirty or fired > 0
        return {"fired": fired}

    def _on_release(self, unit: Unit, it: _Item, rs: Any, rules: EventRules | None,
                    work: Work) -> Any:
        assert it.at is not None
        ctx = self._ctx(unit, it.order_id, rs, rules, it.at, None, work, it.actor)
        run = _Run(unit, ctx, self._decided_order(unit.s, ctx.decision_id), rules, rs,
                   it.actor, work)
        self.release(run, it.code, it.reason, it.at, it.actor)
        ctx.updated_at, ctx.dirty = it.at, True
        return {"order_id": it.order_id, "state": ctx.state,
                "holds": [dict(h) for h in ctx.holds]}

    def _on_sync(self, unit: Unit, it: _Item, rs: Any, rules: EventRules | None,
                 work: Work) -> Any:
        ctx = unit.ctxs.get(it.order_id)
        if ctx is None or it.order_id not in unit.hub or it.at is None:
            return None  # orchestration has not seen the order yet: its first event will
        run = _Run(unit, ctx, self._decided_order(unit.s, ctx.decision_id), rules, rs,
                   it.actor, work)
        before = (ctx.state, ctx.decision_id)
        self._fire_due(run, it.at)
        self._sync_hub(run, it.at)
        for derived in run.derived:
            self._react(run, derived)
        ctx.dirty = True
        if (ctx.state, ctx.decision_id) != before:
            ctx.updated_at = it.at
        return {"order_id": it.order_id, "state": ctx.state,
                "holds": [dict(h) for h in ctx.holds]}

    def sync_in(self, s: Any, order_id: str, actor: str) -> dict[str, Any] | None:
        """`sync` in the caller's transaction: a change the orchestration cannot follow (a
        closed order, a line cut below what shipped) raises, and the caller rolls back."""
        out = self.apply_in(s, [_Item("sync", order_id, at=self.clock.now(), actor=actor)])[0]
        if isinstance(out, ServiceError):
            raise out
        return out  # type: ignore[no-any-return]

    def sync(self, order_id: str, actor: str) -> dict[str, Any] | None:
        """Brings the orchestration of an order up to the hub at once, after a change order or
        an approval (rather than at its next event): a change while shipping cancels the
        outstanding fulfilment request and reschedules; an approval lets it go on. None when
        orchestration has not seen the order yet."""
        out = self._execute([_Item("sync", order_id, at=self.clock.now(), actor=actor)])[0]
        if isinstance(out, ServiceError):
            raise out
        return out

    def _sync_hub(self, run: _Run, at: datetime) -> None:
        """An approval or a change order in the hub moves the orchestration state along."""
        ctx = run.ctx
        decision_id, status, version = run.unit.hub[ctx.order_id]
        if ctx.decision_id != decision_id:
            self._change(run, decision_id, status, version, at)
        if ctx.state == "pending_approval" and status == "accepted":
            run.move(at, "captured", "approved in the hub", actor="approvals")
        elif ctx.state == "pending_approval" and status == "rejected":
            run.move(at, "cancelled", "rejected in the hub", actor="approvals")

    def _change(self, run: _Run, decision_id: str, status: str, version: int,
                at: datetime) -> None:
        """A change order decided again in the hub: what was shipped stays shipped; the
        outstanding fulfilment request is cancelled (its reservations given back, its step
        timers cancelled by a `fulfilment_cancelled` event); the new decision's allocations are
        reserved; the order is rescheduled, or waits for approval when the new decision needs
        it (or is cancelled when it is rejected)."""
        ctx = run.ctx
        if ctx.state in lifecycle.FINAL:
            raise Conflict(f"order {ctx.order_id!r} is {ctx.state}; a change order cannot "
                           "reopen it (capture a new order instead)", code="ORDER_CLOSED",
                           details={"state": ctx.state})
        old_lines = ctx.lines
        order = self._decided_order(run.unit.s, decision_id)
        new_lines = self._lines_of(run.unit.s, decision_id, order)
        _check_shipped(old_lines, new_lines, order)
        self._reserve(run, Event(f"change-v{version}", "order_changed", at, {}, ""), -1)
        run.order = order
        for lid, line in new_lines.items():
            shipped = Decimal(old_lines.get(lid, {}).get("shipped", "0"))
            line["shipped"] = str(shipped)
            line["returned"] = old_lines.get(lid, {}).get("returned", "0")
            for loc, qty in list(line["allocations"].items()):  # shipped needs no reservation
                take = min(Decimal(qty), shipped)
                shipped -= take
                line["allocations"][loc] = str(Decimal(qty) - take)
        ctx.lines = new_lines
        ctx.decision_id = decision_id
        self._reserve(run, Event(f"change-v{version}-new", "order_changed", at, {}, ""), +1)
        frm = ctx.state
        run.timeline(at, "change", f"order version {version} decided {status}",
                     detail={"version": version, "status": status})
        if frm in ("scheduled", "released", "shipped"):
            system = run.ship_system()
            run.timeline(at, "fulfilment_cancelled", f"outstanding fulfilment request "
                         f"cancelled{' at ' + system if system else ''}",
                         detail={"system": system})
            run.derived.append(Event(f"change-v{version}-cancel", "fulfilment_cancelled",
                                     at, {"version": version}, ""))
        if frm in ("captured", "scheduled", "released", "shipped", "pending_approval"):
            accepted = "scheduled" if frm != "captured" else "captured"
            to = {"accepted": accepted, "pending_approval": "pending_approval",
                  "on_hold": "on_hold", "rejected": "cancelled"}.get(status, frm)
            if status == "on_hold":  # the new decision's holds, releasable like any other
                for h in self._decision_holds(decision_id, at):
                    if all(o["code"] != h["code"] for o in ctx.holds):
                        ctx.holds = ctx.holds + [
                            {**h, "resume": accepted if h["resume"] == "captured"
                             else h["resume"]}]
            run.move(at, to, f"change order (version {version})"
                     + (": rescheduled" if to == "scheduled" else ""), actor="change")
            if frm == to == "scheduled":  # no move, but the request was cancelled above
                run.request_fulfilment(at)
        run.derived.append(Event(f"change-v{version}-changed", "order_changed", at,
                                 {"version": version, "status": status}, ""))

    def _lifecycle(self, run: _Run, event: Event) -> None:
        ctx = run.ctx
        to = lifecycle.next_state(ctx.state, event.type)
        if event.type == "shipment_confirmed":
            self._ship(run, event)
        if event.type == "cancelled":
            self._reserve(run, event, -1)
        if event.type == "delivered" and not lifecycle.fully_shipped(ctx.lines):
            raise Conflict("the order is not fully shipped; delivered needs every line shipped",
                           code="WRONG_STATE", details={"state": ctx.state})
        run.move(event.at, to, event.type)

    # ------------------------------------------------------------------ stock

    def _reserve(self, run: _Run, event: Event, sign: int) -> None:
        """Reserves (sign +1) or gives back (-1) the allocations still held for the lines (the
        stock moves themselves are made in stage 2)."""
        n = 0
        for line in run.ctx.lines.values():
            for loc, qty in list(line.get("allocations", {}).items()):
                q = Decimal(qty)
                if q <= 0 or not line.get("sku"):
                    continue
                n += 1
                run.work.ledger.append(_StockMove(run, run.ctx.state, event.at,
                                                  f"{event.id}#{n}", loc, line["sku"],
                                                  Decimal(0), q * sign))
                if sign < 0:
                    line["allocations"][loc] = "0"

    def _ship(self, run: _Run, event: Event) -> None:
        """Per shipped line: the quantities, the stock it leaves, and a `line_shipped` event
        (sku, quantity, location, amount: the line's net share, exact to the cent); and the
        shipment's invoice (numbered in stage 2)."""
        ctx = run.ctx
        lines = ctx.lines
        shipped = [(str(ln["line_id"]), ln["quantity"], ln.get("location"))
                   for ln in event.payload.get("lines", [])]
        lifecycle.apply_shipment(lines, [(lid, q) for lid, q, _ in shipped])
        pricing = self._extras.get(ctx.decision_id, ({}, {}))[0]
        doc = billing.compose(ctx.order_id, event.id, event.at, pricing, lines,
                              [(lid, q) for lid, q, _ in shipped], run.reference,
                              run.order.get("customer"), first=ctx.invoices == 0,
                              order=run.order, billed=ctx.billed)
        if doc is not None:
            ctx.invoices += 1
            billing.add_billed(ctx.billed, doc)
            entry = run.timeline(event.at, "invoice", "")  # cause and detail once numbered
            run.work.ledger.append(_InvoiceDue(run, doc, entry, event.at))
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
            run.work.ledger.append(_LedgerEvent(run, ctx.state, Event(
                f"{event.id}#{n}", "line_shipped", event.at, {
                    "line_id": lid, "sku": line.get("sku"), "quantity": qty, "location": loc,
                    "amount": amount, "currency": run.order.get("currency"),
                    "order_id": ctx.order_id}, "")))
            if loc is None or not line.get("sku"):
                continue
            held = Decimal(allocs.get(str(loc), "0"))
            take = min(held, qty)
            if take:
                allocs[str(loc)] = str(held - take)
            n += 1
            run.work.ledger.append(_StockMove(run, ctx.state, event.at, f"{event.id}#{n}",
                                              str(loc), line["sku"], -qty, -take))

    # ------------------------------------------------------------------ rules

    def _state(self, run: _Run, event: dict[str, Any], at: datetime,
               state: str | None = None) -> EventState:
        return EventState(run.ref, event, run.order, state or run.ctx.state, run.step(event),
                          at.date())

    def _react(self, run: _Run, event: Event) -> None:
        rules = run.rules
        if rules is None:
            return
        scope = event.scope()
        ctx, oid = run.ctx, run.ctx.order_id
        for rule in rules.cancelled_by(event.type):
            st = self._state(run, scope, event.at)
            try:
                key = rule.key_of(st)
            except RuleError as exc:
                self._error(run, rule.qid, exc, event.at)
                continue
            # an event that names no key (a cancellation of the whole order) cancels them all
            self._cancel_timers(ctx, rule.qid, key or None)
        for rule in rules.on(event.type):
            st = self._state(run, scope, event.at)
            try:
                st.key = rule.key_of(st)
                if not rule.matches(st):
                    continue
                if rule.is_timer:
                    due = event.at + rule.delay(st)
                    self._cancel_timers(ctx, rule.qid, st.key)
                    run.unit.timer_seq = n = run.unit.timer_seq + 1
                    ctx.timers.append({"id": None, "n": 10 ** 18 + n, "order_id": oid,
                                       "rule": rule.qid, "key": st.key, "first_due": due,
                                       "due_at": due, "state": "armed", "event": _dumps(scope),
                                       "fired": 0, "dirty": True})
                    run.timeline(event.at, "timer", f"{rule.qid} armed for {iso_z(due)}",
                                 detail={"rule": rule.qid, "key": st.key, "due": iso_z(due)})
                    continue
                if rule.within is not None:
                    wkey = f"{oid}\x1f{st.key}"
                    measure = format(rule.measure_of(st), "f")
                    entries = ctx.windows.setdefault((rule.qid, wkey), [])
                    entries.append((event.at, measure))
                    run.work.windows.append({"order_id": oid, "rule": rule.qid, "key": wkey,
                                             "at": event.at, "measure": measure})
                    st.S["count"], st.S["sum"] = count_window(entries, event.at, rule.within)
                    if not rule.passes(st):
                        continue
                self._apply(run, rule.fire(st), event.at)
            except (RuleError, Conflict) as exc:
                self._error(run, rule.qid, exc, event.at)

    @staticmethod
    def _cancel_timers(ctx: OrderCtx, rule: str, key: str | None) -> None:
        for t in ctx.timers:
            if t["rule"] == rule and t["state"] == "armed" and (key is None or t["key"] == key):
                t["state"], t["dirty"] = "cancelled", True

    def _error(self, run: _Run, rule: str, exc: Exception, at: datetime) -> None:
        err = {"rule": rule, "code": getattr(exc, "code", "RULE_ERROR"),
               "message": getattr(exc, "message", str(exc))}
        run.work.errors.append(err)
        run.timeline(at, "rule_error", f"{rule}: {err['message']}", detail=err)

    def _apply(self, run: _Run, effects: list[Effect], at: datetime) -> None:
        for eff in effects:
            if eff.kind in LEDGER_EFFECTS:  # applied to the ledgers in stage 2
                run.work.ledger.append(_LedgerEffect(run, eff, at))
            else:
                handler = _EFFECTS.get(eff.kind)
                if handler is None:
                    run.timeline(at, eff.kind, f"{eff.rule}", detail=eff.data)
                else:
                    handler(self, run, eff, at)
            run.work.effects.append({"kind": eff.kind, "rule": eff.rule, **_plain(eff.data)})

    # effect handlers -------------------------------------------------------------

    def _hold(self, run: _Run, eff: Effect, at: datetime) -> None:
        self.hold(run, eff.data["code"], eff.data["reason"], at, f"rule {eff.rule}")

    def hold(self, run: _Run, code: str, reason: str, at: datetime, actor: str) -> None:
        ctx = run.ctx
        if ctx.state in lifecycle.FINAL or ctx.state in ("rejected", "shipped", "delivered",
                                                          "billed", "paid", "returned"):
            raise Conflict(f"an order that is {ctx.state} cannot be put on hold",
                           code="WRONG_STATE")
        holds = ctx.holds
        if any(h["code"] == code for h in holds):
            return
        resume = ctx.state if ctx.state != "on_hold" else (
            holds[0]["resume"] if holds else "captured")
        ctx.holds = holds + [{"code": code, "reason": reason, "since": iso_z(at), "by": actor,
                              "resume": resume}]
        run.timeline(at, "hold", reason, ctx.state, "on_hold", {"code": code}, actor=actor)
        ctx.state = "on_hold"

    def _release(self, run: _Run, eff: Effect, at: datetime) -> None:
        self.release(run, eff.data["code"], eff.data["reason"], at, f"rule {eff.rule}",
                     quiet=True)

    def release(self, run: _Run, code: str | None, reason: str, at: datetime, actor: str,
                quiet: bool = False) -> None:
        ctx = run.ctx
        holds = ctx.holds
        keep = [h for h in holds if code is not None and h["code"] != code]
        gone = [h for h in holds if h not in keep]
        if not gone:
            if quiet:
                return
            raise Conflict(f"the order has no hold{' ' + code if code else ''} to release",
                           code="NOT_ON_HOLD", details={"state": ctx.state,
                                                        "holds": [h["code"] for h in holds]})
        ctx.holds = keep
        to = ctx.state if keep else gone[0]["resume"]
        run.timeline(at, "release", reason, ctx.state, to,
                     {"codes": [h["code"] for h in gone]}, actor=actor)
        ctx.state = to

    def _transition(self, run: _Run, eff: Effect, at: datetime) -> None:
        lifecycle.check_transition(run.ctx.state, eff.data["to"])
        run.move(at, eff.data["to"], eff.data.get("reason") or eff.rule,
                 actor=f"rule {eff.rule}")

    def _alert(self, run: _Run, eff: Effect, at: datetime) -> None:
        d, ctx = eff.data, run.ctx
        open_ = next((a for a in ctx.alerts if a["code"] == d["code"] and a["key"] == d["key"]
                      and a["state"] == "open"), None)
        if open_ is None:
            ctx.alerts.append({"id": None, "order_id": ctx.order_id, "code": d["code"],
                               "key": d["key"], "rule": eff.rule, "priority": d["priority"],
                               "message": d["message"], "state": "open", "raised_at": at,
                               "updated_at": at, "cleared_at": None, "clear_reason": None,
                               "dirty": True})
            run.timeline(at, "alert", d["message"], detail=d, actor=f"rule {eff.rule}")
        elif open_["priority"] != d["priority"] or open_["message"] != d["message"]:
            run.timeline(at, "alert", f"{open_['priority']} -> {d['priority']}: "
                         f"{d['message']}", detail=d, actor=f"rule {eff.rule}")
            open_.update(priority=d["priority"], message=d["message"], updated_at=at,
                         dirty=True)

    def _clear(self, run: _Run, eff: Effect, at: datetime) -> None:
        d = eff.data
        for a in run.ctx.alerts:
            if a["code"] == d["code"] and a["key"] == d["key"] and a["state"] == "open":
                a.update(state="cleared", cleared_at=at, clear_reason=d["reason"],
                         updated_at=at, dirty=True)
                run.timeline(at, "alert_cleared", d["reason"],
                             detail={"code": a["code"], "key": a["key"]},
                             actor=f"rule {eff.rule}")

    # ------------------------------------------------------------------ timers

    def _fire_due(self, run: _Run, until: datetime) -> int:
        if run.rules is None:
            return 0
        due_now = sorted((t for t in run.ctx.timers
                          if t["state"] == "armed" and t["due_at"] <= until),
                         key=lambda t: (t["due_at"], t["n"]))
        fired = 0
        for t in due_now:
            t["dirty"] = True
            rule = run.rules.by_id.get(t["rule"])
            if rule is None:  # the active rule set no longer has the rule
                t["state"] = "cancelled"
                continue
            scope = json.loads(t["event"], parse_float=Decimal, parse_int=Decimal)
            first, due = t["first_due"], t["due_at"]
            for _ in range(MAX_FIRINGS):
                if due > until or t["state"] != "armed":
                    break
                st = self._state(run, scope, due)
                st.key = t["key"]
                st.S["late_days"] = Decimal((due - first) // timedelta(days=1))
                try:
                    self._apply(run, rule.fire(st), due)
                except (RuleError, Conflict) as exc:
                    self._error(run, rule.qid, exc, due)
                fired += 1
                t["fired"] += 1
                if rule.repeat is None:
                    t["state"] = "done"
                    break
                due = due + rule.repeat
            t["due_at"] = due
        return fired

    # ------------------------------------------------------------------ stage 2: ledgers

    def _ledgers(self, unit: Unit, works: list[Work], rs: Any) -> _Books:
        """Stock moves, ledger events and ledger effects of the transaction, in order."""
        books = _Books(unit)
        ops = [op for work in works for op in work.ledger]
        if not ops:
            return books
        reference = getattr(rs, "reference", None) or {}
        moves = [op for op in ops if isinstance(op, _StockMove)]
        if moves:
            keys = [(m.location, m.sku) for m in moves]
            books.stock = unit.stock(keys, reference.get("inventory"), moves[0].at)
            books.open_reorders = unit.open_reorders(keys)
            books.checked = set(books.stock)
        for op in ops:
            if isinstance(op, _StockMove):
                row = books.stock[(op.location, op.sku)]
                row["_dirty"] = True
                payload = inventory.apply(row, op.at, op.on_hand, op.allocated)
                self._react_ledger(op.run, books, Event(op.event_id, "stock_changed", op.at, {
                    **payload, "order_id": op.run.ctx.order_id}, ""), op.state)
            elif isinstance(op, _LedgerEvent):
                self._react_ledger(op.run, books, op.event, op.state)
            elif isinstance(op, _LedgerEffect):
                self._ledger_effect(op.run, books, op.effect, op.at, answer=False)
        self._accrue(unit, books, reference)
        invoices = [op for op in ops if isinstance(op, _InvoiceDue)]
        if invoices:
            seq = unit.next_invoice_seq()
            for run, doc, entry, at in invoices:
                books.rows["invoices"].append(billing.numbered(doc, seq, at))
                seq += 1
                run.work.invoices.append(doc["number"])
                entry["cause"] = f"invoice {doc['number']}: {doc['total']} {doc['currency']}"
                entry["detail"] = _dumps({"number": doc["number"], "total": doc["total"]})
        return books

    def _react_ledger(self, run: _Run, books: _Books, event: Event, state: str) -> None:
        """A ledger event's rules (only ledger actions: checked when the rule set loads)."""
        if run.rules is None:
            return
        scope = event.scope()
        for rule in run.rules.on(event.type):
            st = self._state(run, scope, event.at, state)
            try:
                st.key = rule.key_of(st)
                if not rule.matches(st):
                    continue
                for eff in rule.fire(st):
                    self._ledger_effect(run, books, eff, event.at, answer=True)
            except (RuleError, Conflict) as exc:
                self._error(run, rule.qid, exc, event.at)

    def _ledger_effect(self, run: _Run, books: _Books, eff: Effect, at: datetime,
                       answer: bool) -> None:
        """A ledger effect; `answer`: list it in the event's answer (an effect of a stage-1
        rule is listed there already)."""
        actor, oid = f"rule {eff.rule}", run.ctx.order_id
        try:
            if eff.kind == "reorder":
                row = inventory.proposal(eff.data, eff.rule, oid, at)
                key = (row["location"], row["sku"])
                if not books.has_open_reorder(key):
                    books.open_reorders.add(key)
                    books.rows["reorders"].append(row)
                    run.timeline(at, "reorder", f"proposed {eff.data.get('quantity')} of "
                                 f"{eff.data.get('sku')} for {eff.data.get('location')}",
                                 detail=eff.data, actor=actor)
            elif eff.kind == "claim":
                row = rebates.claim(eff.data, oid, at)
                books.rows["claims"].append(row)
                run.timeline(at, "claim", f"ship-and-debit claim {row['amount']} on "
                             f"{eff.data.get('agreement')}", detail=eff.data, actor=actor)
            elif eff.kind == "accrue":
                key = rebates.period_key(run.reference, eff.data, at)
                entry = run.timeline(at, "rebate", "", actor=actor)  # filled by _accrue
                if key is None:
                    entry["cause"], entry["detail"] = "no programme", _dumps(
                        {"skipped": "no programme", "ruleset": run.judge})
                else:
                    books.accruals.append((key, run, eff, at, entry))
            else:
                run.timeline(at, eff.kind, f"{eff.rule}", detail=eff.data)
        except RuleError as exc:
            self._error(run, eff.rule, exc, at)
            return
        if answer:
            run.work.effects.append({"kind": eff.kind, "rule": eff.rule, **_plain(eff.data)})

    def _accrue(self, unit: Unit, books: _Books, reference: dict[str, Any]) -> None:
        """Rebate accruals, their period rows locked in key order, applied in order."""
        if not books.accruals:
            return
        rows = books.accrual_rows = unit.accruals([k for k, *_ in books.accruals],
                                                  books.accruals[0][3])
        for key, run, eff, at, entry in books.accruals:
            try:
                out, line = rebates.accrue(rows[key], reference, eff.data, run.ctx.order_id,
                                           at)
            except RuleError as exc:
                entry.update(kind="rule_error", cause=f"{eff.rule}: {exc}"[:4000],
                             detail=_dumps({"rule": eff.rule, "code": "RULE_ERROR",
                                            "message": str(exc), "ruleset": run.judge}))
                run.work.errors.append({"rule": eff.rule, "code": "RULE_ERROR",
                                        "message": str(exc)})
                continue
            rows[key]["_dirty"] = True
            books.rows["rebate_entries"].append(line)
            entry["cause"] = (f"{out['programme']} {out['period']}: accrued {out['accrued']} "
                              f"at {out['rate']}%")
            entry["detail"] = _dumps({**out, "ruleset": run.judge})

    # ------------------------------------------------------------------ the clock and people

    def tick(self, now: datetime | None = None) -> dict[str, Any]:
        """Fires every timer due by `now` (the clock's time by default), in transactions of up
        to 200 orders."""
        now = utc(now) if now is not None else self.clock.now()
        with self.db.session() as s:
            order_ids = list(dict.fromkeys(s.scalars(select(Timer.order_id).where(
                Timer.state == "armed", Timer.due_at <= now).order_by(Timer.due_at))))
        fired = 0
        for i in range(0, len(order_ids), 200):
            outs = self._execute([_Item("tick", oid, at=now, actor="clock")
                                  for oid in order_ids[i:i + 200]])
            fired += sum(o["fired"] for o in outs if isinstance(o, dict))
        return {"now": iso_z(now), "orders": len(order_ids), "fired": fired}

    def release_hold(self, order_id: str, code: str | None, reason: str,
                     actor: str) -> dict[str, Any]:
        if not isinstance(reason, str) or not reason.strip():
            raise Invalid("a release needs a reason", code="BAD_REQUEST", path="$.reason")
        out = self._execute([_Item("release", order_id, at=self.clock.now(), code=code,
                                   reason=reason.strip(), actor=actor)])[0]
        if isinstance(out, ServiceError):
            raise out
        return out

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




def _check_shipped(old: dict[str, Any], new: dict[str, Any], order: dict[str, Any]) -> None:
    """A change order keeps at least what shipped of every line (else 409 BELOW_SHIPPED, at
    the line's quantity in the request): less would leave the order unable to finish and
    its invoices above its total."""
    index = {render(ln.get("id")) or str(i + 1): i
             for i, ln in enumerate(order.get("lines") or []) if isinstance(ln, dict)}
    for lid, line in old.items():
        shipped = Decimal(line["shipped"])
        if shipped <= 0:
            continue
        now = new.get(lid)
        if now is None:
            raise Conflict(f"line {lid!r} shipped {render(shipped)}; a change order cannot "
                           "remove it (keep it with at least that quantity)",
                           code="BELOW_SHIPPED", path="$.order.lines",
                           details={"line_id": lid, "shipped": render(shipped)})
        if Decimal(now["ordered"]) < shipped:
            raise Conflict(f"line {lid!r} shipped {render(shipped)}; a change order cannot "
                           f"cut it to {now['ordered']}", code="BELOW_SHIPPED",
                           path=f"$.order.lines[{index.get(lid, 0)}].quantity",
                           details={"line_id": lid, "shipped": render(shipped),
                                    "quantity": now["ordered"]})


_EFFECTS = {
    "hold": Orchestrator._hold,
    "release_hold": Orchestrator._release,
    "transition": Orchestrator._transition,
    "alert": Orchestrator._alert,
    "clear_alert": Orchestrator._clear,
}
_HANDLERS = {"event": Orchestrator._on_event, "tick": Orchestrator._on_tick,
             "release": Orchestrator._on_release, "sync": Orchestrator._on_sync}


def _resolve(out: Any) -> Any:
    """An item's answer; a repeated event gets the stored answer, marked as a duplicate."""
    if isinstance(out, tuple) and out[0] == "duplicate":
        answer = out[1]
        doc: dict[str, Any] = json.loads(answer if isinstance(answer, str) else _dumps(answer))
        doc["duplicate"] = True
        return doc
    return out


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
