"""Promising an order line against stored supply, the service's way (adapters/supply.py).

In: the ATP rule and horizon of the active rule set, the as-of date, and per candidate location
(best ranked first) its on hand, its supply to come and the reservations already held there.
Out: a `LinePromise` (parts of location, quantity, the date its demand is placed on, ship and
arrival dates; what is left short; a trace) and the tables with the parts placed, so the next
line of the same order sees what this one took. Pure: the adapter reads and locks the rows,
this module decides, the adapter writes the reservations.

How a line is promised (the same order as a decision's sourcing, engine/sourcing.py):
1. on hand first, at each candidate in rank order (split: what each has; not split: the first
   that has it all), shipping on the as-of date plus the location's handling days;
2. the rest from supply to come: the location that promises most, earliest (ties: the better
   ranked), then the next one for what is left (`promise` of engine/promising/promise.py).
The non-obvious choices: the first bucket holds on hand only, so what a line reserves there is
exactly what the stock ledger may allocate; supply that is past due (and inside the rule's
past-due window) is expected the next day, not counted as stock; a reservation whose date has
passed counts on the as-of date (it is still owed).
"""
from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from .atp import AtpRule, AtpTable, Demand, DemandType, Supply, SupplyType, build
from .calendar import Buckets
from .promise import Promise, promise

ZERO = Decimal(0)
ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Site:
    """A candidate location: its handling days and the transit to the customer (or None)."""
    location: str
    handling: datetime.timedelta = datetime.timedelta(0)
    transit: datetime.timedelta | None = None


@dataclass(frozen=True)
class Placed:
    location: str
    quantity: Decimal
    demand_date: datetime.date | None   # the bucket its demand is placed in (None: fence)
    ship_date: datetime.date
    arrival_date: datetime.date | None
    source: str                         # on_hand | atp | infinite_fence


@dataclass(frozen=True)
class LinePromise:
    sku: str
    quantity: Decimal
    parts: tuple[Placed, ...]
    short: Decimal
    trace: tuple[tuple[str, str, str | None, Decimal, str], ...] = field(default=())

    @property
    def ship_date(self) -> datetime.date | None:
        return max((p.ship_date for p in self.parts), default=None)

    @property
    def arrival_date(self) -> datetime.date | None:
        dates = [p.arrival_date for p in self.parts if p.arrival_date is not None]
        return max(dates, default=None)


def table(rule: AtpRule, horizon_days: int, as_of: datetime.date, sku: str, location: str,
          on_hand: Decimal, supply: Iterable[tuple[SupplyType, datetime.date, Decimal]],
          reserved: Iterable[tuple[datetime.date, Decimal]]) -> AtpTable:
    """The ATP table of a SKU at a location from stored rows (daily buckets from `as_of`)."""
    buckets = Buckets.daily(as_of, max(horizon_days, 1))
    tomorrow = as_of + ONE_DAY
    events = [Supply(sku, location, SupplyType.ON_HAND, as_of, on_hand)] if on_hand > 0 else []
    for kind, day, qty in supply:
        if kind is SupplyType.ON_HAND or qty <= 0:
            continue
        if day <= as_of:
            late = (as_of - day).days
            if rule.past_due_supply_days is not None and late > rule.past_due_supply_days:
                continue
            day = tomorrow
        events.append(Supply(sku, location, kind, day, qty))
    demands = [Demand(sku, location, DemandType.RESERVATION, max(day, as_of), qty)
               for day, qty in reserved if qty > 0]
    return build(rule, buckets, as_of, events, demands)


