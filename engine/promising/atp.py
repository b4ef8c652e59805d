"""Time-phased available-to-promise: supply and demand per bucket, consumed and accumulated.

In: an `AtpRule` (which supply and demand types count, past-due windows, consumption,
accumulation and its window, the infinite-supply fence), `Buckets`, the as-of date and the
`Supply` and `Demand` events of one item at one location.
Out: an `AtpTable`, a frozen value holding per bucket the supply, the demand, the net after
consumption (`net`), the figure shown and offered to a new request (`available`), and each
consumption made (`consumed`: which demand bucket took how much from which supply bucket).
`with_demand` returns the table with a demand added (or, negative, taken back); nothing is
changed in place, so a promise and its release give back the very same table.

The arithmetic follows Oracle's ATP computation options (Oracle Inventory User's Guide,
"ATP Computation Options" and "ATP with Backward Consumption [and Accumulation]"):
- period ATP is supply less demand in each bucket;
- backward consumption covers a bucket's shortage from earlier surpluses, nearest first;
- forward consumption (after backward) covers what is left from later surpluses, nearest first;
- accumulation carries each bucket's surplus forward; a shortage is never carried;
- look-ahead is the textbook "cumulative ATP with look-ahead": the figure at a bucket is the
  smallest cumulative balance at that bucket or any later one, so a new request never takes
  what later demand needs, and a shortage anywhere shows in every bucket before it.
The non-obvious choices: with an accumulation window (shelf life) supply older than the window
is neither carried nor consumed, and each bucket's demand takes the oldest supply still inside
the window first, its own bucket's included (first-expiring-first-out): nearest-first, or
netting a bucket's own supply first, would let stock expire that another choice could have
used, and a promise could then leave older demand short. Without a window it is Oracle's
nearest-first, a bucket's own supply first. Quantities are
Decimals; infinite supply is `Decimal("Infinity")`, which compares and subtracts exactly.
"""
from __future__ import annotations

import datetime
from collections import deque
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum
from itertools import accumulate as running_sum

from . import placing
from .calendar import Buckets
from .placing import Consumed

ZERO = Decimal(0)
INFINITE = Decimal("Infinity")


class SupplyType(Enum):
    ON_HAND = "on_hand"
    PURCHASE_ORDER = "purchase_order"
    IN_TRANSIT = "in_transit"
    WORK_ORDER = "work_order"
    PLANNED_ORDER = "planned_order"


class DemandType(Enum):
    ORDER_LINE = "order_line"
    RESERVATION = "reservation"
    TRANSFER = "transfer"


class Consumption(Enum):
    NONE = "none"
    BACKWARD = "backward"
    BACKWARD_FORWARD = "backward_forward"
    LOOK_AHEAD = "look_ahead"


class Mode(Enum):
    """Oracle's promising modes: promise everything, promise after a lead time, or search."""
    INFINITE = "infinite"
    LEAD_TIME = "lead_time"
    SUPPLY_CHAIN_SEARCH = "supply_chain_search"


FIRM_SUPPLY = frozenset(SupplyType) - {SupplyType.PLANNED_ORDER}


