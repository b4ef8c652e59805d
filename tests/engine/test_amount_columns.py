"""A pricing action's value read from a reference column (issue 16): where every row of the
table is an object whose column is null or a finite number within the amount limit, the
pack's code does not check the value it reads (`Expr.amounts`); a column holding anything
else is checked as before, and a decision names the bad value as before."""
from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

from ordinance.engine import load, packrun, validate_order
from ordinance.engine.expressions import Expr
from tests.engine.helpers import write_ruleset

PACK = """
    pack: p
    phase: pricing
    rules:
      - id: list
        for_each: line
        then:
          - list_price: ref.prices[line.sku].unit
      - id: vat
        for_each: line
        then:
          - tax: {rate: 'ref.prices[line.sku].rate'}
    """


def _rule_set(tmp: Path, prices: str) -> Path:
    return write_ruleset(tmp, {"p.yaml": PACK}, {"prices.csv": prices})


def _exprs(root: Path) -> list[Expr]:
    rs = load(root)
    return [a.expr if hasattr(a, "expr") else a.rate
            for _, packs in rs.plan for p in packs for r in p.rules for a in r.actions]


def _decide(root: Path, skus: list[str]) -> dict:
    order = {"id": "O", "currency": "EUR",
             "lines": [{"id": str(i), "sku": s, "quantity": Decimal(2)}
                       for i, s in enumerate(skus)]}
    return load(root).evaluate(validate_order(order),
                               as_of=datetime.date(2026, 11, 20)).to_json()


def test_a_column_of_amounts_is_read_unchecked(tmp_path: Path) -> None:
    root = _rule_set(tmp_path / "r", "sku,unit,rate\nA,9.99,20\nB,,7.7\nC,1000,\n")
    assert [e.amounts for e in _exprs(root)] == [True, True]
    pack = next(p for _, packs in load(root).plan for p in packs)
    assert "_pr_number" not in packrun._source(pack, {})
    d = _decide(root, ["A", "B", "C", "Z"])
    assert d["status"] == "rejected"  # B and Z have no price: a null list price sets none
    lines = d["pricing"]["lines"]
    assert [ln["extended"] for ln in lines] == ["19.98", "0.00", "2000.00", "0.00"]
    assert [ln["tax"] for ln in lines] == ["4.00", "0.00", "0.00", "0.00"]


def test_a_column_with_other_values_is_checked(tmp_path: Path) -> None:
    for bad, message in (("x", "list_price must be a number, got 'x'"),
                         ("2000000000000000", "list_price is out of range: 2000000000000000")):
        root = _rule_set(tmp_path / bad, f"sku,unit,rate\nA,9.99,20\nB,{bad},7.7\n")
        assert [e.amounts for e in _exprs(root)] == [False, True]
        pack = next(p for _, packs in load(root).plan for p in packs)
        assert "_pr_number" in packrun._source(pack, {})
        d = _decide(root, ["A", "B"])
        assert [e["message"] for e in d["errors"] if e["code"] == "RULE_ERROR"] == [message]


TABLES = """
    pack: p
    phase: pricing
    rules:
      - id: list
        for_each: line
        then:
          - list_price: 10
      - id: literal
        for_each: line
        table:
          hit: first
          inputs: [line.sku]
          outputs: [pct, label]
          rows:
            - [A, 10, x]
            - [B, null, y]
          default: [5, z]
        then:
          - discount: {percent: pct, reason: "{label}"}
      - id: summed
        for_each: line
        table:
          hit: collect_sum
          inputs: [line.sku]
          outputs: [off]
          rows:
            - ["-", 600000000000000]
            - ["-", 600000000000000]
        then:
          - discount: {amount: off}
    """


def test_a_table_output_of_literal_amounts_is_read_unchecked(tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "t", {"p.yaml": TABLES})
    pack = next(p for _, packs in load(root).plan for p in packs)
    text = packrun._source(pack, {})
    literal, summed = text.split("q2 not in seen")[0], text.split("q2 not in seen")[1]
    assert "_pr_number" not in literal.split("q1 not in seen")[1]  # pct: 10, null or 5
    assert "_pr_number" in summed  # a sum is computed: 1.2e15 passes the limit
    order = {"id": "O", "currency": "EUR",
             "lines": [{"id": str(i), "sku": s, "quantity": Decimal(1)}
                       for i, s in enumerate("ABC")]}
    d = load(root).evaluate(validate_order(order), as_of=datetime.date(2026, 11, 20)).to_json()
    assert [[a["reason"] for a in ln["adjustments"]] for ln in d["pricing"]["lines"]] == \
        [["x"], [], ["z"]]
    assert {e["message"] for e in d["errors"]} == {
        "amount is out of range: 1200000000000000"}
