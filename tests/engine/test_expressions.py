"""The expression language: semantics of SPEC section 3, and its safety."""
from __future__ import annotations

import datetime
from decimal import Decimal as D
from typing import Any

import pytest

from ordinance.engine.diagnostics import Diagnostics, Span
from ordinance.engine.expressions import Scope, compile_expr
from ordinance.engine.values import RuleError

SCOPE = Scope(frozenset({"order", "customer", "ref", "pricing", "line"}), frozenset())


class Ctx:
    as_of = datetime.date(2026, 11, 20)


def ev(text: str, **scope: Any) -> Any:
    diags = Diagnostics()
    e = compile_expr(text, Span("x.yaml", 1, 1), SCOPE, diags)
    assert e is not None, [d.render() for d in diags.items]
    S = {"order": None, "customer": None, "ref": None, "pricing": None, "line": None}
    S.update(scope)
    return e.fn(S, Ctx())


def errors(text: str) -> list[str]:
    diags = Diagnostics()
    compile_expr(text, Span("p.yaml", 3, 11), SCOPE, diags)
    return [d.render(with_source=False).splitlines()[0] for d in diags.items]


@pytest.mark.parametrize("text,expected", [
    ("1 + 2 * 3", D(7)), ("(1 + 2) * 3", D(9)), ("0.1 + 0.2 == 0.3", True),
    ("10 / 4", D("2.5")), ("7 % 3", D(1)), ("-2 + 5", D(3)), ("'a' + \"b\"", "ab"),
    ("1 < 2 and 2 < 3", True), ("not (1 < 2) or false", False), ("null == null", True),
    ("null != true", True), ("null < 1", False), ("null + 1", None), ("'x' + null", None),
    ("'x' in [1, 2]", False), ("2 in [1, 2.0]", True), ("'b' not in ['a']", True),
    ("len([1, 2, 3])", D(3)), ("lower('EDI')", "edi"), ("upper('de')", "DE"),
    ("contains('Acme Trading', 'Trad')", True), ("startswith('SVC-1', 'SVC')", True),
    ("endswith('a.pdf', '.pdf')", True), ("matches('SO-12', '^SO-[0-9]+$')", True),
    ("round(2.345, 2)", D("2.35")), ("round(-2.5)", D(-3)), ("min(3, 1, 2)", D(1)),
    ("max(3, 1, 2)", D(3)), ("abs(-4.5)", D("4.5")), ("coalesce(null, 'NET15')", "NET15"),
    ("date('2026-01-31')", datetime.date(2026, 1, 31)), ("today()", datetime.date(2026, 11, 20)),
    ("days_between(date('2026-11-01'), date('2026-11-20'))", D(19)),
    ("add_days(date('2026-11-20'), 10)", datetime.date(2026, 11, 30)),
    ("sum([1, 2, 3], it * 2)", D(12)), ("count([1, 5, 10], it > 2)", D(2)),
    ("any([1, 5], it > 2)", True), ("all([], it > 2)", True), ("date(null)", None),
    ("sum([[1, 2], [3]], sum(it, it))", D(6)),
])
def test_values(text: str, expected: Any) -> None:
    assert ev(text) == expected
    assert type(ev(text)) is type(expected)


def test_paths_through_null_are_null() -> None:
    order = {"ship_to": {"country": "DE"}, "lines": [{"sku": "A-1"}]}
    assert ev("order.ship_to.country", order=order) == "DE"
    assert ev("order.bill_to.country", order=order) is None
    assert ev("order.lines[0].sku", order=order) == "A-1"
    assert ev("order.lines[5].sku", order=order) is None
    assert ev("order.lines[0].sku.more", order=order) is None


def test_a_number_never_equals_a_boolean_or_text() -> None:
    assert ev("order.flag == 1", order={"flag": True}) is False
    assert ev("order.code == 1", order={"code": "1"}) is False


@pytest.mark.parametrize("text,message", [
    ("1 / 0", "division by zero"), ("'a' - order.n", "cannot apply '-'"),
    ("'a' < 1 + order.n", "cannot apply '<'"), ("date('2026-01-01') < '2026'", "cannot apply"),
    ("date('2026-01-01') == '2026-01-01'", "cannot compare date"),
    ("date('yesterday')", "cannot read"), ("round(1, 0.5)", "whole number of places"),
    ("matches('a', order.rx)", "invalid regular expression"),
])
def test_rule_errors(text: str, message: str) -> None:
    with pytest.raises(RuleError) as exc:
        ev(text, order={"n": D(1), "rx": "("})
    assert message in exc.value.message


def test_compile_errors_name_the_place_and_suggest() -> None:
    assert errors("order.total >> 5") == [
        "p.yaml:3:24: error: syntax error: unexpected '>'"]
    assert errors("lenght(order.lines)") == ["p.yaml:3:11: error: unknown function 'lenght'"]
    assert errors("EA") == ["p.yaml:3:11: error: unknown name 'EA'"]
    assert errors("'a' == 1") == ["p.yaml:3:15: error: '==' between a text and a number never "
                                  "holds"]
    assert errors("len()") == ["p.yaml:3:11: error: len() takes 1 arguments, got 0"]
    assert errors("order.n / 0") == ["p.yaml:3:19: warning: division by a constant zero"]
    assert errors("it > 1") == ["p.yaml:3:11: error: 'it' is only defined inside the second "
                                "argument of sum, count, any and all (and a sourcing `prefer`)"]


def test_hints() -> None:
    diags = Diagnostics()
    compile_expr("lenght(order.lines)", Span("p.yaml", 1, 1), SCOPE, diags)
    assert diags.items[0].hint == "did you mean 'len'?"
    diags = Diagnostics()
    compile_expr("EA", Span("p.yaml", 1, 1), SCOPE, diags)
    assert "quote it" in (diags.items[0].hint or "")


@pytest.mark.parametrize("text", [
    "__import__('os')", "order.__class__", "().__class__", "order['__class__']",
    "lower.__globals__", "[x for x in order]", "lambda: 1", "exec('1')", "open('/etc/passwd')",
    "order; 1", "order.lines[0].__class__.__mro__", "S", "X", "c0", "_get", "f0(X)",
    "globals()", "(1).real", "'a'.upper()",
])
def test_hostile_text_reaches_nothing(text: str) -> None:
    """Every one is refused at compile time or evaluates to plain data, never host objects."""
    diags = Diagnostics()
    e = compile_expr(text, Span("p.yaml", 1, 1), SCOPE, diags)
    if e is None:
        assert any(d.is_error for d in diags.items)
        return
    value = e.fn({"order": {"__class__": "x"}, "customer": None, "ref": None, "pricing": None,
                  "line": None}, Ctx())
    assert value is None or isinstance(value, (str, bool, D, list, dict))


def test_generated_code_has_no_builtins() -> None:
    diags = Diagnostics()
    e = compile_expr("len(order.lines) > 0", Span("p.yaml", 1, 1), SCOPE, diags)
    assert e is not None
    assert e.fn.__globals__["__builtins"  "__"] == {}
