"""Hostile rule sets and large orders: the evaluation budget, RE2 regular expressions, the
limits an order is read with, and the quadratic-rule warning of `check` (issue 12).

Nothing here times anything: work is asserted through the budget's step counts
(engine/budget.py), which are the same on every machine.
"""
from __future__ import annotations

import datetime
import shutil
from pathlib import Path
from typing import Any

import pytest

from ordinance.engine import (DEFAULT_MAX_STEPS, MAX_ITEMS, MAX_LINES, BadOrder, OrderTooLarge,
                              check, evaluate_pair, load, parse_order, validate_order)
from ordinance.engine.functions import compile_regex

ROOT = Path(__file__).resolve().parents[2]
ACME = ROOT / "rulesets" / "acme"
AS_OF = datetime.date(2026, 11, 20)


def write_ruleset(root: Path, pack: str) -> Path:
    (root / "packs").mkdir(parents=True)
    (root / "ruleset.yaml").write_text("ruleset: budgets\nversion: '1'\n")
    (root / "packs" / "p.yaml").write_text(pack)
    return root


def lines(n: int, skus: list[str]) -> list[dict[str, Any]]:
    return [{"id": str(i + 1), "sku": skus[i % len(skus)], "quantity": 1, "unit_price": 1}
            for i in range(n)]


# --- large orders: steps grow linearly with the lines -----------------------------------------

@pytest.fixture(scope="module")
def acme() -> Any:
    return load(ACME)


def acme_order(rs: Any, n: int) -> dict[str, Any]:
    skus = [r["sku"] for r in rs.model.tables["products"].rows]
    return {"id": "BIG", "order_date": "2026-11-20", "channel": "edi",
            "customer": {"id": "C-00041"}, "payment": {"method": "invoice"},
            "lines": lines(n, skus)}


@pytest.mark.slow
def test_a_20000_line_order_costs_steps_linear_in_its_lines(acme: Any) -> None:
    small = acme.evaluate(validate_order(acme_order(acme, 1000)), AS_OF)
    large = acme.evaluate(validate_order(acme_order(acme, 20_000), max_lines=20_000), AS_OF)
    assert [e for e in large.errors if e["code"] == "BUDGET_EXCEEDED"] == []
    assert large.status == "rejected"  # the EDI channel takes 500 lines (TOO_MANY_LINES)
    # twenty times the lines, at most twenty times the steps (plus the order-level rules):
    # the duplicate-SKU check counts the SKUs once per order (count_by), not once per line
    assert small.steps > 1000
    assert large.steps <= 20 * small.steps + 200
    assert large.steps < DEFAULT_MAX_STEPS / 10


def test_the_old_duplicate_sku_rule_was_quadratic_in_steps(acme: Any, tmp_path: Path) -> None:
    old = tmp_path / "acme"
    shutil.copytree(ACME, old, ignore=shutil.ignore_patterns("tests"))
    pack = old / "packs" / "23-order-lines.yaml"
    text = pack.read_text()
    new_when = "count_by(order.lines, it.sku)[text(line.sku)] > 1"
    assert new_when in text
    pack.write_text(text.replace(new_when, "count(order.lines, it.sku == line.sku) > 1"))
    rs = load(old)
    steps = [rs.evaluate(validate_order(acme_order(acme, n)), AS_OF).steps for n in (500, 1000)]
    linear = [acme.evaluate(validate_order(acme_order(acme, n)), AS_OF).steps
              for n in (500, 1000)]
    assert steps[1] - steps[0] > 3 * (steps[0] - linear[0])  # n squared: 4x for twice the lines
    assert linear[1] - linear[0] < 1.1 * (linear[0] - 0)


# --- the budget ends a decision with a located rule error ------------------------------------

