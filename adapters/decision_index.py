"""Which stretches of the decision log a rule fired in: the console's decision search by rule
(`GET /v1/decisions?rule=`) over a large log without reading all of it.

The log keeps the rules a decision fired as text (`decisions.fired`, " pack/a pack/b "), so a
search by rule is a `LIKE` over every row: over 100,000 logged ACME decisions (6.5 kB each) a
rule that fired rarely or never took 0.5 to 1.1 s (bench/console_search.py). Here the log is
cut into buckets of `BUCKET` (16) consecutive decisions (by `seq`), and `decision_rule_buckets`
holds one row per (rule, bucket) the rule fired in. A search by rule visits only those
buckets, newest first, each a primary-key range of at most `BUCKET` rows.

The index follows the log without touching its writer (adapters/store_decisions.py):
`catch_up` reads the decisions after `decision_index_mark.seq` (at most `CATCH_UP` of them per
call, only `seq` and `fired`) and adds their (rule, bucket) pairs. Adding a pair twice is
harmless, so two instances catching up at once agree; the mark only moves forward. The
decisions after the mark (the tail not yet indexed, at most `CATCH_UP` after a call) are
searched with `LIKE` directly, so an answer never misses a decision.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import BigInteger, Column, Integer, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from .db import Database
from .models import Base, DecisionRecord
from .store import Invalid
from .store_decisions import SUMMARY_COLUMNS as COLUMNS

BUCKET = 16
CATCH_UP = 50_000       # decisions indexed by one call
MAX_BUCKETS = 1_000     # buckets one search visits before it answers with a cursor
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


def catch_up(db: Database, max_rows: int = CATCH_UP) -> int:
    """Index up to `max_rows` decisions after the mark; the new mark."""
    with db.session() as s:
        mark = _mark(s)
        rows = s.execute(select(DecisionRecord.seq, DecisionRecord.fired)
                         .where(DecisionRecord.seq > mark).order_by(DecisionRecord.seq)
                         .limit(max_rows)).all()
    if not rows:
        return mark
    pairs: set[tuple[str, int]] = set()
    for seq, fired in rows:
        bucket = int(seq) // BUCKET
        for rule in (fired or "").split()[:10_000]:
            if len(rule) <= 200:
                pairs.add((rule, bucket))
    top = int(rows[-1][0])
    buckets = sorted({b for _, b in pairs})
    with db.session(write=True) as s:
        have = set()
        for i in range(0, len(buckets), 500):
            part = buckets[i:i + 500]
            have.update((r, int(b)) for r, b in s.execute(
                select(rule_buckets.c.rule, rule_buckets.c.bucket)
                .where(rule_buckets.c.bucket.in_(part))))
        new = [{"rule": r, "bucket": b} for r, b in sorted(pairs - have)]
        if new:
            s.execute(insert(rule_buckets), new)
        if s.execute(update(index_mark).where(index_mark.c.id == 1, index_mark.c.seq < top)
                     .values(seq=top)).rowcount == 0 and _mark_missing(s):
            s.execute(insert(index_mark), [{"id": 1, "seq": top}])
    return top


def _mark_missing(s: Any) -> bool:
    return s.execute(select(index_mark.c.id).where(index_mark.c.id == 1)).first() is None


def caught_up(db: Database) -> int:
    """Catch up, tolerating another instance doing the same at the same moment."""
    try:
        return catch_up(db)
    except IntegrityError:  # it added the same pairs first: they are there
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
    mark = caught_up(db)
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
        if before is None or before > mark + 1:  # the tail not yet indexed, read directly
            if take(s.execute(_range(mark + 1, before).execution_options(yield_per=500))):
                return found[:limit], str(found[limit - 1].seq)
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
            for b in buckets:
                visited += 1
                lo = b * BUCKET
                if take(s.execute(_range(lo, min(lo + BUCKET, ceiling)))):
                    return found[:limit], str(found[limit - 1].seq)
                ceiling = lo
        # the visit's limit: answer what was found, and where to go on from
        return found, str(ceiling) if ceiling > 0 else None


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
