"""Reachability (issue 15): contradictory conditions, rules after an unconditional stop, and rules
shadowed by a higher-priority rule that fires whenever they would and stops."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ordinance.engine import check
from ordinance.engine.check_reach import Atom, contradiction, implies
from tests.engine.helpers import write_ruleset


def _found(tmp_path: Path, rules: str, phase: str = "pricing") -> list[tuple[str, str, str | None]]:
    rs = write_ruleset(tmp_path, {"p.yaml": f"pack: p\nphase: {phase}\nrules:\n{rules}"})
    return [(str(d.span), d.message, d.hint) for d in check(rs)]


def test_an_interval_that_is_empty(tmp_path: Path) -> None:
    found = _found(tmp_path, "  - id: bulk\n    for_each: line\n"
                   "    when: line.quantity > 10 and line.quantity < 5\n"
                   "    then: [{discount: {percent: 5}}]\n")
    assert found == [("packs/p.yaml:6:11", "rule 'bulk' can never fire: line.quantity cannot be "
                      "> 10 and < 5 at once", "check the comparisons: one of them is likely "
                      "reversed, or a bound mistyped")]


def test_a_set_and_an_equality_that_exclude_each_other(tmp_path: Path) -> None:
    found = _found(tmp_path, "  - id: web\n    when: order.channel == \"web\" and order.x > 1 "
                   "and order.channel in [\"edi\", \"store\"]\n"
                   "    then: [{discount: {percent: 5}}]\n")
    assert [f[:2] for f in found] == [("packs/p.yaml:5:11", "rule 'web' can never fire: "
                                       "order.channel cannot be == 'web' and in ['edi', 'store'] "
                                       "at once")]


def test_conditions_that_can_hold_are_quiet(tmp_path: Path) -> None:
    assert _found(tmp_path, "  - id: band\n    for_each: line\n"
                  "    when: line.quantity >= 5 and line.quantity < 10 and line.quantity != 7\n"
                  "    then: [{discount: {percent: 5}}]\n"
                  "  - id: b\n    when: order.channel != \"web\" and order.channel != \"edi\"\n"
                  "    then: [{discount: {percent: 1}}]\n") == []


def test_rules_after_an_unconditional_stop(tmp_path: Path) -> None:
    found = _found(tmp_path, "  - id: all\n    stop: true\n    then: [{discount: {percent: 5}}]\n"
                   "  - id: later\n    when: order.x > 1\n    then: [{discount: {percent: 1}}]\n")
    assert found == [("packs/p.yaml:7:5", "rule 'later' never runs: it comes after rule 'all', "
                      "which always fires and stops the pack",
                      "give 'all' a condition, remove its stop, or give 'later' a higher "
                      "priority")]


def test_a_rule_shadowed_by_a_higher_priority_that_fires_whenever_it_would(tmp_path: Path) -> None:
    found = _found(tmp_path, "  - id: big\n    when: order.total > 200 and order.c == \"x\"\n"
                   "    then: [{discount: {percent: 1}}]\n"
                   "  - id: over\n    priority: 10\n    stop: true\n    when: order.total > 100\n"
                   "    then: [{discount: {percent: 5}}]\n")
    assert [f[:2] for f in found] == [("packs/p.yaml:4:5", "rule 'big' never runs: rule 'over' "
                                       "has a higher priority (10), fires whenever it would, and "
                                       "stops the pack")]


def test_a_narrower_stopping_rule_shadows_nothing(tmp_path: Path) -> None:
    assert _found(tmp_path, "  - id: big\n    when: order.total > 100\n"
                  "    then: [{discount: {percent: 1}}]\n"
                  "  - id: over\n    priority: 10\n    stop: true\n    when: order.total > 200\n"
                  "    then: [{discount: {percent: 5}}]\n") == []


def test_a_defect_in_one_check_is_one_warning_not_a_traceback(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ordinance.engine.checks as checks

    def broken(c: object) -> None:
        raise KeyError("boom")
    monkeypatch.setattr(checks, "check_reach", broken)
    found = _found(tmp_path, "  - id: bulk\n    for_each: line\n"
                   "    when: line.quantity > 10 and line.quantity < 5\n"
                   "    then: [{discount: {percent: 5}}]\n")
    assert [f[:2] for f in found] == [("ruleset.yaml:1:1", "the reachability checks stopped "
                                       "early: KeyError: 'boom'")]


# --- the interval and set reasoning is exact: compared with a dense grid ---------------------

_GRID = [None] + [Decimal(n) / 2 for n in range(-2, 13)]  # -1 .. 6 by halves
_atom = st.one_of(
    st.builds(Atom, st.just("x"), st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
              st.integers(0, 5).map(Decimal)),
    st.builds(Atom, st.just("x"), st.sampled_from(["in", "notin"]),
              st.lists(st.integers(0, 5).map(Decimal), max_size=3).map(tuple)))


@settings(max_examples=300, deadline=None)
@given(st.lists(_atom, min_size=1, max_size=4))
def test_contradiction_is_exact(atoms: list[Atom]) -> None:
    satisfiable = any(all(a.holds(v) for a in atoms) for v in _GRID)
    assert (contradiction(atoms) is None) == satisfiable


@settings(max_examples=300, deadline=None)
@given(st.lists(_atom, min_size=1, max_size=3), st.lists(_atom, min_size=1, max_size=3))
def test_implication_is_exact(later: list[Atom], earlier: list[Atom]) -> None:
    expected = all(all(a.holds(v) for a in earlier) for v in _GRID
                   if all(a.holds(v) for a in later))
    assert implies((later, set()), (earlier, set())) == expected
