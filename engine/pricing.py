"""Pricing arithmetic (SPEC section 4): running line prices, adjustments, spreads, taxes, totals.

In: the order's lines and currency; pricing actions call the methods here as they fire.
Out: the `pricing` section of a decision, and the `pricing` / `line.pricing` views that
expressions read while rules run.

Money is Decimal, rounded half up to the currency's minor unit at every step that produces an
amount. The minor units are data, never a library's answer at run time: the ISO 4217 table
frozen in engine/data/iso4217.csv (published 2026-01-01), overridden per code by the rule set's
`currencies` reference table (its `minor_unit` column), resolved once per compiled rule set
(`minor_unit_table`); a code in neither has 2. Unit prices are kept as given. A discount never
takes a net below zero: it is capped and the caller adds a `PRICE_FLOOR` warning. Tax is kept
as rates (with their jurisdiction and rule) while rules run and computed on each line's final
net when the phase ends, so a tax rule may fire before the discounts it must follow; the line's
tax is rounded on the summed rate, and its breakdown by tax (`tax_breakdown`) adds up to it
exactly. Every amount is written with its currency's places, a zero too ("0.00", never "0" or
"-0.00"). Products are computed exactly (`times`, values.EXACT) and rounded once.

Totals are kept up to date as the lines change (each line updates its `Pricing`'s running net,
extended, discount and tax totals; charges through `add_charge`), so a rule reading `pricing`
costs no pass over the lines: `view` only computes the tax of the lines whose net or rates
changed since the last view (`stale`), on their current net, as the full pass did.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, DecimalException, InvalidOperation
from itertools import compress
from operator import is_not
from pathlib import Path
from typing import Any, Mapping

from .values import (AMOUNT_LIMIT, DEFAULT, EXACT, HALF_UP, D, LazyObject, RuleError, Table,
                     render, show, written_alike)

ZERO = D(0)
HUNDRED = D(100)
LIMIT = AMOUNT_LIMIT
CENT = D("0.01")


DEFAULT_PLACES = 2  # a currency in no table (SPEC section 4)
MAX_PLACES = 8


def _iso_4217() -> dict[str, int]:
    """The frozen ISO 4217 table shipped with the engine (code -> minor unit); codes with no
    minor unit (XAU, XDR, ...) are left out, so they take DEFAULT_PLACES."""
    text = Path(__file__).with_name("data").joinpath("iso4217.csv").read_text("utf-8")
    rows = [line.split(",") for line in text.splitlines()[1:] if line.strip()]
    return {code: int(unit) for code, unit in rows}


ISO_4217: Mapping[str, int] = _iso_4217()


def minor_unit(row: Any) -> int | None:
    """A `currencies` row's minor unit, or None when it gives none (or not a usable one:
    `check` reports that, see ruleset.py)."""
    v = row.get("minor_unit") if row.__class__ is dict else None
    if v.__class__ is D and v == v.to_integral_value() and 0 <= v <= MAX_PLACES:
        return int(v)
    return None


def minor_unit_table(currencies: Table | None) -> dict[str, int]:
    """ISO 4217 with the rule set's `currencies` table laid over it, code by code."""
    out = dict(ISO_4217)
    for row in currencies.rows if currencies is not None else ():
        code, places = row.get("code") if row.__class__ is dict else None, minor_unit(row)
        if code.__class__ is str and places is not None:
            out[code.strip().upper()] = places
    return out


def places_of(currency: Any, table: Mapping[str, int]) -> int:
    if currency.__class__ is not str:
        return DEFAULT_PLACES
    places = table.get(currency)
    if places is None:
        places = table.get(currency.strip().upper(), DEFAULT_PLACES)
    return places


_EXPONENTS = [D(1).scaleb(-p) for p in range(MAX_PLACES + 1)]
_ZEROS = [D(0).scaleb(-p) for p in range(MAX_PLACES + 1)]  # "0", "0.0", "0.00", ...
_EXACT_MUL, _EXACT_ADD, _EXACT_SCALEB = EXACT.multiply, EXACT.add, EXACT.scaleb
_ROUND = HALF_UP.quantize  # x.quantize(exp, rounding=ROUND_HALF_UP), by position (values.py)
_NORMALIZE = DEFAULT.normalize  # x.normalize()


