#!/usr/bin/env python3
"""Allocation and capable-to-promise benchmark: the engine time of the service's line promises
by demand class and by capable-to-promise (engine/promising/lines.py).

usage: .venv/bin/python bench/promising_makeup.py [--lines 5] [--events 200] [--days 365]
                                                  [--repeat 200]

- by demand class: an order of --lines lines, each item with a year of daily buckets and
  --events receipts and as many demands (seeded), promised to the low class of a 60/40
  percentage rule at one location (`allocated_line`), the tables coming back with each line;
- by capable-to-promise: 8 bikes of the two-level bill of docs/promising.md (bike = frame + 2
  wheels, wheel = rim + tire; two resources of 8 hours a day) on the same buckets, with no
  bike and no wheel in stock, so every promise makes both levels (`made_line`).
Prints the median and the best of --repeat runs (wall time, one process, one core). Asserts
nothing about time (ARCHITECTURE.md: benchmarks live in bench/).
"""
from __future__ import annotations

import argparse
import datetime
import random
import statistics
import time
from decimal import Decimal

from ordinance.engine.promising.atp import AtpRule, SupplyType
from ordinance.engine.promising.ctp import Plant, capacity
from ordinance.engine.promising.lines import allocated_line, made_line
from ordinance.engine.promising.makeup import makeup
from ordinance.engine.promising.reserve import Site, table

AS_OF = datetime.date(2026, 1, 1)
RULE = AtpRule()
ALLOC = [{"node": "high", "target": Decimal(60), "rank": Decimal(1), "demand_classes": "high",
          "kind": "percentage", "steal": "true"},
         {"node": "low", "target": Decimal(40), "rank": Decimal(2), "demand_classes": "low"}]
BOMS = [{"item": "BIKE", "component": "FRAME", "per_unit": Decimal(1), "resource": "ASSEMBLY",
         "hours": Decimal(1), "lead_days": Decimal(1)},
        {"item": "BIKE", "component": "WHEEL", "per_unit": Decimal(2)},
        {"item": "WHEEL", "component": "RIM", "per_unit": Decimal(1), "resource": "WHEEL-LINE",
         "hours": Decimal("0.5"), "lead_days": Decimal(1)},
        {"item": "WHEEL", "component": "TIRE", "per_unit": Decimal(1)}]


def item_table(rng: random.Random, n: int, days: int, on_hand: int) -> object:
    day = lambda: AS_OF + datetime.timedelta(days=rng.randrange(1, days))  # noqa: E731
    supply = [(SupplyType.PURCHASE_ORDER, day(), Decimal(rng.randrange(1, 100)))
              for _ in range(n)]
    held = [(day(), Decimal(rng.randrange(1, 60))) for _ in range(n)]
    return table(RULE, days, AS_OF, "x", "L", Decimal(on_hand), supply, held)


def timed(fn: object, repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), min(runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=5)
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=200)
    a = ap.parse_args()
    rng = random.Random(14)
    rule = makeup(ALLOC, None, None).allocation
    assert rule is not None
    tables = [item_table(rng, a.events, a.days, rng.randrange(50)) for _ in range(a.lines)]
    site = [Site("L")]

    def by_class() -> None:
        for t in tables:
            allocated_line({"L": t}, "x", Decimal(40), site, AS_OF, True, rule,  # type: ignore[dict-item]
                           "low")

    mk = makeup(None, BOMS, [{"location": "L", "resource": r, "hours_per_day": Decimal(8)}
                             for r in ("ASSEMBLY", "WHEEL-LINE")])
    items = {"BIKE": item_table(rng, 0, a.days, 0), "WHEEL": item_table(rng, 0, a.days, 0),
             **{c: item_table(rng, a.events, a.days, 100) for c in ("FRAME", "RIM", "TIRE")}}
    buckets = items["BIKE"].buckets  # type: ignore[attr-defined]
    plant = Plant(buckets, AS_OF, items,  # type: ignore[arg-type]
                  {r: capacity(buckets, Decimal(8)) for r in ("ASSEMBLY", "WHEEL-LINE")},
                  mk.boms)

    def by_ctp() -> None:
        made_line([(site[0], plant)], "BIKE", Decimal(8), AS_OF)

    made, _, taken = made_line([(site[0], plant)], "BIKE", Decimal(8), AS_OF)
    for name, fn in ((f"an order of {a.lines} lines by demand class", by_class),
                     ("8 bikes by capable-to-promise (2 levels)", by_ctp)):
        med, best = timed(fn, a.repeat)
        print(f"{name}: median {med * 1000:.3f} ms, best {best * 1000:.3f} ms "
              f"({a.days} daily buckets, {a.events} events per item, {a.repeat} runs)")
    print(f"  the bikes: ship {made.ship_date}, {len(taken)} component and hour reservations")


if __name__ == "__main__":
    main()
