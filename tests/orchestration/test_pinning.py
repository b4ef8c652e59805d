"""Event policies are pinned (issue 13: 6): an order's events are judged by the rule set version
that decided it, not one activated later, until a change order decides it again; the timeline
says which version judged each event and each rule's effect."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from svc_helpers import archive

ACME = Path(__file__).resolve().parents[2] / "rulesets" / "acme"


def upload(orch: Any, directory: Path) -> dict[str, Any]:
    admin = orch.http("admin")
    r = admin.post("/v1/rulesets", content=archive(directory),
                   headers={"Content-Type": "application/gzip"})
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def activate(orch: Any, info: dict[str, Any]) -> None:
    r = orch.http("admin").post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate")
    assert r.status_code == 200, r.text


def declined(orch: Any, oid: str, eid: str) -> dict[str, Any]:
    return dict(orch.event(oid, eid, "payment_declined", at="2026-11-20T09:30:00Z",
                           reference="x"))


def test_events_are_judged_by_the_version_that_decided_the_order(
        orch: Any, tmp_path: Path) -> None:
    first = orch.http("evaluator").get("/v1/rulesets/active").json()
    strict = tmp_path / "acme"
    shutil.copytree(ACME, strict)
    holds = strict / "events" / "holds.yaml"
    holds.write_text(holds.read_text().replace("having: count >= 3", "having: count >= 1"))
    yaml = strict / "ruleset.yaml"
    yaml.write_text(yaml.read_text().replace('version: "2026.11.0"', 'version: "2026.11.1"'))
    orch.order("PIN-1")  # decided under the first version
    second = upload(orch, strict)
    assert second["digest"] != first["digest"]
    activate(orch, second)
    try:
        r = declined(orch, "PIN-1", "d1")
        assert r["state"] == "captured" and r["effects"] == []  # one decline: no hold yet
        tl = orch.timeline("PIN-1")
        judged = [e for e in tl["entries"] if e["kind"] == "event"]
        assert judged[-1]["detail"]["ruleset"] == {"name": first["name"],
                                                   "version": first["version"],
                                                   "digest": first["digest"]}
        # a new order is decided (and judged) under the version active now
        orch.order("PIN-2")
        r = declined(orch, "PIN-2", "d1")
        assert r["state"] == "on_hold"
        tl = orch.timeline("PIN-2")
        hold = next(e for e in tl["entries"] if e["kind"] == "hold")
        assert hold["detail"]["ruleset"]["digest"] == second["digest"]
        assert [e for e in tl["entries"] if e["kind"] == "event"][-1]["detail"][
            "ruleset"]["digest"] == second["digest"]
        # a change order decides PIN-1 again, under the active version: its rules apply now
        body = orch.order_body("PIN-1", lines=[{"id": "1", "sku": "HTL-0001", "quantity": 11}])
        r = orch.http("evaluator").put("/v1/orders/PIN-1", json={"order": body,
                                                                  "as_of": "2026-11-20"})
        assert r.status_code == 200, r.text
        assert r.json()["decision"]["ruleset"]["digest"] == second["digest"]
        r2 = orch.event("PIN-1", "d2", "payment_declined", at="2026-11-20T09:40:00Z",
                        reference="x")
        assert r2["state"] == "on_hold"
    finally:
        activate(orch, first)


def test_an_event_rule_error_is_on_the_timeline_with_its_place(orch: Any, tmp_path: Path) -> None:
    """A rule that fails while judging an event is a `rule_error` entry naming the rule and the
    FILE:LINE:COL of the failing operator; the event still applies (one bad rule never blocks
    an order)."""
    first = orch.http("evaluator").get("/v1/rulesets/active").json()
    broken = tmp_path / "acme"
    shutil.copytree(ACME, broken)
    holds = broken / "events" / "holds.yaml"
    text = holds.read_text()
    assert "having: count >= 3" in text
    holds.write_text(text.replace("having: count >= 3", "having: count / (count - 1) >= 3"))
    yaml = broken / "ruleset.yaml"
    yaml.write_text(yaml.read_text().replace('version: "2026.11.0"', 'version: "2026.11.9"'))
    info = upload(orch, broken)
    activate(orch, info)
    try:
        orch.order("ERR-1")
        r = declined(orch, "ERR-1", "d1")  # count is 1: 1 / 0
        assert r["state"] == "captured"
        tl = orch.timeline("ERR-1")
        errors = [e for e in tl["entries"] if e["kind"] == "rule_error"]
        assert len(errors) == 1, tl["entries"]
        detail = errors[0]["detail"]
        assert detail["rule"] == "holds/failed-authorisations"
        line = text.splitlines().index("    having: count >= 3") + 1
        assert detail["where"].startswith(f"events/holds.yaml:{line}:"), detail
        assert errors[0]["detail"]["code"]
    finally:
        activate(orch, first)
