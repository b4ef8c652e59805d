"""The working values of one orchestration transaction (adapters/orchestration.py drives them).

In: nothing of their own. Out: `Item` (one thing a transaction does to one order: an event, a
clock tick, a release, a sync), `Group` (events that share one transaction), `Run` (an item's
work on one order: the order's context, the rules that judge it, the timeline entries and
outgoing notes it writes), the stage-2 operations on the shared ledgers (`StockOp`,
`LedgerEvent`, `LedgerEffect`, `InvoiceDue`) and `Books` (stage 2's view of the locked
ledger rows). `dumps`/`plain`: JSON with Decimals as exact text (money is never a float).

The non-obvious choice: every timeline entry of a judgement (an event, a rule's effect, a
timer, a rule error) names the rule set version that judged it (`Run.judge`), so a timeline
read years later says which rules held the order.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from ordinance.engine.events import Effect, EventRules

from . import webhooks
from .eventstore import Event, iso_z
from .orch_unit import OrderCtx, Unit, Work

LEDGER_EFFECTS = frozenset({"reorder", "accrue", "claim"})
JUDGED = frozenset({"event", "timer", "rule_error"})  # entries that name the judging version


def plain(value: Any) -> Any:
    """Effect data for JSON answers: Decimals as exact text (money is never a float)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def exact(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(value: Any) -> str:
    """JSON text with Decimals as exact text (as `plain` gives them)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=exact)


@dataclass
class Item:
    """One thing a transaction does to one order: an event, a clock tick or a release."""

    kind: str  # event | tick | release | sync
    order_id: str
    event: Event | None = None
    at: datetime | None = None
    code: str | None = None
    reason: str = ""
    actor: str = "system"


class Group:
    """Events posted while a transaction runs: they share the next one (see post_event)."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.results: list[Any] = []
        self.error: BaseException | None = None
        self.done = threading.Event()


class Run:
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
                 "detail": dumps(detail or {})}
        self.work.timeline.append(entry)
        if kind in webhooks.KIND_TOPIC:
            self.work.notes.append({"kind": kind, "at": iso_z(at), "at_dt": at, "from": frm,
                                    "to": to, "cause": cause, "detail": plain(detail or {})})
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


class StockOp(NamedTuple):
    """Stage 2: move stock of a location and SKU (then its `stock_changed` event)."""

    run: Run
    state: str  # the order's state when the move was made
    at: datetime
    event_id: str
    location: str
    sku: str
    on_hand: Decimal
    allocated: Decimal


class LedgerEvent(NamedTuple):
    """Stage 2: a derived ledger event (`line_shipped`) for the rules."""

    run: Run
    state: str
    event: Event


class LedgerEffect(NamedTuple):
    """Stage 2: a reorder, rebate or claim effect a rule of stage 1 produced."""

    run: Run
    effect: Effect
    at: datetime


class InvoiceDue(NamedTuple):
    """Stage 2: an invoice to number (its timeline entry is completed then)."""

    run: Run
    doc: dict[str, Any]
    entry: dict[str, Any]
    at: datetime


class Books:
    """Stage 2's view of the shared ledgers: locked rows and the rows to insert."""

    def __init__(self, unit: Unit):
        self.unit = unit
        self.stock: dict[tuple[str, str], dict[str, Any]] = {}
        self.open_reorders: set[tuple[str, str]] = set()
        self.checked: set[tuple[str, str]] = set()
        self.accruals: list[tuple[tuple[str, str], Run, Effect, datetime, dict[str, Any]]] = []
        self.accrual_rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {"reorders": [], "rebate_entries": [],
                                                      "claims": [], "invoices": [],
                                                      "outbox": []}

    def has_open_reorder(self, key: tuple[str, str]) -> bool:
        if key not in self.checked:  # a pair outside the locked stock rows: ask now
            self.open_reorders |= self.unit.open_reorders([key])
            self.checked.add(key)
        return key in self.open_reorders
