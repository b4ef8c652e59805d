"""Issue 16 (h16p): the per-decision shortcuts answer what the long way answers.

- a table of hit policy first or unique answers in one generated function (`match_one`)
  exactly what `CompiledTable.match` answers: rows, outputs (literal or computed), defaults,
  the careful path, the unique-overlap error, and a test run's row counts;
- consecutive `default`/`set` targets under one object walk to it once, and a target that
  replaces that object is walked to again;
- an order whose text has few brackets and commas skips the depth walk, and the limits it
  guards still refuse an order with the same error and path;
- `matches` keeps its answers per (pattern, text) and a refused pattern is refused every time.
"""
from __future__ import annotations

import datetime
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordinance.engine.diagnostics import Span
from ordinance.engine.expressions import Expr
from ordinance.engine.functions import _MATCHED, _matches
from ordinance.engine.orders import (MAX_DEPTH, BadOrder, OrderTooLarge, parse_order)
from ordinance.engine.tables import (CompiledTable, build_fast, column_kinds,
                                     parse_cell_text)
from ordinance.engine.values import RuleError
from tests.engine.helpers import decide, write_ruleset

NUM_CELLS = ["-", ">= 100", "< 50", "[10..200)", "5", "null", "not(5, 7)", "!= 7"]
TEXT_CELLS = ["-", "wholesale", "retail", '"education", gov', "!= retail", "null", "< m"]
TEXTS = [None, "wholesale", "retail", "education", "gov", "other", "a", "z"]
NUMBERS = [None] + [Decimal(x) for x in (1, 5, 7, 10, 49, 50, 100, 150, 199, 200, 500)]


class _X:
    """A decision state as tables see it: `row_hits` (None outside a test run)."""

    def __init__(self, counting: bool = False) -> None:
        self.counted: list[list[int]] = []
        self.row_hits = (lambda table, hits: self.counted.append(list(hits))) \
            if counting else None


def _input(j: int) -> Expr:
    return Expr(f"v{j}", lambda S, X, j=j: S["values"][j])


def _table(rnd: random.Random) -> tuple[CompiledTable, list[str]]:
    ncols = rnd.randint(1, 3)
    kinds = [rnd.choice(["num", "text", "text"]) for _ in range(ncols)]
    rows = []
    for i in range(rnd.randint(0, 10)):
        cells = [parse_cell_text(rnd.choice(NUM_CELLS if k == "num" else TEXT_CELLS))
                 for k in kinds]
        # a literal output, or one computed from the inputs (Expr)
        out: Any = Decimal(i) if rnd.random() < 0.6 else \
            Expr("computed", lambda S, X, i=i: f"row {i} of {S['values']}")
        rows.append((cells, [out]))
    default = rnd.choice([None, [Decimal(-1)], [Expr("d", lambda S, X: "default")]])
    hit = rnd.choice(["first", "unique"])
    tests = [cells for cells, _ in rows]
    table = CompiledTable(hit, [_input(j) for j in range(ncols)], ["out"], rows, default,
                          column_kinds(tests, ncols), build_fast(tests, ncols, hit),
                          Span("t.yaml"))
    return table, kinds


def _answer(fn: Any, S: dict[str, Any], X: Any) -> Any:
    try:
        return ("rows", fn(S, X))
    except RuleError as exc:
        return ("error", exc.message)


def test_match_one_answers_what_match_answers() -> None:
    rnd = random.Random(1616)
    compared = errors = computed = 0
    for _ in range(300):
        table, kinds = _table(rnd)
        assert table.match_one != table.match  # first and unique are fused
        for _ in range(60):
            values = [rnd.choice(NUMBERS if k == "num" else TEXTS) for k in kinds]
            if rnd.random() < 0.05:  # an input of another kind: the careful path
                values[0] = True
            S = {"values": values}
            fused, plain = _answer(table.match_one, S, _X()), _answer(table.match, S, _X())
            assert fused == plain, (table.rows, table.hit, values)
            errors += fused[0] == "error"
            computed += fused[0] == "rows" and any(
                isinstance(r.get("out"), str) for r in fused[1])
            # a test run counting rows sees the same rows through either
            xa, xb = _X(counting=True), _X(counting=True)
            assert _answer(table.match_one, S, xa) == _answer(table.match, S, xb)
            assert xa.counted == xb.counted
            compared += 1
    assert errors > 20 and computed > 100  # the property is exercised, not vacuous


