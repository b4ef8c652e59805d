"""engine/evaluate.py: what a compiled rule set computes once, and what its keys depend on."""
from __future__ import annotations

import datetime
from pathlib import Path

from ordinance.engine import CompiledRuleSet, load, validate_order
from ordinance.engine.evaluate import resolve_as_of
from tests.engine.helpers import write_ruleset

PACKS = {
    "d.yaml": """
        pack: d
        phase: defaulting
        rules:
          - id: seg
            then: [{default: {customer.segment: "ref.customers[customer.id].segment"}}]
        """,
    "v.yaml": """
        pack: v
        phase: validation
        rules:
          - id: qty
            for_each: line
            when: line.quantity > 100
            then: [{warn: {code: BIG, message: big}}]
        """,
}


def compiled(root: Path, customers: str, other: str) -> CompiledRuleSet:
    return load(write_ruleset(root, PACKS, {"customers.csv": customers, "other.csv": other}))


def test_keys_change_with_what_a_pack_reads_and_nothing_else(tmp_path: Path) -> None:
    a = compiled(tmp_path / "a", "id,segment\nC1,retail\n", "x\n1\n")
    b = compiled(tmp_path / "b", "id,segment\nC1,retail\n", "x\n2\n")  # an unread table
    c = compiled(tmp_path / "c", "id,segment\nC1,wholesale\n", "x\n1\n")  # a read one
    assert a.pack_keys == b.pack_keys and a.phase_keys == b.phase_keys
    assert a.pack_keys["d"] != c.pack_keys["d"]
    assert a.pack_keys["v"] == c.pack_keys["v"]
    assert a.phase_keys["validation"] == c.phase_keys["validation"]
    assert a.digest != b.digest  # the rule set's digest covers every file


def test_the_plan_rule_ids_and_places_are_computed_once(tmp_path: Path) -> None:
    rs = load(write_ruleset(tmp_path / "r", PACKS, {"customers.csv": "id,segment\n"}))
    assert [ph for ph, _ in rs.plan][:2] == ["defaulting", "validation"]
    assert rs.rule_ids == ["d/seg", "v/qty"]
    assert rs.rule_places == {"d/seg": "packs/d.yaml:4:5", "v/qty": "packs/v.yaml:4:5"}
    assert set(rs.runners) == {"d", "v"}


def test_only_the_phases_asked_for_run(tmp_path: Path) -> None:
    rs = load(write_ruleset(tmp_path / "r", PACKS, {"customers.csv": "id,segment\nC1,gov\n"}))
    order = validate_order({"id": "O", "customer": {"id": "C1"},
                            "lines": [{"id": "1", "sku": "A", "quantity": 500}]})
    day = datetime.date(2026, 11, 20)
    both = rs.evaluate(order, day)
    assert both.fired == ["d/seg", "v/qty"] and both.order["customer"]["segment"] == "gov"
    only = rs.evaluate(order, day, phases=["validation"])
    assert only.fired == ["v/qty"] and "segment" not in only.order["customer"]


def test_as_of_prefers_the_given_date_then_the_orders_then_today() -> None:
    day, other = datetime.date(2026, 1, 5), datetime.date(2027, 3, 1)
    assert resolve_as_of({"order_date": "2025-07-04"}, other, day) == other
    assert resolve_as_of({"order_date": "2025-07-04T10:00:00Z"}, None, day) \
        == datetime.date(2025, 7, 4)
    assert resolve_as_of({"order_date": "not a date"}, None, day) == day
