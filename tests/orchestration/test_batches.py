"""Grouping events into transactions changes nothing (adapters/orchestration.py, orch_unit.py).

The orchestrator applies a batch in one transaction: the orders' state in memory, the shared
ledgers (stock, rebate periods, invoice numbers) in a second stage, locked in key order. These
tests replay the same stream one event per transaction and in batches, on SQLite and on
PostgreSQL, and compare every table; and they run parallel senders over shared stock rows.
"""
from __future__ import annotations

import json
import sys
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from svc_helpers import create_pg_database  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TABLES = {  # table: ordering (ids, sequence numbers and decision ids left out of the rows)
    "orch_orders": "order_id", "orch_timeline": "order_id, id", "orch_alerts": "order_id, id",
    "orch_timers": "order_id, id", "orch_windows": "order_id, id", "orch_stock": "location, sku",
    "orch_reorders": "location, sku, quantity", "orch_rebate_accruals": "programme, period",
    "orch_rebate_entries": "order_id, at, sku", "orch_debit_claims": "order_id, at, sku",
    "orch_invoices": "order_id, event_id", "orch_events": "order_id, event_id",
}


class _Fixed:
    def __init__(self, rs: Any):
        self.rs = rs

    def resolve(self, ref: Any) -> Any:
        return self.rs


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A factory of empty, migrated databases of one kind."""
    from ordinance.adapters import db as dbmod

    made: list[Any] = []

    def make() -> Any:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / f'db{len(made)}.db'}"
            pg = None
        else:
            pg = create_pg_database()
            url = pg.url
        db = dbmod.connect(url)
        dbmod.upgrade(db)
        made.append((db, pg))
        return db

    yield make
    for db, pg in made:
        db.dispose()
        if pg is not None:
            pg.drop()


def _captured(db: Any, rs: Any, n: int, seed: int = 3) -> tuple[Any, list[tuple[str, str]]]:
    from ordinance.adapters.clock import ManualClock
    from ordinance.adapters.eventstore import sample_stream
    from ordinance.adapters.hub import Hub
    from ordinance.adapters.orchestration import Orchestrator
    from ordinance.adapters.store_keys import KeyInfo
    from ordinance.engine import dumps, parse_order

    from ordinance.api.usecases.orders import capture_order

    hub, key = Hub(db), KeyInfo(0, "t", "admin", ())
    orders, events = sample_stream(n, seed=seed, prefix="G")
    for raw in orders:
        o = parse_order(json.dumps(raw))
        body = dumps(o)
        capture_order(hub, _Fixed(rs), o, date(2026, 11, 20), None, body, body, key,
                      ManualClock("2026-11-20T09:00:00Z"))
    orch = Orchestrator(db, _Fixed(rs), ManualClock("2026-11-20T09:00:00Z"))
    return orch, [(oid, json.dumps(body)) for oid, body in events]


def _tables(db: Any) -> dict[str, list[dict[str, Any]]]:
    out = {}
    with db.engine.connect() as c:
        for table, order in TABLES.items():
            rows = []
            for r in c.execute(text(f"SELECT * FROM {table} ORDER BY {order}")):
                row = {k: (str(v)[:19] if hasattr(v, "isoformat") else v)
                       for k, v in r._mapping.items()
                       if k not in ("id", "seq", "decision_id", "number")}
                rows.append(row)
            out[table] = rows
    return out


def test_batches_and_single_events_leave_the_same_tables(databases: Any) -> None:
    from ordinance.engine import load

    rs = load(ROOT / "rulesets" / "acme")
    one, many = databases(), databases()
    orch1, bodies = _captured(one, rs, 30)
    answers1 = []
    for oid, body in bodies:
        try:
            answers1.append((200, orch1.post_event(oid, body)["state"]))
        except Exception as exc:  # noqa: BLE001 - the code is compared below
            answers1.append((409, getattr(exc, "code", repr(exc))))
    orch2, bodies2 = _captured(many, rs, 30)
    assert bodies2 == bodies
    answers2 = []
    for i in range(0, len(bodies), 45):
        for a in orch2.post_batch(bodies[i:i + 45]):
            answers2.append((a["status"], a["state"] if a["status"] == 200
                             else a["error"]["code"]))
    assert answers1 == answers2
    assert sum(1 for s, _ in answers1 if s == 200) > 300  # most events fit their order
    t1, t2 = _tables(one), _tables(many)
    for table in TABLES:
        assert t1[table] == t2[table], table
    assert t1["orch_invoices"] and t1["orch_rebate_entries"] and t1["orch_timeline"]
    # invoice numbers have no gaps, whatever the grouping
    with many.engine.connect() as c:
        seqs = [r[0] for r in c.execute(text("SELECT seq FROM orch_invoices ORDER BY seq"))]
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_repeated_event_inside_a_batch_is_a_duplicate(databases: Any) -> None:
    from ordinance.engine import load

    orch, bodies = _captured(databases(), load(ROOT / "rulesets" / "acme"), 2)
    oid, body = bodies[0]
    other = json.dumps({**json.loads(body), "note": "changed"})
    out = orch.post_batch([(oid, body), (oid, body), (oid, other), ("nope", body)])
    assert [a["status"] for a in out] == [200, 200, 409, 404]
    assert out[0]["duplicate"] is False and out[1]["duplicate"] is True
    assert {k: v for k, v in out[1].items() if k != "duplicate"} == \
        {k: v for k, v in out[0].items() if k != "duplicate"}
    assert out[2]["error"]["code"] == "EVENT_ID_REUSED"
    assert orch.post_event(oid, body)["duplicate"] is True  # and after the commit


@pytest.mark.postgres
@pytest.mark.parametrize("databases", ["postgres"], indirect=True)
def test_parallel_batches_on_shared_stock_lose_nothing(databases: Any) -> None:
    """Two senders, disjoint orders, the same five SKUs: no deadlock surfaces, and the stock
    and accruals end as after one sequential run."""
    from ordinance.adapters.orchestration import Orchestrator
    from ordinance.engine import load

    rs = load(ROOT / "rulesets" / "acme")
    par, seq = databases(), databases()
    orch, bodies = _captured(par, rs, 40)
    orch_b = Orchestrator(par, _Fixed(rs), orch.clock)
    owners = sorted({oid for oid, _ in bodies})
    halves = [[b for b in bodies if owners.index(b[0]) % 2 == k] for k in (0, 1)]
    failures: list[Any] = []

    def send(o: Any, part: list[tuple[str, str]]) -> None:
        try:
            for i in range(0, len(part), 30):
                for a in o.post_batch(part[i:i + 30]):
                    if a["status"] not in (200, 409):
                        failures.append(a)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion
            failures.append(repr(exc))

    threads = [threading.Thread(target=send, args=(o, p))
               for o, p in zip((orch, orch_b), halves)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    orch_s, bodies_s = _captured(seq, rs, 40)
    for i in range(0, len(bodies_s), 30):
        orch_s.post_batch(bodies_s[i:i + 30])
    a, b = _tables(par), _tables(seq)
    for table in ("orch_stock", "orch_rebate_accruals", "orch_orders", "orch_events"):
        # a ledger row's updated_at is the time of whichever sender moved it last, and
        # invoice numbers (in the answers) follow the order of commits
        assert [{k: v for k, v in r.items() if k not in ("updated_at", "result")}
                for r in a[table]] == [{k: v for k, v in r.items() if k not in (
                    "updated_at", "result")} for r in b[table]], table
    with par.engine.connect() as c:
        seqs = [r[0] for r in c.execute(text("SELECT seq FROM orch_invoices ORDER BY seq"))]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 40


def test_rules_on_ledger_events_may_only_act_on_ledgers(tmp_path: Path) -> None:
    from ordinance.engine import check

    (tmp_path / "ruleset.yaml").write_text('ruleset: t\nversion: "1"\n')
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "x.yaml").write_text("""\
pack: x
phase: events
rules:
  - id: low-stock-hold
    on: stock_changed
    then:
      - hold: {code: LOW, reason: low stock}
  - id: shipped-timer
    on: line_shipped
    after: 1d
    then:
      - notify: {topic: t}
  - id: fine
    on: [line_shipped, shipment_confirmed]
    then:
      - accrue_rebate: {programme: "'P'", quantity: event.quantity}
  - id: timer
    on: step_started
    after: 1h
    unless: [stock_changed]
    then:
      - alert: {code: A}
