"""GET /v1/decisions by rule over real HTTP (SQLite and PostgreSQL), through the log's rule
index (adapters/decision_index.py): the same answers as the log's plain query (a LIKE over
every row, adapters/store_decisions.py `query`), page after page, while the index is behind,
partly caught up by the background worker's job, caught up, and followed by new decisions; a
search never catches up, and over a lagging index it reads a bounded tail a page; two
processes catching up at once build the same index; and the console's routes (rules, check,
save, tests) refuse what they should."""
from __future__ import annotations

import threading

import pytest

from ordinance.adapters import decision_index, store_decisions
from ordinance.adapters.db import Database
from ordinance.adapters.decision_index import index_mark, rule_buckets


@pytest.fixture(autouse=True)
def small_buckets(monkeypatch):
    """Buckets of 4 decisions (the index of this module's database is built with them)."""
    monkeypatch.setattr(decision_index, "BUCKET", 4)


def _decide(service, n: int, start: int = 0) -> None:
    client = service.client("evaluator")
    for i in range(start, start + n):
        discount = (5, 12, 30)[i % 3]          # none, the manager, the manager and director
        qty = 150 if i % 7 == 0 else 10        # a large order: finance too
        r = client.post("/v1/decisions", json={"order": {
            "id": f"D-{i}", "attributes": {"manual_discount": discount},
            "lines": [{"id": "1", "sku": "X-1", "quantity": qty}]}, "as_of": "2026-11-20"})
        assert r.status_code == 200, r.text


