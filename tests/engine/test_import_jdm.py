"""`ordinance import jdm` on GoRules ZEN example decision graphs (reproduced in
tests/engine/data/jdm with their source noted): each imported pack is loaded as a rule set and
gives the outputs of the source's own test cases."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ordinance.engine import check
from ordinance.engine.importers import import_jdm
from tests.engine.importing import DATA, cases, evaluate, hits, ruleset, same

CASES = cases("jdm")


def flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """{discount: {flat: 25}} -> {discount_flat: 25}: how a collect row's outputs are named."""
    out: dict[str, Any] = {}
    for k, v in value.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}_"))
        else:
            out[f"{prefix}{k}"] = v
    return out


def contains(order: dict[str, Any], expected: dict[str, Any], where: str = "") -> None:
    """Every field of the expected output is on the order with that value (the order also
    keeps its inputs: ZEN's passThrough is the order's nature)."""
    for k, v in expected.items():
        assert k in order, f"{where}{k} missing"
        if isinstance(v, dict):
            contains(order[k], v, f"{where}{k}.")
        else:
            assert same(order[k], v), (f"{where}{k}", order[k], v)


@pytest.mark.parametrize("name", sorted(CASES))
def test_zen_example_gives_the_expected_results(name: str, tmp_path: Path) -> None:
    text = (DATA / "jdm" / f"{name}.json").read_text()
    imported = import_jdm(text, f"{name}.json")
    assert imported.diagnostics == () and imported.pack is not None
    rs = ruleset(tmp_path, imported.pack)
    spec = CASES[name]
    for case in spec["cases"]:
        order = evaluate(rs, case["input"])
        if "result" in spec:
            rows = [{k: v for k, v in row.items() if v is not None}
                    for row in hits(order[spec["result"]])]
            assert same(rows, [flat(x) for x in case["output"]]), (case, rows)
        else:
            contains(order, case["output"])


def test_check_finds_the_shadowed_row_of_the_merch_bags_example(tmp_path: Path) -> None:
    """GoRules' merch-bags table has two DEN economy rows: under `first` the second (price 25)
    can never match. Imported, `ordinance check` says so at the row."""
    from ordinance.engine import check

    imported = import_jdm((DATA / "jdm" / "merch-bags.json").read_text(), "merch-bags.json")
    assert imported.pack is not None
    ruleset(tmp_path, imported.pack)
    assert [d.render(with_source=False) for d in check(tmp_path)] == [
        "packs/imported.yaml:19:11: warning: row 4 can never match: row 3 matches every input "
        "it matches (hit policy first)\n    hint: move the narrower row up, or remove it"]


def test_a_table_named_like_a_number_keeps_a_text_rule_id(tmp_path: Path) -> None:
    """Found by test_import_fuzz: a node named 0 was written `id: 0`, a number to YAML."""
    doc = {"nodes": [{"id": "t", "type": "decisionTableNode", "name": "0", "content": {
        "hitPolicy": "first", "inputs": [{"id": "i", "name": "A", "field": "a"}],
        "outputs": [{"id": "o", "name": "B", "field": "b"}],
        "rules": [{"_id": "r", "i": "> 1", "o": "2"}]}}], "edges": []}
    imported = import_jdm(json.dumps(doc), "n.json")
    assert imported.pack is not None and '- id: "0"' in imported.pack
    (tmp_path / "ruleset.yaml").write_text('ruleset: n\nversion: "1"\n')
    (tmp_path / "packs").mkdir()
    (tmp_path / "packs" / "n.yaml").write_text(imported.pack)
    assert [d.render() for d in check(tmp_path) if d.is_error] == []
