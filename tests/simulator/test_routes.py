"""The simulation routes over real HTTP, on the service with a SQLite database."""
from __future__ import annotations

import io
import json
import socket
import tarfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest


def _archive(directory: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for p in sorted(directory.rglob("*")):
            if p.is_file():
                tf.add(p, p.relative_to(directory).as_posix())
    return buf.getvalue()


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    import uvicorn
    from ordinance.adapters import store_keys
    from ordinance.api.app import create_app
    from ordinance.api.settings import Settings

    tmp = tmp_path_factory.mktemp("service")
    app = create_app(Settings(database_url=f"sqlite:///{tmp / 'o.db'}",
                              cache_dir=str(tmp / "cache"), active_ttl=0.0))
    keys = {role: store_keys.create_key(app.state.ctx.db, role,
                                        f"{role}-{uuid.uuid4().hex[:6]}")[0]
            for role in ("evaluator", "analyst", "admin")}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    clients = {role: httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                  headers={"Authorization": f"Bearer {key}"})
               for role, key in keys.items()}
    clients[None] = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    yield clients
    for c in clients.values():
        c.close()
    server.should_exit = True
    thread.join(timeout=20)


def _finish(client, location):
    deadline = time.monotonic() + 90
    while True:
        r = client.get(location)
        assert r.status_code == 200, r.text
        if r.json()["state"] in ("done", "failed") or time.monotonic() > deadline:
            return r.json()
        time.sleep(0.1)


def test_simulation_on_an_uploaded_stream(service, data):
    analyst = service["analyst"]
    r = analyst.post("/v1/simulations", params={"baseline": str(data / "base"),
                                                "candidate": str(data / "candidate-rules")},
                     content=(data / "orders.jsonl").read_bytes(),
                     headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/v1/simulations/{job['id']}"
    assert job["state"] in ("queued", "running", "done")
    done = _finish(analyst, r.headers["location"])
    assert done["state"] == "done", done
    assert done["summary"]["changed_orders"] == 2
    assert done["summary"]["changes"]["transitions"] == {"accepted->pending_approval": 1}
    assert done["summary"]["candidate"]["revenue"] == {"EUR": "2374.00"}
    report = analyst.get(done["report"])
    assert report.status_code == 200, report.text
    assert report.headers["content-type"].startswith("text/html")
    assert "<svg" in report.text
    for method, status in (("DELETE", 204), ("GET", 404), ("DELETE", 404)):
        gone = analyst.request(method, r.headers["location"])
        assert gone.status_code == status, gone.text


def test_simulation_of_stored_versions_with_a_json_body(service, data):
    admin, analyst = service["admin"], service["analyst"]
    stored = []
    for name in ("base", "candidate-rules"):
        r = admin.post("/v1/rulesets", content=_archive(data / name),
                       headers={"Content-Type": "application/gzip"})
        assert r.status_code in (200, 201), r.text
        stored.append(r.json())
    r = admin.post(f"/v1/rulesets/{stored[0]['name']}/{stored[0]['digest']}/activate")
    assert r.status_code == 200, r.text
    orders = [json.loads(line) for line in (data / "orders.jsonl").read_text().splitlines()
              if line.strip() and '"X"' not in line]
    r = analyst.post("/v1/simulations", json={
        "baseline": "active", "candidate": f"sim-base@{stored[1]['digest']}",
        "orders": orders, "sample": 1})
    assert r.status_code == 202, r.text
    done = _finish(analyst, r.headers["location"])
    assert done["state"] == "done", done
    summary = done["summary"]
    assert summary["baseline"]["ruleset"]["digest"] == stored[0]["digest"]
    assert summary["candidate"]["ruleset"]["digest"] == stored[1]["digest"]
    assert (summary["orders"], summary["changed_orders"], len(summary["sample"])) == (6, 2, 1)


def test_errors(service, data):
    body = {"baseline": str(data / "base"), "candidate": str(data / "same"), "orders": []}
    r = service[None].post("/v1/simulations", json=body)
    assert r.status_code == 401, r.text
    r = service["evaluator"].post("/v1/simulations", json=body)
    assert r.status_code == 403, r.text
    analyst = service["analyst"]
    r = analyst.post("/v1/simulations", json={**body, "as_of": "soon"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.as_of", r.text
    r = analyst.post("/v1/simulations", json={**body, "candidate": None})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.candidate", r.text
    r = analyst.post("/v1/simulations", content=b"{not json",
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    r = analyst.post("/v1/simulations", json={**body, "candidate": "nope@sha256:00"})
    assert r.status_code == 404, r.text
    for path in ("/v1/simulations/unknown", "/v1/simulations/unknown/report.html"):
        r = analyst.get(path)
        assert r.status_code == 404, r.text


def test_simulation_of_stored_orders(service, data):
    admin, analyst = service["admin"], service["analyst"]
    r = admin.post("/v1/rulesets", content=_archive(data / "base"),
                   headers={"Content-Type": "application/gzip"})
    assert r.status_code in (200, 201), r.text
    r = admin.post(f"/v1/rulesets/{r.json()['name']}/{r.json()['digest']}/activate")
    assert r.status_code == 200, r.text
    for line in (data / "orders.jsonl").read_text().splitlines():
        if line.strip() and '"X"' not in line:
            r = analyst.post("/v1/orders", json={"order": json.loads(line)})
            assert r.status_code in (200, 201), r.text
    r = analyst.post("/v1/simulations", json={
        "baseline": str(data / "base"), "candidate": str(data / "candidate-rules"),
        "orders": "stored", "from": "2026-11-20", "until": "2026-11-20"})
    assert r.status_code == 202, r.text
    done = _finish(analyst, r.headers["location"])
    assert done["state"] == "done", done
    # O1, O2 and O3 were ordered on 2026-11-20; O2 and O3 change (see test_replay.py).
    assert (done["summary"]["orders"], done["summary"]["changed_orders"]) == (3, 2)
    assert [e["order_id"] for e in done["summary"]["sample"]] == ["O2", "O3"]
    r = analyst.post("/v1/simulations", json={
        "baseline": str(data / "base"), "candidate": str(data / "same"), "orders": "stored",
        "from": "someday"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.from", r.text
