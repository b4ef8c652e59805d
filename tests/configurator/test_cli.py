"""`ordinance configure` as a user runs it, and configured lines through `ordinance eval`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXE = str(Path(sys.executable).with_name("ordinance"))
LAPTOP = str(Path(__file__).parent / "data" / "laptop")


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, input=stdin, timeout=120)


def test_choosing_i7_greys_out_8gb_with_the_rule() -> None:
    p = run("configure", LAPTOP, "laptop", "--select", "cpu=i7")
    assert p.returncode == 0, p.stderr
    assert "  [x] 8 +0  removed by i7_needs_16gb: the i7 needs at least 16 GB of memory " \
        "(models/laptop.yaml:42:5)" in p.stdout.splitlines()


def test_the_full_selection_as_json() -> None:
    p = run("configure", LAPTOP, "laptop", "-s", "cpu=i7", "-s", "ram_gb=16", "-s",
            "disks=ssd_512", "-s", "ports=usb_c", "-s", "accessories=dock", "--format", "json")
    assert p.returncode == 0, p.stderr
    a = json.loads(p.stdout)
    assert a["valid"] and a["complete"] and a["price"]["total"] == 1313.00


def test_an_invalid_selection_exits_1_naming_the_rule() -> None:
    p = run("configure", LAPTOP, "laptop", "-s", "cpu=i7", "-s", "ram_gb=8")
    assert p.returncode == 1
    assert p.stdout.splitlines()[1] == ("  violates i7_needs_16gb: the i7 needs at least 16 GB "
                                        "of memory at models/laptop.yaml:42:5 [cpu, ram_gb]")


def test_count_and_cheapest_completion() -> None:
    p = run("configure", LAPTOP, "laptop", "--count", "--complete", "cheapest")
    assert p.returncode == 0, p.stderr
    assert "configurations: 90" in p.stdout
    assert "at 899.00 EUR" in p.stdout


def test_mistakes_exit_2_without_a_traceback() -> None:
    p = run("configure", LAPTOP, "laptop", "-s", "cpu=i9")
    assert p.returncode == 2 and "'i9' is not an option of group 'cpu'" in p.stderr
    p = run("configure", LAPTOP, "tablet")
    assert p.returncode == 2 and "has no model 'tablet' (models: laptop)" in p.stderr
    assert "Traceback" not in p.stderr


def test_a_configured_line_in_an_order() -> None:
    order = {"id": "SO-1", "currency": "EUR", "lines": [
        {"id": "1", "sku": "LAPTOP-14", "quantity": 2, "configuration": {
            "model": "laptop", "selection": {"cpu": "i7", "ram_gb": 16, "disks": ["ssd_512"],
                                             "ports": ["usb_c"], "accessories": ["dock"]}}},
    ]}
    p = run("eval", LAPTOP, "-", "--as-of", "2026-12-01", stdin=json.dumps(order))
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    line = d["pricing"]["lines"][0]
    assert line["list_price"] == "899.00" and line["net"] == "2626.00"  # 2 x 1313.00
    assert [(a["rule"], a["amount"]) for a in line["adjustments"]] == [
        ("laptop/cpu.i7", "360.00"), ("laptop/ports.usb_c", "50.00"),
        ("laptop/accessories.dock", "298.00"), ("laptop/ram_gb=16", "120.00")]
    order["lines"][0]["configuration"]["selection"]["ram_gb"] = 8
    order["currency"] = "USD"
    d = json.loads(run("eval", LAPTOP, "-", "--as-of", "2026-12-01",
                       stdin=json.dumps(order)).stdout)
    assert d["status"] == "rejected"
    assert [(v["rule"], v["field"]) for v in d["violations"]] == [
        ("laptop/i7_needs_16gb", "order.lines[0].configuration.selection.cpu")]
    order["lines"][0]["configuration"]["selection"]["ram_gb"] = 16
    d = json.loads(run("eval", LAPTOP, "-", "--as-of", "2026-12-01",
                       stdin=json.dumps(order)).stdout)
    assert [(v["rule"], v["message"]) for v in d["violations"]] == [
        ("laptop/currency", "model laptop is priced in EUR, the order in USD")]


def test_a_configured_acme_order_fits_the_decision_schema() -> None:
    import jsonschema

    root = Path(__file__).resolve().parents[2]
    order = {"id": "CFG-1", "order_date": "2026-11-20T09:00:00Z", "customer": {"id": "C-00060"},
             "lines": [{"id": "1", "sku": "MCH-0001", "quantity": 2, "configuration": {
                 "model": "bench_drill", "selection": {
                     "motor": "m750", "chuck": "keyless_16", "table": "standard",
                     "accessories": ["work_light", "safety_kit"], "voltage": "230",
                     "speeds": 16}}}]}
    p = run("eval", str(root / "rulesets" / "acme"), "-", "--as-of", "2026-11-20",
            stdin=json.dumps(order))
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    schema = json.loads((root / "engine" / "schemas" / "decision.schema.json").read_text())
    jsonschema.validate(d, schema)
    (line,) = d["sourcing"]["lines"]
    assert [(x["sku"], x["quantity"]) for x in line["parts"]] == [
        ("MCH-0001", "2"), ("LGT-0003", "2"), ("SAF-0002", "4")]
    assert all(x["promise"]["short"] == "0" for x in line["parts"])
