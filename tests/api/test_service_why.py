"""POST /v1/decisions/{id}/redecide over real HTTP, SQLite then PostgreSQL: a logged decision
decided again under its own rule set (the same), the active one, a candidate uploaded and not
activated (the difference, field by field, with the original as-of even when the order has no
date), and the remedies, each of which the test verifies itself by sending the changed order
to POST /v1/decisions; then the refusals (unknown decision or rule set, bad body, weak role)."""
from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest

from ordinance.engine import codec
from svc_helpers import ServerThread, Service, archive, make_service

ACME = Path(__file__).resolve().parents[2] / "rulesets" / "acme"
CANDIDATE = ACME.parent / "acme-candidate"


@pytest.fixture(scope="module")
def svc(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    # compiling ACME on the first request takes seconds on a busy machine: the deadline is
    # not what these tests are about
    app, keys = make_service(database_url, tmp_path_factory.mktemp("cache"), eval_timeout=120.0)
    with ServerThread(app) as server:
        s = Service(server.url, database_url, keys, app)
        admin = s.client("admin")
        for d in (ACME, CANDIDATE):
            r = admin.post("/v1/rulesets", content=archive(d),
                           headers={"Content-Type": "application/gzip"})
            assert r.status_code in (200, 201), r.text
            if d == ACME:
                info = r.json()
                r = admin.post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate")
                assert r.status_code == 200, r.text
            else:
                s.candidate = f"{r.json()['name']}@{r.json()['digest']}"  # type: ignore
        try:
            yield s
        finally:
            s.close()


def _decide(svc: Service, order: dict[str, Any], **extra: Any) -> dict[str, Any]:
    r = svc.client("evaluator").post("/v1/decisions", content=codec.dumps(
        {"order": order, **extra}), headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    return codec.loads(r.content)


def _redecide(svc: Service, decision_id: str, body: dict[str, Any] | None = None,
              who: str = "analyst") -> Any:
    return svc.client(who).post(f"/v1/decisions/{decision_id}/redecide",
                                content=b"" if body is None else codec.dumps(body),
                                headers={"Content-Type": "application/json"})


FASTENERS = {"id": "WHY-1", "customer": {"id": "C-00060"}, "payment": {"method": "invoice"},
             "lines": [{"id": "1", "sku": "FAS-0001", "quantity": 1200}]}


def test_the_same_request_under_its_own_rule_set_is_the_same(svc: Service) -> None:
    first = _decide(svc, FASTENERS, as_of="2026-11-20")
    r = _redecide(svc, first["decision_id"], {"ruleset": "original", "remedies": False})
    assert r.status_code == 200, r.text
    out = codec.loads(r.content)
    assert out["same"] is True and out["as_of"] == "2026-11-20"
    assert out["difference"] == {"moved": [], "rules": [], "explanation": "", "fields": []}
    assert out["redecided"]["decision"]["pricing"] == first["pricing"]
    assert "why" not in out


def test_a_candidate_decides_it_again_with_the_original_as_of(svc: Service) -> None:
    """The order has no date and was decided as of 2026-11-20: deciding it again uses that
    date, not the service's today."""
    first = _decide(svc, FASTENERS, as_of="2026-11-20")
    r = _redecide(svc, first["decision_id"], {"ruleset": svc.candidate,  # type: ignore
                                              "remedies": False})
    assert r.status_code == 200, r.text
    out = codec.loads(r.content)
    assert out["same"] is False
    assert out["redecided"]["decision"]["as_of"] == "2026-11-20"
    assert out["redecided"]["ruleset"]["digest"] == svc.candidate.split("@")[1]  # type: ignore
    assert out["original"]["ruleset"]["digest"] == first["ruleset"]["digest"]
    diff = out["difference"]
    assert "total" in diff["moved"] and "pricing" in diff["moved"]
    fields = {f["path"]: (f["before"], f["after"]) for f in diff["fields"]}
    before, after = fields["pricing.lines[0].extended"]
    assert before == first["pricing"]["lines"][0]["extended"]
    # 1,200 boxes: the candidate's new band from 1,000 at 80% of list makes the line cheaper
    assert Decimal(after) < Decimal(before)
    assert after == _decide(svc, FASTENERS, as_of="2026-11-20",
                            ruleset=svc.candidate)["pricing"]["lines"][0]["extended"]  # type: ignore
    # the candidate is a version of the same rule set: its version alone names it
    again = codec.loads(_redecide(svc, first["decision_id"], {"ruleset": "2027.1.0-rc1",
                                                              "remedies": False}).content)
    assert again["redecided"] == out["redecided"]


def test_active_is_the_default(svc: Service) -> None:
    first = _decide(svc, FASTENERS, as_of="2026-11-20")
    out = codec.loads(_redecide(svc, first["decision_id"]).content)
    assert out["same"] is True and isinstance(out["why"], dict)


ORDERS = [
    # a manual discount over the channel's limit (approval), janitorial cases short of a tier
    {"id": "WHY-2", "customer": {"id": "C-00060"}, "payment": {"method": "invoice"},
     "attributes": {"manual_discount": 12},
     "lines": [{"id": "1", "sku": "FAS-0001", "quantity": 60},
               {"id": "2", "sku": "JAN-0001", "quantity": 15}]},
    # a requested date in the past (rejection), a promotion code outside its dates
    {"id": "WHY-3", "requested_date": "2026-11-01", "customer": {"id": "C-00060"},
     "attributes": {"promo_code": "SPRING26"},
     "lines": [{"id": "1", "sku": "HTL-0001", "quantity": 3}]},
    # more than is on hand (backorder), large enough for value approvals
    {"id": "WHY-4", "customer": {"id": "C-00060"}, "payment": {"method": "invoice"},
     "lines": [{"id": "1", "sku": "FAS-0001", "quantity": 6000}]},
]


def _changed(order: dict[str, Any], changes: list[dict[str, Any]],
             as_of: str) -> tuple[dict[str, Any], str]:
    """The test's own reading of a remedy's changes (field paths as the answer writes them)."""
    order = copy.deepcopy(order)
    for c in changes:
        if c["field"] == "as_of":
            as_of = c["to"]
            continue
        node: Any = order
        parts = c["field"].removeprefix("order.").replace("[", ".").replace("]", "").split(".")
        for p in parts[:-1]:
            node = node[int(p)] if p.isdigit() else node.setdefault(p, {})
        node[parts[-1]] = c["to"]
    return order, as_of


def _goal_met(kind: str, remedy: dict[str, Any], before: dict[str, Any],
              after: dict[str, Any]) -> bool:
    rule, line_id = remedy["rule"], remedy["line_id"]
    target = remedy["target"]
    if kind == "approval":
        return not any(a["rule"] == rule and a["role"] == target["role"]
                       for a in after["approvals"])
    if kind == "violation":
        return not any(v["rule"] == rule and v["code"] == target["code"]
                       for v in after["violations"])
    if kind == "backorder":
        return all(Decimal(s["backordered"]) == 0 for s in after["sourcing"]["lines"]
                   if s["line_id"] == line_id)
    lines = [lp for lp in after["pricing"]["lines"] if line_id in (None, lp["line_id"])]
    if kind == "discount":
        return any(a["rule"] == rule for lp in lines for a in lp["adjustments"])
    assert kind == "tier"
    old = next(lp for lp in before["pricing"]["lines"] if lp["line_id"] == line_id)
    unit = Decimal(old["extended"]) / Decimal(old["quantity"])
    return Decimal(lines[0]["extended"]) / Decimal(lines[0]["quantity"]) < unit


@pytest.mark.parametrize("order", ORDERS, ids=[o["id"] for o in ORDERS])
def test_every_remedy_shown_passes_its_own_redecision(svc: Service,
                                                      order: dict[str, Any]) -> None:
    first = _decide(svc, order, as_of="2026-11-20")
    r = _redecide(svc, first["decision_id"], {"ruleset": "original"})
    assert r.status_code == 200, r.text
    why = codec.loads(r.content)["why"]
    assert why["remedies"], why
    for remedy in why["remedies"]:
        assert remedy["verified"] is True and remedy["changes"]
        changed, as_of = _changed(order, remedy["changes"], "2026-11-20")
        after = _decide(svc, changed, as_of=as_of,
                        ruleset=f"{first['ruleset']['name']}@{first['ruleset']['digest']}")
        assert _goal_met(remedy["kind"], remedy, first, after), remedy
        assert after["status"] == remedy["status_after"]


def test_the_remedies_answer_the_support_questions(svc: Service) -> None:
    """The kinds each order of ORDERS is there for, with their values."""
    kinds: dict[str, list[dict[str, Any]]] = {}
    for order in ORDERS:
        first = _decide(svc, order, as_of="2026-11-20")
        why = codec.loads(_redecide(svc, first["decision_id"],
                                    {"ruleset": "original"}).content)["why"]
        kinds[order["id"]] = why["remedies"]
        if order["id"] == "WHY-3":
            assert [w["code"] for w in why["wants"]] == ["REQUESTED_DATE_PAST"]
            assert why["wants"][0]["field"] == "order.requested_date"
    manual = [r for r in kinds["WHY-2"] if r["kind"] == "approval"]
    assert manual[0]["changes"] == [{"field": "order.attributes.manual_discount",
                                     "from": 12, "to": 0}]
    assert manual[0]["effect"]["status"] == ["pending_approval", "accepted"]
    tier = [r for r in kinds["WHY-2"] if r["kind"] == "tier"
            and r["rule"] == "volume-tiers/janitorial-all-units"]
    assert tier and tier[0]["changes"][0]["to"] == 20
    assert Decimal(tier[0]["effect"]["saving"]) > 0
    past = [r for r in kinds["WHY-3"] if r["kind"] == "violation"]
    assert past[0]["changes"] == [{"field": "order.requested_date", "from": "2026-11-01",
                                   "to": "2026-11-20"}]
    assert past[0]["status_after"] != "rejected"
    assert any(r["kind"] == "backorder" for r in kinds["WHY-4"])


def test_refusals(svc: Service) -> None:
    first = _decide(svc, FASTENERS, as_of="2026-11-20")
    r = _redecide(svc, "dec_nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "DECISION_NOT_FOUND"
    r = _redecide(svc, first["decision_id"], {"ruleset": "acme-distribution@1999.1"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "RULESET_NOT_FOUND"
    r = _redecide(svc, first["decision_id"], {"ruleset": "1999.1"})  # a version of its own
    assert r.status_code == 404 and r.json()["error"]["path"] == "$.ruleset"
    r = _redecide(svc, first["decision_id"], {"ruleset": "@"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "BAD_RULESET_REF"
    r = _redecide(svc, first["decision_id"], {"ruleset": ""})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.ruleset"
    r = _redecide(svc, first["decision_id"], {"rulset": "active"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.rulset"
    r = _redecide(svc, first["decision_id"], {"remedies": "yes"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.remedies"
    r = svc.client("analyst").post(f"/v1/decisions/{first['decision_id']}/redecide",
                                   content=b"{not json",
                                   headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "BAD_JSON"
    r = _redecide(svc, first["decision_id"], who="evaluator")
    assert r.status_code == 403
    r = svc.client(None).post(f"/v1/decisions/{first['decision_id']}/redecide")
    assert r.status_code == 401


def _ordinance(svc: Service, tmp: Path, *args: str) -> Any:
    import os
    import subprocess
    import sys

    env = dict(os.environ, ORDINANCE_CACHE_DIR=str(tmp / "cli-cache"))
    env.pop("ORDINANCE_DATABASE_URL", None)
    return subprocess.run([str(Path(sys.executable).with_name("ordinance")), "why", *args,
                           "--database-url", svc.db_url], capture_output=True, text=True,
                          timeout=300, env=env, cwd=tmp)


def test_the_command_line(svc: Service, tmp_path: Path) -> None:
    first = _decide(svc, ORDERS[0], as_of="2026-11-20")
    r = _ordinance(svc, tmp_path, first["decision_id"])
    assert r.returncode == 0, r.stderr
    assert "the same decision" in r.stdout
    assert "[approval] approvals/manual-discount-over-limit" in r.stdout
    assert "order.attributes.manual_discount 12 -> 0; status pending_approval -> accepted" \
        in r.stdout
    assert "[tier] volume-tiers/janitorial-all-units line 2" in r.stdout
    # a local directory: the candidate, checked and loaded by the command, stored nowhere
    big = _decide(svc, FASTENERS, as_of="2026-11-20")
    r = _ordinance(svc, tmp_path, big["decision_id"], "--against", str(CANDIDATE), "--json",
                   "--no-remedies")
    assert r.returncode == 0, r.stderr
    out = codec.loads(r.stdout)
    assert out["same"] is False and "why" not in out
    assert any(f["path"] == "pricing.lines[0].extended" for f in out["difference"]["fields"])
    assert out["redecided"]["ruleset"]["digest"] == svc.candidate.split("@")[1]  # type: ignore
    r = _ordinance(svc, tmp_path, "dec_nope")
    assert r.returncode == 1 and "no decision 'dec_nope'" in r.stderr
    r = _ordinance(svc, tmp_path, big["decision_id"], "--against", "no-such-version")
    assert r.returncode == 1 and "no stored rule set acme-distribution@no-such-version" \
        in r.stderr
    r = _ordinance(svc, tmp_path, big["decision_id"], "--against", "2026.11.0")
    assert r.returncode == 0 and "the same decision" in r.stdout, r.stderr
