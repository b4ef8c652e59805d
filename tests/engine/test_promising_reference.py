"""Promising from a rule set's reference data: the `atp_rules` and `supply` tables, a promise
per sourced line in the decision (ACME), and bad reference data reported, not raised."""
from __future__ import annotations

import datetime
import json
import shutil
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from ordinance.engine import RuleSetInvalid, load, parse_order
from ordinance.engine.promising.atp import Consumption, SupplyType
from ordinance.engine.promising.reference import ReferenceError, setup

ROOT = Path(__file__).resolve().parents[2]
ACME = ROOT / "rulesets" / "acme"
D = Decimal
RULE = {"name": "default", "consumption": "backward", "accumulate": "true",
        "past_due_supply_days": D(7), "split": "true", "min_split": D(1), "horizon_days": D(182),
        "supply_types": "purchase_order;in_transit"}
PO = {"location": "WH-NJ", "sku": "FAS-0001", "kind": "purchase_order", "date": "2026-12-01",
      "quantity": D(600), "ref": "PO-1"}


def order(*lines: tuple[str, int]) -> str:
    return json.dumps({"id": "P-1", "order_date": "2026-11-20T09:00:00Z",
                       "customer": {"id": "C-00060"},
                       "lines": [{"id": str(i), "sku": sku, "quantity": q}
                                 for i, (sku, q) in enumerate(lines, 1)]})


def test_the_tables_become_a_rule_and_supply_events():
    made = setup([RULE], [PO, dict(PO, kind="in_transit", quantity=D(5), date="2026-11-25")])
    assert made is not None
    assert made.rule.consumption is Consumption.BACKWARD and made.rule.accumulate
    assert made.rule.past_due_supply_days == 7 and made.rule.split
    assert made.rule.supply_types == {SupplyType.ON_HAND, SupplyType.PURCHASE_ORDER,
                                      SupplyType.IN_TRANSIT}
    assert made.horizon_days == 182
    events = made.supply[("WH-NJ", "FAS-0001")]
    assert [(e.kind, e.date, e.quantity) for e in events] == [
        (SupplyType.PURCHASE_ORDER, datetime.date(2026, 12, 1), D(600)),
        (SupplyType.IN_TRANSIT, datetime.date(2026, 11, 25), D(5))]
    assert setup(None, [PO]) is None      # no atp_rules table: promising is off


@pytest.mark.parametrize("rules, supply, message", [
    ([dict(RULE, name="other")], [], "atp_rules: no row named 'default'"),
    ([dict(RULE, consumption="sideways")], [],
     "atp_rules: row 'default': consumption 'sideways' is not one of none, backward, "
     "backward_forward, look_ahead"),
    ([dict(RULE, accumulate="maybe")], [], "accumulate 'maybe' is not true or false"),
    ([dict(RULE, horizon_days=D("1.5"))], [], "horizon_days 1.5 is not a whole number of days"),
    ([dict(RULE, consumption="none")], [],
     "atp_rules: row 'default': atp rule: accumulation needs backward consumption"),
    ([RULE], [dict(PO, date="1 Dec")], "supply: row 2: date '1 Dec' is not YYYY-MM-DD"),
    ([RULE], [PO, dict(PO, quantity=D(-3))], "supply: row 3: quantity Decimal('-3') is not a "
                                               "positive number"),
    ([RULE], [dict(PO, kind="on_hand")], "supply: row 2: on_hand belongs in the inventory table"),
    ([RULE], [dict(PO, kind="gift")], "supply: row 2: kind 'gift' is not one of on_hand, "
                                      "purchase_order, in_transit, work_order, planned_order"),
])
def test_bad_reference_data_names_table_row_and_value(rules, supply, message):
    with pytest.raises(ReferenceError) as err:
        setup(rules, supply)
    assert message in str(err.value)


@pytest.fixture(scope="module")
def acme():
    return load(ACME)


def test_acme_promises_a_backorder_from_its_purchase_orders(acme):
    # FAS-0010: 477 on hand at WH-TX; 600 on order there for 10 Jan, 600 at WH-NJ for 7 Feb,
    # 360 at WH-NV for 20 Feb (reference/supply.csv)
    decision = acme.evaluate(parse_order(order(("FAS-0010", 5000))),
                             datetime.date(2026, 11, 20)).to_json()
    line = decision["sourcing"]["lines"][0]
    assert line["backordered"] == "4523"
    promised = line["promise"]
    assert [(p["location"], p["quantity"], p["ship_date"], p["from"])
            for p in promised["parts"]] == [
        ("WH-TX", "477", "2026-11-21", "on_hand"),
        ("WH-TX", "600", "2027-01-11", "atp"),     # received 10 Jan, 1 day of handling
        ("WH-NJ", "600", "2027-02-08", "atp"),
        ("WH-NV", "360", "2027-02-21", "atp")]
    assert promised["short"] == "2963" and promised["ship_date"] == "2027-02-21"
    steps = [(t["step"], t["location"]) for t in promised["trace"]]
    assert steps[:4] == [("on_hand", "WH-TX"), ("location", "WH-NJ"), ("location", "WH-TX"),
                         ("location", "WH-NV")]
    assert ("place", "WH-TX") in steps and ("place", "WH-NV") in steps
    schema = json.loads((ROOT / "engine/schemas/decision.schema.json").read_text())
    jsonschema.validate(decision, schema)


