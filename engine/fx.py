"""Currency conversion at a rule set's dated planning rates, written once for every caller.

In: a rule set's reference data (`CompiledRuleSet.reference`, {table: rows}): the `fx` table
(columns `currency, per_usd, date`: units of the currency per US dollar, and the date of the
rates, one value for the whole table) and the `currencies` table (`code, minor_unit`). Out:
`Rates` (frozen), which converts one amount (`convert`) or a per-currency amount map into one
currency (`total`, a `Conversion` that names the rates' source and date). Raises `FxError`
with the table, row and column for a table that cannot be read as dated rates, and for a
target currency the table has no rate for.

The non-obvious choices:
- A conversion is explicit and says so: `Conversion.label` is "converted to USD at fx.csv
  rates of 2026-11-01". An undated table is refused rather than used: a converted figure
  whose rates' date nobody can tell is the mistake this module exists to prevent.
- A currency the table has no rate for is never dropped and never added raw: `total` keeps it
  in `unconverted`, and the caller shows it apart.
- Arithmetic is exact Decimal: amount * per_usd[to] / per_usd[from] in a context of 60
  digits, then rounded half-up once to the target's minor unit (from the rule set's
  `currencies` table; 2 when unknown, as SPEC section 4). `total` rounds each currency's
  converted amount, then adds them, so the parts shown add up to the total shown.
"""
from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

DEFAULT_PLACES = 2
_EXACT = Context(prec=60)     # amount x rate / rate: exact for any amount money takes here
_EXPONENTS = [Decimal(1).scaleb(-p) for p in range(9)]


class FxError(ValueError):
    """A rates table that cannot be used, or a conversion it cannot make."""


def minor_units(reference: Mapping[str, Any]) -> dict[str, int]:
    """{currency code: minor unit} from the rule set's `currencies` table (code, minor_unit);
    rows without a whole minor unit are left out (they round to `DEFAULT_PLACES`)."""
    out: dict[str, int] = {}
    for row in reference.get("currencies") or ():
        if not isinstance(row, dict):
            continue
        code, unit = row.get("code"), row.get("minor_unit")
        if isinstance(code, str) and isinstance(unit, Decimal) and unit == unit.to_integral_value() \
                and 0 <= unit <= 8:
            out[code] = int(unit)
    return out


def places_of(places: Mapping[str, int], currency: str) -> int:
    return places.get(currency, DEFAULT_PLACES)


def round_money(amount: Decimal, places: int) -> Decimal:
    exponent = _EXPONENTS[places] if 0 <= places < 9 else Decimal(1).scaleb(-places)
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def pad(amount: Decimal, places: int) -> Decimal:
    """`amount` written with at least `places` decimals; never rounds away a digit."""
    exponent = amount.as_tuple().exponent  # a letter only for NaN and infinity: not money
    if isinstance(exponent, int) and exponent > -places:
        return amount.quantize(Decimal(1).scaleb(-places))
    return amount


@dataclass(frozen=True)
class Conversion:
    """A per-currency amount map converted into one currency."""

    currency: str
    amount: Decimal                           # the converted parts added up
    parts: Mapping[str, Decimal]              # each converted currency's share, rounded
    unconverted: Mapping[str, Decimal]        # currencies without a rate, as they were
    label: str                                # "converted to USD at fx.csv rates of ..."


