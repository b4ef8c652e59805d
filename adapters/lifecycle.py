"""The order lifecycle as orchestration applies it: the core's rules (engine/oms_lifecycle.py)
with its refusals turned into the service's 409 Conflict (`conflict`).

In: the order's state, an event type, the per-line quantities. Out: the next state, or a
Conflict naming the state and what the event needs. The non-obvious choice: the core raises a
value of its own (`Refused`), this module is the one place that maps it to an HTTP-facing
error, so the core never imports the service.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar

from ordinance.engine import oms_lifecycle as core
from ordinance.engine.oms_values import Refused

from .store import Conflict

FINAL = core.FINAL
BEFORE_SHIPPING = core.BEFORE_SHIPPING
NOT_HOLDABLE = core.NOT_HOLDABLE
TRANSITIONS = core.TRANSITIONS
initial_state = core.initial_state
fully_shipped = core.fully_shipped
T = TypeVar("T")


@contextmanager
def conflict() -> Iterator[None]:
    """Turns the core's `Refused` into a Conflict (409) with the same code, path, details."""
    try:
        yield
    except Refused as exc:
        r = exc.refusal
        raise Conflict(r.message, code=r.code, path=r.path,
                       details=dict(r.details) or None) from None


def _refusing(fn: Callable[..., T], *args: Any) -> T:
    with conflict():
        return fn(*args)


def next_state(state: str, event_type: str) -> str:
    return _refusing(core.next_state, state, event_type)


def check_transition(state: str, to: str) -> None:
    _refusing(core.check_transition, state, to)


def apply_shipment(lines: dict[str, dict[str, str]], shipped: list[tuple[str, Decimal]]) -> bool:
    """Adds shipped quantities per line (Conflict past the ordered quantity, naming the JSON
    path); returns whether every line is now fully shipped."""
    for line_id, done in _refusing(core.shipment, lines, shipped).items():
        lines[line_id]["shipped"] = done
    return core.fully_shipped(lines)
