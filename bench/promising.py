#!/usr/bin/env python3
"""Promising benchmark: the engine time of a promise for an order of 5 lines.

usage: .venv/bin/python bench/promising.py [--lines 5] [--events 200] [--days 365]
                                           [--repeat 2000] [--rule backward|...] [--callgrind]

Builds, for each of the order's items, a year of daily buckets (`--days`, every day worked)
with `--events` supply events (purchase orders, transfers, work orders spread over the year,
plus on hand) and as many order-line demands, seeded so every run sees the same figures. Then
measures, in one process on one core:
- building one item's ATP table from its events (done when supply changes, not per promise);
- a promise for the whole order: every line promised against its item's table, each table
  coming back with the line placed (the "engine time" of the issue's target, under 1 ms);
- a check without committing (the same promises, tables thrown away) is the same work.
Prints the median and the best of --repeat runs (wall time of one process on one core; the
best is the figure least disturbed by other work on the machine), and how many lines came back
on time, late or short. On a busy machine, --callgrind also counts the instructions of one
order's promise under valgrind (the run with N orders less the run with none, over N), which
other work does not disturb. Asserts nothing about time (ARCHITECTURE.md: benchmarks live in
bench/).
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

from ordinance.engine.promising.atp import (AtpRule, Consumption, Demand, DemandType, Supply,
                                            SupplyType, build)
from ordinance.engine.promising.calendar import Buckets
from ordinance.engine.promising.promise import promise

AS_OF = datetime.date(2026, 1, 1)
RULES = {
    "backward": AtpRule(),
    "backward_forward": AtpRule(consumption=Consumption.BACKWARD_FORWARD),
    "look_ahead": AtpRule(consumption=Consumption.LOOK_AHEAD),
    "period": AtpRule(consumption=Consumption.BACKWARD, accumulate=False),
    "window": AtpRule(accumulation_window_days=30),
}
KINDS = (SupplyType.PURCHASE_ORDER, SupplyType.IN_TRANSIT, SupplyType.WORK_ORDER)


def events(rng: random.Random, item: str, n: int, days: int) -> tuple[list[Supply],
                                                                      list[Demand]]:
    day = lambda: AS_OF + datetime.timedelta(days=rng.randrange(days))  # noqa: E731
    supplies = [Supply(item, "WH-NJ", SupplyType.ON_HAND, AS_OF, Decimal(rng.randrange(50)))]
    supplies += [Supply(item, "WH-NJ", rng.choice(KINDS), day(), Decimal(rng.randrange(1, 100)))
                 for _ in range(n)]
    demands = [Demand(item, "WH-NJ", DemandType.ORDER_LINE, day(),
                      Decimal(rng.randrange(1, 90))) for _ in range(n)]
    return supplies, demands


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--lines", type=int, default=5)
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=2000)
    ap.add_argument("--rule", choices=sorted(RULES), default="backward")
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--inner", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    rng = random.Random(14)
    rule = RULES[args.rule]
    buckets = Buckets.daily(AS_OF, args.days)
    items = [f"SKU-{i:04d}" for i in range(args.lines)]
    inputs = {item: events(rng, item, args.events, args.days) for item in items}
    order = [(item, Decimal(rng.randrange(1, 60)),
              AS_OF + datetime.timedelta(days=rng.randrange(args.days // 2)))
             for item in items]
    if args.inner is not None:      # under valgrind: set up, then promise the order N times
        tables = {item: build(rule, buckets, AS_OF, *inputs[item]) for item in items}
        for _ in range(args.inner):
            [promise(tables[item], qty, day, AS_OF) for item, qty, day in order]
        return
    if args.callgrind:
        _callgrind(args)
        return
    print(f"python {platform.python_version()} on {platform.machine()}; rule {args.rule}; "
          f"{len(buckets)} daily buckets; {args.events} supply and {args.events} demand events "
          f"per item; an order of {args.lines} lines; best and median of {args.repeat} runs")

    builds = []
    for _ in range(max(args.repeat // 10, 20)):
        c0 = time.process_time_ns()
        for item in items:
            build(rule, buckets, AS_OF, *inputs[item])
        builds.append((time.process_time_ns() - c0) / len(items))
    tables = {item: build(rule, buckets, AS_OF, *inputs[item]) for item in items}

    runs = []
    outcome: dict[str, int] = {}
    for r in range(args.repeat):
        c0 = time.perf_counter_ns()
        made = [promise(tables[item], qty, day, AS_OF)[0] for item, qty, day in order]
        runs.append(time.perf_counter_ns() - c0)
        if r == 0:
            for m in made:
                key = "on time" if m.on_time else "short" if m.short else "late"
                outcome[key] = outcome.get(key, 0) + 1
    us = lambda ns: f"{ns / 1000:.1f} µs"  # noqa: E731
    print(f"build one item's table:    best {us(min(builds))}, median {us(statistics.median(builds))}")
    print(f"promise the order ({args.lines} lines): best {us(min(runs))}, "
          f"median {us(statistics.median(runs))}, "
          f"per line {us(statistics.median(runs) / args.lines)}")
    print("lines: " + ", ".join(f"{v} {k}" for k, v in sorted(outcome.items())))


def _callgrind(args: argparse.Namespace) -> None:
    n = 20
    counts = []
    with tempfile.TemporaryDirectory() as tmp:
        for inner in (0, n):
            out = os.path.join(tmp, f"cg.{inner}")
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                   sys.executable, __file__, "--inner", str(inner), "--rule", args.rule,
                   "--lines", str(args.lines), "--events", str(args.events),
                   "--days", str(args.days)]
            subprocess.run(cmd, check=True, capture_output=True)
            with open(out, encoding="utf-8") as f:
                total = next(int(line.split()[1]) for line in f
                             if line.startswith(("summary:", "totals:")))
            counts.append(total)
    per = (counts[1] - counts[0]) / n
    print(f"callgrind, rule {args.rule}: {per / 1e6:.2f} million instructions per order of "
          f"{args.lines} lines ({per / args.lines / 1e6:.2f} million per line)")


if __name__ == "__main__":
    main()
