"""Event packs (phase: events): rules that react to what happens to an order after its decision.

In: a pack's YAML node, checked by the rule-set `Checker` (ruleset.py hands every pack whose
`phase` is `events` here). Out: an `EventPack` of `EventRule`s whose conditions, keys, measures
and durations are compiled with the same expression compiler as decision packs, and whose
actions come from `EVENT_ACTIONS` (engine/event_actions.py, a registry like actions.py's, with
the `Effect` values they return and the lifecycle words). Raises nothing for the user's
mistakes: they are diagnostics with FILE:LINE:COL.

The non-obvious choice: this module is pure. A rule does not keep windows, counters or timers
itself; it says what to count (`within`, `measure`, `having`) and when to wake up (`after`,
`unless`, `repeat`), and its actions return `Effect` values. The service (adapters/
orchestration.py) keeps the windows and timers in the database, takes time from a clock
adapter, and applies the effects in the same transaction as the event, so a restart loses
nothing and a replay gives the same effects. docs/design/event-engine.md says why we did not
use a Rete engine (durable-rules) for this.

Names in an event rule's expressions: `event` (its `type`, `at`, `id` and payload), `order`,
`customer`, `ref`, `status` (the order's lifecycle state), `step` (the order's process step
named by `event.step`, with `planned`), and, where they mean something, `count` and `sum` (the
window, in `having`) and `late_days` (a timer's days past due, in its actions).
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from difflib import get_close_matches
from typing import Any

from .diagnostics import Code, Span
from .event_actions import EVENT_ACTIONS, PRIORITIES, STATES, Effect, action_reference
from .expressions import Expr, Scope
from .packrun import ERRORS
from .values import RuleError, render

EVENT_ROOTS = frozenset({"event", "order", "customer", "ref", "status", "step"})

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(s|m|h|d|w)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: Any) -> datetime.timedelta | None:
    """`90s`, `15m`, `4h`, `1.5d`, `2w` as a timedelta (exact to the second); a number is hours.
    None when the value is not a duration."""
    if isinstance(text, bool) or text is None:
        return None
    if isinstance(text, (Decimal, int)):
        seconds = Decimal(text) * 3600
    elif isinstance(text, str):
        m = _DURATION.match(text.strip())
        if not m:
            return None
        try:
            seconds = Decimal(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        except InvalidOperation:  # pragma: no cover - the pattern admits only digits
            return None
    else:
        return None
    if seconds < 0:
        return None
    return datetime.timedelta(seconds=int(seconds.to_integral_value()))


# --- the compiled model ----------------------------------------------------------------------------

@dataclass(frozen=True)
class EventRule:
    qid: str
    span: Span
    on: tuple[str, ...]
    when: Expr | None
    key: Expr | None
    within: datetime.timedelta | None
    measure: Expr | None
    having: Expr | None
    after: Expr | None
    after_fixed: datetime.timedelta | None
    unless: tuple[str, ...]
    repeat: datetime.timedelta | None
    actions: list[Any]
    priority: Decimal = Decimal(0)
    description: str = ""

    @property
    def is_timer(self) -> bool:
        return self.after is not None or self.after_fixed is not None

    # Each entry point below raises only a located RuleError: its `where` is the operator's
    # FILE:LINE:COL when the expression knew it, else the rule's (ARCHITECTURE.md: run-time
    # problems are values naming their rule and place; the service records them per rule).
    def located(self, exc: Exception) -> RuleError:
        if isinstance(exc, RuleError):
            if exc.where is None:
                exc.where = str(self.span)
            return exc
        return RuleError(f"arithmetic error: {exc.__class__.__name__}", where=str(self.span))

    def key_of(self, st: EventState) -> str:
        if self.key is None:
            return ""
        try:
            return render(self.key.fn(st.S, st))
        except ERRORS as exc:
            raise self.located(exc) from None

    def matches(self, st: EventState) -> bool:
        try:
            return self.when is None or bool(self.when.fn(st.S, st))
        except ERRORS as exc:
            raise self.located(exc) from None

    def measure_of(self, st: EventState) -> Decimal:
        if self.measure is None:
            return Decimal(1)
        try:
            v = self.measure.fn(st.S, st)
        except ERRORS as exc:
            raise self.located(exc) from None
        if v is None:
            return Decimal(0)
        if not isinstance(v, Decimal):  # (a bool is no Decimal)
            raise self.located(RuleError(f"measure of {self.qid} is {v!r}, not a number"))
        return v

    def passes(self, st: EventState) -> bool:
        try:
            return self.having is None or bool(self.having.fn(st.S, st))
        except ERRORS as exc:
            raise self.located(exc) from None

    def delay(self, st: EventState) -> datetime.timedelta:
        if self.after_fixed is not None:
            return self.after_fixed
        assert self.after is not None
        try:
            value = self.after.fn(st.S, st)
        except ERRORS as exc:
            raise self.located(exc) from None
        d = parse_duration(value)
        if d is None:
            raise self.located(RuleError(f"after of {self.qid} is {render(value) or 'null'!r}, "
                                         "not a duration such as 4h or 2d (or a number of "
                                         "hours)"))
        return d

    def fire(self, st: EventState) -> list[Effect]:
        st.rule = self.qid
        try:
            return [a.run(st) for a in self.actions]
        except ERRORS as exc:
            raise self.located(exc) from None


@dataclass(frozen=True)
class EventPack:
    id: str
    file: str
    span: Span
    enabled: bool
    rules: list[EventRule]
    description: str = ""


class EventState:
    """What an event rule's expressions see (the `S` and `X` of compiled expressions)."""

    def __init__(self, ref: Any, event: dict[str, Any], order: dict[str, Any] | None,
                 status: str | None, step: dict[str, Any] | None, as_of: datetime.date):
        order = order or {}
        self.S: dict[str, Any] = {"event": event, "order": order,
                                  "customer": order.get("customer"), "ref": ref,
                                  "status": status, "step": step, "count": None, "sum": None,
                                  "late_days": None}
        self.ref = ref
        self.as_of = as_of
        self.rule = ""
        self.key = ""
        self._screen: dict[str, dict[str, Any]] = {}

    def screen_cache(self, table: str) -> dict[str, Any]:
        return self._screen.setdefault(table, {})


