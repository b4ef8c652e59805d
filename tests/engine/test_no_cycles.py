"""A decision leaves no reference cycles behind (issue 16): once dropped, everything it made is
freed by reference counting, not kept until the cyclic collector runs. A stream of decisions
whose states, pricings and lines referred back to each other kept every decision of the last
collection period alive, which cost the engine about 7 % of a decision's CPU in `ordinance eval`.
"""
from __future__ import annotations

import datetime
import gc
import json
from pathlib import Path
from typing import Any, Callable

from ordinance.engine import dumps, evaluate_pair, load, parse_order
from ordinance.simulator import generate

ACME = Path(__file__).resolve().parents[2] / "rulesets/acme"
DAY = datetime.date(2026, 11, 20)


def _orders(count: int, seed: int) -> list[dict[str, Any]]:
    """The simulator's generated stream, read as `ordinance eval` reads it."""
    return [parse_order(json.dumps(o, default=str)) for o in generate.generate_orders(
        generate.load_catalogue(ACME), count=count, seed=seed)]


def _unreachable_after(work: Callable[[], Any]) -> int:
    """How many objects `work` left unreachable but alive (only a cycle is)."""
    gc.collect()
    gc.disable()
    try:
        work()
        return gc.collect()
    finally:
        gc.enable()


def test_deciding_and_rendering_acme_orders_leaves_no_cycles():
    rs = load(ACME)
    orders = _orders(40, 3)
    statuses: set[str] = set()

    def decide_all() -> None:
        for o in orders:
            d = rs.evaluate(o, as_of=DAY)
            statuses.add(d.status)
            dumps(d.to_json())

    decide_all()  # warm: memos and caches filled once are not garbage, but not the point here
    statuses.clear()
    assert _unreachable_after(decide_all) == 0
    assert len(statuses) >= 3  # the stream is not one trivial outcome
    # the check itself can fail: a cycle made the same way is counted
    assert _unreachable_after(lambda: [(x := {}), x.__setitem__("me", x)]) > 0


def test_a_pair_of_decisions_leaves_no_cycles():
    a, b = load(ACME), load(ACME)
    orders = _orders(20, 4)

    def pair_all() -> None:
        for o in orders:
            first, second = evaluate_pair(a, b, o, as_of=DAY)
            dumps(first.to_json())
            dumps(second.to_json())

    pair_all()
    assert _unreachable_after(pair_all) == 0
