"""The order lifecycle: which event moves an order from which state to which (issue #6, 1).

In: the order's state (and its per-line quantities for shipments) and an event type. Out: the
next state, or `Conflict` (409) naming the state and what the event needs, so an event that does
not fit changes nothing. Events that are not lifecycle events (payment attempts, step progress,
estimates) are accepted in every state but the final ones.

States (engine/events.py STATES): captured, on_hold, pending_approval, scheduled, released,
shipped (per line, partial allowed), delivered, billed, paid, closed, cancelled, returned.
`on_hold` is entered and left by holds (adapters/orchestration.py): leaving it returns the order
to the state it was held in.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from .store import Conflict

FINAL = frozenset({"closed", "cancelled"})
BEFORE_SHIPPING = frozenset({"captured", "pending_approval", "on_hold", "scheduled", "released"})

# event type -> (states it may arrive in, state it leads to; None: stays)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "approved": (frozenset({"pending_approval"}), "captured"),
    "scheduled": (frozenset({"captured"}), "scheduled"),
    "released": (frozenset({"scheduled"}), "released"),
    "shipment_confirmed": (frozenset({"released", "shipped"}), "shipped"),
    "delivered": (frozenset({"shipped"}), "delivered"),
    "billed": (frozenset({"shipped", "delivered"}), "billed"),
    "paid": (frozenset({"billed"}), "paid"),
    "closed": (frozenset({"paid", "returned"}), "closed"),
    "cancelled": (BEFORE_SHIPPING, "cancelled"),
    "returned": (frozenset({"delivered", "billed", "paid"}), "returned"),
}


def initial_state(hub_status: str) -> str:
    """The state of an order the first time orchestration sees it, from its decision."""
    return {"accepted": "captured", "on_hold": "on_hold",
            "pending_approval": "pending_approval"}.get(hub_status, "rejected")


def next_state(state: str, event_type: str) -> str:
    """The state after the event; raises Conflict when the event does not fit the state."""
    if state == "rejected":
        raise Conflict("the order was rejected by its decision; it takes no events",
                       code="ORDER_REJECTED")
    rule = TRANSITIONS.get(event_type)
    if rule is None:
        if state in FINAL:
            raise Conflict(f"the order is {state}; it takes no more events",
                           code="WRONG_STATE", details={"state": state, "event": event_type})
        return state
    allowed, to = rule
    if state not in allowed:
        raise Conflict(f"a {event_type} event does not fit an order that is {state} "
                       f"(it needs {', '.join(sorted(allowed))})", code="WRONG_STATE",
                       details={"state": state, "event": event_type,
                                "allowed_in": sorted(allowed)})
    return to or state


def check_transition(state: str, to: str) -> None:
    """A rule's `transition` action: allowed when some lifecycle event leads there."""
    if to == state:
        return
    if state in FINAL or state == "rejected":
        raise Conflict(f"the order is {state}; it cannot become {to}", code="WRONG_STATE")
    if not any(t == to and state in allowed for allowed, t in TRANSITIONS.values()):
        raise Conflict(f"an order that is {state} cannot become {to}", code="WRONG_STATE")


def apply_shipment(lines: dict[str, dict[str, str]], shipped: list[tuple[str, Decimal]]) -> bool:
    """Adds shipped quantities per line (raises Conflict past the ordered quantity, naming the
    JSON path); returns whether every line is now fully shipped."""
    for i, (line_id, qty) in enumerate(shipped):
        line = lines.get(line_id)
        if line is None:
            raise Conflict(f"the order has no line {line_id!r}", code="UNKNOWN_LINE",
                           path=f"$.lines[{i}].line_id")
        done = Decimal(line["shipped"]) + qty
        if done > Decimal(line["ordered"]):
            raise Conflict(f"line {line_id!r}: shipping {qty} would make {done} of "
                           f"{line['ordered']} ordered", code="OVER_SHIPPED",
                           path=f"$.lines[{i}].quantity")
        line["shipped"] = str(done)
    return fully_shipped(lines)


def fully_shipped(lines: dict[str, Any]) -> bool:
    return all(Decimal(v["shipped"]) >= Decimal(v["ordered"]) for v in lines.values())
