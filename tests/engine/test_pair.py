"""evaluate_pair gives exactly the decisions of two separate evaluations."""
from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

import pytest

from ordinance.engine import dumps, evaluate_pair, load, validate_order
from tests.conftest import RULESETS, need


def _orders(n: int) -> list[dict]:
    from ordinance.simulator import generate
    catalogue = generate.load_catalogue(RULESETS / "acme")
    out = []
    for o in generate.generate_orders(catalogue, count=n, seed=11):
        out.append(validate_order(json.loads(json.dumps(o, default=str))))
    return out


@pytest.mark.parametrize("candidate", ["acme-candidate", "acme"])
def test_pair_equals_separate_evaluations(candidate: str) -> None:
    need((RULESETS / "acme").is_dir(), "the shipped rule sets")
    a, b = load(RULESETS / "acme"), load(RULESETS / candidate)
    for order in _orders(300):
        da, db = evaluate_pair(a, b, order)
        assert dumps(da.to_json()) == dumps(a.evaluate(order).to_json())
        assert dumps(db.to_json()) == dumps(b.evaluate(order).to_json())


def test_a_changed_reference_table_is_not_shared(tmp_path: Path) -> None:
    need((RULESETS / "acme").is_dir(), "the shipped rule sets")
    changed = tmp_path / "acme"
    shutil.copytree(RULESETS / "acme", changed)
    customers = changed / "reference" / "customers.csv"
    lines = customers.read_text().splitlines()
    lines[1] = lines[1].replace("gold", "platinum").replace("silver", "gold")
    customers.write_text("\n".join(lines) + "\n")
    a, b = load(RULESETS / "acme"), load(changed)
    assert a.phase_keys["defaulting"] != b.phase_keys["defaulting"]
    assert a.phase_keys["compliance"] == b.phase_keys["compliance"]
    as_of = datetime.date(2026, 11, 20)
    for order in _orders(100):
        da, db = evaluate_pair(a, b, order, as_of)
        assert dumps(db.to_json()) == dumps(b.evaluate(order, as_of).to_json())


def test_a_shared_pricing_serves_later_phases_that_read_line_pricing(tmp_path: Path) -> None:
    """The candidate takes the baseline's finished pricing; its own approval rule then reads
    `line.pricing` through that pricing."""
    need((RULESETS / "acme").is_dir(), "the shipped rule sets")
    changed = tmp_path / "acme"
    shutil.copytree(RULESETS / "acme", changed)
    (changed / "packs" / "61-line-approvals.yaml").write_text(
        "pack: line-approvals\nphase: approval\nrules:\n  - id: big-line\n    for_each: line\n"
        "    when: line.pricing.net > 500\n    then:\n"
        "      - require_approval: {role: \"line-{line.pricing.net}\"}\n")
    a, b = load(RULESETS / "acme"), load(changed)
    shared = 0
    for order in _orders(100):
        da, db = evaluate_pair(a, b, order)
        shared += da.pricing is not None and da.pricing is db.pricing
        assert dumps(db.to_json()) == dumps(b.evaluate(order).to_json())
    assert shared


def _rule_set(root: Path, packs: dict[str, str]) -> Path:
    """A rule set of the given packs (file name: YAML text)."""
    (root / "packs").mkdir(parents=True)
    (root / "ruleset.yaml").write_text("ruleset: written\nversion: \"1\"\n")
    for name, text in packs.items():
        (root / "packs" / name).write_text(text)
    return root


def _pack_set(root: Path, defaults: str) -> Path:
    """A rule set whose first defaulting pack sets `defaults`; a shared second pack and a
    shared validation pack render order.attributes into the decision."""
    return _rule_set(root, {
        "a.yaml": "pack: first\nphase: defaulting\nrules:\n  - id: d\n    then:\n"
                  f"      - set: {{{defaults}}}\n",
        "b.yaml": "pack: second\nphase: defaulting\nafter: [first]\nrules:\n  - id: copy\n"
                  "    then:\n      - set: {order.attributes.copied: order.attributes.rate}\n",
        "c.yaml": "pack: check\nphase: validation\nrules:\n  - id: say\n    then:\n"
                  "      - warn: {code: RATE, message: \"rate {order.attributes.rate} "
                  "flag {order.attributes.flag}\"}\n"})


@pytest.mark.parametrize("one, other", [
    ("order.attributes.rate: 0.10, order.attributes.flag: 1",
     "order.attributes.rate: 0.1, order.attributes.flag: 1"),      # 0.10 == 0.1
    ("order.attributes.rate: 1, order.attributes.flag: true",
     "order.attributes.rate: 1, order.attributes.flag: 1"),         # true == 1
    ("order.attributes.rate: 1, order.attributes.flag: 2",
     "order.attributes.flag: 2, order.attributes.rate: 1"),         # same fields, other order
])
def test_states_equal_by_value_but_written_differently_are_not_shared(
        tmp_path: Path, one: str, other: str) -> None:
    a = load(_pack_set(tmp_path / "a", one))
    b = load(_pack_set(tmp_path / "b", other))
    order = validate_order({"id": "SO-1", "order_date": "2026-11-20", "lines": []})
    da, db = evaluate_pair(a, b, order)
    assert dumps(da.to_json()) == dumps(a.evaluate(order).to_json())
    assert dumps(db.to_json()) == dumps(b.evaluate(order).to_json())


def test_line_fields_written_differently_are_not_shared(tmp_path: Path) -> None:
    """The strict check reaches into every line for fields a per-line rule writes."""
    def rule_set(root: Path, rate: str) -> Path:
        return _rule_set(root, {
            "a.yaml": "pack: first\nphase: defaulting\nrules:\n  - id: d\n    for_each: line\n"
                      f"    then:\n      - default: {{line.attributes.rate: {rate}}}\n",
            "c.yaml": "pack: check\nphase: validation\nrules:\n  - id: say\n    for_each: line\n"
                      "    then:\n      - warn: {code: RATE, "
                      "message: \"rate {line.attributes.rate}\"}\n"})

    a, b = load(rule_set(tmp_path / "a", "0.10")), load(rule_set(tmp_path / "b", "0.1"))
    order = validate_order({"id": "SO-2", "order_date": "2026-11-20",
                            "lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 2}]})
    da, db = evaluate_pair(a, b, order)
    assert dumps(db.to_json()) == dumps(b.evaluate(order).to_json())
    assert [v["message"] for v in db.violations] == ["rate 0.1", "rate 0.1"]
    assert [v["message"] for v in da.violations] == ["rate 0.10", "rate 0.10"]
