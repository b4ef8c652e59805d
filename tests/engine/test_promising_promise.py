"""Promising a line: arrival over the lane network (sourcing's routes), dates in the past,
bad input, and the purity the engine promises (no clock, no I/O in engine/promising/)."""
from __future__ import annotations

import ast
import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ordinance.engine.promising.atp import AtpRule, Supply, SupplyType, build
from ordinance.engine.promising.calendar import Buckets, Calendar
from ordinance.engine.promising.promise import promise, transit_for
from ordinance.engine.sourcing import Network
from ordinance.engine.values import Table

D = Decimal
AS_OF = datetime.date(2026, 3, 2)
DAYS = Buckets.daily(AS_OF, 30)
PACKAGE = Path(__file__).resolve().parents[2] / "engine" / "promising"


def network() -> Network:
    locations = Table("locations", [
        {"id": "WH-NJ", "region": "us-east", "handling_days": D(1)},
        {"id": "WH-TX", "region": "us-central", "handling_days": D(1)},
    ], "id")
    lanes = Table("lanes", [
        {"from": "WH-NJ", "to": "us-east", "transit_days": D(2), "cost_per_unit": D("0.6")},
        {"from": "WH-NJ", "to": "WH-TX", "transit_days": D(2), "cost_per_unit": D("0.5")},
        {"from": "WH-TX", "to": "us-west", "transit_days": D(2), "cost_per_unit": D("0.9")},
        {"from": "WH-NJ", "to": "us-west", "transit_days": D(5), "cost_per_unit": D("1.2")},
    ], None)
    return Network(locations, None, lanes)


def test_arrival_is_ship_date_plus_handling_and_the_fastest_route():
    net = network()
    # NJ -> TX -> us-west is 4 days (the direct lane is 5), plus 1 day of handling at NJ
    assert transit_for(net, "WH-NJ", "us-west") == datetime.timedelta(days=5)
    assert transit_for(net, "WH-NJ", "eu-west") is None
    table = build(AtpRule(), DAYS, AS_OF,
                  [Supply("FAS-0001", "WH-NJ", SupplyType.PURCHASE_ORDER,
                          datetime.date(2026, 3, 10), D(400))], [])
    made, _ = promise(table, D(400), datetime.date(2026, 3, 4), AS_OF, item="FAS-0001",
                      location="WH-NJ", transit=transit_for(net, "WH-NJ", "us-west"))
    assert [(p.ship_date, p.arrival_date) for p in made.parts] == [
        (datetime.date(2026, 3, 10), datetime.date(2026, 3, 15))]
    assert made.item == "FAS-0001" and made.delay_days == 6


def test_a_request_dated_before_the_as_of_date_ships_no_earlier_than_it():
    table = build(AtpRule(), DAYS, AS_OF,
                  [Supply("X", "L", SupplyType.ON_HAND, AS_OF, D(5))], [])
    made, _ = promise(table, D(5), datetime.date(2026, 2, 20), AS_OF)
    assert made.ship_date == AS_OF and not made.on_time and made.delay_days == 10


def test_bad_quantities_and_calendars_are_refused_with_what_was_wrong():
    table = build(AtpRule(), DAYS, AS_OF, [], [])
    with pytest.raises(ValueError, match="promise: quantity must be positive, got 0"):
        promise(table, D(0), AS_OF, AS_OF)
    with pytest.raises(ValueError, match="weekday 7 is not 0 \\(Monday\\) to 6"):
        Calendar(weekdays=frozenset({7}))
    with pytest.raises(ValueError, match="2026-03-02 does not come after 2026-03-02"):
        Buckets((AS_OF, AS_OF))


def test_the_package_reads_no_clock_and_does_no_io():
    banned_calls = {"today", "now", "utcnow", "open", "print", "time", "perf_counter"}
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""]
                for name in names:
                    assert name.split(".")[0] not in {"time", "os", "io", "random", "pathlib",
                                                      "socket", "logging"}, (path.name, name)
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else \
                    f.id if isinstance(f, ast.Name) else ""
                assert name not in banned_calls, f"{path.name}:{node.lineno} calls {name}"
        assert ast.get_docstring(tree), f"{path.name} has no docstring"
        assert len(path.read_text().splitlines()) < 500, f"{path.name} is over 500 lines"


def test_the_example_at_the_top_of_docs_promising_md_runs():
    import re
    text = (PACKAGE.parents[1] / "docs" / "promising.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None
    exec(compile(code.group(1), "docs/promising.md", "exec"), {})  # its asserts are the test
