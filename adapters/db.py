"""The database: engine creation, sessions, migrations, and the one error the API maps to 503.

`connect(url)` gives a `Database` (an SQLAlchemy engine plus a session factory) for SQLite or
PostgreSQL; `upgrade(db)` applies the Alembic migrations shipped as package data in
`ordinance.adapters.migrations` (no alembic.ini needed). Every storage call that fails because
the database cannot be reached raises `DatabaseUnavailable`, which the API answers with 503:
a request is answered 2xx only after its writes are committed. SQL parameters (order data)
are never shown in an error or a log (`hide_parameters`).
"""
from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


class DatabaseUnavailable(Exception):
    """The database could not be reached or dropped the connection; nothing was committed."""


class DeadlinePassed(Exception):
    """Work for a request that has already been answered (its deadline passed) stores nothing."""


_deadline = threading.local()


def set_deadline(at: float | None) -> None:
    """This thread's work belongs to a request answered by `at` (time.monotonic()); a session
    opened after that raises DeadlinePassed. None: no deadline."""
    _deadline.at = at


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` use psycopg 3, the driver we ship."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Database:
    def __init__(self, url: str, pool_size: int = 10):
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            if parsed.database in (None, "", ":memory:"):
                # one shared connection, or every connection would see its own empty database
                from sqlalchemy.pool import StaticPool

                self.engine: Engine = create_engine(
                    self.url, connect_args={"check_same_thread": False},
                    poolclass=StaticPool, hide_parameters=True)
            else:
                self.engine = create_engine(
                    self.url,
                    connect_args={"check_same_thread": False, "timeout": 30},
                    pool_size=pool_size,
                    max_overflow=20,
                    hide_parameters=True,
                )
            event.listen(self.engine, "connect", _sqlite_pragmas)
            # pysqlite's own BEGIN handling is off (see _sqlite_pragmas); a writing session
            # takes the write lock at BEGIN (IMMEDIATE), so concurrent writers queue on
            # busy_timeout instead of failing when a deferred read would upgrade to a write.
            event.listen(self.engine, "begin", self._sqlite_begin)
        else:
            self.engine = create_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=20,
                pool_pre_ping=True,
                pool_timeout=10,
                connect_args={"connect_timeout": 5},
                hide_parameters=True,  # an error message or log never shows order data
            )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._local = threading.local()
        # SQLite's busy handler sleeps in growing steps (up to 100 ms) while another process
        # holds the write lock, which shows as long tail latencies with several workers.
        # Writers of this database therefore queue on a lock file first (threads on an
        # RLock, processes on flock), which wakes the next writer the moment one commits.
        self._write_rlock = threading.RLock()
        self._lock_file = None
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            self._lock_file = open(parsed.database + ".writelock", "a+b")

    def _sqlite_begin(self, conn) -> None:  # type: ignore[no-untyped-def]
        if getattr(self._local, "write", False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error.

        `write=True` on SQLite takes the write lock at the start of the transaction.
        Connection-level failures become `DatabaseUnavailable`.
        """
        at = getattr(_deadline, "at", None)
        if at is not None and time.monotonic() > at:
            raise DeadlinePassed("the request was answered (its deadline passed); "
                                 "nothing is stored for it")
        self._local.write = write
        locked = write and self._lock_file is not None
        if locked:
            self._write_rlock.acquire()
            if getattr(self._local, "depth", 0) == 0:
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX)
            self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            with self.sessions() as s:
                try:
                    yield s
                    s.commit()
                except BaseException:
                    s.rollback()
                    raise
        except (OperationalError, InterfaceError) as exc:
            raise DatabaseUnavailable(_short(exc)) from exc
        except PoolTimeout as exc:
            raise DatabaseUnavailable("no database connection free in time") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise DatabaseUnavailable(_short(exc)) from exc
            raise
        finally:
            if locked:
                self._local.depth -= 1
                if self._local.depth == 0:
                    fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
                self._write_rlock.release()

    def ping(self) -> None:
        """Raises DatabaseUnavailable when the database cannot answer a trivial query."""
        with self.session() as s:
            s.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see above)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _short(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def connect(url: str, pool_size: int = 10) -> Database:
    return Database(url, pool_size=pool_size)


def alembic_config(db: Database):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    """Apply the migrations up to `revision`, in one transaction per migration."""
    from alembic import command

    cfg = alembic_config(db)
    try:
        with db.engine.begin() as conn:
            if not db.is_sqlite:
                # Several processes may start at once: one migrates, the others wait.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(724100)")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except (OperationalError, InterfaceError) as exc:
        raise DatabaseUnavailable(_short(exc)) from exc


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def default_url() -> str:
    return os.environ.get("ORDINANCE_DATABASE_URL") or (
        "sqlite:///" + os.path.join(os.getcwd(), "ordinance.db")
    )
