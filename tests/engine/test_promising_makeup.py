"""Allocation rules, bills of material and capacity from reference data
(engine/promising/makeup.py), the service's line promises by demand class and by
capable-to-promise (engine/promising/lines.py), and `ordinance check` over those tables
(engine/promising/checks.py `check_makeup`)."""
from __future__ import annotations

import datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from ordinance.engine import check
from ordinance.engine.promising.allocation import Target
from ordinance.engine.promising.atp import AtpRule, Consumption
from ordinance.engine.promising.ctp import Plant, capacity
from ordinance.engine.promising.lines import Taken, allocated_line, made_line
from ordinance.engine.promising.makeup import makeup, week_anchor
from ordinance.engine.promising.reference import ReferenceError
from ordinance.engine.promising.reserve import Site, table

JAN1 = datetime.date(2027, 1, 1)          # a Friday
RULE = AtpRule(consumption=Consumption.BACKWARD, accumulate=True)
ALLOC = [{"node": "high", "target": D(60), "rank": D(1), "demand_classes": "high",
          "kind": "percentage", "steal": "false"},
         {"node": "low", "target": D(40), "rank": D(2), "demand_classes": "low;*"}]
BOMS = [{"item": "BIKE", "component": "FRAME", "per_unit": D(1), "resource": "ASSEMBLY",
         "hours": D(1), "lead_days": D(1)},
        {"item": "BIKE", "component": "WHEEL", "per_unit": D(2)},
        {"item": "WHEEL", "component": "RIM", "per_unit": D(1), "resource": "WHEEL-LINE",
         "hours": D("0.5"), "lead_days": D(1)},
        {"item": "WHEEL", "component": "TIRE", "per_unit": D(1)}]
CAPACITY = [{"location": "L", "resource": "ASSEMBLY", "hours_per_day": D(8)},
            {"location": "L", "resource": "WHEEL-LINE", "hours_per_day": D(8)}]


def tab(on_hand: int, later: tuple[tuple[int, int], ...] = ()) -> object:
    """A table as the service builds it: daily from 1 Jan, on hand, receipts (day, qty)."""
    from ordinance.engine.promising.atp import SupplyType
    return table(RULE, 30, JAN1, "x", "L", D(on_hand),
                 [(SupplyType.PURCHASE_ORDER, JAN1 + datetime.timedelta(days=d), D(q))
                  for d, q in later], [])


def test_the_tables_are_read():
    mk = makeup(ALLOC, BOMS, CAPACITY)
    rule = mk.allocation
    assert rule is not None and rule.kind is Target.PERCENTAGE and not rule.steal
    assert [(n.name, n.target, n.rank) for n in rule.nodes] == [("high", 60, 1), ("low", 40, 2)]
    assert (mk.demand_class_node("high"), mk.demand_class_node("low"),
            mk.demand_class_node("gold"), mk.demand_class_node(None)) == (
        "high", "low", "low", "low")
    assert mk.boms["BIKE"].lead_days == 1 and mk.boms["WHEEL"].hours == (("WHEEL-LINE",
                                                                          D("0.5")),)
    assert mk.components("BIKE") == ["BIKE", "FRAME", "WHEEL", "RIM", "TIRE"]
    assert mk.capacity == {"L": {"ASSEMBLY": D(8), "WHEEL-LINE": D(8)}}
    assert makeup(None, None, None).allocation is None
    assert week_anchor(JAN1) == datetime.date(2026, 12, 28)


