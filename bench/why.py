#!/usr/bin/env python3
"""Why-not benchmark: the engine's cost of the remedies of one decision.

usage: .venv/bin/python bench/why.py [--orders 200] [--seed 7] [--budget 48]

Generates ACME orders (simulator/generate.py, 5% spoiled, the same every run for a seed),
decides each, then finds its remedies (engine/remedies.py `why_not`: candidates, searches and
the verifying re-decisions). Prints, per order, the CPU time (process time: other work on the
machine does not inflate it) of one decision and of one why-not, as median and 95th
percentile, the re-decisions spent and the remedies shown and dropped. Asserts nothing about
time (ARCHITECTURE.md: benchmarks live in bench/).
"""
from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    from ordinance.engine import load, parse_order
    from ordinance.engine.remedies import why_not
    from ordinance.simulator.generate import dumps_order, generate_orders, load_catalogue

    p = argparse.ArgumentParser()
    p.add_argument("--orders", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--budget", type=int, default=48)
    args = p.parse_args()
    rs = load(ROOT / "rulesets" / "acme")
    cat = load_catalogue(ROOT / "rulesets" / "acme")
    decide_t, why_t, spent = [], [], []
    kinds: Counter[str] = Counter()
    dropped = 0
    for raw in generate_orders(cat, args.orders, args.seed):
        order = parse_order(dumps_order(raw))
        as_of = datetime.date.fromisoformat(str(raw["order_date"])[:10])
        t0 = time.process_time()
        decision = rs.evaluate(order, as_of)
        t1 = time.process_time()
        why = why_not(rs, order, as_of, decision, args.budget)
        t2 = time.process_time()
        decide_t.append(t1 - t0)
        why_t.append(t2 - t1)
        spent.append(why.redecisions)
        dropped += why.dropped
        kinds.update(r.kind for r in why.remedies)

    def ms(xs: list[float], q: float) -> str:
        xs = sorted(xs)
        return f"{xs[min(len(xs) - 1, int(q * len(xs)))] * 1000:.1f} ms"

    print(f"{args.orders} ACME orders (seed {args.seed}), budget {args.budget} re-decisions")
    print(f"decide:  median {ms(decide_t, 0.5)}, p95 {ms(decide_t, 0.95)} (CPU)")
    print(f"why-not: median {ms(why_t, 0.5)}, p95 {ms(why_t, 0.95)} (CPU)")
    print(f"re-decisions per order: median {statistics.median(spent)}, max {max(spent)}")
    print(f"remedies shown: {dict(sorted(kinds.items()))}; dropped unverified: {dropped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
