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
from datetime import datetime
from typing import Any

from ordinance.engine.events import EventRules
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

from . import webhooks
from .clock import Clock, SystemClock, utc
from .db import Database, DatabaseUnavailable
from .eventstore import iso_z, parse_event
from .models import DecisionRecord
from .models_orchestration import Timer
from .orch_items import Items
from .orch_ledgers import Ledgers
from .orch_reads import PRIORITY_RANK, Reads
from .orch_replay import compare, summary
from .orch_rules import Rules
from .orch_run import Group, Item, dumps
from .orch_unit import Unit, Work, window_since
from .store import Conflict, Invalid, NotFound, ServiceError, Unavailable, loads_exact

logger = logging.getLogger("ordinance.orchestration")
GROUP_MAX = 200  # events one group commit takes at most
ATTEMPTS = 5  # a transaction that raced another (a deadlock, a new row made twice) is retried
__all__ = ["Orchestrator", "retryable", "summary", "compare", "PRIORITY_RANK",
           "ATTEMPTS", "GROUP_MAX"]


def retryable(exc: BaseException) -> bool:
    """A deadlock or serialization failure PostgreSQL resolved by aborting us: try again."""
    orig = getattr(exc.__cause__, "orig", None)
    return getattr(orig, "sqlstate", None) in ("40P01", "40001")


class Orchestrator(Items, Rules, Ledgers, Reads):
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
        self._open: Group | None = None  # the group events join while another one runs

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
        out = self._grouped(Item("event", order_id, event=event, actor=actor))
        if isinstance(out, ServiceError):
            raise out
        return out

    def _grouped(self, item: Item) -> Any:
        with self._group_lock:
            group = self._open
            leader = group is None or len(group.items) >= GROUP_MAX
            if leader:
                group = self._open = Group()
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
        parsed: list[Item | dict[str, Any]] = []  # an item, or the answer to a bad body
        for order_id, raw in items:
            try:
                parsed.append(Item("event", order_id, event=parse_event(raw, now), actor=actor))
            except ServiceError as exc:
                parsed.append({"status": 422, **exc.to_json()})
        work = [p for p in parsed if isinstance(p, Item)]
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

    def _execute(self, items: list[Item]) -> list[Any]:
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

    def apply_in(self, s: Any, items: list[Item]) -> list[Any]:
        """Runs the items in the caller's transaction `s` (a use case that changes the hub and
        orchestration together); the caller commits, or retries the whole."""
        return self._transaction(s, items, self._active())

    def _transaction(self, s: Any, items: list[Item], rs: Any) -> list[Any]:
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
                work.record["result"] = dumps(work.answer)
        unit.write(works, dumps, books.rows,
                   {"stock": [r for r in books.stock.values() if r["_dirty"]],
                    "accruals": [r for r in books.accrual_rows.values() if r["_dirty"]]})
        return [_resolve(o) for o in outs]

    def sync_in(self, s: Any, order_id: str, actor: str) -> dict[str, Any] | None:
        """`sync` in the caller's transaction: a change the orchestration cannot follow (a
        closed order, a line cut below what shipped) raises, and the caller rolls back."""
        out = self.apply_in(s, [Item("sync", order_id, at=self.clock.now(), actor=actor)])[0]
        if isinstance(out, ServiceError):
            raise out
        return out  # type: ignore[no-any-return]

    def sync(self, order_id: str, actor: str) -> dict[str, Any] | None:
        """Brings the orchestration of an order up to the hub at once, after a change order or
        an approval (rather than at its next event): a change while shipping cancels the
        outstanding fulfilment request and reschedules; an approval lets it go on. None when
        orchestration has not seen the order yet."""
        out = self._execute([Item("sync", order_id, at=self.clock.now(), actor=actor)])[0]
        if isinstance(out, ServiceError):
            raise out
        return out

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
            outs = self._execute([Item("tick", oid, at=now, actor="clock")
                                  for oid in order_ids[i:i + 200]])
            fired += sum(o["fired"] for o in outs if isinstance(o, dict))
        return {"now": iso_z(now), "orders": len(order_ids), "fired": fired}

    def release_hold(self, order_id: str, code: str | None, reason: str,
                     actor: str) -> dict[str, Any]:
        if not isinstance(reason, str) or not reason.strip():
            raise Invalid("a release needs a reason", code="BAD_REQUEST", path="$.reason")
        out = self._execute([Item("release", order_id, at=self.clock.now(), code=code,
                                   reason=reason.strip(), actor=actor)])[0]
        if isinstance(out, ServiceError):
            raise out
        return out


_HANDLERS = {"event": Orchestrator._on_event, "tick": Orchestrator._on_tick,
             "release": Orchestrator._on_release, "sync": Orchestrator._on_sync}


def _resolve(out: Any) -> Any:
    """An item's answer; a repeated event gets the stored answer, marked as a duplicate."""
    if isinstance(out, tuple) and out[0] == "duplicate":
        answer = out[1]
        doc: dict[str, Any] = json.loads(answer if isinstance(answer, str) else dumps(answer))
        doc["duplicate"] = True
        return doc
    return out