def money(x: Decimal, places: int) -> Decimal:
    """x rounded half up to `places`, written with them (a zero too, and never as -0)."""
    try:
        q = _ROUND(x, _EXPONENTS[places])
    except InvalidOperation:  # more digits than the context's 28 before the point
        raise RuleError(f"amount out of range: {show(x)}") from None
    return q if q else _ZEROS[places]


def times(a: Decimal, b: Decimal) -> Decimal:
    """a x b exactly (values.EXACT), for an amount about to be rounded once."""
    try:
        return _EXACT_MUL(a, b)
    except DecimalException:
        raise RuleError(f"{show(a)} x {show(b)} cannot be computed exactly") from None


def money_times(a: Decimal, b: Decimal, places: int) -> Decimal:
    """`money(times(a, b), places)` in one call (a line's extended price, a per-unit
    discount: issue 16), raising the errors those two name."""
    try:
        q = _ROUND(_EXACT_MUL(a, b), _EXPONENTS[places])
    except DecimalException:
        return money(times(a, b), places)  # raises the error it names
    return q if q else _ZEROS[places]


def percent_of(amount: Decimal, rate: Decimal, places: int) -> Decimal:
    """rate percent of amount, computed exactly and rounded once."""
    return money(times(amount, rate).scaleb(-2, EXACT), places)


def number(v: Any, what: str) -> Decimal:
    if v.__class__ is not D:
        raise RuleError(f"{what} must be a number, got {show(v)}")
    if not v.is_finite() or abs(v) > LIMIT:
        raise RuleError(f"{what} is out of range: {show(v)}")
    return v


