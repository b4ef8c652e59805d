"""Order promising in the service (issue 14) over real HTTP, on SQLite and PostgreSQL: supply in
the database (seeded from the rule set, imported over REST, moved by receipts and shipments),
capture reserving atomically (50 concurrent orders for the last units), change orders and
cancellations giving supply back, PROMISE_LATE alerts."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from svc_helpers import ServerThread, Service, archive, make_service

ACME = Path(__file__).resolve().parents[2] / "rulesets" / "acme"
WAREHOUSES = ["WH-NJ", "WH-TX", "WH-NV", "WH-ON", "WH-UK", "WH-NL", "WH-DE", "WH-PL", "WH-JP",
              "ST-CHI", "ST-LDN", "ST-BER", "RS-NJ", "RS-NL"]


class Promising:
    """The running service (ACME active, a manual clock); `orch` of conftest.py, with a longer
    evaluation deadline: 50 captures of one SKU queue on its stock rows, and this machine is
    shared (the test is about what is promised, not how fast)."""

    def __init__(self, svc: Service, clock: Any):
        self.svc, self.clock = svc, clock

    def http(self, who: str = "admin") -> Any:
        return self.svc.client(who)

    def order_body(self, oid: str, **over: Any) -> dict[str, Any]:
        body = {"id": oid, "order_date": "2026-11-20T09:00:00Z", "channel": "web",
                "currency": "USD", "customer": {"id": "C-00004"},
                "ship_to": {"street": "1 Main St", "city": "Tampa", "country": "US",
                            "state": "FL", "postal": "33636"},
                "payment": {"method": "card"}, "requested_date": "2026-11-25",
                "lines": [{"id": "1", "sku": "FAS-0005", "quantity": 4}]}
        body.update(over)
        return body

    def order(self, oid: str, **over: Any) -> dict[str, Any]:
        r = self.http("evaluator").post("/v1/orders", json={
            "order": self.order_body(oid, **over), "as_of": "2026-11-20"})
        assert r.status_code == 201, r.text
        return r.json()

    def event(self, oid: str, eid: str, etype: str, expect: int = 200, **payload: Any) -> Any:
        r = self.http("evaluator").post(f"/v1/orders/{oid}/events",
                                        json={"id": eid, "type": etype, **payload})
        assert r.status_code == expect, r.text
        return r.json()

    def alerts(self, **params: Any) -> list[dict[str, Any]]:
        r = self.http("evaluator").get("/v1/alerts", params={"limit": 5000, **params})
        assert r.status_code == 200, r.text
        return r.json()["items"]


@pytest.fixture(scope="module")
def orch(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from ordinance.adapters.clock import ManualClock
    from ordinance.adapters.orchestration import Orchestrator

    app, keys = make_service(database_url, tmp_path_factory.mktemp("cache"),
                             eval_timeout=120.0)
    ctx = app.state.ctx
    clock = ManualClock("2026-11-20T09:00:00Z")
    app.state.orchestration = Orchestrator(ctx.db, ctx.rulesets, clock)
    with ServerThread(app) as server:
        svc = Service(server.url, database_url, keys, app)
        admin = svc.client("admin")
        info = admin.post("/v1/rulesets", content=archive(ACME),
                          headers={"Content-Type": "application/gzip"}).json()
        r = admin.post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate")
        assert r.status_code == 200, r.text
        try:
            yield Promising(svc, clock)
        finally:
            svc.close()


def stock_only(orch: Any, sku: str, on_hand: dict[str, int],
               to_come: list[tuple[str, str, int, str]] = ()) -> None:
    """The SKU's on hand everywhere (0 where not named) and its supply to come."""
    rows = [{"location": w, "sku": sku, "kind": "on_hand", "quantity": str(on_hand.get(w, 0))}
            for w in WAREHOUSES]
    rows += [{"location": loc, "sku": sku, "kind": "purchase_order", "date": day,
              "quantity": qty, "ref": ref} for loc, day, qty, ref in to_come]
    r = orch.http("admin").post("/v1/supply", json={"supply": rows})
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == len(rows)


def position(orch: Any, loc: str, sku: str) -> dict[str, Any]:
    r = orch.http("analyst").get(f"/v1/supply/{loc}/{sku}")
    assert r.status_code == 200, r.text
    return r.json()


def promise_of(orch: Any, oid: str) -> dict[str, Any]:
    r = orch.http("evaluator").get(f"/v1/orders/{oid}/promise")
    assert r.status_code == 200, r.text
    return r.json()