""")
    out = [d.render(with_source=False) for d in check(tmp_path)]
    assert len(out) == 3, out
    assert out[0].startswith("events/x.yaml:7:9: error: a rule on stock_changed acts on the "
                             "shared ledgers"), out[0]
    assert out[0].endswith("; not hold")
    assert out[1].startswith("events/x.yaml:10:12: error: a rule on line_shipped")
    assert "cannot set a timer" in out[1]
    assert out[2].startswith("events/x.yaml:20:13: error: unless cannot name stock_changed")


def test_events_posted_together_share_one_transaction(databases: Any) -> None:
    """Group commit: events arriving while a transaction runs go together in the next one,
    each answered on its own."""
    from ordinance.engine import load

    orch, bodies = _captured(databases(), load(ROOT / "rulesets" / "acme"), 12)
    firsts: dict[str, str] = {}
    for oid, body in bodies:
        firsts.setdefault(oid, body)
    calls: list[int] = []
    real = orch._execute

    def counting(items: list[Any]) -> list[Any]:
        calls.append(len(items))
        return real(items)

    orch._execute = counting  # type: ignore[method-assign]
    answers: dict[str, Any] = {}

    def post(oid: str, body: str) -> None:
        try:
            answers[oid] = orch.post_event(oid, body)
        except Exception as exc:  # noqa: BLE001 - compared below
            answers[oid] = exc

    with orch._run_lock:  # a transaction is running: the posts below must wait for it
        threads = [threading.Thread(target=post, args=item) for item in firsts.items()]
        threads.append(threading.Thread(target=post, args=("NO-SUCH-ORDER",
                                                            next(iter(firsts.values())))))
        for t in threads:
            t.start()
        for _ in range(500):
            if orch._open is not None and len(orch._open.items) == len(threads):
                break
            threading.Event().wait(0.01)
    for t in threads:
        t.join()
    assert calls == [len(threads)]  # one transaction for all of them
    assert type(answers.pop("NO-SUCH-ORDER")).__name__ == "NotFound"
    assert sorted(answers) == sorted(firsts)
    for oid, a in answers.items():
        assert isinstance(a, dict) and a["order_id"] == oid and a["duplicate"] is False
    # and each is stored: a repeat is answered from its record
    oid, body = next(iter(firsts.items()))
    assert orch.post_event(oid, body) == {**answers[oid], "duplicate": True}


@pytest.mark.postgres
@pytest.mark.parametrize("databases", ["postgres"], indirect=True)
def test_an_event_the_database_refuses_fails_alone(databases: Any, tmp_path: Path) -> None:
    """A rule makes an alert code longer than its column: that event is answered 503 and
    stored nowhere; the others of its batch commit."""
    import shutil

    from ordinance.engine import load

    rs_dir = tmp_path / "rs"
    shutil.copytree(ROOT / "rulesets" / "acme", rs_dir)
    with open(rs_dir / "events" / "jeopardy.yaml", "a") as f:
        f.write("""
  - id: noted
    on: note_added
    then:
      - alert: {code: "{event.note}", message: noted}
