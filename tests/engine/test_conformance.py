"""Every conformance case of ../shared/conformance, and every shipped rule set's own tests,
run through the engine; the invalid rule sets must be refused at the named place; a sample
goes through the `ordinance` command as a user would run it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ordinance.engine import check, load
from ordinance.engine.testing import differences, run_tests
from tests.engine.helpers import TODAY
from tests.conftest import CONFORMANCE, RULESETS, ROOT, need

CASE_DIRS = sorted(p for p in CONFORMANCE.glob("c*") if (p / "ruleset.yaml").is_file()) \
    if CONFORMANCE.is_dir() else []
SHIPPED = sorted(p for p in RULESETS.glob("*") if (p / "ruleset.yaml").is_file()) \
    if RULESETS.is_dir() else []


def _cases(dirs: list[Path]) -> list[tuple[Path, str]]:
    out = []
    for rs in dirs:
        for tf in sorted((rs / "tests").glob("*.yaml")):
            for case in yaml.safe_load(tf.read_text()) or []:
                out.append((rs, f"{rs.name}/{tf.name}: {case['name']}"))
    return out


@pytest.fixture(scope="module")
def compiled() -> dict[Path, object]:
    return {}


def test_conformance_cases_are_present() -> None:
    need(CONFORMANCE.is_dir(), f"the shared conformance cases at {CONFORMANCE}")
    assert len(CASE_DIRS) >= 10


@pytest.mark.parametrize("rs_dir", CASE_DIRS + SHIPPED, ids=lambda p: p.name)
def test_rule_set_tests_pass(rs_dir: Path) -> None:
    rs = load(rs_dir)
    report = run_tests(rs, rs_dir, TODAY)
    assert not report.problems
    assert report.cases, f"{rs_dir} has no test cases"
    failures = {c.name: c.differences for c in report.failed}
    assert failures == {}


@pytest.mark.parametrize("rs_dir,label", _cases(CASE_DIRS), ids=lambda v: v if isinstance(v, str) else "")
def test_each_conformance_case(rs_dir: Path, label: str) -> None:
    """One test per case, so a failure names the case."""
    rs = load(rs_dir)
    report = run_tests(rs, rs_dir, TODAY)
    case = next(c for c in report.cases if label.endswith(": " + c.name))
    assert case.differences == []


def _invalid() -> list[tuple[str, list[str]]]:
    exp = CONFORMANCE / "invalid" / "expected.yaml"
    if not exp.is_file():
        return []
    return sorted((yaml.safe_load(exp.read_text()) or {}).items())


@pytest.mark.parametrize("name,places", _invalid(), ids=lambda v: v if isinstance(v, str) else "")
def test_invalid_rule_sets_are_refused_at_the_named_place(name: str, places: list[str]) -> None:
    diags = check(CONFORMANCE / "invalid" / name)
    errors = [f"{d.span.file}:{d.span.line}" for d in diags if d.is_error]
    assert errors, f"{name} was accepted"
    assert set(errors) & set(places), f"{name}: errors at {errors}, expected one of {places}"


def _ordinance(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("ordinance")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, input=stdin,
                          timeout=120, cwd=ROOT)


@pytest.mark.command
@pytest.mark.parametrize("case_dir", ["c04-pricing", "c08-sourcing", "c06-compliance"])
def test_a_sample_through_the_command(case_dir: str, tmp_path: Path) -> None:
    rs_dir = CONFORMANCE / case_dir
    need(rs_dir.is_dir(), f"conformance case {rs_dir}")
    cases = yaml.safe_load(next((rs_dir / "tests").glob("*.yaml")).read_text())
    for case in cases[:3]:
        order = tmp_path / "order.json"
        order.write_text(json.dumps(case["order"], default=str))
        args = ["eval", str(rs_dir), str(order)]
        if case.get("as_of"):
            args += ["--as-of", str(case["as_of"])]
        proc = _ordinance(*args)
        assert proc.returncode == 0, proc.stderr
        assert differences(case["expect"], json.loads(proc.stdout)) == []


@pytest.mark.command
def test_check_command_points_at_the_place() -> None:
    need((CONFORMANCE / "invalid").is_dir(), "the invalid conformance cases")
    proc = _ordinance("check", str(CONFORMANCE / "invalid" / "i04-unknown-function"))
    assert proc.returncode == 1
    assert "packs/f.yaml:5:11: error: unknown function 'frobnicate'" in proc.stdout
