"""engine/state.py: a run-time problem is a located entry of the decision, and fails it closed."""
from __future__ import annotations

import datetime
from pathlib import Path

from ordinance.engine import load, validate_order
from ordinance.engine.state import copy_json
from tests.engine.helpers import write_ruleset

PACK = """
    pack: p
    phase: validation
    rules:
      - id: ratio
        when: order.total / order.count > 1
        then: [{warn: {code: A, message: a}}]
      - id: per-line
        for_each: line
        when: line.quantity / 0 > 1
        then: [{warn: {code: B, message: b}}]
      - id: fine
        then: [{warn: {code: C, message: "c {order.id}"}}]
    """
DAY = datetime.date(2026, 11, 20)


def test_each_rule_error_names_its_rule_phase_place_and_line(tmp_path: Path) -> None:
    rs = load(write_ruleset(tmp_path / "r", {"p.yaml": PACK}))
    order = validate_order({"id": "O", "total": 5, "count": 0,
                            "lines": [{"id": "L1", "sku": "A", "quantity": 2}]})
    d = rs.evaluate(order, DAY).to_json()
    assert d["status"] == "rejected"  # fail closed
    assert d["errors"] == [
        {"rule": "p/ratio", "phase": "validation", "code": "RULE_ERROR",
         "message": "division by zero: 5 / 0", "where": "packs/p.yaml:5:23"},  # the '/'
        {"rule": "p/per-line", "phase": "validation", "code": "RULE_ERROR",
         "message": "division by zero: 2 / 0", "where": "packs/p.yaml:9:25", "line_id": "L1"},
    ]
    # the other rules still ran: an error stops its rule, not the decision
    assert d["fired"] == ["p/fine"]
    assert [v["message"] for v in d["violations"]] == ["c O"]


def test_a_functions_error_is_placed_at_its_rule(tmp_path: Path) -> None:
    rs = load(write_ruleset(tmp_path / "r", {"p.yaml": """
        pack: p
        phase: validation
        rules:
          - id: bad-call
            when: len(order.total) > 1
            then: [{warn: {code: A, message: a}}]
        """}))
    d = rs.evaluate(validate_order({"id": "O", "total": 5, "lines": []}), DAY).to_json()
    assert d["errors"] == [{"rule": "p/bad-call", "phase": "validation", "code": "RULE_ERROR",
                            "message": "len() needs a text or a list, got number 5",
                            "where": "packs/p.yaml:4:5"}]  # the rule (its `id:`)


def test_the_callers_order_is_never_written(tmp_path: Path) -> None:
    rs = load(write_ruleset(tmp_path / "r", {"d.yaml": """
        pack: d
        phase: defaulting
        rules:
          - id: region
            then: [{default: {order.ship_to.region: '"eu"'}}]
        """}))
    order = validate_order({"id": "O", "ship_to": {"country": "DE"}, "lines": []})
    d = rs.evaluate(order, DAY)
    assert d.order["ship_to"] == {"country": "DE", "region": "eu"}
    assert order["ship_to"] == {"country": "DE"}


def test_copy_json_copies_containers_and_shares_the_immutable_rest() -> None:
    day = datetime.date(2026, 1, 1)
    data = {"a": [{"b": day}], "c": "x"}
    copied = copy_json(data)
    assert copied == data
    assert copied is not data and copied["a"] is not data["a"]
    assert copied["a"][0] is not data["a"][0]
    assert copied["a"][0]["b"] is day
