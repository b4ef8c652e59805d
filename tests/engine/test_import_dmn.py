"""`ordinance import dmn` on the DMN TCK compliance-level-2 decision tables (reproduced in
tests/engine/data/dmn with their source noted): each imported pack is loaded as a rule set and
gives the TCK's expected result for every test case of the source."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ordinance.engine.importers import import_dmn
from ordinance.engine.importers.pack import MULTI_HIT, identifier
from tests.engine.importing import DATA, cases, evaluate, hits, renamed, ruleset, same

CASES = cases("dmn")


@pytest.mark.parametrize("name", sorted(CASES))
def test_tck_table_gives_the_expected_results(name: str, tmp_path: Path) -> None:
    text = (DATA / "dmn" / f"{name}.dmn").read_text()
    imported = import_dmn(text, f"{name}.dmn")
    assert imported.diagnostics == () and imported.pack is not None
    assert f"from {name}.dmn" in imported.pack.splitlines()[0]
    rs = ruleset(tmp_path, imported.pack)
    spec = CASES[name]
    hit = next(ln.split(": ")[1] for ln in imported.pack.splitlines() if "hit: " in ln)
    for case in spec["cases"]:
        order = evaluate(rs, case["inputs"])
        got: Any = order[identifier(spec["decision"])]
        if hit in MULTI_HIT:
            got = hits(got)
        assert same(got, renamed(case["expected"])), (name, case["id"], got)


# A model of our own (not from a public project): a decision that requires another, listed
# first in the document; a date input; an output computed from an input; names with spaces.
CHAINED = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20211108/MODEL/" name="chained">
  <inputData id="i1" name="Order Total"/>
  <inputData id="i2" name="Signup"/>
  <decision id="d2" name="Fee">
    <informationRequirement><requiredDecision href="#d1"/></informationRequirement>
    <decisionTable hitPolicy="UNIQUE">
      <input><inputExpression><text>Band</text></inputExpression></input>
      <output name="fee"/>
      <rule><inputEntry><text>"big"</text></inputEntry>
            <outputEntry><text>0</text></outputEntry></rule>
      <rule><inputEntry><text>not("big")</text></inputEntry>
            <outputEntry><text>Order Total * 0.1</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="d1" name="Band">
    <decisionTable hitPolicy="FIRST">
      <input><inputExpression typeRef="number"><text>Order Total</text></inputExpression></input>
      <input><inputExpression typeRef="date"><text>Signup</text></inputExpression></input>
      <output name="band"/>
      <rule><inputEntry><text>&gt;= 1000</text></inputEntry><inputEntry><text>-</text></inputEntry>
            <outputEntry><text>"big"</text></outputEntry></rule>
      <rule><inputEntry><text>-</text></inputEntry>
            <inputEntry><text>&lt; date("2020-01-01")</text></inputEntry>
            <outputEntry><text>"loyal"</text></outputEntry></rule>
      <rule><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry>
            <outputEntry><text>"small"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def test_required_decisions_run_first_and_names_map_to_paths(tmp_path: Path) -> None:
    imported = import_dmn(CHAINED, "chained.dmn", {"Order Total": "order.totals.gross"})
    assert imported.diagnostics == () and imported.pack is not None
    pack = imported.pack
    assert pack.index('  - id: "Band"') < pack.index('  - id: "Fee"')
    assert 'inputs: ["order.totals.gross", "date(order.Signup)"]' in pack
    assert '"=order.totals.gross * 0.1"' in pack
    rs = ruleset(tmp_path, pack)
    order = evaluate(rs, {"totals": {"gross": 200}, "Signup": "2019-05-01"})
    assert order["Band"] == "loyal" and same(order["Fee"], 20)
    order = evaluate(rs, {"totals": {"gross": 2000}, "Signup": "2024-05-01"})
    assert order["Band"] == "big" and same(order["Fee"], 0)


def test_a_requirement_cycle_is_refused() -> None:
    cyclic = CHAINED.replace('<decision id="d1" name="Band">', '<decision id="d1" name="Band">'
                             '<informationRequirement><requiredDecision href="#d2"/>'
                             '</informationRequirement>')
    result = import_dmn(cyclic, "cyclic.dmn")
    assert [d.render(with_source=False) for d in result.diagnostics] == [
        "cyclic.dmn:5:3: error: decision 'Fee' requires itself through other decisions: the "
        "tables cannot be put in an order"]


def test_a_map_entry_that_names_nothing_is_a_warning() -> None:
    text = (DATA / "dmn" / "0004-simpletable-U.dmn").read_text()
    result = import_dmn(text, "u.dmn", {"Agee": "order.age", "Age": "order.applicant.age"})
    assert result.pack is not None and '"order.applicant.age"' in result.pack
    assert [d.render(with_source=False) for d in result.diagnostics] == [
        "u.dmn:1:1: warning: --map Agee: no input data, decision or input expression of that "
        "name\n    hint: names: Age, RiskCategory, isAffordable, Approval Status"]
