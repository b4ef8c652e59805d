"""Simulation jobs in the database: the repository behind `simulator/jobs.py`.

In: a `Database`; job fields, an uploaded order stream (a JSONL file), leases, progress, the
finished summary and report. Out: `JobRecord`s (frozen, without the large columns), the
summary and report bytes, the order stream written back to a file. Raises only the database's
errors; a change conditioned on a lease answers False when the caller no longer holds it.

The non-obvious choices:
- Every change a running job makes (start, progress, finish, fail, renew) is conditioned on
  `leased_by` being the caller's own lease token, so an instance that was too slow and lost
  its job to another can never overwrite what the new holder writes.
- `claim` takes the oldest job that nobody holds (no lease, or an expired one) with
  `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL (as the webhook outbox does), so two
  instances' workers never claim the same job; on SQLite the write transaction is the lock.
- The order stream and the results are stored zlib-compressed; the stream in pieces of
  CHUNK_BYTES, read and written one piece at a time, so neither side holds it whole.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select, update

from .clock import utc
from .models_simulations import SimulationJob, SimulationOrderChunk

CHUNK_BYTES = 4 * 1024 * 1024
ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled")


@dataclass(frozen=True)
class JobRecord:
    id: str
    state: str
    baseline: str
    candidate: str
    baseline_ref: str
    candidate_ref: str
    options: dict[str, Any]
    started_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    leased_by: str | None
    leased_until: datetime | None
    attempts: int
    orders_done: int
    orders_total: int | None
    bytes_done: int
    bytes_total: int | None
    error: str | None


_COLUMNS = [getattr(SimulationJob, name) for name in JobRecord.__dataclass_fields__]


def _record(row: Any) -> JobRecord:
    values = dict(zip(JobRecord.__dataclass_fields__, row))
    values["options"] = json.loads(values["options"])
    for name in ("created_at", "started_at", "finished_at", "leased_until"):
        if values[name] is not None:
            values[name] = utc(values[name])
    return JobRecord(**values)


class SimulationStore:
    def __init__(self, db: Any):
        self.db = db

    # -- accepting and reading ------------------------------------------------------------

    def create(self, *, id: str, baseline: str, candidate: str, baseline_ref: str,
               candidate_ref: str, options: dict[str, Any], started_by: str, now: datetime,
               leased_by: str, leased_until: datetime, orders: Path | None = None,
               orders_total: int | None = None) -> JobRecord:
        """A queued job held by `leased_by` (attempt 1), with its uploaded orders (the JSONL
        file `orders`, stored in compressed pieces), all in one transaction."""
        with self.db.session(write=True) as s:
            s.add(SimulationJob(
                id=id, state="queued", baseline=baseline, candidate=candidate,
                baseline_ref=baseline_ref, candidate_ref=candidate_ref,
                options=json.dumps(options, sort_keys=True), started_by=started_by,
                created_at=now, leased_by=leased_by, leased_until=leased_until, attempts=1,
                orders_done=0, orders_total=orders_total, bytes_done=0,
                bytes_total=orders.stat().st_size if orders is not None else None))
            s.flush()
            if orders is not None:
                with orders.open("rb") as f:
                    seq = 0
                    while piece := f.read(CHUNK_BYTES):
                        s.add(SimulationOrderChunk(job_id=id, seq=seq,
                                                   data=zlib.compress(piece, 6)))
                        s.flush()
                        s.expunge_all()  # one piece in memory at a time
                        seq += 1
            row = s.execute(select(*_COLUMNS).where(SimulationJob.id == id)).one()
            return _record(row)

    def get(self, job_id: str) -> JobRecord | None:
        with self.db.session() as s:
            row = s.execute(select(*_COLUMNS).where(SimulationJob.id == job_id)).first()
            return _record(row) if row is not None else None

    def listing(self, limit: int = 100, state: str | None = None) -> list[JobRecord]:
        """The newest jobs first."""
        q = select(*_COLUMNS)
        if state is not None:
            q = q.where(SimulationJob.state == state)
        with self.db.session() as s:
            return [_record(row) for row in s.execute(
                q.order_by(SimulationJob.created_at.desc(), SimulationJob.id).limit(limit))]

    def result(self, job_id: str, which: str) -> bytes | None:
        """The finished job's `summary` (JSON) or `report` (HTML), decompressed."""
        column = {"summary": SimulationJob.summary, "report": SimulationJob.report}[which]
        with self.db.session() as s:
            data = s.scalar(select(column).where(SimulationJob.id == job_id))
        return zlib.decompress(data) if data is not None else None

    def delete(self, job_id: str) -> str | None:
        """Removes a finished job (done, failed or cancelled: its state is returned); a queued or
        running one is left alone (its state is returned); None when there is no such job."""
        with self.db.session(write=True) as s:
            state = s.scalar(select(SimulationJob.state).where(SimulationJob.id == job_id)
                             .with_for_update())
            if state in FINISHED:
                s.execute(delete(SimulationOrderChunk)
                          .where(SimulationOrderChunk.job_id == job_id))
                s.execute(delete(SimulationJob).where(SimulationJob.id == job_id))
            return state

    def cancel(self, job_id: str, now: datetime) -> str | None:
        """Cancels a queued or running job: its lease and orders go, so its holder stops at
        its next write. The state the job had is returned (None: no such job); a finished
        job is left as it is."""
        with self.db.session(write=True) as s:
            state = s.scalar(select(SimulationJob.state).where(SimulationJob.id == job_id)
                             .with_for_update())
            if state in ACTIVE:
                s.execute(update(SimulationJob).where(SimulationJob.id == job_id).values(
                    state="cancelled", finished_at=now, leased_by=None, leased_until=None))
                s.execute(delete(SimulationOrderChunk)
                          .where(SimulationOrderChunk.job_id == job_id))
            return state

    def orders_to(self, job_id: str, path: Path) -> int:
        """Writes the job's uploaded order stream to `path`; its size in bytes."""
        size = 0
        with path.open("wb") as out, self.db.session() as s:
            seqs = list(s.scalars(select(SimulationOrderChunk.seq).where(
                SimulationOrderChunk.job_id == job_id).order_by(SimulationOrderChunk.seq)))
            for seq in seqs:
                data = s.scalar(select(SimulationOrderChunk.data).where(
                    SimulationOrderChunk.job_id == job_id, SimulationOrderChunk.seq == seq))
                piece = zlib.decompress(data)
                out.write(piece)
                size += len(piece)
        return size

    # -- leases ---------------------------------------------------------------------------

    def _held(self, s: Any, job_id: str, lease: str, **values: Any) -> bool:
        done = s.execute(update(SimulationJob).where(
            SimulationJob.id == job_id, SimulationJob.leased_by == lease,
            SimulationJob.state.in_(ACTIVE)).values(**values))
        return bool(done.rowcount)

    def renew(self, job_id: str, lease: str, until: datetime) -> bool:
        with self.db.session(write=True) as s:
            return self._held(s, job_id, lease, leased_until=until)

    def start(self, job_id: str, lease: str, now: datetime, until: datetime) -> bool:
        """Marks the job running from `now` (progress back to zero: a restart starts over)."""
        with self.db.session(write=True) as s:
            return self._held(s, job_id, lease, state="running", started_at=now,
                              leased_until=until, orders_done=0, bytes_done=0)

    def progress(self, job_id: str, lease: str, until: datetime, *, orders_done: int,
                 bytes_done: int, bytes_total: int | None = None,
                 orders_total: int | None = None) -> bool:
        values: dict[str, Any] = {"leased_until": until, "orders_done": orders_done,
                                  "bytes_done": bytes_done}
        if bytes_total is not None:
            values["bytes_total"] = bytes_total
        if orders_total is not None:
            values["orders_total"] = orders_total
        with self.db.session(write=True) as s:
            return self._held(s, job_id, lease, **values)

    def finish(self, job_id: str, lease: str, now: datetime, summary: bytes,
               report: bytes, *, orders_done: int, bytes_done: int) -> bool:
        """Done: the summary and report kept compressed, the lease and the orders dropped."""
        with self.db.session(write=True) as s:
            ok = self._held(s, job_id, lease, state="done", finished_at=now, leased_by=None,
                            leased_until=None, summary=zlib.compress(summary, 6),
                            report=zlib.compress(report, 6), orders_done=orders_done,
                            bytes_done=bytes_done)
            if ok:
                s.execute(delete(SimulationOrderChunk)
                          .where(SimulationOrderChunk.job_id == job_id))
            return ok

    def fail(self, job_id: str, lease: str | None, now: datetime, error: str) -> bool:
        """Failed with `error`; `lease` is the holder's token (None: a job nobody holds any
        more, whose lease ran out)."""
        with self.db.session(write=True) as s:
            if lease is None:
                done = s.execute(update(SimulationJob).where(
                    SimulationJob.id == job_id, SimulationJob.state.in_(ACTIVE),
                    or_(SimulationJob.leased_until.is_(None),
                        SimulationJob.leased_until < now)).values(
                    state="failed", finished_at=now, error=error, leased_by=None,
                    leased_until=None))
                ok = bool(done.rowcount)
            else:
                ok = self._held(s, job_id, lease, state="failed", finished_at=now,
                                error=error, leased_by=None, leased_until=None)
            if ok:
                s.execute(delete(SimulationOrderChunk)
                          .where(SimulationOrderChunk.job_id == job_id))
            return ok

    def _due(self, now: datetime) -> Any:
        return (SimulationJob.state.in_(ACTIVE),
                or_(SimulationJob.leased_until.is_(None), SimulationJob.leased_until < now))

    def any_due(self, now: datetime) -> bool:
        """Whether some queued or running job is held by nobody (one cheap query: most
        worker rounds find none)."""
        with self.db.session() as s:
            return s.scalar(select(SimulationJob.id).where(*self._due(now)).limit(1)) \
                is not None

    def exhausted(self, now: datetime, max_attempts: int, limit: int = 20) -> list[JobRecord]:
        """Jobs nobody holds that have already been tried `max_attempts` times."""
        with self.db.session() as s:
            return [_record(row) for row in s.execute(
                select(*_COLUMNS).where(*self._due(now),
                                        SimulationJob.attempts >= max_attempts)
                .order_by(SimulationJob.created_at).limit(limit))]

    def claim(self, now: datetime, lease: str, until: datetime,
              max_attempts: int) -> JobRecord | None:
        """The oldest job nobody holds and tried fewer than `max_attempts` times, now held
        by `lease` until `until` (its attempts counted, back to queued); None if there is none."""
        with self.db.session(write=True) as s:
            job_id = s.scalar(select(SimulationJob.id).where(
                *self._due(now), SimulationJob.attempts < max_attempts)
                .order_by(SimulationJob.created_at).limit(1)
                .with_for_update(skip_locked=True))
            if job_id is None:
                return None
            s.execute(update(SimulationJob).where(SimulationJob.id == job_id).values(
                leased_by=lease, leased_until=until, state="queued",
                attempts=SimulationJob.attempts + 1))
        return self.get(job_id)
