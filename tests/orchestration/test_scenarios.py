"""Whole lives of orders over HTTP (SQLite and PostgreSQL): lifecycle and its 409s, holds by
failed payments and their release, jeopardy alerts raised, escalated and cleared as the test
clock moves, idempotent events."""
from __future__ import annotations

from datetime import timedelta
from typing import Any


def kinds(tl: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in tl["entries"]]


def test_lifecycle_moves_and_refuses_what_does_not_fit(orch: Any) -> None:
    orch.order("LC-1")
    tl = orch.timeline("LC-1")
    assert tl["state"] == "captured" and tl["entries"] == []
    # shipping before release does not fit: 409 and nothing changes
    r = orch.event("LC-1", "e0", "shipment_confirmed", 409,
                   lines=[{"line_id": "1", "quantity": 1}])
    assert r["error"]["code"] == "WRONG_STATE"
    assert orch.timeline("LC-1")["entries"] == []
    assert orch.event("LC-1", "e1", "scheduled")["state"] == "scheduled"
    assert orch.event("LC-1", "e2", "released")["state"] == "released"
    a = orch.event("LC-1", "e3", "shipment_confirmed", lines=[{"line_id": "1", "quantity": 4}])
    assert (a["previous_state"], a["state"]) == ("released", "shipped")
    # delivered needs every line shipped
    r = orch.event("LC-1", "e4", "delivered", 409)
    assert "not fully shipped" in r["error"]["message"]
    # more than ordered: 409 with the JSON path of the quantity
    r = orch.event("LC-1", "e5", "shipment_confirmed", 409,
                   lines=[{"line_id": "2", "quantity": 5}, {"line_id": "1", "quantity": 7}])
    assert r["error"]["code"] == "OVER_SHIPPED" and r["error"]["path"] == "$.lines[1].quantity"
    orch.event("LC-1", "e6", "shipment_confirmed",
               lines=[{"line_id": "1", "quantity": 6}, {"line_id": "2", "quantity": 5}])
    tl = orch.timeline("LC-1")
    assert tl["lines"]["1"]["shipped"] == "10" and tl["lines"]["2"]["shipped"] == "5"
    for eid, etype, state in (("e7", "delivered", "delivered"), ("e8", "billed", "billed"),
                              ("e9", "paid", "paid"), ("e10", "closed", "closed")):
        assert orch.event("LC-1", eid, etype)["state"] == state
    r = orch.event("LC-1", "e11", "payment_declined", 409)
    assert r["error"]["details"]["state"] == "closed"
    tl = orch.timeline("LC-1")
    moves = [(e["from"], e["to"]) for e in tl["entries"] if e["kind"] == "transition"]
    assert moves == [("captured", "scheduled"), ("scheduled", "released"),
                     ("released", "shipped"), ("shipped", "delivered"),
                     ("delivered", "billed"), ("billed", "paid"), ("paid", "closed")]
    assert all(e["actor"].startswith("evaluator") for e in tl["entries"])
    assert tl["process"] == "web-parcel" and [s["id"] for s in tl["plan"]] == [
        "schedule", "reserve", "ship", "bill"]