def test_other_hit_policies_keep_match() -> None:
    rows = [([parse_cell_text(">= 1")], [Decimal(1)]), ([parse_cell_text(">= 2")], [Decimal(2)])]
    tests = [cells for cells, _ in rows]
    table = CompiledTable("collect", [_input(0)], ["out"], rows, None,
                          column_kinds(tests, 1), build_fast(tests, 1, "collect"),
                          Span("t.yaml"))
    assert table.match_one == table.match
    assert table.match_one({"values": [Decimal(5)]}, _X()) == [{"out": Decimal(1)},
                                                               {"out": Decimal(2)}]


WALK_PACKS = {
    "d.yaml": """
        pack: d
        phase: defaulting
        rules:
          - id: shared-walk
            then:
              - default: {order.bill_to.name: '"N"', order.bill_to.city: '"C"'}
              - set: {order.bill_to.street: '"S1"', order.bill_to: order.alt_bill,
                      order.bill_to.zip: '"Z"', order.bill_to.city: '"C2"'}
          - id: per-line
            for_each: line
            then:
              - default: {line.note.a: line.sku, line.note.b: '"b"'}
          - id: through-a-text
            when: order.bad != null
            then:
              - set: {order.bad.x: 1, order.bad.y: 2}
        """,
}


def test_targets_under_one_object_share_a_walk_and_a_replaced_object_is_walked_again(
        tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "r", WALK_PACKS)
    out = decide(root, {"id": "O", "alt_bill": {"id": "B"},
                        "lines": [{"id": "1", "sku": "X", "quantity": 1, "unit_price": 1,
                                   "note": {"a": "kept"}},
                                  {"id": "2", "sku": "Y", "quantity": 1, "unit_price": 1}]})
    o = out["order"]
    # street went into the first object; zip and city into the one that replaced it
    assert o["bill_to"] == {"id": "B", "zip": "Z", "city": "C2"}
    assert [ln["note"] for ln in o["lines"]] == [{"a": "kept", "b": "b"}, {"a": "Y", "b": "b"}]
    assert out["errors"] == []
    bad = decide(root, {"id": "O", "bad": "text", "lines": []})
    assert [(e["rule"], e["code"]) for e in bad["errors"]] == [("d/through-a-text",
                                                                "RULE_ERROR")]
    assert "cannot set order.bad.x" in bad["errors"][0]["message"]


def _nested(depth: int) -> str:
    return '{"id": "O", "attributes": ' + '{"a": ' * depth + "1" + "}" * depth + "}"


def test_depth_limits_hold_with_and_without_the_walk() -> None:
    # the root is depth 0: MAX_DEPTH levels below it pass, one more is refused at its path
    assert parse_order(_nested(MAX_DEPTH - 1))["id"] == "O"
    with pytest.raises(BadOrder) as exc:
        parse_order(_nested(MAX_DEPTH + 1).encode())
    assert exc.value.path.startswith("$.attributes.a")
    assert "nested deeper than" in exc.value.message
    # a short text skips the walk; the same order as a long text walks, with the same answer
    small = '{"id": "O", "lines": [{"id": "1", "sku": "A", "quantity": "2"}]}'
    padded = small[:-1] + ', "pad": [' + ", ".join(["0"] * 40) + "]}"
    assert parse_order(small)["lines"][0]["quantity"] == Decimal(2)
    assert parse_order(padded, max_items=30 + 10)["lines"][0]["quantity"] == Decimal(2)


def test_a_long_list_is_refused_with_its_path() -> None:
    text = '{"id": "O", "attributes": {"tags": [' + ", ".join(['"t"'] * 6) + "]}}"
    assert parse_order(text, max_items=6)["attributes"]["tags"] == ["t"] * 6
    with pytest.raises(OrderTooLarge) as exc:
        parse_order(text.encode(), max_items=5)
    assert exc.value.path == "$.attributes.tags"
    # the order's own lines have their own limit, not max_items
    lines = ", ".join('{"sku": "A", "quantity": 1}' for _ in range(8))
    assert len(parse_order('{"id": "O", "lines": [' + lines + "]}", max_items=5)["lines"]) == 8


