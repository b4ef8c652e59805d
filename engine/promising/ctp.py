"""Capable-to-promise: when stock will not do, the date by which a make item can be made.

In: a `Plant` (the ATP table of every item and the capacity table of every resource at one
location, on the same daily buckets; the bill of material of every make item: components per
unit, resource hours per unit, lead time in working days) and a request (item, quantity, date).
Out: a `Capable` (the date, or None; the steps: stock taken, orders to make, components and
hours used, each with its bucket) and the plant with all of it placed.

How the date is found, recursively over the levels of the bill:
- stock first: the request's ATP, as `promise` reads it, whole or in part;
- what stock cannot give is made: a make order completing on day t starts `lead_days` working
  days earlier; each component must be available on the start day (asked the same way, one
  level down); the resource hours come from the working days of [start, t), earliest first;
  if any of that fails the completion slides one day later, until the horizon ends;
- inside an item's ATP time fence (its rule's `atp_fence_days`) only its stock is promised; past the infinite-supply fence of an item
  everything is (the search stops there, at every level).
Speed: a try places nothing before two necessary conditions hold (enough free hours of each
resource in the make window; each bought component offered in full on some day up to the
start), and a component the start day's stock covers is placed without a search; placing only
ever takes supply and hours away, so neither changes an answer (docs/promising.md, "Speed" of
the service's demand classes and make items).
The non-obvious choice: capacity is perishable, so a resource's table neither consumes nor
accumulates across days (an idle hour yesterday is not an hour today), while items keep their
own ATP rule. A bill of material that contains itself is refused when the plant is made.
"""
from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType

from .atp import ZERO, AtpRule, AtpTable, Consumption, tabulate
from .calendar import Buckets

PERISHABLE = AtpRule(consumption=Consumption.NONE, accumulate=False)


@dataclass(frozen=True)
class Component:
    item: str
    per_unit: Decimal


@dataclass(frozen=True)
class Bom:
    item: str
    components: tuple[Component, ...] = ()
    hours: tuple[tuple[str, Decimal], ...] = ()     # (resource, hours per unit)
    lead_days: int = 0


@dataclass(frozen=True)
class Step:
    what: str          # "stock", "make", "hours", "fence", "short"
    item: str
    bucket: int | None
    date: datetime.date | None
    quantity: Decimal
    level: int


@dataclass(frozen=True)
class Capable:
    item: str
    quantity: Decimal
    requested: datetime.date
    date: datetime.date | None        # None: not within the horizon
    steps: tuple[Step, ...]


def capacity(buckets: Buckets, hours: Mapping[int, Decimal] | Decimal,
             loaded: Mapping[int, Decimal] | None = None) -> AtpTable:
    """A resource's table: hours per bucket (one figure for every bucket, or per bucket)."""
    supply = tuple(hours if isinstance(hours, Decimal) else hours.get(i, ZERO)
                   for i in range(len(buckets)))
    demand = tuple((loaded or {}).get(i, ZERO) for i in range(len(buckets)))
    return tabulate(PERISHABLE, buckets, supply, demand)


@dataclass(frozen=True)
class Plant:
    buckets: Buckets
    as_of: datetime.date
    items: Mapping[str, AtpTable]
    resources: Mapping[str, AtpTable] = field(default_factory=dict)
    boms: Mapping[str, Bom] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", MappingProxyType(dict(self.items)))
        object.__setattr__(self, "resources", MappingProxyType(dict(self.resources)))
        object.__setattr__(self, "boms", MappingProxyType(dict(self.boms)))
        for name in self.boms:
            self._check_loops(name, (name,))
        for bom in self.boms.values():
            for c in bom.components:
                if c.item not in self.items and c.item not in self.boms:
                    raise ValueError(f"ctp: {bom.item} needs {c.item}, which has no ATP table "
                                     "and no bill of material")
            for r, _ in bom.hours:
                if r not in self.resources:
                    raise ValueError(f"ctp: {bom.item} needs resource {r}, which has no capacity")

    def _check_loops(self, name: str, path: tuple[str, ...]) -> None:
        for c in self.boms[name].components:
            if c.item in path:
                raise ValueError("ctp: the bill of material goes round: "
                                 + " -> ".join((*path, c.item)))
            if c.item in self.boms:
                self._check_loops(c.item, (*path, c.item))

    def with_item(self, item: str, table: AtpTable) -> Plant:
        return replace(self, items={**self.items, item: table})

    def with_resource(self, name: str, table: AtpTable) -> Plant:
        return replace(self, resources={**self.resources, name: table})


