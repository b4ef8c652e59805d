"""Capable-to-promise on a two-level bill of material, worked out by hand."""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from ordinance.engine.promising.atp import AtpRule, Supply, SupplyType, build
from ordinance.engine.promising.calendar import Buckets, Calendar
from ordinance.engine.promising.ctp import (Bom, Component, Plant, capable_to_promise,
                                            capacity)

D = Decimal
AS_OF = datetime.date(2026, 3, 2)      # a Monday
DAYS = Buckets.daily(AS_OF, 14, Calendar())
# bucket: 0     1     2     3     4     5     6      7      8      9
# date:   2 Mar 3 Mar 4 Mar 5 Mar 6 Mar 9 Mar 10 Mar 11 Mar 12 Mar 13 Mar

# BIKE  = 1 FRAME + 2 WHEEL, 2 hours of ASSEMBLY each, 2 working days
# WHEEL = 1 RIM + 1 TIRE, 1 hour of WHEEL_LINE each, 1 working day
# FRAME, RIM and TIRE are bought.
BOMS = {
    "BIKE": Bom("BIKE", (Component("FRAME", D(1)), Component("WHEEL", D(2))),
                (("ASSEMBLY", D(2)),), lead_days=2),
    "WHEEL": Bom("WHEEL", (Component("RIM", D(1)), Component("TIRE", D(1))),
                 (("WHEEL_LINE", D(1)),), lead_days=1),
}


def stock(item: str, *events: tuple[int, int], rule: AtpRule = AtpRule()):
    supplies = [Supply(item, "PLANT", SupplyType.ON_HAND if day == 2 else
                       SupplyType.PURCHASE_ORDER, datetime.date(2026, 3, day), D(q))
                for day, q in events]
    return build(rule, DAYS, AS_OF, supplies, [])


def plant(**changes) -> Plant:
    items = {
        "BIKE": stock("BIKE", (2, 2)),                  # 2 on hand
        "WHEEL": stock("WHEEL", (2, 4)),                # 4 on hand
        "FRAME": stock("FRAME", (2, 3), (5, 10)),       # 3 on hand, 10 arriving 5 Mar
        "RIM": stock("RIM", (2, 20)),
        "TIRE": stock("TIRE", (2, 5), (9, 20)),
    }
    items.update(changes.pop("items", {}))
    resources = {"ASSEMBLY": capacity(DAYS, D(8)), "WHEEL_LINE": capacity(DAYS, D(4))}
    resources.update(changes.pop("resources", {}))
    boms = changes.pop("boms", BOMS)
    return Plant(DAYS, AS_OF, items, resources, boms, **changes)


def steps(result):
    return [(s.what, s.item, s.bucket, int(s.quantity), s.level) for s in result.steps]


def test_two_level_bill_by_hand():
    # 6 bikes wanted on 3 Mar. Stock: 2 bikes, so 4 are made, each needing a frame and two
    # wheels on the day assembly starts, two working days before completion.
    # - completing 3 Mar or 4 Mar would start before 2 Mar or on it, when only 3 frames exist;
    # - completing 5 Mar or 6 Mar starts on 3 or 4 Mar: still 3 frames (the 10 arrive 5 Mar);
    # - completing 9 Mar starts on 5 Mar: 4 of the 13 frames; 8 wheels: 4 in stock, 4 made
    #   completing 3 Mar (1 day from 2 Mar) of 4 rims and 4 of the 5 tires, with the 4 wheel
    #   line hours of 2 Mar; assembly needs 4 x 2 = 8 hours in [5 Mar, 9 Mar): 8 on 5 Mar.
    made, after = capable_to_promise(plant(), "BIKE", D(6), datetime.date(2026, 3, 3))
    assert made.date == datetime.date(2026, 3, 9)
    assert steps(made) == [
        ("stock", "BIKE", 5, 2, 0),
        ("make", "BIKE", 5, 4, 0),
        ("stock", "FRAME", 3, 4, 1),
        ("stock", "WHEEL", 1, 4, 1),
        ("make", "WHEEL", 1, 4, 1),
        ("stock", "RIM", 0, 4, 2),
        ("stock", "TIRE", 0, 4, 2),
        ("hours", "WHEEL_LINE", 0, 4, 1),
        ("hours", "ASSEMBLY", 3, 8, 0),
    ]
    # everything is placed: 9 frames left after 5 Mar, 1 tire on 2 Mar, no wheel line hours
    # on 2 Mar, none of assembly on 5 Mar, no bikes
    assert after.items["FRAME"].available[3] == D(9)
    assert after.items["TIRE"].available[0] == D(1)
    assert after.resources["WHEEL_LINE"].offer(0) == 0
    assert after.resources["ASSEMBLY"].offer(3) == 0 and after.resources["ASSEMBLY"].offer(4) == 8
    assert after.items["BIKE"].offer(9) == 0
    # a second request sees what the first took: 1 more bike needs 2 wheels, none in stock;
    # making them needs 2 tires, and 1 is left until the 20 of 9 Mar: wheels made 9-10 Mar,
    # the bike 10-12 Mar with 2 assembly hours on 10 Mar
    again, _ = capable_to_promise(after, "BIKE", D(1), datetime.date(2026, 3, 3))
    assert again.date == datetime.date(2026, 3, 12)
    assert steps(again) == [
        ("make", "BIKE", 8, 1, 0),
        ("stock", "FRAME", 6, 1, 1),
        ("make", "WHEEL", 6, 2, 1),
        ("stock", "RIM", 5, 2, 2),
        ("stock", "TIRE", 5, 2, 2),
        ("hours", "WHEEL_LINE", 5, 2, 1),
        ("hours", "ASSEMBLY", 6, 2, 0),
    ]


