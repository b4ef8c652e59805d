"""Order promising in the service (issue 14) over real HTTP, on SQLite and PostgreSQL: supply in
the database (seeded from the rule set, imported over REST, moved by receipts and shipments),
capture reserving atomically (50 concurrent orders for the last units), change orders and
cancellations giving supply back, PROMISE_LATE alerts."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
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
    """The SKU's on hand everywhere (0 where not named) and its supply to come: the rule
    set's own supply of the SKU (seeded) is set to 0, as every candidate location is
    promised from."""
    rows = [{"location": w, "sku": sku, "kind": "on_hand", "quantity": str(on_hand.get(w, 0))}
            for w in WAREHOUSES]
    mine = {ref for *_, ref in to_come}
    seeded = orch.http("analyst").get("/v1/supply", params={"sku": sku, "limit": 1000})
    assert seeded.status_code == 200, seeded.text
    rows += [{"location": e["location"], "sku": sku, "kind": e["kind"], "date": e["date"],
              "quantity": "0", "ref": e["ref"]} for e in seeded.json()["items"]
             if e["ref"] not in mine and e["quantity"] != "0"]
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


def reserved(orch: Any, loc: str, sku: str) -> tuple[str, str]:
    p = position(orch, loc, sku)
    return p["reserved"], p["reserved_from_supply"]


def test_a_change_order_promises_again_and_a_cancellation_gives_everything_back(
        orch: Any) -> None:
    sku = "FAS-0002"
    stock_only(orch, sku, {"WH-NJ": 100}, [("WH-NJ", "2026-12-01", 50, "PO-CX")])
    orch.order("CX-1", lines=[{"id": "1", "sku": sku, "quantity": 120}])
    (line,) = promise_of(orch, "CX-1")["lines"]
    assert [(p["quantity"], p["from"], p["ship_date"]) for p in line["parts"]] == [
        ("100", "on_hand", "2026-11-21"), ("20", "atp", "2026-12-02")]
    assert reserved(orch, "WH-NJ", sku) == ("100", "20")
    orch.event("CX-1", "cx-s", "scheduled", at="2026-11-20T10:00:00Z")
    assert orch.http("analyst").get(f"/v1/stock/WH-NJ/{sku}").json()["allocated"] == "100"
    # changed to 30: the old reservations are given back before the new promise is made
    body = orch.order_body("CX-1", lines=[{"id": "1", "sku": sku, "quantity": 30}])
    r = orch.http("evaluator").put("/v1/orders/CX-1", json={"order": body,
                                                            "as_of": "2026-11-20"})
    assert r.status_code == 200, r.text
    (line,) = promise_of(orch, "CX-1")["lines"]
    assert [(p["quantity"], p["from"]) for p in line["parts"]] == [("30", "on_hand")]
    assert reserved(orch, "WH-NJ", sku) == ("30", "0")
    assert orch.http("analyst").get(f"/v1/stock/WH-NJ/{sku}").json()["allocated"] == "30"
    # a second order now gets what the change gave back
    orch.order("CX-2", lines=[{"id": "1", "sku": sku, "quantity": 70}])
    assert [p["from"] for p in promise_of(orch, "CX-2")["lines"][0]["parts"]] == ["on_hand"]
    assert reserved(orch, "WH-NJ", sku) == ("100", "0")
    orch.event("CX-1", "cx-c", "cancelled", at="2026-11-20T11:00:00Z")
    assert reserved(orch, "WH-NJ", sku) == ("70", "0")
    assert promise_of(orch, "CX-1")["reserved"] is False
    assert orch.http("analyst").get(f"/v1/stock/WH-NJ/{sku}").json()["allocated"] == "0"


def test_a_shipment_uses_its_reservation_and_a_goods_receipt_its_purchase_order(
        orch: Any) -> None:
    sku = "FAS-0007"
    stock_only(orch, sku, {"WH-NJ": 50}, [("WH-NJ", "2026-12-01", 100, "PO-GR")])
    orch.order("SH-1", lines=[{"id": "1", "sku": sku, "quantity": 30}])
    assert reserved(orch, "WH-NJ", sku) == ("30", "0")
    for eid, etype in (("s", "scheduled"), ("r", "released")):
        orch.event("SH-1", f"sh-{eid}", etype, at="2026-11-20T10:00:00Z")
    orch.event("SH-1", "sh-p", "shipment_confirmed", at="2026-11-20T12:00:00Z",
               lines=[{"line_id": "1", "quantity": 12, "location": "WH-NJ"}])
    pos = position(orch, "WH-NJ", sku)
    assert (pos["on_hand"], pos["reserved"], pos["available"]) == ("38", "18", "20")
    # a goods receipt against PO-GR: on hand up, the purchase order's supply to come down
    from ordinance.adapters import inventory  # the reorder flow's receipt, on its database

    db = orch.svc.app.state.ctx.db
    with db.session(write=True) as s:
        from ordinance.adapters.models_orchestration import ReorderProposal

        s.add(ReorderProposal(location="WH-NJ", sku=sku, quantity="100", supplier=None,
                              reason="test", rule="test", order_id=None, state="ordered",
                              created_at=orch.clock.now(), purchase_order="PO-GR",
                              ordered_quantity="100", received_quantity="0"))
        s.flush()
        rid = s.query(ReorderProposal).filter_by(purchase_order="PO-GR").one().id
    r = orch.http("evaluator").post(f"/v1/reorders/{rid}/receive",
                                    json={"id": "GR-1", "quantity": "40"})
    assert r.status_code == 200, r.text
    pos = position(orch, "WH-NJ", sku)
    assert pos["on_hand"] == "78"
    assert [(e["ref"], e["quantity"]) for e in pos["supply"]] == [("PO-GR", "60")]
    assert inventory  # imported for the reader: the receipt is inventory.receive


def test_a_purchase_order_moved_later_moves_its_promises_and_raises_the_delay(
        orch: Any) -> None:
    sku = "FAS-0025"
    stock_only(orch, sku, {"WH-TX": 10}, [("WH-TX", "2026-12-01", 100, "PO-SLIP")])
    for oid in ("SL-1", "SL-2"):
        orch.order(oid, requested_date="2026-12-10",
                   lines=[{"id": "1", "sku": sku, "quantity": 30}])
    first = promise_of(orch, "SL-1")["lines"][0]
    assert [(p["quantity"], p["from"], p["ship_date"], p["arrival_date"])
            for p in first["parts"]] == [("10", "on_hand", "2026-11-21", "2026-11-24"),
                                         ("20", "atp", "2026-12-02", "2026-12-05")]
    assert first["delay_days"] == 0
    mine = [a for a in orch.alerts() if a["order_id"] in ("SL-1", "SL-2")]
    assert mine == []
    # the purchase order slips to 20 Dec: both orders are promised again, in their order
    r = orch.http("admin").post("/v1/supply", json={"supply": [
        {"location": "WH-TX", "sku": sku, "kind": "purchase_order", "date": "2026-12-20",
         "quantity": "100", "ref": "PO-SLIP"}]})
    assert r.status_code == 200, r.text
    assert r.json()["repromised"] == ["SL-1", "SL-2"]
    first = promise_of(orch, "SL-1")["lines"][0]
    assert [(p["quantity"], p["ship_date"]) for p in first["parts"]] == [
        ("10", "2026-11-21"), ("20", "2026-12-21")]
    assert (first["arrival_date"], first["delay_days"]) == ("2026-12-24", 14)
    assert reserved(orch, "WH-TX", sku) == ("10", "50")
    (alert,) = [a for a in orch.alerts() if a["order_id"] == "SL-1"]
    assert (alert["code"], alert["priority"]) == ("PROMISE_LATE", "high")
    assert alert["message"] == ("line 1 (FAS-0025): promised 2026-12-24, 14 day(s) after the "
                                "requested date")


def test_new_supply_dates_the_backorders_in_the_order_they_came(orch: Any) -> None:
    sku = "FAS-0008"
    stock_only(orch, sku, {"WH-NJ": 10})
    for oid in ("BO-1", "BO-2"):
        orch.order(oid, lines=[{"id": "1", "sku": sku, "quantity": 20}])
    assert [promise_of(orch, o)["lines"][0]["short"] for o in ("BO-1", "BO-2")] == ["10", "20"]
    assert position(orch, "WH-NJ", sku)["short"] == "30"
    r = orch.http("admin").post("/v1/supply", json={"supply": [
        {"location": "WH-NJ", "sku": sku, "kind": "purchase_order", "date": "2026-12-07",
         "quantity": 25, "ref": "PO-BO"}]})
    assert r.status_code == 200, r.text
    assert r.json()["repromised"] == ["BO-1", "BO-2"]
    one, two = (promise_of(orch, o)["lines"][0] for o in ("BO-1", "BO-2"))
    assert [(p["quantity"], p["from"], p["ship_date"]) for p in one["parts"]] == [
        ("10", "on_hand", "2026-11-21"), ("10", "atp", "2026-12-08")]
    assert (one["short"], two["short"]) == ("0", "5")
    assert [(p["quantity"], p["ship_date"]) for p in two["parts"]] == [("15", "2026-12-08")]
    pos = position(orch, "WH-NJ", sku)
    assert (pos["reserved"], pos["reserved_from_supply"], pos["short"]) == ("10", "25", "5")


def test_check_availability_reserves_nothing_and_ranks_alternatives(orch: Any) -> None:
    sku = "FAS-0001"  # its substitute in reference/substitutes.csv is FAS-0019
    # the line's candidates (us-east: WH-NJ, WH-TX, WH-NV) have 10 now and 100 on 10 Dec;
    # the reserve location RS-NJ, which only gold customers source from, has 500
    stock_only(orch, sku, {"WH-NJ": 10, "RS-NJ": 500},
               [("WH-NJ", "2026-12-10", 100, "PO-AV")])
    stock_only(orch, "FAS-0019", {"WH-NJ": 500})
    before = position(orch, "WH-NJ", sku)
    order = orch.order_body("AV-1", lines=[{"id": "1", "sku": sku, "quantity": 40}])
    r = orch.http("evaluator").post("/v1/availability", json={"order": order,
                                                              "as_of": "2026-11-20"})
    assert r.status_code == 200, r.text
    (line,) = r.json()["lines"]
    assert [(p["location"], p["quantity"], p["from"]) for p in line["parts"]] == [
        ("WH-NJ", "10", "on_hand"), ("WH-NJ", "30", "atp")]
    kinds: dict[str, Any] = {}
    for a in line["alternatives"]:  # the best of each kind
        kinds.setdefault(a["kind"], a)
    assert {"another_location", "later_date", "substitute"} <= set(kinds)
    assert [(p["location"], p["quantity"]) for p in kinds["another_location"]["parts"]] == [
        ("RS-NJ", "40")]
    assert (kinds["later_date"]["ship_date"], kinds["later_date"]["short"]) == (
        "2026-12-11", "0")
    assert (kinds["substitute"]["sku"], kinds["substitute"]["quantity"],
            kinds["substitute"]["ship_date"]) == ("FAS-0019", "40", "2026-11-21")
    due = [a["arrival_date"] or a["ship_date"] for a in line["alternatives"]]
    assert due == sorted(due)  # nothing is short, so the earliest first
    assert position(orch, "WH-NJ", sku) == before  # nothing reserved
    assert orch.http("evaluator").get("/v1/orders/AV-1/promise").status_code == 404
    bad = orch.http("evaluator").post("/v1/availability", json={"order": order, "x": 1})
    assert bad.status_code == 422 and bad.json()["error"]["path"] == "$.x"


def test_the_acme_substitutes_table_is_checked() -> None:
    import csv

    from ordinance.engine.promising.reference import ReferenceError
    from ordinance.engine.promising.substitutes import substitutes

    products = {r["sku"] for r in csv.DictReader((ACME / "reference/products.csv").open())}
    rows = [{**r, "quantity": Decimal(r["quantity"])}
            for r in csv.DictReader((ACME / "reference/substitutes.csv").open())]
    table = substitutes(rows, products)
    assert table["HTL-0002"] == (("HTL-0001", Decimal(2)),)
    with pytest.raises(ReferenceError, match=r"row 3: 'NOPE' is not in the products table"):
        substitutes([rows[0], {**rows[1], "substitute": "NOPE"}], products)
    with pytest.raises(ReferenceError, match="row 2: FAS-0001 cannot substitute itself"):
        substitutes([{**rows[0], "substitute": "FAS-0001"}], products)


def test_the_commands_import_a_csv_and_check_availability(orch: Any, tmp_path: Any) -> None:
    import json
    import os
    import subprocess
    import sys

    cmd = str(Path(sys.executable).with_name("ordinance"))
    env = {**os.environ, "ORDINANCE_DATABASE_URL": orch.svc.db_url,
           "ORDINANCE_CACHE_DIR": str(tmp_path / "cache")}

    def run(*args: str) -> Any:
        return subprocess.run([cmd, *args], env=env, capture_output=True, text=True,
                              timeout=300)

    bad = tmp_path / "supply.csv"
    bad.write_text("location,sku,kind,date,quantity,ref\n"
                   "WH-NJ,FAS-0013,purchase_order,2026-12-03,25,PO-CLI\n"
                   "WH-NJ,FAS-0013,purchase_order,2026-12-03,lots,PO-CLI2\n")
    r = run("supply", "import", str(bad))
    assert r.returncode == 1
    assert f"{bad}:3:5: quantity 'lots' is a number" in r.stderr
    good = tmp_path / "good.csv"
    good.write_text("location,sku,kind,date,quantity,ref\n"
                    "WH-NJ,FAS-0013,on_hand,,0,\n"
                    "WH-NJ,FAS-0013,purchase_order,2026-12-03,25,PO-CLI\n")
    r = run("supply", "import", str(good))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"imported": 2, "on_hand": 1, "events": 1,
                                    "repromised": []}
    pos = position(orch, "WH-NJ", "FAS-0013")
    assert pos["on_hand"] == "0" and ("PO-CLI", "25") in [(e["ref"], e["quantity"])
                                                          for e in pos["supply"]]
    order = tmp_path / "order.json"
    order.write_text(json.dumps(orch.order_body(
        "CLI-1", lines=[{"id": "1", "sku": "FAS-0013", "quantity": 5}])))
    r = run("availability", str(order), "--as-of", "2026-11-20")
    assert r.returncode == 0, r.stderr
    (line,) = json.loads(r.stdout)["lines"]
    assert line["promised"] == "5" and line["parts"][0]["location"] in ("WH-NJ", "WH-TX",
                                                                          "WH-NV", "WH-ON")
    assert position(orch, "WH-NJ", "FAS-0013")["reserved"] == pos["reserved"]


def test_twelve_concurrent_orders_spread_over_every_candidate_location(orch: Any) -> None:
    """Issue 14's own case: twelve orders of 400 FAS-0001 captured and scheduled at once. The
    rule set's inventory (each decision's snapshot) has 408 at WH-NJ, which every decision
    allocates from; the promise walks the source action's candidates for us-east in its
    order (WH-NJ, WH-TX, WH-NV) under the lock, so the orders go where stock is."""
    sku = "FAS-0001"
    stock_only(orch, sku, {"WH-NJ": 408, "WH-NV": 756},
               [("WH-TX", "2026-12-18", 240, "TR-TWELVE"),
                ("WH-PL", "2026-12-01", 900, "PO-NOT-A-CANDIDATE")])
    results: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    url, secret = orch.svc.url, orch.svc.keys["evaluator"]

    def capture(n: int) -> None:
        oid = f"TWELVE-{n}"
        body = orch.order_body(oid, lines=[{"id": "1", "sku": sku, "quantity": 400}])
        with httpx.Client(base_url=url, timeout=120,
                          headers={"Authorization": f"Bearer {secret}"}) as cl:
            r = cl.post("/v1/orders", json={"order": body, "as_of": "2026-11-20"})
            assert r.status_code == 201, r.text
            decided = cl.get(f"/v1/orders/{oid}").json()
            r = cl.post(f"/v1/orders/{oid}/events", json={
                "id": f"{oid}-s", "type": "scheduled", "at": "2026-11-20T10:00:00Z"})
            assert r.status_code == 200, r.text
            p = cl.get(f"/v1/orders/{oid}/promise")
            assert p.status_code == 200, p.text
            with lock:
                results[oid] = {"promise": p.json(), "order": decided}

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(capture, range(12)))
    assert len(results) == 12
    lines = [r["promise"]["lines"][0] for r in results.values()]
    # every line was offered the source action's candidates, in its preference order
    assert {tuple(ln["candidates"]) for ln in lines} == {("WH-NJ", "WH-TX", "WH-NV")}
    parts = [p for ln in lines for p in ln["parts"]]
    by_place: dict[tuple[str, str], Decimal] = {}
    for p in parts:
        key = (p["location"], p["from"])
        by_place[key] = by_place.get(key, Decimal(0)) + Decimal(p["quantity"])
    # exactly what exists: all on hand at WH-NJ and WH-NV, WH-TX's transfer when it arrives;
    # nothing at WH-PL, which the action did not name
    assert by_place == {("WH-NJ", "on_hand"): 408, ("WH-NV", "on_hand"): 756,
                        ("WH-TX", "atp"): 240}
    promised = sorted(Decimal(ln["promised"]) for ln in lines)
    assert sum(promised) == 408 + 756 + 240
    assert promised == [0] * 8 + [204, 400, 400, 400]  # in whatever order they queued
    assert sum(Decimal(ln["short"]) for ln in lines) == 4800 - 1404
    assert {p["ship_date"] for p in parts if p["from"] == "atp"} == {"2026-12-19"}
    # the stock ledger allocates what was promised from on hand: never more than it holds
    for loc, held in (("WH-NJ", "408"), ("WH-NV", "756"), ("WH-TX", "0")):
        stock = orch.http("analyst").get(f"/v1/stock/{loc}/{sku}").json()
        assert (stock["on_hand"], stock["allocated"], stock["available"]) == (
            held, held, "0"), (loc, stock)
        pos = position(orch, loc, sku)
        assert pos["reserved"] == held
    assert position(orch, "WH-TX", sku)["reserved_from_supply"] == "240"
    # the decisions themselves are unchanged: each allocated from the snapshot's WH-NJ
    for r in results.values():
        (sl,) = r["order"]["decision"]["sourcing"]["lines"]
        assert [(a["location"], a["quantity"]) for a in sl["allocations"]] == [
            ("WH-NJ", "400")]
        assert "candidates" not in sl


def ordered_proposal(orch: Any, loc: str, sku: str, qty: int, po: str) -> int:
    """An ordered reorder proposal for `po` (the reorder flow's: a rule proposes, a buyer
    orders), on the service's database; its goods receipts then go over HTTP."""
    from ordinance.adapters.models_orchestration import ReorderProposal

    db = orch.svc.app.state.ctx.db
    with db.session(write=True) as s:
        s.add(ReorderProposal(location=loc, sku=sku, quantity=str(qty), supplier=None,
                              reason="test", rule="test", order_id=None, state="ordered",
                              created_at=orch.clock.now(), purchase_order=po,
                              ordered_quantity=str(qty), received_quantity="0"))
        s.flush()
        return int(s.query(ReorderProposal).filter_by(purchase_order=po).one().id)


