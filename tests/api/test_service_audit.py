"""Every read of customer or order data leaves exactly one audit entry per request, whatever
its outcome (404 and 403 included), over real HTTP on SQLite and PostgreSQL; nothing is
answered without its entry; and every GET route is either audited or listed as holding no
customer or order data."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text


def _rows(service) -> list[dict]:
    with service.app.state.ctx.db.session() as s:
        return [dict(r._mapping) for r in s.execute(text(
            "SELECT id, key_name, key_id, action, order_id, decision_id, detail, at "
            "FROM audit_log ORDER BY id"))]


def _one_read(service, who: str, path: str, **params) -> tuple[object, list[dict]]:
    before = _rows(service)[-1]["id"] if _rows(service) else 0
    r = service.client(who).get(path, params=params or None)
    new = [row for row in _rows(service) if row["id"] > before]
    return r, new


@pytest.fixture(scope="module")
def order(service):
    oid = f"AUD-{uuid.uuid4().hex[:8]}"
    r = service.client("evaluator").post("/v1/orders", json={
        "order": {"id": oid, "customer": {"id": "C-AUD"},
                  "lines": [{"id": "1", "sku": "X-1", "quantity": 1}]}})
    assert r.status_code == 201, r.text
    return r.json()


READS = [
    # (who, path template, action, params)
    ("evaluator", "/v1/orders/{oid}", "read_order", {}),
    ("analyst", "/v1/orders/{oid}/versions", "read_versions", {}),
    ("analyst", "/v1/orders/{oid}/audit", "read_audit", {}),
    ("evaluator", "/v1/orders/{oid}/timeline", "read_timeline", {}),
    ("evaluator", "/v1/orders/{oid}/payments", "read_payments", {}),
    ("evaluator", "/v1/orders/{oid}/invoices", "read_invoices", {}),
    ("evaluator", "/v1/invoices/INV-NONE-{oid}", "read_invoice", {}),
    ("analyst", "/v1/orders", "list_orders", {"customer": "C-AUD"}),
    ("analyst", "/v1/decisions", "list_decisions", {"limit": "20"}),
    ("analyst", "/v1/decisions/{did}", "read_decision", {}),
    ("approver", "/v1/approvals", "list_approvals", {"state": "all"}),
    ("evaluator", "/v1/alerts", "list_alerts", {"state": "all"}),
    ("analyst", "/v1/reports/top", "read_report", {"by": "customer"}),
    ("admin", "/v1/keys", "list_keys", {}),
]


@pytest.mark.parametrize("who, template, action, params", READS,
                         ids=[r[2] for r in READS])
def test_each_read_writes_one_entry(service, order, who, template, action, params):
    oid, did = order["order_id"], order["decision_id"]
    path = template.format(oid=oid, did=did)
    r, new = _one_read(service, who, path, **params)
    assert r.status_code < 500, r.text
    assert len(new) == 1, new
    row = new[0]
    assert row["action"] == action
    assert row["key_name"].startswith(who + "-") and row["key_id"] is not None
    assert row["at"] is not None
    route = template.replace("INV-NONE-{oid}", "{number}").replace(
        "{oid}", "{order_id}").replace("{did}", "{decision_id}")
    assert row["detail"].startswith(f"GET {route}")
    assert row["detail"].endswith(f"-> {r.status_code}"), row
    if "{oid}" in template and "/invoices/" not in template or "{did}" in template:
        assert row["order_id"] == oid  # a decision's read is filed under its order
    if "{did}" in template:
        assert row["decision_id"] == did


def test_listing_the_decision_log_writes_one_entry_not_one_per_item(service, order):
    for i in range(3):
        assert service.client("evaluator").post("/v1/decisions", json={"order": {
            "id": f"D{i}", "lines": [{"id": "1", "sku": "X-1", "quantity": 1}]}}
        ).status_code == 200
    r, new = _one_read(service, "analyst", "/v1/decisions", limit="50")
    assert r.status_code == 200 and len(r.json()["items"]) >= 2
    assert [row["action"] for row in new] == ["list_decisions"]
    assert new[0]["detail"] == "GET /v1/decisions?limit=50 -> 200"


def test_reads_that_find_nothing_or_are_forbidden_leave_a_trace(service):
    ghost = f"GHOST-{uuid.uuid4().hex[:8]}"
    r, new = _one_read(service, "evaluator", f"/v1/orders/{ghost}")
    assert r.status_code == 404
    assert [(x["action"], x["order_id"], x["detail"]) for x in new] == [
        ("read_order", ghost, "GET /v1/orders/{order_id} -> 404")]
    r, new = _one_read(service, "analyst", "/v1/decisions/dec_nothere")
    assert r.status_code == 404
    assert [(x["action"], x["decision_id"], x["order_id"]) for x in new] == [
        ("read_decision", "dec_nothere", None)]
    r, new = _one_read(service, "evaluator", f"/v1/orders/{ghost}/versions")
    assert r.status_code == 403
    assert [(x["action"], x["detail"]) for x in new] == [
        ("read_versions", "GET /v1/orders/{order_id}/versions -> 403")]
    # no key: refused at the door, no audited read (the access log has it)
    before = len(_rows(service))
    assert service.client(None).get(f"/v1/orders/{ghost}").status_code == 401
    assert len(_rows(service)) == before


def test_the_order_trail_shows_who_read_it(service, order):
    oid = order["order_id"]
    service.client("evaluator").get(f"/v1/orders/{oid}/timeline")
    trail = service.client("analyst").get(f"/v1/orders/{oid}/audit").json()["entries"]
    actions = [e["action"] for e in trail]
    assert actions[0] == "create_order" and "read_timeline" in actions
    # the trail's own read is recorded after it was read
    again = service.client("analyst").get(f"/v1/orders/{oid}/audit").json()["entries"]
    assert again[-1]["action"] == "read_audit" and len(again) == len(trail) + 1


def test_a_read_that_cannot_be_audited_is_not_answered(service, order, monkeypatch):
    from ordinance.adapters.db import DatabaseUnavailable

    def down(*_a, **_k):
        raise DatabaseUnavailable("audit log unreachable")

    monkeypatch.setattr(service.app.state.ctx.hub, "record_read", down)
    r = service.client("evaluator").get(f"/v1/orders/{order['order_id']}")
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
    assert order["order_id"] not in r.text and "C-AUD" not in r.text
    assert r.headers["retry-after"] == "1"


def test_every_get_route_is_audited_or_holds_no_customer_data(service):
    from fastapi.routing import APIRoute

    from ordinance.api.audit import NOT_AUDITED, READS as AUDITED

    gets = {r.path for r in service.app.routes
            if isinstance(r, APIRoute) and "GET" in r.methods}
    assert gets - set(AUDITED) - NOT_AUDITED == set()
    assert not set(AUDITED) & NOT_AUDITED
    assert {"/v1/orders/{order_id}/timeline", "/v1/orders/{order_id}/payments",
            "/v1/reports/top", "/v1/keys", "/v1/alerts", "/v1/approvals"} <= set(AUDITED)
