"""The decision log: every decision the service makes, written before it is answered.

Writes go through `DecisionLog`, one background thread per process that commits the
records waiting at that moment in one transaction (a batch) and then releases their
requests: a request is answered only after its record is committed, and a failed commit
(the database went away) fails every request of that batch with `Unavailable`, so nothing
answered 2xx is ever lost. Batching is what keeps the log cheap at a thousand decisions a
second: one commit (one fsync) per batch, not per decision.

This module stores and reads; it does not evaluate. The decide use case
(api/usecases/decide.py) evaluates and hands the answer to `DecisionLog.submit_decision`.
"""
from __future__ import annotations

import asyncio
import json
import queue
import threading
from concurrent.futures import Future
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from ordinance.engine.answer import Evaluated

from .db import Database, DatabaseUnavailable
from .ids import new_decision_id
from .models import DecisionRecord
from .rollouts import Tag, pending_text
from .store import Invalid, NotFound, Unavailable, iso, now

def new_id() -> str:
    return new_decision_id()


def fired_text(fired: list[str]) -> str:
    return " " + " ".join(fired) + " " if fired else " "


def record_row(ev: Evaluated, kind: str, key_name: str, order_id: str | None,
               request_text: str, tags: list[Tag] | None = None) -> dict[str, Any]:
    """A decision record's row; `tags`: what running shadows and rollouts must count of it
    (adapters/rollouts.py), carried on the row itself (`pending`, migration 0111): the same
    one INSERT whether a rollout runs or not."""
    return {
        "id": ev.decision_id, "created_at": now(), "kind": kind, "key_name": key_name,
        "order_id": None if order_id is None else order_id.replace("\x00", "")[:200],
        "status": ev.status, "ruleset_name": ev.ruleset_name,
        "digest": ev.digest, "as_of": ev.as_of, "fired": fired_text(ev.fired),
        "elapsed_us": ev.elapsed_us, "request": request_text, "decision": ev.text,
        "pending": pending_text(tags),
    }


