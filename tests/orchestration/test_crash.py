"""Crash test: the service process is killed (SIGKILL) in the middle of a stream of events,
restarted, and the sender delivers again everything it is not sure of (at least once). Every
order's state and timeline, the alerts, reorders, accruals and invoices must be exactly those of
a run without the crash, on SQLite and on PostgreSQL."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ordinance.adapters.eventstore import sample_stream as stream  # noqa: E402
from svc_helpers import create_pg_database, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).with_name("ordinance")
N_ORDERS = 12


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two fresh databases: one for the run without a crash, one for the run with it."""
    if request.param == "sqlite":
        yield (f"sqlite:///{tmp_path}/ref.db", f"sqlite:///{tmp_path}/crash.db")
        return
    a, b = create_pg_database(), create_pg_database()
    try:
        yield a.url, b.url
    finally:
        a.drop()
        b.drop()


def prepare(url: str) -> str:
    from ordinance.adapters import db as dbmod
    from ordinance.adapters import store_keys, store_rulesets

    db = dbmod.connect(url, pool_size=1)
    try:
        dbmod.upgrade(db)
        secret, _ = store_keys.create_key(db, "admin", f"crash-{uuid.uuid4().hex[:6]}")
        _c, info = store_rulesets.store_directory(db, ROOT / "rulesets" / "acme", by="test")
        store_rulesets.activate(db, info["name"], info["digest"], by="test")
    finally:
        db.dispose()
    return secret


class Server:
    def __init__(self, url: str, tmp: Path):
        self.url, self.tmp = url, tmp
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "ORDINANCE_CLOCK": "manual:2026-11-20T09:00:00Z",
               "ORDINANCE_CACHE_DIR": str(self.tmp / "cache")}
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--database-url", self.url, "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=open(self.tmp / "server.log", "ab"),
            cwd=self.tmp)
        deadline = time.monotonic() + 60  # a loaded machine starts it slowly
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code \
                        == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError((self.tmp / "server.log").read_text())
            time.sleep(0.05)
        self.stop()  # never leave the service running behind a failed start
        raise RuntimeError("the service did not start: "
                           + (self.tmp / "server.log").read_text()[-2000:])

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)  # our own child, by its id
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def requests() -> list[tuple[str, str, dict[str, Any]]]:
    orders, events = stream(N_ORDERS, seed=11, prefix="CR")
    out = [("POST", "/v1/orders", {"order": o, "as_of": "2026-11-20"}) for o in orders]
    out += [("POST", f"/v1/orders/{oid}/events", body) for oid, body in events]
    return out


def send(client: httpx.Client, reqs: list[tuple[str, str, dict[str, Any]]],
         acked: list[int] | None = None) -> list[int]:
    codes = []
    for method, path, body in reqs:
        r = client.request(method, path, json=body)
        assert r.status_code < 500, r.text
        codes.append(r.status_code)
        if acked is not None:
            acked.append(r.status_code)
    return codes


def snapshot(client: httpx.Client, order_ids: list[str]) -> dict[str, Any]:
    snap: dict[str, Any] = {}
    for oid in order_ids:
        tl = client.get(f"/v1/orders/{oid}/timeline").json()
        tl["entries"] = [(e["at"], e["kind"], e["from"], e["to"], e["cause"])
                         for e in tl["entries"]]
        snap[oid] = tl
        snap[oid + "/invoices"] = [(d["number"], d["total"], d["lines"]) for d in client.get(
            f"/v1/orders/{oid}/invoices").json()["invoices"]]
    snap["alerts"] = sorted((a["order_id"], a["code"], a["key"], a["priority"], a["state"],
                             a["message"]) for a in client.get(
        "/v1/alerts", params={"state": "all"}).json()["items"])
    snap["reorders"] = [(r["location"], r["sku"], r["quantity"], r["supplier"], r["reason"])
                        for r in client.get("/v1/reorders", params={"state": "all"}).json()[
                            "items"]]
    acc = client.get("/v1/rebates/accruals").json()
    snap["accruals"] = acc["items"]
    snap["claims"] = [(c["order_id"], c["quantity"], c["amount"]) for c in acc["claims"]]
    return snap


@pytest.mark.slow
def test_a_crash_in_the_middle_of_a_stream_loses_and_doubles_nothing(
        urls: tuple[str, str], tmp_path: Path) -> None:
    reqs = requests()
    order_ids = [body["order"]["id"] for _m, p, body in reqs if p == "/v1/orders"]
    ref_url, crash_url = urls

    (tmp_path / "ref").mkdir()
    key = prepare(ref_url)
    ref = Server(ref_url, tmp_path / "ref")
    ref.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{ref.port}",
                          headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
            ref_codes = send(c, reqs)
            expected = snapshot(c, order_ids)
    finally:
        ref.stop()
    assert ref_codes.count(409) < len(ref_codes) // 10  # the stream mostly fits
    assert any(a[1] == "STEP_OVERDUE" for a in expected["alerts"])
    assert expected["accruals"] and any(tl["state"] == "delivered"
                                        for k, tl in expected.items() if k in order_ids)

    (tmp_path / "crash").mkdir()
    key = prepare(crash_url)
    srv = Server(crash_url, tmp_path / "crash")
    srv.start()
    acked: list[int] = []
    failure: list[BaseException] = []

    def sender() -> None:
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}",
                              headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
                send(c, reqs, acked)
        except httpx.HTTPError as exc:  # the kill cuts the request in flight
            failure.append(exc)

    t = threading.Thread(target=sender)
    t.start()
    while len(acked) < len(reqs) // 2 and t.is_alive():
        time.sleep(0.001)
    srv.kill()
    t.join(timeout=30)
    assert failure and len(acked) < len(reqs), "the kill did not interrupt the stream"
    srv.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}",
                          headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
            # at least once: everything again, from the start
            codes = send(c, reqs)
            assert [x if x != 201 else 200 for x in codes] == [
                x if x != 201 else 200 for x in ref_codes]
            got = snapshot(c, order_ids)
    finally:
        srv.stop()
    assert got == expected
