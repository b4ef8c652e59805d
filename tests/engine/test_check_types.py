"""Types for checking (issue 15): misspelt fields and columns, and comparisons that never hold,
are reported at their place with a "did you mean" hint; warnings, errors with an order schema."""
from __future__ import annotations

import json
from pathlib import Path

from ordinance.engine import check
from tests.engine.helpers import write_ruleset

REFERENCE = {
    "customers.csv": "id,tier,credit_limit\nC-1,gold,1000\nC-2,silver,500\nC-3,gold,700\n"
                     "C-4,bronze,100\nC-5,silver,50\n",
    "prices.csv": "sku,unit_price\nA-1,10.00\nB-2,5.00\n",
}
DEFAULTS = """
pack: master
phase: defaulting
rules:
  - id: known
    when: ref.customers[customer.id] != null
    then:
      - default:
          customer.tier: ref.customers[customer.id].tier
          customer.credit_limit: ref.customers[customer.id].credit_limit
"""


def _pack(rule: str, phase: str = "pricing") -> str:
    return f"pack: p\nphase: {phase}\nrules:\n{rule}"


def _found(root: Path) -> list[tuple[str, str, str, str | None]]:
    return [(str(d.span), d.severity, d.message, d.hint) for d in check(root)]


def _ruleset(tmp_path: Path, rule: str, phase: str = "pricing") -> Path:
    return write_ruleset(tmp_path, {"10-master.yaml": DEFAULTS, "20-p.yaml": _pack(rule, phase)},
                         REFERENCE)


def test_a_misspelt_customer_field_suggests_the_known_one(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path, "  - id: a\n    when: customer.teir == \"gold\"\n"
                  "    then: [{reject: {code: X, message: m}}]\n", "validation")
    assert _found(rs) == [("packs/20-p.yaml:5:20", "warning", "unknown field 'teir' of customer: "
                           "not in the shipped tests and examples, this rule set's tests or its "
                           "defaulting", "did you mean customer.tier?")]


def test_a_misspelt_pricing_field_suggests_the_fixed_one(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path, "  - id: a\n    when: pricing.subtotl > 100\n"
                  "    then: [{discount: {percent: 5}}]\n")
    assert _found(rs) == [("packs/20-p.yaml:5:19", "warning", "pricing has no field 'subtotl'",
                           "did you mean subtotal, total?")]


def test_a_column_the_table_does_not_have(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path, "  - id: a\n    for_each: line\n"
                  "    then: [{list_price: 'ref.prices[line.sku].price'}]\n")
    assert _found(rs) == [("packs/20-p.yaml:6:47", "warning", "reference table 'prices' has no "
                           "column 'price'", "did you mean unit_price?")]


def test_an_enum_compared_with_a_number(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path, "  - id: a\n    when: customer.tier > 5\n"
                  "    then: [{discount: {percent: 5}}]\n")
    [(where, severity, message, hint)] = _found(rs)
    assert (where, severity) == ("packs/20-p.yaml:5:25", "warning")
    assert message == ("'>' compares customer.tier, an enum of texts (bronze, gold, silver), "
                       "with the number 5: it never holds")
    assert hint == "compare with one of its values as quoted text (bronze, gold, silver)"


def test_a_number_column_compared_with_text_and_a_value_not_in_the_enum(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path, "  - id: a\n    for_each: line\n"
                  "    when: ref.prices[line.sku].unit_price > \"10\" or customer.tier == \"glod\"\n"
                  "    then: [{discount: {percent: 5}}]\n")
    found = _found(rs)
    assert [(w, m) for w, _, m, _ in found] == [
        ("packs/20-p.yaml:6:43", "'>' compares ref.prices[...].unit_price, a number, with the text "
         "'10': it never holds"),
        ("packs/20-p.yaml:6:70", "'glod' is not a value of customer.tier, an enum of texts "
         "(bronze, gold, silver)")]
    assert found[1][3] == "did you mean 'gold'?"


def test_fields_from_the_shipped_tests_attributes_and_defaulting_are_known(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path, "  - id: a\n    for_each: line\n"
                  "    when: >-\n      order.ship_to.country == \"DE\" and line.quantity > 1 and\n"
                  "      order.attributes.anything != null and customer.credit_limit > 10 and\n"
                  "      line.pricing.net > 0\n"
                  "    then: [{discount: {percent: 5}}]\n"
                  "  - id: b\n    when: sum(order.lines, it.quantity) > 2 and count(order.lines, "
                  "it.sku == \"A\") > 0\n    then: [{discount: {percent: 1}}]\n")
    assert _found(rs) == []


def test_with_an_order_schema_unknown_fields_are_errors(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path, "  - id: a\n    when: order.channel == \"web\" and order.chanel != null\n"
                  "    then: [{discount: {percent: 5}}]\n")
    schema = {"type": "object", "properties": {
        "channel": {"enum": ["web", "edi"]},
        "customer": {"type": "object", "properties": {"id": {"type": "string"},
                                                      "tier": {"type": "string"},
                                                      "credit_limit": {"type": "number"}}},
        "lines": {"type": "array", "items": {"type": "object", "properties": {
            "sku": {"type": "string"}, "quantity": {"type": "number"}}}}}}
    (rs / "order.schema.json").write_text(json.dumps(schema))
    assert _found(rs) == [("packs/20-p.yaml:5:44", "error", "unknown field 'chanel' of order: "
                           "not in the order schema", "did you mean order.channel?")]


def test_a_field_the_rule_sets_own_tests_give_is_known(tmp_path: Path) -> None:
    rule = ("  - id: a\n    when: customer.tiers != null\n"
            "    then: [{reject: {code: X, message: m}}]\n")
    rs = _ruleset(tmp_path, rule, "validation")
    assert [m for _, _, m, _ in _found(rs)] == [
        "unknown field 'tiers' of customer: not in the shipped tests and examples, this rule "
        "set's tests or its defaulting"]
    (rs / "tests").mkdir()
    (rs / "tests" / "t.yaml").write_text(
        "- name: x\n  order: {id: A, customer: {id: C-1, tiers: [a]}, lines: []}\n"
        "  expect: {status: rejected}\n")
    assert _found(rs) == []


def test_two_typed_values_of_different_kinds_compared(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path, "  - id: a\n    for_each: line\n"
                  "    when: ref.prices[line.sku].unit_price == customer.tier\n"
                  "    then: [{discount: {percent: 5}}]\n")
    [(where, severity, message, hint)] = _found(rs)
    assert (where, severity) == ("packs/20-p.yaml:6:43", "warning")
    assert message == ("'==' compares ref.prices[...].unit_price (a number) with customer.tier (an "
                       "enum of texts (bronze, gold, silver)): it never holds")
    assert hint is not None and "number(...)" in hint
