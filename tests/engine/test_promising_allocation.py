"""Allocation by demand class: Oracle's documented examples (60/40 with a delayed low line, the
number / percentage / ratio targets, the hierarchy that takes from parents then lower-ranked
nodes) and the rule's own checks."""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from ordinance.engine.promising.allocation import (AllocationRule, Node, Target,
                                                   allocated_promise)
from ordinance.engine.promising.atp import AtpRule, Supply, SupplyType, build
from ordinance.engine.promising.calendar import Buckets

D = Decimal
JAN1 = datetime.date(2026, 1, 1)
JAN10 = datetime.date(2026, 1, 10)
DAYS = Buckets.daily(JAN1, 28)          # every day worked; weeks start on 1 Jan


def table(*supply: tuple[datetime.date, int], rule: AtpRule = AtpRule()):
    events = [Supply("AS54888", "M1", SupplyType.PURCHASE_ORDER, day, D(q)) for day, q in supply]
    return build(rule, DAYS, JAN1, events, [])


SIXTY_FORTY = AllocationRule(Target.PERCENTAGE, (
    Node("high", D(60), rank=1, demand_classes=frozenset({"High Priority"})),
    Node("low", D(40), rank=2, demand_classes=frozenset({"Low Priority"})),
))


def test_oracle_sixty_forty_high_on_time_then_low_delayed_to_jan_10():
    # Oracle, "Overview of Planning Allocation Rules": 60% high, 40% low; 100 on 1 Jan and 100
    # on 10 Jan; a high line of 30 on 1 Jan is on time (60% of 100 is 60) ...
    atp = table((JAN1, 100), (JAN10, 100))
    high, atp = allocated_promise(atp, SIXTY_FORTY, "High Priority", D(30), JAN1)
    assert [(p.quantity, p.ship_date) for p in high.parts] == [(D(30), JAN1)] and high.on_time
    assert [(s.what, s.note, s.quantity) for s in high.trace] == [
        ("draw", "high", D(30)), ("place", "", D(30))]
    # ... then a low line of 30 on 1 Jan: 40% of the 70 left is 28, so it waits for 10 Jan,
    # where 28 + 40% of 100 = 68 covers it: a delay of 9 days
    low, atp = allocated_promise(atp, SIXTY_FORTY, "Low Priority", D(30), JAN1)
    assert [(p.quantity, p.ship_date) for p in low.parts] == [(D(30), JAN10)]
    assert low.delay_days == 9
    assert [(s.what, s.note, s.quantity) for s in low.trace] == [
        ("draw", "low", D(30)), ("place", "", D(30))]
    # the table took both: 70 then 140 available
    assert atp.available[0] == D(70) and atp.available[9] == D(140)


def test_stealing_or_delay_for_a_high_line_above_its_share():
    atp = table((JAN1, 100), (JAN10, 100))
    # high wants 70 on 1 Jan: its 60, then 10 from the lower-ranked low node
    made, _ = allocated_promise(atp, SIXTY_FORTY, "High Priority", D(70), JAN1)
    assert made.on_time
    assert [(s.note, s.quantity) for s in made.trace if s.what == "draw"] == [
        ("high", D(60)), ("low", D(10))]
    # a low line never takes from the higher-ranked high node: it waits
    made, _ = allocated_promise(atp, SIXTY_FORTY, "Low Priority", D(70), JAN1)
    assert made.ship_date == JAN10
    # with delay instead of stealing, the high line waits for 10 Jan (60 + 60)
    delay = AllocationRule(Target.PERCENTAGE, SIXTY_FORTY.nodes, steal=False)
    made, _ = allocated_promise(atp, delay, "High Priority", D(70), JAN1)
    assert [(p.quantity, p.ship_date) for p in made.parts] == [(D(70), JAN10)]


def test_oracle_number_percentage_and_ratio_targets():
    # Oracle, "Set the Target": a number allocates a fixed quantity (500 to high priority);
    # a percentage a share of the supply (20% of 1,000 = 200 to low priority); a ratio divides
    # the supply (3:1 of 2,000 = 1,500 high, 500 low)
    classes = (frozenset({"High Priority"}), frozenset({"Low Priority"}))
    number = AllocationRule(Target.NUMBER, (Node("high", D(500), rank=1,
                                                 demand_classes=classes[0]),))
    made, _ = allocated_promise(table((JAN1, 1000)), number, "High Priority", D(600), JAN1)
    assert made.parts == () and made.short == D(600)            # 500 a week, supply only now
    made, _ = allocated_promise(table((JAN1, 1000)), number, "High Priority", D(500), JAN1)
    assert made.on_time
    pct = AllocationRule(Target.PERCENTAGE, (Node("low", D(20), rank=2,
                                                  demand_classes=classes[1]),))
    for want, ok in ((D(200), True), (D(201), False)):
        made, _ = allocated_promise(table((JAN1, 1000)), pct, "Low Priority", want, JAN1)
        assert made.on_time is ok
    ratio = AllocationRule(Target.RATIO, (Node("high", D(3), rank=1, demand_classes=classes[0]),
                                          Node("low", D(1), rank=2, demand_classes=classes[1])),
                           steal=False)
    for cls, want, ok in (("High Priority", D(1500), True), ("High Priority", D(1501), False),
                          ("Low Priority", D(500), True), ("Low Priority", D(501), False)):
        made, _ = allocated_promise(table((JAN1, 2000)), ratio, cls, want, JAN1)
        assert made.on_time is ok, (cls, want)