def promise_line(tables: Mapping[str, AtpTable], sku: str, quantity: Decimal,
                 sites: Sequence[Site], as_of: datetime.date, split: bool,
                 limit: int = 100) -> tuple[LinePromise, dict[str, AtpTable]]:
    """Promise `quantity` of `sku` over the candidate `sites` (best first; at most `limit`)."""
    if quantity <= 0:
        raise ValueError(f"promise_line: quantity must be positive, got {quantity}")
    out = dict(tables)
    sites = [s for s in sites[:limit] if s.location in out]
    parts: list[Placed] = []
    trace: list[tuple[str, str, str | None, Decimal, str]] = []
    want = quantity
    for site in sites:  # 1. on hand, in rank order
        t = out[site.location]
        have = t.offer(0)
        if have <= 0 or (have < want and not split):
            trace.append(("on_hand", site.location, as_of.isoformat(), have,
                          "nothing free" if have <= 0 else f"less than {want}"))
            continue
        take = min(have, want)
        out[site.location] = t.with_demand(0, take)
        ship = as_of + site.handling
        parts.append(Placed(site.location, take, t.buckets.starts[0], ship,
                            None if site.transit is None else ship + site.transit, "on_hand"))
        trace.append(("on_hand", site.location, as_of.isoformat(), take, ""))
        want -= take
        if want == 0 or not split:
            break
    def attempt(site: Site, t: AtpTable, want: Decimal) -> tuple[Promise, AtpTable, str]:
        if t.rule.split and not split:  # the whole line on one date
            t = replace(t, rule=replace(t.rule, split=False))
        made, after = promise(t, want, as_of, as_of, item=sku, location=site.location)
        return made, after, f"short {made.short}" if made.short else ""

    # 2. supply to come: most, earliest, better ranked
    want = place_best(out, list(sites), want, attempt, parts, trace, on_hand_bucket=False)
    if want > 0:
        trace.append(("short", "", None, want, "no location can promise it in the horizon"))
    return LinePromise(sku, quantity, tuple(parts), want, tuple(trace)), out


Attempt = Callable[[Site, AtpTable, Decimal], tuple[Promise, AtpTable, str]]


def place_best(out: dict[str, AtpTable], left: list[Site], want: Decimal, attempt: Attempt,
               parts: list[Placed], trace: list[tuple[str, str, str | None, Decimal, str]],
               on_hand_bucket: bool) -> Decimal:
    """Supply to come, the loop every line promise shares (`promise_line` here, `allocated_line`
    of lines.py): `attempt` each site still `left` (its promise of what is wanted, its table
    after, a note for the trace), take the one that promises most, earliest (ties: the better
    ranked), place its parts, then the next for what is left. `out` gets the taken sites'
    tables; returns what is still short. `on_hand_bucket`: a part in the first bucket is on
    hand (allocation promises from it; the ATP rule's promise comes after on hand was taken)."""
    while want > 0 and left:
        best: tuple[tuple[Decimal, datetime.date, int], int, Promise, AtpTable] | None = None
        for pos, site in enumerate(left):
            made, after, note = attempt(site, out[site.location], want)
            after = replace(after, rule=out[site.location].rule)
            trace.append(("location", site.location,
                          made.ship_date.isoformat() if made.ship_date else None,
                          made.promised, note))
            rank = (made.short, made.ship_date or datetime.date.max, pos)
            if made.parts and (best is None or rank < best[0]):
                best = (rank, pos, made, after)
        if best is None:
            break
        _, pos, made, after = best
        site = left.pop(pos)
        out[site.location] = after
        for st in made.trace:
            if st.what == "draw":  # allocation's consumption of a node
                trace.append(("draw", site.location, st.date.isoformat() if st.date else None,
                              st.quantity, f"from node {st.note}"))
        for p in made.parts:
            ship = p.ship_date + site.handling
            day = after.buckets.starts[p.bucket] if p.bucket is not None else None
            source = ("infinite_fence" if p.bucket is None else
                      "on_hand" if on_hand_bucket and p.bucket == 0 else "atp")
            parts.append(Placed(site.location, p.quantity, day, ship,
                                None if site.transit is None else ship + site.transit, source))
            trace.append(("place", site.location, ship.isoformat(), p.quantity, ""))
        want = made.short
    return want