@dataclass(init=False, eq=False)
class LinePrice(LazyObject):
    """One line's running pricing (its fields as declared below; `__init__` is written out
    rather than generated: a decision makes one per line, issue 16). It is also what
    expressions read as `line.pricing` (a `LazyObject`: `get` reads its `view`), compared by
    identity as every object of the language that is not data."""

    index: int
    line_id: str
    sku: Any
    quantity: Decimal | None
    places: int
    list_price: Decimal | None = None
    extended: Decimal = ZERO
    net: Decimal = ZERO
    priced: bool = False
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    tax_rates: list[Decimal] = field(default_factory=list)
    tax_sources: list[tuple[str | None, str]] = field(default_factory=list)  # (jurisdiction,
    # rule) of each rate, in firing order
    tax: Decimal = ZERO
    discounted: Decimal = ZERO  # discounts and price-lowering overrides so far (positive)
    cached_view: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    # the running totals this line keeps up to date (its Pricing's; None: a line on its own)
    owner: Totals | None = field(default=None, repr=False, compare=False)
    tax_stale: bool = False  # has tax rates and its tax was not computed on its current net

    def __init__(self, index: int, line_id: str, sku: Any, quantity: Decimal | None,
                 places: int, zero: Decimal = ZERO, owner: Totals | None = None):
        """A line not priced yet; its amounts `zero` (the currency's zero, "0.00")."""
        self.index = index
        self.line_id = line_id
        self.sku = sku
        self.quantity = quantity
        self.places = places
        self.list_price = None
        self.extended = self.net = self.tax = zero
        self.discounted = ZERO
        self.priced = False
        self.adjustments = []
        self.tax_rates = []
        self.tax_sources = []
        self.cached_view = None
        self.owner = owner
        self.tax_stale = False

    def qty(self) -> Decimal:
        if self.quantity is None:
            raise RuleError(f"line {self.line_id} has no numeric quantity to price")
        return self.quantity

    def set_list_price(self, unit: Decimal) -> None:
        q = self.quantity
        if q is None:
            q = self.qty()  # raises the error it names
        self.set_extended(money_times(unit, q, self.places), unit)

    def set_extended(self, extended: Decimal, unit: Decimal) -> None:
        old_extended, old_net = self.extended, self.net
        adjusted = old_net - old_extended if self.priced else ZERO
        self.list_price = unit
        self.extended = extended
        self.net = net = extended + adjusted
        self.priced = True
        self.cached_view = None
        owner = self.owner
        if owner is not None:
            owner.extended += extended - old_extended
            owner.net += net - old_net
            if self.tax_rates and not self.tax_stale:
                self.tax_stale = True
                owner.stale.append(self.index)

    def adjust(self, rule: str, kind: str, amount: Decimal, reason: str) -> bool:
        """Applies a rounded amount (negative lowers the net); False when a floor capped it."""
        net = self.net
        new = net + amount
        capped = False
        # (compared with ZERO, a Decimal: against the int 0 each test converts it first)
        if new < ZERO and amount < ZERO:
            capped = True
            amount = -net if net > ZERO else ZERO
            if not amount:
                amount = _ZEROS[self.places]
            new = net + amount
        elif not amount:
            amount = _ZEROS[self.places]  # not -0.00 (a discount of 0 percent), nor 0
            new = net + amount
        self.net = new
        owner = self.owner
        if kind == "discount" or (kind == "override" and amount < ZERO):
            self.discounted -= amount
            if owner is not None:
                owner.discount -= amount
        # the entry as the decision writes it: its amount rounded to the currency's places,
        # so written by str alone up to 6 places (see Pricing.to_json), else by `plain`
        self.adjustments.append({"rule": rule, "kind": kind,
                                 "amount": str(amount) if self.places <= 6 else plain(amount),
                                 "reason": reason})
        self.cached_view = None
        if owner is not None:
            owner.net += amount
            if self.tax_rates and not self.tax_stale:
                self.tax_stale = True
                owner.stale.append(self.index)
        return not capped

    def adjust_percent(self, rule: str, kind: str, rate: Decimal, lower: bool,
                       reason: str) -> bool:
        """`adjust` by `rate` percent of the running net (lowering it when `lower`): the
        product exact, rounded once, as percent_of, in one call."""
        places = self.places
        try:
            q = _ROUND(_EXACT_SCALEB(_EXACT_MUL(self.net, rate), -2), _EXPONENTS[places])
        except DecimalException:
            q = percent_of(self.net, rate, places)  # raises the error it names
        if not q:
            q = _ZEROS[places]
        return self.adjust(rule, kind, -q if lower else q, reason)

    def add_tax(self, rate: Decimal, jurisdiction: str | None, rule: str) -> None:
        self.tax_rates.append(rate)
        self.tax_sources.append((jurisdiction, rule))
        owner = self.owner
        if owner is not None and not self.tax_stale:
            self.tax_stale = True
            owner.stale.append(self.index)

    def set_tax(self, tax: Decimal) -> None:
        if tax != self.tax:
            owner = self.owner
            if owner is not None:
                owner.line_tax += tax - self.tax
            self.tax = tax
            self.cached_view = None

    def copy(self) -> LinePrice:
        new = LinePrice.__new__(LinePrice)
        new.__dict__.update(self.__dict__)
        new.adjustments = self.adjustments.copy()  # entries are never changed once added
        new.tax_rates = self.tax_rates.copy()
        new.tax_sources = self.tax_sources.copy()
        return new

    def get(self, key: str) -> Any:
        return self.view().get(key)

    def view(self) -> dict[str, Any]:
        """`line.pricing` for expressions; rebuilt only after the line changed."""
        view = self.cached_view
        if view is None:
            view = self.cached_view = {
                "list_price": self.list_price, "extended": self.extended, "net": self.net,
                "discount_percent": percent(self.discounted, self.extended), "tax": self.tax,
                "quantity": self.quantity}
        return view


# the fields of `pricing` that no tax is part of (Pricing.untaxed)
UNTAXED = frozenset({"currency", "subtotal", "discount_total", "discount_percent",
                     "charges_total"})


def percent(part: Decimal, whole: Decimal) -> Decimal:
    if not whole or not part:
        return ZERO
    return _NORMALIZE(_ROUND(part * HUNDRED / whole, CENT)) + ZERO


class Totals:
    """A pricing's running totals, which its lines keep up to date as they change (one
    currency: the pricing's). An object of its own, not the Pricing, so that a line refers to
    no object that refers back to it: a decision's pricing is freed as soon as it is dropped,
    not by the cyclic collector (which kept every decision of a stream alive until a
    collection, issue 16)."""

    __slots__ = ("net", "extended", "discount", "line_tax", "stale")

    def __init__(self, zero: Decimal):
        self.net = self.extended = self.discount = self.line_tax = zero
        self.stale: list[int] = []  # indexes of lines whose tax is not on their current net

    def copy(self) -> Totals:
        new = Totals.__new__(Totals)
        new.net, new.extended, new.discount = self.net, self.extended, self.discount
        new.line_tax, new.stale = self.line_tax, self.stale.copy()
        return new