def capable_to_promise(plant: Plant, item: str, quantity: Decimal,
                       requested: datetime.date) -> tuple[Capable, Plant]:
    """The earliest date on or after `requested` by which `quantity` of `item` is there."""
    if quantity <= 0:
        raise ValueError(f"ctp: quantity must be positive, got {quantity}")
    bucket = plant.buckets.of_demand(requested)
    if bucket is None:
        return Capable(item, quantity, requested, None,
                       (Step("short", item, None, None, quantity, 0),)), plant
    found = _earliest(plant, item, quantity, bucket, 0)
    if found is None:
        return Capable(item, quantity, requested, None,
                       (Step("short", item, None, None, quantity, 0),)), plant
    at, after, steps = found
    day = max(requested, plant.buckets.starts[at]) if at < len(plant.buckets) else requested
    return Capable(item, quantity, requested, day, tuple(steps)), after


Found = tuple[int, Plant, list[Step]]


def _earliest(plant: Plant, item: str, qty: Decimal, first: int, level: int) -> Found | None:
    """The first bucket >= `first` by which `qty` of `item` can be had, with the plant after."""
    starts = plant.buckets.starts
    table = plant.items.get(item)
    fence = table.infinite_from if table is not None else None
    bom = plant.boms.get(item)
    fence_days = table.rule.atp_fence_days if table is not None else None
    atp_fence = plant.as_of + datetime.timedelta(days=fence_days or 0)
    end = len(starts) if fence is None else min(fence, len(starts))
    for t in range(first, end):
        have = table.offer(t) if table is not None else ZERO
        if table is not None and have >= qty:
            return t, plant.with_item(item, table.with_demand(t, qty)), [
                Step("stock", item, t, starts[t], qty, level)]
        if bom is None or starts[t] < atp_fence:
            continue
        made = _make(plant, bom, qty - have, t, level)
        if made is None:
            continue
        after, steps = made
        if table is not None and have > 0:
            after = after.with_item(item, after.items[item].with_demand(t, have))
            steps = [Step("stock", item, t, starts[t], have, level), *steps]
        return t, after, steps
    if fence is not None:
        return fence, plant, [Step("fence", item, fence,
                                   starts[fence] if fence < len(starts) else None, qty, level)]
    return None


def _make(plant: Plant, bom: Bom, qty: Decimal, done: int, level: int) -> tuple[Plant,
                                                                                 list[Step]] | None:
    """Make `qty` of `bom.item` completing in bucket `done`, or None if it cannot be."""
    start = done - bom.lead_days
    if start < 0:
        return None
    starts = plant.buckets.starts
    for resource, per_unit in bom.hours:  # a necessary condition, before anything is placed:
        hours = plant.resources[resource]  # placing components only ever takes hours away
        free = sum((hours.offer(b) for b in range(start, max(done, start + 1))), ZERO)
        if free < qty * per_unit:
            return None
    for comp in bom.components:  # likewise: a bought component not there by the start day
        bought = plant.items.get(comp.item)
        if comp.item in plant.boms or bought is None:
            continue
        fence = bought.infinite_from
        need = qty * comp.per_unit
        if (fence is None or fence > start) and not any(
                bought.offer(b) >= need for b in range(0, start + 1)):
            return None
    steps = [Step("make", bom.item, done, starts[done], qty, level)]
    for comp in bom.components:
        need = qty * comp.per_unit
        table = plant.items.get(comp.item)
        if table is not None and table.offer(start) >= need:
            # the common case, decided without the search below: what the search would
            # find is on or before the start day, and the component is then placed there
            plant = plant.with_item(comp.item, table.with_demand(start, need))
            steps.append(Step("stock", comp.item, start, starts[start], need, level + 1))
            continue
        got = _earliest(plant, comp.item, need, 0, level + 1)
        if got is None or got[0] > start:
            return None
        plant, sub = got[1], got[2]     # made (or partly from stock) by the start day
        steps += sub
    for resource, per_unit in bom.hours:
        need = qty * per_unit
        table = plant.resources[resource]
        for b in range(start, max(done, start + 1)):
            take = min(table.offer(b), need)
            if take > 0:
                table = table.with_demand(b, take)
                steps.append(Step("hours", resource, b, starts[b], take, level))
                need -= take
            if need == 0:
                break
        if need > 0:
            return None
        plant = plant.with_resource(resource, table)
    return plant, steps
