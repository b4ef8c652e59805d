"""The shipped rule sets: they check, their analysts' tests pass with every rule fired, their
reference data is reproducible and documented, and generated orders reach every status."""
from __future__ import annotations

import collections
import filecmp
import json
import subprocess
import sys
from pathlib import Path

import pytest
from ordinance.api.cli import main
from ordinance.engine import check, load, parse_order
from ordinance.simulator.generate import dumps_order, generate_orders, load_catalogue
from tests.engine.helpers import TODAY

ROOT = Path(__file__).resolve().parents[2]
RULESETS = ROOT / "rulesets"
ACME = RULESETS / "acme"
CANDIDATE = RULESETS / "acme-candidate"


@pytest.fixture(scope="module")
def acme():  # type: ignore[no-untyped-def]
    return load(ACME)


@pytest.mark.parametrize("ruleset", [ACME, CANDIDATE], ids=["acme", "acme-candidate"])
def test_rule_set_checks_clean(ruleset: Path) -> None:
    diagnostics = check(ruleset)
    assert [d for d in diagnostics if d.severity == "error"] == []
    assert [d.message for d in diagnostics if d.severity == "warning"] == []


@pytest.mark.parametrize("ruleset", [ACME, CANDIDATE], ids=["acme", "acme-candidate"])
def test_analysts_tests_pass_and_every_rule_fires(ruleset: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["test", str(ruleset)]) == 0
    out = capsys.readouterr().out
    assert " 0 failed" in out
    fired = next(line for line in out.splitlines() if line.startswith("rules fired:"))
    n, total = fired.split()[2].split("/")
    assert n == total and int(total) >= 100, fired
    assert "never fired" not in out


def test_at_least_a_hundred_rules_over_all_six_phases(acme) -> None:  # type: ignore[no-untyped-def]
    assert len(acme.rule_ids) >= 100
    phases = set()
    for pack in (ACME / "packs").glob("*.yaml"):
        text = pack.read_text(encoding="utf-8")
        assert text.startswith("# yaml-language-server: $schema=../../../engine/schemas/pack.schema.json\n")
        phases.add(next(l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("phase:")))
    assert phases == {"defaulting", "validation", "compliance", "pricing", "sourcing", "approval"}


def test_generated_orders_reach_all_four_statuses(acme) -> None:  # type: ignore[no-untyped-def]
    statuses: collections.Counter[str] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    for order in generate_orders(load_catalogue(ACME), 2000, 2026):
        decision = acme.evaluate(parse_order(dumps_order(order)))
        statuses[decision.status] += 1
        for e in decision.to_json()["errors"]:
            errors[e["rule"]] += 1
    assert set(statuses) == {"accepted", "rejected", "on_hold", "pending_approval"}, statuses
    assert statuses["accepted"] > 1000          # most orders are fine
    assert errors == {}                          # no rule errors on generated data


def test_invented_customers_do_not_resemble_listed_parties(acme) -> None:  # type: ignore[no-untyped-def]
    held = []
    for row in acme.reference["customers"]:
        order = parse_order(json.dumps({"id": "X", "customer": {"id": row["id"]},
                                        "lines": [{"id": "1", "sku": "HTL-0001", "quantity": 100}]}))
        decision = acme.evaluate(order, today=TODAY).to_json()
        if any(h["code"] == "DENIED_PARTY" for h in decision["holds"]):
            held.append(row["name"])
    assert held == []


def test_reference_data_is_reproduced_by_the_generator(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(RULESETS / "tools" / "make_acme_reference.py"),
                    "--root", str(tmp_path)], check=True)
    for name in ("acme", "acme-candidate"):
        committed = RULESETS / name / "reference"
        files = sorted(p.name for p in committed.iterdir())
        assert files == sorted(p.name for p in (tmp_path / name / "reference").iterdir())
        _same, mismatch, errors = filecmp.cmpfiles(committed, tmp_path / name / "reference", files, shallow=False)
        assert mismatch == [] and errors == [], (name, mismatch, errors)


def test_every_reference_table_is_documented_in_sources() -> None:
    sources = (ACME / "reference" / "SOURCES.md").read_text(encoding="utf-8")
    for table in (ACME / "reference").iterdir():
        if table.name != "SOURCES.md":
            assert f"`{table.name}`" in sources or table.name in sources, table.name
    assert "invented" in sources.lower()


def test_candidate_differs_only_where_the_proposal_says(acme) -> None:  # type: ignore[no-untyped-def]
    candidate = load(CANDIDATE)
    assert candidate.rule_ids == acme.rule_ids
    assert candidate.digest != acme.digest
    differing = [p.name for p in (ACME / "reference").iterdir()
                 if not filecmp.cmp(p, CANDIDATE / "reference" / p.name, shallow=False)]
    assert sorted(differing) == ["inventory.csv", "lanes.csv", "locations.csv", "networks.yaml"]
    assert any(r["id"] == "WH-ES" for r in candidate.reference["locations"])
