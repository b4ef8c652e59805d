"""engine/packrun.py: per-line rules guarded by PATH == "text" visit only the lines with that
value (issue 16), with the same results, fired list and order of work as visiting them all."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ordinance.engine import state as state_mod
from tests.engine.helpers import decide, write_ruleset

PACKS = {
    "d.yaml": """
        pack: d
        phase: defaulting
        rules:
          - id: dated
            for_each: line
            when: line.kind == "dated"
            then: [{set: {line.cat: today()}}]
        """,
    "v.yaml": """
        pack: v
        phase: validation
        rules:
""" + "".join(f"""
          - id: cat-{c}
            for_each: line
            when: line.cat == "{c}" and line.quantity > 1
            then: [{{warn: {{code: W{c}, message: "line {{line.id}}", field: line.cat}}}}]
""" for c in ("b", "a", "c", "a")).replace("id: cat-a\n", "id: cat-a1\n", 1) + """
          - id: country
            for_each: line
            when: order.country == "DE" and line.quantity > 2
            then: [{warn: {code: DE, message: "line {line.id}"}}]
          - id: country-2
            for_each: line
            when: order.country == "DE"
            then: [{warn: {code: DE2, message: "line {line.id}"}}]
        """,
}


def lines(*cats: str) -> list[dict]:
    return [{"id": str(i + 1), "sku": "X", "quantity": 3, "unit_price": 1, "cat": c}
            for i, c in enumerate(cats)]


def test_rules_visit_only_their_lines_in_rule_then_line_order(tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "r", PACKS)
    out = decide(root, {"id": "O", "country": "FR", "lines": lines("a", "b", "a", None, "c")})
    got = [(v["rule"], v["message"]) for v in out["violations"]]
    assert got == [("v/cat-b", "line 2"), ("v/cat-a1", "line 1"), ("v/cat-a1", "line 3"),
                   ("v/cat-c", "line 5"), ("v/cat-a", "line 1"), ("v/cat-a", "line 3")]
    assert out["fired"] == ["v/cat-b", "v/cat-a1", "v/cat-c", "v/cat-a"]


def test_an_order_level_guard_skips_or_runs_every_line(tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "r", PACKS)
    fr = decide(root, {"id": "O", "country": "FR", "lines": lines("z", "z")})
    assert fr["violations"] == [] and fr["fired"] == []
    de = decide(root, {"id": "O", "country": "DE", "lines": lines("z", "z")})
    assert [(v["code"], v["message"]) for v in de["violations"]] == [
        ("DE", "line 1"), ("DE", "line 2"), ("DE2", "line 1"), ("DE2", "line 2")]


def test_a_date_among_the_values_sends_every_rule_over_every_line(tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "r", PACKS)
    order = {"id": "O", "country": "FR", "lines": lines("a", "b")}
    order["lines"].append({"id": "3", "sku": "X", "quantity": 3, "unit_price": 1,
                           "kind": "dated"})
    out = decide(root, order)
    # line 3's cat is a date (set in defaulting): the full conditions judge it, and a date
    # is not the text; the other lines match their rules as before
    assert out["status"] == "accepted" and out["errors"] == []
    assert out["fired"][0] == "d/dated"
    assert [(v["rule"], v["message"]) for v in out["violations"]] == [
        ("v/cat-b", "line 2"), ("v/cat-a1", "line 1"), ("v/cat-a", "line 1")]


def test_guard_values_are_computed_once_per_decision_after_defaulting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Packs after defaulting with the same per-line guards share one computation of the
    lines' values (kept with the list of lines); a defaulting pack computes its own, since a
    pack of that phase may have changed the lines."""
    more = dict(PACKS)
    more["d2.yaml"] = """
        pack: d2
        phase: defaulting
        rules:
          - id: relabel
            for_each: line
            when: line.cat == "a"
            then: [{set: {line.cat: '"c"'}}]
          - id: see-c
            for_each: line
            when: line.cat == "c"
            then: [{set: {line.seen: true}}]
        """
    more["c.yaml"] = PACKS["v.yaml"].replace("pack: v", "pack: c").replace(
        "phase: validation", "phase: compliance").replace("code: W", "code: C")
    root = write_ruleset(tmp_path / "r", more)
    memos: list[dict[Any, Any]] = []
    real = state_mod.State.decision

    def keep(self: Any) -> Any:  # the state's memo as the decision ends
        memos.append(dict(self.memo))
        return real(self)
    monkeypatch.setattr(state_mod.State, "decision", keep)
    out = decide(root, {"id": "o", "country": "FR", "lines": [
        {"id": "1", "cat": "a", "quantity": 5}, {"id": "2", "cat": "b", "quantity": 5}]})
    # the defaulting pack saw its own change (line 1 relabelled "c", then seen)
    assert [line.get("seen") for line in out["order"]["lines"]] == [True, None]
    # both later packs read the relabelled line: rule cat-b, then cat-c
    assert [v["code"] for v in out["violations"]] == ["Wb", "Wc", "Cb", "Cc"]
    kept = [k for k in memos[0] if k[0] == "guards"]
    assert kept == [("guards", "line.cat")]  # one entry, shared by validation and compliance
