"""Domain checks (issue 15): tiers, stacked discounts, overrides below cost, approval levels,
table gaps and conflicts, and country coverage; each a warning at its FILE:LINE:COL."""
from __future__ import annotations

from pathlib import Path

from ordinance.engine import check
from tests.engine.helpers import write_ruleset


def _found(root: Path) -> list[tuple[str, str, str | None]]:
    return [(str(d.span), d.message, d.hint) for d in check(root)]


def _pricing(rules: str) -> dict[str, str]:
    return {"p.yaml": f"pack: p\nphase: pricing\nrules:\n{rules}"}


def test_tiers_out_of_order_and_a_price_rising_with_quantity(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, _pricing(
        "  - id: t\n    for_each: line\n    then:\n      - tiered_price:\n"
        "          mode: all_units\n          tiers:\n"
        "            - [0, line.pricing.list_price]\n"
        "            - [500, line.pricing.list_price * 0.85]\n"
        "            - [100, line.pricing.list_price * 0.92]\n"
        "  - id: u\n    for_each: line\n    then:\n      - tiered_price:\n"
        "          mode: graduated\n          tiers: [[0, 10], [100, 12]]\n"))
    found = _found(rs)
    assert [f[:2] for f in found] == [
        ("packs/p.yaml:12:15", "tier from 100 comes after the tier from 500 (line 11): tiers "
                               "overlap or are out of order"),
        ("packs/p.yaml:18:34", "the price rises from tier 0 to tier 100: buying more costs "
                               "more per unit")]


STACK = ("  - id: a\n    for_each: line\n    then: [{discount: {percent: 60}}]\n"
         "  - id: b\n    for_each: line\n    when: line.quantity > 5\n"
         "    then: [{discount: {percent: 'min(order.attributes.d, 70)'}}]\n")


def test_discounts_stacking_above_the_limit(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, _pricing(STACK))
    [(where, message, hint)] = _found(rs)
    assert where == "packs/p.yaml:7:5"
    assert message == ("discounts can stack to 88.0% off one line, above the 80% the rule set "
                       "allows: 'p/a' (60%, packs/p.yaml:4:5), 'p/b' (70%, packs/p.yaml:7:5)")
    assert hint is not None and "checks.max_line_discount" in hint


def test_the_rule_set_sets_the_limit_and_exclusive_rules_do_not_stack(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, _pricing(STACK))
    (rs / "ruleset.yaml").write_text('ruleset: t\nversion: "1"\nchecks: {max_line_discount: 90}\n')
    assert _found(rs) == []
    exclusive = STACK.replace("then: [{discount: {percent: 60}}]",
                              "when: line.quantity <= 5\n    then: [{discount: {percent: 60}}]")
    rs2 = write_ruleset(tmp_path / "two", _pricing(exclusive))
    assert _found(rs2) == []


def test_a_price_override_below_cost(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, _pricing(
        "  - id: o\n    for_each: line\n    then:\n      - price_override:\n"
        "          unit_price: ref.products[line.sku].cost_usd * ref.fx[order.currency].rate * 0.5\n"
        "  - id: ok\n    for_each: line\n    then:\n      - price_override:\n"
        "          unit_price: max(line.unit_price, ref.products[line.sku].cost_usd * 1.05)\n"),
        {"products.csv": "sku,cost_usd\nA,5\n", "fx.csv": "currency,rate\nUSD,1\n"})
    assert [f[:2] for f in _found(rs)] == [
        ("packs/p.yaml:8:23", "the price override can set the net to 50% of the cost column: "
                              "below cost")]


def test_approval_levels_not_monotone_in_the_threshold(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, {"a.yaml": (
        "pack: a\nphase: approval\nrules:\n  - id: value\n    table:\n      hit: rule_order\n"
        "      inputs: [pricing.total]\n      outputs: [role, level]\n      rows:\n"
        "        - ['> 1000', manager, 2]\n        - ['> 5000', director, 1]\n"
        "    then:\n      - require_approval: {role: '{role}', level: level}\n")})
    assert [f[:2] for f in _found(rs)] == [
        ("packs/a.yaml:11:11", "approval level 1 at > 5000, but level 2 at > 1000 (line 10): "
                               "levels are not monotone in the threshold")]


def test_a_gap_in_a_numeric_column_with_a_counterexample(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, _pricing(
        "  - id: t\n    for_each: line\n    table:\n      hit: first\n"
        "      inputs: [line.quantity, customer.segment]\n      outputs: [pct]\n      rows:\n"
        "        - ['[0..50]', retail, 1]\n        - ['(60..100]', retail, 2]\n"
        "        - ['-', wholesale, 3]\n    then: [{discount: {percent: pct}}]\n"))
    [(where, message, hint)] = _found(rs)
    assert where == "packs/p.yaml:11:11"
    assert message == ("the rows leave a gap in line.quantity: no row matches line.quantity = "
                       "55 (between the bounds 50 and 60, other inputs as in row 1)")
    assert hint is not None and "add a default" in hint


