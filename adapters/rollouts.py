"""Shadows and rollouts in the database: start, end, count, read (models in models_rollout.py).

In: the database, a rollout's fields, the records a worker made of claimed decisions. Out: the
rollout as JSON, its tallies per side (engine/rollout.Tally), a shadow's stored pairs. Ending
is one conditional UPDATE (`WHERE state = 'running'`): with several processes checking the
same rollout, exactly one ends it, and that one writes the audit entry and the webhook message
(topic `rollout`) in the same transaction, so each end is reported once. Raises NotFound and
Conflict (adapters/store.py).

The work (migration 0111): a live decision that running shadows or rollouts count carries
it on its own decision record, `pending` (`pending_text`: the rollout, side and day of each),
written by the record's one INSERT (the decision log's batch for POST /v1/decisions, the hub's
transaction for an order): no second statement on the request path, and work exists exactly
when its decision does. A worker `claim`s decisions with pending work and a free lease (the
partial index `ix_decisions_pending`; FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite the
claim runs under the database's write lock, which serialises claims), one `Claimed` per tag,
decides off any transaction, then `finish`es: in one transaction it clears `pending` and the
lease of the decisions it still holds and inserts their records. A decision whose lease ran
out (its worker died or stalled) is claimed again by the next worker; the stalled one then
holds it no more, so its `finish` neither clears it nor stores its records: every tag gives
exactly one record.
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

from sqlalchemy import func, insert, or_, select, update

from ordinance.engine.rollout import Plan, Tally, plan_json, plan_of

from .clock import utc
from .models import AuditEntry, DecisionRecord
from .models_orchestration import OutboxMessage
from .models_rollout import Rollout, RolloutRecord
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
    decision it counts (the claimed one's)."""
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


# --- the work on the decision records (migration 0111) -------------------------------------

Tag = tuple[str, str, date]   # (rollout id, side, the door's date when it was decided)


def pending_text(tags: Iterable[Tag] | None) -> str | None:
    """A decision record's `pending`: compact JSON `[[rollout_id, side, today], ...]`, None
    when there is nothing to count (the record is written as without any rollout)."""
    if not tags:
        return None
    return json.dumps([[rid, side, today.isoformat()] for rid, side, today in tags],
                      separators=(",", ":"))


def _tags(text: str) -> list[tuple[str, str, date | None]]:
    """The tags of a `pending` text; an unreadable one gives one tag of no rollout (the
    worker counts nothing for it and clears it: one bad row never blocks the others)."""
    try:
        out = []
        for rid, side, today in json.loads(text):
            out.append((str(rid), str(side), date.fromisoformat(today)))
        return out
    except (ValueError, TypeError):
        return [("", "", None)]


@dataclass(frozen=True)
class Claimed:
    """One tag of a claimed decision: what one rollout must count of it."""
    id: tuple[int, int]       # (the decision's seq, the tag's place in its `pending`)
    rollout_id: str
    side: str
    kind: str                 # the record's: decide | validate | price | order (the hub)
    decision_id: str
    order_id: str
    today: date | None
    request: str | None       # the decision record's request text
    decision: str | None      # its answer (JSON text)

    @property
    def seq(self) -> int:
        return self.id[0]


_PENDING = DecisionRecord.pending.is_not(None)  # the partial index's predicate


def _free(now: datetime) -> Any:
    return or_(DecisionRecord.claimed_until.is_(None), DecisionRecord.claimed_until < now)


def claim(db: Any, token: str, now: datetime, limit: int) -> list[Claimed]:
    """Leases up to `limit` decisions with pending work nobody holds (never claimed, or whose
    lease ran out) to `token` for LEASE_SECONDS, oldest first; one Claimed per tag."""
    now = utc(now)
    with db.session() as s:  # most rounds find nothing: no write lock for them
        if s.scalars(select(DecisionRecord.seq).where(_PENDING, _free(now)).limit(1)
                     ).first() is None:
            return []
    with db.session(write=True) as s:
        seqs = list(s.scalars(select(DecisionRecord.seq).where(_PENDING, _free(now))
                              .order_by(DecisionRecord.seq).limit(limit)
                              .with_for_update(skip_locked=True)))
        if not seqs:
            return []
        s.execute(update(DecisionRecord)
                  .where(DecisionRecord.seq.in_(seqs), _PENDING, _free(now))
                  .values(claim=token, claimed_until=now + timedelta(seconds=LEASE_SECONDS)))
    with db.session() as s:
        rows = s.execute(select(DecisionRecord.seq, DecisionRecord.id, DecisionRecord.kind,
                                DecisionRecord.order_id, DecisionRecord.pending,
                                DecisionRecord.request, DecisionRecord.decision)
                         .where(DecisionRecord.seq.in_(seqs), DecisionRecord.claim == token,
                                _PENDING)
                         .order_by(DecisionRecord.seq)).all()
    return [Claimed((seq, n), rid, side, kind, did, oid or "", today, request, decision)
            for seq, did, kind, oid, pending, request, decision in rows
            for n, (rid, side, today) in enumerate(_tags(pending))]


def finish(db: Any, token: str, results: dict[tuple[int, int], dict[str, Any] | None]
           ) -> tuple[int, int]:
    """For the decisions `token` still holds (`results` has every tag of each): clears their
    pending work and lease and stores the record of each tag (None: nothing to store), in
    one transaction. Decisions another worker claimed meanwhile (the lease ran out) are its
    to finish. Returns (tags finished, records stored)."""
    if not results:
        return 0, 0
    seqs = sorted({seq for seq, _ in results})
    with db.session(write=True) as s:
        held = set(s.scalars(select(DecisionRecord.seq).where(
            DecisionRecord.claim == token, DecisionRecord.seq.in_(seqs))
            .with_for_update()))
        if not held:
            return 0, 0
        s.execute(update(DecisionRecord)
                  .where(DecisionRecord.seq.in_(sorted(held)), DecisionRecord.claim == token)
                  .values(pending=None, claim=None, claimed_until=None))
        done = sorted(k for k in results if k[0] in held)
        records = [r for r in (results[k] for k in done) if r is not None]
        if records:
            s.execute(insert(RolloutRecord), records)
        return len(done), len(records)


def queue_depth(db: Any) -> int:
    """Tags waiting (claimed or not): the work the worker has yet to count."""
    with db.session() as s:
        return sum(len(_tags(p)) for p in s.scalars(
            select(DecisionRecord.pending).where(_PENDING)))