def _pages(client, path: str, **params) -> list[list[str]]:
    pages, cursor = [], None
    for _ in range(100):
        q = {**params, "limit": 4, **({"cursor": cursor} if cursor else {})}
        r = client.get(path, params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append([d["decision_id"] for d in body["items"]])
        cursor = body["next_cursor"]
        if not cursor:
            return pages
    raise AssertionError("more than 100 pages")


SEARCHES = [{"rule": "approvals/big-order"}, {"rule": "approvals/deep-discount"},
            {"rule": "prices/list"}, {"rule": "nobody/never"}, {},
            {"rule": "approvals/big-order", "status": "pending_approval"},
            {"rule": "prices/list", "order_id": "D-3"},
            {"rule": "prices/list", "from": "2020-01-01", "to": "2099-12-31"},
            {"rule": "prices/list", "to": "2000-01-01T00:00:00Z"}]


def _plain(service, **params) -> list[str]:
    """Every decision the log's plain query finds, newest first (its own pages of 4)."""
    db, found, cursor = service.app.state.ctx.db, [], None
    for _ in range(100):
        page = store_decisions.query(db, start=params.get("from"), end=params.get("to"),
                                     status=params.get("status"), rule=params.get("rule"),
                                     digest=params.get("digest"),
                                     order_id=params.get("order_id"), cursor=cursor, limit=4)
        found += [d["decision_id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return found
    raise AssertionError("more than 100 pages")


def _same(service) -> None:
    client = service.client("analyst")
    for params in SEARCHES:
        plain = _plain(service, **params)
        indexed = [d for page in _pages(client, "/v1/decisions", **params) for d in page]
        assert indexed == plain, params


def _index_job(service):
    """The background worker's job that keeps the index (api/app.py `background_worker`)."""
    from ordinance.api.app import background_worker

    worker = background_worker(service.app)
    assert worker is not None
    return dict(worker.jobs)["decision_index"]


def _top(service) -> int:
    """The log's last seq."""
    from sqlalchemy import func, select

    from ordinance.adapters.models import DecisionRecord

    with service.app.state.ctx.db.session() as s:
        return int(s.execute(select(func.max(DecisionRecord.seq))).scalar_one())


def test_the_indexed_search_answers_as_the_log_does(service, monkeypatch):
    monkeypatch.setattr(decision_index, "CATCH_UP", 9)     # a round indexes 9 decisions
    db = service.app.state.ctx.db
    _decide(service, 30)
    _same(service)                                         # the index behind: the tail
    assert decision_index.mark(db) == 0                    # a search never catches up
    job = _index_job(service)
    assert job() == {"indexed": 9, "claimed": True}
    _same(service)                                         # partly caught up
    for _ in range(5):
        job()
    assert decision_index.mark(db) == _top(service)
    assert job() == {"indexed": 0, "claimed": True}
    _same(service)                                         # caught up
    _decide(service, 11, start=30)
    _same(service)                                         # new decisions after the mark
    big = [d for page in _pages(service.client("analyst"), "/v1/decisions",
                                rule="approvals/big-order") for d in page]
    assert len(big) == 6                                   # D-0, 7, 14, 21, 28, 35
    while job()["indexed"]:
        pass


def test_a_lagging_index_answers_a_bounded_tail_a_page(service, monkeypatch):
    monkeypatch.setattr(decision_index, "MAX_TAIL", 5)
    _decide(service, 15, start=41)                         # 15 after the mark, none indexed
    client = service.client("analyst")
    pages = _pages(client, "/v1/decisions", rule="approvals/big-order")
    assert [d for page in pages for d in page] == _plain(service, rule="approvals/big-order")
    assert len(pages[0]) < 4                               # stopped after 5 of the tail
    _same(service)
    while _index_job(service)()["indexed"]:
        pass


def test_two_processes_catching_up_at_once_build_one_index(service):
    """Each with its own connection pool, as two service processes over one database."""
    url = service.app.state.ctx.db.url
    with service.app.state.ctx.db.session(write=True) as s:  # forget the index
        s.execute(rule_buckets.delete())
        s.execute(index_mark.delete())
    dbs = [Database(url), Database(url)]
    rounds: list[dict] = []
    failures: list[BaseException] = []

    def run(db: Database) -> None:
        try:
            for _ in range(40):
                rounds.append(decision_index.catch_up(db, 7))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(db,)) for db in dbs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for db in dbs:
        db.dispose()
    assert failures == []
    assert sum(r["indexed"] for r in rounds if r["claimed"]) >= 56
    assert decision_index.mark(service.app.state.ctx.db) == _top(service)
    _same(service)


def test_the_search_limits_its_visit_and_says_where_to_go_on(service, monkeypatch):
    monkeypatch.setattr(decision_index, "MAX_BUCKETS", 2)
    client = service.client("analyst")
    r = client.get("/v1/decisions", params={"rule": "approvals/big-order", "limit": 50})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["next_cursor"] is not None and len(body["items"]) < 6
    seen = [d["decision_id"] for d in body["items"]]
    cursor = body["next_cursor"]
    for _ in range(200):
        if not cursor:
            break
        body = client.get("/v1/decisions", params={
            "rule": "approvals/big-order", "limit": 50, "cursor": cursor}).json()
        seen += [d["decision_id"] for d in body["items"]]
        cursor = body["next_cursor"]
    assert seen == _plain(service, rule="approvals/big-order")


@pytest.mark.parametrize("params, path", [
    ({"rule": "a b"}, "rule"), ({"cursor": "0"}, "cursor"), ({"limit": "0"}, "limit"),
    ({"from": "yesterday"}, "from"), ({"status": "maybe"}, "status")])
def test_bad_searches_are_located(service, params, path):
    r = service.client("analyst").get("/v1/decisions", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["path"] == path


def test_roles_and_bad_bodies_of_the_console_routes(service):
    info = service.ruleset
    base = f"/v1/console/rulesets/{info['name']}/{info['digest']}"
    assert service.client("evaluator").get(base + "/rules").status_code == 403
    assert service.client("evaluator").get("/v1/decisions").status_code == 403
    assert service.client(None).get("/v1/console/me").status_code == 401
    me = service.client("approver").get("/v1/console/me").json()
    assert me["role"] == "approver" and me["approves"] == ["sales-manager"]
    analyst = service.client("analyst")
    assert analyst.get(f"/v1/console/rulesets/{info['name']}/sha256:nothing/rules"
                       ).status_code == 404
    for body, where in [({"files": [{"path": "../x.yaml", "content": ""}]}, "$.files[0].path"),
                        ({"files": [{"path": "/etc/x.yaml", "content": ""}]}, "$.files[0].path"),
                        ({"files": [{"path": "packs/x.py", "content": ""}]}, "$.files[0].path"),
                        ({"files": [{"path": "packs/x.yaml"}]}, "$.files[0]"),
                        ({"files": "packs"}, "$.files")]:
        r = analyst.post(base + "/check", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["path"] == where, body
    r = analyst.post(base + "/save", json={"files": []})
    assert r.status_code == 422 and r.json()["error"]["code"] == "NOTHING_TO_SAVE"
    broken = {"files": [{"path": "packs/approvals.yaml",
                         "content": "pack: approvals\nphase: approval\nrules:\n"
                                    "  - id: x\n    when: nope(1)\n    then: []\n"}]}
    r = analyst.post(base + "/check", json=broken)
    assert r.status_code == 200 and r.json()["clean"] is False
    d = r.json()["diagnostics"][0]
    assert (d["file"], d["line"], d["code"]) == ("packs/approvals.yaml", 5, "UNKNOWN_FUNCTION")
    r = analyst.post(base + "/save", json=broken)
    assert r.status_code == 422 and r.json()["error"]["code"] == "RULESET_INVALID"
    assert len(service.client("admin").get("/v1/rulesets").json()["items"]) >= 1
    r = analyst.get(base + "/generate", params={"count": 5})
    assert r.status_code == 422 and r.json()["error"]["code"] == "NO_CATALOGUE"  # not ACME
    assert "/tmp" not in r.json()["error"]["message"]
    assert analyst.get(base + "/generate", params={"count": 5001}).status_code == 422
    report = analyst.post(base + "/tests").json()
    assert (report["passed"], report["failed"]) == (4, 0)
    assert {p["pack"] for p in report["packs"]} == {"prices", "approvals"}
    rules = analyst.get(base + "/rules").json()
    assert [p["phase"] for p in rules["packs"]] == ["pricing", "approval"]
    table = rules["packs"][1]["rules"][0]["table"]
    assert table["rows"][0] == ["> 10", "sales-manager", "1"]


def test_the_tests_answer_says_which_table_rows_matched(service):
    """c07's approvals/deep-discount (rule_order, rows "> 10" and "> 25"): its tests discount
    12, 30, nothing and 10 percent, so row 1 matched twice, row 2 once."""
    info = service.ruleset
    report = service.client("analyst").post(
        f"/v1/console/rulesets/{info['name']}/{info['digest']}/tests").json()
    (table,) = report["tables"]
    assert (table["rule"], table["file"], table["hit_policy"]) == (
        "approvals/deep-discount", "packs/approvals.yaml", "rule_order")
    assert [(r["row"], r["hits"], r["cells"]) for r in table["rows"]] == [
        (1, 2, ["> 10", "sales-manager", "1"]), (2, 1, ["> 25", "sales-director", "2"])]
    assert (table["hit"], table["never_hit"], table["default"]) == (2, [], None)
    assert table["evaluations"] == report["passed"] + report["failed"]
    assert report["row_coverage"] == "100.0"


def test_the_mark_waits_at_a_hole_then_passes_it(monkeypatch):
    """A seq taken by a transaction that has not committed holds the mark HOLE_WAIT seconds;
    one that commits lets it on, one that never does (a rollback) is passed after the wait."""
    monkeypatch.setattr(decision_index, "_holes", {})
    monkeypatch.setattr(decision_index, "HOLE_WAIT", 10.0)
    settled = decision_index._settled
    assert settled(4, [5, 6, 8, 9], 100.0) == 6          # 7 not committed yet
    assert settled(6, [8, 9], 105.0) == 6
    assert settled(6, [7, 8, 9], 106.0) == 9             # it came
    assert decision_index._holes == {}
    assert settled(9, [11], 200.0) == 9
    assert settled(9, [11], 210.0) == 11                 # 10 never will: passed
    assert decision_index._holes == {}
