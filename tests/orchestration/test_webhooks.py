"""Webhooks over HTTP: a hold and an alert reach a receiver on 127.0.0.1, signed with
HMAC-SHA256; a failing receiver is retried with back-off as the clock moves; nothing is lost
and a delivery id never changes."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Iterator

import pytest

SECRET = "s3cret-s3cret-s3cret"


class Receiver:
    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.fail = 0
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.fail > 0:
                    outer.fail -= 1
                    self.send_response(500)
                else:
                    outer.got.append((dict(self.headers), body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("ORDINANCE_WEBHOOK_HOSTS", "127.0.0.1")
    r = Receiver()
    yield r
    r.close()


def test_holds_and_alerts_are_delivered_signed_and_retried(orch: Any,
                                                           receiver: Receiver) -> None:
    admin = orch.http("admin")
    r = admin.post("/v1/webhooks", json={"url": "http://example.com/x", "secret": SECRET})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.url"
    r = admin.post("/v1/webhooks", json={"url": receiver.url, "secret": "short"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.secret"
    r = admin.post("/v1/webhooks", json={"url": receiver.url, "secret": SECRET,
                                         "topics": ["status", "alert"]})
    assert r.status_code == 201, r.text
    orch.order("WH-1")
    orch.clock.set("2026-11-20T10:00:00Z")
    for i in range(3):
        orch.event("WH-1", f"d{i}", "payment_declined", at=f"2026-11-20T10:0{i}:00Z")
    orch.clock.set("2026-11-20T10:05:00Z")
    receiver.fail = 1  # the first attempt fails
    out = admin.post("/v1/webhooks/deliver").json()
    assert out["failed"] == 1
    every = admin.get("/v1/webhooks/outbox", params={"state": "all"}).json()["items"]
    mine = [m for m in every if m["payload"]["order_id"] == "WH-1"]
    assert {m["topic"] for m in mine} == {"status", "alert"}
    assert any(m["attempts"] == 1 and m["last_error"] == "HTTP 500" for m in mine)
    # not due again until the back-off has passed; then everything arrives, once
    admin.post("/v1/webhooks/deliver")
    orch.clock.advance(timedelta(seconds=3))
    admin.post("/v1/webhooks/deliver")
    assert [m for m in admin.get("/v1/webhooks/outbox").json()["items"]
            if m["payload"]["order_id"] == "WH-1"] == []
    got = [(h, json.loads(b)) for h, b in receiver.got]
    ids = [h["X-Ordinance-Delivery"] for h, _ in got]
    assert len(ids) == len(set(ids)) == len(mine)
    for (headers, _), (_, raw) in zip(got, receiver.got):
        expect = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert headers["X-Ordinance-Signature"] == expect
    kinds = [(p["kind"], p.get("to")) for _, p in got]
    assert ("hold", "on_hold") in kinds and ("alert", None) in kinds
    orch.clock.set("2026-11-20T09:00:00Z")


def test_a_notify_action_reaches_subscribers_of_its_topic(orch: Any, receiver: Receiver) -> None:
    admin = orch.http("admin")
    r = admin.post("/v1/webhooks", json={"url": receiver.url, "secret": SECRET,
                                         "topics": ["notify"]})
    assert r.status_code == 201, r.text
    orch.order("WH-N")  # requested 2026-11-25
    orch.event("WH-N", "e1", "eta_updated", eta="2026-11-26")  # a day late: no call
    orch.event("WH-N", "e2", "eta_updated", eta="2026-11-29")  # four days: call them
    admin.post("/v1/webhooks/deliver")
    mine = [json.loads(b) for h, b in receiver.got
            if h["X-Ordinance-Topic"] == "notify" and json.loads(b)["order_id"] == "WH-N"]
    assert len(mine) == 1
    assert mine[0]["detail"] == {"topic": "customer-service",
                                 "message": "order WH-N arrives 2026-11-29: call the customer"}
    r = admin.post("/v1/webhooks", json={"url": receiver.url, "secret": SECRET,
                                         "topics": ["sms"]})
    assert r.status_code == 422 and "notify" in r.json()["error"]["message"]


def test_fulfilment_requests_reach_the_fulfilment_endpoint_only(orch: Any,
                                                               receiver: Receiver) -> None:
    """Scheduling sends what each line still needs and where it is reserved to the
    subscriptions of topic `fulfilment`; a cancellation sends the cancel; a subscription that
    names no topics (people's) does not get them."""
    admin = orch.http("admin")
    r = admin.post("/v1/webhooks", json={"url": receiver.url, "secret": SECRET,
                                         "topics": ["fulfilment"]})
    assert r.status_code == 201, r.text
    r = admin.post("/v1/webhooks", json={"url": receiver.url + "/people", "secret": SECRET})
    assert r.status_code == 201 and "fulfilment" not in r.json()["topics"], r.text
    people = r.json()["id"]
    orch.order("FR-1")
    orch.event("FR-1", "s1", "scheduled")
    orch.event("FR-1", "c1", "cancelled")
    admin.post("/v1/webhooks/deliver")  # earlier tests' receivers are gone: theirs fail
    mine = [json.loads(b) for h, b in receiver.got
            if h["X-Ordinance-Topic"] == "fulfilment" and json.loads(b)["order_id"] == "FR-1"]
    assert [p["kind"] for p in mine] == ["fulfilment_request", "fulfilment_cancelled"]
    request = mine[0]["detail"]
    assert {ln["line_id"]: (ln["sku"], ln["quantity"]) for ln in request["lines"]} == {
        "1": ("HTL-0001", "10"), "2": ("FAS-0002", "5")}
    for ln in request["lines"]:  # reserved somewhere, for the whole quantity
        assert sum(int(q) for q in ln["allocations"].values()) == int(ln["quantity"])
    every = admin.get("/v1/webhooks/outbox", params={"state": "all"}).json()["items"]
    assert not [m for m in every if m["subscription_id"] == people
                and m["topic"] == "fulfilment"]