class Pricing:
    """The running pricing of one decision."""

    def __init__(self, currency: Any, lines: list[dict[str, Any]],
                 minor_units: Mapping[str, int] = ISO_4217):
        self.currency = currency if isinstance(currency, str) else None
        self.places = places = places_of(self.currency, minor_units)
        zero = _ZEROS[places]
        # running totals, kept up to date by the lines as they change; the lines' taxes follow
        # their nets only when `view` runs (SPEC section 4: tax is on the final net), for the
        # lines listed in `totals.stale`
        self.totals = totals = Totals(zero)
        self.charges_total = self.charges_tax = zero
        self.lines: list[LinePrice] = []
        for i, line in enumerate(lines):
            qty = line.get("quantity")
            lid = line.get("id")  # line_id(line, i), a text id taken without a call
            lp = LinePrice(i, lid if lid.__class__ is str else line_id(line, i),
                           line.get("sku"), qty if qty.__class__ is D else None, places, zero,
                           totals)
            unit = line.get("unit_price")
            if unit.__class__ is D and lp.quantity is not None:
                lp.set_list_price(unit)
            self.lines.append(lp)
        self.charges: list[dict[str, Any]] = []
        self.recurring: list[dict[str, Any]] = []
        self.final: dict[str, Any] | None = None  # the view once the pricing phase ended
        self.final_json: dict[str, Any] | None = None

    def state(self) -> list[Any]:
        """Everything the outcome and the views depend on, flat (see same_pricing)."""
        out: list[Any] = [self.currency, len(self.lines)]
        for lp in self.lines:
            out += (lp.quantity, lp.list_price, lp.extended, lp.net, lp.priced, lp.tax,
                    lp.discounted, len(lp.tax_rates), len(lp.adjustments))
            out += lp.tax_rates
            out += lp.tax_sources
            for e in lp.adjustments:
                out += e  # the keys, in order
                out += e.values()
        for entries in (self.charges, self.recurring):
            out.append(len(entries))
            for e in entries:
                out += e
                out += e.values()
        return out

    def copy(self) -> Pricing:
        """A copy to go on apart from (evaluate_pair); charges and recurring entries are
        never changed once added, so they are shared."""
        new = Pricing.__new__(Pricing)
        new.__dict__.update(self.__dict__)
        new.totals = totals = self.totals.copy()
        new.lines = lines = [lp.copy() for lp in self.lines]
        for lp in lines:
            lp.owner = totals
        new.charges = self.charges.copy()
        new.recurring = self.recurring.copy()
        return new

    def money(self, x: Decimal) -> Decimal:
        return money(x, self.places)

    # -- order-level spreading ---------------------------------------------------------------
    def spread(self, rule: str, kind: str, amount: Decimal, reason: str) -> bool:
        """Spreads a rounded order-level amount over the lines in proportion to their nets."""
        lines = self.lines
        if not lines:
            return True
        base = self.subtotal()
        if base > ZERO:
            shares = [self.money(amount * lp.net / base) for lp in lines]
        else:
            shares = [_ZEROS[self.places] for _ in lines]
        remainder = amount - sum(shares, ZERO)
        if remainder:
            largest = max(range(len(lines)), key=lambda i: (lines[i].net, -i))
            shares[largest] += remainder
        ok = True
        for lp, share in zip(lines, shares):
            ok = lp.adjust(rule, kind, share, reason) and ok
        return ok

    def add_charge(self, entry: dict[str, Any]) -> None:
        """An order charge (`amount`, and `tax` when it is taxed), counted in the totals."""
        self.charges.append(entry)
        self.charges_total += entry["amount"]
        t = entry.get("tax")
        if t is not None:
            self.charges_tax += t

    # -- totals ------------------------------------------------------------------------------
    def subtotal(self) -> Decimal:
        return self.totals.net if self.lines else ZERO

    def untaxed(self, key: str) -> Any:  # key: one of UNTAXED
        """`view()[key]` of a field no tax is part of (currency, subtotal, discount_total,
        discount_percent, charges_total), without computing the taxes of the lines that
        changed: those wait for a read of tax_total or total, or the end of pricing."""
        if key == "subtotal":
            return self.totals.net
        if key == "discount_total":
            return self.totals.discount
        if key == "discount_percent":
            return percent(self.totals.discount, self.totals.extended)
        if key == "charges_total":
            return self.charges_total
        if key == "currency":
            return self.currency
        raise KeyError(key)

    def view(self) -> dict[str, Any]:
        """`pricing` for expressions: the running totals, after the taxes of the lines that
        changed since the last view are computed on their current nets."""
        totals = self.totals
        stale = totals.stale
        if stale:
            places, lines = self.places, self.lines
            exp, zero = _EXPONENTS[places], _ZEROS[places]
            for i in stale:
                lp = lines[i]
                lp.tax_stale = False
                rates = lp.tax_rates
                rate = ZERO + rates[0] if len(rates) == 1 else sum(rates, ZERO)
                tax = zero
                if rate:  # percent_of(lp.net, rate, places), its calls written out
                    try:
                        tax = _ROUND(_EXACT_SCALEB(_EXACT_MUL(lp.net, rate), -2), exp) or zero
                    except DecimalException:
                        tax = percent_of(lp.net, rate, places)  # raises the error it names
                lp.set_tax(tax)
            stale.clear()
        subtotal, charges = totals.net, self.charges_total
        tax = totals.line_tax + self.charges_tax
        discount = totals.discount
        return {"currency": self.currency, "subtotal": subtotal, "discount_total": discount,
                "discount_percent": percent(discount, totals.extended),
                "charges_total": charges, "tax_total": tax,
                "total": subtotal + charges + tax}

    def to_json(self) -> dict[str, Any]:
        """The `pricing` section of a decision; rendered once when pricing has ended (two
        decisions of evaluate_pair may share one finished pricing)."""
        if self.final_json is not None:
            return self.final_json
        v = self.final or self.view()
        # an amount (rounded to the currency's places, see the module's docstring) is written
        # by str alone when the places are at most 6: str(Decimal) uses an exponent only for
        # a positive exponent or more than 6 places, which such an amount never has
        amount = str if self.places <= 6 else plain
        out = {
            "currency": self.currency,
            "lines": _lines_json(self.lines) if amount is str else
            [_line_json(lp) for lp in self.lines],
            "charges": [_amounts(c) for c in self.charges],
            "recurring": [_amounts(r) for r in self.recurring],
            "subtotal": amount(v["subtotal"]),
            "discount_total": amount(v["discount_total"]),
            "discount_percent": plain(v["discount_percent"]),
            "charges_total": amount(v["charges_total"]),
            "tax_total": amount(v["tax_total"]),
            "total": amount(v["total"]),
        }
        if self.final is not None:
            self.final_json = out
        return out


