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


def _store(client, directory: Path) -> str:
    """Uploads the rule set at `directory`; its reference NAME@DIGEST."""
    r = client.post("/v1/rulesets", content=_archive(directory),
                    headers={"Content-Type": "application/gzip"})
    assert r.status_code in (200, 201), r.text
    return f"{r.json()['name']}@{r.json()['digest']}"


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
    r = analyst.post("/v1/simulations", params={"baseline": _store(analyst, data / "base"),
                                                "candidate": _store(analyst,
                                                                    data / "candidate-rules")},
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


def test_blame_can_be_turned_off(service, data):
    analyst = service["analyst"]
    refs = {"baseline": _store(analyst, data / "base"),
            "candidate": _store(analyst, data / "candidate-rules")}
    orders = [json.loads(line) for line in (data / "orders.jsonl").read_text().splitlines()
              if line.strip() and '"X"' not in line]
    r = analyst.post("/v1/simulations", json={**refs, "orders": orders, "blame": "no"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.blame", r.text
    summaries = []
    for blame in (False, True):
        r = analyst.post("/v1/simulations", json={**refs, "orders": orders, "blame": blame})
        assert r.status_code == 202, r.text
        done = _finish(analyst, r.headers["location"])
        assert done["state"] == "done", done
        summaries.append(done["summary"])
    off, on = summaries
    assert off["changed_orders"] == on["changed_orders"] == 2
    assert "blame" not in off and on["blame"]["unexplained_orders"] == 0
    r = analyst.post("/v1/simulations", params={**refs, "blame": "false"},
                     content=(data / "orders.jsonl").read_bytes(),
                     headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 202, r.text
    done = _finish(analyst, r.headers["location"])
    assert done["state"] == "done" and "blame" not in done["summary"], done


def test_errors(service, data):
    body = {"baseline": _store(service["analyst"], data / "base"),
            "candidate": _store(service["analyst"], data / "same"), "orders": []}
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
    assert r.status_code == 404 and r.json()["error"]["path"] == "$.candidate", r.text
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
        "baseline": _store(admin, data / "base"),
        "candidate": _store(admin, data / "candidate-rules"),
        "orders": "stored", "from": "2026-11-20", "until": "2026-11-20"})
    assert r.status_code == 202, r.text
    done = _finish(analyst, r.headers["location"])
    assert done["state"] == "done", done
    # O1, O2 and O3 were ordered on 2026-11-20; O2 and O3 change (see test_replay.py).
    assert (done["summary"]["orders"], done["summary"]["changed_orders"]) == (3, 2)
    assert [e["order_id"] for e in done["summary"]["sample"]] == ["O2", "O3"]
    r = analyst.post("/v1/simulations", json={
        "baseline": "active", "candidate": _store(admin, data / "same"), "orders": "stored",
        "from": "someday"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.from", r.text


@pytest.mark.parametrize("where", ["json", "query"])
def test_a_path_on_the_server_is_refused_the_same_whether_it_exists_or_not(service, data,
                                                                             where):
    """Directories (absolute or relative, with a ruleset.yaml or without) were run as rule
    sets, and 404 for the missing ones made the route a file-existence oracle."""
    analyst = service["analyst"]
    stored = _store(analyst, data / "base")
    answers = set()
    for path in (str(data / "base"), str(data / "candidate-rules"), "tests/simulator/data/base",
                 "../" * 8 + "etc", "/etc", "/no/such/dir", "no-such-dir", "./x@1",
                 str(data / "base") + "@1", "~/rules", "."):
        for side in ("baseline", "candidate"):
            args = {"baseline": stored, "candidate": stored, side: path}
            if where == "json":
                r = analyst.post("/v1/simulations", json={**args, "orders": []})
            else:
                r = analyst.post("/v1/simulations", params=args, content=b"",
                                 headers={"Content-Type": "application/x-ndjson"})
            assert r.status_code == 422, (path, r.text)
            err = r.json()["error"]
            assert err["path"] == ("$." if where == "json" else "") + side, err
            answers.add((err["code"], err["message"]))
    assert answers == {("BAD_RULESET_REF", f"{side} is not a stored rule-set version: "
                        "NAME@VERSION, NAME@DIGEST or active (upload a rule set with "
                        "POST /v1/rulesets; paths on the server are not accepted)")
                       for side in ("baseline", "candidate")}


def test_orders_come_from_the_body_or_the_hub_never_from_a_path(service, data):
    analyst = service["analyst"]
    stored = _store(analyst, data / "base")
    for orders in (str(data / "orders.jsonl"), "/etc/passwd", "orders.jsonl", {"path": "x"}):
        r = analyst.post("/v1/simulations", json={"baseline": stored, "candidate": stored,
                                                  "orders": orders})
        assert r.status_code == 422 and r.json()["error"]["path"] == "$.orders", r.text
        assert r.json()["error"]["message"] == 'orders must be a list of orders, or "stored"'
