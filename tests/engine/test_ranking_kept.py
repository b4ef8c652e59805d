"""engine/sourcing.py `Allocation.source` (issue 16): a SKU the reference inventory lists nowhere
finds nothing without looking at each location; a decision's lines sourced by one action
from the same candidates, region and preference reuse the ranking of the line before rather
than looking it up in the network's cache again; anything else ranks afresh, and the results
are those of ranking every line."""
from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest

from ordinance.engine import dumps, load, validate_order
from ordinance.engine.sourcing import Allocation

ACME = Path(__file__).resolve().parents[2] / "rulesets/acme"
DAY = datetime.date(2026, 11, 20)


def _orders(n: int) -> list[dict]:
    from ordinance.simulator import generate

    out = generate.generate_orders(generate.load_catalogue(ACME), count=n, seed=5)
    return [json.loads(json.dumps(o, default=str)) for o in out]


def test_kept_rankings_decide_as_ranking_every_line(monkeypatch: pytest.MonkeyPatch) -> None:
    rs = load(ACME)
    orders = _orders(150)
    kept = [dumps(rs.evaluate(validate_order(o), as_of=DAY).to_json()) for o in orders]
    source, lookups = Allocation.source, []

    def afresh(self: Allocation, *args: object) -> object:
        self.ranked_for = None  # no ranking kept: each line looks its ranking up
        lookups.append(1)
        return source(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Allocation, "source", afresh)
    every_line = [dumps(rs.evaluate(validate_order(o), as_of=DAY).to_json()) for o in orders]
    assert kept == every_line
    assert len(lookups) > 300  # the stream sources many lines


def test_a_ranking_is_kept_only_for_the_same_candidates_region_and_preference() -> None:
    rs = load(ACME)
    net = rs.network
    calls: list[tuple[object, ...]] = []
    ranking = net.ranking

    def counted(candidates: tuple[str, ...], region: str, prefer: str) -> object:
        calls.append((candidates, region, prefer))
        return ranking(candidates, region, prefer)

    net.ranking = counted  # type: ignore[method-assign]
    try:
        alloc = Allocation(net, None)
        locations = [loc for loc in net.nearest][:3]
        region = next(iter(net.nearest[locations[0]]))
        one, other = list(locations), list(locations)
        q = Decimal(1)
        first = alloc.source(one, "X", q, region, "nearest", None, True, DAY)
        assert alloc.source(one, "X", q, region, "nearest", None, True, DAY) == first
        assert len(calls) == 1  # kept
        alloc.source(other, "X", q, region, "nearest", None, True, DAY)  # another list
        alloc.source(other, "X", q, region, "cheapest", None, True, DAY)
        assert alloc.source(other, "X", q, None, "cheapest", None, True, DAY) == ([], q)
        assert alloc.ranked == []
        alloc.source(other, "X", q, region, "cheapest", None, True, DAY)  # after no region
        assert len(calls) == 4
        assert alloc.ranked == ranking(tuple(other), region, "cheapest")
    finally:
        del net.ranking


def test_a_sku_stocked_nowhere_finds_nothing_without_looking() -> None:
    rs = load(ACME)
    net = rs.network
    loc, sku = next(iter(net.on_hand))
    region = next(iter(net.nearest[loc]))
    q = Decimal(3)
    assert "NO-SUCH-SKU" not in net.stocked and sku in net.stocked
    alloc = Allocation(net, None)
    assert alloc.source([loc], "NO-SUCH-SKU", q, region, "nearest", None, True, DAY) == ([], q)
    assert alloc.ranked == net.ranking((loc,), region, "nearest")  # ranked all the same
    # a caller's stock is looked at location by location, whatever the reference lists
    mine = Allocation(net, {(loc, "NO-SUCH-SKU"): Decimal(2)})
    found, left = mine.source([loc], "NO-SUCH-SKU", q, region, "nearest", None, True, DAY)
    assert [a["quantity"] for a in found] == [Decimal(2)] and left == Decimal(1)