class DecisionLog:
    """Background writer: `submit(row)` queues a row; `committed(future)` waits, holding no
    thread, until its batch is committed (or raises)."""

    def __init__(self, db: Database, batch_max: int = 256, timeout: float = 30.0,
                 writers: int | None = None):
        self.db = db
        self.batch_max = batch_max
        self.timeout = timeout
        # PostgreSQL commits of several connections overlap (and share WAL flushes), so a
        # few writers keep the log from waiting on one commit at a time; SQLite has one
        # write lock, so one writer.
        self.writers = writers or (1 if db.is_sqlite else 4)
        self._queue: queue.Queue[tuple[dict, Future] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()
        self.batches = 0
        self.rows = 0

    def _ensure_started(self) -> None:
        if len(self._threads) < self.writers or not all(t.is_alive() for t in self._threads):
            with self._start_lock:
                self._threads = [t for t in self._threads if t.is_alive()]
                while len(self._threads) < self.writers:
                    t = threading.Thread(target=self._run, daemon=True,
                                         name=f"ordinance-decision-log-{len(self._threads)}")
                    t.start()
                    self._threads.append(t)

    def submit(self, row: dict[str, Any]) -> Future:
        """Queue a row (`record_row`'s: a batch's rows share the one INSERT's columns); the
        future completes when it is committed (or fails)."""
        self._ensure_started()
        fut: Future = Future()
        self._queue.put((row, fut))
        return fut

    def submit_decision(self, ev: Evaluated, kind: str, key_name: str, order_id: str | None,
                        request_text: str, tags: list[Tag] | None = None) -> Future:
        """Queue the record of an answered decision (`record_row`); `tags`: what running
        shadows and rollouts count of it, on the record itself."""
        return self.submit(record_row(ev, kind, key_name, order_id, request_text, tags))

    async def committed(self, fut: Future) -> None:
        """Waits, holding no thread, until the row of `fut` is committed; Unavailable when
        the commit failed or took longer than `timeout`."""
        try:
            await asyncio.wait_for(asyncio.wrap_future(fut), timeout=self.timeout)
        except asyncio.TimeoutError:
            raise Unavailable("the decision log did not commit in time; the decision was not "
                              "recorded", code="DATABASE_UNAVAILABLE") from None

    def close(self) -> None:
        alive = [t for t in self._threads if t.is_alive()]
        for _ in alive:
            self._queue.put(None)
        for t in alive:
            t.join(timeout=10)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self.batch_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._commit(batch)
                    return
                batch.append(nxt)
            self._commit(batch)

    def _commit(self, batch: list[tuple[dict, Future]]) -> None:
        try:
            with self.db.session(write=True) as s:
                # Core insert (executemany), not the ORM's bulk path: a third of the cost.
                # The one statement of the batch: a shadow's or rollout's work is a column
                # of the record (`pending`), never a second statement on the request path
                s.connection().execute(DecisionRecord.__table__.insert(),
                                       [row for row, _ in batch])
        except DatabaseUnavailable as exc:
            err = Unavailable(f"the database is unavailable: {exc}",
                              code="DATABASE_UNAVAILABLE")
            for _, fut in batch:
                fut.set_exception(err)
            return
        except Exception as exc:  # not a connection problem: fail only the culprits
            if len(batch) > 1:
                for one in batch:
                    self._commit([one])
                return
            batch[0][1].set_exception(Unavailable(
                f"the decision could not be logged: {exc.__class__.__name__}",
                code="LOG_FAILED"))
            return
        self.batches += 1
        self.rows += len(batch)
        for _, fut in batch:
            fut.set_result(None)


# --------------------------------------------------------------------------- reading

def _parse_time(text: str, name: str, end: bool = False) -> datetime:
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            dt = datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
            return dt + timedelta(days=1) if end and d < date.max else dt
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    except ValueError:
        raise Invalid(f"{name} must be a date (YYYY-MM-DD) or an ISO date-time, not {text!r}",
                      code="BAD_QUERY", path=name) from None


# what a search answers of each decision (`summary`): never the request and decision texts
SUMMARY_COLUMNS = (DecisionRecord.seq, DecisionRecord.id, DecisionRecord.created_at,
                   DecisionRecord.kind, DecisionRecord.key_name, DecisionRecord.order_id,
                   DecisionRecord.status, DecisionRecord.ruleset_name, DecisionRecord.digest,
                   DecisionRecord.as_of, DecisionRecord.elapsed_us)


def summary(r: Any) -> dict[str, Any]:
    return {
        "decision_id": r.id, "created_at": iso(r.created_at), "kind": r.kind,
        "key": r.key_name, "order_id": r.order_id, "status": r.status,
        "ruleset": r.ruleset_name, "digest": r.digest, "as_of": r.as_of,
        "elapsed_ms": round(r.elapsed_us / 1000, 3),
    }


def cursor_seq(cursor: str | None) -> int | None:
    """A page's cursor: the last seq of the previous page, as digits (every such text is a
    place); else Invalid at `cursor`."""
    if not cursor:
        return None
    if not (cursor.isascii() and cursor.isdigit() and 0 < len(cursor) <= 18
            and cursor[0] != "0"):
        raise Invalid("cursor is the next_cursor of a page (digits)", code="BAD_CURSOR",
                      path="cursor")
    return int(cursor)


def query(db: Database, *, start: str | None = None,
          end: str | None = None, status: str | None = None, rule: str | None = None,
          digest: str | None = None, order_id: str | None = None, cursor: str | None = None,
          limit: int = 50) -> dict[str, Any]:
    """Newest first. `to` is inclusive of a whole day when given as a date. A search by rule
    reads every row's `fired` (a LIKE): `decision_index.search` answers the same through its
    rule index, and calls this for the rest."""
    q = select(*SUMMARY_COLUMNS).order_by(DecisionRecord.seq.desc()).limit(limit + 1)
    if start:
        q = q.where(DecisionRecord.created_at >= _parse_time(start, "from"))
    if end:
        q = q.where(DecisionRecord.created_at < _parse_time(end, "to", end=True)
                    if len(end) == 10 else DecisionRecord.created_at <= _parse_time(end, "to"))
    if status:
        q = q.where(DecisionRecord.status == status)
    if digest:
        q = q.where(DecisionRecord.digest == digest)
    if order_id:
        q = q.where(DecisionRecord.order_id == order_id)
    if rule:
        q = q.where(DecisionRecord.fired.contains(f" {rule} ", autoescape=True))
    before = cursor_seq(cursor)
    if before is not None:
        q = q.where(DecisionRecord.seq < before)
    with db.session() as s:
        rows = s.execute(q).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return {"items": [summary(r) for r in rows],
                "next_cursor": str(rows[-1].seq) if more and rows else None}


def get(db: Database, decision_id: str) -> str:
    """The logged record as JSON text (the request and decision embedded verbatim). Reads
    are audited by the service's door (api/audit.py), once per request."""
    with db.session() as s:
        r = s.scalars(select(DecisionRecord).where(DecisionRecord.id == decision_id)).first()
        if r is None:
            raise NotFound(f"no decision {decision_id!r}", code="DECISION_NOT_FOUND")
        head = summary(r)
        head["fired"] = r.fired.split()
        parts = [json.dumps(head)[:-1], ', "request": ', r.request or "null",
                 ', "decision": ', r.decision, "}"]
        return "".join(parts)
