"""Alternatives to a line's promise, ranked (check availability, docs/promising.md).

In: ATP tables per SKU and location (nothing is placed in them for good: every alternative is
worked on its own copy), the line (SKU, quantity), its candidate sites best first, the other
sites that could ship it, the substitute SKUs (with how many of the substitute replace one),
the as-of date and the rule's split flag.
Out: `Alternative` values, best first: the whole line from one location the promise does not
use, the line split over locations (what ships now, the rest later), the whole line on one
later date from where it was sourced, a substitute item. Rank: what is promised (most first), then the date the last part arrives
(or ships), then the kind in that order.
The non-obvious choice: an alternative is only offered when it differs from the promise
itself (same location and dates is not an alternative).
"""
from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .atp import AtpTable
from .reserve import LinePromise, Site, promise_line

KINDS = ("another_location", "split", "later_date", "substitute")
MAX_ALTERNATIVES = 10


@dataclass(frozen=True)
class Alternative:
    kind: str
    sku: str
    quantity: Decimal
    promise: LinePromise
    note: str = ""

    def rank(self) -> tuple[Decimal, datetime.date, int]:
        due = self.promise.arrival_date or self.promise.ship_date or datetime.date.max
        return (self.promise.short, due, KINDS.index(self.kind))


def _shape(p: LinePromise) -> tuple[tuple[str, Decimal, datetime.date], ...]:
    return tuple((x.location, x.quantity, x.ship_date) for x in p.parts)


def alternatives(tables: Mapping[str, Mapping[str, AtpTable]], sku: str, quantity: Decimal,
                 base: LinePromise, sites: Sequence[Site], others: Sequence[Site],
                 substitutes: Sequence[tuple[str, Decimal]], as_of: datetime.date,
                 split: bool) -> list[Alternative]:
    """The ranked alternatives to `base`, the line's promise over `sites`."""
    own = tables.get(sku, {})
    out: list[Alternative] = []
    every = list({s.location: s for s in (*sites, *others)}.values())
    used = {p.location for p in base.parts}
    for site in every:  # the whole line from one other location (now or later)
        if site.location not in own or site.location in used:
            continue
        made, _ = promise_line(own, sku, quantity, [site], as_of, split=False)
        if made.parts and made.short == 0:
            out.append(Alternative("another_location", sku, quantity, made,
                                   f"all {quantity} from {site.location}"))
    if not split and len(every) > 1:  # split over the locations
        made, _ = promise_line(own, sku, quantity, every, as_of, split=True)
        if len(made.parts) > 1:
            out.append(Alternative("split", sku, quantity, made,
                                   f"in {len(made.parts)} parts"))
    if len(base.parts) > 1 or base.short:  # the whole line on one date, where it was sourced
        made, _ = promise_line(own, sku, quantity, [s for s in sites if s.location in own],
                               as_of, split=False)
        if made.parts and len(made.parts) == 1 and made.short == 0:
            out.append(Alternative("later_date", sku, quantity, made,
                                   f"complete on {made.ship_date}"))
    for sub, per in substitutes:
        theirs = tables.get(sub, {})
        need = quantity * per
        made, _ = promise_line(theirs, sub, need, every, as_of, split=split)
        if made.parts:
            out.append(Alternative("substitute", sub, need, made,
                                   f"{need} of {sub} for {quantity} of {sku}"))
    seen = {_shape(base)}
    ranked = []
    for alt in sorted(out, key=Alternative.rank):
        key = _shape(alt.promise)
        if alt.kind != "substitute" and key in seen:
            continue
        seen.add(key)
        ranked.append(alt)
    return ranked[:MAX_ALTERNATIVES]