QUADRATIC_PACK = """\
pack: p
phase: validation
rules:
  - id: dup
    for_each: line
    when: count(order.lines, it.sku == line.sku) > 1
    then:
      - warn: {code: DUP, message: "repeated", field: line.sku}
  - id: after
    then:
      - warn: {code: AFTER, message: "ran"}
"""


def test_the_budget_error_names_the_rule_and_its_place(tmp_path: Path) -> None:
    rs = load(write_ruleset(tmp_path / "rs", QUADRATIC_PACK), max_steps=10_000)
    d = rs.evaluate(validate_order({"id": "O", "lines": lines(200, ["A", "B"])}), AS_OF)
    assert d.status == "rejected"
    assert len(d.errors) == 1
    err = d.errors[0]
    assert (err["rule"], err["phase"], err["code"]) == ("p/dup", "validation", "BUDGET_EXCEEDED")
    assert err["where"] == "packs/p.yaml:4:5"
    assert err["message"] == (
        "the decision needs more than its evaluation budget of 10,000 steps (rule "
        "evaluations, lines, list elements walked); it was stopped here")
    # the pack charges its rules when it starts (200 lines + 1), then each line's count walks
    # 200 elements: 48 lines fit, the 49th runs out
    assert err["line_id"] == "49"
    assert "p/after" not in d.fired  # the decision ended there
    assert d.steps == 201 + 49 * 200
    assert d.pricing is None and d.sourcing is None


def test_a_pack_whose_rules_pass_the_budget_does_not_start(tmp_path: Path) -> None:
    pack = "pack: p\nphase: validation\nrules:\n" + "".join(
        f"  - id: r{i}\n    then:\n      - warn: {{code: W{i}, message: w}}\n" for i in range(5))
    path = write_ruleset(tmp_path / "rs", pack)
    assert load(path, max_steps=5).evaluate({"id": "O"}, AS_OF).fired == [
        "p/r0", "p/r1", "p/r2", "p/r3", "p/r4"]
    rs = load(path, max_steps=3)
    d = rs.evaluate({"id": "O"}, AS_OF)
    assert d.fired == []  # the pack charges its five rules when it starts: the budget is 3
    assert [(e["rule"], e["code"]) for e in d.errors] == [("p/r3", "BUDGET_EXCEEDED")]
    assert d.errors[0]["where"] == "packs/p.yaml:13:5"  # r3
    assert "line_id" not in d.errors[0]


def test_the_budget_stops_pricing_and_leaves_no_half_priced_order(tmp_path: Path) -> None:
    pack = """\
pack: p
phase: pricing
rules:
  - id: price
    for_each: line
    then:
      - list_price: 10
  - id: costly
    for_each: line
    when: sum(order.lines, it.quantity) > 0
    then:
      - discount: {percent: 1, reason: r}
"""
    rs = load(write_ruleset(tmp_path / "rs", pack), max_steps=500)
    d = rs.evaluate(validate_order({"id": "O", "lines": lines(40, ["A"])}), AS_OF)
    assert [(e["rule"], e["code"]) for e in d.errors] == [("p/costly", "BUDGET_EXCEEDED")]
    assert d.status == "rejected" and d.pricing is None
    assert d.to_json()["pricing"] is None


def test_evaluate_pair_gives_the_same_budget_decisions(tmp_path: Path) -> None:
    path = write_ruleset(tmp_path / "rs", QUADRATIC_PACK)
    a, b = load(path, max_steps=10_000), load(path, max_steps=10_000)
    for n in (20, 99, 100, 101, 200):
        order = validate_order({"id": "O", "lines": lines(n, ["A", "B"])})
        pair = evaluate_pair(a, b, order, AS_OF)
        alone = (a.evaluate(order, AS_OF), b.evaluate(order, AS_OF))
        for p, s in zip(pair, alone):
            assert p.to_json() == s.to_json() and p.steps == s.steps
    c = load(path, max_steps=100_000)  # another budget: decided apart, each its own
    order = validate_order({"id": "O", "lines": lines(200, ["A", "B"])})
    da, dc = evaluate_pair(a, c, order, AS_OF)
    assert [e["code"] for e in da.errors] == ["BUDGET_EXCEEDED"] and dc.errors == []


