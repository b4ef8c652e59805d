"""compare.py on hand-written decisions (SPEC section 6)."""
from __future__ import annotations

import copy
from decimal import Decimal

from ordinance.simulator.compare import compare, rule_effects

BASE = {
    "order_id": "SO-1",
    "status": "accepted",
    "as_of": "2026-11-20",
    "ruleset": {"name": "a", "version": "1", "digest": "sha256:aa"},
    "order": {"id": "SO-1", "customer": {"tier": "gold"}},
    "violations": [],
    "holds": [],
    "pricing": {"currency": "EUR",
                "lines": [{"line_id": "1", "sku": "A-1", "quantity": "5", "list_price": "10.00",
                           "extended": "50.00",
                           "adjustments": [{"rule": "p/gold", "kind": "discount",
                                            "amount": "-2.50", "reason": "gold"}],
                           "net": "47.50", "tax": "9.03", "total": "56.53"}],
                "charges": [], "recurring": [], "subtotal": "47.50", "discount_total": "2.50",
                "discount_percent": "5", "charges_total": "0.00", "tax_total": "9.03",
                "total": "56.53"},
    "sourcing": {"lines": [{"line_id": "1", "backordered": "0",
                            "allocations": [{"location": "W", "quantity": "5"}]}]},
    "approvals": [],
    "fired": ["p/list", "p/gold"],
    "errors": [],
}


def other(**changes):
    d = copy.deepcopy(BASE)
    d["ruleset"] = {"name": "b", "version": "2", "digest": "sha256:bb"}
    d.update(changes)
    return d


def test_same_outcome_under_another_rule_set_is_no_change():
    diff = compare(BASE, other())
    assert not diff.changed and diff.moved == () and diff.explanation == ""


def test_renamed_rule_alone_is_no_change():
    d = other(fired=["p/list", "p/gold2"])
    assert not compare(BASE, d).changed


def test_status_and_approval_moved_by_a_candidate_only_rule():
    d = other(status="pending_approval", fired=["p/list", "p/gold", "a/big"],
              approvals=[{"rule": "a/big", "role": "finance", "level": 2, "reason": "big"}])
    diff = compare(BASE, d)
    assert diff.moved == ("status", "approvals")
    assert [(r.rule, r.how) for r in diff.rules] == [("a/big", "candidate_only")]
    assert diff.explanation == ("status accepted -> pending_approval; approvals +finance "
                                "because fired only in candidate: a/big")


def test_total_moved_by_a_rule_with_a_different_effect():
    d = other()
    line = d["pricing"]["lines"][0]
    line["adjustments"][0]["amount"] = "-5.00"
    line.update(net="45.00", tax="8.55", total="53.55")
    d["pricing"].update(subtotal="45.00", discount_total="5.00", discount_percent="10",
                        tax_total="8.55", total="53.55")
    diff = compare(BASE, d)
    assert diff.moved == ("total", "pricing")
    assert [(r.rule, r.how) for r in diff.rules] == [("p/gold", "effect_differs")]
    assert diff.explanation.startswith("total 56.53 -> 53.55 (-2.98) because different effect")


def test_baseline_only_rule_and_rejection():
    d = other(status="rejected", pricing=None, sourcing=None, fired=["v/qty"],
              violations=[{"rule": "v/qty", "phase": "validation", "code": "QTY",
                           "severity": "error", "message": "m", "field": "order.lines[0]"}])
    diff = compare(BASE, d)
    assert diff.moved == ("status", "total", "sourcing", "pricing", "violations")
    assert sorted((r.rule, r.how) for r in diff.rules) == [
        ("p/gold", "baseline_only"), ("p/list", "baseline_only"), ("v/qty", "candidate_only")]
    assert "total 56.53 -> none" in diff.explanation
    assert "violations +QTY" in diff.explanation


def test_unexplained_change_names_the_reference_tables():
    d = other()
    d["pricing"]["total"] = "60.00"
    diff = compare(BASE, d, reference_changed=("prices",))
    assert diff.rules == ()
    assert diff.explanation.endswith(
        "because same rules fired with the same effects; reference data differs: prices")


def test_sourcing_backorder_in_explanation():
    d = other()
    d["sourcing"]["lines"][0]["backordered"] = "3"
    diff = compare(BASE, d)
    assert diff.moved == ("sourcing",)
    assert diff.explanation.startswith("backordered 0 -> 3")


def test_effects_are_keyed_by_line():
    effects = rule_effects(BASE)
    assert effects == {"p/gold": [("pricing.lines.adjustments", "1",
                                   {"kind": "discount", "amount": "-2.50", "reason": "gold"})]}
    assert Decimal(effects["p/gold"][0][2]["amount"]) == Decimal("-2.5")


def test_sourcing_and_defaulting_moves_point_at_paths_and_reference_data():
    d = other(order={"id": "SO-1", "customer": {"tier": "gold"}, "warehouse": "W2"})
    d["sourcing"]["lines"][0]["allocations"][0]["location"] = "W2"
    diff = compare(BASE, d, reference_changed=("networks",))
    assert diff.moved == ("sourcing", "order")
    assert diff.explanation == (
        "sourcing changed at sourcing.lines[0].allocations[0].location; defaulted order "
        "differs at order.warehouse because same rules fired with the same effects; "
        "reference data differs: networks")
    d["fired"] = ["p/list", "p/gold", "d/warehouse"]
    assert compare(BASE, d, ("networks",)).explanation.endswith(
        "because fired only in candidate: d/warehouse; reference data differs: networks")


def test_effects_compared_in_the_moved_sections_only_agree_with_all_sections():
    """compare() walks only the sections that moved for a rule's effects; on real decisions
    that gives the rules a walk of every section gives."""
    import json

    from ordinance.engine import evaluate_pair, load, validate_order
    from ordinance.simulator import generate
    from ordinance.simulator.compare import moved_fields, rule_differences
    from tests.conftest import RULESETS, need

    need((RULESETS / "acme-candidate").is_dir(), "the shipped rule sets")
    a, b = load(RULESETS / "acme"), load(RULESETS / "acme-candidate")
    catalogue = generate.load_catalogue(RULESETS / "acme")
    differing = 0
    for o in generate.generate_orders(catalogue, count=400, seed=5):
        order = validate_order(json.loads(json.dumps(o, default=str)))
        da, db = evaluate_pair(a, b, order)
        ja, jb = da.to_json(), db.to_json()
        moved = moved_fields(ja, jb)
        full = rule_differences(ja, jb)
        assert rule_differences(ja, jb, moved) == full
        differing += any(r.how == "effect_differs" for r in full)
    assert differing > 10  # the stream exercises effects that differ
