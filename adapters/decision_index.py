"""Which stretches of the decision log a rule fired in: the console's decision search by rule
(`GET /v1/decisions?rule=`) over a large log without reading all of it.

The log keeps the rules a decision fired as text (`decisions.fired`, " pack/a pack/b "), so a
search by rule is a `LIKE` over every row: over 100,000 logged ACME decisions (6.5 kB each) a
rule that fired rarely or never took 0.5 to 1.1 s (bench/console_search.py). Here the log is
cut into buckets of `BUCKET` (16) consecutive decisions (by `seq`), and `decision_rule_buckets`
holds one row per (rule, bucket) the rule fired in. A search by rule visits only those
buckets, newest first, each a primary-key range of at most `BUCKET` rows.

The index follows the log without touching its writer (adapters/store_decisions.py), in the
background worker (adapters/worker.py; api/app.py lists the job): `catch_up` reads the
decisions after `decision_index_mark.seq` (at most `CATCH_UP` a round, only `seq` and
`fired`), adds their (rule, bucket) pairs and moves the mark, in one transaction that holds
the mark's row. Several service processes over one PostgreSQL: the row is claimed with
`FOR UPDATE SKIP LOCKED`, so one process indexes at a time and the others skip the round;
SQLite's write lock does the same. The mark moves only over consecutive seqs: a hole is a
decision whose transaction took its number and has not committed yet, and the mark waits
`HOLE_WAIT` seconds for it before it treats the hole as a number never used (a rollback).

A search never catches up. The decisions after the mark (the tail not yet indexed: a few
rounds' worth, or everything when no worker runs) are searched directly with the log's
`LIKE`, newest first, over at most `MAX_TAIL` consecutive seqs a page; a page that stops there
answers what it found with a cursor, so a lagging index costs pages, never a wrong or
unbounded answer. The buckets a search visits are read a batch (up to 64) per query.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import BigInteger, Column, Integer, String, Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from .db import Database
from .models import Base, DecisionRecord
from .store import Invalid
from .store_decisions import SUMMARY_COLUMNS as COLUMNS

BUCKET = 16
CATCH_UP = 50_000       # decisions indexed by one round of the worker
MAX_BUCKETS = 1_000     # buckets one search visits before it answers with a cursor
MAX_TAIL = 10_000       # seqs after the mark one page searches before it answers
HOLE_WAIT = 10.0        # seconds the mark waits at a seq not (yet) committed
BIG = BigInteger().with_variant(Integer, "sqlite")

rule_buckets = Table(
    "decision_rule_buckets", Base.metadata,
    Column("rule", String(200), primary_key=True),
    Column("bucket", BIG, primary_key=True, autoincrement=False),
)
index_mark = Table(
    "decision_index_mark", Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BIG, nullable=False),
)


def _mark(s: Any) -> int:
    row = s.execute(select(index_mark.c.seq).where(index_mark.c.id == 1)).first()
    return 0 if row is None else int(row[0])


def _ensure_mark(db: Database) -> None:
    with db.session() as s:
        if s.execute(select(index_mark.c.id).where(index_mark.c.id == 1)).first() is not None:
            return
    try:
        with db.session(write=True) as s:
            s.execute(insert(index_mark), [{"id": 1, "seq": 0}])
    except IntegrityError:  # another process made it first
        pass


def _claim(db: Database, s: Any) -> int | None:
    """The mark, its row locked for this transaction; None when another process holds it."""
    q = select(index_mark.c.seq).where(index_mark.c.id == 1)
    if not db.is_sqlite:  # SQLite: the write session already holds the database's lock
        q = q.with_for_update(skip_locked=True)
    row = s.execute(q).first()
    return None if row is None else int(row[0])


_holes: dict[int, float] = {}  # first seq of a hole -> when this process first saw it


def _settled(mark: int, seqs: list[int], now: float) -> int:
    """How far the mark may move over `seqs` (ascending, all after `mark`): through every
    consecutive seq, and over a hole once it has been open `HOLE_WAIT` seconds."""
    top = mark
    for seq in seqs:
        if seq != top + 1:
            seen = _holes.setdefault(top + 1, now)
            if now - seen < HOLE_WAIT:
                break
            _holes.pop(top + 1, None)
        top = seq
    for first in [h for h in _holes if h <= top]:
        del _holes[first]
    return top


def catch_up(db: Database, max_rows: int | None = None) -> dict[str, Any]:
    """The worker's job: index up to `max_rows` (default `CATCH_UP`) decisions after the
    mark and move it. Answers `indexed` (decisions read) and `claimed` (False: another
    process held the mark this round)."""
    _ensure_mark(db)
    with db.session() as s:  # nothing new: no write lock taken (SQLite's is the file's)
        if s.execute(select(DecisionRecord.seq).where(DecisionRecord.seq > _mark(s))
                     .limit(1)).first() is None:
            return {"indexed": 0, "claimed": True}
    with db.session(write=True) as s:
        mark = _claim(db, s)
        if mark is None:
            return {"indexed": 0, "claimed": False}
        rows = s.execute(select(DecisionRecord.seq, DecisionRecord.fired)
                         .where(DecisionRecord.seq > mark).order_by(DecisionRecord.seq)
                         .limit(max_rows or CATCH_UP)).all()
        if not rows:
            return {"indexed": 0, "claimed": True}
        pairs: set[tuple[str, int]] = set()
        for seq, fired in rows:
            bucket = int(seq) // BUCKET
            for rule in (fired or "").split()[:10_000]:
                if len(rule) <= 200:
                    pairs.add((rule, bucket))
        buckets = sorted({b for _, b in pairs})
        have: set[tuple[str, int]] = set()
        for i in range(0, len(buckets), 500):
            part = buckets[i:i + 500]
            have.update((r, int(b)) for r, b in s.execute(
                select(rule_buckets.c.rule, rule_buckets.c.bucket)
                .where(rule_buckets.c.bucket.in_(part))))
        new = [{"rule": r, "bucket": b} for r, b in sorted(pairs - have)]
        if new:
            s.execute(insert(rule_buckets), new)
        top = _settled(mark, [int(r[0]) for r in rows], time.monotonic())
        if top > mark:
            s.execute(update(index_mark).where(index_mark.c.id == 1).values(seq=top))
    return {"indexed": len(rows), "claimed": True}


def mark(db: Database) -> int:
    """How far the index has read the log (the last seq it holds)."""
    with db.session() as s:
        return _mark(s)


def _range(lo: int, hi: int | None) -> Any:
    """The decisions with lo <= seq < hi, newest first: a primary-key range, the one plan
    that never reads more than the range on either database (a filter on an indexed column
    beside it can make the planner walk that column's index instead)."""
    q = select(*COLUMNS, DecisionRecord.fired).where(DecisionRecord.seq >= lo)
    if hi is not None:
        q = q.where(DecisionRecord.seq < hi)
    return q.order_by(DecisionRecord.seq.desc())


def search_by_rule(db: Database, keep: Callable[[Any], bool], rule: str, before: int | None,
                   limit: int) -> tuple[list[Any], str | None]:
    """The decisions that fired `rule` and pass `keep` (the other filters), newest first,
    from the tail after the index's mark and then the rule's buckets; the rows and the next
    cursor (a seq) when there may be more."""
    with db.session() as s:
        mark = _mark(s)  # never caught up here: the worker does (see the docstring)
    needle = f" {rule} "
    found: list[Any] = []

    def take(rows: Any) -> bool:
        for row in rows:
            if needle in (row.fired or "") and keep(row):
                found.append(row)
                if len(found) > limit:
                    return True
        return False

    with db.session() as s:
        if before is None or before > mark + 1:  # the tail not yet indexed, read directly:
            top = before if before is not None else _last(s) + 1  # at most MAX_TAIL seqs of
            low = max(mark + 1, top - MAX_TAIL)                   # it, the LIKE in SQL
            tail = _range(low, top).where(DecisionRecord.fired.contains(needle, autoescape=True))
            if take(s.execute(tail.execution_options(yield_per=500))):
                return found[:limit], str(found[limit - 1].seq)
            if low > mark + 1:  # a lagging index: the page stops there, the cursor goes on
                return found, str(low)
        ceiling = mark + 1 if before is None else min(before, mark + 1)
        visited, batch = 0, 1
        while visited < MAX_BUCKETS:  # 1, 2, 4, ... 64 buckets a query: a common rule
            buckets = [int(b) for (b,) in s.execute(  # is found in the first, a rare one
                select(rule_buckets.c.bucket)         # in a few queries
                .where(rule_buckets.c.rule == rule,
                       rule_buckets.c.bucket <= (ceiling - 1) // BUCKET)
                .order_by(rule_buckets.c.bucket.desc())
                .limit(min(batch, MAX_BUCKETS - visited)))]
            batch = min(batch * 2, 64)
            if not buckets:
                return found, None
            visited += len(buckets)
            # the batch's buckets in one query: their seqs listed (a primary-key lookup each;
            # an OR of ranges made SQLite scan, 0.4 s -> 5.6 s for a rare rule)
            seqs = [q for b in buckets for q in range(b * BUCKET, min(b * BUCKET + BUCKET,
                                                                      ceiling))]
            rows = s.execute(select(*COLUMNS, DecisionRecord.fired)
                             .where(DecisionRecord.seq.in_(seqs))
                             .order_by(DecisionRecord.seq.desc()))
            if take(rows):
                return found[:limit], str(found[limit - 1].seq)
            ceiling = buckets[-1] * BUCKET
        # the visit's limit: answer what was found, and where to go on from
        return found, str(ceiling) if ceiling > 0 else None


def _last(s: Any) -> int:
    return int(s.execute(select(func.max(DecisionRecord.seq))).scalar() or 0)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _keep(start: datetime | None, end: datetime | None, end_inclusive: bool,
          equal: dict[str, str]) -> Callable[[Any], bool]:
    def keep(row: Any) -> bool:
        if any(getattr(row, k) != v for k, v in equal.items()):
            return False
        at = _aware(row.created_at)
        if start is not None and at < start:
            return False
        if end is not None and (at > end if end_inclusive else at >= end):
            return False
        return True
    return keep


def search(db: Database, *, start: str | None = None, end: str | None = None,
           status: str | None = None, rule: str | None = None, digest: str | None = None,
           order_id: str | None = None, cursor: str | None = None,
           limit: int = 50) -> dict[str, Any]:
    """The log's search (`GET /v1/decisions`: same filters, same cursor, newest first), by
    rule through the index; without a rule, or within one order's few decisions (the log's
    own index on order_id), the log's query (adapters/store_decisions.py)."""
    from .store_decisions import _parse_time, cursor_seq, query, summary

    if not rule or order_id:
        return query(db, start=start, end=end, status=status, rule=rule, digest=digest,
                     order_id=order_id, cursor=cursor, limit=limit)
    if len(rule) > 200 or any(c.isspace() for c in rule):
        raise Invalid("rule is a pack/rule id (no spaces, at most 200 characters)",
                      code="BAD_QUERY", path="rule")
    before = cursor_seq(cursor)
    equal = {k: v for k, v in (("status", status), ("digest", digest)) if v}
    keep = _keep(_aware(_parse_time(start, "from")) if start else None,
                 _aware(_parse_time(end, "to", end=len(end) == 10)) if end else None,
                 bool(end) and len(end or "") != 10, equal)
    rows, next_cursor = search_by_rule(db, keep, rule, before, limit)
    return {"items": [summary(r) for r in rows], "next_cursor": next_cursor}
