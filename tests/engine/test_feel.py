"""The FEEL / ZEN translator (engine/importers/feel.py): cells and expressions it carries over,
what it refuses, and a property: a translated unary test matches exactly the values the FEEL
test matches, evaluated directly by the small reference semantics below."""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinance.engine.importers.feel import Refused, expression, literal_list, literal_value, \
    unary_test
from ordinance.engine.tables import parse_cell_text


@pytest.mark.parametrize(("feel", "cell"), [
    ("-", "-"), ("", "-"), (">=18", ">= 18"), ("< 12", "< 12"), ('"Medium","Low"',
                                                                 '"Medium", "Low"'),
    ("[1..10)", "[1..10)"), ("]1..10[", "(1..10)"), ("(1..10]", "(1..10]"),
    ('not("a", "b")', 'not("a", "b")'), ("not(< 0)", "not(< 0)"), ("-5", "-5"),
    ("true", "true"), ("null", "null"), ('date("2023-01-01")', "2023-01-01"),
    ('> date("2023-01-01")', "> 2023-01-01"), ("1.50", "1.50"), ('"it\'s"', '"it\'s"'),
    ('"say \'hi\'"', '"say \'hi\'"'), ("= 3", "== 3"), ("!= 3", "!= 3"),
])
def test_feel_cells(feel: str, cell: str) -> None:
    assert unary_test(feel, "feel") == cell


@pytest.mark.parametrize(("zen", "cell"), [
    ("'premium'", '"premium"'), ("'high', 'medium'", '"high", "medium"'),
    ("> 1_000_000", "> 1000000"), (" ", "-"), ("> 2 and <= 4", "(2..4]"),
    ("< 18 and >= 16", "[16..18)"), ("[500..1_000)", "[500..1000)"),
])
def test_zen_cells(zen: str, cell: str) -> None:
    assert unary_test(zen, "zen") == cell


@pytest.mark.parametrize(("text", "dialect", "message", "offset"), [
    ("< Score", "feel", "the name 'Score' refers to a value", 2),
    ("'x'", "feel", "FEEL strings are written in double quotes", 0),
    ("contains($, \"a\")", "zen", "the function contains(...) is not carried over", 0),
    ("> $", "zen", "a reference to the input ($) has no equivalent", 2),
    ("> 1 and > 2", "zen", "'and' joins a lower and an upper bound only", 4),
    ("> 1 and < 2", "feel", "unexpected 'and'", 4),
    ('date("tomorrow")', "feel", 'date(...) is carried over with a literal "YYYY-MM-DD"', 5),
    ("1_000", "feel", "'1_000' is not a FEEL number", 0),
    ("> null", "feel", "'>' compares numbers, dates or strings, not null", 2),
    ("[1..2", "feel", "an interval ends with ], ) or [", 5),
    ('"a\\"b"', "feel", "escapes inside strings are not carried over", 0),
    ("x" * 2001, "feel", "longer than 2000 characters", 0),
])
def test_refused_cells_say_why_and_where(text: str, dialect: str, message: str,
                                         offset: int) -> None:
    with pytest.raises(Refused) as exc:
        unary_test(text, dialect)
    assert exc.value.message.startswith(message) and exc.value.offset == offset


def resolve(name: str) -> str | None:
    return {"Age": "order.Age", "Applicant.Age": "order.Applicant.Age",
            "Order Total": "order.Order_Total"}.get(
        name, f"order.{name}" if name.startswith("cart") else None)


@pytest.mark.parametrize(("text", "dialect", "expr"), [
    ("Age * 2 + 1", "feel", "order.Age * 2 + 1"),
    ("Applicant.Age", "feel", "order.Applicant.Age"),
    ("-(Age - 3) / 4", "feel", "-(order.Age - 3) / 4"),
    ('date("2020-01-02")', "feel", 'date("2020-01-02")'),
    ("Age = 3", "feel", "order.Age == 3"),
    ("Order Total * 0.1 + Age", "feel", "order.Order_Total * 0.1 + order.Age"),
    ("len(cart.items)", "zen", "len(order.cart.items)"),
    ("['a', 'b']", "zen", '["a", "b"]'),
    ("cart.kind + '-x'", "zen", 'order.cart.kind + "-x"'),
])
def test_expressions(text: str, dialect: str, expr: str) -> None:
    assert expression(text, resolve, dialect) == expr


