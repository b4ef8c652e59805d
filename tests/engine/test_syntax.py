"""engine/syntax.py: the grammar's tree keeps offsets; bad text is an ExprSyntaxError at its place."""
from __future__ import annotations

from decimal import Decimal

import pytest

from ordinance.engine.syntax import MAX_LENGTH, ExprSyntaxError, N, parse


def test_precedence_and_offsets() -> None:
    tree = parse("order.total >= 10 and not x")
    assert tree.kind == "and"
    cmp, neg = tree.args
    assert (cmp.kind, cmp.value, cmp.pos) == ("cmp", ">=", 12)  # the operator's offset
    get = cmp.args[0]
    assert (get.kind, get.value, get.pos) == ("get", "total", 6)
    assert get.args[0] == N("name", 0, [], "order")
    assert cmp.args[1] == N("lit", 15, [], Decimal("10"))
    assert (neg.kind, neg.args[0].value) == ("not", "x")


def test_arithmetic_binds_tighter_than_comparison_and_negative_literals_fold() -> None:
    tree = parse("-2 * a + b < 3")
    assert tree.kind == "cmp"
    plus = tree.args[0]
    assert (plus.kind, plus.value) == ("arith", "+")
    times = plus.args[0]
    assert (times.kind, times.value) == ("arith", "*")
    assert times.args[0] == N("lit", 0, [], Decimal("-2"))


def test_calls_lists_indexes_and_texts() -> None:
    tree = parse("len([1, 'a\\n', null])")
    assert (tree.kind, tree.value) == ("call", "len")
    (lst,) = tree.args
    assert lst.kind == "list"
    assert [a.value for a in lst.args] == [Decimal(1), "a\n", None]
    idx = parse('ref.customers["C-1"]')
    assert idx.kind == "index" and idx.args[1].value == "C-1"
    assert parse("f()").args == []
    assert parse("x not in [1]").kind == "notin"


@pytest.mark.parametrize("text, pos, message, hint", [
    ("a = 1", 2, "unexpected character '='", "compare with '==', not '='"),
    ("a && b", 2, "unexpected character '&'", "write 'and' / 'or'"),
    ("{a}", 0, "unexpected character '{'", "braces are for texts"),
    ("a +", 3, "the expression ends too early", None),
    ("(a", 0, "this '(' is never closed", "add ')'"),
])
def test_syntax_errors_name_the_place_and_a_hint(text: str, pos: int, message: str,
                                                  hint: str | None) -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        parse(text)
    exc = caught.value
    assert (exc.pos, exc.message) == (pos, message)
    if hint is None:
        assert exc.hint is None
    else:
        assert exc.hint is not None and exc.hint.startswith(hint)


def test_an_unexpected_token_says_what_was_expected() -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        parse("a b")
    assert caught.value.pos == 2
    assert caught.value.message == "unexpected 'b'"
    assert caught.value.hint is not None and caught.value.hint.startswith("expected ")


def test_length_and_depth_are_bounded() -> None:
    with pytest.raises(ExprSyntaxError, match="longer than"):
        parse("1" * (MAX_LENGTH + 1))
    assert parse("(" * 1999 + "1" + ")" * 1999) == N("lit", 1999, [], Decimal(1))
    with pytest.raises(ExprSyntaxError, match="too deeply nested"):  # a deep tree, not a crash
        parse("-" * (MAX_LENGTH - 1) + "x")