def test_stock_alone_when_it_covers_and_inside_the_atp_fence():
    made, _ = capable_to_promise(plant(), "BIKE", D(2), datetime.date(2026, 3, 3))
    assert made.date == datetime.date(2026, 3, 3) and steps(made) == [("stock", "BIKE", 1, 2, 0)]
    # inside a 10-day ATP fence on bikes (until 12 Mar) no bike is made: the 4 wait for
    # 12 Mar (wheels, without a fence, are still made on 3 Mar)
    fenced = stock("BIKE", (2, 2), rule=AtpRule(atp_fence_days=10))
    made, _ = capable_to_promise(plant(items={"BIKE": fenced}), "BIKE", D(6),
                                 datetime.date(2026, 3, 3))
    assert made.date == datetime.date(2026, 3, 12)
    assert ("make", "BIKE", 8, 4, 0) in steps(made) and ("make", "WHEEL", 1, 4, 1) in steps(made)


def test_capacity_already_loaded_slides_the_date():
    # assembly is loaded 6 of 8 hours on 5 Mar and full on 6 Mar: completing 9 Mar finds 2
    # hours in [5 Mar, 9 Mar); completing 10 Mar starts 6 Mar and finds 8 on 9 Mar
    loaded = capacity(DAYS, D(8), {3: D(6), 4: D(8)})
    made, _ = capable_to_promise(plant(resources={"ASSEMBLY": loaded}), "BIKE", D(6),
                                 datetime.date(2026, 3, 3))
    assert made.date == datetime.date(2026, 3, 10)
    assert ("hours", "ASSEMBLY", 5, 8, 0) in steps(made)


def test_beyond_reach_is_short_or_stops_at_the_infinite_fence():
    # 100 bikes: 13 frames at most in the horizon
    made, after = capable_to_promise(plant(), "BIKE", D(100), datetime.date(2026, 3, 3))
    assert made.date is None and steps(made) == [("short", "BIKE", None, 100, 0)]
    # infinite bike supply from 9 Mar (7 days out): the search stops there
    fenced = stock("BIKE", (2, 2), rule=AtpRule(infinite_fence_days=7))
    made, _ = capable_to_promise(plant(items={"BIKE": fenced}), "BIKE", D(100),
                                 datetime.date(2026, 3, 3))
    assert made.date == datetime.date(2026, 3, 9) and steps(made)[-1][0] == "fence"


def test_the_plant_checks_its_bills():
    loop = dict(BOMS, RIM=Bom("RIM", (Component("WHEEL", D(1)),)))
    with pytest.raises(ValueError, match="the bill of material goes round: "
                                         "BIKE -> WHEEL -> RIM -> WHEEL"):
        plant(boms=loop)
    with pytest.raises(ValueError, match="BIKE needs resource ASSEMBLY, which has no capacity"):
        Plant(DAYS, AS_OF, plant().items, {}, BOMS)