def same_pricing(a: Pricing, b: Pricing) -> bool:
    """Whether two running pricings agree, down to how each amount is written: Decimal
    1.0 == 1.00 and -0 == 0, yet each pair renders differently. Equal by value first; then
    the parts that are not the same objects (most are, in a copy) must be written alike."""
    mine, theirs = a.state(), b.state()
    if mine != theirs:
        return False
    differ = list(map(is_not, mine, theirs))
    return all(map(written_alike, compress(mine, differ), compress(theirs, differ)))


def line_id(line: dict[str, Any], index: int) -> str:
    v = line.get("id")
    if v.__class__ is str:
        return v
    return render(v) if v is not None else str(index + 1)


def plain(x: Decimal | None) -> str | None:
    """A decimal as plain text (str is three times faster than format; only an exponent
    form needs the slow path)."""
    if x is None:
        return None
    text = str(x)
    return format(x, "f") if "E" in text else text


def _amounts(entry: dict[str, Any]) -> dict[str, Any]:
    out = entry.copy()
    amount = out.get("amount")
    if amount.__class__ is D:
        out["amount"] = plain(amount)
    tax = out.get("tax")
    if tax.__class__ is D:
        out["tax"] = plain(tax)
    return out


def _lines_json(lines: list[LinePrice]) -> list[dict[str, Any]]:
    """What `_line_json` gives for each line, for a currency of at most 6 places (every
    amount written by str, see Pricing.to_json), with as few Python calls as it takes: the
    adjustments copied whole with their amount written, the one tax of a line inline."""
    out = []
    for lp in lines:
        net, tax = lp.net, lp.tax
        q = unit = None
        if lp.quantity is not None:
            q = str(lp.quantity)
            if "E" in q:
                q = format(lp.quantity, "f")
        if lp.list_price is not None:
            unit = str(lp.list_price)
            if "E" in unit:
                unit = format(lp.list_price, "f")
        rates = lp.tax_rates
        if len(rates) == 1:
            (j, rule), = lp.tax_sources
            taxes = [{"jurisdiction": j, "rate": plain(rates[0]), "amount": str(tax),
                      "rule": rule}]
        else:
            taxes = tax_breakdown(lp) if rates else []
        out.append({
            "line_id": lp.line_id,
            "sku": lp.sku,
            "quantity": q,
            "list_price": unit,
            "extended": str(lp.extended),
            "adjustments": lp.adjustments.copy(),  # entries written once, never changed
            "net": str(net),
            "discount_percent": str(percent(lp.discounted, lp.extended)),
            "tax": str(tax),
            "taxes": taxes,
            "total": str(net + tax),
        })
    return out


