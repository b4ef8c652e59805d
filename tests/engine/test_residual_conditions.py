"""engine/packrun.py + expressions.py `_residual` (issue 16): once a pack has seen a rule's
guard `PATH == "text"` hold, it runs the rest of the condition only; the outcome, errors and
their places are those of the full condition."""
from __future__ import annotations

from pathlib import Path

from tests.engine.helpers import decide, write_ruleset

PACKS = {
    "v.yaml": """
        pack: v
        phase: validation
        rules:
          - id: only-guard
            for_each: line
            when: line.cat == "a"
            then: [{warn: {code: A, message: "line {line.id}"}}]
          - id: guard-then-more
            for_each: line
            when: line.cat == "a" and line.quantity > 2
            then: [{warn: {code: A2, message: "line {line.id}"}}]
          - id: more-then-guard
            for_each: line
            when: line.size > 1 and line.cat == "a"
            then: [{warn: {code: A3, message: "line {line.id}"}}]
          - id: order-guard
            when: order.country == "DE" and len(order.lines) > 1
            then: [{warn: {code: DE, message: "de"}}]
          - id: order-guard-2
            when: order.country == "DE"
            then: [{warn: {code: DE2, message: "de"}}]
        """,
}


def lines(*rows: tuple[str, int, object]) -> list[dict]:
    return [{"id": str(i + 1), "sku": "X", "quantity": q, "unit_price": 1, "cat": c, "size": s}
            for i, (c, q, s) in enumerate(rows)]


def test_the_rest_of_the_condition_decides_where_the_guard_holds(tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "r", PACKS)
    out = decide(root, {"id": "O", "country": "DE",
                        "lines": lines(("a", 3, 2), ("b", 3, 2), ("a", 1, 0))})
    assert [(v["code"], v["message"]) for v in out["violations"]] == [
        ("A", "line 1"), ("A", "line 3"), ("A2", "line 1"), ("A3", "line 1"),
        ("DE", "de"), ("DE2", "de")]
    assert out["errors"] == []


def test_an_error_in_the_rest_names_the_rule_line_and_place(tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "r", PACKS)
    out = decide(root, {"id": "O", "country": "FR",
                        "lines": lines(("a", 3, "big"), ("b", 3, "big"))})
    # line 1's size is a text compared with a number: a rule error of more-then-guard on
    # line 1 only (line 2's guard fails, so the pack never looks at the rest there)
    assert [(e["rule"], e["line_id"], e["code"]) for e in out["errors"]] == [
        ("v/more-then-guard", "1", "RULE_ERROR")]
    assert out["errors"][0]["where"].startswith("packs/v.yaml:")
    assert out["status"] == "rejected"
