"""A change order, as orchestration follows it: what may change, the lines after it, the state.

In: the order's lines before (ordered, shipped, returned, allocations per location) and the new
decision's lines, its status, the order's state. Out: `Refused` when the change cannot be
followed (a line cut below what shipped, or a shipped line removed: BELOW_SHIPPED), the lines
after the change (`rebase`: what shipped stays shipped and needs no reservation), and the
state the order moves to (`target`). Pure.

The non-obvious choice: a change is refused, not clamped, below what shipped. Clamping would
leave an order whose invoices exceed its total and which can never finish shipping.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from .oms_values import Refused
from .values import render

# states in which a change cancels the outstanding fulfilment request
CANCELS_FULFILMENT = frozenset({"scheduled", "released", "shipped"})
# states a change re-plans (an order on hold, rejected or final stays where it is)
REPLANNED = frozenset({"captured", "scheduled", "released", "shipped", "pending_approval"})


def check_shipped(old: dict[str, Any], new: dict[str, Any], order: dict[str, Any]) -> None:
    """A change keeps at least what shipped of every line (else Refused BELOW_SHIPPED, at the
    line's quantity in the request)."""
    index = {render(ln.get("id")) or str(i + 1): i
             for i, ln in enumerate(order.get("lines") or []) if isinstance(ln, dict)}
    for lid, line in old.items():
        shipped = Decimal(line["shipped"])
        if shipped <= 0:
            continue
        now = new.get(lid)
        if now is None:
            raise Refused("BELOW_SHIPPED", f"line {lid!r} shipped {render(shipped)}; a change "
                          "order cannot remove it (keep it with at least that quantity)",
                          path="$.order.lines",
                          details={"line_id": lid, "shipped": render(shipped)})
        if Decimal(now["ordered"]) < shipped:
            raise Refused("BELOW_SHIPPED", f"line {lid!r} shipped {render(shipped)}; a change "
                          f"order cannot cut it to {now['ordered']}",
                          path=f"$.order.lines[{index.get(lid, 0)}].quantity",
                          details={"line_id": lid, "shipped": render(shipped),
                                   "quantity": now["ordered"]})


def rebase(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The new decision's lines carrying what shipped and was returned before; a line's
    allocations less what already shipped (shipped goods need no reservation)."""
    out: dict[str, Any] = {}
    for lid, line in new.items():
        before = old.get(lid, {})
        shipped = Decimal(before.get("shipped", "0"))
        allocations = dict(line.get("allocations") or {})
        for loc, qty in list(allocations.items()):
            take = min(Decimal(qty), shipped)
            shipped -= take
            allocations[loc] = str(Decimal(qty) - take)
        out[lid] = {**line, "shipped": str(Decimal(before.get("shipped", "0"))),
                    "returned": before.get("returned", "0"), "allocations": allocations}
    return out


def target(state: str, status: str) -> tuple[str, str] | None:
    """(the state after a change decided `status`, the state an accepted order resumes in);
    None when the change does not move the order (on hold, rejected, final)."""
    if state not in REPLANNED:
        return None
    accepted = "scheduled" if state != "captured" else "captured"
    return {"accepted": accepted, "pending_approval": "pending_approval",
            "on_hold": "on_hold", "rejected": "cancelled"}.get(status, state), accepted
