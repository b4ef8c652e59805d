"""engine/model.py: a pack's effective window and switch; rules in priority order."""
from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from ordinance.engine import load
from ordinance.engine.diagnostics import Span
from ordinance.engine.model import Pack
from tests.engine.helpers import write_ruleset

D = datetime.date


@pytest.mark.parametrize("enabled, start, until, day, active", [
    (True, None, None, D(2026, 1, 1), True),
    (False, None, None, D(2026, 1, 1), False),
    (True, D(2026, 2, 1), None, D(2026, 1, 31), False),
    (True, D(2026, 2, 1), None, D(2026, 2, 1), True),  # both ends count
    (True, None, D(2026, 2, 1), D(2026, 2, 1), True),
    (True, None, D(2026, 2, 1), D(2026, 2, 2), False),
])
def test_a_pack_is_active_inside_its_window_when_enabled(
        enabled: bool, start: D | None, until: D | None, day: D, active: bool) -> None:
    p = Pack("p", "pricing", "packs/p.yaml", Span("packs/p.yaml"), [], enabled, start, until, [])
    assert p.active(day) is active


def test_the_checked_model_keeps_places_priorities_and_what_packs_read(tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "rs", {"p.yaml": """
        pack: p
        phase: validation
        rules:
          - id: low
            when: order.x == 1
            then: [{reject: {code: A, message: a}}]
          - id: high
            priority: 10
            when: ref.skus[order.sku] != null
            then: [{warn: {code: B, message: b}}]
        """}, {"skus.csv": "sku,name\nA,a\n"})
    model = load(root).model
    (pack,) = model.packs
    assert [r.qid for r in pack.rules] == ["p/high", "p/low"]  # priority first, then file order
    assert pack.rules[0].span == Span("packs/p.yaml", 7, 5)  # its `- id: high` item
    assert pack.tables_read == frozenset({"skus"})
    assert len(pack.digest) == 64 and model.table_digests["skus"]
    assert model.plan["validation"] == [pack]