def test_conflicting_outputs_under_hit_any(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, _pricing(
        "  - id: t\n    for_each: line\n    table:\n      hit: any\n"
        "      inputs: [line.quantity]\n      outputs: [pct]\n      rows:\n"
        "        - ['>= 10', 1]\n        - ['>= 20', 1]\n        - ['>= 50', 2]\n"
        "      default: [0]\n    then: [{discount: {percent: pct}}]\n"))
    assert [f[:2] for f in _found(rs)] == [
        ("packs/p.yaml:13:11", "row 3 and row 1 can both match with different outputs: a rule "
                               "error under hit policy any")]


def test_embargo_lists_and_export_groups_cover_the_countries(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, _pricing("  - id: a\n    then: [{discount: {percent: 1}}]\n"), {
        "countries.csv": "code,name\nCU,Cuba\nDE,Germany\nKP,North Korea\nUS,United States\n",
        "embargoed.yaml": "[CU, KN]\n",
        "export_groups.csv": "country,group\nCU,E\nDE,A\nUS,A\n"})
    assert [f[:2] for f in _found(rs)] == [
        ("reference/embargoed.yaml:1:1", "embargoed lists KN, not countries of "
                                         "reference/countries: a typo here lets the country "
                                         "through"),
        ("reference/export_groups.csv:1:1", "export_groups has no row for 1 country of "
                                            "reference/countries (KP): an order to them is not "
                                            "classified")]


def test_a_gap_over_an_enum_the_order_schema_declares(tmp_path: Path) -> None:
    import json
    rs = write_ruleset(tmp_path, _pricing(
        "  - id: t\n    for_each: line\n    table:\n"
        "      inputs: [customer.tier, line.quantity]\n      outputs: [pct]\n      rows:\n"
        "        - [gold, '-', 5]\n        - [silver, '>= 10', 3]\n"
        "    then: [{discount: {percent: pct}}]\n"))
    schema = {"type": "object", "properties": {
        "customer": {"type": "object", "properties": {
            "tier": {"enum": ["gold", "silver", "bronze"]}}},
        "lines": {"type": "array", "items": {"type": "object", "properties": {
            "sku": {"type": "string"}, "quantity": {"type": "number"}}}}}}
    (rs / "order.schema.json").write_text(json.dumps(schema))
    assert [f[:2] for f in _found(rs)] == [
        ("packs/p.yaml:7:7", "no row matches customer.tier = 'bronze', line.quantity = 9: the "
                             "rows leave a gap among the values the order schema declares")]


def test_a_bound_left_out_by_both_rows_is_a_gap(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, _pricing(
        "  - id: t\n    for_each: line\n    table:\n      inputs: [line.quantity]\n"
        "      outputs: [pct]\n      rows:\n        - ['< 10', 1]\n        - ['> 10', 2]\n"
        "    then: [{discount: {percent: pct}}]\n"))
    assert [f[1] for f in _found(rs)] == [
        "the rows leave a gap in line.quantity: no row matches line.quantity = 10 (a bound both "
        "neighbouring rows leave out, other inputs as in row 1)"]


def test_approval_rules_alike_but_for_the_threshold_rise_with_it(tmp_path: Path) -> None:
    rules = ("  - id: big\n    when: order.channel == \"web\" and pricing.total > 50000\n"
             "    then: [{require_approval: {role: manager, level: 1}}]\n"
             "  - id: medium\n    when: order.channel == \"web\" and pricing.total > 10000\n"
             "    then: [{require_approval: {role: director, level: 2}}]\n"
             "  - id: other\n    when: order.channel == \"edi\" and pricing.total > 1000\n"
             "    then: [{require_approval: {role: cfo, level: 3}}]\n")
    rs = write_ruleset(tmp_path, {"a.yaml": f"pack: a\nphase: approval\nrules:\n{rules}"})
    assert [f[:2] for f in _found(rs)] == [
        ("packs/a.yaml:8:11", "rule 'medium' asks level 2 at pricing.total > 10000, rule 'big' "
                              "level 1 at > 50000 (line 5): levels are not monotone in the "
                              "threshold")]


def test_a_country_column_naming_a_code_countries_does_not_know(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, _pricing("  - id: a\n    then: [{discount: {percent: 1}}]\n"), {
        "countries.csv": "code,name\nDE,Germany\nUS,United States\n",
        "customers.csv": "id,country\nC-1,DE\nC-2,UK\nC-3,US\n"})
    assert [f[:2] for f in _found(rs)] == [
        ("reference/customers.csv:3:1", "country 'UK' of customers is not in reference/countries: "
                                        "embargo and export checks do not know it")]
