"""engine/rollout.py: who a rollout takes, and when its candidate crosses a threshold."""
from __future__ import annotations

from decimal import Decimal

import pytest

from ordinance.engine.rollout import PlanError, Tally, crossed, plan_json, plan_of, read_plan


def test_routing_is_deterministic_and_follows_the_share() -> None:
    plan = read_plan("ro_1", {"share": 30, "segments": {"country": ["DE"]}})
    de = {"channel": "web", "country": "DE", "tier": "gold"}
    taken = [plan.takes(f"O{n}", de) for n in range(2000)]
    assert taken == [plan.takes(f"O{n}", de) for n in range(2000)]  # same order, same side
    assert 500 < sum(taken) < 700  # about 30%
    assert not any(plan.takes(f"O{n}", {**de, "country": "US"}) for n in range(200))
    other = read_plan("ro_2", {"share": 30})
    assert [other.takes(f"O{n}", de) for n in range(200)] != taken[:200]  # per rollout
    assert plan_of("ro_1", plan_json(plan)) == plan


@pytest.mark.parametrize("body, path", [
    ({"share": 101}, "$.share"), ({"share": Decimal("2.5")}, "$.share"),
    ({"segments": {"region": ["x"]}}, "$.segments.region"),
    ({"segments": {"tier": []}}, "$.segments.tier"),
    ({"thresholds": {"hold_rate": "1.5"}}, "$.thresholds.hold_rate"),
    ({"thresholds": {"hold_rate": 0.1}}, "$.thresholds.hold_rate"),
    ({"thresholds": {"speed": "0.1"}}, "$.thresholds.speed"),
    ({"min_orders": 0}, "$.min_orders"), ({"promote_after": True}, "$.promote_after"),
    ({"colour": "red"}, "$.colour")])
def test_bad_plans_name_their_field(body: dict, path: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(PlanError) as err:
        read_plan("ro", body)
    assert err.value.path == path


def tally(statuses: dict[str, int], currency: str = "EUR", each: str = "100") -> Tally:
    t = Tally()
    for status, n in statuses.items():
        for _ in range(n):
            t.add(status, currency, Decimal(each), Decimal(each) / 4)
    return t


def test_thresholds() -> None:
    plan = read_plan("ro", {"min_orders": 10, "thresholds": {
        "hold_rate": "0.05", "rejection_rate": "0.05", "revenue_per_order": "0.10"}})
    active = tally({"accepted": 95, "on_hold": 5})
    assert crossed(active, tally({"accepted": 90, "on_hold": 10}), plan) == []  # 5 points
    over = crossed(active, tally({"accepted": 89, "on_hold": 11}), plan)
    assert over == [{"threshold": "hold_rate", "limit": "0.05", "active": "0.0500",
                     "candidate": "0.1100"}]
    # too few orders on a side: nothing judged
    assert crossed(active, tally({"on_hold": 9}), plan) == []
    # revenue per order, per currency: 15% lower in EUR crosses; another currency is apart
    cheaper = tally({"accepted": 100}, each="85")
    assert [c["threshold"] for c in crossed(active, cheaper, plan)] == ["revenue_per_order"]
    assert crossed(active, tally({"accepted": 100}, currency="JPY", each="1"), plan) == []
    # rejected orders bring no revenue
    t = tally({"rejected": 3})
    assert t.revenue == {} and t.rate("rejected") == 1
