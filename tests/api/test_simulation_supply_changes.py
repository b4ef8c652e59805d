"""Supply changes over POST /v1/simulations (issue 14), over real HTTP on SQLite and
PostgreSQL: the what-if edits of `ordinance simulate --supply-change` in the request (a JSON
body's `supply_changes`, or `supply_change` query parameters with an NDJSON stream), checked
with a 422 at the JSON path of the bad one (never a 500, nothing stored), carried to the job and
shown in its summary and report.

The stream and rule set are tests/simulator/test_promising_over_time.py's, worked out by hand
there: W1 holds 10 of B, PO-1 brings 30 on 25 Nov and PO-2 20 on 5 Dec; four orders. With
"PO-1 late 10 days" on the candidate the late lines' delays go from 5 + 4 + 9 = 18 days (mean
6.0, max 9) to 15 + 14 + 9 = 38 days (mean 12.7, max 15)."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from svc_helpers import ServerThread, archive, make_service

DATA = Path(__file__).resolve().parents[1] / "simulator" / "data"
ORDERS = [("O1", "2026-11-20", "web", "silver", 15), ("O2", "2026-11-21", "edi", "gold", 20),
          ("O3", "2026-11-26", "web", "gold", 10), ("O4", "2026-11-27", "edi", "silver", 30)]


def tally(lines: int, on_time: int, late: int, backordered: int, delay: int, max_delay: int,
          mean: str, short: str) -> dict[str, Any]:
    return {"lines": lines, "on_time": on_time, "late": late, "backordered": backordered,
            "delay_days": delay, "max_delay_days": max_delay, "mean_delay_days": mean,
            "short_units": short}


def orders() -> list[dict[str, Any]]:
    return [{"id": oid, "order_date": day, "channel": channel,
             "customer": {"id": f"C-{oid}", "tier": tier},
             "ship_to": {"country": "DE", "region": "eu"}, "currency": "EUR",
             "lines": [{"id": "1", "sku": "B", "quantity": qty}]}
            for oid, day, channel, tier, qty in ORDERS]


class Sim:
    def __init__(self, client: httpx.Client, promising: str, plain: str):
        self.client, self.promising, self.plain = client, promising, plain

    def start(self, expect: int = 202, **body: Any) -> dict[str, Any]:
        ask = {"baseline": self.promising, "candidate": self.promising, "orders": orders(),
               "consume_stock": True, **body}
        r = self.client.post("/v1/simulations", json=ask)
        assert r.status_code == expect, r.text
        out: dict[str, Any] = r.json()
        return out

    def finish(self, job_id: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            r = self.client.get(f"/v1/simulations/{job_id}")
            assert r.status_code == 200, r.text
            if r.json()["state"] in ("done", "failed"):
                out: dict[str, Any] = r.json()
                return out
            assert time.monotonic() < deadline, r.json()
            time.sleep(0.1)


@pytest.fixture(scope="module")
def sim(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    from ordinance.adapters.store_simulations import SimulationStore
    from ordinance.simulator.jobs import JobRunner
    from ordinance.simulator.rulesets import storage_resolver

    rs = tmp_path_factory.mktemp("rs") / "promising"
    shutil.copytree(DATA / "base", rs)
    (rs / "reference/atp_rules.csv").write_text(
        "name,consumption,accumulate,split,min_split,horizon_days\n"
        "default,backward,true,true,1,60\n")
    (rs / "reference/supply.csv").write_text(
        "location,sku,kind,date,quantity,ref\n"
        "W1,B,purchase_order,2026-11-25,30,PO-1\n"
        "W1,B,purchase_order,2026-12-05,20,PO-2\n")
    app, keys = make_service(database_url, tmp_path_factory.mktemp("cache"))
    ctx = app.state.ctx
    app.state.simulations = JobRunner(SimulationStore(ctx.db), ctx.clock,
                                      storage_resolver(ctx.rulesets), executor="inline")
    with ServerThread(app) as server, httpx.Client(
            base_url=server.url, timeout=60,
            headers={"Authorization": f"Bearer {keys['analyst']}"}) as client:
        refs = []
        for directory in (rs, DATA / "base"):
            r = client.post("/v1/rulesets", content=archive(directory),
                            headers={"Content-Type": "application/gzip"})
            assert r.status_code in (200, 201), r.text
            refs.append(f"{r.json()['name']}@{r.json()['digest']}")
        yield Sim(client, refs[0], refs[1])


def test_a_late_purchase_order_is_carried_to_the_job_and_shown(sim: Sim) -> None:
    job = sim.start(supply_changes=["PO-1 late 10 days",
                                    {"ref": "PO-2", "quantity": 20, "side": "baseline"}])
    done = sim.finish(job["id"])
    assert done["state"] == "done", done
    p = done["summary"]["promising"]
    assert p["supply_changes"] == ["PO-1 late 10 days [candidate]",
                                   "PO-2 quantity 20 [baseline]"]
    assert p["baseline"] == tally(4, 0, 3, 1, 18, 9, "6.0", "15")
    assert p["candidate"] == tally(4, 0, 3, 1, 38, 15, "12.7", "15")
    report = sim.client.get(done["report"])
    assert report.status_code == 200
    assert "<li>PO-1 late 10 days [candidate]</li>" in report.text
    assert "Promising over time" in report.text


def test_without_changes_both_sides_agree(sim: Sim) -> None:
    done = sim.finish(sim.start(supply_changes=[])["id"])
    p = done["summary"]["promising"]
    assert p["supply_changes"] == [] and p["baseline"] == p["candidate"]


def test_an_ndjson_stream_takes_the_changes_as_query_parameters(sim: Sim) -> None:
    stream = "".join(json.dumps(o) + "\n" for o in orders())
    params = {"baseline": sim.promising, "candidate": sim.promising, "consume_stock": "true",
              "supply_change": ["add 40 of B at W1 on 2026-11-22"]}
    r = sim.client.post("/v1/simulations", params=params, content=stream,
                        headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 202, r.text
    p = sim.finish(r.json()["id"])["summary"]["promising"]
    assert p["supply_changes"] == ["add 40 of B at W1 on 2026-11-22 (purchase_order) "
                                   "[candidate]"]
    assert p["candidate"] == tally(4, 2, 2, 0, 3, 2, "1.5", "0")
    params["supply_change"] = ["add 40 of B at W1 on 2026-11-22", "PO-1 early"]
    r = sim.client.post("/v1/simulations", params=params, content=stream,
                        headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["path"] == "supply_change[1]"


@pytest.mark.parametrize("changes, path, says", [
    ("PO-1 late 10 days", "$.supply_changes", "a list of changes is needed"),
    (["PO-1 early"], "$.supply_changes[0]", "is not a change"),
    (["cancel PO-1", {"ref": "PO-1", "late_days": 1.5}], "$.supply_changes[1].late_days",
     "is not a whole number"),
    ([{"ref": "PO-1", "late": 3}], "$.supply_changes[0].late", "unknown field"),
    ([{"add": 5, "sku": "B", "location": "W1", "date": "1 Dec"}],
     "$.supply_changes[0].date", "is not a YYYY-MM-DD date"),
    ([{"ref": "PO-1", "late_days": 2, "side": "left"}], "$.supply_changes[0].side",
     "is not one of"),
    (["cancel PO-1", "PO-9 late 3 days"], "$.supply_changes[1].ref", "no supply with ref"),
    ([7], "$.supply_changes[0]", "a change is a phrase or a mapping"),
])
def test_a_bad_change_is_a_422_at_its_path_and_nothing_is_stored(
        sim: Sim, changes: Any, path: str, says: str) -> None:
    before = len(sim.client.get("/v1/simulations").json()["items"])
    r = sim.client.post("/v1/simulations", json={
        "baseline": sim.promising, "candidate": sim.promising, "orders": orders(),
        "consume_stock": True, "supply_changes": changes})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["path"] == path
    assert says in r.json()["error"]["message"]
    assert len(sim.client.get("/v1/simulations").json()["items"]) == before


def test_changes_need_consume_stock_and_a_rule_set_that_promises(sim: Sim) -> None:
    r = sim.client.post("/v1/simulations", json={
        "baseline": sim.promising, "candidate": sim.promising, "orders": orders(),
        "supply_changes": ["PO-1 late 10 days"]})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.supply_changes", r.text
    assert "consume_stock" in r.json()["error"]["message"]
    r = sim.client.post("/v1/simulations", json={
        "baseline": sim.promising, "candidate": sim.plain, "orders": orders(),
        "consume_stock": True, "supply_changes": ["PO-1 late 10 days"]})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["path"] == "$.supply_changes[0]"
    assert "candidate's rule set has no reference/atp_rules" in r.json()["error"]["message"]
