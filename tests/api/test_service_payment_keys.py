"""The payment idempotency key fits the column that keeps it, on SQLite and PostgreSQL: the
local provider stores each operation under "capture:ORDER_ID:KEY" in a String(300) column, so
the ledger takes keys of at most 91 characters (300 - 8 - a 200-character order id - 1) and
refuses a longer one with 422 at `$.idempotency_key`, before anything is stored. Before, keys
of 200 characters were taken and the provider's key reached 409 characters, more than its
column holds. A return's refund makes its own key from the return id, within the limit
however long the id."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from svc_helpers import ServerThread, Service, archive, make_service

ACME = Path(__file__).resolve().parents[2] / "rulesets" / "acme"
LONG_ID = "P" * 200  # the longest order id there is


@pytest.fixture(scope="module")
def acme(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    app, keys = make_service(database_url, tmp_path_factory.mktemp("cache"))
    with ServerThread(app) as server:
        svc = Service(server.url, database_url, keys, app)
        admin = svc.client("admin")
        info = admin.post("/v1/rulesets", content=archive(ACME),
                          headers={"Content-Type": "application/gzip"}).json()
        r = admin.post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate")
        assert r.status_code == 200, r.text
        order = {"id": LONG_ID, "order_date": "2026-11-20T09:00:00Z", "channel": "web",
                 "currency": "USD", "customer": {"id": "C-00004"},
                 "ship_to": {"street": "1 Main St", "city": "Tampa", "country": "US",
                             "state": "FL", "postal": "33636"},
                 "payment": {"method": "card"}, "requested_date": "2026-11-25",
                 "lines": [{"id": "1", "sku": "HTL-0001", "quantity": 10}]}
        for _ in range(5):  # the first capture also compiles the rule set: on a busy
            r = svc.client("evaluator").post(  # machine past the deadline (503), once
                "/v1/orders", json={"order": order, "as_of": "2026-11-20"})
            if r.status_code != 503:
                break
        assert r.status_code == 201 and r.json()["status"] == "accepted", r.text
        try:
            yield svc
        finally:
            svc.close()


def _pay(svc: Service, **body: Any) -> Any:
    return svc.client("evaluator").post(f"/v1/orders/{LONG_ID}/payments", json=body)


def test_a_key_past_the_column_is_refused_with_its_path_and_nothing_is_stored(acme):
    for key in ("k" * 92, "k" * 200, "k" * 401):
        r = _pay(acme, action="authorise", amount="1.00", idempotency_key=key)
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert err["path"] == "$.idempotency_key", r.text
        assert "91 characters" in err["message"], r.text
    r = acme.client("evaluator").get(f"/v1/orders/{LONG_ID}/payments")
    assert r.status_code == 200 and r.json()["entries"] == [], r.text


def test_the_longest_key_is_stored_authorised_captured_and_answered_again(acme):
    key = "a" * 91
    first = _pay(acme, action="authorise", amount="1.00", idempotency_key=key,
                 token="tok_visa")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "approved"
    again = _pay(acme, action="authorise", amount="1.00", idempotency_key=key,
                 token="tok_visa")
    assert again.status_code == 200 and again.json()["duplicate"] is True, again.text
    cap = _pay(acme, action="capture", amount="1.00", idempotency_key="c" * 91)
    assert cap.status_code == 200 and cap.json()["status"] == "approved", cap.text
    entries = acme.client("evaluator").get(f"/v1/orders/{LONG_ID}/payments").json()["entries"]
    assert sorted(e["idempotency_key"] for e in entries) == [key, "c" * 91]


def test_the_openapi_document_says_the_limit(acme):
    doc = acme.client(None).get("/openapi.json").json()
    body = doc["paths"]["/v1/orders/{order_id}/payments"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema["properties"]["idempotency_key"]["maxLength"] == 91


def test_a_refund_key_made_from_a_long_return_id_fits():
    from ordinance.adapters import store
    from ordinance.adapters.payments import IDEMPOTENCY_KEY_MAX, derived_key

    assert derived_key("return:", "R-1") == "return:R-1"
    long_a, long_b = derived_key("return:", "x" * 200), derived_key("return:", "x" * 199 + "y")
    assert IDEMPOTENCY_KEY_MAX == 91 == store.PAYMENT.children["idempotency_key"].limit
    assert len(long_a) <= IDEMPOTENCY_KEY_MAX and long_a != long_b
    assert long_a == derived_key("return:", "x" * 200)  # the same return, the same key
