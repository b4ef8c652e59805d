"""engine/actions.py `Assign.inline` (issue 16): `default` and `set` generated into the pack's
function write what `Assign.run` wrote, in the same order: nested objects made on the way, the
customer replaced and read again, a value evaluated only for a missing field, a path through
a non-object a rule error at the rule."""
from __future__ import annotations

from pathlib import Path

from tests.engine.helpers import decide, write_ruleset

PACKS = {
    "d.yaml": """
        pack: d
        phase: defaulting
        rules:
          - id: nested
            then:
              - default: {order.ship_to.region: '"eu"', customer.tier: '"gold"'}
          - id: replace-customer
            when: order.swap == true
            then:
              - set: {order.customer: order.alt, customer.tier: '"silver"'}
          - id: later-reads-customer
            then:
              - set: {order.seen_tier: customer.tier, order.seen_id: customer.id}
          - id: per-line
            for_each: line
            then:
              - default: {line.uom: '"EA"', line.note.text: line.sku}
          - id: through-a-text
            when: order.bad != null
            then:
              - set: {order.bad.inner: 1}
        """,
}


def order(**extra: object) -> dict:
    return {"id": "O", "customer": {"id": "C1"},
            "lines": [{"id": "1", "sku": "X", "quantity": 1, "unit_price": 1, "uom": "BX"},
                      {"id": "2", "sku": "Y", "quantity": 1, "unit_price": 1}], **extra}


def test_defaults_and_sets_write_in_order(tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "r", PACKS)
    out = decide(root, order())
    o = out["order"]
    assert o["ship_to"] == {"region": "eu"}
    assert o["customer"] == {"id": "C1", "tier": "gold"}
    assert (o["seen_tier"], o["seen_id"]) == ("gold", "C1")
    assert [(ln["uom"], ln["note"]) for ln in o["lines"]] == [("BX", {"text": "X"}),
                                                            ("EA", {"text": "Y"})]
    assert out["errors"] == []


def test_a_replaced_customer_is_the_one_read_after(tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "r", PACKS)
    o = decide(root, order(swap=True, alt={"id": "NEW"}))["order"]
    assert o["customer"] == {"id": "NEW", "tier": "silver"}
    assert (o["seen_tier"], o["seen_id"]) == ("silver", "NEW")


def test_a_path_through_a_text_is_a_rule_error_of_the_rule(tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "r", PACKS)
    out = decide(root, order(bad="text"))
    assert [(e["rule"], e["code"]) for e in out["errors"]] == [("d/through-a-text",
                                                                "RULE_ERROR")]
    assert "cannot set order.bad.inner" in out["errors"][0]["message"]
    assert out["status"] == "rejected"
