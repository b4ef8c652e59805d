"""The order hub, approvals, reports and the audit trail, over real HTTP."""
from __future__ import annotations

import csv
import io
import uuid

import pytest
from svc_helpers import archive


def _order(oid: str, qty: int = 1, discount=None, **extra):
    order = {"id": oid, "lines": [{"id": "1", "sku": "X-1", "quantity": qty}], **extra}
    if discount is not None:
        order.setdefault("attributes", {})["manual_discount"] = discount
    return order


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_capture_is_idempotent_and_conflicts_on_other_content(service):
    c = service.client("evaluator")
    oid = uid("O")
    r = c.post("/v1/orders", json={"order": _order(oid, 2), "as_of": "2026-11-20"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["order_id"] == oid and first["version"] == 1
    assert first["status"] == "accepted"
    assert first["decision"]["pricing"]["total"] == "200.00"
    assert first["decision"]["decision_id"] == first["decision_id"]
    assert first["order"] == _order(oid, 2)
    again = c.post("/v1/orders", json={"order": _order(oid, 2), "as_of": "2026-11-20"})
    assert again.status_code == 200
    assert again.json() == first
    clash = c.post("/v1/orders", json={"order": _order(oid, 3), "as_of": "2026-11-20"})
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "ORDER_EXISTS"
    # the decision was logged with the order
    rec = service.client("analyst").get(f"/v1/decisions/{first['decision_id']}").json()
    assert rec["kind"] == "order" and rec["order_id"] == oid


def test_numeric_ids_and_missing_ids(service):
    c = service.client("evaluator")
    n = int(uuid.uuid4().int % 10**12)
    r = c.post("/v1/orders", json={"order": {"id": n, "lines": []}})
    assert r.status_code == 201, r.text
    assert r.json()["order_id"] == str(n)
    r = c.post("/v1/orders", json={"order": {"lines": []}})
    assert r.status_code == 422
    assert r.json()["error"]["path"] == "$.order.id"
    r = c.post("/v1/orders", json={"order": {"id": "", "lines": []}})
    assert r.status_code == 422
    r = c.post("/v1/orders", content=b'{"order": {"id": "x", "lines": [1]}}',
               headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["path"] == "$.order.lines[0]"


def test_change_orders_keep_history(service):
    c = service.client("evaluator")
    oid = uid("C")
    c.post("/v1/orders", json={"order": _order(oid, 1)})
    r = c.put(f"/v1/orders/{oid}", json={"order": _order(oid, 5)})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert r.json()["decision"]["pricing"]["total"] == "500.00"
    # the same change again is not a new version
    assert c.put(f"/v1/orders/{oid}", json={"order": _order(oid, 5)}).json()["version"] == 2
    # the id may be left out of a change; it comes from the URL
    r = c.put(f"/v1/orders/{oid}", json={"order": {"lines": [{"id": "1", "sku": "X-1",
                                                              "quantity": 7}]}})
    assert r.json()["version"] == 3 and r.json()["order"]["id"] == oid
    r = c.put(f"/v1/orders/{oid}", json={"order": _order("someone-else", 1)})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.order.id"
    assert c.put(f"/v1/orders/{uid('none')}", json={"order": {}}).status_code == 404
    v = service.client("analyst").get(f"/v1/orders/{oid}/versions").json()
    assert [x["version"] for x in v["versions"]] == [1, 2, 3]
    assert [x["order"]["lines"][0]["quantity"] for x in v["versions"]] == [1, 5, 7]
    got = c.get(f"/v1/orders/{oid}").json()
    assert got["version"] == 3 and got["decision"]["pricing"]["total"] == "700.00"


def test_search_and_paging(service):
    c = service.client("evaluator")
    tag = uuid.uuid4().hex[:6]
    for i in range(5):
        c.post("/v1/orders", json={"order": _order(f"S{tag}-{i}", 1, channel=f"web-{tag}",
                                                   customer={"id": f"cust-{tag}"},
                                                   order_date="2026-03-0%d" % (i + 1))})
    a = service.client("analyst")
    got, cursor = [], None
    while True:
        params = {"channel": f"web-{tag}", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = a.get("/v1/orders", params=params).json()
        got += [o["order_id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert got == [f"S{tag}-{i}" for i in range(5)]
    assert len(a.get("/v1/orders", params={"customer": f"cust-{tag}"}).json()["items"]) == 5
    r = a.get("/v1/orders", params={"customer": f"cust-{tag}", "from": "2026-03-02",
                                    "to": "2026-03-03"}).json()
    assert [o["order_id"] for o in r["items"]] == [f"S{tag}-1", f"S{tag}-2"]
    assert a.get("/v1/orders", params={"sku": "X-1", "channel": f"web-{tag}",
                                       "status": "accepted"}).json()["items"]
    assert a.get("/v1/orders", params={"sku": "Y-9", "channel": f"web-{tag}"}).json()["items"] == []
    assert a.get("/v1/orders", params={"from": "March"}).status_code == 422
    # a cursor is the last order id of a page: any id is a place to start after
    after = a.get("/v1/orders", params={"channel": f"web-{tag}", "cursor": f"S{tag}-2"}).json()
    assert [o["order_id"] for o in after["items"]] == [f"S{tag}-3", f"S{tag}-4"]
    for bad in ("", "x" * 201):
        r = a.get("/v1/orders", params={"cursor": bad})
        assert r.status_code == 422 and r.json()["error"]["path"] == "cursor", r.text
    assert a.get("/v1/orders", params={"status": "shipped"}).status_code == 422
    assert c.get("/v1/orders").status_code == 403


def test_reads_are_audited(service):
    oid = uid("AU")
    service.client("evaluator").post("/v1/orders", json={"order": _order(oid)})
    a = service.client("analyst")
    a.get(f"/v1/orders/{oid}")
    d = a.get(f"/v1/orders/{oid}").json()["decision_id"]
    a.get(f"/v1/decisions/{d}")
    trail = a.get(f"/v1/orders/{oid}/audit").json()["entries"]
    actions = [(e["action"], e["key"].split("-")[0]) for e in trail]
    assert actions[0] == ("create_order", "evaluator")
    assert actions.count(("read_order", "analyst")) == 2
    assert ("read_decision", "analyst") in actions
    assert all(e["at"] for e in trail)
    assert a.get(f"/v1/orders/{uid('none')}/audit").status_code == 404
    assert a.get(f"/v1/orders/{uid('none')}").status_code == 404
    assert a.get(f"/v1/orders/{uid('none')}/versions").status_code == 404


def _tasks(service, oid):
    return service.client("admin").get("/v1/approvals", params={"order_id": oid,
                                                                "state": "all"}).json()["items"]


def test_approvals_in_level_order(service):
    oid = uid("AP")
    r = service.client("evaluator").post("/v1/orders", json={"order": _order(oid, 1, 30)})
    assert r.json()["status"] == "pending_approval"
    tasks = {t["role"]: t for t in r.json()["approvals"]}
    assert {(t["role"], t["level"]) for t in tasks.values()} == {("sales-manager", 1),
                                                                 ("sales-director", 2)}
    mgr, director = tasks["sales-manager"]["id"], tasks["sales-director"]["id"]
    listed = service.client("approver").get("/v1/approvals",
                                            params={"role": "sales-director"}).json()["items"]
    assert director in [t["id"] for t in listed]
    mine = service.client("approver").get("/v1/approvals", params={"mine": "true",
                                                                   "order_id": oid}).json()
    assert [t["role"] for t in mine["items"]] == ["sales-manager"]
    everything = service.client("admin").get("/v1/approvals", params={"mine": "true",
                                                                       "order_id": oid}).json()
    assert len(everything["items"]) == 2
    # the director may not act before the manager
    r = service.client("approver2").post(f"/v1/approvals/{director}", json={"action": "approve"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "LOWER_LEVEL_OPEN"
    # a key that does not hold the role
    r = service.client("approver2").post(f"/v1/approvals/{mgr}", json={"action": "approve"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "NOT_YOUR_ROLE"
    # roles below approver cannot act at all
    for who in ("evaluator", "analyst"):
        assert service.client(who).post(f"/v1/approvals/{mgr}",
                                        json={"action": "approve"}).status_code == 403
        assert service.client(who).get("/v1/approvals").status_code == 403
    r = service.client("approver").post(f"/v1/approvals/{mgr}",
                                        json={"action": "approve", "comment": "ok by me"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved" and r.json()["order_status"] == "pending_approval"
    assert r.json()["acted_by"].startswith("approver-") and r.json()["acted_at"]
    # twice is a conflict
    again = service.client("approver").post(f"/v1/approvals/{mgr}", json={"action": "approve"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "TASK_CLOSED"
    r = service.client("approver2").post(f"/v1/approvals/{director}", json={"action": "approve"})
    assert r.status_code == 200 and r.json()["order_status"] == "accepted"
    got = service.client("analyst").get(f"/v1/orders/{oid}").json()
    assert got["status"] == "accepted"
    assert {t["state"] for t in got["approvals"]} == {"approved"}
    trail = [e["action"] for e in service.client("analyst").get(
        f"/v1/orders/{oid}/audit").json()["entries"]]
    assert trail.count("approve") == 2


def test_one_rejection_rejects_the_order(service):
    oid = uid("RJ")
    r = service.client("evaluator").post("/v1/orders", json={"order": _order(oid, 1, 30)})
    mgr = next(t["id"] for t in r.json()["approvals"] if t["level"] == 1)
    r = service.client("admin").post(f"/v1/approvals/{mgr}",
                                     json={"action": "reject", "comment": "too deep"})
    assert r.status_code == 200 and r.json()["order_status"] == "rejected"
    states = {t["role"]: t["state"] for t in _tasks(service, oid)}
    assert states == {"sales-manager": "rejected", "sales-director": "cancelled"}
    assert service.client("analyst").get(f"/v1/orders/{oid}").json()["status"] == "rejected"


def test_a_change_order_reopens_approvals(service):
    oid = uid("CH")
    c = service.client("evaluator")
    first = c.post("/v1/orders", json={"order": _order(oid, 1, 12)}).json()
    assert [t["role"] for t in first["approvals"]] == ["sales-manager"]
    second = c.put(f"/v1/orders/{oid}", json={"order": _order(oid, 1, 5)}).json()
    assert second["status"] == "accepted" and second["approvals"] == []
    old = first["approvals"][0]["id"]
    assert service.client("admin").post(f"/v1/approvals/{old}",
                                        json={"action": "approve"}).status_code == 409
    assert {t["state"] for t in _tasks(service, oid)} == {"cancelled"}


def test_finance_only_needs_finance(service):
    oid = uid("FI")
    r = service.client("evaluator").post("/v1/orders", json={"order": _order(oid, 120)})
    assert r.json()["decision"]["pricing"]["total"] == "12000.00"
    (task,) = r.json()["approvals"]
    assert (task["role"], task["level"]) == ("finance", 2)
    r = service.client("approver2").post(f"/v1/approvals/{task['id']}", json={"action": "approve"})
    assert r.json()["order_status"] == "accepted"


@pytest.mark.parametrize("body", [{"action": "maybe"}, {}, {"action": "approve", "x": 1},
                                  {"action": "approve", "comment": 5}])
def test_bad_approval_bodies_are_422(service, body):
    r = service.client("admin").post("/v1/approvals/1", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["path"].startswith("$")


def test_unknown_task_is_404(service):
    r = service.client("admin").post("/v1/approvals/999999", json={"action": "approve"})
    assert r.status_code == 404
    assert service.client("admin").post("/v1/approvals/abc",
                                        json={"action": "approve"}).status_code == 422


def test_reports_top(service):
    c = service.client("evaluator")
    tag = uuid.uuid4().hex[:6]
    day = "2031-01-0"
    # prices: X-1 is 100.00 in c07
    c.post("/v1/orders", json={"order": _order(f"R{tag}-1", 3, channel="shop", seller="s1",
                                               customer={"id": "big"}, ship_to={"country": "DE"},
                                               order_date=day + "1")})
    c.post("/v1/orders", json={"order": _order(f"R{tag}-2", 1, channel="phone",
                                               attributes={"seller": "s2"},
                                               customer={"id": "small"},
                                               order_date=day + "2")})
    c.post("/v1/orders", json={"order": _order(f"R{tag}-3", 2, channel="shop",
                                               customer={"id": "big"}, order_date=day + "2")})
    a = service.client("analyst")
    q = {"from": "2031-01-01", "to": "2031-01-02"}
    # c07 orders carry no currency: their entries are in currency null, never mixed with others
    top = a.get("/v1/reports/top", params={"by": "channel", **q}).json()
    assert top["items"] == [
        {"key": "shop", "currency": None, "revenue": "500.00", "units": "5", "orders": 2},
        {"key": "phone", "currency": None, "revenue": "100.00", "units": "1", "orders": 1},
    ]
    by_customer = a.get("/v1/reports/top", params={"by": "customer", "limit": 1, **q}).json()
    assert by_customer["items"] == [{"key": "big", "currency": None, "revenue": "500.00",
                                     "units": "5", "orders": 2}]
    sellers = {i["key"]: i["revenue"] for i in
               a.get("/v1/reports/top", params={"by": "seller", **q}).json()["items"]}
    assert sellers == {"s1": "300.00", "s2": "100.00", None: "200.00"}
    days = a.get("/v1/reports/top", params={"by": "day", **q}).json()["items"]
    # equal revenue and units: more orders first
    assert [(d["key"], d["revenue"], d["orders"]) for d in days] == [
        ("2031-01-02", "300.00", 2), ("2031-01-01", "300.00", 1)]
    products = a.get("/v1/reports/top", params={"by": "product", **q}).json()["items"]
    assert products == [{"key": "X-1", "currency": None, "revenue": "600.00", "units": "6",
                         "orders": 3}]
    countries = a.get("/v1/reports/top", params={"by": "country", **q}).json()["items"]
    assert countries == [
        {"key": None, "currency": None, "revenue": "300.00", "units": "3", "orders": 2},
        {"key": "DE", "currency": None, "revenue": "300.00", "units": "3", "orders": 1}]
    r = a.get("/v1/reports/top", params={"by": "channel", **q}, headers={"Accept": "text/csv"})
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows == [["channel", "currency", "revenue", "units", "orders"],
                    ["shop", "", "500.00", "5", "2"], ["phone", "", "100.00", "1", "1"]]
    by_units = a.get("/v1/reports/top", params={"by": "customer", "sort": "orders", **q}).json()
    assert [(i["key"], i["orders"]) for i in by_units["items"]] == [("big", 2), ("small", 1)]
    assert a.get("/v1/reports/top", params={"sort": "profit"}).status_code == 422
    assert a.get("/v1/reports/top", params={"by": "planet"}).status_code == 422
    assert a.get("/v1/reports/top", params={"from": "soon"}).status_code == 422
    bad = a.get("/v1/reports/top", params={"currency": "euro"})
    assert bad.status_code == 422 and bad.json()["error"]["path"] == "currency"
    assert c.get("/v1/reports/top").status_code == 403


def test_reports_take_category_and_brand_from_ref_products(tmp_path):
    """Unit level: a line without category/brand takes them from ref.products[sku]."""
    from ordinance.adapters.hub import _lines
    from ordinance.adapters.store_decisions import Evaluated

    class RS:
        digest = "sha256:test-products"
        reference = {"products": [{"sku": "A", "category": "tools", "brand": "acme"},
                                  {"sku": "A", "category": "shadowed", "brand": "x"}]}

    body = {"order": {"lines": [{"sku": "A", "quantity": "2"},
                                {"sku": "A", "quantity": "1", "category": "own"},
                                {"sku": "B", "quantity": "1"}]},
            "pricing": {"lines": [{"net": "10.00"}, {"net": "5.00"}, {"net": "1.00"}]}}
    ev = Evaluated("d", body, "", "accepted", "", "", "", [], 0)
    lines = _lines(RS(), ev)
    assert [(x["category"], x["brand"], x["net"]) for x in lines] == [
        ("tools", "acme", "10.00"), ("own", "acme", "5.00"), (None, None, "1.00")]


def test_keys_over_rest(service):
    admin = service.client("admin")
    r = admin.post("/v1/keys", json={"role": "approver", "name": "carol",
                                     "approves": ["finance"]})
    assert r.status_code == 201, r.text
    secret = r.json()["key"]
    kid = r.json()["id"]
    import httpx

    with httpx.Client(base_url=service.url,
                      headers={"Authorization": f"Bearer {secret}"}) as carol:
        assert carol.get("/v1/approvals").status_code == 200
        assert carol.get("/v1/keys").status_code == 403
        listed = admin.get("/v1/keys").json()["items"]
        assert all("key" not in k for k in listed)
        assert any(k["name"] == "carol" and k["approves"] == ["finance"] for k in listed)
        assert admin.delete(f"/v1/keys/{kid}").json()["revoked_at"]
        assert carol.get("/v1/approvals").status_code == 401
    assert admin.post("/v1/keys", json={"role": "god"}).status_code == 422
    assert admin.post("/v1/keys", json={"role": "approver", "approves": ["bad role"]}).status_code == 422
    assert admin.post("/v1/keys", json={"role": "evaluator", "approves": ["finance"]}).status_code == 422
    assert admin.delete("/v1/keys/999999").status_code == 404
    for who in ("evaluator", "analyst", "approver"):
        assert service.client(who).post("/v1/keys", json={"role": "admin"}).status_code == 403


REPORT_RULESET = {
    "ruleset.yaml": 'ruleset: rpt-defaults\nversion: "1"\n',
    "packs/defaults.yaml": (
        "pack: defaults\nphase: defaulting\nrules:\n"
        "  - id: country\n    then:\n      - default: {order.ship_to.country: '\"DE\"'}\n"),
    "packs/prices.yaml": (
        "pack: prices\nphase: pricing\nrules:\n  - id: list\n    for_each: line\n"
        "    then:\n      - list_price: ref.prices[line.sku].unit_price\n"),
    "reference/prices.csv": "sku,unit_price\nX-1,100.00\n",
    "reference/channels.csv": "code,name\nweb,Web shop\nedi,EDI\n",
}


def test_reports_file_the_decided_order_per_currency(service, tmp_path):
    """A defaulted country is reported as defaulted; WEB and web are one channel (the rule
    set's channels.csv spelling); EUR and USD are never added; currency= filters."""
    for name, text in REPORT_RULESET.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    r = service.client("admin").post("/v1/rulesets", content=archive(tmp_path),
                                     headers={"Content-Type": "application/gzip"})
    assert r.status_code in (200, 201), r.text
    c = service.client("evaluator")
    tag, day = uuid.uuid4().hex[:6], "2032-02-02"
    sent = [("WEB", None, "EUR", 2), ("web", "FR", "USD", 1), ("web", "DE", "EUR", 3),
            ("Edi", None, "EUR", 1)]
    for n, (channel, country, currency, qty) in enumerate(sent):
        order = _order(f"D{tag}-{n}", qty, channel=channel, currency=currency, order_date=day)
        if country:
            order["ship_to"] = {"country": country}
        r = c.post("/v1/orders", json={"order": order, "ruleset": "rpt-defaults@1"})
        assert r.status_code == 201, r.text
        assert r.json()["decision"]["pricing"]["currency"] == currency
    a = service.client("analyst")
    q = {"from": day, "to": day}
    by_channel = a.get("/v1/reports/top", params={"by": "channel", **q}).json()["items"]
    assert by_channel == [
        {"key": "web", "currency": "EUR", "revenue": "500.00", "units": "5", "orders": 2},
        {"key": "edi", "currency": "EUR", "revenue": "100.00", "units": "1", "orders": 1},
        {"key": "web", "currency": "USD", "revenue": "100.00", "units": "1", "orders": 1}]
    by_country = a.get("/v1/reports/top", params={"by": "country", **q}).json()["items"]
    assert by_country == [
        {"key": "DE", "currency": "EUR", "revenue": "600.00", "units": "6", "orders": 3},
        {"key": "FR", "currency": "USD", "revenue": "100.00", "units": "1", "orders": 1}]
    usd = a.get("/v1/reports/top", params={"by": "country", "currency": "USD", **q}).json()
    assert usd["currency"] == "USD"
    assert usd["items"] == [{"key": "FR", "currency": "USD", "revenue": "100.00", "units": "1",
                             "orders": 1}]
    one_each = a.get("/v1/reports/top", params={"by": "channel", "limit": 1, **q}).json()
    assert [(i["key"], i["currency"]) for i in one_each["items"]] == [("web", "EUR"),
                                                                      ("web", "USD")]
    # the order view says the same
    view = a.get(f"/v1/orders/D{tag}-0").json()
    assert (view["channel"], view["country"]) == ("web", "DE")
