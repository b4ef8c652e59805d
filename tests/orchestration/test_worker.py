"""The background worker: due work runs by itself, one failing job does not stop the others, and
several processes delivering the same outbox post each message once (leases, SKIP LOCKED)."""
from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
from svc_helpers import database_url  # noqa: F401 - the shared fixture

from ordinance.adapters import db as dbmod
from ordinance.adapters import webhooks
from ordinance.adapters.models_orchestration import OutboxMessage
from ordinance.adapters.worker import Worker

SECRET = "worker-secret-1234"


def test_a_failing_job_is_reported_and_the_others_still_run() -> None:
    calls: list[str] = []

    def broken() -> dict[str, Any]:
        raise RuntimeError("database gone")

    def fine() -> dict[str, Any]:
        calls.append("fine")
        return {"fired": 1}

    worker = Worker([("timers", broken), ("webhooks", fine)], interval=0.01)
    assert worker.run_once() == {"timers": {"error": "RuntimeError"}, "webhooks": {"fired": 1}}
    worker.start()
    deadline = time.monotonic() + 5
    while worker.rounds < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stop()
    assert worker.rounds >= 3 and len(calls) == worker.rounds
    rounds = worker.rounds
    time.sleep(0.05)
    assert worker.rounds == rounds  # stopped means stopped
    with pytest.raises(ValueError):
        Worker([], interval=0)


class SlowReceiver:
    """Counts deliveries per message id; answers slowly so that deliverers overlap."""

    def __init__(self) -> None:
        self.got: dict[str, int] = {}
        self.lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(0.02)
                with outer.lock:
                    key = self.headers["X-Ordinance-Delivery"]
                    outer.got[key] = outer.got.get(key, 0) + 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowReceiver]:
    monkeypatch.setenv("ORDINANCE_WEBHOOK_HOSTS", "127.0.0.1")
    r = SlowReceiver()
    yield r
    r.close()


def test_parallel_deliverers_post_each_message_once(database_url: str,  # noqa: F811
                                                     receiver: SlowReceiver) -> None:
    db = dbmod.connect(database_url)
    dbmod.upgrade(db)
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    try:
        sub = webhooks.subscribe(db, {"url": receiver.url, "secret": SECRET}, now)
        with db.session(write=True) as s:
            s.add_all(OutboxMessage(subscription_id=sub["id"], topic="status",
                                    payload=f'{{"n":{i}}}', state="pending", attempts=0,
                                    next_attempt_at=now - timedelta(seconds=1))
                      for i in range(40))
        with db.session() as s:
            mine = [m.id for m in s.query(OutboxMessage).filter_by(subscription_id=sub["id"])]
        results: list[dict[str, int]] = []

        def deliver() -> None:
            while True:
                out = webhooks.deliver_due(db, now, limit=5)
                results.append(out)
                if out["delivered"] == 0 and out["failed"] == 0:
                    return

        threads = [threading.Thread(target=deliver) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(int(k) for k in receiver.got) == sorted(mine)
        assert set(receiver.got.values()) == {1}, "a message was posted twice"
        assert sum(r["delivered"] for r in results) == len(mine)
        with db.session() as s:
            states = {m.state for m in s.query(OutboxMessage).filter(OutboxMessage.id.in_(mine))}
        assert states == {"delivered"}
    finally:
        db.dispose()


def test_a_lease_that_runs_out_is_delivered_again(database_url: str,  # noqa: F811
                                                  receiver: SlowReceiver) -> None:
    """A process that leased a message and died: the message is not due during the lease and
    is delivered by another process after it."""
    db = dbmod.connect(database_url)
    dbmod.upgrade(db)
    now = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    try:
        sub = webhooks.subscribe(db, {"url": receiver.url, "secret": SECRET}, now)
        with db.session(write=True) as s:
            msg = OutboxMessage(subscription_id=sub["id"], topic="status", payload="{}",
                                state="pending", attempts=0, next_attempt_at=now)
            s.add(msg)
            s.flush()
            msg_id = msg.id
            # what deliver_due's lease does before a crash
            msg.next_attempt_at = now + timedelta(seconds=webhooks.LEASE_SECONDS)
        assert webhooks.deliver_due(db, now + timedelta(seconds=1))["delivered"] == 0
        later = now + timedelta(seconds=webhooks.LEASE_SECONDS + 1)
        assert webhooks.deliver_due(db, later)["delivered"] >= 1
        assert receiver.got.get(str(msg_id)) == 1
    finally:
        db.dispose()


def test_a_served_process_delivers_by_itself(database_url: str,  # noqa: F811
                                             receiver: SlowReceiver,
                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    """With the worker on (as `ordinance serve` runs it) and the system clock, what an event
    writes to the outbox reaches the receiver with nobody calling /v1/webhooks/deliver."""
    from svc_helpers import ServerThread, Service, archive, make_service

    acme = Path(__file__).resolve().parents[2] / "rulesets" / "acme"

    app, keys = make_service(database_url, tmp_path_factory.mktemp("cache"), worker=True,
                             worker_interval=0.1)
    with ServerThread(app) as server:
        svc = Service(server.url, database_url, keys, app)
        try:
            admin = svc.client("admin")
            r = admin.post("/v1/rulesets", content=archive(acme),
                           headers={"Content-Type": "application/gzip"})
            assert r.status_code in (200, 201), r.text
            info = r.json()
            admin.post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate")
            r = admin.post("/v1/webhooks", json={"url": receiver.url, "secret": SECRET,
                                                 "topics": ["status", "fulfilment"]})
            assert r.status_code == 201, r.text
            order = {"id": "WK-1", "channel": "web", "currency": "USD",
                     "customer": {"id": "C-00004"}, "payment": {"method": "card"},
                     "ship_to": {"street": "1 Main St", "city": "Tampa", "country": "US",
                                 "state": "FL", "postal": "33636"},
                     "lines": [{"id": "1", "sku": "HTL-0001", "quantity": 10}]}
            ev = svc.client("evaluator")
            r = ev.post("/v1/orders", json={"order": order, "as_of": "2026-11-20"})
            assert r.status_code == 201, r.text
            r = ev.post("/v1/orders/WK-1/events", json={"id": "s1", "type": "scheduled"})
            assert r.status_code == 200, r.text
            deadline = time.monotonic() + 15
            while len(receiver.got) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(receiver.got) >= 2  # the transition and the fulfilment request
            assert app.state.orchestration is not None
        finally:
            svc.close()