@pytest.mark.parametrize("alloc, boms, cap, says", [
    ([{**ALLOC[0], "kind": "share"}, ALLOC[1]], None, None,
     "allocation: row 2: kind 'share' is not one of number, percentage, ratio"),
    ([ALLOC[0], {**ALLOC[1], "steal": "true"}], None, None,
     "allocation: row 3: steal 'true' differs from 'false' given at allocation: row 2"),
    ([ALLOC[0], {**ALLOC[1], "parent": "top"}], None, None, "unknown parent 'top'"),
    ([{**ALLOC[0], "target": D(70)}, ALLOC[1]], None, None, "percentages add up to 110"),
    ([{**ALLOC[0], "target": D(-1)}], None, None, "allocation: row 2: target Decimal('-1')"),
    ([{**ALLOC[0], "rank": D("1.5")}], None, None, "rank 1.5 is not a whole number"),
    (None, [*BOMS, {"item": "RIM", "component": "BIKE", "per_unit": D(1)}], None,
     "boms: the bill of material goes round: BIKE -> WHEEL -> RIM -> BIKE"),
    (None, [*BOMS, {"item": "BIKE", "component": "FRAME", "per_unit": D(2)}], None,
     "boms: row 6: BIKE lists component FRAME twice"),
    (None, [*BOMS, {"item": "BIKE", "resource": "PAINT", "hours": D(1), "lead_days": D(3)}],
     None, "boms: row 6: lead_days '3' differs from '1'"),
    (None, [{"item": "BIKE"}], None, "boms: row 2: a row gives a component or a resource"),
    (None, None, [*CAPACITY, CAPACITY[0]], "capacity: row 4: L lists resource ASSEMBLY twice"),
    (None, None, [{"location": "L", "resource": "X", "hours_per_day": "lots"}],
     "capacity: row 2: hours_per_day 'lots' is not a number"),
])
def test_bad_tables_name_their_row(alloc, boms, cap, says):
    with pytest.raises(ReferenceError) as exc:
        makeup(alloc, boms, cap)
    assert says in str(exc.value)


def test_oracle_sixty_forty_by_demand_class():
    """100 on 1 Jan, 100 on 10 Jan: high 30 on 1 Jan; low 30 then waits for 10 Jan."""
    rule = makeup(ALLOC, None, None).allocation
    assert rule is not None
    site = Site("L", datetime.timedelta(days=1), datetime.timedelta(days=2))
    t = {"L": tab(100, ((9, 100),))}
    high, t = allocated_line(t, "x", D(30), [site], JAN1, False, rule, "high")
    assert [(p.quantity, p.demand_date, p.ship_date, p.arrival_date, p.source)
            for p in high.parts] == [(30, JAN1, datetime.date(2027, 1, 2),
                                      datetime.date(2027, 1, 4), "on_hand")]
    low, t = allocated_line(t, "x", D(30), [site], JAN1, False, rule, "low")
    jan10 = datetime.date(2027, 1, 10)
    assert [(p.quantity, p.demand_date, p.source) for p in low.parts] == [(30, jan10, "atp")]
    assert ("draw", "L", "2027-01-10", D(30), "from node low") in low.trace
    # split: 28 now (40% of the 70 left), 2 on 10 Jan
    split, _ = allocated_line({"L": t["L"]}, "x", D(30), [site], JAN1, True, rule, "low")
    assert [(p.quantity, p.demand_date) for p in split.parts] == [(28, JAN1), (2, jan10)]


def test_the_site_that_promises_earliest_is_taken():
    rule = makeup(ALLOC, None, None).allocation
    assert rule is not None
    near, far = Site("A"), Site("B")
    t = {"A": tab(0, ((5, 100),)), "B": tab(100)}
    made, after = allocated_line(t, "x", D(20), [near, far], JAN1, False, rule, "low")
    assert [(p.location, p.demand_date) for p in made.parts] == [("B", JAN1)]
    assert after["A"] == t["A"] and after["B"].demand[0] == 20
    none, _ = allocated_line({"A": tab(0)}, "x", D(5), [near], JAN1, False, rule, "low")
    assert none.short == 5 and none.parts == ()


def plant() -> Plant:
    mk = makeup(None, BOMS, CAPACITY)
    items = {"BIKE": tab(0), "WHEEL": tab(0), "FRAME": tab(100), "RIM": tab(100),
             "TIRE": tab(100)}
    b = items["BIKE"].buckets  # type: ignore[attr-defined]
    return Plant(b, JAN1, items, {"ASSEMBLY": capacity(b, D(8)),
                                  "WHEEL-LINE": capacity(b, D(8))}, mk.boms)


