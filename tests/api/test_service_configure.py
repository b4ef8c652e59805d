"""POST /v1/configure over real HTTP (SQLite and PostgreSQL): the laptop model of issue 17."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from svc_helpers import ServerThread, Service, archive, make_service

LAPTOP = Path(__file__).resolve().parents[1] / "configurator" / "data" / "laptop"
FULL = {"cpu": "i7", "ram_gb": 16, "disks": ["ssd_512"], "ports": ["usb_c"],
        "accessories": ["dock"]}


@pytest.fixture(scope="module")
def svc(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    app, keys = make_service(database_url, tmp_path_factory.mktemp("cache"))
    with ServerThread(app) as server:
        s = Service(server.url, database_url, keys, app)
        r = s.client("admin").post("/v1/rulesets", content=archive(LAPTOP),
                                   headers={"Content-Type": "application/gzip"})
        assert r.status_code in (200, 201), r.text
        info = r.json()
        r = s.client("admin").post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate")
        assert r.status_code == 200, r.text
        try:
            yield s
        finally:
            s.close()


def _post(svc: Service, body: dict, who: str = "evaluator"):  # type: ignore[no-untyped-def]
    return svc.client(who).post("/v1/configure", json=body)


def test_the_full_selection_is_valid_at_1313(svc: Service) -> None:
    r = _post(svc, {"model": "laptop", "selection": FULL})
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["valid"] and a["complete"] and a["price"]["total"] == 1313.00
    assert '"total":1313.00' in r.text  # exact digits, never a float
    assert a["ruleset"]["name"] == "laptop-shop"


def test_i7_with_8gb_is_invalid_naming_the_rule(svc: Service) -> None:
    a = _post(svc, {"model": "laptop", "selection": {"cpu": "i7", "ram_gb": 8}}).json()
    assert not a["valid"]
    assert [v["rule"] for v in a["violations"]] == ["i7_needs_16gb"]


def test_propagation_removes_8gb_naming_the_rule(svc: Service) -> None:
    a = _post(svc, {"model": "laptop", "selection": {"cpu": "i7"}, "complete": "cheapest",
                    "count": True}).json()
    ram = next(f for f in a["features"] if f["id"] == "ram_gb")
    by_value = {v["value"]: v for v in ram["values"]}
    assert by_value[8]["removed_by"]["rule"] == "i7_needs_16gb"
    assert by_value[16]["possible"] and by_value[32]["possible"]
    assert a["completion"]["price"]["total"] == 1139.00
    assert a["configurations"]["count"] == 36


def test_count_and_list_all_90(svc: Service) -> None:
    a = _post(svc, {"model": "laptop", "count": True, "list": 1000}).json()
    assert a["configurations"]["count"] == 90 and len(a["configurations"]["items"]) == 90


def test_mistakes_are_422_with_the_json_path(svc: Service) -> None:
    r = _post(svc, {"model": "laptop", "selection": {"disks": ["ssd_512", "floppy"]}})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.selection.disks[1]"
    r = _post(svc, {"model": "laptop", "selection": {"ram_gb": 12}})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.selection.ram_gb"
    r = _post(svc, {"model": "laptop", "list": 5000})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.list"
    r = _post(svc, {"model": "laptop", "colour": "red"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.colour"
    r = svc.client("evaluator").post("/v1/configure", content=b"{\"model\": ",
                                     headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$"


def test_an_unknown_model_is_404(svc: Service) -> None:
    r = _post(svc, {"model": "tablet"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "UNKNOWN_MODEL"
    assert "laptop" in r.json()["error"]["message"]


def test_a_key_is_needed(svc: Service) -> None:
    assert _post(svc, {"model": "laptop"}, who=None).status_code == 401  # type: ignore[arg-type]


def test_a_configured_line_decided_over_http(svc: Service) -> None:
    order = {"id": "SO-9", "currency": "EUR", "lines": [
        {"id": "1", "sku": "LAPTOP-14", "quantity": 2,
         "configuration": {"model": "laptop", "selection": FULL}},
        {"id": "2", "sku": "LAPTOP-14", "quantity": 1,
         "configuration": {"model": "laptop", "selection": {**FULL, "ram_gb": 8}}}]}
    r = svc.client("evaluator").post("/v1/decisions", json={"order": order,
                                                            "as_of": "2026-12-01"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["status"] == "rejected"
    assert [(v["rule"], v["field"]) for v in d["violations"]] == [
        ("laptop/i7_needs_16gb", "order.lines[1].configuration.selection.cpu")]
    del order["lines"][1]
    d = svc.client("evaluator").post("/v1/price", json={"order": order,
                                                        "as_of": "2026-12-01"}).json()
    line = d["pricing"]["lines"][0]
    assert line["net"] == "2626.00" and len(line["adjustments"]) == 4
