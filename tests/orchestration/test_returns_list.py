"""GET /v1/returns over real HTTP (SQLite and PostgreSQL): every return authorisation, newest
first, filtered by refund status, order and customer, in cursor pages that add up to the whole
list; bad filters are 422 at their parameter; the role is the analyst's, as GET /v1/orders."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

GERMAN = {"customer": {"id": "C-00006"}, "currency": "EUR",
          "ship_to": {"street": "Hauptstr. 1", "city": "Frankfurt", "country": "DE",
                      "postal": "60311"}}


def _delivered(orch: Any, oid: str, paid: bool, **over: Any) -> dict[str, Any]:
    view = orch.order(oid, lines=[{"id": "1", "sku": "HTL-0001", "quantity": 4}], **over)
    assert view["decision"]["status"] == "accepted", view["decision"]["violations"]
    total = view["decision"]["pricing"]["total"]
    c = orch.http("evaluator")
    if paid:
        r = c.post(f"/v1/orders/{oid}/payments", json={
            "action": "authorise", "amount": total, "idempotency_key": f"a-{oid}",
            "token": "tok_visa"})
        assert r.status_code == 200, r.text
    orch.event(oid, "s", "scheduled")
    orch.event(oid, "r", "released")
    orch.event(oid, "p", "shipment_confirmed", lines=[{"line_id": "1", "quantity": 4}])
    orch.event(oid, "d", "delivered")
    if paid:
        r = c.post(f"/v1/orders/{oid}/payments", json={
            "action": "capture", "amount": total, "idempotency_key": f"c-{oid}"})
        assert r.status_code == 200, r.text
    return view


def _return(orch: Any, oid: str, rma: str, qty: int) -> dict[str, Any]:
    r = orch.http("evaluator").post(f"/v1/orders/{oid}/returns", json={
        "id": rma, "lines": [{"line_id": "1", "quantity": qty}]})
    assert r.status_code == 200, r.text
    return r.json()


def _all(client: Any, **params: Any) -> list[dict[str, Any]]:
    """Every page of a search, two items a page."""
    out: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        r = client.get("/v1/returns", params={**params, "limit": 2,
                                              **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        out += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return out
    raise AssertionError("more than 50 pages")


def test_returns_are_listed_newest_first_filtered_and_paged(orch: Any) -> None:
    _delivered(orch, "RL-1", paid=True)
    _delivered(orch, "RL-2", paid=False)
    _delivered(orch, "RL-3", paid=False, **GERMAN)
    made = [_return(orch, "RL-1", "rma-a", 1), _return(orch, "RL-2", "rma-b", 2),
            _return(orch, "RL-1", "rma-c", 1), _return(orch, "RL-3", "rma-d", 4)]
    analyst = orch.http("analyst")
    every = analyst.get("/v1/returns").json()
    assert every["next_cursor"] is None
    items = every["items"]
    assert [x["rma"] for x in items] == ["rma-d", "rma-c", "rma-b", "rma-a"]
    assert [x["id"] for x in items] == sorted((x["id"] for x in items), reverse=True)
    by_rma = {x["rma"]: x for x in items}
    for doc in made:
        listed = by_rma[doc["rma"]]
        assert (listed["order_id"], listed["refund"], listed["refund_status"]) == (
            doc["order_id"], doc["refund"], doc["refund_status"])
        assert listed["currency"] == doc["currency"]
        assert listed["lines"] == doc["lines"]
        assert Decimal(listed["quantity"]) == sum(Decimal(ln["quantity"]) for ln in doc["lines"])
    assert by_rma["rma-a"]["refund_status"] == "refunded"
    assert by_rma["rma-b"]["refund_status"] == "due"
    assert (by_rma["rma-d"]["customer"], by_rma["rma-d"]["currency"]) == ("C-00006", "EUR")
    assert by_rma["rma-d"]["state"] == "returned"  # everything shipped came back

    assert _all(analyst) == items                              # the pages add up
    assert [x["rma"] for x in _all(analyst, status="due")] == ["rma-d", "rma-b"]
    assert [x["rma"] for x in _all(analyst, status="refunded")] == ["rma-c", "rma-a"]
    assert [x["rma"] for x in _all(analyst, order_id="RL-1")] == ["rma-c", "rma-a"]
    assert [x["rma"] for x in _all(analyst, customer="C-00004")] == ["rma-c", "rma-b",
                                                                     "rma-a"]
    assert [x["rma"] for x in _all(analyst, customer="C-00006", status="due")] == ["rma-d"]
    assert _all(analyst, order_id="NOPE") == []
    page = analyst.get("/v1/returns", params={"limit": 3}).json()
    assert len(page["items"]) == 3 and page["next_cursor"] == str(items[2]["id"])
    rest = analyst.get("/v1/returns", params={"cursor": page["next_cursor"]}).json()
    assert [x["rma"] for x in rest["items"]] == ["rma-a"] and rest["next_cursor"] is None


def test_bad_filters_are_located_and_the_role_is_the_analysts(orch: Any) -> None:
    analyst = orch.http("analyst")
    for params, where in (({"status": "lost"}, "status"), ({"cursor": "0"}, "cursor"),
                          ({"cursor": "x1"}, "cursor"), ({"limit": "0"}, "limit"),
                          ({"limit": "1001"}, "limit"), ({"order_id": "x" * 201}, "order_id"),
                          ({"customer": "x" * 201}, "customer")):
        r = analyst.get("/v1/returns", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["path"] == where, params
    assert orch.http("evaluator").get("/v1/returns").status_code == 403
    assert orch.http(None).get("/v1/returns").status_code == 401
    assert orch.http("approver").get("/v1/returns").status_code == 200