def test_a_two_level_bill_made_twice_waits_for_the_wheel_line():
    site = Site("L", datetime.timedelta(days=1))
    jan = [JAN1 + datetime.timedelta(days=d) for d in range(5)]
    one, after, taken = made_line([(site, plant())], "BIKE", D(8), JAN1)
    assert [(p.quantity, p.source, p.ship_date) for p in one.parts] == [(8, "make", jan[3])]
    assert sorted(taken, key=lambda t: (t.kind, t.what)) == [
        Taken("capacity", "ASSEMBLY", "L", jan[1], D(8)),
        Taken("capacity", "WHEEL-LINE", "L", jan[0], D(8)),
        Taken("component", "FRAME", "L", jan[1], D(8)),
        Taken("component", "RIM", "L", jan[0], D(16)),
        Taken("component", "TIRE", "L", jan[0], D(16))]
    assert after is not None
    two, _, taken2 = made_line([(site, after)], "BIKE", D(8), JAN1)
    assert [(p.quantity, p.source, p.ship_date) for p in two.parts] == [(8, "make", jan[4])]
    assert Taken("capacity", "WHEEL-LINE", "L", jan[1], D(8)) in taken2
    # stock of the item itself is taken first (held for the day the rest is made: the line
    # ships whole), the rest made; on hand alone is on hand
    stocked = plant()
    stocked = stocked.with_item("BIKE", tab(3))  # type: ignore[arg-type]
    part, _, _ = made_line([(site, stocked)], "BIKE", D(8), JAN1)
    assert [(p.quantity, p.source, p.demand_date) for p in part.parts] == [
        (3, "atp", jan[2]), (5, "make", None)]
    whole, _, none = made_line([(site, stocked)], "BIKE", D(2), JAN1)
    assert ([(p.quantity, p.source, p.ship_date) for p in whole.parts], none) == (
        [(2, "on_hand", jan[1])], [])


def test_no_plant_means_short():
    made, after, taken = made_line([], "BIKE", D(1), JAN1)
    assert (made.short, made.parts, after, taken) == (1, (), None, [])


def ruleset(tmp_path: Path, **files: str) -> Path:
    root = tmp_path / "rs"
    (root / "reference").mkdir(parents=True)
    (root / "ruleset.yaml").write_text("ruleset: makeup-checks\nversion: '1'\n")
    (root / "reference/atp_rules.csv").write_text(
        "name,consumption,accumulate\ndefault,backward,"
        + files.pop("accumulate", "true") + "\n")
    for name, text in files.items():
        (root / f"reference/{name}.csv").write_text(text)
    return root


def test_check_points_at_the_bad_row(tmp_path):
    good = ruleset(tmp_path / "good", allocation="node,target,demand_classes,kind\n"
                   "high,60,high,percentage\nlow,40,*,\n",
                   boms="item,component,per_unit,resource,hours,lead_days\nB,F,1,ASM,1,1\n",
                   capacity="location,resource,hours_per_day\nL,ASM,8\n")
    assert [d for d in check(good) if d.severity == "error"] == []
    bad = ruleset(tmp_path / "bad", allocation="node,target,demand_classes,kind\n"
                  "high,60,high,percentage\nlow,40,*,share\n")
    (d,) = [d for d in check(bad) if d.severity == "error"]
    assert (d.span.file, d.span.line, d.code.value) == ("reference/allocation.csv", 3,
                                                         "REFERENCE")
    assert "kind 'share'" in d.message and d.hint and "number, percentage or ratio" in d.hint
    flat = ruleset(tmp_path / "flat", accumulate="false",
                   allocation="node,target,demand_classes\nall,100,*\n")
    assert any("must accumulate" in d.message for d in check(flat))
    idle = ruleset(tmp_path / "idle",
                   boms="item,component,per_unit,resource,hours,lead_days\nB,F,1,ASM,1,1\n")
    assert [(d.severity, d.span.file) for d in check(idle) if "ASM" in d.message] == [
        ("warning", "reference/boms.csv")]
