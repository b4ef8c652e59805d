"""The shortcuts of capable-to-promise's search (engine/promising/ctp.py `_make`: two necessary
conditions checked before anything is placed, and a component the start day's stock covers
placed without a search) change no answer: random two-level plants under five ATP rules are
promised twice, by ctp.py and by the plain search below (ctp.py's search before the shortcuts,
kept here as the reference), and the dates, the steps and every table after must be equal."""
from __future__ import annotations

import datetime
import random
from decimal import Decimal

import pytest

from ordinance.engine.promising.atp import AtpRule, Consumption, SupplyType
from ordinance.engine.promising.ctp import (Bom, Component, Plant, Step, capable_to_promise,
                                            capacity)
from ordinance.engine.promising.reserve import table

ZERO = Decimal(0)
A = datetime.date(2027, 1, 1)
RULES = [AtpRule(), AtpRule(consumption=Consumption.BACKWARD, accumulate=False),
         AtpRule(consumption=Consumption.LOOK_AHEAD, accumulate=False),
         AtpRule(infinite_fence_days=10), AtpRule(atp_fence_days=3)]
Found = tuple[int, Plant, list[Step]]


def plain(plant: Plant, item: str, qty: Decimal, requested: datetime.date) -> tuple[
        datetime.date | None, list[Step], Plant]:
    bucket = plant.buckets.of_demand(requested)
    assert bucket is not None
    found = _earliest(plant, item, qty, bucket, 0)
    if found is None:
        return None, [Step("short", item, None, None, qty, 0)], plant
    at, after, steps = found
    day = max(requested, plant.buckets.starts[at]) if at < len(plant.buckets) else requested
    return day, steps, after


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
    steps = [Step("make", bom.item, done, starts[done], qty, level)]
    for comp in bom.components:
        need = qty * comp.per_unit
        got = _earliest(plant, comp.item, need, 0, level + 1)
        if got is None or got[0] > start:
            return None
        # place the component on the start day (when it is used), not on the day it is found
        at, _, _ = got
        table = plant.items.get(comp.item)
        if table is not None and table.offer(start) >= need:
            plant = plant.with_item(comp.item, table.with_demand(start, need))
            steps.append(Step("stock", comp.item, start, starts[start], need, level + 1))
        else:
            plant, sub = got[1], got[2]
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


@pytest.mark.parametrize("seed", range(400))
def test_the_shortcuts_change_no_answer(seed: int) -> None:
    r = random.Random(seed)
    rule = r.choice(RULES)

    def item(n: int) -> object:
        return table(rule, 25, A, "x", "L", Decimal(r.randrange(0, 30)),
                     [(SupplyType.PURCHASE_ORDER, A + datetime.timedelta(days=r.randrange(1, 25)),
                       Decimal(r.randrange(1, 30))) for _ in range(n)],
                     [(A + datetime.timedelta(days=r.randrange(0, 25)),
                       Decimal(r.randrange(1, 20))) for _ in range(n)])
    items = {k: item(r.randrange(0, 6)) for k in ("P", "S", "C1", "C2", "C3")}
    shared = r.choice(["R1", "R2"])
    boms = {"P": Bom("P", (Component("S", Decimal(r.choice([1, 2]))), Component("C1", Decimal(1))),
                     (("R1", Decimal(r.choice(["0.5", "1", "2"]))),), r.randrange(0, 3)),
            "S": Bom("S", (Component("C2", Decimal(1)), Component("C3", Decimal(r.choice([1, 3])))),
                     ((shared, Decimal("0.5")),), r.randrange(0, 3))}
    buckets = items["P"].buckets  # type: ignore[attr-defined]
    plant = Plant(buckets, A, items,  # type: ignore[arg-type]
                  {k: capacity(buckets, Decimal(r.randrange(2, 10))) for k in ("R1", "R2")}, boms)
    qty, day = Decimal(r.randrange(1, 15)), A + datetime.timedelta(days=r.randrange(0, 5))
    fast, after = capable_to_promise(plant, "P", qty, day)
    date, steps, ref = plain(plant, "P", qty, day)
    assert (fast.date, list(fast.steps)) == (date, steps)
    again, after2 = capable_to_promise(after, "P", qty, A)
    date2, steps2, ref2 = plain(ref, "P", qty, A)
    assert (again.date, list(again.steps)) == (date2, steps2)
    assert {k: v.demand for k, v in after2.items.items()} == \
        {k: v.demand for k, v in ref2.items.items()}
    assert {k: v.demand for k, v in after2.resources.items()} == \
        {k: v.demand for k, v in ref2.resources.items()}
