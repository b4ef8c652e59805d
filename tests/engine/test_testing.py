"""`ordinance test`: a failed case explains itself with the decision's violations, holds and
rule errors (golden text)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ordinance.engine import load
from ordinance.engine.testing import explain, failure_lines, run_tests
from tests.engine.helpers import TODAY, write_ruleset

EXE = str(Path(sys.executable).with_name("ordinance"))

PACKS = {
    "checks.yaml": """
        pack: checks
        phase: validation
        rules:
          - id: qty-positive
            for_each: line
            when: line.quantity <= 0
            then:
              - reject: {code: QTY_POSITIVE, message: "line {line.id}: quantity must be positive", field: line.quantity}
          - id: no-po
            when: order.po == null
            then:
              - warn: {code: NO_PO, message: no purchase order}
        """,
    "screen.yaml": """
        pack: screen
        phase: compliance
        rules:
          - id: watch
            when: customer.name == "Watched Ltd"
            then:
              - hold: {code: DENIED_PARTY, reason: "possible match for {customer.name}"}
        """,
    "prices.yaml": """
        pack: prices
        phase: pricing
        rules:
          - id: ratio
            for_each: line
            then:
              - discount: {percent: 100 / order.divisor}
        """,
}

CASES = """\
- name: a good order
  order: {id: A, divisor: 4, po: P1, lines: [{id: "1", sku: X, quantity: 1, unit_price: 10}]}
  expect: {status: accepted}
- name: expected to pass but a line is empty
  order: {id: B, divisor: 4, lines: [{id: "1", sku: X, quantity: 0, unit_price: 10}]}
  expect: {status: accepted}
- name: expected to pass but held
  order: {id: C, divisor: 4, po: P1, customer: {name: Watched Ltd}, lines: [{id: "1", sku: X, quantity: 1, unit_price: 10}]}
  expect: {status: accepted}
- name: expected to pass but a rule fails
  order: {id: D, divisor: 0, po: P1, lines: [{id: "1", sku: X, quantity: 1, unit_price: 10}]}
  expect: {status: accepted, pricing: {total: "10.00"}}
- name: expected to be rejected but nothing stops it
  order: {id: E, divisor: 4, po: P1, lines: [{id: "1", sku: X, quantity: 1, unit_price: 10}]}
  expect: {status: rejected}
"""

GOLDEN = """\
FAIL tests/t.yaml:4: expected to pass but a line is empty
    $.status: expected "accepted", got "rejected"
    the decision is rejected:
      error QTY_POSITIVE: line 1: quantity must be positive (rule checks/qty-positive, field order.lines[0].quantity)
      warning NO_PO: no purchase order (rule checks/no-po)
FAIL tests/t.yaml:7: expected to pass but held
    $.status: expected "accepted", got "on_hold"
    the decision is on_hold:
      hold DENIED_PARTY: possible match for Watched Ltd (rule screen/watch)
FAIL tests/t.yaml:10: expected to pass but a rule fails
    $.status: expected "accepted", got "rejected"
    the decision is rejected:
      rule error RULE_ERROR: division by zero: 100 / 0 (rule prices/ratio, at packs/prices.yaml:7:33, line 1)
FAIL tests/t.yaml:13: expected to be rejected but nothing stops it
    $.status: expected "rejected", got "accepted"
    the decision is accepted, with no violations, holds or rule errors
"""


def _ruleset(tmp_path: Path) -> Path:
    rs = write_ruleset(tmp_path / "r", PACKS)
    (rs / "tests").mkdir()
    (rs / "tests" / "t.yaml").write_text(CASES)
    return rs


@pytest.mark.command
def test_failures_show_the_decisions_violations_holds_and_rule_errors(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path)
    p = subprocess.run([EXE, "test", str(rs)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    assert p.stdout.startswith(GOLDEN + "1 passed, 4 failed\n"), p.stdout


def test_failure_lines_are_what_the_command_prints(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path)
    report = run_tests(load(rs), rs, TODAY)
    printed = [line for case in report.failed for line in failure_lines(case)]
    assert "\n".join(printed) + "\n" == GOLDEN
    assert explain(None) == []