def stock_of(orch: Any, loc: str, sku: str) -> tuple[str, str, str]:
    st = orch.http("analyst").get(f"/v1/stock/{loc}/{sku}").json()
    return st["on_hand"], st["allocated"], st["available"]


def parts_of(orch: Any, oid: str) -> list[tuple[str, str, str | None]]:
    (line,) = promise_of(orch, oid)["lines"]
    return [(p["quantity"], p["from"], p.get("received")) for p in line["parts"]]


def test_a_goods_receipt_turns_the_reservations_on_its_purchase_order_into_allocations(
        orch: Any) -> None:
    sku = "FAS-0011"
    stock_only(orch, sku, {"WH-NJ": 10}, [("WH-NJ", "2026-12-01", 100, "PO-RCV")])
    for oid, qty in (("RC-1", 30), ("RC-2", 40), ("RC-3", 50)):
        orch.order(oid, requested_date="2026-12-10",
                   lines=[{"id": "1", "sku": sku, "quantity": qty}])
    assert parts_of(orch, "RC-1") == [("10", "on_hand", None), ("20", "atp", None)]
    assert parts_of(orch, "RC-2") == [("40", "atp", None)]
    assert parts_of(orch, "RC-3") == [("40", "atp", None)]
    for oid in ("RC-1", "RC-2"):  # orchestration follows these two; RC-3 not yet
        orch.event(oid, f"{oid}-s", "scheduled", at="2026-11-20T10:00:00Z")
    assert stock_of(orch, "WH-NJ", sku) == ("10", "10", "0")
    rid = ordered_proposal(orch, "WH-NJ", sku, 100, "PO-RCV")
    # half of the purchase order comes in: the earliest promised reservations on it (RC-1's
    # 20, then 30 of RC-2's 40) become stock allocated to them, in the receipt's transaction
    r = orch.http("evaluator").post(f"/v1/reorders/{rid}/receive",
                                    json={"id": "GR-RC-1", "quantity": "50"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["allocated_to"] == [
        {"order_id": "RC-1", "line_id": "1", "quantity": "20"},
        {"order_id": "RC-2", "line_id": "1", "quantity": "30"}]
    assert (got["stock"]["on_hand"], got["stock"]["allocated"]) == ("60", "60")
    assert stock_of(orch, "WH-NJ", sku) == ("60", "60", "0")
    pos = position(orch, "WH-NJ", sku)
    assert (pos["on_hand"], pos["reserved"], pos["reserved_from_supply"], pos["short"]) == (
        "60", "60", "50", "10")
    assert [(e["ref"], e["quantity"]) for e in pos["supply"]
            if e["quantity"] != "0"] == [("PO-RCV", "50")]
    assert parts_of(orch, "RC-1") == [("10", "on_hand", None),
                                      ("20", "on_hand", "2026-11-20")]
    assert parts_of(orch, "RC-2") == [("30", "on_hand", "2026-11-20"), ("10", "atp", None)]
    assert parts_of(orch, "RC-3") == [("40", "atp", None)]
    # received early: the promised dates stand (ship 2 Dec), no alert
    (line,) = promise_of(orch, "RC-2")["lines"]
    assert {p["ship_date"] for p in line["parts"]} == {"2026-12-02"}
    assert not [a for a in orch.alerts() if a["order_id"] in ("RC-1", "RC-2")]
    # the rest: RC-2's last 10 and RC-3's 40; RC-3 is not followed yet, so the ledger
    # allocates only RC-2's part now and RC-3's when orchestration first sees the order
    r = orch.http("evaluator").post(f"/v1/reorders/{rid}/receive",
                                    json={"id": "GR-RC-2", "quantity": "50"})
    assert r.status_code == 200, r.text
    assert r.json()["allocated_to"] == [
        {"order_id": "RC-2", "line_id": "1", "quantity": "10"},
        {"order_id": "RC-3", "line_id": "1", "quantity": "40"}]
    assert stock_of(orch, "WH-NJ", sku) == ("110", "70", "40")
    orch.event("RC-3", "RC-3-s", "scheduled", at="2026-11-20T10:00:00Z")
    assert stock_of(orch, "WH-NJ", sku) == ("110", "110", "0")
    pos = position(orch, "WH-NJ", sku)
    assert (pos["reserved"], pos["reserved_from_supply"]) == ("110", "0")
    # the allocations are the orders' own: a shipment takes them out, a cancellation gives
    # them back (nothing leaks in the ledger)
    orch.event("RC-1", "RC-1-r", "released", at="2026-11-20T11:00:00Z")
    orch.event("RC-1", "RC-1-p", "shipment_confirmed", at="2026-11-20T12:00:00Z",
               lines=[{"line_id": "1", "quantity": 30, "location": "WH-NJ"}])
    assert stock_of(orch, "WH-NJ", sku) == ("80", "80", "0")
    orch.event("RC-2", "RC-2-c", "cancelled", at="2026-11-20T12:00:00Z")
    assert stock_of(orch, "WH-NJ", sku) == ("80", "40", "40")
    assert position(orch, "WH-NJ", sku)["reserved"] == "40"
    # the same receipt again is answered from its record and turns nothing twice
    r = orch.http("evaluator").post(f"/v1/reorders/{rid}/receive",
                                    json={"id": "GR-RC-2", "quantity": "50"})
    assert r.status_code == 200 and r.json()["duplicate"] is True
    assert stock_of(orch, "WH-NJ", sku) == ("80", "40", "40")


def test_supply_received_late_raises_promise_late_with_the_new_delay(orch: Any) -> None:
    sku = "FAS-0016"
    stock_only(orch, sku, {}, [("WH-NJ", "2026-12-01", 100, "PO-LATE")])
    orch.order("LT-1", requested_date="2026-12-10",
               lines=[{"id": "1", "sku": sku, "quantity": 30}])
    orch.order("LT-2", requested_date="2026-12-01",
               lines=[{"id": "1", "sku": sku, "quantity": 20}])
    one, two = (promise_of(orch, o)["lines"][0] for o in ("LT-1", "LT-2"))
    assert (one["ship_date"], one["arrival_date"], one["delay_days"]) == (
        "2026-12-02", "2026-12-04", 0)
    assert (two["arrival_date"], two["delay_days"]) == ("2026-12-04", 3)
    (early,) = [a for a in orch.alerts() if a["order_id"] in ("LT-1", "LT-2")]
    assert (early["order_id"], early["priority"]) == ("LT-2", "medium")
    rid = ordered_proposal(orch, "WH-NJ", sku, 100, "PO-LATE")
    start = orch.clock.now()
    orch.clock.set("2026-12-15T08:00:00Z")  # the purchase order comes two weeks late
    try:
        r = orch.http("evaluator").post(f"/v1/reorders/{rid}/receive",
                                        json={"id": "GR-LATE", "quantity": "100"})
    finally:
        orch.clock.set(start)
    assert r.status_code == 200, r.text
    one, two = (promise_of(orch, o)["lines"][0] for o in ("LT-1", "LT-2"))
    assert [(p["quantity"], p["from"], p["received"], p["ship_date"], p["arrival_date"])
            for p in one["parts"]] == [("30", "on_hand", "2026-12-15", "2026-12-16",
                                        "2026-12-18")]
    assert (one["arrival_date"], one["delay_days"]) == ("2026-12-18", 8)
    assert (two["arrival_date"], two["delay_days"]) == ("2026-12-18", 17)
    open_ = {a["order_id"]: a for a in orch.alerts() if a["order_id"] in ("LT-1", "LT-2")}
    assert {o: (a["code"], a["priority"]) for o, a in open_.items()} == {
        "LT-1": ("PROMISE_LATE", "high"), "LT-2": ("PROMISE_LATE", "high")}
    assert open_["LT-1"]["message"] == ("line 1 (FAS-0016): promised 2026-12-18, 8 day(s) "
                                        "after the requested date")
    assert "17 day(s)" in open_["LT-2"]["message"]
    # received on time, nothing moves: the same purchase order's twin a week early
    stock_only(orch, "FAS-0014", {}, [("WH-NJ", "2026-12-01", 10, "PO-EARLY")])
    orch.order("LT-3", requested_date="2026-12-10",
               lines=[{"id": "1", "sku": "FAS-0014", "quantity": 10}])
    rid = ordered_proposal(orch, "WH-NJ", "FAS-0014", 10, "PO-EARLY")
    r = orch.http("evaluator").post(f"/v1/reorders/{rid}/receive",
                                    json={"id": "GR-EARLY", "quantity": "10"})
    assert r.status_code == 200, r.text
    (three,) = promise_of(orch, "LT-3")["lines"]
    assert (three["ship_date"], three["delay_days"]) == ("2026-12-02", 0)
    assert not [a for a in orch.alerts() if a["order_id"] == "LT-3"]


def test_a_line_whose_rule_does_not_split_is_promised_at_one_location(orch: Any) -> None:
    sku = "FAS-0017"
    stock_only(orch, sku, {"WH-NJ": 100, "WH-NV": 500})
    orch.order("SPLIT-1", lines=[{"id": "1", "sku": sku, "quantity": 150}])
    (line,) = promise_of(orch, "SPLIT-1")["lines"]
    assert (line["candidates"], line["split"]) == (["WH-NJ", "WH-TX", "WH-NV"], True)
    assert [(p["location"], p["quantity"]) for p in line["parts"]] == [
        ("WH-NJ", "100"), ("WH-NV", "50")]
    # ship_complete: the `ship-complete` rule sources without splitting
    orch.order("WHOLE-1", ship_complete=True, lines=[{"id": "1", "sku": sku, "quantity": 400}])
    (line,) = promise_of(orch, "WHOLE-1")["lines"]
    assert (line["candidates"], line["split"]) == (["WH-NJ", "WH-TX", "WH-NV"], False)
    assert [(p["location"], p["quantity"], p["from"]) for p in line["parts"]] == [
        ("WH-NV", "400", "on_hand")]
    assert (position(orch, "WH-NJ", sku)["reserved"],
            position(orch, "WH-NV", sku)["reserved"]) == ("100", "450")
