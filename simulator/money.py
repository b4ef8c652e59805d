"""Money in a simulation's summary: sums kept per currency, margins, and the one converted figure.

In: decisions' `pricing` sections and the rule sets' reference data. Out: per-currency sums
(`{currency: Decimal}`), rendered as strings at each currency's places; `Costing`, the margin
of a decision's lines from the rule set's product costs; `converted()`, the headline figure in
one currency at the baseline's dated rates (engine/fx.py). Raises nothing.

The non-obvious choices:
- Amounts of different currencies are never added. A single figure exists only as a
  conversion at the baseline rule set's `fx` table (both sides at the same rates, so the delta
  is the rule sets' doing, not the rates'), and carries the label that says so.
- Margin is per order line: the line's `net` minus its cost, `ref.products[sku].cost_usd` x
  quantity converted into the order's currency at that side's rates and rounded per line. A
  line whose product has no cost, or whose currency has no rate, has no margin: it is counted
  in `lines_without_cost`, never taken as zero cost.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ordinance.engine.fx import (FxError, Rates, minor_units, pad, places_of, rates_of,
                                 round_money)

ZERO = Decimal(0)
Sums = dict[str, Decimal]
COST_COLUMN, COST_CURRENCY = "cost_usd", "USD"


def add(into: Sums, currency: str, amount: Decimal) -> None:
    into[currency] = into.get(currency, ZERO) + amount   # per currency, never across


def merge(into: Sums, other: Mapping[str, Decimal]) -> None:
    for currency, amount in other.items():
        into[currency] = into.get(currency, ZERO) + amount


def render(sums: Mapping[str, Decimal], places: Mapping[str, int]) -> dict[str, str]:
    return {c: str(pad(sums[c], places_of(places, c))) for c in sorted(sums)}


def compared(baseline: Mapping[str, Decimal], candidate: Mapping[str, Decimal],
             places: Mapping[str, int]) -> dict[str, dict[str, str]]:
    """{currency: {"baseline", "candidate", "delta"}} over the currencies of either side."""
    out = {}
    for c in sorted(set(baseline) | set(candidate)):
        p = places_of(places, c)
        b, k = pad(baseline.get(c, ZERO), p), pad(candidate.get(c, ZERO), p)
        out[c] = {"baseline": str(b), "candidate": str(k), "delta": str(pad(k - b, p))}
    return out


def side_rates(reference: Mapping[str, Any]) -> tuple[Rates | None, str | None]:
    """A rule set's dated rates, or None and why not."""
    try:
        rates = rates_of(reference)
    except FxError as exc:
        return None, str(exc)
    return rates, None if rates else "the rule set has no fx table"


def converted(baseline: Mapping[str, Decimal], candidate: Mapping[str, Decimal],
              rates: Rates, target: str = COST_CURRENCY) -> dict[str, Any]:
    """Both sides' per-currency sums as one figure each in `target`, at `rates`."""
    b, c = rates.total(baseline, target), rates.total(candidate, target)
    return {"currency": target, "baseline": str(b.amount), "candidate": str(c.amount),
            "delta": str(c.amount - b.amount),
            "unconverted": sorted(set(b.unconverted) | set(c.unconverted))}


class Costing:
    """The margin of a decision's priced lines, from one rule set's product costs and rates."""

    __slots__ = ("costs", "places", "rates", "_into")

    def __init__(self, reference: Mapping[str, Any]) -> None:
        self.costs: dict[str, Decimal] = {}
        for row in reference.get("products") or ():
            if isinstance(row, dict) and isinstance(row.get(COST_COLUMN), Decimal):
                self.costs.setdefault(str(row.get("sku")), row[COST_COLUMN])
        self.rates, _ = side_rates(reference) if self.costs else (None, None)
        self.places = minor_units(reference)
        # per order currency: the cost's conversion into it (None: no rate, no margin)
        self._into: dict[Any, Callable[[Decimal], Decimal] | None] = {}

    @classmethod
    def of(cls, reference: Mapping[str, Any]) -> Costing | None:
        """The costing of a rule set whose products carry a cost; None for one without."""
        costing = cls(reference)
        return costing if costing.costs else None

    def _conversion(self, currency: str) -> Callable[[Decimal], Decimal] | None:
        if currency == COST_CURRENCY:
            places = places_of(self.places, currency)
            return lambda amount: round_money(amount, places)
        if self.rates is None:
            return None
        try:
            return self.rates.converter(COST_CURRENCY, currency)
        except FxError:
            return None

    def margin(self, pricing: Mapping[str, Any]) -> tuple[str, Decimal | None, int]:
        """(currency, the margin of the lines that have a cost or None, lines without one)."""
        currency = str(pricing.get("currency"))
        if currency in self._into:
            into = self._into[currency]
        else:
            into = self._into[currency] = self._conversion(currency)
        nets = costs = ZERO
        priced = missing = 0
        for line in pricing.get("lines") or ():
            sku = line.get("sku")
            cost = self.costs.get(sku if sku.__class__ is str else str(sku))
            if cost is None or into is None:
                missing += 1
                continue
            try:
                line_cost = into(cost * Decimal(line["quantity"]))   # rounded per line
                nets += Decimal(line["net"])
            except (KeyError, TypeError, InvalidOperation):
                missing += 1
                continue
            costs += line_cost
            priced += 1
        return currency, (nets - costs) if priced else None, missing


__all__ = ["Costing", "add", "compared", "converted", "merge", "render", "side_rates"]