# --- count_by: computed once per decision, looked up per line ---------------------------------

COUNT_BY_PACK = """\
pack: p
phase: validation
rules:
  - id: dup
    for_each: line
    when: line.sku != null and count_by(order.lines, it.sku)[text(line.sku)] > 1
    then:
      - warn: {code: DUP, message: "{line.sku} repeated", field: line.sku}
  - id: smaller
    for_each: line
    when: count_by(order.lines, text(it.quantity > line.quantity))["true"] > 0
    then:
      - warn: {code: SMALLER, message: "{line.id}", field: line.quantity}
"""


def test_count_by_counts_values_as_text_and_skips_nulls(tmp_path: Path) -> None:
    rs = load(write_ruleset(tmp_path / "rs", COUNT_BY_PACK))
    order = {"id": "O", "lines": [{"id": "1", "sku": "A", "quantity": 1},
                                  {"id": "2", "sku": None, "quantity": 2},
                                  {"id": "3", "sku": "A", "quantity": 3},
                                  {"id": "4", "quantity": 3},
                                  {"id": "5", "sku": 7, "quantity": 1},
                                  {"id": "6", "sku": "7", "quantity": 2}]}
    d = rs.evaluate(validate_order(order), AS_OF)
    dup = [v["field"] for v in d.violations if v["code"] == "DUP"]
    assert dup == ["order.lines[0].sku", "order.lines[2].sku", "order.lines[4].sku",
                   "order.lines[5].sku"]
    # reading `line`, the second count_by is computed per line (a result per line)
    assert [v["message"] for v in d.violations if v["code"] == "SMALLER"] == ["1", "2", "5", "6"]


def test_count_by_over_the_lines_costs_one_walk_per_decision(tmp_path: Path) -> None:
    pack = COUNT_BY_PACK.split("  - id: smaller")[0]
    rs = load(write_ruleset(tmp_path / "rs", pack))
    steps = [rs.evaluate(validate_order({"id": "O", "lines": lines(n, ["A", "B", "C"])}),
                         AS_OF).steps for n in (1000, 2000)]
    assert steps == [1000 + 1000, 2000 + 2000]  # a step per line, and one walk of the lines


# --- check: quadratic rules are a warning with a hint ----------------------------------------

def test_an_aggregate_over_the_lines_in_a_per_line_rule_is_a_warning(tmp_path: Path) -> None:
    diags = check(write_ruleset(tmp_path / "rs", QUADRATIC_PACK))
    assert [d.render() for d in diags] == [
        "packs/p.yaml:6:11: warning: count() over order.lines computes over all lines once "
        "per line: quadratic in the number of lines\n"
        "        when: count(order.lines, it.sku == line.sku) > 1\n"
        "              ^\n"
        "    hint: test it once in an order-level rule (no for_each), or look the line up in "
        "count_by(order.lines, ...), computed once per decision"]
    assert diags[0].code.value == "QUADRATIC" and not diags[0].is_error


@pytest.mark.parametrize("when,warned", [
    ("sum(order.lines, it.quantity) > 10", True),
    ("any(coalesce(order.lines, []), it.sku == line.sku)", True),
    ("count_by(order.lines, it.sku == line.sku)['true'] > 1", True),
    ("count_by(order.lines, it.sku)[text(line.sku)] > 1", False),
    ("len(order.lines) > 10", False),
    ("sum(line.parts, it.quantity) > 10", False),
    ("sum(order.lines[0].parts, it.quantity) > 10", False),
])
def test_which_per_line_aggregates_are_quadratic(tmp_path: Path, when: str,
                                                 warned: bool) -> None:
    pack = QUADRATIC_PACK.replace("count(order.lines, it.sku == line.sku) > 1", f'"{when}"')
    diags = check(write_ruleset(tmp_path / "rs", pack))
    assert not [d for d in diags if d.is_error]
    assert [d.code.value for d in diags] == (["QUADRATIC"] if warned else [])


