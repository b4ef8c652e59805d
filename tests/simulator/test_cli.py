"""`ordinance simulate` end to end, in this process."""
from __future__ import annotations

import csv
import json

from ordinance.api.cli import main


def test_simulate_writes_summary_changes_and_report(data, tmp_path, capsys):
    out, changes, report = tmp_path / "s.json", tmp_path / "c.csv", tmp_path / "r.html"
    code = main(["simulate", "--baseline", str(data / "base"),
                 "--candidate", str(data / "candidate-rules"),
                 "--orders", str(data / "orders.jsonl"), "--workers", "1", "--quiet",
                 "--json", str(out), "--changes", str(changes), "--report", str(report),
                 "--sample", "1"])
    assert code == 0
    summary = json.loads(out.read_text())
    assert summary["changed_orders"] == 2 and len(summary["sample"]) == 1
    assert summary["changes"]["transitions"] == {"accepted->pending_approval": 1}
    rows = list(csv.DictReader(changes.open()))
    assert [(r["order_id"], r["moved"], r["total_delta"], r["rules_candidate_only"])
            for r in rows] == [("O2", "total;pricing", "-12.00", ""),
                               ("O3", "status;total;approvals;pricing", "-50.00",
                                "approvals/big")]
    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") >= 4
    printed = capsys.readouterr()
    assert "6 orders, 2 changed" in printed.out
    # money per currency; no fx table in the test rule sets, so no converted figure
    assert "revenue EUR 2436.00 -> 2374.00 (-62.00)" in printed.out
    assert "converted" not in printed.out
    # the edits behind the changes (simulator/blame.py), by the orders they moved
    assert "edits behind the changes:" in printed.out
    assert "  2 orders: rule prices/gold changed: then:" in printed.out
    # O2 moves by the discount alone; O3 (900 -> 850, now over the approval's 800) needs both
    # edits reverted to be decided as before: neither alone restores its decision
    assert summary["blame"]["sets"] == [
        {"edits": ["rule:approvals/big", "rule:prices/gold"], "orders": 1},
        {"edits": ["rule:prices/gold"], "orders": 1}]
    assert summary["blame"]["unexplained_orders"] == 0
    # ... and each changed order's row of the CSV names its own
    assert [(r["order_id"], r["edits"]) for r in rows] == [
        ("O2", "rule:prices/gold"), ("O3", "rule:approvals/big;rule:prices/gold")]
    assert [r["baseline_currency"] for r in rows] == ["EUR", "EUR"]
    assert "1 line(s) were not orders" in printed.err


def test_json_to_stdout(data, capsys):
    code = main(["simulate", "--baseline", str(data / "base"), "--candidate",
                 str(data / "same"), "--orders", str(data / "orders.jsonl"),
                 "--executor", "inline", "--json", "-", "--quiet"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["changed_orders"] == 0


def test_consume_stock_says_it_runs_sequentially(data, capsys):
    code = main(["simulate", "--baseline", str(data / "base"), "--candidate",
                 str(data / "same"), "--orders", str(data / "orders.jsonl"),
                 "--consume-stock", "--quiet"])
    assert code == 0
    assert "one after another" in capsys.readouterr().err


def test_bad_input_exits_2(data, tmp_path, capsys):
    args = ["simulate", "--candidate", str(data / "base"), "--orders",
            str(data / "orders.jsonl"), "--quiet", "--baseline"]
    assert main(args + [str(tmp_path / "nowhere")]) == 2
    assert "no such rule set directory" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "ruleset.yaml").write_text("ruleset: broken\nversion: '1'\n")
    (broken / "p.yaml").write_text("pack: p\nphase: pricing\nrules:\n  - id: r\n"
                                   "    when: lenght(order.lines) > 0\n    then: []\n")
    capsys.readouterr()
    assert main(args + [str(broken)]) == 2
    assert "p.yaml:5:" in capsys.readouterr().err
    code = main(["simulate", "--baseline", str(data / "base"), "--candidate",
                 str(data / "same"), "--orders", str(tmp_path / "missing.jsonl"), "--quiet"])
    assert code == 2


def test_no_blame_names_no_edits(data, tmp_path, capsys):
    out, changes = tmp_path / "s.json", tmp_path / "c.csv"
    code = main(["simulate", "--baseline", str(data / "base"),
                 "--candidate", str(data / "candidate-rules"),
                 "--orders", str(data / "orders.jsonl"), "--executor", "inline", "--quiet",
                 "--json", str(out), "--changes", str(changes), "--no-blame"])
    assert code == 0
    summary = json.loads(out.read_text())
    assert summary["changed_orders"] == 2  # the same changes, without their edits
    assert "blame" not in summary
    assert all(not entry.get("edits") for entry in summary["sample"])
    assert "edits behind the changes" not in capsys.readouterr().out
    assert [r["edits"] for r in csv.DictReader(changes.open())] == ["", ""]
