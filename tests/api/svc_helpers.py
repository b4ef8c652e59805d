"""Helpers for the service tests (tests/api): a real database (SQLite file, or a fresh PostgreSQL
database per test module), the app served by uvicorn on 127.0.0.1 in a thread, and one key
per role.

PostgreSQL: 127.0.0.1:5432, trust auth, user postgres (or root), maintenance database `test`.
Each module gets its own database `ordinance_t_<random>`, dropped afterwards. When the server
is unreachable the PostgreSQL runs are skipped with the reason, unless CI=true (then they fail).
"""
from __future__ import annotations

import io
import os
import socket
import tarfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance"
PG_HOST = os.environ.get("ORDINANCE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("ORDINANCE_TEST_PG_PORT", "5432"))


def _pg_user() -> tuple[str | None, str]:
    import psycopg

    last = ""
    for user in ("postgres", "root"):
        try:
            with psycopg.connect(host=PG_HOST, port=PG_PORT, user=user, dbname="test",
                                 connect_timeout=3):
                return user, ""
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            last = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
    return None, last


_PG: tuple[str | None, str] | None = None


def pg_user_or_skip() -> str:
    global _PG
    if _PG is None:
        _PG = _pg_user()
    user, reason = _PG
    if user is None:
        msg = f"PostgreSQL at {PG_HOST}:{PG_PORT} (user postgres/root, db test) unreachable: {reason}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return user


def pg_admin_conn():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=pg_user_or_skip(), dbname="test",
                           autocommit=True)


@dataclass
class PgDatabase:
    name: str
    user: str

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@{PG_HOST}:{PG_PORT}/{self.name}"

    def drop(self) -> None:
        with pg_admin_conn() as conn:
            conn.execute(f'REVOKE CONNECT ON DATABASE "{self.name}" FROM PUBLIC')
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s", (self.name,))
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')


def create_pg_database() -> PgDatabase:
    user = pg_user_or_skip()
    name = "ordinance_t_" + uuid.uuid4().hex[:12]
    with pg_admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PgDatabase(name, user)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """uvicorn serving `app` on 127.0.0.1:PORT in a background thread."""

    def __init__(self, app: Any):
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", access_log=False,
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


ROLES_AND_APPROVES = {
    "evaluator": ("evaluator", ()),
    "analyst": ("analyst", ()),
    "approver": ("approver", ("sales-manager",)),
    "approver2": ("approver", ("sales-director", "finance")),
    "admin": ("admin", ()),
}


@dataclass
class Service:
    url: str
    db_url: str
    keys: dict[str, str]
    app: Any
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def client(self, who: str | None) -> httpx.Client:
        if who not in self.clients:
            headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
            self.clients[who] = httpx.Client(base_url=self.url, headers=headers, timeout=60)
        return self.clients[who]

    def close(self) -> None:
        for c in self.clients.values():
            c.close()


def archive(directory: Path, fmt: str = "tar.gz", top: str | None = None) -> bytes:
    buf = io.BytesIO()
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    prefix = f"{top}/" if top else ""
    if fmt == "zip":
        import zipfile

        with zipfile.ZipFile(buf, "w") as zf:
            for p in files:
                zf.write(p, prefix + p.relative_to(directory).as_posix())
    else:
        with tarfile.open(fileobj=buf, mode="w:gz") as tf:
            for p in files:
                tf.add(p, prefix + p.relative_to(directory).as_posix())
    return buf.getvalue()


def make_service(db_url: str, cache_dir: Path, **settings: Any) -> tuple[Any, dict[str, str]]:
    from ordinance.adapters import store_keys
    from ordinance.api.app import create_app
    from ordinance.api.settings import Settings

    # The evaluation deadline is tested on its own (test_service_stall.py sets it); elsewhere a
    # loaded machine (CI on 2 shared cores) must not turn a slow first compile into a 503.
    settings.setdefault("eval_timeout", 300.0)
    app = create_app(Settings(database_url=db_url, cache_dir=str(cache_dir), active_ttl=0.0,
                              **settings))
    db = app.state.ctx.db
    keys = {}
    for who, (role, approves) in ROLES_AND_APPROVES.items():
        secret, _ = store_keys.create_key(db, role, f"{who}-{uuid.uuid4().hex[:6]}", approves)
        keys[who] = secret
    return app, keys

def service_with_c07(database_url: str, cache_dir: Path) -> Iterator[Service]:
    """A running service with c07-approval uploaded and active (`ruleset`: its version)."""
    app, keys = make_service(database_url, cache_dir)
    with ServerThread(app) as server:
        svc = Service(server.url, database_url, keys, app)
        r = svc.client("admin").post("/v1/rulesets",
                                     content=archive(CONFORMANCE / "c07-approval"),
                                     headers={"Content-Type": "application/gzip"})
        assert r.status_code in (200, 201), r.text
        info = r.json()
        r = svc.client("admin").post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate")
        assert r.status_code == 200, r.text
        svc.ruleset = info  # type: ignore[attr-defined]
        try:
            yield svc
        finally:
            svc.close()



@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Each test module on a SQLite file, then on a fresh PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "ordinance.db")
        return
    db = create_pg_database()
    try:
        yield db.url
    finally:
        db.drop()
