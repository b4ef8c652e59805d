"""The actions of event rules (phase: events) and the effects they return.

In: an action's YAML node and the rule-set checker (`c`, engine/ruleset.py `Checker`) that
compiles its parameters (texts with {EXPR}, conditions, values). Out: through the registry
`EVENT_ACTIONS` (name, class, doc, example), an object whose `run(state)` returns an `Effect`:
what the rule asks the service to do (raise or clear an alert, hold, transition, propose a
reorder, accrue a rebate, file a claim, notify). Raises nothing for the user's mistakes while
checking (diagnostics at the parameter); `RuleError` at run time for a value of the wrong
kind (a priority that is not one of PRIORITIES), recorded by the service against the rule.

The non-obvious choice: an action never acts. It returns an `Effect` value, and the service
(adapters/orchestration.py) applies the effects of all fired rules in the event's transaction,
so the rules stay pure and a replay gives the same effects. A new action is one class here
with its `@event_action(...)` line; the checker, the reference page and `ordinance events
actions` read the registry.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from .diagnostics import Code
from .expressions import Expr
from .values import RuleError

# The order lifecycle (docs/orchestration.md). The engine owns the words; the service owns the
# state machine (adapters/lifecycle.py).
STATES = ("captured", "on_hold", "pending_approval", "scheduled", "released", "shipped",
          "delivered", "billed", "paid", "closed", "cancelled", "returned")
PRIORITIES = ("low", "medium", "high")


# --- effects: what a fired rule asks the service to do ------------------------------------------

@dataclass(frozen=True)
class Effect:
    kind: str  # alert | clear_alert | hold | release_hold | transition | reorder | accrue | notify
    rule: str
    data: dict[str, Any]


# --- the action registry -------------------------------------------------------------------------

EVENT_ACTIONS: dict[str, EventActionKind] = {}


@dataclass(frozen=True)
class EventActionKind:
    name: str
    cls: type
    doc: str
    example: str


def event_action(name: str, doc: str, example: str) -> Callable[[type], type]:
    def register(cls: type) -> type:
        EVENT_ACTIONS[name] = EventActionKind(name, cls, doc, example)
        return cls
    return register


def _params(node: Any, c: Any, allowed: tuple[str, ...], required: tuple[str, ...]) -> bool:
    if node.kind != "map":
        c.diags.error(Code.SCHEMA, node.span, "expects a mapping of parameters",
                      "parameters: " + ", ".join(allowed))
        return False
    ok = True
    for key in node.value:
        if key not in allowed:
            c.diags.error(Code.SCHEMA, node.key_spans[key], f"unknown parameter '{key}' "
                          f"(allowed: {', '.join(allowed)})")
            ok = False
    for key in required:
        if key not in node.value:
            c.diags.error(Code.SCHEMA, node.span, f"missing '{key}'")
            ok = False
    return ok


def _opt_template(node: Any, key: str, c: Any) -> Callable[[Any], str] | None:
    child = node.get(key) if node.kind == "map" else None
    return c.template(child) if child is not None else None


class _Priority:
    """`priority: high` (a text with {EXPR}), or a mapping `{high: COND, medium: COND,
    default: low}`: the first priority whose condition holds, in high, medium, low order."""

    def __init__(self, node: Any, c: Any):
        self.fixed: Callable[[Any], str] | None = None
        self.conds: list[tuple[str, Expr]] = []
        self.default = "low"
        if node is None:
            self.fixed = lambda st: "medium"
            return
        if node.kind == "scalar":
            if node.value in PRIORITIES:
                value = node.value
                self.fixed = lambda st: value
            elif "{" in str(node.value):
                self.fixed = c.template(node)
            else:
                c.diags.error(Code.BAD_VALUE, node.span, f"{node.value!r} is not a priority",
                              "priorities: " + ", ".join(PRIORITIES) + ", or a mapping "
                              "{high: COND, medium: COND, default: low}")
            return
        if node.kind != "map":
            c.diags.error(Code.SCHEMA, node.span, "priority is low, medium, high or a mapping "
                          "{high: COND, medium: COND, default: low}")
            return
        for key, child in node.value.items():
            if key == "default":
                if child.value not in PRIORITIES:
                    c.diags.error(Code.BAD_VALUE, child.span, f"{child.value!r} is not one of "
                                  f"{', '.join(PRIORITIES)}")
                else:
                    self.default = child.value
            elif key in PRIORITIES:
                self.conds.append((key, c.expr(child, condition=True)))
            else:
                c.diags.error(Code.BAD_VALUE, node.key_spans[key], f"{key!r} is not a priority "
                              f"({', '.join(PRIORITIES)}) or default")
        self.conds.sort(key=lambda kc: -PRIORITIES.index(kc[0]))

    def __call__(self, st: Any) -> str:
        if self.fixed is not None:
            value = self.fixed(st)
            if value not in PRIORITIES:
                raise RuleError(f"priority {value!r} is not one of {', '.join(PRIORITIES)}")
            return value
        for name, cond in self.conds:
            if cond.fn(st.S, st):
                return name
        return self.default


@event_action("alert", "Raises (or updates) an open alert for the order, one per code and key.",
              "alert: {code: STEP_OVERDUE, priority: {high: late_days >= 3, medium: "
              "customer.tier == \"gold\"}, message: \"step {event.step} is late\"}")
class Alert:
    def __init__(self, node: Any, c: Any):
        _params(node, c, ("code", "priority", "message"), ("code",))
        self.code = c.template(node.get("code")) if node.kind == "map" else (lambda st: "")
        self.priority = _Priority(node.get("priority") if node.kind == "map" else None, c)
        self.message = _opt_template(node, "message", c)

    def run(self, st: Any) -> Effect:
        code = self.code(st)
        return Effect("alert", st.rule, {"code": code, "priority": self.priority(st),
                                         "message": self.message(st) if self.message else code,
                                         "key": st.key})


@event_action("clear_alert", "Closes the open alert of this code (and key) for the order.",
              "clear_alert: {code: STEP_OVERDUE}")
class ClearAlert:
    def __init__(self, node: Any, c: Any):
        _params(node, c, ("code", "reason"), ("code",))
        self.code = c.template(node.get("code")) if node.kind == "map" else (lambda st: "")
        self.reason = _opt_template(node, "reason", c)

    def run(self, st: Any) -> Effect:
        return Effect("clear_alert", st.rule, {"code": self.code(st), "key": st.key,
                                               "reason": self.reason(st) if self.reason
                                               else "cleared"})


@event_action("hold", "Puts the order on hold with a code and a reason (kept in the timeline).",
              "hold: {code: PAYMENT_FAILURES, reason: \"{count} declined authorisations\"}")
class Hold:
    def __init__(self, node: Any, c: Any):
        _params(node, c, ("code", "reason"), ("code", "reason"))
        self.code = c.template(node.get("code")) if node.kind == "map" else (lambda st: "")
        self.reason = c.template(node.get("reason")) if node.kind == "map" else (lambda st: "")

    def run(self, st: Any) -> Effect:
        return Effect("hold", st.rule, {"code": self.code(st), "reason": self.reason(st)})


@event_action("release_hold", "Releases the order's hold of this code, keeping the reason.",
              "release_hold: {code: PAYMENT_FAILURES, reason: payment authorised}")
class ReleaseHold(Hold):
    def run(self, st: Any) -> Effect:
        return Effect("release_hold", st.rule, {"code": self.code(st), "reason": self.reason(st)})


@event_action("transition", "Moves the order to a lifecycle state (validated like an event).",
              "transition: {to: cancelled, reason: never paid}")
class Transition:
    def __init__(self, node: Any, c: Any):
        _params(node, c, ("to", "reason"), ("to",))
        to = node.get("to") if node.kind == "map" else None
        self.to = ""
        if to is not None:
            if to.value not in STATES:
                hint = get_close_matches(str(to.value), STATES, 1)
                c.diags.error(Code.BAD_VALUE, to.span, f"{to.value!r} is not a lifecycle state",
                              f"did you mean '{hint[0]}'?" if hint else
                              "states: " + ", ".join(STATES))
            else:
                self.to = to.value
        self.reason = _opt_template(node, "reason", c)

    def run(self, st: Any) -> Effect:
        return Effect("transition", st.rule, {"to": self.to, "reason": self.reason(st)
                                              if self.reason else ""})


class _Values:
    """An action whose parameters are all expressions (money and quantities stay Decimal)."""

    params: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    kind = ""

    def __init__(self, node: Any, c: Any):
        _params(node, c, self.params, self.required)
        self.values: list[tuple[str, Any]] = []
        if node.kind != "map":
            return
        for key in self.params:
            child = node.get(key)
            if child is None:
                continue
            if key in self.texts:
                self.values.append((key, ("t", c.template(child))))
            else:
                self.values.append((key, ("e", c.expr(child))))

    def run(self, st: Any) -> Effect:
        data = {k: (f(st) if t == "t" else f.fn(st.S, st)) for k, (t, f) in self.values}
        return Effect(self.kind, st.rule, data)


@event_action("propose_reorder", "Proposes a purchase of QUANTITY of SKU for LOCATION from "
              "SUPPLIER: at most one open (proposed or ordered) per location and SKU, until it is "
              "received or dismissed.",
              "propose_reorder: {sku: event.sku, location: event.location, "
              "quantity: ref.reorder_points[event.sku].eoq, supplier: "
              "ref.reorder_points[event.sku].supplier}")
class ProposeReorder(_Values):
    params = ("sku", "location", "quantity", "supplier", "reason")
    required = ("sku", "location", "quantity")
    texts = ("reason",)
    kind = "reorder"


@event_action("accrue_rebate", "Accrues shipped QUANTITY (and AMOUNT in CURRENCY) against a "
              "supplier rebate PROGRAMME for the period; the service re-rates the period at "
              "each tier, and converts an amount in another currency than the programme's "
              "at the rule set's dated fx rates.",
              "accrue_rebate: {programme: ref.rebate_programmes[event.sku].programme, "
              "sku: event.sku, quantity: event.quantity, amount: event.amount, "
              "currency: event.currency}")
class AccrueRebate(_Values):
    params = ("programme", "sku", "quantity", "amount", "currency")
    required = ("programme", "quantity")
    kind = "accrue"


@event_action("ship_and_debit", "Files a ship-and-debit claim against a supplier agreement: "
              "AMOUNT (exact, in the currency's minor unit) for QUANTITY of SKU shipped.",
              "ship_and_debit: {agreement: ref.ship_and_debit[event.sku].agreement, sku: "
              "event.sku, quantity: event.quantity, amount: (ref.ship_and_debit[event.sku]"
              ".book_cost - ref.ship_and_debit[event.sku].debit_cost) * event.quantity}")
class ShipAndDebit(_Values):
    params = ("agreement", "supplier", "sku", "quantity", "amount", "currency")
    required = ("agreement", "quantity", "amount")
    kind = "claim"


@event_action("notify", "Queues a webhook notification with a topic and a message.",
              "notify: {topic: order.status, message: \"order {order.id} is {status}\"}")
class Notify:
    def __init__(self, node: Any, c: Any):
        _params(node, c, ("topic", "message"), ("topic",))
        self.topic = c.template(node.get("topic")) if node.kind == "map" else (lambda st: "")
        self.message = _opt_template(node, "message", c)

    def run(self, st: Any) -> Effect:
        return Effect("notify", st.rule, {"topic": self.topic(st),
                                          "message": self.message(st) if self.message else ""})


def action_reference() -> list[dict[str, str]]:
    """The registry as data (for the generated reference page and `ordinance events actions`)."""
    return [{"name": k.name, "doc": k.doc, "example": k.example}
            for k in sorted(EVENT_ACTIONS.values(), key=lambda k: k.name)]