def test_events_are_idempotent_and_validated(orch: Any) -> None:
    orch.order("ID-1")
    first = orch.event("ID-1", "x1", "scheduled")
    again = orch.event("ID-1", "x1", "scheduled")
    assert again["duplicate"] is True and again["state"] == first["state"] == "scheduled"
    assert kinds(orch.timeline("ID-1")).count("event") == 1
    r = orch.event("ID-1", "x1", "released", 409)
    assert r["error"]["code"] == "EVENT_ID_REUSED"
    c = orch.http("evaluator")
    for body, path in (({"type": "scheduled"}, "$.id"), ({"id": "a", "type": "Bad Type"},
                                                         "$.type"),
                       ({"id": "a", "type": "x", "at": "2026-11-20"}, "$.at"),
                       ({"id": "a", "type": "shipment_confirmed",
                         "lines": [{"line_id": "1", "quantity": -1}]}, "$.lines[0].quantity"),
                       ({"id": "a", "type": "step_started"}, "$.step"),
                       ([1, 2], "$")):
        r = c.post("/v1/orders/ID-1/events", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["path"] == path
    r = c.post("/v1/orders/ID-1/events", content=b'{"id": "n", "type": "x", "amount": NaN}',
               headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert c.post("/v1/orders/NOPE/events", json={"id": "a", "type": "x"}).status_code == 404
    assert c.get("/v1/orders/NOPE/timeline").status_code == 404
    assert orch.svc.client(None).post("/v1/orders/ID-1/events",
                                      json={"id": "z", "type": "x"}).status_code == 401


def test_three_declines_within_an_hour_hold_and_an_authorisation_releases(orch: Any) -> None:
    orch.order("HOLD-1")
    base = "2026-11-20T10:"
    # two declines, then one more than an hour after the first: no hold yet
    orch.event("HOLD-1", "d1", "payment_declined", at=base + "00:00Z")
    orch.event("HOLD-1", "d2", "payment_declined", at=base + "30:00Z")
    r = orch.event("HOLD-1", "d3", "payment_declined", at="2026-11-20T11:00:00Z")
    assert r["state"] == "captured" and r["effects"] == []
    r = orch.event("HOLD-1", "d4", "payment_declined", at="2026-11-20T11:10:00Z")
    assert r["state"] == "on_hold"
    assert r["holds"][0]["code"] == "PAYMENT_FAILURES"
    assert r["holds"][0]["reason"] == "3 failed payment authorisations within an hour"
    assert [a["code"] for a in orch.alerts(order_id="HOLD-1")] == ["PAYMENT_FAILURES"]
    # on hold, the order cannot be scheduled
    assert orch.event("HOLD-1", "s1", "scheduled", 409)["error"]["code"] == "WRONG_STATE"
    r = orch.event("HOLD-1", "ok", "payment_authorised", reference="AUTH-77",
                   at="2026-11-20T11:20:00Z")
    assert r["state"] == "captured" and r["holds"] == []
    assert orch.alerts(order_id="HOLD-1") == []
    tl = orch.timeline("HOLD-1")
    rel = [e for e in tl["entries"] if e["kind"] == "release"]
    assert rel[0]["cause"] == "payment authorised (AUTH-77)"
    assert rel[0]["from"] == "on_hold" and rel[0]["to"] == "captured"
    assert orch.event("HOLD-1", "s2", "scheduled")["state"] == "scheduled"


def test_a_person_releases_a_hold_with_a_reason(orch: Any) -> None:
    orch.order("HOLD-2")
    for i in range(3):
        orch.event("HOLD-2", f"d{i}", "payment_declined", at=f"2026-11-20T10:0{i}:00Z")
    assert orch.timeline("HOLD-2")["state"] == "on_hold"
    c = orch.http("approver")
    assert orch.http("evaluator").post("/v1/orders/HOLD-2/holds/release",
                                       json={"reason": "x"}).status_code == 403
    r = c.post("/v1/orders/HOLD-2/holds/release", json={})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.reason"
    r = c.post("/v1/orders/HOLD-2/holds/release",
               json={"reason": "customer called, card fixed"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "captured"
    rel = next(e for e in orch.timeline("HOLD-2")["entries"] if e["kind"] == "release")
    assert rel["cause"] == "customer called, card fixed" and rel["actor"].startswith("key ")
    r = c.post("/v1/orders/HOLD-2/holds/release", json={"reason": "again"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "NOT_ON_HOLD"


def test_jeopardy_raised_escalated_and_cleared_as_time_moves(orch: Any) -> None:
    orch.order("JEO-1", customer={"id": "C-00041"}, currency="GBP",
               ship_to={"street": "1 High St", "city": "Bristol", "country": "GB",
                        "postal": "NN1 6AB"})
    orch.clock.set("2026-11-21T09:00:00Z")
    orch.event("JEO-1", "j1", "scheduled", at="2026-11-21T09:00:00Z")
    # the web-parcel process plans 1d for the ship step
    orch.event("JEO-1", "j2", "step_started", step="ship", at="2026-11-21T09:00:00Z")
    orch.clock.advance(timedelta(hours=23))
    orch.tick()
    assert orch.alerts(order_id="JEO-1") == []
    orch.clock.advance(timedelta(hours=2))  # 2 h past due: raised; platinum, 0 days late
    orch.tick()
    (a,) = orch.alerts(order_id="JEO-1")
    assert (a["code"], a["priority"], a["key"]) == ("STEP_OVERDUE", "medium", "ship")
    assert a["message"] == "step ship of order JEO-1 is 0 day(s) past its planned 1d"
    orch.clock.advance(timedelta(days=1))  # a day late and platinum: high
    orch.tick()
    (a,) = orch.alerts(order_id="JEO-1")
    assert a["priority"] == "high" and "1 day(s)" in a["message"]
    assert [x["order_id"] for x in orch.alerts(priority="high")].count("JEO-1") == 1
    orch.event("JEO-1", "j3", "step_completed", step="ship",
               at=orch.clock.now().isoformat())
    assert orch.alerts(order_id="JEO-1") == []
    cleared = orch.alerts(order_id="JEO-1", state="cleared")
    assert cleared[0]["clear_reason"] == "step ship completed"
    orch.clock.advance(timedelta(days=3))
    assert orch.tick()["fired"] == 0  # the timer was cancelled by step_completed


def test_a_step_completed_in_time_never_alerts_and_promise_dates(orch: Any) -> None:
    orch.order("JEO-2")
    orch.event("JEO-2", "s", "step_started", step="schedule", at="2026-11-20T09:00:00Z")
    orch.event("JEO-2", "c", "step_completed", step="schedule", at="2026-11-20T09:30:00Z")
    # an event later than the due time fires due timers first: none are armed any more
    orch.event("JEO-2", "x", "eta_updated", eta="2026-11-24", at="2026-11-21T09:00:00Z")
    assert orch.alerts(order_id="JEO-2") == []
    r = orch.event("JEO-2", "y", "eta_updated", eta="2026-11-29", at="2026-11-21T10:00:00Z")
    assert [(e["kind"], e.get("code") or e.get("topic")) for e in r["effects"]] == [
        ("alert", "PROMISE_AT_RISK"), ("notify", "customer-service")]
    (a,) = orch.alerts(order_id="JEO-2")
    assert a["priority"] == "high"  # four days after the requested 2026-11-25
    orch.event("JEO-2", "z", "eta_updated", eta="2026-11-25", at="2026-11-21T11:00:00Z")
    assert orch.alerts(order_id="JEO-2") == []


def test_alert_filters_are_validated(orch: Any) -> None:
    c = orch.http("evaluator")
    r = c.get("/v1/alerts", params={"priority": "urgent"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "priority"
    assert c.get("/v1/alerts", params={"state": "x"}).status_code == 422


def test_a_batch_commits_what_fits_and_answers_each_event(orch: Any) -> None:
    orch.order("BA-1")
    orch.order("BA-2")
    r = orch.http("evaluator").post("/v1/events/batch", json={"events": [
        {"order_id": "BA-1", "event": {"id": "1", "type": "scheduled"}},
        {"order_id": "BA-2", "event": {"id": "1", "type": "released"}},
        {"order_id": "BA-2", "event": {"id": "2", "type": "Bad"}},
        {"order_id": "NOPE", "event": {"id": "1", "type": "scheduled"}},
        {"order_id": "BA-1", "event": {"id": "2", "type": "released"}},
        {"order_id": "BA-1", "event": {"id": "1", "type": "scheduled"}},
    ]})
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["status"] for x in res] == [200, 409, 422, 404, 200, 200]
    assert res[2]["error"]["path"] == "$.type" and res[5]["duplicate"] is True
    assert orch.timeline("BA-1")["state"] == "released"
    tl = orch.timeline("BA-2")
    assert tl["state"] == "captured" and tl["entries"] == []
    bad = orch.http("evaluator").post("/v1/events/batch", json={"events": [{"x": 1}]})
    assert bad.status_code == 422 and bad.json()["error"]["path"] == "$.events[0]"
    bad = orch.http("evaluator").post("/v1/events/batch", content=b'{"events": [',
                                      headers={"Content-Type": "application/json"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "BAD_JSON"
    # amounts stay exact (no float on the way): the timeline keeps every digit
    r = orch.http("evaluator").post(
        "/v1/events/batch", content=b'{"events": [{"order_id": "BA-1", "event": {"id": "3", '
        b'"type": "payment_declined", "amount": 12.345678901234567890123}}]}',
        headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["results"][0]["status"] == 200, r.text
    entry = [e for e in orch.timeline("BA-1")["entries"] if e["kind"] == "event"][-1]
    assert entry["detail"]["payload"]["amount"] == "12.345678901234567890123"
