"""Allocation by demand class and capable-to-promise in the service's promise (issue 14), over
real HTTP on SQLite and PostgreSQL: Oracle's 60/40 example through captures, a two-level bill of
material captured twice (the second waits for capacity), a cancellation giving components and
hours back, and POST /v1/availability answering the same without reserving.

The rule set is ACME with reference/allocation.csv, boms.csv and capacity.csv added
(`ruleset` below: atp_rules without split, so Oracle's example promises a line whole)."""
from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from svc_helpers import ServerThread, Service, archive, make_service

ACME = Path(__file__).resolve().parents[2] / "rulesets" / "acme"
BIKE, FRAME, WHEEL, RIM, TIRE = "FAS-0031", "FAS-0035", "FAS-0032", "FAS-0037", "FAS-0038"
DROP = "FAS-0030"  # drop-shipped from DS-FASTCO, which has no capacity

ATP_RULES = """name,consumption,accumulate,past_due_supply_days,past_due_demand_days,split,min_split,horizon_days
default,backward,true,7,7,false,1,60
"""
ALLOCATION = """node,parent,target,rank,demand_classes,kind,steal
high,,60,1,high,percentage,false
low,,40,2,low;*,,
"""
BOMS = f"""item,component,per_unit,resource,hours,lead_days
{BIKE},{FRAME},1,ASSEMBLY,1,1
{BIKE},{WHEEL},2,,,
{WHEEL},{RIM},1,WHEEL-LINE,0.5,1
{WHEEL},{TIRE},1,,,
{DROP},{FRAME},1,ASSEMBLY,1,1
"""
CAPACITY = """location,resource,hours_per_day
WH-NJ,ASSEMBLY,8
WH-NJ,WHEEL-LINE,8
"""
PACK = """pack: demand-class
phase: defaulting
description: Orders without a demand class are low (allocation.csv)
rules:
  - id: low-by-default
    description: An order that does not say its demand class is low
    then:
      - default: {order.demand_class: '"low"'}
"""


def ruleset(into: Path) -> Path:
    out = into / "acme-promising"
    shutil.copytree(ACME, out)
    ref = out / "reference"
    (ref / "atp_rules.csv").write_text(ATP_RULES)
    (ref / "allocation.csv").write_text(ALLOCATION)
    (ref / "boms.csv").write_text(BOMS)
    (ref / "capacity.csv").write_text(CAPACITY)
    (out / "packs" / "15-demand-class.yaml").write_text(PACK)
    return out


WAREHOUSES = ["WH-NJ", "WH-TX", "WH-NV", "WH-ON", "WH-UK", "WH-NL", "WH-DE", "WH-PL", "WH-JP",
              "ST-CHI", "ST-LDN", "ST-BER", "RS-NJ", "RS-NL"]
AS_OF = "2027-01-01"


class Svc:
    def __init__(self, svc: Service, url: str):
        self.svc, self.url = svc, url

    def http(self, who: str = "admin") -> Any:
        return self.svc.client(who)

    def body(self, oid: str, sku: str, qty: int, **over: Any) -> dict[str, Any]:
        body = {"id": oid, "order_date": "2027-01-01T09:00:00Z", "channel": "web",
                "currency": "USD", "customer": {"id": "C-00004"},
                "ship_to": {"street": "1 Main St", "city": "Tampa", "country": "US",
                            "state": "FL", "postal": "33636"},
                "payment": {"method": "card"}, "requested_date": AS_OF,
                "lines": [{"id": "1", "sku": sku, "quantity": qty}]}
        body.update(over)
        return body

    def capture(self, oid: str, sku: str, qty: int, **over: Any) -> dict[str, Any]:
        r = self.http("evaluator").post("/v1/orders", json={
            "order": self.body(oid, sku, qty, **over), "as_of": AS_OF})
        assert r.status_code == 201, r.text
        r = self.http("evaluator").get(f"/v1/orders/{oid}/promise")
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    def check(self, oid: str, sku: str, qty: int, **over: Any) -> dict[str, Any]:
        r = self.http("evaluator").post("/v1/availability", json={
            "order": self.body(oid, sku, qty, **over), "as_of": AS_OF})
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    def stock(self, sku: str, on_hand: dict[str, int],
              to_come: list[tuple[str, str, int, str]] = ()) -> None:
        rows = [{"location": w, "sku": sku, "kind": "on_hand",
                 "quantity": str(on_hand.get(w, 0))} for w in WAREHOUSES]
        rows += [{"location": loc, "sku": sku, "kind": "purchase_order", "date": day,
                  "quantity": qty, "ref": ref} for loc, day, qty, ref in to_come]
        r = self.http("admin").post("/v1/supply", json={"supply": rows})
        assert r.status_code == 200, r.text

    def held(self, order_id: str | None = None) -> list[tuple[str, str, str, str, str]]:
        """(sku, date, quantity, source, order) of the reservations, read from the database."""
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as c:
                q = "SELECT sku, date, quantity, source, order_id FROM supply_reservations"
                got = [(r[0], str(r[1])[:10], r[2], r[3], r[4]) for r in c.execute(sa.text(q))]
        finally:
            engine.dispose()
        return sorted(g for g in got if order_id is None or g[4] == order_id)


