"""Promising one line against an ATP table: a date (or dates, when split) and the new table.

In: an `AtpTable` (engine/promising/atp.py), the requested quantity and ship date, the as-of
date, and optionally the transit time of the route to the customer (`Route.transit` from
engine/sourcing.py, which already finds routes over `ref.lanes`; `transit_for` reads it).
Out: a `Promise` (parts of quantity, bucket, ship date and arrival date; the quantity left
unpromised; a trace of every bucket looked at and every surplus taken) and the table with the
promised quantities placed as demand. `release` gives them back.

How a bucket is chosen, by the rule:
- accumulating rules (backward or backward-then-forward with accumulation, look-ahead): the
  request's bucket if its figure covers the quantity, else the first later bucket that does;
- non-accumulating rules: each bucket's surplus stands alone, so the request is looked for in
  its own bucket, then in earlier buckets (nearest first), then later ones. This is Oracle's
  published behaviour: a request for 3 in period 7 is placed in period 6, the "earliest ATP
  date", whose surplus alone covers it; the line still ships on its requested date;
- with split, every bucket on that path gives what it has, no part smaller than `min_split`
  unless it completes the line;
- past the infinite-supply fence everything can be promised, on the fence's date at the latest;
- modes: INFINITE promises the request date, LEAD_TIME the as-of date plus the lead time.
The non-obvious choice: a part's `bucket` is where its demand is placed (Oracle's ATP date);
its `ship_date` is never before the requested date, so promising early never ships early.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from .atp import ZERO, AtpTable, Mode

if TYPE_CHECKING:  # sourcing imports this module to promise; the route is read duck-typed
    from ..sourcing import Network

NO_TIME = datetime.timedelta(0)


@dataclass(frozen=True)
class Step:
    """One line of a promise's explanation."""
    what: str                 # "look", "pass", "take", "place", "fence", "short", "mode"
    bucket: int | None
    date: datetime.date | None
    quantity: Decimal
    note: str = ""


@dataclass(frozen=True)
class Part:
    quantity: Decimal
    bucket: int | None        # None: promised on the infinite fence or by a mode, no bucket
    ship_date: datetime.date
    arrival_date: datetime.date


@dataclass(frozen=True)
class Promise:
    item: str
    location: str
    quantity: Decimal
    requested: datetime.date
    parts: tuple[Part, ...]
    short: Decimal             # unpromised: a backorder without a date
    trace: tuple[Step, ...] = field(default=(), compare=False)

    @property
    def promised(self) -> Decimal:
        return sum((p.quantity for p in self.parts), ZERO)

    @property
    def ship_date(self) -> datetime.date | None:
        """When the whole promised quantity has shipped (the last part)."""
        return max((p.ship_date for p in self.parts), default=None)

    @property
    def on_time(self) -> bool:
        return self.short == 0 and all(p.ship_date <= self.requested for p in self.parts)

    @property
    def delay_days(self) -> int | None:
        last = self.ship_date
        return None if last is None or self.short else max((last - self.requested).days, 0)


def transit_for(network: Network, location: str, region: str) -> datetime.timedelta | None:
    """The fastest route's transit from `location` to `region`, as sourcing computes it."""
    route = network.nearest.get(location, {}).get(region)
    if route is None:
        return None
    return network.handling.get(location, NO_TIME) + route.transit


def promise(table: AtpTable, quantity: Decimal, requested: datetime.date,
            as_of: datetime.date, *, item: str = "", location: str = "",
            transit: datetime.timedelta = NO_TIME) -> tuple[Promise, AtpTable]:
    """Promise `quantity` for shipping on `requested`; the new table has it placed."""
    if quantity <= 0:
        raise ValueError(f"promise: quantity must be positive, got {quantity}")
    rule = table.rule
    buckets = table.buckets
    steps: list[Step] = []
    parts: list[Part] = []

    def part(qty: Decimal, bucket: int | None, ship: datetime.date) -> None:
        ship = max(ship, requested, as_of)
        parts.append(Part(qty, bucket, ship, ship + transit))

    if rule.mode is not Mode.SUPPLY_CHAIN_SEARCH:
        ship = requested
        if rule.mode is Mode.LEAD_TIME:
            ship = max(requested, buckets.calendar.add_working_days(as_of, rule.lead_time_days))
        steps.append(Step("mode", None, ship, quantity, rule.mode.value))
        bucket = buckets.of_demand(ship)
        if bucket is not None:
            table = table.with_demand(bucket, quantity)
        part(quantity, bucket, ship)
        return Promise(item, location, quantity, requested, tuple(parts), ZERO, tuple(steps)), \
            table

    want = quantity
    request_bucket = buckets.of_demand(requested)
    end = len(buckets) if table.infinite_from is None else table.infinite_from
    if request_bucket is None:
        path: list[int] = []
    elif rule.accumulates:
        path = list(range(min(request_bucket, end), end))
    else:
        path = [b for b in (request_bucket, *range(request_bucket - 1, -1, -1),
                            *range(request_bucket + 1, end)) if b < end]
    passed: list[int] = []     # buckets looked at and passed over, told as one step
    for b in path:
        have = table.offer(b)
        if have <= 0 or (have < want and (not rule.split or have < rule.min_split)):
            if b == request_bucket:
                steps.append(Step("look", b, buckets.starts[b], have))
            else:
                passed.append(b)
            continue
        if passed:
            steps.append(_passed(table, passed, want))
            passed = []
        take = min(have, want)
        steps.append(Step("look", b, buckets.starts[b], have))
        steps += _takes(table, b, take)
        table = table.with_demand(b, take)
        steps.append(Step("place", b, buckets.starts[b], take))
        part(take, b, buckets.starts[b])
        want -= take
        if want == 0:
            break
    if passed:
        steps.append(_passed(table, passed, want))
    if want > 0 and table.infinite_from is not None:
        fence = table.infinite_from
        fence_date = buckets.starts[fence] if fence < len(buckets) else \
            as_of + datetime.timedelta(days=rule.infinite_fence_days or 0)
        steps.append(Step("fence", fence, fence_date, want, "infinite supply from here"))
        part(want, None, fence_date)
        want = ZERO
    if want > 0:
        steps.append(Step("short", None, None, want, "no supply inside the horizon"))
    return Promise(item, location, quantity, requested, tuple(parts), want, tuple(steps)), table


def release(table: AtpTable, promised: Promise) -> AtpTable:
    """The table with a promise's placed quantities given back (cancellation, change)."""
    for p in promised.parts:
        if p.bucket is not None:
            table = table.with_demand(p.bucket, -p.quantity)
    return table


def _passed(table: AtpTable, passed: list[int], want: Decimal) -> Step:
    last = passed[-1]
    return Step("pass", last, table.buckets.starts[last], want,
                f"{len(passed)} bucket(s) from {table.buckets.starts[passed[0]]} to "
                f"{table.buckets.starts[last]} had less than {want}")


def _takes(table: AtpTable, bucket: int, quantity: Decimal) -> list[Step]:
    """Which surpluses a placement in `bucket` uses: its own, then earlier ones nearest first
    (the free amounts the table shows; the table itself redoes the matching)."""
    out: list[Step] = []
    left = quantity
    b = bucket
    while left > 0 and b >= 0:
        free = table.net[b]
        if free > 0:
            take = min(free, left)
            out.append(Step("take", b, table.buckets.starts[b], take, f"of {free} free"))
            left -= take
        if not table.rule.accumulates:
            break
        b -= 1
    if left > 0 and table.rule.accumulates:
        out.append(Step("take", None, None, left, "from the running balance (look-ahead)"))
    return out
