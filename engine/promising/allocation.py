"""Allocation by demand class: weekly shares of the remaining supply, a hierarchy of nodes with
ranks, and what a short node may do (take from lower-ranked nodes, or wait).

In: an `AllocationRule` (target kind: number, percentage or ratio; nodes with a parent, a
target, a rank and the demand classes they serve; steal or delay), an accumulating `AtpTable`,
and a request (demand class, quantity, requested date).
Out: a `Promise` (engine/promising/promise.py) whose trace says which node gave what, and the
table with the promised quantity placed as demand.

Semantics, after Oracle Global Order Promising's allocation rules:
- targets apply per weekly bucket to the supply still available (after every demand already
  placed): 60% high / 40% low with 100 on 1 Jan and 100 on 10 Jan promises a high line of 30 on
  1 Jan, after which the low line's 40% of the 70 left is 28, so a low line of 30 waits for 10 Jan;
- a request takes from its own node (this week and earlier weeks), then from each parent up to
  the root; then, if the rule steals, tier by tier from the bottom, from the nodes of the same
  tier ranked after its own node or ancestor there (a larger rank number is a lower priority),
  the lowest priority first; what is still missing waits for a later date (delay);
- a number target is that many units a week (never more than the week's supply); a ratio is the
  node's weight over the weights of all nodes.
The non-obvious choice: shares are floored to whole units per week and node, so a share never
promises a fraction of a unit and the sum of shares never exceeds the week's supply; the
fractions left over belong to no node (they are still available to a rule without allocation).
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from enum import Enum

from .atp import ZERO, AtpTable
from .promise import NO_TIME, Part, Promise, Step

HUNDRED = Decimal(100)


class Target(Enum):
    NUMBER = "number"
    PERCENTAGE = "percentage"
    RATIO = "ratio"


@dataclass(frozen=True)
class Node:
    name: str
    target: Decimal
    parent: str | None = None
    rank: int = 0                       # 0 first; a larger number is a lower priority
    demand_classes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AllocationRule:
    kind: Target
    nodes: tuple[Node, ...]
    steal: bool = True                  # False: a short node waits (delay)
    week_days: int = 7
    week_anchor: datetime.date | None = None   # weeks start here; default: the first bucket

    def __post_init__(self) -> None:
        names = [n.name for n in self.nodes]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ValueError(f"allocation: node {name!r} is declared twice")
            seen.add(name)
        for n in self.nodes:
            if n.parent is not None and n.parent not in seen:
                raise ValueError(f"allocation: node {n.name!r} has unknown parent {n.parent!r}")
            if n.target < 0:
                raise ValueError(f"allocation: node {n.name!r} has a negative target")
        for n in self.nodes:
            self._depth(n.name)  # raises on a cycle
        classes: dict[str, str] = {}
        for n in self.nodes:
            for c in n.demand_classes:
                if c in classes:
                    raise ValueError(f"allocation: demand class {c!r} is served by both "
                                     f"{classes[c]!r} and {n.name!r}")
                classes[c] = n.name
        total = sum((n.target for n in self.nodes), ZERO)
        if self.kind is Target.PERCENTAGE and total > HUNDRED:
            raise ValueError(f"allocation: percentages add up to {total}, more than 100")
        if self.kind is Target.RATIO and total == 0:
            raise ValueError("allocation: every ratio is 0")
        if self.week_days <= 0:
            raise ValueError(f"allocation: week_days must be positive, got {self.week_days}")

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def node_of(self, demand_class: str) -> Node:
        for n in self.nodes:
            if demand_class in n.demand_classes:
                return n
        raise ValueError(f"allocation: no node serves demand class {demand_class!r}")

    def _depth(self, name: str) -> int:
        depth, node, seen = 0, self.node(name), {name}
        while node.parent is not None:
            node = self.node(node.parent)
            if node.name in seen:
                raise ValueError(f"allocation: the parents of {name!r} go round in a circle")
            seen.add(node.name)
            depth += 1
        return depth

    def order(self, start: Node) -> list[Node]:
        """Where a request of `start` takes from: itself, its parents, then (stealing) the
        lower-ranked nodes of each tier from the bottom, lowest priority first."""
        chain = [start]
        while chain[-1].parent is not None:
            chain.append(self.node(chain[-1].parent))
        if not self.steal:
            return chain
        out = list(chain)
        for own in chain:
            depth = self._depth(own.name)
            tier = [n for n in self.nodes if n.name not in {c.name for c in out}
                    and self._depth(n.name) == depth and n.rank > own.rank]
            out += sorted(tier, key=lambda n: -n.rank)
        return out

    def share(self, node: Node, supply: Decimal) -> Decimal:
        """The node's whole units of one week's remaining supply."""
        if supply <= 0:
            return ZERO
        if self.kind is Target.NUMBER:
            return min(node.target, supply).to_integral_value(ROUND_FLOOR)
        if self.kind is Target.PERCENTAGE:
            raw = supply * node.target / HUNDRED
        else:
            raw = supply * node.target / sum((n.target for n in self.nodes), ZERO)
        return raw.to_integral_value(ROUND_FLOOR)


def allocated_promise(table: AtpTable, rule: AllocationRule, demand_class: str,
                      quantity: Decimal, requested: datetime.date, *, item: str = "",
                      location: str = "",
                      transit: datetime.timedelta = NO_TIME) -> tuple[Promise, AtpTable]:
    """Promise `quantity` of `demand_class`; the table comes back with it placed."""
    if not table.rule.accumulate:
        raise ValueError("allocation: the ATP rule must accumulate (shares pool earlier weeks)")
    if quantity <= 0:
        raise ValueError(f"promise: quantity must be positive, got {quantity}")
    order = rule.order(rule.node_of(demand_class))
    buckets = table.buckets
    anchor = rule.week_anchor or buckets.first
    end = len(buckets) if table.infinite_from is None else table.infinite_from
    start = buckets.of_demand(requested)
    steps: list[Step] = []
    parts: list[Part] = []
    want = quantity
    before = table          # shares are of the supply left when the request came in
    drawn: dict[str, Decimal] = {}
    while want > 0 and start is not None and start < end:
        found = None
        for i in range(start, end):
            draws = _draws(before, table, rule, order, anchor, i, want, drawn)
            got = sum((q for _, q in draws), ZERO)
            if got >= want or (table.rule.split and got >= table.rule.min_split):
                found = (i, draws, min(got, want))
                break
        if found is None:
            break
        i, draws, take = found
        day = buckets.starts[i]
        for name, q in draws:
            steps.append(Step("draw", i, day, q, name))
            drawn[name] = drawn.get(name, ZERO) + q
        table = table.with_demand(i, take)
        steps.append(Step("place", i, day, take))
        ship = max(day, requested, buckets.first)
        parts.append(Part(take, i, ship, ship + transit))
        want -= take
        start = i + 1
    if want > 0 and table.infinite_from is not None:
        fence = table.infinite_from
        day = buckets.starts[fence] if fence < len(buckets) else buckets.starts[-1]
        steps.append(Step("fence", fence, day, want, "infinite supply from here"))
        ship = max(day, requested, buckets.first)
        parts.append(Part(want, None, ship, ship + transit))
        want = ZERO
    if want > 0:
        steps.append(Step("short", None, None, want, "no allocation inside the horizon"))
    return Promise(item, location, quantity, requested, tuple(parts), want, tuple(steps)), table


def _draws(before: AtpTable, table: AtpTable, rule: AllocationRule, order: list[Node],
           anchor: datetime.date, bucket: int, want: Decimal,
           drawn: dict[str, Decimal]) -> list[tuple[str, Decimal]]:
    """What each node in `order` gives a request placed in `bucket`: its shares of every week
    up to the bucket's (that week counted up to the bucket) of the supply left before this
    request, less what this request already drew from it; never more than is free now."""
    weeks: dict[int, Decimal] = {}
    for j in range(bucket + 1):
        free = before.net[j] if before.net[j] > 0 else ZERO
        week = (before.buckets.starts[j] - anchor).days // rule.week_days
        weeks[week] = weeks.get(week, ZERO) + free
    limit = table.offer(bucket)
    out: list[tuple[str, Decimal]] = []
    for node in order:
        if want <= 0 or limit <= 0:
            break
        pool = sum((rule.share(node, supply) for supply in weeks.values()), ZERO) \
            - drawn.get(node.name, ZERO)
        take = min(pool, want, limit)
        if take > 0:
            out.append((node.name, take))
            want -= take
            limit -= take
    return out
