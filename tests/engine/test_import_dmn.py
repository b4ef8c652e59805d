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
