"""Numbers are exact or an error: an order's number with more digits than the engine computes
with is bad input naming its JSON path; arithmetic in a rule that cannot be exact is a rule
error naming the rule and the operator's FILE:LINE:COL; only division rounds."""
from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from ordinance.engine import BadOrder, parse_order, validate_order
from tests.engine.helpers import decide, write_ruleset

EXE = str(Path(sys.executable).with_name("ordinance"))
BIG = "123456789012345678901234567890.12"  # 32 significant digits


@pytest.mark.parametrize("text, path", [
    ('{"id": "O", "lines": [{"id": "1", "quantity": 1, "unit_price": %s}]}' % BIG,
     "$.lines[0].unit_price"),
    ('{"id": "O", "lines": [{"id": "1", "quantity": "%s"}]}' % BIG, "$.lines[0].quantity"),
    ('{"id": "O", "attributes": {"weights": [1, %s]}}' % BIG, "$.attributes.weights[1]"),
])
def test_an_order_number_beyond_28_digits_is_bad_input_at_its_path(text: str,
                                                                   path: str) -> None:
    with pytest.raises(BadOrder) as err:
        parse_order(text)
    assert (err.value.path, err.value.message) == (
        path, f"{BIG} has 32 significant digits: at most 28 can be computed exactly")
    with pytest.raises(BadOrder) as err:
        validate_order(json.loads(text, parse_float=Decimal, parse_int=Decimal))
    assert err.value.path == path


def test_28_digits_are_read_exactly() -> None:
    n = "1234567890123456789012345678"
    order = parse_order('{"x": %s, "lines": [{"quantity": "0.%s"}]}' % (n, n))
    assert order["x"] == Decimal(n) and order["lines"][0]["quantity"] == Decimal("0." + n)


@pytest.mark.command
def test_eval_refuses_such_an_order_with_its_path(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path / "r", {"p.yaml": "pack: p\nphase: pricing\nrules: []\n"})
    order = '{"id": "O", "lines": [{"id": "1", "quantity": 3, "unit_price": %s}]}' % BIG
    p = subprocess.run([EXE, "eval", str(rs), "-", "--as-of", "2026-11-20"], input=order,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == ""
    assert "$.lines[0].unit_price: " + BIG + " has 32 significant digits" in p.stderr


ARITH = """
    pack: p
    phase: defaulting
    rules:
      - id: grow
        then:
          - set:
              order.attributes.product: order.attributes.a * order.attributes.b
              order.attributes.sum: order.attributes.a + order.attributes.b
              order.attributes.ratio: order.attributes.a / 7 * 1.37
    """


def test_arithmetic_is_exact_beyond_the_default_28_digits(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path / "r", {"p.yaml": ARITH})
    a = "1234567890123456789012345678"
    d = decide(rs, {"id": "O", "attributes": {"a": Decimal(a), "b": Decimal(3)}})
    attrs = d["order"]["attributes"]
    assert d["errors"] == []
    assert attrs["product"] == Decimal(a) * 3 == Decimal("3703703670370370367037037034")
    # the default context would give 1234567890123456789012345681 (rounded at 28 digits)
    assert attrs["sum"] == Decimal("1234567890123456789012345681")
    big = Decimal("9" * 28)
    d = decide(rs, {"id": "O", "attributes": {"a": big, "b": big}})
    assert d["order"]["attributes"]["product"] == Decimal(int("9" * 28) ** 2)
    # a quotient is correct to 28 digits (9...9 / 7 = 1428571428571428571428571428.43, rounded),
    # and multiplying it further stays exact (the default context would round it again)
    digits = str(1428571428571428571428571428 * 137)
    assert str(d["order"]["attributes"]["ratio"]) == f"{digits[:-2]}.{digits[-2:]}"


def test_arithmetic_that_cannot_be_exact_is_a_located_rule_error(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path / "r", {"p.yaml": """
        pack: p
        phase: defaulting
        rules:
          - id: huge
            then:
              - set: {order.attributes.x: order.attributes.a * order.attributes.a * order.attributes.a * order.attributes.a}
        """})
    a = Decimal("1234567890123456789012345678")  # 28 digits: the fourth power needs 109
    d = decide(rs, {"id": "O", "attributes": {"a": a}})
    assert d["status"] == "rejected"
    (error,) = d["errors"]
    cube = Decimal(int(a) ** 3)
    assert error == {
        "rule": "p/huge", "phase": "defaulting", "code": "RULE_ERROR",
        "message": f"{cube} * {a} needs more than 100 significant digits: it cannot be "
                   "computed exactly",
        "where": "packs/p.yaml:6:96"}
    source = (rs / "packs/p.yaml").read_text().splitlines()[5]
    assert source[95:] == "* order.attributes.a}"  # column 96: the last (outermost) '*'


def test_rule_errors_name_the_operator_or_else_the_rule(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path / "r", {"p.yaml": """
        pack: p
        phase: pricing
        rules:
          - id: ratio
            for_each: line
            then:
              - discount: {percent: 100 / order.attributes.divisor}
          - id: text-price
            for_each: line
            when: order.attributes.divisor == 0
            then:
              - list_price: '"ten"'
        """})
    d = decide(rs, {"id": "O", "attributes": {"divisor": 0},
                    "lines": [{"id": "1", "sku": "A", "quantity": 1, "unit_price": 1}]})
    assert d["errors"] == [
        {"rule": "p/ratio", "phase": "pricing", "code": "RULE_ERROR",
         "message": "division by zero: 100 / 0", "where": "packs/p.yaml:7:33", "line_id": "1"},
        {"rule": "p/text-price", "phase": "pricing", "code": "RULE_ERROR",
         "message": "list_price must be a number, got 'ten'", "where": "packs/p.yaml:8:5",
         "line_id": "1"}]
