"""Shadow mode and KPI-gated rollouts over real HTTP (api/routes_rollout.py), on SQLite and
PostgreSQL, with the background worker of the served process doing the counting and checking.

The rule sets: the simulator's small `base` (tests/simulator/data/base) is active; `holds` is
base with a compliance rule that holds every order shipping to DE (a higher hold rate);
`richer` is base with a gold discount of 5% instead of 10% (no hold, no threshold crossed).
"""
from __future__ import annotations

import json
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from svc_helpers import ServerThread, Service, archive, make_service

BASE = Path(__file__).resolve().parents[1] / "simulator" / "data" / "base"
SECRET = "s3cret-s3cret-s3cret"


class Receiver:
    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append({"topic": self.headers.get("X-Ordinance-Topic"),
                                  **json.loads(body)})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def variant(tmp: Path, name: str, version: str, edit: Any) -> Path:
    target = tmp / name
    shutil.copytree(BASE, target)
    manifest = target / "ruleset.yaml"
    manifest.write_text(manifest.read_text().replace('version: "1"', f'version: "{version}"'))
    edit(target)
    return target


def add_hold(root: Path) -> None:
    pack = root / "packs" / "compliance.yaml"
    pack.write_text(pack.read_text() + """  - id: review-de
    when: order.ship_to.country == "DE"
    then:
      - hold: {code: REVIEW, reason: "new review of DE orders"}
""")


def smaller_discount(root: Path) -> None:
    pack = root / "packs" / "pricing.yaml"
    pack.write_text(pack.read_text().replace("percent: 10", "percent: 5"))


