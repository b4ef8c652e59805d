"""Holds: putting an order on hold and releasing it, as values.

In: the order's state and holds (each {code, reason, since, by, resume}), the hold or release
asked for. Out: the order's next state and holds, or None when there is nothing to do; a hold
on an order past shipping (or final) is `Refused`. Pure: `since` is given, never read from a
clock. The non-obvious choice: a hold remembers the state to `resume`; on an order already on
hold it inherits the first hold's, so releasing every hold returns the order to the state it
was in before the first one, whatever the order of releases.
"""
from __future__ import annotations

from typing import Any

from .oms_lifecycle import NOT_HOLDABLE
from .oms_values import Refused

Hold = dict[str, Any]


def hold(state: str, holds: list[Hold], code: str, reason: str, since: str,
         by: str) -> tuple[str, list[Hold]] | None:
    """(state, holds) after putting the hold `code` on; None when it is on already."""
    if state in NOT_HOLDABLE:
        raise Refused("WRONG_STATE", f"an order that is {state} cannot be put on hold")
    if any(h["code"] == code for h in holds):
        return None
    resume = state if state != "on_hold" else (holds[0]["resume"] if holds else "captured")
    return "on_hold", holds + [{"code": code, "reason": reason, "since": since, "by": by,
                                "resume": resume}]


def release(state: str, holds: list[Hold],
            code: str | None) -> tuple[str, list[Hold], list[Hold]] | None:
    """(state, holds kept, holds released) after releasing `code` (every hold when None);
    None when the order has no such hold."""
    keep = [h for h in holds if code is not None and h["code"] != code]
    gone = [h for h in holds if h not in keep]
    if not gone:
        return None
    return (state if keep else gone[0]["resume"]), keep, gone


def decision_holds(holds: list[Any], approvals: list[Any], since: str) -> list[Hold]:
    """The holds a decision put the order on, as holds of orchestration: each released by a
    person with a reason like any other. Released, the order goes on as its decision would
    have had it without them: waiting for approval when it needs one, else captured."""
    resume = "pending_approval" if approvals else "captured"
    out: list[Hold] = []
    for h in holds:
        if isinstance(h, dict) and h.get("code") and all(o["code"] != h["code"] for o in out):
            out.append({"code": str(h["code"]), "reason": str(h.get("reason") or ""),
                        "since": since, "by": "decision", "resume": resume})
    return out
