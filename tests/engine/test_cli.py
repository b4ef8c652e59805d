"""The engine's command line as a user runs it: exit codes, streams, readable test failures."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFORMANCE, need
from tests.engine.helpers import write_ruleset

EXE = str(Path(sys.executable).with_name("ordinance"))

pytestmark = pytest.mark.command


def run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, input=stdin, timeout=120,
                          cwd=cwd)


def test_eval_reads_stdin_and_prints_the_decision() -> None:
    need(CONFORMANCE.is_dir(), "conformance cases")
    order = {"id": "X", "lines": [{"id": "1", "sku": "A-1", "quantity": 3}]}
    p = run("eval", str(CONFORMANCE / "c04-pricing"), "-", "--as-of", "2026-11-20",
            stdin=json.dumps(order))
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["order_id"] == "X" and d["as_of"] == "2026-11-20"
    assert d["pricing"]["lines"][0]["extended"] == "59.97"
    assert d["ruleset"]["digest"].startswith("sha256:")


def test_eval_bad_input_exits_2_with_the_json_path() -> None:
    need(CONFORMANCE.is_dir(), "conformance cases")
    p = run("eval", str(CONFORMANCE / "c04-pricing"), "-", stdin='{"lines": [{"quantity": "x"}]}')
    assert p.returncode == 2
    assert "$.lines[0].quantity" in p.stderr and "Traceback" not in p.stderr
    p = run("eval", str(CONFORMANCE / "c04-pricing"), "-", stdin='{"lines": ')
    assert p.returncode == 2 and "invalid JSON" in p.stderr


def test_eval_of_an_invalid_rule_set_exits_2() -> None:
    need(CONFORMANCE.is_dir(), "conformance cases")
    p = run("eval", str(CONFORMANCE / "invalid" / "i01-syntax"), "-", stdin="{}")
    assert p.returncode == 2
    assert "packs/broken.yaml:9:" in p.stderr and "Traceback" not in p.stderr


def test_eval_stream_keeps_going_past_bad_lines(tmp_path: Path) -> None:
    need(CONFORMANCE.is_dir(), "conformance cases")
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "lines": [{"id": "1", "sku": "A-1", "quantity": 1}]}\n'
                   'not json\n'
                   '[1, 2]\n'
                   '{"id": 4, "lines": [{"id": "1", "sku": "B-2", "quantity": "2.5"}]}\n')
    out = tmp_path / "out.jsonl"
    p = run("eval", str(CONFORMANCE / "c04-pricing"), "--orders", str(src), "--out", str(out),
            "--as-of", "2026-11-20")
    assert p.returncode == 2
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r.get("order_id", r.get("line")) for r in rows] == [1, 2, 3, 4]
    assert rows[1]["error"].startswith("$: invalid JSON")
    assert rows[2]["error"] == "$: an order is a JSON object, not a list"
    assert rows[3]["pricing"]["lines"][0]["extended"] == "12.50"


def test_test_command_shows_differences_and_coverage(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path / "r", {"p.yaml": """
        pack: p
        phase: pricing
        rules:
          - id: ten
            for_each: line
            then:
              - discount: {percent: 10, reason: ten}
          - id: never
            when: order.x == 1
        """})
    (rs / "tests").mkdir()
    (rs / "tests" / "t.yaml").write_text(
        "- name: ten percent\n  order: {id: T, lines: [{id: '1', sku: A, quantity: 1, "
        "unit_price: 10}]}\n  expect: {pricing: {total: '9.00'}}\n"
        "- name: wrong on purpose\n  order: {id: U, lines: [{id: '1', sku: A, quantity: 1, "
        "unit_price: 10}]}\n  expect: {status: rejected, pricing: {total: '10.00'}}\n")
    p = run("test", str(rs))
    assert p.returncode == 1
    assert "FAIL tests/t.yaml:4: wrong on purpose" in p.stdout
    assert '$.status: expected "rejected", got "accepted"' in p.stdout
    assert '$.pricing.total: expected "10.00", got "9.00"' in p.stdout
    assert "1 passed, 1 failed" in p.stdout
    assert "rules fired: 1/2 (50%)" in p.stdout and "never fired: p/never" in p.stdout


def test_check_json_format() -> None:
    need(CONFORMANCE.is_dir(), "conformance cases")
    p = run("check", str(CONFORMANCE / "invalid" / "i03-wrong-phase"), "--format", "json")
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["valid"] is False
    assert out["diagnostics"][0]["code"] == "WRONG_PHASE"
    assert (out["diagnostics"][0]["file"], out["diagnostics"][0]["line"]) == \
        ("packs/checks.yaml", 13)
