"""Load and failure: 2,000 decisions from 50 concurrent clients leave exactly 2,000 rows in
the decision log; taking the database away mid-run gives 503 to the requests it affects and
loses nothing that was answered 2xx."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from svc_helpers import CONFORMANCE, ServerThread, archive, create_pg_database, make_service

ORDER = {"id": "C-1", "attributes": {"manual_discount": 12},
         "lines": [{"id": "1", "sku": "X-1", "quantity": 10}]}


def _activate(url: str, admin: str) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}) as c:
        info = c.post("/v1/rulesets", content=archive(CONFORMANCE / "c07-approval"),
                      headers={"Content-Type": "application/gzip"}).json()
        assert c.post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate").status_code == 200


def _count(app, key_name: str) -> int:
    with app.state.ctx.db.session() as s:
        return s.execute(text("SELECT count(*) FROM decisions WHERE key_name = :k"),
                         {"k": key_name}).scalar_one()


@pytest.mark.slow
def test_2000_decisions_from_50_clients_are_all_logged(database_url, tmp_path):
    from ordinance.adapters import store_keys

    app, keys = make_service(database_url, tmp_path / "cache")
    secret, info = store_keys.create_key(app.state.ctx.db, "evaluator", f"load-{time.time_ns()}")
    with ServerThread(app) as server:
        _activate(server.url, keys["admin"])
        statuses: dict[int, int] = {}
        ids: set[str] = set()
        lock = threading.Lock()

        def client(n: int) -> None:
            with httpx.Client(base_url=server.url, timeout=60,
                              headers={"Authorization": f"Bearer {secret}"}) as c:
                for i in range(40):
                    r = c.post("/v1/decisions", json={"order": dict(ORDER, id=f"L{n}-{i}")})
                    with lock:
                        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                        if r.status_code == 200:
                            ids.add(r.json()["decision_id"])

        with ThreadPoolExecutor(50) as pool:
            list(pool.map(client, range(50)))
        assert statuses == {200: 2000}
        assert len(ids) == 2000
        assert _count(app, info["name"]) == 2000


@pytest.mark.postgres
@pytest.mark.slow
def test_losing_the_database_gives_503_and_loses_nothing_answered(tmp_path):
    """Our own PostgreSQL database (never the shared server): connections to it are refused
    and its backends terminated mid-run, then allowed again."""
    from svc_helpers import pg_admin_conn

    from ordinance.adapters import store_keys

    pg = create_pg_database()
    try:
        app, keys = make_service(pg.url, tmp_path / "cache")
        secret, info = store_keys.create_key(app.state.ctx.db, "evaluator", "outage")
        with ServerThread(app) as server:
            _activate(server.url, keys["admin"])
            answered: list[str] = []
            statuses: dict[int, int] = {}
            lock = threading.Lock()
            stop = threading.Event()

            def client(n: int) -> None:
                with httpx.Client(base_url=server.url, timeout=60,
                                  headers={"Authorization": f"Bearer {secret}"}) as c:
                    i = 0
                    while not stop.is_set():
                        i += 1
                        r = c.post("/v1/decisions",
                                   json={"order": dict(ORDER, id=f"O{n}-{i}")})
                        with lock:
                            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                            if r.status_code == 200:
                                answered.append(r.json()["decision_id"])
                        if r.status_code == 503:
                            assert r.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
                            time.sleep(0.01)

            def outage() -> None:
                with pg_admin_conn() as conn:
                    while len(answered) < 300:
                        time.sleep(0.01)
                    conn.execute(f'ALTER DATABASE "{pg.name}" ALLOW_CONNECTIONS false')
                    conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = %s", (pg.name,))
                    deadline = time.monotonic() + 20
                    while statuses.get(503, 0) < 50 and time.monotonic() < deadline:
                        time.sleep(0.01)
                    conn.execute(f'ALTER DATABASE "{pg.name}" ALLOW_CONNECTIONS true')
                    before = len(answered)
                    deadline = time.monotonic() + 20
                    while len(answered) < before + 300 and time.monotonic() < deadline:
                        time.sleep(0.01)
                stop.set()

            with ThreadPoolExecutor(21) as pool:
                futures = [pool.submit(client, n) for n in range(20)]
                futures.append(pool.submit(outage))
                for f in futures:
                    f.result(timeout=120)
            assert statuses.get(503, 0) >= 50, statuses
            assert set(statuses) <= {200, 503}, statuses
            with app.state.ctx.db.session() as s:
                logged = set(s.execute(text(
                    "SELECT id FROM decisions WHERE key_name = 'outage'")).scalars())
            missing = set(answered) - logged
            assert not missing, f"{len(missing)} decisions answered 200 are not in the log"
            assert len(answered) >= 600
    finally:
        pg.drop()
