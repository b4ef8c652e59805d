"""Simulations over real HTTP with several service instances (apps, each served by its own
uvicorn thread, with its own rule-set cache and job runner) over one database, SQLite then
PostgreSQL: a job started on one is followed, read and removed on another; a job whose
instance died is run again by another instance's background worker (an instance that stops
after accepting, and a real `ordinance serve` process killed mid-run), or failed with the
reason when it keeps dying; and the bodies of POST /v1/simulations are capped."""
from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from svc_helpers import ServerThread, archive, make_service

DATA = Path(__file__).resolve().parents[1] / "simulator" / "data"


def _runner(app: Any, name: str, lease: float = 30.0, max_attempts: int = 3) -> Any:
    """The app's job runner, made here with a short lease, orders decided in its thread."""
    from ordinance.adapters.store_simulations import SimulationStore
    from ordinance.simulator.jobs import JobRunner
    from ordinance.simulator.rulesets import storage_resolver

    ctx = app.state.ctx
    app.state.simulations = JobRunner(SimulationStore(ctx.db), ctx.clock,
                                      storage_resolver(ctx.rulesets), executor="inline",
                                      lease_seconds=lease, max_attempts=max_attempts,
                                      instance=name)
    return app.state.simulations


@contextlib.contextmanager
def _instance(database_url: str, cache: Path, name: str, *, worker: bool = False,
              lease: float = 30.0, max_attempts: int = 3,
              **settings: Any) -> Iterator[tuple[Any, httpx.Client, ServerThread]]:
    app, keys = make_service(database_url, cache, worker=worker, worker_interval=0.1,
                             **settings)
    runner = _runner(app, name, lease, max_attempts)
    with ServerThread(app) as server, httpx.Client(
            base_url=server.url, timeout=60,
            headers={"Authorization": f"Bearer {keys['analyst']}"}) as client:
        yield runner, client, server


def _store(client: httpx.Client, directory: Path) -> str:
    r = client.post("/v1/rulesets", content=archive(directory),
                    headers={"Content-Type": "application/gzip"})
    assert r.status_code in (200, 201), r.text
    return f"{r.json()['name']}@{r.json()['digest']}"