def test_a_bad_quantity_is_still_refused_at_its_line() -> None:
    with pytest.raises(BadOrder) as exc:
        parse_order('{"lines": [{"quantity": 1}, {"quantity": "1,5"}]}')
    assert exc.value.path == "$.lines[1].quantity"
    with pytest.raises(BadOrder) as exc:
        parse_order('{"lines": [{"quantity": 1}, 7]}')
    assert exc.value.path == "$.lines[1]"


def test_matches_answers_are_kept_and_refusals_are_not() -> None:
    assert _matches(None, "12345", "^[0-9]{5}$") is True
    assert _MATCHED[("^[0-9]{5}$", "12345")] is True
    assert _matches(None, "12345", "^[0-9]{5}$") is True
    assert _matches(None, "1234", "^[0-9]{5}$") is False
    assert _MATCHED[("^[0-9]{5}$", "1234")] is False
    long_text = "9" * 500  # too long to keep: answered, not kept
    assert _matches(None, long_text, "^9+$") is True
    assert ("^9+$", long_text) not in _MATCHED
    for _ in range(2):
        with pytest.raises(RuleError):
            _matches(None, "abc", "(a)\\1")  # a backreference: refused by RE2, every time
    assert not any(k[0] == "(a)\\1" for k in _MATCHED)


# -- expressions: the inline paths of comparisons, `in` and coalesce (issue 16) ---------------

_VALUES = [None, Decimal("1"), Decimal("1.0"), Decimal("2"), Decimal("-0"), "a", "b", "",
           "1", True, False, datetime.date(2026, 11, 20), datetime.date(2026, 1, 1),
           [Decimal("1")], [Decimal("1.00")], ["a"], {"k": Decimal("1")}, {"k": Decimal(1)},
           {}]


def _outcome(f: Any) -> Any:
    try:
        return ("value", f())
    except RuleError as exc:
        return ("error", exc.message)


def _eval(text: str, a: Any, b: Any) -> Any:
    from ordinance.engine.diagnostics import Diagnostics
    from ordinance.engine.expressions import Scope, compile_expr

    diags = Diagnostics()
    e = compile_expr(text, Span("x.yaml", 1, 1), Scope(frozenset({"order"}), frozenset()),
                     diags)
    assert e is not None, [d.render() for d in diags.items]
    return _outcome(lambda: e.fn({"order": {"a": a, "b": b}}, None))


@pytest.mark.parametrize("op,helper", [("==", "eq"), ("!=", "ne"), ("<", "lt"), ("<=", "le"),
                                       (">", "gt"), (">=", "ge")])
def test_comparing_two_computed_values_answers_what_the_helper_answers(op: str,
                                                                      helper: str) -> None:
    from ordinance.engine import values as V

    for a in _VALUES:
        for b in _VALUES:
            got = _eval(f"order.a {op} order.b", a, b)
            assert got == _outcome(lambda a=a, b=b: getattr(V, helper)(a, b)), (a, op, b)
            assert got[0] == "error" or got[1].__class__ is bool


def test_in_a_list_of_texts_answers_what_member_answers() -> None:
    from ordinance.engine import values as V

    for a in _VALUES:
        for text, helper in (('order.a in ["a", "1", ""]', V.member),
                             ('order.a not in ["a", "1", ""]', V.not_member)):
            got = _eval(text, a, None)
            assert got == _outcome(lambda a=a, helper=helper: helper(a, ["a", "1", ""])), \
                (text, a)


def test_coalesce_of_two_is_the_first_not_null_and_evaluates_both() -> None:
    for a in _VALUES:
        for b in _VALUES:
            assert _eval("coalesce(order.a, order.b)", a, b) == \
                ("value", a if a is not None else b)
        assert _eval("coalesce(order.a, 7)", a, None) == \
            ("value", a if a is not None else Decimal(7))
    # the second argument is evaluated even when the first is not null: its error stands
    got = _eval("coalesce(order.a, order.b + 1)", Decimal(1), "text")
    assert got[0] == "error" and "+" in got[1]


# -- actions keep what is known when the rule set compiles (issue 16) -------------------------

_KEPT = {
    "p.yaml": """
        pack: p
        phase: pricing
        rules:
          - id: fixed
            for_each: line
            then:
              - discount: {amount_per_unit: 0.10, reason: fixed promo}
          - id: computed
            for_each: line
            then:
              - discount: {percent: line.quantity, reason: "by {line.sku}"}
          - id: bare
            for_each: line
            then: [{discount: {amount: 1}}]
        """,
    "a.yaml": """
        pack: a
        phase: approval
        rules:
          - id: literal
            then: [{require_approval: {role: finance, level: 2, reason: big}}]
          - id: default-level
            then: [{require_approval: {role: "{order.channel}"}}]
          - id: computed
            then: [{require_approval: {role: ops, level: "len(order.lines)"}}]
        """,
}


