"""Decisions, the decision log, keys and roles, over real HTTP on SQLite and PostgreSQL."""
from __future__ import annotations

from decimal import Decimal

import pytest

A1 = {"id": "A1", "attributes": {"manual_discount": 12},
      "lines": [{"id": "1", "sku": "X-1", "quantity": 10}]}
A4 = {"id": "A4", "attributes": {"manual_discount": 10},
      "lines": [{"id": "1", "sku": "X-1", "quantity": 1}]}


def test_health_needs_no_key(service):
    assert service.client(None).get("/health").json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/v1/decisions", "/v1/validate", "/v1/price"])
def test_a_missing_or_wrong_key_is_401(service, path):
    r = service.client(None).post(path, json={"order": A4})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "MISSING_KEY"
    assert r.headers["www-authenticate"] == "Bearer"
    r = service.client(None).post(path, json={"order": A4},
                                  headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "BAD_KEY"
    r = service.client(None).post(path, json={"order": A4},
                                  headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


def test_decision_is_exact_and_logged(service):
    c = service.client("evaluator")
    r = c.post("/v1/decisions", json={"order": A1, "as_of": "2026-11-20"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json(parse_float=Decimal) if False else r.json()
    assert body["status"] == "pending_approval"
    assert body["decision_id"].startswith("dec_")
    assert body["as_of"] == "2026-11-20"
    assert body["ruleset"]["name"] == "c07-approval"
    # money is rendered as exact decimal text, never through a float
    assert body["pricing"]["total"] == "880.00"
    assert [(a["role"], a["level"]) for a in body["approvals"]] == [("sales-manager", 1)]
    # the log holds exactly what was answered
    rec = service.client("analyst").get(f"/v1/decisions/{body['decision_id']}")
    assert rec.status_code == 200, rec.text
    logged = rec.json()
    assert logged["decision"] == body
    assert logged["request"] == {"order": A1, "as_of": "2026-11-20"}
    assert logged["digest"] == body["ruleset"]["digest"]
    assert logged["status"] == "pending_approval"
    assert logged["elapsed_ms"] >= 0
    assert "approvals/deep-discount" in logged["fired"]


def test_decimal_numbers_keep_their_digits(service):
    # 28 significant digits, the most the engine reads (more is a 422 naming the path, below)
    raw = '{"order": {"id": "D1", "lines": [{"id": "1", "sku": "NOPE", "quantity": 3, ' \
          '"unit_price": 0.1000000000000000055511151231}]}}'
    r = service.client("evaluator").post("/v1/decisions", content=raw,
                                         headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert "0.1000000000000000055511151231" in r.text
    longer = raw.replace("151231}", "151231257827}")  # 34 digits: arithmetic would round it
    r = service.client("evaluator").post("/v1/decisions", content=longer,
                                         headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == {
        "code": "BAD_ORDER", "path": "$.order.lines[0].unit_price",
        "message": "0.1000000000000000055511151231257827 has 34 significant digits: at most "
                   "28 can be computed exactly"}


def test_validate_and_price_run_their_phases_only(service):
    c = service.client("evaluator")
    v = c.post("/v1/validate", json={"order": A1}).json()
    assert v["pricing"] is None and v["approvals"] == []
    assert v["status"] == "accepted"
    p = c.post("/v1/price", json={"order": A1}).json()
    assert p["pricing"]["total"] == "880.00"
    assert p["approvals"] == []
    kinds = {service.client("analyst").get(f"/v1/decisions/{d['decision_id']}").json()["kind"]
             for d in (v, p)}
    assert kinds == {"validate", "price"}


@pytest.mark.parametrize("raw,path,code", [
    (b"{", "$", "BAD_JSON"),
    (b"", "$", "BAD_JSON"),
    (b"\xff\xfe", "$", "BAD_JSON"),
    (b"[1]", "$", "BAD_REQUEST"),
    (b'{"order": {"id": "x"}, "color": 1}', "$.color", "BAD_REQUEST"),
    (b'{"as_of": "2026-01-01"}', "$.order", "BAD_REQUEST"),
    (b'{"order": 3}', "$.order", "BAD_ORDER"),
    (b'{"order": {"lines": [{"quantity": "lots"}]}}', "$.order.lines[0].quantity", "BAD_ORDER"),
    (b'{"order": {"lines": {}}}', "$.order.lines", "BAD_ORDER"),
    (b'{"order": {"customer": []}}', "$.order.customer", "BAD_ORDER"),
    (b'{"order": {"id": "x"}, "as_of": "tomorrow"}', "$.as_of", "BAD_REQUEST"),
    (b'{"order": {"id": "x"}, "as_of": 20260101}', "$.as_of", "BAD_REQUEST"),
    (b'{"order": {"id": "x"}, "ruleset": 5}', "$.ruleset", "BAD_REQUEST"),
    (b'{"order": {"id": "x"}, "ruleset": "no-at-sign"}', "$.ruleset", "BAD_RULESET_REF"),
    (b'{"order": {"id": NaN}}', "$", "BAD_JSON"),
    (b"[" * 100000, "$", "BAD_JSON"),
])
def test_bad_bodies_are_422_with_a_path(service, raw, path, code):
    r = service.client("evaluator").post("/v1/decisions", content=raw,
                                         headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["path"] == path
    assert err["code"] == code
    assert err["message"]


def test_named_ruleset_by_version_and_digest(service):
    c = service.client("evaluator")
    d = c.post("/v1/decisions", json={"order": A4}).json()
    digest = d["ruleset"]["digest"]
    for ref in (f"c07-approval@{digest}", "c07-approval@1"):
        r = c.post("/v1/decisions", json={"order": A4, "ruleset": ref})
        assert r.status_code == 200, r.text
        assert r.json()["ruleset"]["digest"] == digest
    r = c.post("/v1/decisions", json={"order": A4, "ruleset": "c07-approval@sha256:00"})
    assert r.status_code == 404
    assert r.json()["error"]["path"] == "$.ruleset"
    r = c.post("/v1/decisions", json={"order": A4, "ruleset": "nobody@1"})
    assert r.status_code == 404


def test_log_query_filters_and_pages(service):
    c = service.client("evaluator")
    ids = []
    for i in range(5):
        order = dict(A4, id=f"LOG-{i}")
        ids.append(c.post("/v1/decisions", json={"order": order}).json()["decision_id"])
    c.post("/v1/decisions", json={"order": A1})
    a = service.client("analyst")
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "status": "accepted"}
        if cursor:
            params["cursor"] = cursor
        page = a.get("/v1/decisions", params=params).json()
        seen += [item["decision_id"] for item in page["items"]]
        assert all(item["status"] == "accepted" for item in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(ids) <= set(seen)
    assert len(seen) == len(set(seen))
    # newest first
    assert seen.index(ids[4]) < seen.index(ids[0])
    fired = a.get("/v1/decisions", params={"rule": "approvals/deep-discount"}).json()["items"]
    assert fired and all(i["status"] == "pending_approval" for i in fired)
    digest = a.get(f"/v1/decisions/{ids[0]}").json()["digest"]
    assert len(a.get("/v1/decisions", params={"digest": digest, "limit": 1000}).json()["items"]) >= 5
    assert a.get("/v1/decisions", params={"digest": "sha256:none"}).json()["items"] == []
    assert a.get("/v1/decisions", params={"from": "2999-01-01"}).json()["items"] == []
    assert a.get("/v1/decisions", params={"to": "2000-01-01"}).json()["items"] == []
    assert len(a.get("/v1/decisions", params={"from": "2000-01-01", "to": "2999-12-31"}).json()["items"]) > 0
    assert a.get("/v1/decisions", params={"order_id": "LOG-3"}).json()["items"][0]["decision_id"] == ids[3]


@pytest.mark.parametrize("params,path", [
    ({"from": "yesterday"}, "from"), ({"to": "2026-13-01"}, "to"),
    ({"cursor": "garbage!"}, "cursor"), ({"limit": 0}, "limit"), ({"limit": "x"}, "limit"),
])
def test_log_query_mistakes_are_422(service, params, path):
    r = service.client("analyst").get("/v1/decisions", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["path"] == path


def test_reading_the_log_needs_analyst(service):
    r = service.client("evaluator").get("/v1/decisions")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "ROLE_TOO_WEAK"
    assert service.client("evaluator").get("/v1/decisions/dec_x").status_code == 403
    assert service.client("analyst").get("/v1/decisions/dec_x").status_code == 404


def test_unknown_route_and_method(service):
    assert service.client("admin").get("/v1/nothing").status_code == 404
    assert service.client("admin").delete("/v1/decisions").status_code == 405


def test_openapi_document(service):
    doc = service.client(None).get("/openapi.json").json()
    for path in ("/v1/decisions", "/v1/validate", "/v1/price", "/v1/decisions/{decision_id}",
                 "/v1/rulesets", "/v1/rulesets/active", "/v1/rulesets/{name}/{digest}",
                 "/v1/rulesets/{name}/{digest}/activate", "/v1/orders",
                 "/v1/orders/{order_id}", "/v1/orders/{order_id}/audit", "/v1/approvals",
                 "/v1/approvals/{task_id}", "/v1/reports/top", "/v1/keys"):
        assert path in doc["paths"], path
    assert "HTTPBearer" in doc["components"]["securitySchemes"]


def test_a_body_over_the_limit_is_413(service):
    limit = service.app.state.ctx.settings.max_body_bytes
    big = b'{"order": {"id": "x", "note": "' + b"a" * limit + b'"}}'
    for path in ("/v1/decisions", "/v1/orders"):
        r = service.client("evaluator").post(path, content=big,
                                             headers={"Content-Type": "application/json"})
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "BODY_TOO_LARGE"