def _finish(client: httpx.Client, location: str, seen: set[str] | None = None,
            timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(location)
        assert r.status_code == 200, r.text
        if seen is not None:
            seen.add(r.json()["state"])
        if r.json()["state"] in ("done", "failed"):
            return r.json()
        assert time.monotonic() < deadline, f"still {r.json()['state']}: {r.json()}"
        time.sleep(0.1)


def _start(client: httpx.Client, baseline: str, candidate: str) -> httpx.Response:
    r = client.post("/v1/simulations", params={"baseline": baseline, "candidate": candidate},
                    content=(DATA / "orders.jsonl").read_bytes(),
                    headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 202, r.text
    return r


def test_started_on_one_instance_followed_read_and_removed_on_another(database_url,
                                                                      tmp_path):
    with _instance(database_url, tmp_path / "a", "A") as (_, a, _srv), \
            _instance(database_url, tmp_path / "b", "B") as (_, b, _srv2):
        baseline, candidate = _store(a, DATA / "base"), _store(a, DATA / "candidate-rules")
        r = _start(a, baseline, candidate)
        job = r.json()
        assert job["rulesets"] == {"baseline": baseline, "candidate": candidate}
        assert job["progress"]["total"] == 7 and job["attempts"] == 1
        done = _finish(b, r.headers["location"])         # B never saw the request
        assert done["state"] == "done", done
        assert done["progress"] == {"orders": 7, "total": 7, "fraction": 1.0}
        assert done["summary"]["changed_orders"] == 2
        assert done["summary"]["candidate"]["revenue"] == {"EUR": "2374.00"}
        assert done["summary"]["candidate"]["ruleset"]["digest"] == candidate.split("@")[1]
        report = b.get(done["report"])
        assert report.status_code == 200 and "<svg" in report.text, report.text[:300]
        assert report.text == a.get(done["report"]).text
        listed = b.get("/v1/simulations").json()["items"]
        assert [j["id"] for j in listed if j["id"] == job["id"]] == [job["id"]]
        assert all("summary" not in j for j in listed)
        assert {j["state"] for j in b.get("/v1/simulations",
                                          params={"state": "done"}).json()["items"]} == {"done"}
        r = b.get("/v1/simulations", params={"state": "lost"})
        assert r.status_code == 422 and r.json()["error"]["path"] == "state", r.text
        assert b.delete(r.request.url.path + f"/{job['id']}").status_code == 204
        for client in (a, b):
            gone = client.get(f"/v1/simulations/{job['id']}")
            assert gone.status_code == 404, gone.text
            assert gone.json()["error"]["code"] == "SIMULATION_NOT_FOUND"


def test_a_report_is_refused_until_done_and_a_running_job_is_not_removed(database_url,
                                                                       tmp_path):
    with _instance(database_url, tmp_path / "a", "A") as (runner, a, _srv), \
            _instance(database_url, tmp_path / "b", "B") as (_, b, _srv2):
        runner._accepted = lambda job_id, lease: None   # accepted, never run (lease held)
        r = _start(a, _store(a, DATA / "base"), _store(a, DATA / "same"))
        location = r.headers["location"]
        assert b.get(location).json()["state"] == "queued"
        report = b.get(location + "/report.html")
        assert report.status_code == 409, report.text
        assert report.json()["error"]["code"] == "SIMULATION_NOT_DONE"
        gone = b.delete(location)
        assert gone.status_code == 409 and gone.json()["error"]["code"] == "SIMULATION_NOT_DONE"
        assert b.post(location + "/cancel").json()["state"] == "cancelled"   # leave none behind
        assert b.delete(location).status_code == 204


def _many(copies: int) -> bytes:
    """The test stream `copies` times over, each copy's order ids made unique."""
    lines = (DATA / "orders.jsonl").read_text().splitlines()
    return "".join(line.replace('"id": "O', f'"id": "N{n}-O') + "\n"
                   for n in range(copies) for line in lines).encode()


def test_a_job_cancelled_on_another_instance_stops_where_it_runs(database_url, tmp_path):
    import threading

    with _instance(database_url, tmp_path / "a", "A") as (_, a, _srv), \
            _instance(database_url, tmp_path / "b", "B") as (_, b, _srv2):
        ref, other = _store(a, DATA / "base"), _store(a, DATA / "candidate-rules")
        r = a.post("/v1/simulations", params={"baseline": ref, "candidate": other},
                   content=_many(4000), headers={"Content-Type": "application/x-ndjson"})
        assert r.status_code == 202, r.text
        location, job_id = r.headers["location"], r.json()["id"]
        deadline = time.monotonic() + 60
        while b.get(location).json()["state"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        r = b.post(location + "/cancel")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "cancelled" and r.json()["finished"] is not None
        assert b.post(location + "/cancel").json()["state"] == "cancelled"   # again: the same

        def running_on_a() -> bool:
            return any(t.name == f"simulation-{job_id[:8]}" and t.is_alive()
                       for t in threading.enumerate())

        deadline = time.monotonic() + 6         # the whole run takes longer than this
        while running_on_a():                    # A stops at its next progress write
            assert time.monotonic() < deadline, "A's run did not stop"
            time.sleep(0.1)
        job = a.get(location).json()
        assert job["state"] == "cancelled" and "summary" not in job, job
        assert a.get(location + "/report.html").status_code == 409
        done = _finish(a, _start(a, ref, ref).headers["location"])   # A's slot is free again
        assert done["state"] == "done"
        r = b.post(f"/v1/simulations/{done['id']}/cancel")
        assert r.status_code == 409 and r.json()["error"]["code"] == "SIMULATION_FINISHED"
        assert b.post("/v1/simulations/nope/cancel").status_code == 404
        assert b.delete(location).status_code == 204


def test_a_job_whose_instance_died_is_run_by_another_instance(database_url, tmp_path):
    """A accepts the job and dies at once (its lease is never renewed); B and C both run a
    background worker: exactly one of them takes the job over, runs it from the start, and
    every instance then answers with the result."""
    with _instance(database_url, tmp_path / "a", "A", lease=1.0) as (runner_a, a, srv_a):
        runner_a._accepted = lambda job_id, lease: None   # the process dies after storing
        baseline, candidate = _store(a, DATA / "base"), _store(a, DATA / "candidate-rules")
        r = _start(a, baseline, candidate)
        location, job_id = r.headers["location"], r.json()["id"]
    assert not srv_a.thread.is_alive()
    with _instance(database_url, tmp_path / "b", "B", worker=True, lease=1.0) as (_, b, _s), \
            _instance(database_url, tmp_path / "c", "C", worker=True, lease=1.0) as (_, c, _t):
        seen: set[str] = set()
        done = _finish(b, location, seen, timeout=60)
        assert done["state"] == "done", done
        assert done["attempts"] == 2, done                 # one takeover, not two
        assert done["summary"]["changed_orders"] == 2
        assert c.get(location).json()["summary"] == done["summary"]
        assert done["id"] == job_id


def test_a_job_that_keeps_killing_its_instance_is_failed_not_left_running(database_url,
                                                                          tmp_path):
    with _instance(database_url, tmp_path / "a", "A", lease=0.5) as (runner_a, a, _srv):
        runner_a._accepted = lambda job_id, lease: None
        r = _start(a, _store(a, DATA / "base"), _store(a, DATA / "same"))
        location = r.headers["location"]
    with _instance(database_url, tmp_path / "b", "B", worker=True, lease=0.5,
                   max_attempts=2) as (runner_b, b, _srv2):
        runner_b._run = lambda job_id, lease: None       # each takeover dies too
        done = _finish(b, location, timeout=60)
        assert done["state"] == "failed", done
        assert done["attempts"] == 2
        assert done["error"].startswith(
            "the instance running it stopped without finishing, 2 times (its lease of the job "
            "ran out; the last holder was B#"), done["error"]
        assert "report" not in done and "summary" not in done


def test_the_json_body_is_capped_like_every_other_body(database_url, tmp_path):
    with _instance(database_url, tmp_path / "a", "A", max_body_bytes=4000) as (_, a, _srv):
        ref = _store(a, DATA / "base")
        orders = [json.loads(line) for line in (DATA / "orders.jsonl").read_text().splitlines()
                  if line.strip() and '"X"' not in line]
        small = {"baseline": ref, "candidate": ref, "orders": orders[:2]}
        assert len(json.dumps(small)) < 4000
        r = a.post("/v1/simulations", json=small)
        assert r.status_code == 202, r.text
        big = {"baseline": ref, "candidate": ref, "orders": orders * 10}
        assert len(json.dumps(big)) > 4000
        r = a.post("/v1/simulations", json=big)
        assert r.status_code == 413, r.text
        assert r.json()["error"] == {
            "code": "BODY_TOO_LARGE", "path": "$",
            "message": "the body is larger than 4000 bytes (ORDINANCE_MAX_BODY)"}

        def chunks() -> Iterator[bytes]:            # no Content-Length: refused as it streams
            raw = json.dumps(big).encode()
            for i in range(0, len(raw), 1000):
                yield raw[i:i + 1000]

        r = a.post("/v1/simulations", content=chunks(),
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "BODY_TOO_LARGE"
        assert a.get("/health").status_code == 200


def test_the_ndjson_stream_is_capped(database_url, tmp_path, monkeypatch):
    from ordinance.api import routes_simulations

    stream = (DATA / "orders.jsonl").read_bytes()
    monkeypatch.setattr(routes_simulations, "MAX_UPLOAD_BYTES", len(stream) - 1)
    with _instance(database_url, tmp_path / "a", "A") as (_, a, _srv):
        ref = _store(a, DATA / "base")
        message = (f"the order stream is larger than {len(stream) - 1} bytes "
                   "(ORDINANCE_MAX_SIMULATION_UPLOAD)")
        for body in (stream, iter([stream[:100], stream[100:]])):   # declared, then streamed
            r = a.post("/v1/simulations", params={"baseline": ref, "candidate": ref},
                       content=body, headers={"Content-Type": "application/x-ndjson"})
            assert r.status_code == 413, r.text
            assert r.json()["error"] == {"code": "BODY_TOO_LARGE", "message": message}
        monkeypatch.setattr(routes_simulations, "MAX_UPLOAD_BYTES", len(stream))
        r = _start(a, ref, ref)
        assert _finish(a, r.headers["location"])["state"] == "done"


@pytest.mark.slow
def test_a_served_process_killed_mid_run_leaves_its_job_to_another_instance(database_url,
                                                                            tmp_path):
    """The real thing: `ordinance serve` in a process of its own runs a job; while it runs,
    B's worker leaves it alone (its lease is renewed); then the process (and its order
    workers) is killed, and B's worker takes the job over once the lease runs out."""
    import os
    import signal
    import subprocess
    import sys

    from svc_helpers import free_port

    copies = 4000
    stream = _many(copies)
    with _instance(database_url, tmp_path / "b", "B", worker=True, lease=2.0) as (_, b, _s):
        baseline, candidate = _store(b, DATA / "base"), _store(b, DATA / "candidate-rules")
        port = free_port()
        env = {**os.environ, "ORDINANCE_DATABASE_URL": database_url,
               "ORDINANCE_SIMULATION_LEASE": "2", "ORDINANCE_WORKER": "0",
               "ORDINANCE_CACHE_DIR": str(tmp_path / "a")}
        env.pop("ORDINANCE_CLOCK", None)
        with open(tmp_path / "a.log", "w") as log:
            proc = subprocess.Popen(
                [str(Path(sys.executable).with_name("ordinance")), "serve", "--port", str(port)],
                cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)       # its own process group: its workers die with it
        try:
            a_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, (tmp_path / "a.log").read_text()
                try:
                    if httpx.get(a_url + "/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, (tmp_path / "a.log").read_text()
                time.sleep(0.1)
            r = httpx.post(a_url + "/v1/simulations", timeout=60, content=stream,
                           params={"baseline": baseline, "candidate": candidate},
                           headers={"Content-Type": "application/x-ndjson",
                                    "Authorization": b.headers["Authorization"]})
            assert r.status_code == 202, r.text
            location = r.headers["location"]
            deadline = time.monotonic() + 60
            while (job := b.get(location).json())["state"] != "running":
                assert job["state"] == "queued" and time.monotonic() < deadline, job
                time.sleep(0.05)
            time.sleep(2.5)                # longer than the lease: A renews it, B keeps off
            job = b.get(location).json()
            assert (job["state"], job["attempts"]) == ("running", 1), job
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        assert b.get(location).json()["state"] == "running"   # until the lease runs out
        done = _finish(b, location, timeout=120)
        assert done["state"] == "done", done
        assert done["attempts"] == 2
        assert (done["summary"]["orders"], done["summary"]["changed_orders"]) == (
            6 * copies, 2 * copies)


def test_workers_claiming_at_once_take_each_job_exactly_once(database_url):
    """The claim itself, under contention: six claimers start together on six jobs nobody
    holds (FOR UPDATE SKIP LOCKED on PostgreSQL, the write lock on SQLite)."""
    import threading
    import uuid
    from datetime import UTC, datetime, timedelta

    from ordinance.adapters import db as dbmod
    from ordinance.adapters.store_simulations import SimulationStore

    db = dbmod.connect(database_url)
    try:
        dbmod.upgrade(db)
        store = SimulationStore(db)
        now = datetime.now(UTC)
        ids = []
        for _ in range(6):
            ids.append(uuid.uuid4().hex)
            store.create(id=ids[-1], baseline="x@1", candidate="x@1", baseline_ref="x@1",
                         candidate_ref="x@1", options={}, started_by="test",
                         now=now - timedelta(minutes=1), leased_by="gone#1",
                         leased_until=now - timedelta(seconds=1))
        start = threading.Barrier(6)
        claimed: list[tuple[str, str]] = []
        errors: list[BaseException] = []

        def claimer(n: int) -> None:
            try:
                start.wait()
                for i in range(20):
                    job = store.claim(now, f"c{n}#{i}", now + timedelta(seconds=30), 3)
                    if job is None:
                        return
                    claimed.append((job.id, job.leased_by))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=claimer, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        mine = [job_id for job_id, _ in claimed if job_id in ids]
        assert sorted(mine) == sorted(ids)                  # each one, once
        assert len({job_id for job_id, _ in claimed}) == len(claimed)
        for job_id, lease in claimed:
            job = store.get(job_id)
            assert (job.leased_by, job.attempts) == (lease, 2)
        for job_id in ids:
            store.cancel(job_id, now)
            store.delete(job_id)
    finally:
        db.dispose()
