"""Coverage per table row (engine/testing.py `run_tests(..., rows=True)`): which rows of each
decision table matched across the analysts' tests, per line for a per-line table, the default
counted apart; the decisions are the ones `evaluate` gives, byte for byte, and the shared
compiled rule set is left as it was."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ordinance.engine import load
from ordinance.engine.codec import dumps
from ordinance.engine.testing import run_tests
from tests.engine.helpers import TODAY, write_ruleset

EXE = str(Path(sys.executable).with_name("ordinance"))

PACKS = {
    "prices.yaml": """
        pack: prices
        phase: pricing
        rules:
          - id: by-quantity
            for_each: line
            table:
              hit: first
              inputs: [line.quantity]
              outputs: [pct]
              rows:
                - [">= 100", 20]
                - [">= 10", 10]
                - [">= 5", 5]
                - ["< 0", 99]
              default: [0]
            then:
              - discount: {percent: pct, reason: volume}
        """,
    "checks.yaml": """
        pack: checks
        phase: validation
        rules:
          - id: by-channel
            table:
              hit: collect
              inputs: [order.channel, order.currency]
              outputs: [code]
              rows:
                - [web, -, WEB]
                - [-, EUR, EURO]
                - [shop, USD, SHOP]
            then:
              - warn: {code: "{code}", message: "channel {order.channel}"}
        """,
}

CASES = """\
- name: two lines, rows 2 and 1 of the per-line table
  order: {id: A, channel: web, currency: USD, lines: [{id: "1", sku: X, quantity: 12, unit_price: 1}, {id: "2", sku: X, quantity: 150, unit_price: 1}]}
  expect: {status: accepted}
- name: one line under five, the default
  order: {id: B, channel: web, currency: EUR, lines: [{id: "1", sku: X, quantity: 2, unit_price: 1}]}
  expect: {status: accepted}
- name: twelve again, no channel
  order: {id: C, currency: USD, lines: [{id: "1", sku: X, quantity: 12, unit_price: 1}]}
  expect: {status: accepted}
"""


def _ruleset(tmp_path: Path) -> Path:
    rs = write_ruleset(tmp_path / "r", PACKS)
    (rs / "tests").mkdir()
    (rs / "tests" / "t.yaml").write_text(CASES)
    return rs


def test_rows_hit_and_never_hit_per_table(tmp_path: Path) -> None:
    root = _ruleset(tmp_path)
    report = run_tests(load(root), root, TODAY, rows=True)
    assert [c.passed for c in report.cases] == [True, True, True]
    assert report.tables is not None
    chan, qty = report.tables  # in plan order: validation, then pricing
    assert (qty.rule, qty.hit_policy, qty.has_default) == ("prices/by-quantity", "first", True)
    assert qty.hits == [1, 2, 0, 0]          # 150; 12 and 12 (first: only the first match)
    assert (qty.rows_hit, qty.never_hit) == ([1, 2], [3, 4])
    assert (qty.default, qty.evaluations) == (1, 4)  # one line of 2; four lines in all
    assert (qty.span.file, qty.span.line) == ("packs/prices.yaml", 7)  # the table's first key
    assert (chan.rule, chan.hit_policy, chan.has_default) == ("checks/by-channel", "collect",
                                                              False)
    assert chan.hits == [2, 1, 0] and chan.never_hit == [3]
    assert (chan.default, chan.evaluations) == (0, 3)


def test_the_decisions_are_the_same_and_the_rule_set_is_untouched(tmp_path: Path) -> None:
    root = _ruleset(tmp_path)
    rs = load(root)
    matchers = [r.table.matcher for _, packs in rs.plan for p in packs for r in p.rules
                if r.table is not None]
    plain = run_tests(rs, root, TODAY)
    rows = run_tests(rs, root, TODAY, rows=True)
    assert plain.tables is None
    assert [dumps(c.decision) for c in plain.cases] == [dumps(c.decision) for c in rows.cases]
    assert plain.fired == rows.fired
    assert matchers == [r.table.matcher for _, packs in rs.plan for p in packs for r in p.rules
                        if r.table is not None]
    again = run_tests(rs, root, TODAY, rows=True)  # each run counts from zero
    assert [t.hits for t in again.tables or []] == [t.hits for t in rows.tables or []]


def test_a_table_that_errs_still_counts_the_rows_it_matched(tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "u", {"p.yaml": """
        pack: p
        phase: validation
        rules:
          - id: overlap
            table:
              inputs: [order.n]
              outputs: [code]
              rows:
                - ["> 1", A]
                - ["> 5", B]
                - ["> 100", C]
            then:
              - warn: {code: "{code}", message: m}
        """})
    (root / "tests").mkdir()
    (root / "tests" / "t.yaml").write_text(
        "- name: both rows\n  order: {id: A, n: 7, lines: []}\n  expect: {status: rejected}\n")
    report = run_tests(load(root), root, TODAY, rows=True)
    assert report.cases[0].passed, report.cases[0].differences
    assert report.tables is not None and report.tables[0].hits == [1, 1, 0]


@pytest.mark.command
def test_the_test_command_prints_rows_hit_and_never_hit(tmp_path: Path) -> None:
    root = _ruleset(tmp_path)
    p = subprocess.run([EXE, "test", str(root)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.endswith(
        "table rows hit: 4/7 (57%)\n"
        "    checks/by-channel (packs/checks.yaml:6): 2/3 rows; never hit: row 3\n"
        "    prices/by-quantity (packs/prices.yaml:7): 2/4 rows; never hit: rows 3, 4; "
        "default answered 1 of 4\n"), p.stdout