def test_an_aggregate_over_the_lines_inside_another_is_a_warning(tmp_path: Path) -> None:
    pack = """\
pack: p
phase: validation
rules:
  - id: pairs
    when: sum(order.lines, count(order.lines, it.sku == 'A')) > 1
    then:
      - warn: {code: W, message: w}
"""
    diags = check(write_ruleset(tmp_path / "rs", pack))
    assert [d.render(with_source=False).splitlines()[0] for d in diags] == [
        "packs/p.yaml:5:28: warning: count() over order.lines computes over all lines once per "
        "element of the outer list: quadratic in the number of lines"]


def test_the_shipped_rule_sets_have_no_quadratic_rules() -> None:
    for name in ("acme", "acme-candidate"):
        assert [d.render() for d in check(ROOT / "rulesets" / name)
                if d.code.value == "QUADRATIC"] == []


# --- regular expressions: RE2, linear time ----------------------------------------------------

def regex_pack(when: str) -> str:
    return ("pack: p\nphase: validation\nrules:\n  - id: r\n"
            f"    when: {when}\n    then:\n      - reject: {{code: R, message: r}}\n")


@pytest.mark.parametrize("pattern,message,hint", [
    (r"^(\\w+)-\\1$", "regular expression uses a backreference (\\1, (?P=name)), which RE2 "
     "does not support", "RE2 runs in linear time and has no backreferences: compare the two "
     "parts with == in the expression instead"),
    (r"^(?!SO-)", "regular expression uses a lookahead or lookbehind ((?=...), (?!...), "
     "(?<=...), (?<!...)), which RE2 does not support", "RE2 has no lookaround: match the text "
     "with one pattern and test the other condition with a second matches(...) or not "
     "matches(...)"),
    (r"^(?>a+)$", "regular expression uses an atomic group or a possessive quantifier, which "
     "RE2 does not support", "RE2 never backtracks, so (?>...) and *+ ++ ?+ are not needed: "
     "drop them"),
])
def test_a_pattern_re2_cannot_run_is_refused_by_check(tmp_path: Path, pattern: str,
                                                      message: str, hint: str) -> None:
    diags = check(write_ruleset(tmp_path / "rs", regex_pack(f"'matches(order.id, \"{pattern}\")'")))
    assert [(str(d.span), d.severity, d.code.value, d.message, d.hint) for d in diags] == [
        ("packs/p.yaml:5:30", "error", "UNSUPPORTED_REGEX", message, hint)]


def test_a_catastrophic_pattern_is_accepted_and_answered_by_re2(tmp_path: Path) -> None:
    path = write_ruleset(tmp_path / "rs", regex_pack("'matches(order.id, \"^(a+)+$\")'"))
    assert check(path) == []
    rx = compile_regex("^(a+)+$")
    assert type(rx).__module__ == "re2"  # RE2 runs it: no backtracking, whatever the text
    rs = load(path)
    for oid, status in (("a" * 28 + "!", "accepted"), ("a" * 5000 + "!", "accepted"),
                        ("aaa", "rejected")):
        assert rs.evaluate({"id": oid}, AS_OF).status == status


def test_a_computed_pattern_re2_cannot_run_is_a_located_rule_error(tmp_path: Path) -> None:
    rs = load(write_ruleset(tmp_path / "rs", regex_pack("matches(order.id, order.pattern)")))
    d = rs.evaluate({"id": "ab", "pattern": "(?<=a)b"}, AS_OF)
    assert [(e["rule"], e["code"]) for e in d.errors] == [("p/r", "UNSUPPORTED_REGEX")]
    assert d.errors[0]["message"].startswith("matches(): regular expression uses a lookahead")
    assert rs.evaluate({"id": "ab", "pattern": "^a"}, AS_OF).status == "rejected"
    assert rs.evaluate({"id": "ab", "pattern": "^b"}, AS_OF).status == "accepted"


