#!/usr/bin/env python3
"""What `ordinance check` costs, and what the checks of issue 15 add (engine/checks.py).

usage: .venv/bin/python bench/check.py [--ruleset DIR] [--repeat 5]

Measures CPU time (time.process_time, not wall time: the machine is shared) of check_dir over
a rule set with and without engine/checks.py, the expression parse cache cleared before each
run so both pay for parsing. Prints the best and median of each; asserts nothing about time.
"""
from __future__ import annotations

import argparse
import statistics
import time

import ordinance.engine.ruleset as ruleset
from ordinance.engine.syntax import parse


def once(path: str, with_checks: bool) -> float:
    real = ruleset.run_checks
    if not with_checks:
        ruleset.run_checks = lambda c: None
    parse.cache_clear()
    try:
        start = time.process_time()
        ruleset.check_dir(path)
        return time.process_time() - start
    finally:
        ruleset.run_checks = real


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ruleset", default="rulesets/acme")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    once(args.ruleset, True)  # warm imports and the file cache
    for label, flag in (("without the checks", False), ("with the checks", True)):
        runs = [once(args.ruleset, flag) for _ in range(args.repeat)]
        print(f"{args.ruleset} {label}: best {min(runs) * 1000:.0f} ms, median "
              f"{statistics.median(runs) * 1000:.0f} ms CPU")


if __name__ == "__main__":
    main()
