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


LOOKUPS = {
    "d.yaml": """
        pack: d
        phase: defaulting
        rules:
          - id: fill
            then:
              - default:
                  customer.name: ref.customers[customer.id].name
                  customer.tier: ref.customers[customer.id].tier
                  order.bill_to.city: ref.customers[customer.id].city
          - id: moved
            when: order.move == true
            then:
              - set:
                  order.first_name: ref.customers[customer.id].name
                  customer.id: '"C2"'
                  order.then_name: ref.customers[customer.id].name
        """,
}
CUSTOMERS = {"customers.csv": """
    id,name,tier,city
    C1,Alpha,gold,Bonn
    C2,Beta,silver,Graz
    """}


def test_a_lookup_read_by_several_targets_gives_what_each_would(tmp_path: Path) -> None:
    """`ref.customers[customer.id]` is looked up once for the targets of one action that
    read its fields (engine/actions.py `_shared_lookups`), never across a write to what it
    reads, and only when a value is needed."""
    from ordinance.engine import load

    root = write_ruleset(tmp_path / "r", LOOKUPS, CUSTOMERS)
    out = decide(root, {"id": "O", "customer": {"id": "C1", "tier": "bronze"}, "lines": []})
    assert out["order"]["customer"] == {"id": "C1", "tier": "bronze", "name": "Alpha"}
    assert out["order"]["bill_to"] == {"city": "Bonn"}
    moved = decide(root, {"id": "O", "customer": {"id": "C1"}, "move": True, "lines": []})
    # the action writes customer.id between its two reads: each value reads the row of the
    # id it sees, as `run` does
    assert (moved["order"]["first_name"], moved["order"]["then_name"]) == ("Alpha", "Beta")
    rs = load(root)
    fill, move = (rule.actions[0] for rule in rs.model.packs[0].rules)
    assert list(fill._shared_lookups()) == ["ref.customers[customer.id]"]
    assert move._shared_lookups() == {}