class EventRules:
    """Every enabled event rule of a rule set, indexed by the event types that wake it."""

    def __init__(self, packs: list[EventPack]):
        self.packs = packs
        self.by_type: dict[str, list[EventRule]] = {}
        self.cancelling: dict[str, list[EventRule]] = {}
        self.by_id: dict[str, EventRule] = {}
        for pack in sorted(packs, key=lambda p: p.id):
            if not pack.enabled:
                continue
            for rule in pack.rules:
                self.by_id[rule.qid] = rule
                for t in rule.on:
                    self.by_type.setdefault(t, []).append(rule)
                for t in rule.unless:
                    self.cancelling.setdefault(t, []).append(rule)

    def on(self, event_type: str) -> list[EventRule]:
        return self.by_type.get(event_type, [])

    def cancelled_by(self, event_type: str) -> list[EventRule]:
        return self.cancelling.get(event_type, [])


# --- checking and compiling ----------------------------------------------------------------------

def _types(node: Any) -> tuple[str, ...]:
    if node is None:
        return ()
    if node.kind == "seq":
        return tuple(n.value for n in node.value)
    return (node.value,)


def check_event_pack(c: Any, rel: str, node: Any) -> EventPack | None:
    """Validate against events.schema.json and compile; diagnostics go to `c.diags`."""
    if not c.validate(node, "events"):
        return None
    v = node.value
    pid = v["pack"].value
    rules: list[EventRule] = []
    ids: dict[str, Span] = {}
    for rnode in v["rules"].value:
        rule = _rule(c, pid, rnode)
        rid = rule.qid.split("/", 1)[1]
        if rid in ids:
            c.diags.error(Code.DUPLICATE_ID, rnode.get("id").span, f"rule id '{rid}' is used "
                          f"twice in pack '{pid}' (first at line {ids[rid].line})")
        ids[rid] = rnode.span
        rules.append(rule)
    rules.sort(key=lambda r: -r.priority)
    return EventPack(pid, rel, node.span, v["enabled"].value if "enabled" in v else True, rules,
                     render(v["description"].value) if "description" in v else "")


def _scope(c: Any, *extra: str) -> Scope:
    return Scope(EVENT_ROOTS | frozenset(extra), frozenset(c.model.tables))


