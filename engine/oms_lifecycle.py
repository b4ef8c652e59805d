"""The order lifecycle: which event moves an order from which state to which.

In: the order's state (and its per-line quantities for shipments) and an event type. Out: the
next state, or `Refused` (engine/oms_values.py; a 409 at the doors) naming the state and what
the event needs, so an event that does not fit changes nothing. Events that are not lifecycle
events (payment attempts, step progress, estimates) are accepted in every state but the final
ones. Pure: no clock, no storage; lines are read, never changed (`shipment` returns the new
shipped quantities).

States (engine/events.py STATES): captured, on_hold, pending_approval, scheduled, released,
shipped (per line, partial allowed), delivered, billed, paid, closed, cancelled, returned.
`on_hold` is entered and left by holds (engine/oms_holds.py): leaving it returns the order to
the state it was held in.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from .oms_values import Refused

FINAL = frozenset({"closed", "cancelled"})
BEFORE_SHIPPING = frozenset({"captured", "pending_approval", "on_hold", "scheduled", "released"})
# states in which no hold may be put on the order
NOT_HOLDABLE = FINAL | {"rejected", "shipped", "delivered", "billed", "paid", "returned"}

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
    """The state after the event; raises Refused when the event does not fit the state."""
    if state == "rejected":
        raise Refused("ORDER_REJECTED", "the order was rejected by its decision; it takes no "
                      "events")
    rule = TRANSITIONS.get(event_type)
    if rule is None:
        if state in FINAL:
            raise Refused("WRONG_STATE", f"the order is {state}; it takes no more events",
                          details={"state": state, "event": event_type})
        return state
    allowed, to = rule
    if state not in allowed:
        raise Refused("WRONG_STATE", f"a {event_type} event does not fit an order that is "
                      f"{state} (it needs {', '.join(sorted(allowed))})",
                      details={"state": state, "event": event_type,
                               "allowed_in": sorted(allowed)})
    return to or state


def check_transition(state: str, to: str) -> None:
    """A rule's `transition` action: allowed when some lifecycle event leads there."""
    if to == state:
        return
    if state in FINAL or state == "rejected":
        raise Refused("WRONG_STATE", f"the order is {state}; it cannot become {to}")
    if not any(t == to and state in allowed for allowed, t in TRANSITIONS.values()):
        raise Refused("WRONG_STATE", f"an order that is {state} cannot become {to}")


def shipment(lines: dict[str, Any], shipped: list[tuple[str, Decimal]]) -> dict[str, str]:
    """The shipped quantity of each line the shipment names, after it (raises Refused past the
    ordered quantity or for a line the order does not have, naming the JSON path)."""
    out: dict[str, str] = {}
    for i, (line_id, qty) in enumerate(shipped):
        line = lines.get(line_id)
        if line is None:
            raise Refused("UNKNOWN_LINE", f"the order has no line {line_id!r}",
                          path=f"$.lines[{i}].line_id")
        done = Decimal(out.get(line_id, line["shipped"])) + qty
        if done > Decimal(line["ordered"]):
            raise Refused("OVER_SHIPPED", f"line {line_id!r}: shipping {qty} would make {done} "
                          f"of {line['ordered']} ordered", path=f"$.lines[{i}].quantity")
        out[line_id] = str(done)
    return out


def fully_shipped(lines: dict[str, Any]) -> bool:
    return all(Decimal(v["shipped"]) >= Decimal(v["ordered"]) for v in lines.values())
