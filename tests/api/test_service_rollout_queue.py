"""The work shadows and rollouts leave on decision records (`decisions.pending`, migration
0111) over real HTTP, on SQLite and PostgreSQL: what a process's decisions leave for the
worker outlives the process, the workers of two processes draining one database at once count
every tag exactly once, a worker that died holding decisions included, and a decision under a
running shadow is still one INSERT.

Service A (no background worker) takes decisions and hub orders while a shadow and a rollout
run, so everything it leaves stays pending; a dead worker's claim is made by hand with a lease
that has run out; A goes away; services B and C, each with its worker, drain the work
together (in claims of 7 decisions, so they interleave).
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from svc_helpers import ServerThread, Service, archive, make_service
from test_service_rollout import (BASE, add_hold, capture, change, decide, order,
                                  smaller_discount, variant)


def upload(s: Service, path: Path) -> str:
    r = s.client("admin").post("/v1/rulesets", content=archive(path),
                               headers={"Content-Type": "application/gzip"})
    assert r.status_code in (200, 201), r.text
    return f"{r.json()['name']}@{r.json()['digest']}"


def test_queued_work_outlives_its_process_and_two_workers_count_each_row_once(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from ordinance.adapters import rollouts
    from ordinance.adapters.models import DecisionRecord
    from ordinance.adapters.models_rollout import RolloutRecord
    from ordinance.api.usecases import rollout as rollout_uc
    from ordinance.engine.rollout import read_plan

    monkeypatch.setattr(rollout_uc, "CLAIM_BATCH", 7)  # small claims: B and C interleave
    app_a, keys = make_service(database_url, tmp_path / "a")  # no worker: nothing drains
    decisions: dict[str, str] = {}  # decision id -> order id
    with ServerThread(app_a) as srv:
        a = Service(srv.url, database_url, keys, app_a)
        base = upload(a, BASE)
        holds = upload(a, variant(tmp_path, "holds", "2", add_hold))
        richer = upload(a, variant(tmp_path, "richer", "3", smaller_discount))
        name, digest = base.split("@")
        assert a.client("admin").post(f"/v1/rulesets/{name}/{digest}/activate").status_code \
            == 200
        admin = a.client("admin")
        shadow = admin.post("/v1/rollouts", json={"mode": "shadow", "candidate": holds})
        assert shadow.status_code == 201, shadow.text
        ro = admin.post("/v1/rollouts", json={"mode": "rollout", "candidate": richer,
                                              "share": 50})
        assert ro.status_code == 201, ro.text
        shadow_id, ro_id = shadow.json()["id"], ro.json()["id"]
        for n in range(24):
            d = decide(a, order(n, "Q"))
            decisions[d["decision_id"]] = f"Q-{n}"
        hub = [order(n, "QH") for n in range(8)]
        for o in hub:
            decisions[capture(a, o)["decision_id"]] = o["id"]
        for o in hub[:3]:
            o["lines"][0]["quantity"] += 1
            decisions[change(a, o)["decision_id"]] = o["id"]
        body = {k: v for k, v in hub[3].items() if k != "id"}  # the id from the URL only
        body["lines"] = [{**body["lines"][0], "quantity": 40}]
        r = a.client("evaluator").put(f"/v1/orders/{hub[3]['id']}", json={"order": body})
        assert r.status_code == 200, r.text
        decisions[r.json()["decision_id"]] = hub[3]["id"]
        db = app_a.state.ctx.db
        assert len(decisions) == 36
        assert rollouts.queue_depth(db) == 2 * 36  # one tag per decision per running rollout
        with db.session() as s:
            assert s.scalar(select(RolloutRecord.id).where(
                RolloutRecord.rollout_id.in_([shadow_id, ro_id]))) is None
            pending = dict(s.execute(select(DecisionRecord.id, DecisionRecord.pending)
                                     .where(DecisionRecord.pending.is_not(None))).all())
        assert set(pending) == set(decisions)  # on each decision's own record, both tags
        assert all({t[0] for t in json.loads(p)} == {shadow_id, ro_id}
                   for p in pending.values())
        # a worker claimed ten decisions and died: its lease ran out long ago
        past = app_a.state.ctx.clock.now() - timedelta(seconds=3 * rollouts.LEASE_SECONDS)
        dead = rollouts.claim(db, "c_dead", past, 10)
        assert len({q.seq for q in dead}) == 10 and len(dead) == 20  # a Claimed per tag
        assert all(q.request and q.decision and q.decision_id in decisions for q in dead)
        for c in a.clients.values():
            c.close()
    # process A is gone with its memory; B and C, each with a worker, drain what it left;
    # each finish is slowed down so that the two overlap, and says whose it was
    finishers: list[int] = []
    real_finish = rollouts.finish

    def slow_finish(db: Any, token: str, results: dict[Any, Any]) -> tuple[int, int]:
        time.sleep(0.15)
        out = real_finish(db, token, results)
        if out[0]:
            finishers.append(id(db))
        return out

    monkeypatch.setattr(rollouts, "finish", slow_finish)
    app_b, _ = make_service(database_url, tmp_path / "b", worker=True, worker_interval=0.05)
    app_c, _ = make_service(database_url, tmp_path / "c", worker=True, worker_interval=0.05)
    with ServerThread(app_b) as srv_b, ServerThread(app_c):
        b = Service(srv_b.url, database_url, keys, app_b)
        db = app_b.state.ctx.db
        deadline = time.monotonic() + 90
        while rollouts.queue_depth(db) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rollouts.queue_depth(db) == 0
        assert set(finishers) == {id(app_b.state.ctx.db), id(app_c.state.ctx.db)}  # both
        with db.session() as s:
            recs = s.execute(select(RolloutRecord.rollout_id, RolloutRecord.side,
                                    RolloutRecord.decision_id, RolloutRecord.order_id)
                             .where(RolloutRecord.rollout_id.in_([shadow_id, ro_id]))).all()
        counts = Counter((rid, did) for rid, _, did, _ in recs)
        assert set(counts.values()) == {1}, counts.most_common(3)  # exactly once each
        assert {did for rid, did in counts if rid == shadow_id} == set(decisions)
        assert {did for rid, did in counts if rid == ro_id} == set(decisions)
        plan = read_plan(ro_id, {"share": 50})
        for rid, side, did, oid in recs:
            assert oid == decisions[did]
            if rid == ro_id:
                assert side == ("candidate" if plan.bucket(oid) < 50 else "active")
            else:
                assert side == "shadow"
        # the dead worker comes back: what it held is another's now, nothing is stored twice
        fake = rollouts.record(shadow_id, "shadow", "x", past, {"status": "accepted"})
        assert real_finish(db, "c_dead", {q.id: fake for q in dead}) == (0, 0)
        # over HTTP, from B: the shadow's pairs and the rollout's tallies, every decision once
        got = b.client("analyst").get(f"/v1/rollouts/{shadow_id}").json()
        assert got["shadow"]["pairs"] == 36
        assert got["shadow"]["pairs_changed"] == 36  # holds holds every DE order
        got = b.client("analyst").get(f"/v1/rollouts/{ro_id}").json()
        assert got["kpis"]["active"]["orders"] + got["kpis"]["candidate"]["orders"] == 36
        assert got["kpis"]["candidate"]["orders"] == sum(
            plan.bucket(oid) < 50 for oid in decisions.values())
        for rid in (shadow_id, ro_id):
            assert b.client("admin").post(f"/v1/rollouts/{rid}/stop").status_code == 200
        for c in b.clients.values():
            c.close()


def pending_decisions(db: Any, now: Any, prefix: str, n: int, tags: Any) -> list[str]:
    """`n` decision records written as the log writes them, each carrying `tags`."""
    from types import SimpleNamespace

    from ordinance.adapters.models import DecisionRecord
    from ordinance.adapters.store_decisions import record_row

    ids = [f"dec-{prefix}-{k}" for k in range(n)]
    rows = [record_row(SimpleNamespace(  # an Evaluated's fields the record reads
        decision_id=did, status="accepted", ruleset_name="base", digest="sha256:x",
        as_of=str(now.date()), fired=[], elapsed_us=1, text='{"status": "accepted"}'),
        "decide", "test", f"L-{k}", '{"order": {}}', tags) for k, did in enumerate(ids)]
    with db.session(write=True) as s:
        s.connection().execute(DecisionRecord.__table__.insert(), rows)
    return ids


def test_a_stalled_worker_finishes_nothing_another_has_claimed(
        database_url: str, tmp_path: Path) -> None:
    """The lease's edge, at the adapter: a claim past its lease is taken by the next worker,
    and the first worker's finish then clears and stores nothing; the second's does."""
    from ordinance.adapters import rollouts
    from ordinance.adapters.db import Database

    app, _ = make_service(database_url, tmp_path / "d")
    db: Database = app.state.ctx.db
    now = app.state.ctx.clock.now()
    pending_decisions(db, now, "lease", 5, [("ro_lease", "active", now.date())])
    first = rollouts.claim(db, "c_first", now - timedelta(seconds=2 * rollouts.LEASE_SECONDS),
                           3)
    assert [q.order_id for q in first] == ["L-0", "L-1", "L-2"]
    assert all(q.kind == "decide" and q.today == now.date() and q.side == "active"
               for q in first)
    second = rollouts.claim(db, "c_second", now, 10)  # the first's lease ran out
    assert sorted(q.order_id for q in second) == [f"L-{n}" for n in range(5)]
    assert rollouts.claim(db, "c_third", now, 10) == []  # all leased now
    rec = {q.id: rollouts.record("ro_lease", "active", q.order_id, now, {"status": "accepted"},
                                 decision_id=q.decision_id) for q in second}
    assert rollouts.finish(db, "c_first", {q.id: rec[q.id] for q in first}) == (0, 0)
    assert rollouts.queue_depth(db) == 5
    assert rollouts.finish(db, "c_second", rec) == (5, 5)
    assert rollouts.queue_depth(db) == 0
    assert rollouts.claim(db, "c_fourth", now, 10) == []
    assert rollouts.tallies(db, "ro_lease")["active"].orders == 5


def test_an_unreadable_pending_is_cleared_uncounted(database_url: str, tmp_path: Path
                                                    ) -> None:
    """A `pending` the worker cannot read gives one tag of no rollout: the round clears it
    without a record instead of claiming it again and again."""
    from ordinance.adapters import rollouts
    from ordinance.adapters.models import DecisionRecord
    from ordinance.api.usecases.rollout import live

    app, _ = make_service(database_url, tmp_path / "u")
    ctx = app.state.ctx
    now = ctx.clock.now()
    ids = pending_decisions(ctx.db, now, "bad", 2, [("ro_gone", "shadow", now.date())])
    with ctx.db.session(write=True) as s:
        s.execute(update(DecisionRecord).where(DecisionRecord.id == ids[0])
                  .values(pending="[not json"))
    assert rollouts.queue_depth(ctx.db) == 2
    got = live(ctx).round(ctx)
    assert got["records"] == 0 and got["discarded"] == 2  # ro_gone does not run either
    assert rollouts.queue_depth(ctx.db) == 0


def test_a_decision_under_a_running_shadow_is_one_insert(database_url: str, tmp_path: Path,
                                                        ) -> None:
    """The request path's cost (issue 18: at most 1 ms at p99): the decision log's commit of a
    decision a shadow and a rollout count writes the same single statement, one INSERT into
    `decisions`, as a decision no rollout counts; the work rides in its `pending` column."""
    import threading

    from sqlalchemy import event

    from ordinance.adapters.models import DecisionRecord
    from ordinance.engine.rollout import read_plan

    app, keys = make_service(database_url, tmp_path / "one")  # no worker: nothing drains
    ctx = app.state.ctx
    seen: list[str] = []
    in_commit = threading.local()
    real_commit = ctx.log._commit

    def counted_commit(batch: Any) -> None:
        in_commit.on = True
        try:
            real_commit(batch)
        finally:
            in_commit.on = False

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if getattr(in_commit, "on", False):
            seen.append(" ".join(sql.split())[:60])

    ctx.log._commit = counted_commit  # the writer thread calls self._commit
    event.listen(ctx.db.engine, "before_cursor_execute", statement)
    try:
        with ServerThread(app) as srv:
            a = Service(srv.url, database_url, keys, app)
            base = upload(a, BASE)
            holds = upload(a, variant(tmp_path, "holds", "2", add_hold))
            richer = upload(a, variant(tmp_path, "richer", "3", smaller_discount))
            name, digest = base.split("@")
            admin = a.client("admin")
            assert admin.post(f"/v1/rulesets/{name}/{digest}/activate").status_code == 200
            plain = decide(a, order(0, "ONE"))["decision_id"]
            without = [x for x in seen if not x.upper().startswith(("BEGIN", "COMMIT"))]
            seen.clear()
            ids = {}
            for mode, ref, extra in (("shadow", holds, {"sample": 100}),
                                     ("rollout", richer, {"share": 50})):
                r = admin.post("/v1/rollouts", json={"mode": mode, "candidate": ref, **extra})
                assert r.status_code == 201, r.text
                ids[mode] = r.json()["id"]
            today = ctx.clock.now().date()
            counted = decide(a, order(1, "ONE"))["decision_id"]
            with_tags = [x for x in seen if not x.upper().startswith(("BEGIN", "COMMIT"))]
            with ctx.db.session() as s:
                got = dict(s.execute(select(DecisionRecord.id, DecisionRecord.pending)
                                     .where(DecisionRecord.id.in_([plain, counted]))).all())
            for rid in ids.values():  # (stopping counts what is pending: the module's
                # database is left with no work and nothing running)
                assert admin.post(f"/v1/rollouts/{rid}/stop").status_code == 200
            for c in a.clients.values():
                c.close()
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", statement)
    assert len(without) == 1 and without[0].upper().startswith("INSERT INTO DECISIONS"), without
    assert with_tags == without  # the same one statement: no second insert, no update
    assert got[plain] is None
    plan = read_plan(ids["rollout"], {"share": 50})
    side = "candidate" if plan.bucket("ONE-1") < 50 else "active"
    assert sorted(map(tuple, json.loads(got[counted]))) == sorted(
        [(ids["shadow"], "shadow", str(today)), (ids["rollout"], side, str(today))])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0111_moves_queued_rows_onto_their_decisions_and_back(
        backend: str, tmp_path: Path) -> None:
    """0110's queued rows become their decision's `pending` (a row whose decision is gone is
    dropped: nothing to count), rollout_queue goes; the downgrade puts the rows back."""
    from alembic import command
    from sqlalchemy import inspect, text

    from ordinance.adapters import db as dbmod
    from ordinance.adapters import rollouts
    from svc_helpers import create_pg_database

    pg = create_pg_database() if backend == "postgresql" else None
    db = dbmod.connect(pg.url if pg else f"sqlite:///{tmp_path}/m.db")

    def downgrade(revision: str) -> None:
        cfg = dbmod.alembic_config(db)
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)

    def queue() -> list[tuple[Any, ...]]:
        with db.session() as s:
            return [tuple(r) for r in s.execute(text(
                "SELECT rollout_id, side, kind, decision_id, order_id, today "
                "FROM rollout_queue ORDER BY rollout_id, decision_id"))]

    try:
        dbmod.upgrade(db, "0110")
        with db.session(write=True) as s:
            for n, kind in enumerate(("decide", "order", "price")):
                s.execute(text(
                    "INSERT INTO decisions (id, created_at, kind, key_name, order_id, status, "
                    "ruleset_name, digest, as_of, fired, elapsed_us, request, decision) VALUES "
                    "(:id, :at, :kind, 'k', :oid, 'accepted', 'base', 'sha256:x', "
                    "'2026-11-20', ' ', 1, '{}', '{}')"),
                    {"id": f"d{n}", "at": datetime(2026, 11, 20, 9, n, tzinfo=timezone.utc),
                     "kind": kind, "oid": f"O-{n}"})
            for rid, side, did, oid in (("ro_a", "shadow", "d0", "O-0"),
                                        ("ro_b", "active", "d0", "O-0"),
                                        ("ro_b", "candidate", "d1", "O-1"),
                                        ("ro_b", "active", "gone", "O-9")):
                s.execute(text(
                    "INSERT INTO rollout_queue (rollout_id, side, kind, decision_id, "
                    "order_id, today, queued_at, claim, claimed_until) VALUES (:r, :side, "
                    "(SELECT COALESCE(MAX(kind), 'decide') FROM decisions WHERE id = :d), "
                    ":d, :o, :t, :at, 'c_old', :at)"),
                    {"r": rid, "side": side, "d": did, "o": oid, "t": date(2026, 11, 19),
                     "at": datetime(2026, 11, 20, 10, tzinfo=timezone.utc)})
        before = queue()
        dbmod.upgrade(db)
        assert "rollout_queue" not in inspect(db.engine).get_table_names()
        with db.session() as s:
            got = dict(s.execute(text("SELECT id, pending FROM decisions")).all())
        assert json.loads(got["d0"]) == [["ro_a", "shadow", "2026-11-19"],
                                         ["ro_b", "active", "2026-11-19"]]
        assert json.loads(got["d1"]) == [["ro_b", "candidate", "2026-11-19"]]
        assert got["d2"] is None
        assert rollouts.queue_depth(db) == 3
        downgrade("0110")
        cols = {c["name"] for c in inspect(db.engine).get_columns("decisions")}
        assert not cols & {"pending", "claim", "claimed_until"}
        after = queue()
        assert [r[:5] for r in after] == [r[:5] for r in before if r[3] != "gone"]
        assert {str(r[5])[:10] for r in after} == {"2026-11-19"}
        dbmod.upgrade(db)  # and up again: the same work, now claimable
        now = datetime(2026, 11, 20, 11, tzinfo=timezone.utc)
        claimed = rollouts.claim(db, "c_new", now, 10)
        assert sorted((q.decision_id, q.rollout_id, q.side, q.kind, q.order_id)
                      for q in claimed) == [("d0", "ro_a", "shadow", "decide", "O-0"),
                                            ("d0", "ro_b", "active", "decide", "O-0"),
                                            ("d1", "ro_b", "candidate", "order", "O-1")]
    finally:
        db.dispose()
        if pg is not None:
            pg.drop()
