"""Holds made by the decision (trade compliance, screening) are holds like any other: the
timeline shows them and a person releases them with a reason, after which the order goes on."""
from __future__ import annotations

from typing import Any

RUSSIA = {"street": "1 Tverskaya", "city": "Moscow", "country": "RU", "postal": "125009"}


def test_a_decision_hold_is_shown_and_released_with_a_reason(orch: Any) -> None:
    decided = orch.order("DH-1", ship_to=RUSSIA)
    assert decided["status"] == "on_hold", decided
    assert [h["code"] for h in decided["decision"]["holds"]] == ["DESTINATION_REVIEW"]
    seen = orch.timeline("DH-1")
    assert seen["state"] == "on_hold"
    assert [h["code"] for h in seen["holds"]] == ["DESTINATION_REVIEW"]
    assert seen["holds"][0]["by"] == "decision"
    approver = orch.http("approver")
    r = approver.post("/v1/orders/DH-1/holds/release", json={})
    assert r.status_code == 422, r.text  # a reason is required
    r = approver.post("/v1/orders/DH-1/holds/release",
                      json={"reason": "end user checked by trade compliance"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "captured" and r.json()["holds"] == []
    orch.event("DH-1", "s1", "scheduled")
    t = orch.timeline("DH-1")
    assert t["state"] == "scheduled"
    release = [e for e in t["entries"] if e["kind"] == "release"]
    assert release and release[0]["cause"] == "end user checked by trade compliance"
    assert release[0]["detail"] == {"codes": ["DESTINATION_REVIEW"]}


def test_a_change_order_that_is_held_can_be_released(orch: Any) -> None:
    orch.order("DH-2")
    orch.event("DH-2", "s1", "scheduled")
    r = orch.http("evaluator").put("/v1/orders/DH-2", json={
        "order": orch.order_body("DH-2", ship_to=RUSSIA), "as_of": "2026-11-20"})
    assert r.status_code == 200, r.text
    t = orch.timeline("DH-2")
    assert t["state"] == "on_hold" and [h["code"] for h in t["holds"]] == ["DESTINATION_REVIEW"]
    r = orch.http("approver").post("/v1/orders/DH-2/holds/release",
                                   json={"reason": "licence on file"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "scheduled"  # back to where the change order would have put it
