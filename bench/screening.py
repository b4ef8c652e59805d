#!/usr/bin/env python3
"""Screening benchmark: the cost of `screen()` against the full denied-party list.

usage: .venv/bin/python bench/screening.py [--ruleset DIR] [--repeat 5]

Loads the rule set's `denied_parties` table as the engine reads it, then measures, in one
process on one core:
- the first screening: importing rigour and normality, folding and indexing every listed name;
- a new name: folding it, looking up its candidates and scoring them, over the screening test
  set (tests/rulesets/data/: 1,200 variants of listed names and 1,000 names that are not
  listed), each name asked once with an empty per-name cache (the best of --repeat passes, so
  other work on the machine weighs less; CPU time and wall time both printed);
- a name asked again (the per-rule-set cache of answers).
Also prints how many listed names a query is compared with (median, 90th percentile, most).
Prints figures; asserts nothing about time (ARCHITECTURE.md: benchmarks live in bench/).
"""
from __future__ import annotations

import argparse
import csv
import platform
import statistics
import time
from pathlib import Path

from ordinance.engine import load
from ordinance.engine import screening

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "rulesets" / "data"


def _names() -> list[str]:
    with open(DATA / "screening_variants.csv", newline="", encoding="utf-8") as f:
        names = [r["variant"] for r in csv.DictReader(f)]
    with open(DATA / "screening_unlisted.csv", newline="", encoding="utf-8") as f:
        names += [r["name"] for r in csv.DictReader(f)]
    return names


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ruleset", type=Path, default=ROOT / "rulesets" / "acme")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rows = load(args.ruleset).reference["denied_parties"]
    names = _names()
    listed = sum(1 + len([a for a in (r.get("aliases") or "").split(";") if a]) for r in rows)
    print(f"python {platform.python_version()} on {platform.machine()}; "
          f"{len(rows)} listed entries, {listed} names and aliases; {len(names)} queries")

    t0, c0 = time.perf_counter(), time.process_time()
    prepared = screening._prepared(rows, {})
    print(f"first screening (import, fold and index the list): "
          f"{time.perf_counter() - t0:.2f} s wall, {time.process_time() - c0:.2f} s CPU; "
          f"{len(prepared.folded)} distinct names, {len(prepared.by_key)} keys "
          f"({len(prepared.common)} common), "
          f"{len(prepared.near)} words less one letter")

    compared = [sum(map(len, prepared.candidates(screening.entry(n)))) for n in names]
    compared.sort()
    print(f"listed names compared per query: median {compared[len(compared) // 2]}, "
          f"90th percentile {compared[int(len(compared) * 0.9)]}, most {compared[-1]}, "
          f"mean {statistics.mean(compared):.0f} (of {len(prepared.folded)})")

    walls, cpus = [], []
    for _ in range(args.repeat):
        cache = {"prepared": prepared}  # the table stays indexed; every name is new
        t0, c0 = time.perf_counter(), time.process_time()
        for n in names:
            screening.best_score(n, rows, cache)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    print(f"a new name: {min(cpus) / len(names) * 1e6:.0f} µs CPU, "
          f"{min(walls) / len(names) * 1e6:.0f} µs wall per query (best of {args.repeat})")

    t0 = time.perf_counter()
    for n in names:
        screening.best_score(n, rows, cache)
    print(f"a name asked again: {(time.perf_counter() - t0) / len(names) * 1e6:.2f} µs per query")


if __name__ == "__main__":
    main()
