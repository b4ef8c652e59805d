"""Placing a new demand in an ATP table without recounting the whole table, where that is exact.

In: the per-bucket figures of a table (supply, demand, net, available, the consumptions made),
the bucket and the quantity of the new demand.
Out: the new net and available figures and consumptions, equal to what a recount
(`atp.tabulate`) gives; or None where only a recount is exact (the caller recounts).
tests/engine/test_promising_placing.py checks every path against a recount (hypothesis).

Why each quick way is exact:
- **Backward, nearest first, no window**: a new demand no larger than the surplus left up to
  its bucket takes that surplus nearest first and changes nothing else (surplus units form a
  stack; the new demand takes the top units, which no later shortage reached).
- **Backward then forward**, no window: after backward consumption every remaining shortage
  comes before every surplus (a shortage is left only when no earlier surplus is), and forward
  consumption then takes the D units of shortage from the earliest surplus units. When the new
  demand q fits in the surplus that forward consumption left up to its bucket, the q units it
  takes nearest first (the last q of the surplus up to the bucket) are not among those first D
  units, so forward consumption takes the same D units, and the result is the old net with q
  taken nearest first: the same step as backward.
- **Look-ahead**: the cumulative balance drops by q from the bucket on.
- **Backward with an accumulation window** (first-expiring-first-out): the open supply at the
  bucket (after its own demand) is rebuilt from the final net and the consumptions of later
  demands; then the old and the new queue are run side by side from the bucket until they hold
  the same units again (the new queue is always the old one less its first units, so equal
  totals mean equal queues), and from there on nothing differs. Only the buckets in between
  (and those whose supply was open there) change; `available` is re-accumulated over them and
  one window beyond.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from decimal import Decimal
from typing import Any, NamedTuple, Sequence

ZERO = Decimal(0)


class Consumed(NamedTuple):
    """Demand in bucket `demand` met by `quantity` of the surplus of bucket `supply`.

    A named tuple rather than a frozen dataclass: a table makes one per consumption, hundreds
    per recount, and a tuple is made several times faster; it is just as immutable."""
    demand: int
    supply: int
    quantity: Decimal


Figures = tuple[tuple[Decimal, ...], tuple[Decimal, ...], tuple[Consumed, ...]]


def nearest_first(net: Sequence[Decimal], available: Sequence[Decimal], accumulate: bool,
                  consumed: tuple[Consumed, ...], bucket: int,
                  quantity: Decimal) -> Figures | None:
    """Backward (or backward then forward) consumption without a window."""
    new = list(net)
    taken: list[tuple[int, Decimal]] = []
    left = quantity
    i = bucket
    while left > 0 and i >= 0:
        free = new[i]
        if free > 0:
            take = free if free < left else left
            new[i] = free - take
            taken.append((i, take))
            left -= take
        i -= 1
    if left > 0:
        return None            # more than the surplus: the shortage lands elsewhere
    made = consumed + tuple(Consumed(bucket, j, q) for j, q in taken if j != bucket)
    if not accumulate:
        return tuple(new), tuple(new), made
    avail = list(available)
    run = ZERO
    by_bucket = dict(taken)
    for i in range(taken[-1][0], bucket + 1):
        run += by_bucket.get(i, ZERO)
        avail[i] -= run
    tail = [a - quantity for a in avail[bucket + 1:]]
    return tuple(new), (*avail[:bucket + 1], *tail), made


def look_ahead(net: Sequence[Decimal], available: Sequence[Decimal], bucket: int,
               quantity: Decimal) -> tuple[tuple[Decimal, ...], tuple[Decimal, ...]]:
    new = list(net)
    new[bucket] -= quantity
    low = available[bucket] - quantity
    avail = list(available)
    for i in range(len(avail) - 1, bucket - 1, -1):
        avail[i] -= quantity
    for i in range(bucket - 1, -1, -1):
        if avail[i] <= low:
            break
        avail[i] = low
    return tuple(new), tuple(avail)


Queue = deque[list[Any]]     # [bucket, quantity left] entries, oldest first


def within(supply: Sequence[Decimal], demand: Sequence[Decimal], net: Sequence[Decimal],
           available: Sequence[Decimal], consumed: tuple[Consumed, ...], days: Sequence[int],
           window: int, accumulate: bool, bucket: int, quantity: Decimal) -> Figures:
    """Backward consumption with an accumulation window: `quantity` more demand in `bucket`.

    `supply`, `demand` are the old per-bucket figures (the new demand not in them); `days` the
    buckets' day numbers; `net`, `available` and `consumed` what `tabulate` made of them."""
    n = len(net)
    b = bucket
    first = b
    while first > 0 and days[b] - days[first - 1] < window:
        first -= 1
    left: dict[int, Decimal] = {j: net[j] for j in range(first, b + 1) if net[j] > 0}
    after = bisect_right(consumed, b, key=_demand)
    for c in consumed[after:]:
        if days[c.demand] - days[b] >= window:
            break                       # this demand and later ones cannot reach [first, b]
        if c.supply <= b:
            left[c.supply] = left.get(c.supply, ZERO) + c.quantity
    old: Queue = deque([j, left[j]] for j in sorted(left))
    new: Queue = deque([j, q] for j, q in old)
    out = list(net)
    made: list[Consumed] = []
    short = _take(new, b, quantity, made, out)
    if short:
        out[b] = min(net[b], ZERO) - short
    gap = quantity - short          # what the old queue holds more than the new one
    i = b + 1
    while i < n and gap:
        s, d = supply[i], demand[i]
        gap -= _step(old, i, s, d, days, window, None, None)[0]
        removed, short = _step(new, i, s, d, days, window, made, out)
        gap += removed
        if short:
            out[i] = -short
        elif not s:
            out[i] = ZERO
        i += 1
    if i == n:
        for j, q in new:
            out[j] = q
    records = _merged(consumed[:after], made)
    records += consumed[bisect_left(consumed, i, key=_demand):]
    if not accumulate:
        return tuple(out), tuple(out), tuple(records)
    lo = min((j for j in range(first, i) if out[j] != net[j]), default=b)
    return tuple(out), _reaccumulated(out, available, days, window, lo, i - 1), tuple(records)