@dataclass(frozen=True)
class Rates:
    per_usd: Mapping[str, Decimal]
    date: str                                 # YYYY-MM-DD
    source: str = "fx.csv"
    places: Mapping[str, int] = field(default_factory=dict)

    def label(self, target: str) -> str:
        return f"converted to {target} at {self.source} rates of {self.date}"

    def rate(self, source: str, target: str) -> Decimal:
        """Units of `target` per unit of `source` (exact to 60 digits). FxError when either
        has no rate."""
        self._check(source, target)
        return _EXACT.divide(self.per_usd[target], self.per_usd[source])

    def _check(self, *codes: str) -> None:
        for code in codes:
            if code not in self.per_usd:
                raise FxError(f"no rate for {code} in {self.source} (rates of {self.date})")

    def converter(self, source: str, target: str) -> Callable[[Decimal], Decimal]:
        """The conversion from `source` to `target` as a function of the amount (for many
        amounts of one pair): amount x per_usd[target] / per_usd[source], exact, then rounded
        half-up to the target's minor unit (also when source is target)."""
        self._check(source, target)
        places = places_of(self.places, target)
        exponent = _EXPONENTS[places] if 0 <= places < 9 else Decimal(1).scaleb(-places)
        into, out_of = self.per_usd[target], self.per_usd[source]
        if into == out_of:
            return lambda amount: amount.quantize(exponent, ROUND_HALF_UP)
        multiply, divide = _EXACT.multiply, _EXACT.divide
        return lambda amount: divide(multiply(amount, into), out_of).quantize(
            exponent, ROUND_HALF_UP)

    def convert(self, amount: Decimal, source: str, target: str) -> Decimal:
        """`amount` of `source` in `target`, rounded half-up to the target's minor unit."""
        return self.converter(source, target)(amount)

    def total(self, amounts: Mapping[str, Decimal], target: str = "USD") -> Conversion:
        """The amounts of every currency the table knows, converted into `target` and added;
        the others are kept apart in `unconverted`. FxError when `target` has no rate."""
        if target not in self.per_usd:
            raise FxError(f"no rate for {target} in {self.source} (rates of {self.date})")
        parts: dict[str, Decimal] = {}
        unconverted: dict[str, Decimal] = {}
        for code in sorted(amounts):
            if code in self.per_usd:
                parts[code] = self.convert(amounts[code], code, target)
            else:
                unconverted[code] = amounts[code]
        amount = sum(parts.values(), pad(Decimal(0), places_of(self.places, target)))
        return Conversion(target, amount, parts, unconverted, self.label(target))


def rates_of(reference: Mapping[str, Any], table: str = "fx") -> Rates | None:
    """The dated rates of a rule set's reference data; None when it has no `fx` table.
    FxError (naming the row and column) when the table is there but not usable."""
    rows = reference.get(table)
    if rows is None:
        return None
    source = f"{table}.csv"
    if not isinstance(rows, list) or not rows:
        raise FxError(f"{source}: no rates")
    per_usd: dict[str, Decimal] = {}
    dates: set[str] = set()
    for n, row in enumerate(rows, start=2):     # row 1 is the header
        where = f"{source} row {n}"
        if not isinstance(row, dict):
            raise FxError(f"{where}: not a row of currency, per_usd, date")
        code, rate, day = row.get("currency"), row.get("per_usd"), row.get("date")
        if not isinstance(code, str) or not code:
            raise FxError(f"{where}, column currency: a currency code is needed, not {code!r}")
        try:
            rate = Decimal(rate) if isinstance(rate, (Decimal, int, str)) \
                and not isinstance(rate, bool) else None
        except InvalidOperation:
            rate = None
        if rate is None or not rate.is_finite() or rate <= 0:
            raise FxError(f"{where}, column per_usd: {code} needs a positive number of units "
                          f"per US dollar, not {row.get('per_usd')!r}")
        if code in per_usd:
            raise FxError(f"{where}, column currency: a second rate for {code}")
        if day is None:
            raise FxError(f"{where}, column date: the rates' date is missing (the table needs "
                          "a date column, one date for the whole table)")
        try:
            text = day.isoformat() if isinstance(day, datetime.date) else \
                datetime.date.fromisoformat(str(day)).isoformat()
        except ValueError:
            raise FxError(f"{where}, column date: not a date YYYY-MM-DD: {day!r}") from None
        per_usd[code] = rate
        dates.add(text)
    if len(dates) > 1:
        raise FxError(f"{source}, column date: one date for the whole table, not "
                      f"{', '.join(sorted(dates))}")
    return Rates(per_usd, dates.pop(), source, minor_units(reference))


__all__ = ["Conversion", "FxError", "Rates", "minor_units", "pad", "places_of", "rates_of",
           "round_money"]
