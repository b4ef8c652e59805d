"""The simulator over configured orders: a candidate that changes a model shows which orders'
configurations became invalid (with the rule) or changed price."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

EXE = str(Path(sys.executable).with_name("ordinance"))
LAPTOP = Path(__file__).parent / "data" / "laptop"


def _order(oid: str, cpu: str, ram: int) -> dict:
    return {"id": oid, "currency": "EUR", "order_date": "2026-11-20", "lines": [
        {"id": "1", "sku": "LAPTOP-14", "quantity": 1, "configuration": {"model": "laptop",
         "selection": {"cpu": cpu, "ram_gb": ram, "disks": ["ssd_512"], "ports": [],
                       "accessories": []}}}]}


def test_a_changed_model_shows_invalid_and_repriced_orders(tmp_path: Path) -> None:
    shutil.copytree(LAPTOP, tmp_path / "base")
    shutil.copytree(LAPTOP, tmp_path / "cand")
    model = tmp_path / "cand" / "models" / "laptop.yaml"
    text = model.read_text()
    text = text.replace("{id: i7, price: 180,", "{id: i7, price: 200,")
    text = text.replace('implies: [cpu.i7, "ram_gb >= 16"]', 'implies: [cpu.i7, "ram_gb >= 32"]')
    model.write_text(text)
    orders = tmp_path / "orders.jsonl"
    orders.write_text("\n".join(json.dumps(o) for o in (
        _order("A", "i5", 8), _order("B", "i7", 16), _order("C", "i7", 32))) + "\n")
    p = subprocess.run([EXE, "simulate", "--baseline", str(tmp_path / "base"), "--candidate",
                        str(tmp_path / "cand"), "--orders", str(orders), "--executor", "inline",
                        "--json", "-", "--quiet"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["changed_orders"] == 2
    assert s["candidate"]["violations_by_code"] == {"CONFIGURATION": 1}
    by_id = {x["order_id"]: x for x in s["sample"]}
    assert set(by_id) == {"B", "C"}
    b = by_id["B"]
    assert b["candidate"]["status"] == "rejected"
    assert [v["rule"] for v in b["candidate"]["violations"]] == ["laptop/i7_needs_16gb"]
    c = by_id["C"]
    assert c["baseline"]["pricing"]["total"] == "1239.00"  # 899 + 180 + 160
    assert c["candidate"]["pricing"]["total"] == "1259.00"  # the i7 now at 200
    assert "laptop/cpu.i7" in json.dumps(c["candidate"]["pricing"]["lines"][0]["adjustments"])