@pytest.mark.parametrize("pattern,code", [
    ("x" * 301, "LIMIT"),
    (r"[\\p{L}\\p{N}]{30}", "LIMIT"),
    ("a{1001}", "UNSUPPORTED_REGEX"),
    ("(", "BAD_VALUE"),
])
def test_pattern_length_program_size_and_syntax_are_checked(tmp_path: Path, pattern: str,
                                                            code: str) -> None:
    diags = check(write_ruleset(tmp_path / "rs", regex_pack(f"'matches(order.id, \"{pattern}\")'")))
    assert [(d.code.value, d.severity) for d in diags] == [(code, "error")]


@pytest.mark.parametrize("text,pattern,expected", [
    ("SO-1001", "^SO-[0-9]+$", True),
    ("x SO-1 y", "SO-[0-9]", True),  # anywhere in the text
    ("١٢٣", r"^\d+$", False),  # \d is ASCII in RE2 (Python's re took Arabic-Indic digits)
    ("12345\n", r"^\d{5}$", False),  # $ is the end of the text (re also matched before \n)
    ("Straße", "(?i)STRASSE", False),
    ("ÉCOLE", "(?i)^école$", True),  # case folding is Unicode
    ("日本", "^..$", True),  # . is one character, not one byte
])
def test_matches_semantics_under_re2(text: str, pattern: str, expected: bool) -> None:
    assert (compile_regex(pattern).search(text) is not None) is expected


def test_the_shipped_patterns_all_compile_under_re2() -> None:
    for name in ("acme", "acme-candidate"):
        rows = load(ROOT / "rulesets" / name).model.tables["tax_rates"].rows
        patterns = [r["vat_id_pattern"] for r in rows if r.get("vat_id_pattern")]
        assert len(patterns) > 30
        for p in patterns:
            compile_regex(p)


# --- limits an order is read with -------------------------------------------------------------

def test_an_order_over_the_line_limit_is_refused_naming_it() -> None:
    order = {"id": "O", "lines": lines(MAX_LINES + 1, ["A"])}
    with pytest.raises(OrderTooLarge) as exc:
        validate_order(order)
    assert (exc.value.path, exc.value.limit, exc.value.maximum) == ("$.lines", "max_lines",
                                                                     MAX_LINES)
    assert str(exc.value) == "$.lines: 10,001 lines: more than the 10,000 allowed (max_lines)"
    assert isinstance(exc.value, BadOrder)
    assert len(validate_order({"lines": lines(MAX_LINES, ["A"])})["lines"]) == MAX_LINES
    with pytest.raises(OrderTooLarge, match=r"^\$\.lines: 6 lines: more than the 5 allowed"):
        parse_order('{"lines": [{}, {}, {}, {}, {}, {}]}', max_lines=5)


@pytest.mark.parametrize("fresh", [False, True])
def test_a_list_over_the_item_limit_is_refused_at_its_path(fresh: bool) -> None:
    import json
    order = {"id": "O", "lines": [{"id": "1", "serials": list(range(MAX_ITEMS + 1))}]}
    with pytest.raises(OrderTooLarge) as exc:
        if fresh:
            parse_order(json.dumps(order))
        else:
            validate_order(order)
    assert str(exc.value) == ("$.lines[0].serials: 10,001 items in one list: more than the "
                              "10,000 allowed (max_items)")
    assert exc.value.limit == "max_items"
    small = {"attributes": {"tags": ["a", "b", "c"]}}
    with pytest.raises(OrderTooLarge, match=r"^\$\.attributes\.tags: 3 items"):
        validate_order(small, max_items=2)
    assert validate_order(small, max_items=3) == small
