"""Promising a service's order line by demand class or by capable-to-promise (the siblings of
`reserve.promise_line`, which promises with the ATP rule only).

In: the ATP tables of the stored rows (`reserve.table`), the line's candidate sites best first,
and either an allocation rule and the line's demand class (`allocated_line`) or a plant of one
location (the item's and its components' tables, the resources' capacity; `made_line`).
Out: a `LinePromise` and the tables with what it took placed; `made_line` also says what it
took of each component and of each resource's hours per day, for the adapter to reserve.

- `allocated_line`: at each candidate, `allocation.allocated_promise` from the as-of date;
  the site that promises most, earliest (ties: the better ranked) is taken, then the next one
  for what is left, as `promise_line` does with supply to come. The tables hold every
  reservation of every class as demand, so a class's weekly share is of the supply still
  available when the line comes in (Oracle's example: high 30 of 100 on 1 Jan, then low 30
  is 40% of 70 = 28 that week, and waits for 10 Jan).
- `made_line`: `ctp.capable_to_promise` at each candidate plant, the earliest date taken
  (ties: the better ranked); what the promise placed is read back as the difference of each
  table before and after, so stock of the item itself becomes parts (on hand in the first
  bucket, supply to come later), the rest a `make` part on the completion date, and the
  components and hours it used become the reservations that hold them.
The non-obvious choice: reading placements as table differences, not from the CTP steps,
keeps what is reserved exactly what the tables count, whatever path the search took.
"""
from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from .allocation import AllocationRule, allocated_promise
from .atp import AtpTable
from .ctp import Capable, Plant, capable_to_promise
from .makeup import week_anchor
from .promise import Promise
from .reserve import LinePromise, Placed, Site, place_best

ZERO = Decimal(0)
Trace = tuple[str, str, str | None, Decimal, str]


@dataclass(frozen=True)
class Taken:
    """What a made line holds besides its own item: `quantity` of `what` (a component item, or
    a resource's hours) in the bucket of `date` at `location`."""
    kind: str          # "component" | "capacity"
    what: str
    location: str
    date: datetime.date
    quantity: Decimal


def allocated_line(tables: Mapping[str, AtpTable], sku: str, quantity: Decimal,
                   sites: Sequence[Site], as_of: datetime.date, split: bool,
                   rule: AllocationRule, demand_class: str,
                   limit: int = 100) -> tuple[LinePromise, dict[str, AtpTable]]:
    """Promise `quantity` of `sku` to `demand_class` over the candidate `sites`."""
    if quantity <= 0:
        raise ValueError(f"allocated_line: quantity must be positive, got {quantity}")
    out = dict(tables)
    left = [s for s in sites[:limit] if s.location in out]
    parts: list[Placed] = []
    trace: list[Trace] = []
    want = quantity
    def attempt(site: Site, t: AtpTable, want: Decimal) -> tuple[Promise, AtpTable, str]:
        if t.rule.split != split:
            t = replace(t, rule=replace(t.rule, split=split))
        anchored = replace(rule, week_anchor=week_anchor(t.buckets.first))
        made, after = allocated_promise(t, anchored, demand_class, want, as_of,
                                        item=sku, location=site.location)
        return made, after, (f"demand class {demand_class}"
                             + (f"; short {made.short}" if made.short else ""))

    want = place_best(out, left, want, attempt, parts, trace, on_hand_bucket=True)
    if want > 0:
        trace.append(("short", "", None, want,
                      f"no allocation of demand class {demand_class} in the horizon"))
    return LinePromise(sku, quantity, tuple(parts), want, tuple(trace)), out


def made_line(plants: Sequence[tuple[Site, Plant]], sku: str, quantity: Decimal,
              as_of: datetime.date) -> tuple[LinePromise, Plant | None, list[Taken]]:
    """Promise `quantity` of the make item `sku` at the plant of the earliest date (best ranked
    on a tie); returns the plant after (None: nothing promised) and what it took besides `sku`
    itself."""
    if quantity <= 0:
        raise ValueError(f"made_line: quantity must be positive, got {quantity}")
    trace: list[Trace] = []
    best: tuple[datetime.date, Capable, Plant, Site, Plant] | None = None
    for site, plant in plants:
        capable, after = capable_to_promise(plant, sku, quantity, as_of)
        trace.append(("location", site.location,
                      capable.date.isoformat() if capable.date else None,
                      quantity if capable.date else ZERO,
                      "capable to promise" if capable.date else "cannot make it in the horizon"))
        if capable.date is not None and (best is None or capable.date < best[0]):
            best = (capable.date, capable, after, site, plant)
    if best is None:
        trace.append(("short", "", None, quantity, "no plant can make it in the horizon"))
        return LinePromise(sku, quantity, (), quantity, tuple(trace)), None, []
    date, capable, after, site, before = best
    for st in capable.steps[:200]:
        trace.append((f"ctp_{st.what}", site.location,
                      st.date.isoformat() if st.date else None, st.quantity,
                      f"{st.item}, level {st.level}"))
    parts: list[Placed] = []
    starts = before.buckets.starts
    own = _placed(before.items.get(sku), after.items.get(sku))
    for b, q in own:
        ship = max(starts[b], as_of) + site.handling
        parts.append(Placed(site.location, q, starts[b], ship,
                            None if site.transit is None else ship + site.transit,
                            "on_hand" if b == 0 else "atp"))
    made = quantity - sum((q for _, q in own), ZERO)
    if made > 0:
        ship = date + site.handling
        parts.append(Placed(site.location, made, None, ship,
                            None if site.transit is None else ship + site.transit, "make"))
    taken: list[Taken] = []
    for item in sorted(after.items):
        if item != sku:
            taken += [Taken("component", item, site.location, starts[b], q)
                      for b, q in _placed(before.items.get(item), after.items[item])]
    for res in sorted(after.resources):
        taken += [Taken("capacity", res, site.location, starts[b], q)
                  for b, q in _placed(before.resources.get(res), after.resources[res])]
    return LinePromise(sku, quantity, tuple(parts), ZERO, tuple(trace)), after, taken


def _placed(before: AtpTable | None, after: AtpTable | None) -> list[tuple[int, Decimal]]:
    """(bucket, quantity) of the demand `after` has more than `before`."""
    if before is None or after is None:
        return []
    return [(b, a - o) for b, (o, a) in enumerate(zip(before.demand, after.demand)) if a > o]
