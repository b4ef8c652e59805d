"""A decision's own promise (`sourcing.lines[].promise`) by demand class and by capable-to-
promise (issue 14, engine/sourcing.py `Allocation._made_or_allocated`), with the pure engine
reading the rule set's allocation, boms and capacity tables; and the same promise as the
service's hub answers it (POST /v1/availability) for the same order on a fresh service.

The rule set is ACME with the reference tables of tests/orchestration/test_promising_makeup.py
(Oracle's 60/40 rule, a two-level bike bill at WH-NJ), and its inventory and supply of the
SKUs used here replaced: FAS-0002 has 100 at WH-NJ on 1 Jan and 100 on order there for 10 Jan;
the bike's frames, rims and tires are 100 each at WH-NJ, no bikes or wheels anywhere."""
from __future__ import annotations

import csv
import datetime
import io
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordinance.engine import RuleSetInvalid, load, parse_order

from svc_helpers import ServerThread, Service, archive, make_service

ACME = Path(__file__).resolve().parents[2] / "rulesets" / "acme"
SKU = "FAS-0002"
BIKE, FRAME, WHEEL, RIM, TIRE = "FAS-0031", "FAS-0035", "FAS-0032", "FAS-0037", "FAS-0038"
OURS = {SKU, BIKE, FRAME, WHEEL, RIM, TIRE}
AS_OF = datetime.date(2027, 1, 1)   # a Friday: its allocation week is 28 Dec - 3 Jan

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


def _without_ours(path: Path, extra: list[str]) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text())))
    keep = [r for r in rows[1:] if r and r[1] not in OURS]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(rows[0])
    w.writerows(keep)
    path.write_text(out.getvalue() + "".join(e + "\n" for e in extra))


def ruleset(into: Path, allocation: str = ALLOCATION) -> Path:
    out = into / "acme-decision-promise"
    shutil.copytree(ACME, out)
    ref = out / "reference"
    (ref / "atp_rules.csv").write_text(ATP_RULES)
    (ref / "allocation.csv").write_text(allocation)
    (ref / "boms.csv").write_text(BOMS)
    (ref / "capacity.csv").write_text(CAPACITY)
    (out / "packs" / "15-demand-class.yaml").write_text(PACK)
    _without_ours(ref / "inventory.csv", [f"WH-NJ,{SKU},100", f"WH-NJ,{FRAME},100",
                                          f"WH-NJ,{RIM},100", f"WH-NJ,{TIRE},100"])
    _without_ours(ref / "supply.csv", [f"WH-NJ,{SKU},purchase_order,2027-01-10,100,PO-6040"])
    return out


def order(oid: str, *lines: tuple[str, int], **over: Any) -> dict[str, Any]:
    body = {"id": oid, "order_date": "2027-01-01T09:00:00Z", "channel": "web",
            "currency": "USD", "customer": {"id": "C-00004"},
            "ship_to": {"street": "1 Main St", "city": "Tampa", "country": "US",
                        "state": "FL", "postal": "33636"},
            "payment": {"method": "card"}, "requested_date": AS_OF.isoformat(),
            "lines": [{"id": str(i), "sku": sku, "quantity": q}
                      for i, (sku, q) in enumerate(lines, 1)]}
    body.update(over)
    return body


@pytest.fixture(scope="module")
def rs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ruleset(tmp_path_factory.mktemp("rs"))


@pytest.fixture(scope="module")
def rs(rs_dir: Path) -> Any:
    return load(rs_dir)


def promises(rs: Any, body: dict[str, Any]) -> list[dict[str, Any]]:
    decision = rs.evaluate(parse_order(json.dumps(body)), AS_OF).to_json()
    return [line["promise"] for line in decision["sourcing"]["lines"]]


def draws(p: dict[str, Any]) -> list[tuple[str | None, str, str]]:
    return [(t["date"], t["quantity"], t["note"]) for t in p["trace"] if t["step"] == "draw"]


def parts(p: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(x["location"], x["quantity"], x["ship_date"], x["from"]) for x in p["parts"]]


def test_a_low_line_within_its_share_is_promised_on_the_first_day(rs: Any) -> None:
    """Low's share of the week of 28 Dec is 40% of the 100 on hand = 40: 30 fit, on 1 Jan
    (WH-NJ hands over a day later)."""
    (p,) = promises(rs, order("L-1", (SKU, 30)))
    assert draws(p) == [("2027-01-01", "30", "from node low")]
    assert parts(p) == [("WH-NJ", "30", "2027-01-02", "on_hand")]
    assert p["short"] == "0"


def test_a_low_line_above_its_share_waits_for_the_next_receipt(rs: Any) -> None:
    """Low 50 > 40 (its share of week 1); the rule does not steal and the line is not split,
    so it waits for week 2: 40% of 100 + 100 = 80 >= 50, on 10 Jan's receipt. A high line of
    50 fits in its 60 of week 1 (the ATP rule alone would give either on 1 Jan)."""
    (p,) = promises(rs, order("L-2", (SKU, 50)))
    assert draws(p) == [("2027-01-10", "50", "from node low")]
    assert parts(p) == [("WH-NJ", "50", "2027-01-11", "atp")]
    (h,) = promises(rs, order("H-1", (SKU, 50), demand_class="high"))
    assert draws(h) == [("2027-01-01", "50", "from node high")]
    assert parts(h) == [("WH-NJ", "50", "2027-01-02", "on_hand")]