def test_a_fresh_service_has_the_rule_sets_supply(orch: Any) -> None:
    c = orch.http("analyst")
    r = c.get("/v1/supply", params={"sku": "FAS-0010", "location": "WH-NJ"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert {(e["kind"], e["ref"], e["date"], e["quantity"]) for e in items} >= {
        ("purchase_order", "PO-129374", "2027-02-07", "600")}
    # pages are bounded, and the next page goes on where this one ended
    page = c.get("/v1/supply", params={"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next"] == page["items"][1]["id"]
    more = c.get("/v1/supply", params={"limit": 2, "after": page["next"]}).json()
    assert more["items"][0]["id"] > page["next"]
    assert c.get("/v1/supply", params={"kind": "sideways"}).status_code == 422
    assert c.get("/v1/supply", params={"limit": 0}).status_code == 422


def test_an_import_names_the_bad_cell_and_stores_nothing(orch: Any) -> None:
    c = orch.http("admin")
    bad = {"supply": [
        {"location": "WH-NJ", "sku": "FAS-0005", "kind": "purchase_order",
         "date": "2026-12-01", "quantity": "10", "ref": "PO-OK"},
        {"location": "WH-NJ", "sku": "FAS-0005", "kind": "purchase_order",
         "date": "2026-13-01", "quantity": "10", "ref": "PO-BAD"}]}
    r = c.post("/v1/supply", json=bad)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["path"] == "$.supply[1].date"
    bad["supply"][1].update(date="2026-12-02", quantity="-3")
    r = c.post("/v1/supply", json=bad)
    assert (r.status_code, r.json()["error"]["path"]) == (422, "$.supply[1].quantity")
    bad["supply"][1].update(quantity="3", kind="boat")
    assert c.post("/v1/supply", json=bad).json()["error"]["path"] == "$.supply[1].kind"
    got = orch.http("analyst").get("/v1/supply", params={"sku": "FAS-0005"}).json()["items"]
    assert not [e for e in got if e["ref"] in ("PO-OK", "PO-BAD")]
    assert orch.http("analyst").post("/v1/supply", json={"supply": []}).status_code == 403


def test_fifty_concurrent_orders_for_the_last_units_promise_exactly_what_exists(
        orch: Any) -> None:
    sku = "FAS-0005"
    # 80 on hand at WH-NJ only, 40 more on a purchase order on 4 Dec; nothing else. Each
    # order wants 4 (the web channel's minimum order value is USD 25)
    stock_only(orch, sku, {"WH-NJ": 80}, [("WH-NJ", "2026-12-04", 40, "PO-LAST")])
    results: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    url = orch.svc.url
    secret = orch.svc.keys["evaluator"]

    def capture(n: int) -> None:
        body = orch.order_body(f"LAST-{n}", lines=[{"id": "1", "sku": sku, "quantity": 4}])
        with httpx.Client(base_url=url, timeout=120,
                          headers={"Authorization": f"Bearer {secret}"}) as cl:
            r = cl.post("/v1/orders", json={"order": body, "as_of": "2026-11-20"})
            assert r.status_code == 201, r.text
            p = cl.get(f"/v1/orders/LAST-{n}/promise")
            assert p.status_code == 200, p.text
            with lock:
                results[f"LAST-{n}"] = p.json()

    with ThreadPoolExecutor(50) as pool:
        list(pool.map(capture, range(50)))
    assert len(results) == 50
    lines = [p["lines"][0] for p in results.values()]
    now = [ln for ln in lines if ln["parts"] and ln["parts"][0]["from"] == "on_hand"]
    later = [ln for ln in lines if ln["parts"] and ln["parts"][0]["from"] == "atp"]
    short = [ln for ln in lines if not ln["parts"]]
    assert (len(now), len(later), len(short)) == (20, 10, 20)
    assert {ln["parts"][0]["ship_date"] for ln in now} == {"2026-11-21"}   # + 1 handling day
    assert {ln["parts"][0]["ship_date"] for ln in later} == {"2026-12-05"}
    assert all(ln["short"] == "4" and ln["quantity"] == "4" for ln in short)
    pos = position(orch, "WH-NJ", sku)
    assert (pos["on_hand"], pos["reserved"], pos["available"],
            pos["reserved_from_supply"]) == ("80", "80", "0", "40")
    # the stock ledger allocates what was promised from on hand, never more than it holds
    for oid in results:
        orch.event(oid, f"{oid}-s", "scheduled", at="2026-11-20T10:00:00Z")
    stock = orch.http("analyst").get(f"/v1/stock/WH-NJ/{sku}").json()
    assert (stock["on_hand"], stock["allocated"], stock["available"]) == ("80", "80", "0")
    # a late or short line raised a PROMISE_LATE alert with its delay
    alerts = [a for a in orch.alerts() if a["code"] == "PROMISE_LATE"
              and a["order_id"] in results]
    assert len(alerts) == 30 and {a["priority"] for a in alerts} == {"high"}
    late = {a["order_id"] for a in alerts if "after the requested date" in a["message"]}
    assert len(late) == 10
    assert {ln["delay_days"] for ln in later} == {12}  # arrives 7 Dec, asked for 25 Nov
    assert all("4 of 4 cannot be promised" in a["message"] for a in alerts
               if a["order_id"] not in late)
