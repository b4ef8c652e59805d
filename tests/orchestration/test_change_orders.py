"""Change orders over HTTP: a change while shipping cancels the outstanding fulfilment request,
is decided again and rescheduled, and what was shipped stays shipped; a change that needs
approval waits for it."""
from __future__ import annotations

from typing import Any


def change(orch: Any, oid: str, **over: Any) -> dict[str, Any]:
    body = orch.order_body(oid, **over)
    r = orch.http("evaluator").put(f"/v1/orders/{oid}", json={"order": body,
                                                              "as_of": "2026-11-20"})
    assert r.status_code == 200, r.text
    return r.json()


def test_change_while_shipping_cancels_reschedules_and_keeps_what_shipped(orch: Any) -> None:
    orch.order("CH-1")
    orch.event("CH-1", "s", "scheduled", at="2026-11-20T10:00:00Z")
    orch.event("CH-1", "r", "released", at="2026-11-20T10:05:00Z")
    orch.event("CH-1", "st", "step_started", step="ship", at="2026-11-20T10:05:00Z")
    orch.event("CH-1", "p1", "shipment_confirmed", at="2026-11-20T11:00:00Z",
               lines=[{"line_id": "1", "quantity": 4}])
    v = change(orch, "CH-1", lines=[{"id": "1", "sku": "HTL-0001", "quantity": 10},
                                    {"id": "2", "sku": "FAS-0002", "quantity": 9}])
    assert v["version"] == 2 and v["status"] == "accepted"
    tl = orch.timeline("CH-1")  # orchestration followed the change at once
    assert tl["state"] == "scheduled"
    r = orch.event("CH-1", "chg", "order_changed", at="2026-11-20T12:00:00Z")
    assert (r["previous_state"], r["state"]) == ("scheduled", "scheduled")  # nothing more
    tl = orch.timeline("CH-1")
    assert [e["kind"] for e in tl["entries"]].count("fulfilment_cancelled") == 1
    kinds = [e["kind"] for e in tl["entries"]]
    assert kinds.index("change") < kinds.index("fulfilment_cancelled")
    moved = [e for e in tl["entries"] if e["kind"] == "transition"][-1]
    assert (moved["from"], moved["to"]) == ("shipped", "scheduled")
    assert "rescheduled" in moved["cause"]
    assert tl["lines"]["1"]["shipped"] == "4" and tl["lines"]["2"]["ordered"] == "9"
    # the step timer of the cancelled request is gone: no jeopardy alert days later
    orch.event("CH-1", "r2", "released", at="2026-11-25T12:00:00Z")
    assert [a for a in orch.alerts(order_id="CH-1") if a["code"] == "STEP_OVERDUE"] == []
    orch.event("CH-1", "p2", "shipment_confirmed", at="2026-11-25T13:00:00Z",
               lines=[{"line_id": "1", "quantity": 6}, {"line_id": "2", "quantity": 9}])
    r = orch.event("CH-1", "p3", "shipment_confirmed", 409, at="2026-11-25T14:00:00Z",
                   lines=[{"line_id": "1", "quantity": 1}])
    assert r["error"]["code"] == "OVER_SHIPPED"


def test_a_change_that_needs_approval_waits_for_it(orch: Any) -> None:
    orch.order("CH-2", customer={"id": "C-00047"}, payment={"method": "invoice"},
               ship_to={"street": "1 Main", "city": "Houston", "country": "US", "state": "TX",
                        "postal": "77001"})
    orch.event("CH-2", "s", "scheduled")
    v = change(orch, "CH-2", customer={"id": "C-00047"}, payment={"method": "invoice"},
               ship_to={"street": "1 Main", "city": "Houston", "country": "US", "state": "TX",
                        "postal": "77001"},
               lines=[{"id": "1", "sku": "INS-0002", "quantity": 12}])
    assert v["status"] == "pending_approval"
    assert orch.timeline("CH-2")["state"] == "pending_approval"  # waits, at once
    assert orch.event("CH-2", "r", "released", 409)["error"]["code"] == "WRONG_STATE"
    tasks = orch.http("admin").get("/v1/approvals", params={"order_id": "CH-2"}).json()["items"]
    for t in sorted((t for t in tasks if t["order_id"] == "CH-2"), key=lambda t: t["level"]):
        r = orch.http("admin").post(f"/v1/approvals/{t['id']}", json={"action": "approve"})
        assert r.status_code == 200, r.text
    assert orch.timeline("CH-2")["state"] == "captured"  # approved: it goes on at once
    r = orch.event("CH-2", "after", "scheduled")
    assert (r["previous_state"], r["state"]) == ("captured", "scheduled")