@dataclass(frozen=True)
class AtpRule:
    consumption: Consumption = Consumption.BACKWARD
    accumulate: bool = True
    accumulation_window_days: int | None = None
    supply_types: frozenset[SupplyType] = FIRM_SUPPLY
    demand_types: frozenset[DemandType] = frozenset(DemandType)
    past_due_supply_days: int | None = None   # None: every past-due supply still counts
    past_due_demand_days: int | None = None
    infinite_fence_days: int | None = None    # from the as-of date; None: no fence
    atp_fence_days: int | None = None         # capable-to-promise makes only beyond it
    split: bool = False
    min_split: Decimal = Decimal(1)
    mode: Mode = Mode.SUPPLY_CHAIN_SEARCH
    lead_time_days: int = 0                   # the LEAD_TIME mode's promise, in working days

    def __post_init__(self) -> None:
        if self.accumulate and self.consumption is Consumption.NONE:
            raise ValueError("atp rule: accumulation needs backward consumption (Oracle: "
                             "'You must have Backward Consumption turned on')")
        if self.accumulation_window_days is not None:
            if self.accumulation_window_days <= 0:
                raise ValueError("atp rule: accumulation_window_days must be positive, got "
                                 f"{self.accumulation_window_days}")
            if self.consumption is Consumption.LOOK_AHEAD:
                raise ValueError("atp rule: look-ahead has no accumulation window")
        for name in ("past_due_supply_days", "past_due_demand_days", "infinite_fence_days",
                     "atp_fence_days"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise ValueError(f"atp rule: {name} must not be negative, got {v}")
        if self.min_split <= 0:
            raise ValueError(f"atp rule: min_split must be positive, got {self.min_split}")

    @property
    def accumulates(self) -> bool:
        return self.accumulate or self.consumption is Consumption.LOOK_AHEAD


@dataclass(frozen=True)
class Supply:
    item: str
    location: str
    kind: SupplyType
    date: datetime.date
    quantity: Decimal
    ref: str = ""


@dataclass(frozen=True)
class Demand:
    item: str
    location: str
    kind: DemandType
    date: datetime.date
    quantity: Decimal
    ref: str = ""


@dataclass(frozen=True)
class AtpTable:
    rule: AtpRule
    buckets: Buckets
    supply: tuple[Decimal, ...]
    demand: tuple[Decimal, ...]
    infinite_from: int | None = None      # first bucket of infinite supply
    net: tuple[Decimal, ...] = field(default=(), compare=False)
    available: tuple[Decimal, ...] = field(default=(), compare=False)
    consumed: tuple[Consumed, ...] = field(default=(), compare=False)

    def offer(self, bucket: int) -> Decimal:
        """What a new request in `bucket` can have there (Infinity past the fence)."""
        if self.infinite_from is not None and bucket >= self.infinite_from:
            return INFINITE
        v = self.available[bucket] if self.rule.accumulates else self.net[bucket]
        return v if v > 0 else ZERO

    def with_demand(self, bucket: int, quantity: Decimal) -> AtpTable:
        """The table with `quantity` more demand in `bucket` (negative: given back)."""
        if self.infinite_from is not None and bucket >= self.infinite_from:
            return self
        demand = (*self.demand[:bucket], self.demand[bucket] + quantity,
                  *self.demand[bucket + 1:])
        fast = self._placed(bucket, quantity)
        if fast is not None:
            net, available, consumed = fast
            return replace(self, demand=demand, net=net, available=available,
                           consumed=consumed)
        return tabulate(self.rule, self.buckets, self.supply, demand, self.infinite_from)

    def _placed(self, bucket: int, quantity: Decimal) -> placing.Figures | None:
        """The net and available figures and consumptions after placing `quantity` in
        `bucket`, worked out without recounting the table where that is exact (see
        engine/promising/placing.py); None where only a recount is."""
        rule = self.rule
        if quantity <= 0:
            return None
        if rule.consumption is Consumption.LOOK_AHEAD:
            net, available = placing.look_ahead(self.net, self.available, bucket, quantity)
            return net, available, self.consumed
        if rule.consumption is Consumption.NONE:
            return None
        window = rule.accumulation_window_days
        if window is None:
            return placing.nearest_first(self.net, self.available, rule.accumulate,
                                         self.consumed, bucket, quantity)
        if rule.consumption is not Consumption.BACKWARD:
            return None
        return placing.within(self.supply, self.demand, self.net, self.available,
                              self.consumed, self.buckets.days, window, rule.accumulate,
                              bucket, quantity)


def period_atp(supply: tuple[Decimal, ...], demand: tuple[Decimal, ...]) -> list[Decimal]:
    return [s - d for s, d in zip(supply, demand)]


def consume_backward(period: list[Decimal]) -> tuple[list[Decimal], list[Consumed]]:
    """Cover each shortage from earlier surpluses, nearest first (Oracle's backward
    consumption; with a window, `consume_within` is used instead)."""
    net = list(period)
    made: list[Consumed] = []
    stack: list[int] = []            # buckets with surplus left, the latest on top
    for i, p in enumerate(net):
        if p > ZERO:
            stack.append(i)
        elif p < ZERO:
            short = -p
            while stack:
                j = stack[-1]
                have = net[j]
                if have > short:
                    net[j] = have - short
                    made.append(Consumed(i, j, short))
                    short = ZERO
                    break
                net[j] = ZERO
                stack.pop()
                made.append(Consumed(i, j, have))
                short -= have
                if not short:
                    break
            net[i] = -short
    return net, made


def consume_within(supply: tuple[Decimal, ...], demand: tuple[Decimal, ...],
                   starts: tuple[datetime.date, ...],
                   window_days: int) -> tuple[list[Decimal], list[Consumed]]:
    """Backward consumption with a shelf life: each bucket's demand takes the oldest supply
    not yet expired, its own bucket's included (first-expiring-first-out). Taking demands in
    time order and each from the supply that expires first matches as much demand as any
    choice could, so a surplus this leaves is one a new request can take without leaving
    older demand short."""
    net = [ZERO] * len(supply)
    made: list[Consumed] = []
    open_: deque[int] = deque()      # buckets with supply left, oldest at the left
    for i, (s, d) in enumerate(zip(supply, demand)):
        while open_ and (starts[i] - starts[open_[0]]).days >= window_days:
            open_.popleft()
        if s > ZERO:
            net[i] = s
            open_.append(i)
        short = d
        while short > ZERO and open_:
            j = open_[0]
            take = min(short, net[j])
            net[j] -= take
            short -= take
            if j != i:
                made.append(Consumed(i, j, take))
            if net[j] == ZERO:
                open_.popleft()
        if short > ZERO:
            net[i] = -short
    return net, made


def consume_forward(net: list[Decimal]) -> tuple[list[Decimal], list[Consumed]]:
    """Cover shortages left after backward consumption from later surpluses, the oldest
    shortage first, each from the nearest later surplus."""
    net = list(net)
    made: list[Consumed] = []
    waiting: deque[int] = deque()
    for i, v in enumerate(net):
        if v < 0:
            waiting.append(i)
            continue
        while v > 0 and waiting:
            k = waiting[0]
            take = min(v, -net[k])
            net[k] += take
            v -= take
            made.append(Consumed(k, i, take))
            if net[k] == 0:
                waiting.popleft()
        net[i] = v
    return net, made


def accumulate(net: list[Decimal], starts: tuple[datetime.date, ...] | None = None,
               window_days: int | None = None) -> list[Decimal]:
    """Each bucket's figure plus the surplus of earlier buckets (inside the window, if any);
    a shortage is never carried forward."""
    out: list[Decimal] = []
    carried = ZERO
    inside: deque[int] = deque()
    for i, v in enumerate(net):
        if window_days is not None and starts is not None:
            while inside and (starts[i] - starts[inside[0]]).days >= window_days:
                carried -= net[inside.popleft()]
        out.append(carried + v)
        if v > 0:
            carried += v
            inside.append(i)
    return out


def look_ahead(period: list[Decimal]) -> list[Decimal]:
    """The smallest cumulative balance at each bucket or any later one."""
    cumulative = list(running_sum(period))
    out = list(cumulative)
    low = INFINITE
    for i in range(len(out) - 1, -1, -1):
        low = min(low, cumulative[i])
        out[i] = low
    return out


def tabulate(rule: AtpRule, buckets: Buckets, supply: tuple[Decimal, ...],
             demand: tuple[Decimal, ...], infinite_from: int | None = None) -> AtpTable:
    """The table from per-bucket totals (the golden examples start here)."""
    if len(supply) != len(buckets) or len(demand) != len(buckets):
        raise ValueError(f"atp: {len(supply)} supply and {len(demand)} demand figures for "
                         f"{len(buckets)} buckets")
    end = len(buckets) if infinite_from is None else infinite_from
    period = period_atp(supply[:end], demand[:end])
    window = rule.accumulation_window_days
    made: list[Consumed] = []
    if rule.consumption is Consumption.LOOK_AHEAD:
        net = period
        available = look_ahead(period)
    else:
        net = period
        if rule.consumption is not Consumption.NONE and window is not None:
            net, made = consume_within(supply[:end], demand[:end], buckets.starts, window)
        elif rule.consumption is not Consumption.NONE:
            net, made = consume_backward(period)
        if rule.consumption is Consumption.BACKWARD_FORWARD:
            net, more = consume_forward(net)
            made += more
        available = accumulate(net, buckets.starts, window) if rule.accumulate else net
    return replace(AtpTable(rule, buckets, supply, demand, infinite_from), net=tuple(net),
                   available=tuple(available), consumed=tuple(made))


def build(rule: AtpRule, buckets: Buckets, as_of: datetime.date,
          supplies: list[Supply] | tuple[Supply, ...],
          demands: list[Demand] | tuple[Demand, ...]) -> AtpTable:
    """The table of one item at one location from its events.

    Past-due events (dated before `as_of`) count in the first bucket if they are inside their
    past-due window, else not at all; events on or after the infinite fence do not count."""
    n = len(buckets)
    fence = None
    if rule.infinite_fence_days is not None:
        fence_date = as_of + datetime.timedelta(days=rule.infinite_fence_days)
        fence = next((i for i, d in enumerate(buckets.starts) if d >= fence_date), None)
    supply = [ZERO] * n
    demand = [ZERO] * n
    for s in supplies:
        if s.kind not in rule.supply_types or _too_old(s.date, as_of, rule.past_due_supply_days):
            continue
        i = 0 if s.kind is SupplyType.ON_HAND else buckets.of_supply(s.date)
        if i is not None and (fence is None or i < fence):
            supply[i] += s.quantity
    for d in demands:
        if d.kind not in rule.demand_types or _too_old(d.date, as_of, rule.past_due_demand_days):
            continue
        i = buckets.of_demand(d.date)
        if i is not None and (fence is None or i < fence):
            demand[i] += d.quantity
    return tabulate(rule, buckets, tuple(supply), tuple(demand), fence)


def _too_old(day: datetime.date, as_of: datetime.date, window: int | None) -> bool:
    return window is not None and (as_of - day).days > window