def test_literal_values_levels_and_texts_are_kept_and_computed_ones_still_computed(
        tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "r", _KEPT)
    out = decide(root, {"id": "O", "currency": "EUR", "channel": "web", "lines": [
        {"id": "1", "sku": "S1", "quantity": 3, "unit_price": 10}]})
    adjustments = out["pricing"]["lines"][0]["adjustments"]
    assert [(a["rule"], a["amount"], a["reason"]) for a in adjustments] == [
        ("p/fixed", "-0.30", "fixed promo"), ("p/computed", "-0.89", "by S1"),
        ("p/bare", "-1.00", "")]
    assert [(a["rule"], a["role"], a["level"], a["reason"]) for a in out["approvals"]] == [
        ("a/literal", "finance", 2, "big"), ("a/default-level", "web", 1, None),
        ("a/computed", "ops", 1, None)]


@pytest.mark.parametrize("level", ["0", "1.5", "-2", "'\"two\"'"])
def test_an_invalid_literal_level_is_still_a_rule_error_naming_it(tmp_path: Path,
                                                                  level: str) -> None:
    root = write_ruleset(tmp_path / "r", {"a.yaml": f"""
        pack: a
        phase: approval
        rules:
          - id: bad
            then: [{{require_approval: {{role: finance, level: {level}}}}}]
        """})
    out = decide(root, {"id": "O", "currency": "EUR", "lines": [
        {"id": "1", "sku": "S1", "quantity": 1, "unit_price": 10}]})
    assert [(e["rule"], e["code"]) for e in out["errors"]] == [("a/bad", "RULE_ERROR")]
    assert out["errors"][0]["message"].startswith("approval level must be a whole number")


def test_a_probe_reads_line_pricing_of_an_unpriced_decision_as_null(tmp_path: Path) -> None:
    """Found by the remedies property test (hypothesis): probing a rule that reads
    `line.pricing` on a decision rejected before pricing raised KeyError (a crash, not a rule
    error); it reads null, as the evaluation does."""
    from ordinance.engine import load, validate_order
    from ordinance.engine.probe import Probe, tree_of

    root = write_ruleset(tmp_path / "r", {"v.yaml": """
        pack: v
        phase: validation
        rules:
          - id: no-lines-of-zero
            for_each: line
            when: line.quantity == 0
            then: [{reject: {code: ZERO, message: zero}}]
        """, "a.yaml": """
        pack: a
        phase: approval
        rules:
          - id: big-line
            for_each: line
            when: line.pricing.net > 100
            then: [{require_approval: {role: finance}}]
        """})
    rs = load(root)
    decision = rs.evaluate(validate_order({"id": "O", "currency": "EUR", "lines": [
        {"id": "1", "sku": "S", "quantity": 0, "unit_price": 10}]}),
        as_of=datetime.date(2026, 11, 20))
    assert decision.status == "rejected" and decision.pricing is None
    probe = Probe(rs, decision)
    assert probe.bind(0)
    assert probe.value(tree_of("line.pricing.net")) == (True, None)
    assert probe.value(tree_of("line.pricing.net > 100")) == (True, False)


# -- common paths: read once per evaluation, the same outcome (issue 16) ----------------------

_COMMON = [
    "order.a.b != null and order.a.b > 1",
    "order.a.b > 1 or order.a.b == null",
    "order.c == 1 or (order.a.b == 1 and order.a.b != order.c)",
    'order.a.b in ["x", "y"] and order.a.b != "x"',
    'order.c in ["x", order.a.b] and order.a.b == order.c',
    "coalesce(order.a.b, order.c) == order.a.b",
    "sum(order.lines, it.q * order.k) > order.k and order.k > 0",
    "any(order.lines, it.q == order.a.b) or order.a.b == order.c",
    "not (order.a.b == order.c) and order.c == order.a.b",
    'order.a["b"] == order.a.b and order.a.b != null',
    "order.a.b + order.a.b",
    "len(order.lines) > 0 and order.lines[0].q == order.lines[0].q + 0",
    "(order.c > 0 and order.a.b > 0) or order.a.b > order.c",
]
_A = [None, {}, {"b": None}, {"b": Decimal(1)}, {"b": Decimal(2)}, {"b": "x"}, {"b": ["x"]},
      "text"]