@pytest.mark.parametrize(("text", "dialect", "message"), [
    ("Height", "feel", "unknown name 'Height'"),
    ("Order Sum * 2", "feel", "unknown name 'Order Sum' (a name with spaces must be"),
    ("sum(Age)", "feel", "the function sum(...) is not carried over"),
    ("len(cart.items)", "feel", "the function len(...) is not carried over"),
    ("if Age > 3 then 1 else 2", "feel", "FEEL 'if' expressions are not carried over"),
    ("cart.items[0]", "zen", "indexing and filters are not carried over"),
    ("{a: 1}", "feel", "a context has no equivalent"),
])
def test_refused_expressions(text: str, dialect: str, message: str) -> None:
    with pytest.raises(Refused) as exc:
        expression(text, resolve, dialect)
    assert exc.value.message.startswith(message), exc.value.message


def test_literals() -> None:
    assert literal_value('"x"') == "x" and literal_value("-2.5") == Decimal("-2.5")
    assert literal_value("true") is True and literal_value("null") is None
    assert literal_list('"Approved", "Declined"') == ["Approved", "Declined"]
    assert literal_list('"a", b') is None


# --- the property ---------------------------------------------------------------------------

NUM = st.integers(-20, 20).map(Decimal)


def cmp_test() -> st.SearchStrategy[tuple[str, Any]]:
    return st.tuples(st.sampled_from(["<", "<=", ">", ">="]), NUM).map(
        lambda t: (f"{t[0]} {t[1]}", ("cmp", t[0], t[1])))


def interval() -> st.SearchStrategy[tuple[str, Any]]:
    def build(t: tuple[str, Decimal, Decimal, str]) -> tuple[str, Any]:
        o, a, b, c = t
        lo, hi = min(a, b), max(a, b)
        return f"{o}{lo}..{hi}{c}", ("range", o in "[", lo, hi, c == "]")
    return st.tuples(st.sampled_from(["[", "(", "]"]), NUM, NUM,
                     st.sampled_from(["]", ")", "["])).map(build)


SIMPLE = st.one_of(cmp_test(), interval(), NUM.map(lambda n: (str(n), ("eq", n))))
POSITIVE = st.lists(SIMPLE, min_size=1, max_size=4)
TESTS = st.one_of(POSITIVE.map(lambda xs: (", ".join(x[0] for x in xs),
                                           ("any", [x[1] for x in xs]))),
                  POSITIVE.map(lambda xs: (f"not({', '.join(x[0] for x in xs)})",
                                           ("not", [x[1] for x in xs]))))


def feel_matches(t: Any, v: Decimal | None) -> bool:
    """FEEL's meaning of the test (DMN 1.3 section 10.3.2.9), written out independently."""
    kind = t[0]
    if kind == "any":
        return any(feel_matches(x, v) for x in t[1])
    if kind == "not":
        return not any(feel_matches(x, v) for x in t[1])
    if v is None:
        return False
    if kind == "eq":
        return v == t[1]
    if kind == "cmp":
        return {"<": v < t[2], "<=": v <= t[2], ">": v > t[2], ">=": v >= t[2]}[t[1]]
    _, lo_closed, lo, hi, hi_closed = t
    return (v >= lo if lo_closed else v > lo) and (v <= hi if hi_closed else v < hi)


@settings(max_examples=300, deadline=None)
@given(TESTS, st.one_of(st.none(), NUM, NUM.map(lambda n: n + Decimal("0.5"))))
def test_a_translated_unary_test_matches_what_feel_matches(test: tuple[str, Any],
                                                           value: Decimal | None) -> None:
    cell = parse_cell_text(unary_test(test[0], "feel"))
    assert cell(value) == feel_matches(test[1], value), (test[0], value)


def test_a_translated_date_cell_matches_dates() -> None:
    cell = parse_cell_text(unary_test('[date("2023-01-01")..date("2023-02-01")]', "feel"))
    assert cell(datetime.date(2023, 1, 20)) and not cell(datetime.date(2023, 2, 2))