def test_two_lines_of_one_order_cannot_promise_the_same_receipt(acme):
    # the case: 400 and 400 of FAS-0001 with 408 at WH-NJ; the second line's 392 come
    # from other warehouses' stock, and a third line of 5000 is promised from what supply
    # is left after the first two
    decision = acme.evaluate(parse_order(order(("FAS-0001", 400), ("FAS-0001", 400),
                                               ("FAS-0001", 5000))),
                             datetime.date(2026, 11, 20)).to_json()
    lines = decision["sourcing"]["lines"]
    taken: dict[str, Decimal] = {}
    for line in lines:
        for p in line["promise"]["parts"]:
            key = f'{p["location"]} {p["from"]} {p["ship_date"]}'
            taken[key] = taken.get(key, D(0)) + D(p["quantity"])
        assert D(line["promise"]["short"]) + sum(
            (D(p["quantity"]) for p in line["promise"]["parts"]), D(0)) == D(
                {"1": 400, "2": 400, "3": 5000}[line["line_id"]])
    assert taken["WH-NJ on_hand 2026-11-21"] == D(408)    # never more than on hand


def test_without_atp_rules_decisions_have_no_promise(acme, tmp_path):
    plain = tmp_path / "acme"
    shutil.copytree(ACME, plain)
    (plain / "reference" / "atp_rules.csv").unlink()
    decision = load(plain).evaluate(parse_order(order(("FAS-0010", 5000))),
                                    datetime.date(2026, 11, 20)).to_json()
    assert "promise" not in decision["sourcing"]["lines"][0]
    with_rules = acme.evaluate(parse_order(order(("FAS-0010", 5000))),
                               datetime.date(2026, 11, 20)).to_json()
    del with_rules["sourcing"]["lines"][0]["promise"]
    assert with_rules["sourcing"] == decision["sourcing"]    # nothing else changes


def test_bad_reference_data_is_refused_by_check_or_a_rule_error_in_the_decision(tmp_path):
    bad = tmp_path / "acme"
    shutil.copytree(ACME, bad)
    path = bad / "reference" / "atp_rules.csv"
    path.write_text(path.read_text().replace("backward", "sideways"))
    # a CSV table is checked statically, at its cell (engine/promising/checks.py) ...
    with pytest.raises(RuleSetInvalid, match=r"reference/atp_rules.csv:2:9: error: atp_rules "
                       r"row 'default': consumption 'sideways' is not one of"):
        load(bad)
    # ... a YAML one is not, and the decision says what is wrong instead of failing
    rows = path.read_text().splitlines()
    header, row = rows[0].split(","), rows[1].split(",")
    path.unlink()
    (bad / "reference" / "atp_rules.yaml").write_text(
        "- {" + ", ".join(f"{h}: '{v}'" for h, v in zip(header, row) if v) + "}\n")
    decision = load(bad).evaluate(parse_order(order(("FAS-0010", 5000))),
                                  datetime.date(2026, 11, 20)).to_json()
    messages = [e["message"] for e in decision["errors"]]
    assert any("promising: reference/atp_rules: row 'default': consumption 'sideways' is not "
               "one of" in m for m in messages), messages


def test_the_calendar_and_demand_type_columns():
    made = setup([dict(RULE, working_days="mon;tue;wed;thu;fri", holidays="2026-12-25",
                       demand_types="order_line;reservation")], [])
    assert made is not None
    assert made.calendar.weekdays == frozenset(range(5))
    assert made.calendar.holidays == {datetime.date(2026, 12, 25)}
    assert {t.value for t in made.rule.demand_types} == {"order_line", "reservation"}
    assert not made.calendar.works(datetime.date(2026, 12, 25))
    with pytest.raises(ReferenceError, match="working_days 'tues' is not one of mon"):
        setup([dict(RULE, working_days="mon;tues")], [])
    with pytest.raises(ReferenceError, match="no working weekday"):
        setup([dict(RULE, working_days=";")], [])


def test_each_promised_line_records_its_ranked_candidates_outside_the_json(acme, tmp_path):
    # C-00060 ships to us-east: the `standard` rule sources from that network nearest first
    # (WH-NJ 2 days, WH-TX 3, WH-NV 5) and splits; the decision allocates from its snapshot
    # (FAS-0001 at WH-NJ; FAS-0010, which WH-NJ lacks, at WH-TX)
    made = acme.evaluate(parse_order(order(("FAS-0001", 400), ("FAS-0010", 5))),
                         datetime.date(2026, 11, 20))
    assert [(p.line_id, p.sku, p.locations, p.prefer, p.split, p.region)
            for p in made.plans] == [
        ("1", "FAS-0001", ("WH-NJ", "WH-TX", "WH-NV"), "nearest", True, "us-east"),
        ("2", "FAS-0010", ("WH-NJ", "WH-TX", "WH-NV"), "nearest", True, "us-east")]
    js = made.to_json()
    assert [[a["location"] for a in sl["allocations"]] for sl in js["sourcing"]["lines"]] == [
        ["WH-NJ"], ["WH-TX"]]
    text = json.dumps(js, default=str)
    assert "plans" not in text and "candidates" not in text and "prefer" not in text
    # a ship-complete order: the `ship-complete` rule does not split
    whole = json.loads(order(("FAS-0001", 400)))
    whole["ship_complete"] = True
    (plan,) = acme.evaluate(parse_order(json.dumps(whole)), datetime.date(2026, 11, 20)).plans
    assert (plan.locations, plan.split) == (("WH-NJ", "WH-TX", "WH-NV"), False)
    # without atp_rules nothing is recorded (the service does not promise)
    plain = tmp_path / "acme"
    shutil.copytree(ACME, plain)
    (plain / "reference" / "atp_rules.csv").unlink()
    assert load(plain).evaluate(parse_order(order(("FAS-0001", 400))),
                                datetime.date(2026, 11, 20)).plans == ()
