"""What a running shadow and rollout add to a live decision's request path (issue 18).

The request path does only `Live.route` (segments of the order, a hash of its id) and
`Live.offer` (an append to a bounded deque); the candidate of a shadow is decided later by
the background worker. This measures those two calls over acme's generated orders, in CPU
time (the machine is shared: wall time is noise), and prints the mean and the 99th
percentile per decision in microseconds.

    .venv/bin/python bench/rollout_overhead.py [ORDERS]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from ordinance.api.usecases.rollout import Live, Running
from ordinance.engine import load
from ordinance.engine.rollout import read_plan
from ordinance.engine.segments import Segmenter
from ordinance.simulator.catalogue import load_catalogue
from ordinance.simulator.generate import generate_orders

ACME = Path(__file__).resolve().parents[1] / "rulesets" / "acme"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    rs = load(ACME)
    orders = list(generate_orders(load_catalogue(ACME), n, 11, bad_share="0"))
    live = Live()
    live.segmenter = Segmenter(rs.reference)
    live.running = (
        Running("ro_shadow", "shadow", "x", read_plan("ro_shadow", {
            "sample": 50, "segments": {"channel": ["web", "edi"]}}), rs),
        Running("ro_rollout", "rollout", "y", read_plan("ro_rollout", {
            "share": 20, "segments": {"country": ["DE", "US", "GB"]}}), rs))
    samples = []
    for order in orders:
        t0 = time.process_time_ns()
        _, tags = live.route(order, False)
        if tags:
            live.offer(tags, order, None, None, {}, "decide")
        samples.append(time.process_time_ns() - t0)
        if len(live.queue) > 5000:
            live.queue.clear()  # the worker drains it; not measured here
    samples.sort()
    mean = sum(samples) / len(samples) / 1000
    p99 = samples[int(len(samples) * 0.99)] / 1000
    print(f"{n} decisions: route+offer mean {mean:.1f} us, p99 {p99:.1f} us (CPU time)")


if __name__ == "__main__":
    main()