""")
    orch, bodies = _captured(databases(), load(rs_dir), 2)
    oids = sorted({oid for oid, _ in bodies})
    out = orch.post_batch([
        (oids[0], json.dumps({"id": "n1", "type": "note_added", "note": "short"})),
        (oids[1], json.dumps({"id": "n2", "type": "note_added", "note": "x" * 300})),
        (oids[1], json.dumps({"id": "n3", "type": "note_added", "note": "fine"})),
    ])
    assert [a["status"] for a in out] == [200, 503, 200], out
    assert out[1]["error"]["code"] == "EVENT_NOT_STORED"
    codes = {a["code"] for a in orch.alerts(state="all")["items"]}
    assert codes == {"short", "fine"}
    from ordinance.adapters.store import Unavailable

    with pytest.raises(Unavailable) as err:  # alone: 503, not a 500
        orch.post_event(oids[1], json.dumps({"id": "n4", "type": "note_added",
                                             "note": "y" * 300}))
    assert err.value.code == "EVENT_NOT_STORED"


@pytest.mark.postgres
@pytest.mark.parametrize("databases", ["postgres"], indirect=True)
def test_a_refused_copy_is_the_error_sqlalchemy_would_raise(databases: Any) -> None:
    """Bulk inserts go by COPY on the driver's connection; its errors must reach the retry
    logic as SQLAlchemy's (a unique violation is an IntegrityError: a race, retried)."""
    from datetime import UTC, datetime

    from ordinance.adapters.orch_unit import TIMERS, Unit
    from sqlalchemy.exc import IntegrityError

    db = databases()
    at = datetime(2026, 11, 20, tzinfo=UTC)
    rows = [{"id": 1 if i in (0, 9) else i + 1, "order_id": "O", "rule": "r", "key": "",
             "first_due": at, "due_at": at, "state": "armed", "event": "{}", "fired": 0}
            for i in range(10)]
    with pytest.raises(IntegrityError):
        with db.session(write=True) as s:
            Unit(s, is_sqlite=False).insert(TIMERS, rows)
    with db.session() as s:  # nothing of it stayed
        assert s.execute(text("SELECT count(*) FROM orch_timers")).scalar() == 0
