"""`ordinance simulate-events`: the same orders and events against acme and acme-candidate
(two declines hold an order there, three here) show where holds and alerts differ."""
from __future__ import annotations

import json
from pathlib import Path

from ordinance.adapters.eventstore import sample_stream
from ordinance.api.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_replay_reports_the_holds_the_candidate_adds(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    orders, events = sample_stream(24, seed=5, prefix="RP")
    stream = tmp_path / "s.jsonl"
    stream.write_text("\n".join([json.dumps({"order": o}) for o in orders] + [
        json.dumps({"order_id": oid, "event": e}) for oid, e in events]) + "\n")
    code = main(["simulate-events", str(ROOT / "rulesets" / "acme"),
                 str(ROOT / "rulesets" / "acme-candidate"), "--stream", str(stream), "--json"])
    assert code == 0
    diff = json.loads(capsys.readouterr().out)
    twice = {oid for oid in {o["id"] for o in orders}
             if sum(1 for x, e in events if x == oid and e["type"] == "payment_declined") == 2}
    assert twice, "the sample must hold orders with exactly two declines"
    held = {row[0] for row in diff["holds"]["only_candidate"]}
    assert held == twice and diff["holds"]["only_baseline"] == []
    assert {row[0] for row in diff["alerts"]["only_candidate"]} >= twice


def test_replay_errors_are_reported(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"nope": 1}\n')
    acme = str(ROOT / "rulesets" / "acme")
    assert main(["simulate-events", acme, acme, "--stream", str(bad)]) == 2
    assert "bad.jsonl:1:" in capsys.readouterr().err
    assert main(["simulate-events", acme, str(tmp_path)]) == 1