@pytest.fixture(scope="module")
def svc(database_url: str, tmp_path_factory: pytest.TempPathFactory,
        ) -> Iterator[tuple[Service, dict[str, str], Receiver]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("ORDINANCE_WEBHOOK_HOSTS", "127.0.0.1")
    receiver = Receiver()
    tmp = tmp_path_factory.mktemp("rollout")
    app, keys = make_service(database_url, tmp / "cache", worker=True, worker_interval=0.1)
    with ServerThread(app) as server:
        s = Service(server.url, database_url, keys, app)
        refs = {}
        for name, path in (("base", BASE), ("holds", variant(tmp, "holds", "2", add_hold)),
                           ("richer", variant(tmp, "richer", "3", smaller_discount))):
            r = s.client("admin").post("/v1/rulesets", content=archive(path),
                                       headers={"Content-Type": "application/gzip"})
            assert r.status_code in (200, 201), r.text
            refs[name] = f"{r.json()['name']}@{r.json()['digest']}"
        r = s.client("admin").post("/v1/webhooks", json={"url": receiver.url, "secret": SECRET,
                                                         "topics": ["rollout"]})
        assert r.status_code in (200, 201), r.text
        try:
            yield s, refs, receiver
        finally:
            s.close()
            receiver.close()
            mp.undo()


def activate(s: Service, ref: str) -> None:
    name, digest = ref.split("@")
    r = s.client("admin").post(f"/v1/rulesets/{name}/{digest}/activate")
    assert r.status_code == 200, r.text


def order(n: int, prefix: str, country: str = "DE", channel: str = "web") -> dict[str, Any]:
    return {"id": f"{prefix}-{n}", "order_date": "2026-11-20", "channel": channel,
            "customer": {"id": f"C{n}", "tier": "gold" if n % 2 else "silver"},
            "ship_to": {"country": country, "region": "eu"}, "currency": "EUR",
            "lines": [{"id": "1", "sku": "A", "quantity": 5 + n % 20}]}


def decide(s: Service, o: dict[str, Any]) -> dict[str, Any]:
    r = s.client("evaluator").post("/v1/decisions", json={"order": o})
    assert r.status_code == 200, r.text
    return r.json()


def wait_for(s: Service, rid: str, check: Any, seconds: float = 40) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        got = s.client("analyst").get(f"/v1/rollouts/{rid}")
        assert got.status_code == 200, got.text
        body = got.json()
        if check(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def digest_of(ref: str) -> str:
    return ref.split("@", 1)[1]


def test_shadow_counts_differences_off_the_request_path(svc: Any) -> None:
    s, refs, _ = svc
    activate(s, refs["base"])
    admin = s.client("admin")
    r = admin.post("/v1/rollouts", json={"mode": "shadow", "candidate": refs["holds"],
                                         "sample": 100, "segments": {"channel": ["web"]}})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["state"] == "running" and r.json()["active"] == refs["base"]
    # a second shadow is refused while one runs
    again = admin.post("/v1/rollouts", json={"mode": "shadow", "candidate": refs["richer"]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "ROLLOUT_RUNNING"
    web = [order(n, "SH") for n in range(12)]
    edi = [order(n, "SE", channel="edi") for n in range(4)]
    for o in web + edi:
        d = decide(s, o)  # the live answer is the active set's
        assert d["ruleset"]["digest"] == digest_of(refs["base"])
        assert not any(h["code"] == "REVIEW" for h in d.get("holds") or ())
    body = wait_for(s, rid, lambda b: b["shadow"]["pairs"] >= len(web))
    shadow = body["shadow"]
    assert shadow["pairs"] == len(web)  # only the web channel was sampled
    assert shadow["orders"] == len(web) and shadow["changed_orders"] == len(web)
    assert shadow["candidate"]["holds_by_code"] == {"REVIEW": len(web)}
    assert shadow["baseline"]["holds_by_code"] == {}
    assert shadow["segments"]["channel"] == {"web": shadow["segments"]["channel"]["web"]}
    assert "holds +REVIEW" in shadow["sample"][0]["explanation"]
    assert "fired only in candidate: trade/review-de" in shadow["sample"][0]["explanation"]
    r = admin.post(f"/v1/rollouts/{rid}/stop")
    assert r.status_code == 200 and r.json()["state"] == "stopped"
    assert admin.post(f"/v1/rollouts/{rid}/stop").status_code == 409


def test_rollout_rolls_back_by_itself_when_the_candidate_raises_the_hold_rate(svc: Any) -> None:
    s, refs, receiver = svc
    activate(s, refs["base"])
    admin = s.client("admin")
    bad = admin.post("/v1/rollouts", json={"mode": "rollout", "candidate": refs["holds"],
                                           "share": 50, "thresholds": {"hold_rate": 2}})
    assert bad.status_code == 422 and bad.json()["error"]["path"] == "$.thresholds.hold_rate"
    r = admin.post("/v1/rollouts", json={
        "mode": "rollout", "candidate": refs["holds"], "share": 50,
        "segments": {"country": ["DE"]}, "min_orders": 5,
        "thresholds": {"hold_rate": "0.10", "revenue_per_order": "0.50"}})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    sides: dict[str, str] = {}
    for n in range(40):
        o = order(n, "RB")
        d = decide(s, o)
        sides[o["id"]] = d["ruleset"]["digest"]
        if d["ruleset"]["digest"] == digest_of(refs["holds"]):
            assert d["status"] == "on_hold"
        body = s.client("analyst").get(f"/v1/rollouts/{rid}").json()
        if body["state"] != "running":
            break
    assert set(sides.values()) == {digest_of(refs["base"]), digest_of(refs["holds"])}
    # the same order lands on the same side every time while it runs (the hash of its id)
    body = wait_for(s, rid, lambda b: b["state"] != "running")
    assert body["state"] == "rolled_back", body
    assert body["ended_by"] == "worker"
    crossed = body["reason"]["crossed"]
    assert [c["threshold"] for c in crossed] == ["hold_rate"]
    assert body["reason"]["kpis"]["candidate"]["statuses"].get("on_hold", 0) >= 5
    # after the rollback every order is the active set's again
    time.sleep(0.5)
    for n in range(40, 50):
        assert decide(s, order(n, "RB"))["ruleset"]["digest"] == digest_of(refs["base"])
    # one audit entry, one webhook
    from ordinance.adapters.models import AuditEntry

    with s.app.state.ctx.db.session() as session:
        audits = session.execute(select(AuditEntry).where(
            AuditEntry.action == "rollout_rolled_back")).scalars().all()
        assert len(audits) == 1 and json.loads(audits[0].detail)["rollout"] == rid
    deadline = time.monotonic() + 20
    while not any(g.get("kind") == "rollout_rolled_back" for g in receiver.got) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    hooks = [g for g in receiver.got if g.get("kind") == "rollout_rolled_back"]
    assert len(hooks) == 1 and hooks[0]["topic"] == "rollout"
    assert hooks[0]["rollout"]["id"] == rid


def test_rollout_promotes_by_rule_and_by_hand(svc: Any) -> None:
    s, refs, receiver = svc
    activate(s, refs["base"])
    admin = s.client("admin")
    r = admin.post("/v1/rollouts", json={
        "mode": "rollout", "candidate": refs["richer"], "share": 50, "min_orders": 3,
        "promote_after": 5, "thresholds": {"hold_rate": "0.05", "rejection_rate": "0.05"}})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    for n in range(40):
        decide(s, order(n, "PR"))
        if s.client("analyst").get(f"/v1/rollouts/{rid}").json()["state"] != "running":
            break
    body = wait_for(s, rid, lambda b: b["state"] != "running")
    assert body["state"] == "promoted", body
    assert body["reason"]["rule"] == "promote_after"
    active = s.client("analyst").get("/v1/rulesets/active").json()
    assert active["digest"] == digest_of(refs["richer"])
    # by hand: back to base, roll out holds to a segment, promote it at once
    activate(s, refs["base"])
    r = admin.post("/v1/rollouts", json={"mode": "rollout", "candidate": refs["holds"],
                                         "segments": {"tier": ["gold"]}, "share": 100})
    rid2 = r.json()["id"]
    gold = decide(s, order(1, "HP"))
    silver = decide(s, order(2, "HP"))
    assert gold["ruleset"]["digest"] == digest_of(refs["holds"])
    assert silver["ruleset"]["digest"] == digest_of(refs["base"])
    r = admin.post(f"/v1/rollouts/{rid2}/promote")
    assert r.status_code == 200 and r.json()["state"] == "promoted", r.text
    assert r.json()["ended_by"].startswith("admin-") and r.json()["reason"] == {"by": "hand"}
    assert s.client("analyst").get("/v1/rulesets/active").json()["digest"] == \
        digest_of(refs["holds"])
    assert admin.post(f"/v1/rollouts/{rid2}/promote").status_code == 409
    activate(s, refs["base"])


def test_several_processes_ending_one_rollout_end_it_once(svc: Any) -> None:
    """What the workers of several processes do when they all see a crossed threshold: one
    conditional UPDATE each; exactly one wins, and only it writes the audit entry."""
    from concurrent.futures import ThreadPoolExecutor

    from ordinance.adapters import rollouts
    from ordinance.adapters.models import AuditEntry

    s, refs, _ = svc
    activate(s, refs["base"])
    r = s.client("admin").post("/v1/rollouts", json={"mode": "rollout",
                                                     "candidate": refs["holds"], "share": 10})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    db = s.app.state.ctx.db
    now = s.app.state.ctx.clock.now()
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda n: rollouts.end(db, rid, "rolled_back", f"worker-{n}",
                                                       None, {"n": n}, now), range(6)))
    won = [x for x in results if x is not None]
    assert len(won) == 1 and won[0]["state"] == "rolled_back"
    with db.session() as session:
        audits = [a for a in session.execute(select(AuditEntry).where(
            AuditEntry.action == "rollout_rolled_back")).scalars()
            if json.loads(a.detail)["rollout"] == rid]
    assert len(audits) == 1 and audits[0].key_name == won[0]["ended_by"]


# --- the order hub: captures and change orders (issue 18's gap 1) ---------------------------

def capture(s: Service, o: dict[str, Any]) -> dict[str, Any]:
    r = s.client("evaluator").post("/v1/orders", json={"order": o})
    assert r.status_code == 201, r.text
    return r.json()


def change(s: Service, o: dict[str, Any]) -> dict[str, Any]:
    r = s.client("evaluator").put(f"/v1/orders/{o['id']}", json={"order": o})
    assert r.status_code == 200, r.text
    return r.json()


def decided_by(view: dict[str, Any]) -> str:
    return str(view["decision"]["ruleset"]["digest"])


def test_hub_orders_are_routed_by_a_rollout_and_roll_it_back(svc: Any) -> None:
    """Captures and change orders go to the candidate for the rollout's share (the hash of
    the rollout id and the order id: a change order stays on its side while it runs), they
    are counted, and they alone cross the hold-rate threshold; after the rollback a change
    order of a candidate order is decided by the active set again."""
    from ordinance.engine.rollout import read_plan

    s, refs, receiver = svc
    activate(s, refs["base"])
    r = s.client("admin").post("/v1/rollouts", json={
        "mode": "rollout", "candidate": refs["holds"], "share": 50,
        "segments": {"country": ["DE"]}, "min_orders": 12,
        "thresholds": {"hold_rate": "0.10"}})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    plan = read_plan(rid, {"share": 50})
    base, holds = digest_of(refs["base"]), digest_of(refs["holds"])
    side: dict[str, str] = {}
    stayed = 0
    for n in range(40):
        o = order(n, "HUB")
        view = capture(s, o)
        expected = holds if plan.bucket(o["id"]) < 50 else base
        if decided_by(view) != expected:  # rolled back since the last look (a busy machine)
            assert (expected, decided_by(view)) == (holds, base), (o["id"], view["status"])
            assert s.client("analyst").get(f"/v1/rollouts/{rid}").json()["state"] \
                == "rolled_back"
            break
        side[o["id"]] = decided_by(view)
        if decided_by(view) == holds:
            assert view["status"] == "on_hold"
        o["lines"][0]["quantity"] += 1  # a change order: the same side while it runs
        changed = change(s, o)
        running = s.client("analyst").get(f"/v1/rollouts/{rid}").json()["state"] == "running"
        assert changed["version"] == 2
        if running or decided_by(changed) == expected:
            assert decided_by(changed) == expected
            stayed += expected == holds
        else:  # rolled back between the capture and its change: the active set's
            assert decided_by(changed) == base
        if not running:
            break
    assert set(side.values()) == {base, holds}
    assert stayed >= 3  # change orders of candidate orders that stayed on the candidate
    body = wait_for(s, rid, lambda b: b["state"] != "running")
    assert body["state"] == "rolled_back", body
    assert [c["threshold"] for c in body["reason"]["crossed"]] == ["hold_rate"]
    kpis = body["reason"]["kpis"]
    # every counted decision is a hub order's (captures and changes of HUB-*)
    from ordinance.adapters.models_rollout import RolloutRecord

    with s.app.state.ctx.db.session() as session:
        recs = session.execute(select(RolloutRecord.order_id, RolloutRecord.side).where(
            RolloutRecord.rollout_id == rid)).all()
    assert recs and all(oid.startswith("HUB-") for oid, _ in recs)
    assert all((sd == "candidate") == (side[oid] == holds) for oid, sd in recs)
    assert kpis["candidate"]["statuses"].get("on_hold", 0) >= 12
    # after the rollback a change order of a candidate order is the active set's again
    on_candidate = [oid for oid, d in side.items() if d == holds]
    live = s.app.state.ctx.rollout_live  # the worker's round refreshes it after the end
    deadline = time.monotonic() + 20
    while any(r.id == rid for r in live.running) and time.monotonic() < deadline:
        time.sleep(0.05)
    for oid in on_candidate[:3]:
        n = int(oid.split("-")[1])
        o = order(n, "HUB")
        o["lines"][0]["quantity"] += 2
        view = change(s, o)
        assert view["version"] == 3 and decided_by(view) == base
        assert view["status"] != "on_hold"


def test_a_shadow_pairs_hub_orders_and_change_orders(svc: Any) -> None:
    s, refs, _ = svc
    activate(s, refs["base"])
    admin = s.client("admin")
    r = admin.post("/v1/rollouts", json={"mode": "shadow", "candidate": refs["holds"],
                                         "sample": 100})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    orders = [order(n, "HSH") for n in range(5)]
    for o in orders:
        assert decided_by(capture(s, o)) == digest_of(refs["base"])  # the active set answers
    for o in orders[:2]:
        o["lines"][0]["quantity"] += 3
        assert change(s, o)["version"] == 2
    body = wait_for(s, rid, lambda b: b["shadow"]["pairs"] >= 7)
    shadow = body["shadow"]
    assert shadow["pairs"] == 7 and shadow["pairs_changed"] == 7  # DE orders: all held
    assert shadow["candidate"]["holds_by_code"] == {"REVIEW": 7}
    # the change orders were decided by the candidate as changed (their new quantities)
    from ordinance.adapters import rollouts

    _, _, pairs = rollouts.pairs(s.app.state.ctx.db, rid)
    quantities = sorted(str(p["candidate"]["order"]["lines"][0]["quantity"]) for p in pairs
                        if p["order_id"] == orders[0]["id"])
    assert quantities == sorted([str(orders[0]["lines"][0]["quantity"] - 3),
                                 str(orders[0]["lines"][0]["quantity"])])
    assert admin.post(f"/v1/rollouts/{rid}/stop").status_code == 200