def _demand(c: Consumed) -> int:
    return c.demand


def _take(queue: Queue, i: int, quantity: Decimal, made: list[Consumed],
          out: list[Decimal] | None) -> Decimal:
    """Demand of bucket `i` takes from the oldest open supply first; returns the shortage."""
    short = quantity
    while short > 0 and queue:
        e = queue[0]
        have = e[1]
        take = have if have < short else short
        e[1] = have - take
        short -= take
        j = e[0]
        if j != i:
            made.append(Consumed(i, j, take))
        if have == take:
            queue.popleft()
            if out is not None:
                out[j] = ZERO
    return short


def _step(queue: Queue, i: int, s: Decimal, d: Decimal, days: Sequence[int], window: int,
          made: list[Consumed] | None,
          out: list[Decimal] | None) -> tuple[Decimal, Decimal]:
    """One bucket of `atp.consume_within` on an open-supply queue: expire, receive, consume.
    Returns what left the queue (expired or taken) and the shortage."""
    lost = ZERO
    while queue and days[i] - days[queue[0][0]] >= window:
        j, q = queue.popleft()
        lost += q
        if out is not None:
            out[j] = q
    if s > 0:
        queue.append([i, s])
    short = _take(queue, i, d, made if made is not None else [], out)
    return lost + d - short, short


def _merged(before: tuple[Consumed, ...], made: list[Consumed]) -> list[Consumed]:
    """`before` then `made`, a consumption continuing the last one (same demand and supply)
    folded into it, as one pass of consumption would have recorded it."""
    records = list(before)
    if made and records and records[-1][:2] == made[0][:2]:
        last = records.pop()
        made = [Consumed(last.demand, last.supply, last.quantity + made[0].quantity), *made[1:]]
    return records + made


def _reaccumulated(net: list[Decimal], available: Sequence[Decimal], days: Sequence[int],
                   window: int, lo: int, hi: int) -> tuple[Decimal, ...]:
    """`available` with buckets lo.. (up to one window past hi) accumulated anew from `net`
    (as `atp.accumulate` does: the surplus of the window's earlier buckets is carried)."""
    out = list(available)
    start = lo
    while start > 0 and days[lo] - days[start - 1] < window:
        start -= 1
    inside = deque(j for j in range(start, lo) if net[j] > 0)
    carried = sum((net[j] for j in inside), ZERO)
    i = lo
    n = len(net)
    while i < n and (i <= hi or days[i] - days[hi] < window):
        while inside and days[i] - days[inside[0]] >= window:
            carried -= net[inside.popleft()]
        v = net[i]
        out[i] = carried + v
        if v > 0:
            carried += v
            inside.append(i)
        i += 1
    return tuple(out)