def test_shares_are_whole_units_per_week():
    # 40% of 7 is 2.8: the low node has 2 this week; 40% of 7 more next week is 2 again
    atp = table((JAN1, 7), (datetime.date(2026, 1, 8), 7))
    made, _ = allocated_promise(atp, SIXTY_FORTY, "Low Priority", D(3), JAN1)
    assert made.ship_date == datetime.date(2026, 1, 8)
    made, _ = allocated_promise(atp, SIXTY_FORTY, "Low Priority", D(5), JAN1)
    assert made.parts == () and made.short == D(5)


# Oracle, "Get Supply from Your Parents, and Then Your Siblings": Vision Operations over High
# Volume (Northeast, Northwest) and Low Volume (Southeast, Southwest); shares of a week's 200
# units: Vision 15% (30), High Volume 5% (10), Low Volume 15% (30), Northeast 20% (40),
# Northwest 25% (50), Southeast 10% (20), Southwest 10% (20). Ranks: on the zone tier Northeast
# 9, Northwest 7, Southwest 10, Southeast 15; on the region tier High Volume 2, Low Volume 3.
VISION = (
    Node("Vision Operations", D(15), None, 1),
    Node("High Volume", D(5), "Vision Operations", 2),
    Node("Low Volume", D(15), "Vision Operations", 3),
    Node("Northeast", D(20), "High Volume", 9, frozenset({"NE"})),
    Node("Northwest", D(25), "High Volume", 7, frozenset({"NW"})),
    Node("Southeast", D(10), "Low Volume", 15, frozenset({"SE"})),
    Node("Southwest", D(10), "Low Volume", 10, frozenset({"SW"})),
)


def test_oracle_hierarchy_parents_then_lower_ranked_nodes():
    atp = table((JAN1, 200), rule=AtpRule(split=True))
    rule = AllocationRule(Target.PERCENTAGE, VISION)
    made, after = allocated_promise(atp, rule, "NE", D(220), JAN1)
    # 1 Northeast 40; 2 High Volume 10; 3 Vision Operations 30; 4 Southeast 20 (rank 15, the
    # lowest priority on the tier); 5 Southwest 20 (rank 10); Northwest (rank 7) is ahead of
    # Northeast (9) and is left alone; 6 Low Volume 30 (rank 3, behind High Volume's 2)
    assert [(s.note, s.quantity) for s in made.trace if s.what == "draw"] == [
        ("Northeast", D(40)), ("High Volume", D(10)), ("Vision Operations", D(30)),
        ("Southeast", D(20)), ("Southwest", D(20)), ("Low Volume", D(30))]
    # 7: 70 still needed; nothing else in this horizon, so it stays short (a backorder)
    assert [(p.quantity, p.ship_date) for p in made.parts] == [(D(150), JAN1)]
    assert made.short == D(70)
    assert after.available[0] == D(50)
    # the same without stealing: only its own line of parents, 80
    delay = AllocationRule(Target.PERCENTAGE, VISION, steal=False)
    made, _ = allocated_promise(atp, delay, "NE", D(220), JAN1)
    assert made.promised == D(80) and made.short == D(140)


def test_the_rule_checks_itself():
    with pytest.raises(ValueError, match="percentages add up to 110, more than 100"):
        AllocationRule(Target.PERCENTAGE, (Node("a", D(60)), Node("b", D(50))))
    with pytest.raises(ValueError, match="node 'b' has unknown parent 'x'"):
        AllocationRule(Target.PERCENTAGE, (Node("a", D(60)), Node("b", D(10), "x")))
    with pytest.raises(ValueError, match="go round in a circle"):
        AllocationRule(Target.RATIO, (Node("a", D(1), "b"), Node("b", D(1), "a")))
    with pytest.raises(ValueError, match="demand class 'x' is served by both 'a' and 'b'"):
        AllocationRule(Target.NUMBER, (Node("a", D(1), demand_classes=frozenset({"x"})),
                                       Node("b", D(1), demand_classes=frozenset({"x"}))))
    with pytest.raises(ValueError, match="no node serves demand class 'y'"):
        allocated_promise(table((JAN1, 5)), SIXTY_FORTY, "y", D(1), JAN1)
    with pytest.raises(ValueError, match="must accumulate"):
        allocated_promise(table((JAN1, 5), rule=AtpRule(accumulate=False)), SIXTY_FORTY,
                          "High Priority", D(1), JAN1)
