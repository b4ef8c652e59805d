"""No document crashes an importer: any text, any JSON shape, any mangled DMN gives an
`Imported` value (a pack or located refusals), never an exception."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordinance.engine import check
from ordinance.engine.importers import import_dmn, import_jdm
from tests.engine.importing import DATA

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) |
                    st.dictionaries(st.sampled_from(["nodes", "edges", "id", "type", "content",
                                                     "inputs", "outputs", "rules", "field",
                                                     "hitPolicy", "_id", "sourceId",
                                                     "targetId", "a"]), inner, max_size=5),
                    max_leaves=30)
NODE_TYPES = st.sampled_from(["decisionTableNode", "inputNode", "switchNode", "x", None])


def well_shaped() -> st.SearchStrategy[dict[str, Any]]:
    cell = st.one_of(st.text(max_size=12), st.sampled_from(["> 1", "'a'", "[1..2]", "$", ""]),
                     st.none(), st.integers())
    table = st.fixed_dictionaries({
        "hitPolicy": st.sampled_from(["first", "collect", "unique", 3]),
        "inputs": st.just([{"id": "i", "field": "a.b"}, {"id": "j", "field": "c"}]),
        "outputs": st.just([{"id": "o", "field": "x.y"}]),
        "rules": st.lists(st.fixed_dictionaries({"_id": st.text(max_size=3), "i": cell,
                                                 "j": cell, "o": cell}), max_size=4)})
    node = st.fixed_dictionaries({"id": st.text(max_size=3), "type": NODE_TYPES,
                                  "name": st.text(max_size=5), "content": table})
    return st.fixed_dictionaries({"nodes": st.lists(node, max_size=3),
                                  "edges": st.lists(st.fixed_dictionaries(
                                      {"sourceId": st.text(max_size=3),
                                       "targetId": st.text(max_size=3)}), max_size=3)})


def any_typed() -> st.SearchStrategy[dict[str, Any]]:
    """Tables whose every field may hold any JSON value."""
    keys = ["hitPolicy", "inputs", "outputs", "rules", "executionMode", "inputField"]
    column = st.fixed_dictionaries({}, optional={"id": JSON, "field": JSON, "name": JSON})
    content = st.fixed_dictionaries({}, optional={
        **{k: JSON for k in keys}, "inputs": st.lists(column, max_size=2) | JSON,
        "outputs": st.lists(column, max_size=2) | JSON,
        "rules": st.lists(st.dictionaries(st.sampled_from(["_id", "i", "o", "x"]), JSON,
                                          max_size=3), max_size=3) | JSON})
    node = st.fixed_dictionaries({"type": st.just("decisionTableNode")},
                                 optional={"id": JSON, "name": JSON, "content": content})
    return st.fixed_dictionaries({"nodes": st.lists(node, max_size=3)},
                                 optional={"edges": JSON})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(JSON, well_shaped(), any_typed()))
def test_no_jdm_shape_crashes_the_importer(doc: Any) -> None:
    result = import_jdm(json.dumps(doc), "fuzz.json")
    assert result.pack is not None or any(d.is_error for d in result.diagnostics)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(well_shaped())
def test_a_pack_the_importer_writes_passes_check(doc: Any) -> None:
    """What is not refused is a valid pack: the refusals are the importer's, not check's."""
    result = import_jdm(json.dumps(doc), "fuzz.json")
    if result.pack is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "ruleset.yaml").write_text('ruleset: fuzz\nversion: "1"\n')
        (root / "packs").mkdir()
        (root / "packs" / "p.yaml").write_text(result.pack)
        errors = [d.render(with_source=False) for d in check(root) if d.is_error]
        assert errors == [], result.pack


DMN = (DATA / "dmn" / "0118-multi-priority-hitpolicy.dmn").read_text()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(DMN) - 1), st.integers(0, 40), st.text(max_size=12))
def test_no_mangled_dmn_crashes_the_importer(at: int, cut: int, insert: str) -> None:
    text = DMN[:at] + insert + DMN[at + cut:]
    result = import_dmn(text, "fuzz.dmn")
    assert result.pack is not None or any(d.is_error for d in result.diagnostics)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_no_text_crashes_either_importer(text: str) -> None:
    for run in (import_dmn, import_jdm):
        result = run(text, "fuzz")
        assert result.pack is not None or any(d.is_error for d in result.diagnostics)


FEEL_BITS = ["-", "", ">=18", "< 12", '"Medium","Low"', "[1..10)", "]1..10[", 'not("a")',
             "true", "null", 'date("2023-01-01")', "> null", "Age", '"x"', "1.5", "-2",
             "[1..\"a\"]", '"a", 3', "not(-)", "= true", '"="', "Age * 2", '"it\'s"']


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FEEL_BITS), min_size=15, max_size=15))
def test_a_pack_imported_from_dmn_passes_check(cells: list[str]) -> None:
    import re
    from xml.sax.saxutils import escape
    it = iter(cells)
    text = re.sub(r"<(inputEntry|outputEntry)><text>[^<]*</text>",
                  lambda m: f"<{m.group(1)}><text>{escape(next(it))}</text>", DMN)
    result = import_dmn(text, "fuzz.dmn")
    if result.pack is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "ruleset.yaml").write_text('ruleset: fuzz\nversion: "1"\n')
        (root / "packs").mkdir()
        (root / "packs" / "p.yaml").write_text(result.pack)
        errors = [d.render(with_source=False) for d in check(root) if d.is_error]
        assert errors == [], (cells, result.pack)