def _rule(c: Any, pid: str, node: Any) -> EventRule:
    v = node.value
    rid = v["id"].value
    c.for_each = False
    c.reads_pricing = False
    timer = "after" in v
    window = "within" in v
    c.scope = _scope(c)
    when = None
    if "when" in v:
        when = c.condition(v["when"], f"rule '{rid}'")
    key = c.expr(v["key"]) if "key" in v else None
    within = parse_duration(v["within"].value) if window else None
    measure = c.expr(v["measure"]) if "measure" in v else None
    if measure is not None and not window:
        c.diags.error(Code.SCHEMA, v["measure"].span, "measure adds up over a window: add "
                      "within: DURATION")
    having = None
    if "having" in v:
        if not window:
            c.diags.error(Code.SCHEMA, v["having"].span, "having tests a window: add within: "
                          "DURATION")
        c.scope = _scope(c, "count", "sum")
        having = c.expr(v["having"], condition=True)
        c.scope = _scope(c)
    after = after_fixed = None
    if timer:
        anode = v["after"]
        after_fixed = parse_duration(anode.value) if not anode.quoted else None
        if after_fixed is None:
            after = c.expr(anode)
        if window:
            c.diags.error(Code.SCHEMA, v["within"].span, "a rule counts a window or sets a "
                          "timer, not both")
    for key_name in ("unless", "repeat"):
        if key_name in v and not timer:
            c.diags.error(Code.SCHEMA, v[key_name].span, f"{key_name} belongs to a timer: add "
                          "after: DURATION")
    repeat = parse_duration(v["repeat"].value) if "repeat" in v else None
    if repeat is not None and repeat.total_seconds() <= 0:
        c.diags.error(Code.BAD_VALUE, v["repeat"].span, "repeat must be longer than zero")
        repeat = None
    c.scope = _scope(c, *(("count", "sum") if window else ()), *(("late_days",) if timer else ()))
    actions = []
    for anode in v["then"].value:
        (name, pnode), = anode.value.items()
        kind = EVENT_ACTIONS.get(name)
        if kind is None:
            close = get_close_matches(name, EVENT_ACTIONS, 1)
            c.diags.error(Code.SCHEMA, anode.key_spans[name], f"'{name}' is not an action of "
                          "event packs", f"did you mean '{close[0]}'?" if close else
                          "actions: " + ", ".join(sorted(EVENT_ACTIONS)))
            continue
        actions.append(kind.cls(pnode, c))
    c.scope = _scope(c)
    _check_ledger_rule(c, v, timer, window)
    priority = Decimal(v["priority"].value) if "priority" in v else Decimal(0)
    return EventRule(f"{pid}/{rid}", node.span, _types(v["on"]), when, key, within, measure,
                     having, after, after_fixed, _types(v.get("unless")), repeat, actions,
                     priority, render(v["description"].value) if "description" in v else "")


# Events about shared ledgers (stock per location and SKU, rebate periods) are handled after the
# order events of a transaction, with the ledgers' rows locked in one order, so parallel senders
# never deadlock and hold those rows only briefly (adapters/orchestration.py). Their rules may
# therefore only act on ledgers: they cannot change an order's state, alerts, timers or windows.
LEDGER_EVENTS = frozenset({"stock_changed", "line_shipped"})
LEDGER_ACTIONS = frozenset({"propose_reorder", "accrue_rebate", "ship_and_debit", "notify"})


def _check_ledger_rule(c: Any, v: dict[str, Any], timer: bool, window: bool) -> None:
    for t in _types(v.get("unless")):
        if t in LEDGER_EVENTS:
            c.diags.error(Code.BAD_VALUE, v["unless"].span, f"unless cannot name {t}: ledger "
                          "events are handled after the order's own events")
    on = [t for t in _types(v["on"]) if t in LEDGER_EVENTS]
    if not on:
        return
    why = (f"a rule on {on[0]} acts on the shared ledgers after the order's events "
           "(allowed: " + ", ".join(sorted(LEDGER_ACTIONS)) + ")")
    if timer or window:
        c.diags.error(Code.SCHEMA, v["after" if timer else "within"].span,
                      f"{why}; it cannot set a timer or count a window")
    for anode in v["then"].value:
        for name in anode.value:
            if name in EVENT_ACTIONS and name not in LEDGER_ACTIONS:
                c.diags.error(Code.SCHEMA, anode.key_spans[name], f"{why}; not {name}")


__all__ = [
    "EVENT_ACTIONS",
    "LEDGER_ACTIONS",
    "LEDGER_EVENTS",
    "PRIORITIES",
    "STATES",
    "Effect",
    "EventPack",
    "EventRule",
    "EventRules",
    "EventState",
    "action_reference",
    "check_event_pack",
    "parse_duration",
]
