"""The decision: what evaluating one order gives (SPEC section 6).

In: what a `State` gathered (engine/state.py). Out: `Decision.to_json()`, the decision as the
API, the CLI and the simulator write it; the running `Pricing` renders its own part.

The non-obvious choice: a decision keeps its rule set, order and `Pricing` as objects rather
than rendering at once: the simulator compares decisions and reads allocations without a JSON
round trip, and most decisions in a simulation are never rendered.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .pricing import Pricing, plain
from .values import render

if TYPE_CHECKING:
    from .evaluate import CompiledRuleSet
    from .sourcing import SourcingPlan


@dataclass(frozen=True, init=False)
class Decision:
    ruleset: CompiledRuleSet
    order: dict[str, Any]
    as_of: datetime.date
    status: str
    violations: list[dict[str, Any]]
    holds: list[dict[str, Any]]
    pricing: Pricing | None
    sourcing: list[dict[str, Any]] | None
    approvals: list[dict[str, Any]]
    fired: list[str]
    errors: list[dict[str, Any]]
    steps: int = 0  # of the evaluation budget spent (engine/budget.py); not in the JSON
    # per promised line, the candidates its `source` action ranked (engine/sourcing.py
    # SourcingPlan): what the service reserves over; not in the JSON
    plans: tuple[SourcingPlan, ...] = ()

    def __init__(self, ruleset: CompiledRuleSet, order: dict[str, Any], as_of: datetime.date,
                 status: str, violations: list[dict[str, Any]], holds: list[dict[str, Any]],
                 pricing: Pricing | None, sourcing: list[dict[str, Any]] | None,
                 approvals: list[dict[str, Any]], fired: list[str],
                 errors: list[dict[str, Any]], steps: int = 0,
                 plans: tuple[SourcingPlan, ...] = ()):
        # the fields in one store (a frozen dataclass's own __init__ sets each through
        # object.__setattr__: a decision is made per order, issue 16)
        self.__dict__.update(
            ruleset=ruleset, order=order, as_of=as_of, status=status, violations=violations,
            holds=holds, pricing=pricing, sourcing=sourcing, approvals=approvals, fired=fired,
            errors=errors, steps=steps, plans=plans)

    @property
    def order_id(self) -> Any:
        return self.order.get("id")

    def allocations(self) -> list[tuple[str, str, Decimal]]:
        out = []
        for line in self.sourcing or []:
            for a in line["allocations"]:
                out.append((a["location"], render(line["sku"]), a["quantity"]))
            for part in line.get("parts", ()):  # a configured line (engine/configurator)
                for a in part["allocations"]:
                    out.append((a["location"], part["sku"], a["quantity"]))
        return out

    def to_json(self) -> dict[str, Any]:
        rs = self.ruleset
        sourcing = None
        if self.sourcing is not None:
            lines = []
            for s in self.sourcing:
                line = {"line_id": s["line_id"], "sku": s["sku"],
                        "backordered": plain(s["backordered"]),
                        "allocations": _allocations(s["allocations"])}
                if "promise" in s:
                    line["promise"] = s["promise"]
                if "parts" in s:
                    line["parts"] = [_part(p) for p in s["parts"]]
                lines.append(line)
            sourcing = {"lines": lines}
        return {
            "order_id": self.order_id,
            "status": self.status,
            "as_of": _iso_of(self.as_of) or _iso(self.as_of),
            "ruleset": {"name": rs.name, "version": rs.version, "digest": rs.digest},
            "order": self.order,
            "violations": self.violations,
            "holds": self.holds,
            "pricing": self.pricing.to_json() if self.pricing is not None else None,
            "sourcing": sourcing,
            "approvals": self.approvals,
            "fired": self.fired,
            "errors": self.errors,
        }



# a date's ISO text, kept: a stream's allocations fall on a few dates, and `isoformat` formats
# through printf (issue 16); bounded
_ISO: dict[datetime.date, str] = {}
_iso_of = _ISO.get


def _iso(d: datetime.date) -> str:
    text = d.isoformat()
    if len(_ISO) < 10_000:
        _ISO[d] = text
    return text


def _allocations(allocations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for a in allocations:
        q = a["quantity"]
        text = str(q)
        ship, arrival = a["ship_date"], a["arrival_date"]
        out.append({"location": a["location"],
                    "quantity": format(q, "f") if "E" in text else text,
                    "ship_date": _iso_of(ship) or _iso(ship),
                    "arrival_date": _iso_of(arrival) or _iso(arrival)})
    return out


def _part(p: dict[str, Any]) -> dict[str, Any]:
    """A part of a configured line's bill of material, sourced (engine/configurator)."""
    out = {"sku": p["sku"], "quantity": plain(p["quantity"]),
           "backordered": plain(p["backordered"]),
           "allocations": _allocations(p["allocations"])}
    if "promise" in p:
        out["promise"] = p["promise"]
    return out
