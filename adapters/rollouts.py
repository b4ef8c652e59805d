"""Shadows and rollouts in the database: start, end, count, read (models in models_rollout.py).

In: the database, a rollout's fields, batches of records from a process's queue. Out: the
rollout as JSON, its tallies per side (engine/rollout.Tally), a shadow's stored pairs. Ending
is one conditional UPDATE (`WHERE state = 'running'`): with several processes checking the
same rollout, exactly one ends it, and that one writes the audit entry and the webhook message
(topic `rollout`) in the same transaction, so each end is reported once. Raises NotFound and
Conflict (adapters/store.py).

The queue (`rollout_queue`, migration 0110): the request path appends its rows inside the
transaction that writes the decision record (`enqueue_in`; the decision log's batch for
POST /v1/decisions, the hub's transaction for an order), so a row exists exactly when its
decision does. A worker `claim`s rows with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL; on
SQLite the claim runs under the database's write lock, which serialises claims), decides off
any transaction, then `finish`es: in one transaction it deletes the rows it still holds and
inserts their records. A row whose lease ran out (its worker died or stalled) is claimed again
by the next worker; the stalled one then holds it no more, so its `finish` neither deletes it
nor stores its record: every row gives exactly one record.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
import zlib
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update

from ordinance.engine.rollout import Plan, Tally, plan_json, plan_of

from .clock import utc
from .models import AuditEntry, DecisionRecord
from .models_orchestration import OutboxMessage
from .models_rollout import Rollout, RolloutQueued, RolloutRecord
from .store import Conflict, NotFound
from .store_rulesets import activate_in
from .webhooks import active_subscriptions

MAX_TALLY_ROWS = 200_000   # records a tally reads per side (the latest)
MAX_PAIRS = 5_000          # shadow pairs a summary reads (the latest)
LEASE_SECONDS = 60         # a claimed queue row is another worker's after this


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def to_json(row: Rollout) -> dict[str, Any]:
    return {"id": row.id, "mode": row.mode, "state": row.state,
            "candidate": row.candidate_ref, "active": row.active_ref,
            "plan": json.loads(row.plan), "started_by": row.started_by,
            "started_at": _iso(row.started_at), "ended_at": _iso(row.ended_at),
            "ended_by": row.ended_by, "reason": json.loads(row.reason) if row.reason else None}


def new_id() -> str:
    return "ro_" + uuid.uuid4().hex[:20]


def start(db: Any, rid: str, mode: str, candidate_ref: str, active_ref: str, plan: Plan,
          by: str, now: datetime) -> dict[str, Any]:
    """A new running shadow or rollout; Conflict when one of that mode already runs."""
    with db.session(write=True) as s:
        running = s.execute(select(Rollout.id).where(Rollout.state == "running",
                                                     Rollout.mode == mode)).first()
        if running is not None:
            raise Conflict(f"{mode} {running[0]} is running: stop it first",
                           code="ROLLOUT_RUNNING")
        row = Rollout(id=rid, mode=mode, state="running", candidate_ref=candidate_ref,
                      active_ref=active_ref, plan=json.dumps(plan_json(plan)), started_by=by,
                      started_at=now)
        s.add(row)
        s.flush()
        return to_json(row)


def running(db: Any) -> list[tuple[str, str, str, Plan]]:
    """(id, mode, candidate_ref, plan) of each running shadow and rollout."""
    with db.session() as s:
        rows = s.execute(select(Rollout.id, Rollout.mode, Rollout.candidate_ref, Rollout.plan)
                         .where(Rollout.state == "running").order_by(Rollout.started_at)).all()
    return [(rid, mode, ref, plan_of(rid, json.loads(plan))) for rid, mode, ref, plan in rows]


def get(db: Any, rid: str) -> dict[str, Any]:
    with db.session() as s:
        row = s.get(Rollout, rid)
        if row is None:
            raise NotFound(f"no rollout {rid}", code="NOT_FOUND")
        return to_json(row)


def list_all(db: Any, limit: int = 100) -> list[dict[str, Any]]:
    with db.session() as s:
        rows = s.execute(select(Rollout).order_by(Rollout.started_at.desc()).limit(limit))
        return [to_json(r) for (r,) in rows]


def end(db: Any, rid: str, state: str, by: str, key_id: int | None, reason: dict[str, Any],
        now: datetime) -> dict[str, Any] | None:
    """Ends a running rollout (`stopped`, `rolled_back`, `promoted`); None when it was no
    longer running (another process or person ended it first). The audit entry, the webhook
    message and, when promoted, the candidate's activation are written in the same
    transaction."""
    with db.session(write=True) as s:
        done = s.execute(update(Rollout).where(Rollout.id == rid, Rollout.state == "running")
                         .values(state=state, ended_at=now, ended_by=by,
                                 reason=json.dumps(reason, default=str)))
        if done.rowcount != 1:
            return None
        row = s.get(Rollout, rid)
        if state == "promoted":  # the candidate becomes active in the same transaction
            name, _, digest = row.candidate_ref.partition("@")
            activate_in(s, db, name, digest, by)
        out = to_json(row)
        s.add(AuditEntry(at=now, key_id=key_id, key_name=by[:200], action=f"rollout_{state}",
                         order_id=None, decision_id=None,
                         detail=json.dumps({"rollout": rid, "candidate": row.candidate_ref,
                                            "reason": reason}, default=str)))
        payload = json.dumps({"kind": f"rollout_{state}", "rollout": out}, default=str,
                             separators=(",", ":"))
        for sid, topics in active_subscriptions(s):
            if "rollout" in topics:
                s.add(OutboxMessage(subscription_id=sid, topic="rollout", payload=payload,
                                    state="pending", attempts=0, next_attempt_at=now))
        return out


def add_records(db: Any, records: Iterable[dict[str, Any]]) -> int:
    rows = list(records)
    if rows:
        with db.session(write=True) as s:
            s.execute(insert(RolloutRecord), rows)
    return len(rows)


def record(rid: str, side: str, order_id: str, at: datetime, decision: dict[str, Any],
           margin: Decimal | None = None, pair: dict[str, Any] | None = None,
           changed: bool = False, decision_id: str | None = None) -> dict[str, Any]:
    """One record's row from a decision's JSON (SPEC section 6); `decision_id`: the live
    decision it counts (the queue row's)."""
    pricing = decision.get("pricing") or {}
    total = pricing.get("total")
    return {"rollout_id": rid, "side": side, "order_id": order_id[:200], "at": at,
            "decision_id": decision_id,
            "status": str(decision.get("status"))[:20],
            "currency": (pricing.get("currency") or None) if total is not None else None,
            "revenue": None if total is None else str(total),
            "margin": None if margin is None else str(margin), "changed": int(changed),
            "pair": None if pair is None else zlib.compress(
                json.dumps(pair, default=str).encode())}


def tallies(db: Any, rid: str) -> dict[str, Tally]:
    """Each side's tally (the latest MAX_TALLY_ROWS records of each)."""
    out: dict[str, Tally] = {}
    with db.session() as s:
        for side in ("active", "candidate"):
            tally = out[side] = Tally()
            rows = s.execute(select(RolloutRecord.status, RolloutRecord.currency,
                                    RolloutRecord.revenue, RolloutRecord.margin)
                             .where(RolloutRecord.rollout_id == rid,
                                    RolloutRecord.side == side)
                             .order_by(RolloutRecord.id.desc()).limit(MAX_TALLY_ROWS))
            for status, currency, revenue, margin in rows:
                tally.add(status, currency, None if revenue is None else Decimal(revenue),
                          None if margin is None else Decimal(margin))
    return out


def pairs(db: Any, rid: str) -> tuple[int, int, list[dict[str, Any]]]:
    """(pairs recorded, pairs changed, the latest MAX_PAIRS pairs oldest first)."""
    with db.session() as s:
        total, changed = s.execute(
            select(func.count(), func.coalesce(func.sum(RolloutRecord.changed), 0))
            .where(RolloutRecord.rollout_id == rid, RolloutRecord.side == "shadow")).one()
        rows = s.execute(select(RolloutRecord.pair).where(
            RolloutRecord.rollout_id == rid, RolloutRecord.side == "shadow")
            .order_by(RolloutRecord.id.desc()).limit(MAX_PAIRS)).all()
    return int(total), int(changed), [json.loads(zlib.decompress(p)) for (p,) in reversed(rows)
                                      if p is not None]


# --- the queue (migration 0110) -------------------------------------------------------------

def queue_row(rid: str, side: str, kind: str, decision_id: str, order_id: str, today: date,
              now: datetime) -> dict[str, Any]:
    """One queue row: the work a live decision leaves for the worker of a running rollout."""
    return {"rollout_id": rid, "side": side, "kind": kind, "decision_id": decision_id,
            "order_id": order_id.replace("\x00", "")[:200], "today": today, "queued_at": now,
            "claim": None, "claimed_until": None}


_QUEUE_COLUMNS = ("rollout_id", "side", "kind", "decision_id", "order_id", "today",
                  "queued_at")
_PG_CHUNK = 1_000  # rows per statement (7 parameters each, far under PostgreSQL's 65,535)


def enqueue_in(s: Any, rows: list[dict[str, Any]]) -> None:
    """Appends queue rows inside the caller's transaction (the decision record's).

    On PostgreSQL one multi-row INSERT at the driver (one round trip, no pipeline, no
    statement compiled by SQLAlchemy): it is on the request path, where it measured half
    the client CPU of the Core executemany. Elsewhere the Core executemany."""
    if not rows:
        return
    conn = s.connection()
    if conn.dialect.name != "postgresql":
        conn.execute(RolloutQueued.__table__.insert(), rows)
        return
    one = "(" + ", ".join(["%s"] * len(_QUEUE_COLUMNS)) + ")"
    head = f"INSERT INTO rollout_queue ({', '.join(_QUEUE_COLUMNS)}) VALUES "
    for i in range(0, len(rows), _PG_CHUNK):
        chunk = rows[i:i + _PG_CHUNK]
        conn.exec_driver_sql(head + ", ".join([one] * len(chunk)),
                             tuple(r[c] for r in chunk for c in _QUEUE_COLUMNS))


@dataclass(frozen=True)
class Claimed:
    id: int
    rollout_id: str
    side: str
    kind: str
    decision_id: str
    order_id: str
    today: date
    request: str | None       # the decision record's request text (None: no record)
    decision: str | None      # its answer (JSON text)


def _free(now: datetime) -> Any:
    return or_(RolloutQueued.claimed_until.is_(None), RolloutQueued.claimed_until < now)


def claim(db: Any, token: str, now: datetime, limit: int) -> list[Claimed]:
    """Leases up to `limit` rows nobody holds (never claimed, or whose lease ran out) to
    `token` for LEASE_SECONDS, oldest first, and reads each with its decision record."""
    now = utc(now)
    with db.session() as s:  # most rounds find nothing: no write lock for them
        if s.scalars(select(RolloutQueued.id).where(_free(now)).limit(1)).first() is None:
            return []
    with db.session(write=True) as s:
        ids = list(s.scalars(select(RolloutQueued.id).where(_free(now))
                             .order_by(RolloutQueued.id).limit(limit)
                             .with_for_update(skip_locked=True)))
        if not ids:
            return []
        s.execute(update(RolloutQueued).where(RolloutQueued.id.in_(ids), _free(now))
                  .values(claim=token, claimed_until=now + timedelta(seconds=LEASE_SECONDS)))
    with db.session() as s:
        rows = s.execute(select(RolloutQueued, DecisionRecord.request, DecisionRecord.decision)
                         .outerjoin(DecisionRecord,
                                    DecisionRecord.id == RolloutQueued.decision_id)
                         .where(RolloutQueued.claim == token)
                         .order_by(RolloutQueued.id)).all()
        return [Claimed(q.id, q.rollout_id, q.side, q.kind, q.decision_id, q.order_id,
                        q.today, request, decision) for q, request, decision in rows]


def finish(db: Any, token: str, results: dict[int, dict[str, Any] | None]) -> tuple[int, int]:
    """For the rows `token` still holds: deletes them and stores the record of each (None:
    nothing to store), in one transaction. Rows another worker claimed meanwhile (the lease
    ran out) are its to finish. Returns (rows finished, records stored)."""
    if not results:
        return 0, 0
    with db.session(write=True) as s:
        held = list(s.scalars(select(RolloutQueued.id).where(
            RolloutQueued.claim == token, RolloutQueued.id.in_(list(results)))
            .with_for_update()))
        if not held:
            return 0, 0
        s.execute(delete(RolloutQueued).where(RolloutQueued.id.in_(held),
                                              RolloutQueued.claim == token))
        records = [r for r in (results[i] for i in held) if r is not None]
        if records:
            s.execute(insert(RolloutRecord), records)
        return len(held), len(records)


def queue_depth(db: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(RolloutQueued)) or 0)