def _line_json(lp: LinePrice) -> dict[str, Any]:
    return {
        "line_id": lp.line_id,
        "sku": lp.sku,
        "quantity": plain(lp.quantity),
        "list_price": plain(lp.list_price),
        "extended": plain(lp.extended),
        "adjustments": lp.adjustments.copy(),
        "net": plain(lp.net),
        "discount_percent": plain(percent(lp.discounted, lp.extended)),
        "tax": plain(lp.tax),
        "taxes": tax_breakdown(lp) if lp.tax_rates else [],
        "total": plain(lp.net + lp.tax),
    }


def tax_breakdown(lp: LinePrice) -> list[dict[str, Any]]:
    """One entry per tax that fired on the line, in firing order, each amount rounded to the
    minor unit and the amounts adding up exactly to the line's `tax` (which is rounded on the
    summed rate, SPEC section 4). Each amount is first rounded half up on its own; the units
    the sum is then off by (at most one per entry) go to the entries rounded the most the other
    way: one unit up for those whose rounding lost the most, or down for those it added the
    most to, the earlier entry first on a tie."""
    if len(lp.tax_rates) == 1:  # the usual case: the one tax is the line's tax
        (j, rule), = lp.tax_sources
        return [{"jurisdiction": j, "rate": plain(lp.tax_rates[0]), "amount": plain(lp.tax),
                 "rule": rule}]
    unit = _EXPONENTS[lp.places]
    exact = [times(lp.net, rate).scaleb(-2, EXACT) for rate in lp.tax_rates]
    amounts = [money(x, lp.places) for x in exact]
    off = lp.tax - sum(amounts, ZERO)
    if off:
        dropped = [x - a for x, a in zip(exact, amounts)]  # > 0: rounded down
        if off > 0:
            order = sorted(range(len(exact)), key=lambda i: (-dropped[i], i))
        else:
            order = sorted(range(len(exact)), key=lambda i: (dropped[i], i))
        step = unit.copy_sign(off)
        for i in order[:int(abs(off) / unit)]:
            amounts[i] += step
    return [{"jurisdiction": j, "rate": plain(rate), "amount": plain(amount), "rule": rule}
            for (j, rule), rate, amount in zip(lp.tax_sources, lp.tax_rates, amounts)]


def tiered(mode: str, tiers: list[tuple[Decimal, Decimal]], qty: Decimal,
           places: int) -> Decimal:
    """The extended amount of `qty` units under a tier schedule (before rounding)."""
    ordered = sorted(tiers, key=lambda t: t[0])
    if not ordered:
        raise RuleError("tiered_price needs at least one tier")
    if mode == "all_units":
        price = None
        for start, unit in ordered:
            if qty >= start:
                price = unit
        if price is None:
            raise RuleError(f"no tier covers quantity {show(qty)} (the first starts at "
                            f"{show(ordered[0][0])})")
        return money(times(price, qty), places)
    # band i holds the units above its FROM_QTY up to the next tier's; the first band holds
    # every unit up to the second tier whatever its FROM_QTY (0 or 1 alike)
    total = ZERO
    for i, (start, unit) in enumerate(ordered):
        start = ZERO if i == 0 else start
        end = ordered[i + 1][0] if i + 1 < len(ordered) else None
        if qty <= start:
            break
        band = (min(qty, end) if end is not None else qty) - start
        try:
            total = _EXACT_ADD(total, times(band, unit))
        except DecimalException:
            raise RuleError(f"the tiers' total for quantity {show(qty)} cannot be computed "
                            "exactly") from None
    return money(total, places)