_C = [None, Decimal(1), "x"]
_LINES = [[], [{"q": Decimal(1)}], [{"q": "a"}], [{"q": Decimal(2)}, {"q": Decimal(1)}]]


@pytest.mark.parametrize("text", _COMMON)
def test_an_expression_with_common_paths_answers_what_it_answers_without_them(
        text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from ordinance.engine.diagnostics import Diagnostics
    from ordinance.engine.expressions import Scope, _Compiler, compile_expr

    def compiled(condition: bool) -> Any:
        diags = Diagnostics()
        e = compile_expr(text, Span("x.yaml", 1, 1), Scope(frozenset({"order"}), frozenset()),
                         diags, condition=condition)
        assert e is not None, [d.render() for d in diags.items]
        return e

    with_common = [compiled(False), compiled(True)]
    assert any(":=" in e.fn.__dict__["src"][0] and "t" in e.fn.__dict__["src"][0]
               for e in with_common)
    monkeypatch.setattr(_Compiler, "common", lambda self, roots: None)
    without = [compiled(False), compiled(True)]
    for a in _A:
        for c in _C:
            for k in (Decimal(1), None):
                for lines in _LINES:
                    S = {"order": {"a": a, "c": c, "k": k, "lines": lines}}
                    for fast, slow in zip(with_common, without):
                        got = _outcome(lambda f=fast, S=S: f.fn(S, _Budget()))
                        want = _outcome(lambda f=slow, S=S: f.fn(S, _Budget()))
                        assert got == want, (text, S)


class _Budget:
    """The state as metered functions see it (sum, any: budget steps)."""

    steps = 0
    max_steps = 10**6


@pytest.mark.parametrize("extra,expected", [
    ({"kind": "de"}, {"kind": "de", "zone": "EU"}),  # the object is there
    (None, {"zone": "EU"}),                          # made on the way
    ("a text", None),                                # not an object: a rule error
])
def test_a_target_one_object_down_is_read_inline_made_or_refused(
        tmp_path: Path, extra: Any, expected: Any) -> None:
    root = write_ruleset(tmp_path / "r", {"d.yaml": """
        pack: d
        phase: defaulting
        rules:
          - id: zone
            then: [{default: {order.extra.zone: '"EU"'}}]
        """})
    order: dict[str, Any] = {"id": "O", "lines": [{"id": "1", "sku": "S", "quantity": 1,
                                                    "unit_price": 1}]}
    if extra is not None:
        order["extra"] = extra
    out = decide(root, order)
    if expected is None:
        assert [(e["rule"], e["message"]) for e in out["errors"]] == [
            ("d/zone", "cannot set order.extra.zone: 'extra' is 'a text', not an object")]
    else:
        assert out["order"]["extra"] == expected and out["errors"] == []


def test_an_expression_nested_just_below_the_limit_is_called_where_written_in_cannot_compile(
        tmp_path: Path) -> None:
    """An expression that compiles on its own (198 nested additions) but not inside a pack's
    or a table's code, whose brackets around it pass Python's limit of nested brackets: the
    pack and the table call it instead (inline.compiled), and it decides as before."""
    deep = "(1 + " * 198 + "1" + ")" * 198
    root = write_ruleset(tmp_path / "r", {"v.yaml": f"""
        pack: v
        phase: validation
        rules:
          - id: deep
            when: 'order.a == {deep}'
            then: [{{warn: {{code: DEEP, message: deep}}}}]
          - id: deep-table
            table:
              hit: first
              inputs: ['{deep}']
              outputs: [code]
              rows:
                - ["199", DEEP2]
            then: [{{warn: {{code: "{{code}}", message: table}}}}]
        """, "d.yaml": f"""
        pack: d
        phase: defaulting
        rules:
          - id: deep-default
            then: [{{default: {{order.b: '{deep}'}}}}]
        """})
    out = decide(root, {"id": "O", "a": 199, "lines": [
        {"id": "1", "sku": "S", "quantity": 1, "unit_price": 1}]})
    assert [v["code"] for v in out["violations"]] == ["DEEP", "DEEP2"]
    assert str(out["order"]["b"]) == "199"
    assert out["errors"] == []
