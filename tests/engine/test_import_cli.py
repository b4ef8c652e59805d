"""`ordinance import dmn|jdm` as a user runs it: the pack it writes is evaluated by `ordinance
eval`; a refusal exits 1 with FILE:LINE:COL on stderr and writes nothing."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.engine.importing import DATA

EXE = str(Path(sys.executable).with_name("ordinance"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=120)


def test_an_imported_dmn_table_is_evaluated_by_ordinance_eval(tmp_path: Path) -> None:
    (tmp_path / "ruleset.yaml").write_text('ruleset: imported\nversion: "1"\n')
    (tmp_path / "packs").mkdir()
    out = tmp_path / "packs" / "approval.yaml"
    p = run("import", "dmn", str(DATA / "dmn" / "0118-multi-priority-hitpolicy.dmn"),
            "-o", str(out), "--map", "RiskCategory=order.customer.risk")
    assert p.returncode == 0, p.stderr
    assert "order.customer.risk" in out.read_text()
    order = tmp_path / "o.json"
    order.write_text(json.dumps({"id": "o", "lines": [], "Age": 17, "isAffordable": True,
                                 "customer": {"risk": "High"}}))
    p = run("eval", str(tmp_path), str(order), "--as-of", "2026-12-03", "--compact")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["order"]["Approval_Status"] == {
        "Approved_Declined": "Approved", "Rate": "Standard"}


def test_a_refusal_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "x.yaml"
    p = run("import", "jdm", str(DATA / "jdm" / "decision-table-shipping.json"), "-o", str(out))
    assert p.returncode == 1 and not out.exists()
    first = p.stderr.splitlines()[0]
    assert first.endswith("decision-table-shipping.json:25:13: error: $.nodes[1].content."
                          "inputs[0].field: the function sum(...) is not carried over: "
                          "'sum(map(cart.items, #.unitPrice * #.quantity))'")
    assert p.stderr.splitlines()[1].strip() == '"id": "table-1-in1",'
    assert p.stderr.rstrip().endswith("4 refusals; nothing written")
    assert "Traceback" not in p.stderr


def test_bad_arguments_exit_2() -> None:
    p = run("import", "dmn", "/nonexistent.dmn")
    assert p.returncode == 2 and "No such file" in p.stderr
    p = run("import", "dmn", str(DATA / "dmn" / "0004-simpletable-U.dmn"), "--map", "Age")
    assert p.returncode == 2 and "write NAME=PATH" in p.stderr