def test_oracle_sixty_forty_within_one_decision(rs: Any) -> None:
    """Two low lines of 30: the first takes 30 of low's 40 on 1 Jan; the second sees 40% of
    the 70 still free in week 1 = 28 < 30, so it waits for 10 Jan (Oracle's example, with
    the first line in the role of the reserved high order)."""
    first, second = promises(rs, order("L-3", (SKU, 30), (SKU, 30)))
    assert draws(first) == [("2027-01-01", "30", "from node low")]
    assert draws(second) == [("2027-01-10", "30", "from node low")]
    assert parts(second) == [("WH-NJ", "30", "2027-01-11", "atp")]


def test_a_two_level_bill_is_made(rs: Any) -> None:
    """8 bikes, none in stock: 16 wheels need 8 wheel-line hours on 1 Jan, ready 2 Jan; the
    bikes 8 assembly hours on 2 Jan, ready 3 Jan, handed over 4 Jan."""
    (p,) = promises(rs, order("MK-1", (BIKE, 8)))
    assert parts(p) == [("WH-NJ", "8", "2027-01-04", "make")]
    assert p["short"] == "0" and p["ship_date"] == "2027-01-04"
    assert {"ctp_make", "ctp_hours", "ctp_stock"} <= {t["step"] for t in p["trace"]}
    # two lines of 8 in one decision: the second finds the first's hours taken
    one, two = promises(rs, order("MK-2", (BIKE, 8), (BIKE, 8)))
    assert parts(one) == [("WH-NJ", "8", "2027-01-04", "make")]
    assert parts(two) == [("WH-NJ", "8", "2027-01-05", "make")]


def test_a_bad_allocation_table_is_refused_or_a_rule_error(tmp_path: Path, rs: Any) -> None:
    """A CSV table is refused by `check` at its cell (the line of the CSV file)."""
    bad = ruleset(tmp_path, ALLOCATION.replace("percentage,false", "percentage,maybe"))
    with pytest.raises(RuleSetInvalid, match=r"reference/allocation.csv:2:1: error: "
                       r"allocation: row 2: steal 'maybe' is not true or false"):
        load(bad)
    # `check` refuses a YAML table the same way (reference/allocation:2:1); a rule set
    # compiled around it anyway gets a rule error naming the table and row when it promises
    from ordinance.engine.sourcing import Allocation, Network
    from ordinance.engine.values import RuleError, Table
    rows = [{"node": "high", "target": Decimal(60), "steal": "maybe"}]
    net = Network(None, None, None, None, rs.model.tables["atp_rules"],
                  {"allocation": Table("allocation", rows, None)})
    with pytest.raises(RuleError, match=r"promising: reference/allocation: row 2: steal "
                       r"'maybe' is not true or false"):
        Allocation(net, None).promise(SKU, Decimal(1), [], Decimal(1), ["WH-NJ"], "US",
                                      "nearest", None, AS_OF)


@pytest.fixture(scope="module")
def svc(database_url: str, rs_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    app, keys = make_service(database_url, tmp_path_factory.mktemp("cache"),
                             eval_timeout=120.0)
    with ServerThread(app) as server:
        service = Service(server.url, database_url, keys, app)
        admin = service.client("admin")
        info = admin.post("/v1/rulesets", content=archive(rs_dir),
                          headers={"Content-Type": "application/gzip"}).json()
        r = admin.post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate")
        assert r.status_code == 200, r.text
        try:
            yield service
        finally:
            service.close()


@pytest.mark.parametrize("body", [
    order("C-1", (SKU, 30)), order("C-2", (SKU, 50)),
    order("C-3", (SKU, 50), demand_class="high"), order("C-4", (SKU, 30), (SKU, 30)),
    order("C-5", (SKU, 500)), order("C-6", (BIKE, 8)), order("C-7", (BIKE, 8), (BIKE, 8))],
    ids=["low-30", "low-50", "high-50", "two-low-30", "low-500-short", "bike-8", "two-bikes"])
def test_the_decision_promises_what_the_hub_answers(svc: Any, rs: Any,
                                                    body: dict[str, Any]) -> None:
    """Nothing reserved on the fresh service: POST /v1/availability and the decision agree
    line by line on parts, dates, shortfall and trace."""
    r = svc.client("evaluator").post("/v1/availability",
                                     json={"order": body, "as_of": AS_OF.isoformat()})
    assert r.status_code == 200, r.text
    hub = r.json()["lines"]
    mine = promises(rs, body)
    assert len(hub) == len(mine) == len(body["lines"])
    for h, m in zip(hub, mine):
        assert (h["ship_date"], h["arrival_date"], h["short"]) == (
            m["ship_date"], m["arrival_date"], m["short"])
        assert h["parts"] == m["parts"]
        assert h["trace"] == m["trace"]