@pytest.fixture(scope="module")
def svc(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from ordinance.adapters.clock import ManualClock
    from ordinance.adapters.orchestration import Orchestrator

    rs_dir = ruleset(tmp_path_factory.mktemp("rs"))
    app, keys = make_service(database_url, tmp_path_factory.mktemp("cache"),
                             eval_timeout=120.0)
    ctx = app.state.ctx
    app.state.orchestration = Orchestrator(ctx.db, ctx.rulesets,
                                           ManualClock("2027-01-01T09:00:00Z"))
    with ServerThread(app) as server:
        service = Service(server.url, database_url, keys, app)
        admin = service.client("admin")
        info = admin.post("/v1/rulesets", content=archive(Path(rs_dir)),
                          headers={"Content-Type": "application/gzip"}).json()
        r = admin.post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate")
        assert r.status_code == 200, r.text
        try:
            yield Svc(service, database_url)
        finally:
            service.close()


def draws(line: dict[str, Any]) -> list[tuple[str | None, str, str]]:
    return [(t["date"], t["quantity"], t["note"]) for t in line["trace"] if t["step"] == "draw"]


def test_oracle_sixty_forty_through_captures(svc: Svc) -> None:
    """60% high / 40% low, 100 on 1 Jan and 100 on 10 Jan: a high line of 30 on 1 Jan is on
    time; then a low line of 30 gets 40% of the 70 left (28) that week and waits for 10 Jan
    (the rule delays, it does not steal from high)."""
    sku = "FAS-0002"
    svc.stock(sku, {"WH-NJ": 100}, [("WH-NJ", "2027-01-10", 100, "PO-6040")])
    high = svc.capture("AL-H", sku, 30, demand_class="high")
    assert high["demand_class"] == "high"
    (line,) = high["lines"]
    assert draws(line) == [("2027-01-01", "30", "from node high")]
    assert [(p["quantity"], p["from"]) for p in line["parts"]] == [("30", "on_hand")]
    # the low line, checked first: the same answer, nothing reserved
    before = svc.held()
    checked = svc.check("AL-L", sku, 30)
    assert checked["demand_class"] == "low"  # the rule set's default (15-demand-class.yaml)
    (cline,) = checked["lines"]
    assert svc.held() == before
    low = svc.capture("AL-L", sku, 30)
    (lline,) = low["lines"]
    assert draws(lline) == draws(cline) == [("2027-01-10", "30", "from node low")]
    assert [(p["quantity"], p["from"]) for p in lline["parts"]] == [("30", "atp")]
    ship = {p["ship_date"] for p in line["parts"]}, {p["ship_date"] for p in lline["parts"]}
    assert ship == ({"2027-01-02"}, {"2027-01-11"})  # WH-NJ hands over a day later
    assert lline["delay_days"] == line["delay_days"] + 9
    assert [h for h in svc.held() if h[0] == sku] == [
        (sku, "2027-01-01", "30", "on_hand", "AL-H"), (sku, "2027-01-10", "30", "atp", "AL-L")]
    # a second high line still finds its share in the first week: 60% of the 70 left is 42
    (h2,) = svc.check("AL-H2", sku, 40, demand_class="high")["lines"]
    assert draws(h2) == [("2027-01-01", "40", "from node high")]
    # an unknown class goes to the '*' node (low): the low line above was placed on 10 Jan's
    # receipt, so 40% of the 70 still free in the first week (28) is there for 10
    (odd,) = svc.check("AL-X", sku, 10, demand_class="gold")["lines"]
    assert draws(odd) == [("2027-01-01", "10", "from node low")]


def test_a_two_level_bill_captured_twice_waits_for_capacity(svc: Svc) -> None:
    """A bike = 1 frame + 2 wheels, 1 assembly hour, 1 day; a wheel = a rim and a tire, half a
    wheel-line hour, 1 day; 8 hours a day of each at WH-NJ; no bikes and no wheels in stock.
    8 bikes: wheels made on 1 Jan (8 wheel-line hours), bikes assembled on 2 Jan, ready 3 Jan.
    8 more: the wheel line is full on 1 Jan, so their wheels are made on 2 Jan and the bikes
    on 3 Jan, ready 4 Jan. A cancellation of the first gives its components and hours back."""
    svc.stock(BIKE, {})
    svc.stock(WHEEL, {})
    for sku in (FRAME, RIM, TIRE):
        svc.stock(sku, {"WH-NJ": 100})
    first = svc.check("MK-0", BIKE, 8)["lines"][0]
    assert svc.held("MK-0") == []
    one = svc.capture("MK-1", BIKE, 8)["lines"][0]
    assert (first["ship_date"], first["parts"]) == (one["ship_date"], one["parts"])
    assert [(p["quantity"], p["from"], p["ship_date"]) for p in one["parts"]] == [
        ("8", "make", "2027-01-04")]  # ready 3 Jan, handed over a day later
    assert svc.held("MK-1") == sorted([
        (FRAME, "2027-01-02", "8", "component", "MK-1"),
        (RIM, "2027-01-01", "16", "component", "MK-1"),
        (TIRE, "2027-01-01", "16", "component", "MK-1"),
        ("resource:WHEEL-LINE", "2027-01-01", "8", "capacity", "MK-1"),
        ("resource:ASSEMBLY", "2027-01-02", "8", "capacity", "MK-1")])
    two = svc.capture("MK-2", BIKE, 8)["lines"][0]
    assert [(p["quantity"], p["from"], p["ship_date"]) for p in two["parts"]] == [
        ("8", "make", "2027-01-05")]
    assert ("resource:WHEEL-LINE", "2027-01-02", "8", "capacity", "MK-2") in svc.held("MK-2")
    steps = {t["step"] for t in two["trace"]}
    assert {"ctp_make", "ctp_hours", "ctp_stock"} <= steps
    # the frames: 16 held for making
    assert sum(int(q) for s, _, q, src, _ in svc.held() if s == FRAME) == 16
    # a change order gives MK-2's rows back and holds what 4 bikes need
    r = svc.http("evaluator").put("/v1/orders/MK-2", json={
        "order": svc.body("MK-2", BIKE, 4), "as_of": AS_OF})
    assert r.status_code == 200, r.text
    assert {(s, q, src) for s, _, q, src, _ in svc.held("MK-2")} == {
        (FRAME, "4", "component"), (RIM, "8", "component"), (TIRE, "8", "component"),
        ("resource:WHEEL-LINE", "4", "capacity"), ("resource:ASSEMBLY", "4", "capacity")}
    r = svc.http("evaluator").post("/v1/orders/MK-1/events", json={
        "id": "mk-1-c", "type": "cancelled", "at": "2027-01-01T10:00:00Z"})
    assert r.status_code == 200, r.text
    assert svc.held("MK-1") == []
    again = svc.check("MK-3", BIKE, 8)["lines"][0]
    assert [(p["quantity"], p["from"], p["ship_date"]) for p in again["parts"]] == [
        ("8", "make", "2027-01-04")]  # MK-1's hours are free again


def test_concurrent_captures_of_a_make_item_never_overbook_a_resource(svc: Svc) -> None:
    """Eight captures of 8 bikes at once: each day's 8 assembly and 8 wheel-line hours go to
    one order only (the resources are locked with the stock rows), so no day holds more
    hours than it has and no two of them are ready on the same day."""
    svc.stock(BIKE, {})  # none on hand: every bike is made (the test runs alone under xdist)
    for sku in (FRAME, RIM, TIRE):
        svc.stock(sku, {"WH-NJ": 1000})
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda i: svc.capture(f"MC-{i}", BIKE, 8)["lines"][0],
                             range(8)))
    days = [ln["ship_date"] for ln in made]
    assert all(ln["short"] == "0" for ln in made) and len(set(days)) == 8, days
    hours: dict[tuple[str, str], int] = {}
    for s, d, q, src, _ in svc.held():
        if src == "capacity":
            hours[(s, d)] = hours.get((s, d), 0) + int(q)
    assert hours and max(hours.values()) <= 8, hours


def test_an_item_with_a_bill_where_nothing_can_make_it_is_promised_from_stock(svc: Svc) -> None:
    """FAS-0030 has a bill, but its decision sources it only at DS-FASTCO, which has no
    capacity: the line is promised from DS-FASTCO's stock as any other line, nothing made."""
    checked = svc.check("DR-1", DROP, 5)["lines"][0]
    assert [(p["location"], p["quantity"], p["from"]) for p in checked["parts"]] == [
        ("DS-FASTCO", "5", "on_hand")]
    assert not any(t["step"].startswith("ctp_") for t in checked["trace"])
