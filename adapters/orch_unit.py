"""The unit of work of orchestration: a transaction's reads in a few queries, its changes in
memory, its writes in a few statements at the end (adapters/orchestration.py drives it).

Reads, at the start, for every order the transaction touches: the hub rows, the orchestration
rows (locked FOR UPDATE on PostgreSQL, in order-id order), the event records of the events' ids
(idempotency), the armed timers, the open alerts, the window entries still inside a window and
the invoice counts. Changes go to `OrderCtx` objects and to one `Work` buffer per event; an event
that fails is undone by restoring its order's snapshot and dropping its buffer (what a savepoint
did, without its round trips). The shared ledgers (stock per location and SKU, rebate periods,
invoice numbers) are locked last, each in key order, just before the writes: transactions of
parallel senders never deadlock on them and hold them only for their last few statements.
"""
from __future__ import annotations

import json
from functools import lru_cache
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import any_, bindparam, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from . import billing, inventory, rebates
from .clock import utc
from .models import Order
from .models_orchestration import (
    AlertRecord,
    DebitClaim,
    EventRecord,
    Invoice,
    OrderState,
    OutboxMessage,
    RebateAccrual,
    RebateEntry,
    ReorderProposal,
    StockLevel,
    TimelineEntry,
    Timer,
    WindowEntry,
)

ORDERS = OrderState.__table__
TIMERS = Timer.__table__
ALERTS = AlertRecord.__table__
WINDOWS = WindowEntry.__table__
STOCK = StockLevel.__table__
ACCRUALS = RebateAccrual.__table__
CHANGE_EVENTS = {"order_changed", "fulfilment_cancelled"}  # what a change order derives
CHUNK = 500  # ids per IN (...) list
SMALL = 8  # rows an INSERT takes in one round trip; more go by COPY (three round trips)
_RECORDS = text("SELECT r.order_id, r.event_id, r.payload_hash, r.result FROM orch_events r "
                "JOIN unnest(CAST(:o AS text[]), CAST(:e AS text[])) AS k(o, e) "
                "ON r.order_id = k.o AND r.event_id = k.e")


def _chunks(items: list[Any]) -> Any:
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


class OrderCtx:
    """An order's orchestration row, armed timers, open alerts and recent window entries, as
    the transaction changes them. `lines` and `holds` are parsed JSON; `plan` is never changed
    after the row is made."""

    __slots__ = ("order_id", "exists", "dirty", "state", "holds", "process", "plan", "lines",
                 "digest", "decision_id", "updated_at", "timers", "alerts", "windows",
                 "invoices", "billed")

    def __init__(self, order_id: str, state: str, holds: list[dict[str, Any]],
                 process: str | None, plan: list[dict[str, Any]], lines: dict[str, Any],
                 digest: str, decision_id: str, updated_at: datetime, exists: bool):
        self.order_id, self.state, self.holds, self.process = order_id, state, holds, process
        self.plan, self.lines, self.digest, self.decision_id = plan, lines, digest, decision_id
        self.updated_at, self.exists, self.dirty = updated_at, exists, not exists
        self.timers: list[dict[str, Any]] = []  # armed when loaded; dirty ones are written
        self.alerts: list[dict[str, Any]] = []  # open when loaded
        self.windows: dict[tuple[str, str], list[tuple[datetime, str]]] = {}
        self.invoices = 0
        self.billed = billing.new_billed()  # what the invoices so far billed (billing.py)

    @classmethod
    def from_row(cls, r: Any) -> OrderCtx:
        return cls(r.order_id, r.state, json.loads(r.holds), r.process, _plan(r.plan),
                   json.loads(r.lines), r.digest, r.decision_id, utc(r.updated_at), True)

    def snapshot(self) -> tuple[Any, ...]:
        return (self.state, list(self.holds), copy_lines(self.lines), self.decision_id,
                self.updated_at, self.dirty, [dict(t) for t in self.timers],
                [dict(a) for a in self.alerts],
                {k: list(v) for k, v in self.windows.items()}, self.invoices,
                billing.copy_billed(self.billed))

    def restore(self, snap: tuple[Any, ...]) -> None:
        (self.state, self.holds, self.lines, self.decision_id, self.updated_at, self.dirty,
         self.timers, self.alerts, self.windows, self.invoices, self.billed) = snap

    def row(self, dumps: Any) -> dict[str, Any]:
        return {"order_id": self.order_id, "state": self.state, "holds": dumps(self.holds),
                "process": self.process, "plan": dumps(self.plan), "lines": dumps(self.lines),
                "digest": self.digest, "decision_id": self.decision_id,
                "updated_at": self.updated_at}


@lru_cache(maxsize=256)
def _plan(text: str) -> Any:
    """A process plan (read only, and shared by the orders of one process and day)."""
    return json.loads(text)


def copy_lines(lines: dict[str, Any]) -> dict[str, Any]:
    return {k: {**v, "allocations": dict(v.get("allocations") or {})} for k, v in lines.items()}


class Work:
    """What one event (or tick, or release) wrote, kept apart until the transaction ends: an
    event that fails drops its Work and nothing of it is written."""

    __slots__ = ("order_id", "timeline", "notes", "effects", "errors", "invoices", "ledger",
                 "windows", "record", "answer")

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        self.timeline: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []
        self.effects: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.invoices: list[str] = []
        self.ledger: list[Any] = []  # stage 2's work on the shared ledgers, in order
        self.windows: list[dict[str, Any]] = []
        self.record: dict[str, Any] | None = None
        self.answer: dict[str, Any] | None = None


class Unit:
    """One transaction's reads and writes (Core statements on the session's connection)."""

    def __init__(self, s: Any, is_sqlite: bool):
        self.s = s
        self.conn = s.connection()
        self.is_sqlite = is_sqlite
        self.hub: dict[str, tuple[str, str, int]] = {}  # order id -> decision, status, version
        self.ctxs: dict[str, OrderCtx] = {}
        self.records: dict[tuple[str, str], tuple[str, Any]] = {}  # -> (hash, answer)
        self.timer_seq = 0  # orders timers made in this transaction after the stored ones

    # ------------------------------------------------------------------ reads

    def load_orders(self, order_ids: list[str]) -> None:
        """The orchestration rows (locked), then the hub's rows of the orders. The hub row is
        read after the lock, so it is never older than the orchestration row: a change order
        (api/usecases/orders.py) updates the hub row and then locks the orchestration row in
        one transaction. An order orchestration has not seen yet has no row to lock: its hub
        row is locked FOR SHARE instead, so a change order in flight is waited for."""
        c = self.conn
        ids = sorted(set(order_ids))
        for part in _chunks(ids):
            q = select(ORDERS).where(self.where_in(ORDERS.c.order_id, part)).order_by(
                ORDERS.c.order_id)
            for r in c.execute(q if self.is_sqlite else q.with_for_update()):
                self.ctxs[r.order_id] = OrderCtx.from_row(r)
        seen = [i for i in ids if i in self.ctxs]
        new = [i for i in ids if i not in self.ctxs]
        for group, lock in ((seen, False), (new, not self.is_sqlite)):
            for part in _chunks(group):
                q = select(Order.id, Order.decision_id, Order.status, Order.version).where(
                    self.where_in(Order.id, part))
                if lock:
                    q = q.order_by(Order.id).with_for_update(read=True, of=Order)
                for oid, dec, status, version in c.execute(q):
                    self.hub[oid] = (dec, status, version)

    def load(self, event_keys: list[tuple[str, str]],
             window_since: datetime | None, shipping: list[str],
             windows_on: frozenset[str], event_types: set[str]) -> None:
        """The rest, after `load_orders`. `window_since`: read window entries after this time
        when an event of the transaction (or a change order's derived events) wakes a rule of
        `windows_on`."""
        c = self.conn
        known = sorted(self.ctxs)
        changes = any(self.hub.get(x.order_id, (x.decision_id,))[0] != x.decision_id
                      for x in self.ctxs.values())
        if not (windows_on & (event_types | (CHANGE_EVENTS if changes else set()))):
            window_since = None
        pairs = sorted(set(event_keys))
        for part in _chunks(pairs):
            if self.is_sqlite:
                q = select(EventRecord.order_id, EventRecord.event_id, EventRecord.payload_hash,
                           EventRecord.result).where(
                    tuple_(EventRecord.order_id, EventRecord.event_id).in_(part))
                found = c.execute(q)
            else:  # pairs of arrays: one index probe per pair, one cacheable statement
                found = c.execute(_RECORDS, {"o": [k[0] for k in part],
                                             "e": [k[1] for k in part]})
            for r in found:
                self.records[(r.order_id, r.event_id)] = (r.payload_hash, r.result)
        for part in _chunks(known):
            for r in c.execute(select(TIMERS).where(self.where_in(TIMERS.c.order_id, part),
                                                    TIMERS.c.state == "armed")
                               .order_by(TIMERS.c.id)):
                t = dict(r._mapping)
                t["first_due"], t["due_at"] = utc(t["first_due"]), utc(t["due_at"])
                t["n"], t["dirty"] = t["id"], False
                self.ctxs[r.order_id].timers.append(t)
            for r in c.execute(select(ALERTS).where(self.where_in(ALERTS.c.order_id, part),
                                                    ALERTS.c.state == "open")
                               .order_by(ALERTS.c.id)):
                a = dict(r._mapping)
                a["dirty"] = False
                self.ctxs[r.order_id].alerts.append(a)
            if window_since is not None:
                for r in c.execute(select(WINDOWS.c.order_id, WINDOWS.c.rule, WINDOWS.c.key,
                                          WINDOWS.c.at, WINDOWS.c.measure).where(
                        self.where_in(WINDOWS.c.order_id, part), WINDOWS.c.at > window_since)
                        .order_by(WINDOWS.c.id)):
                    self.ctxs[r.order_id].windows.setdefault((r.rule, r.key), []).append(
                        (utc(r.at), r.measure))
        for part in _chunks(sorted(set(shipping) & set(known))):
            for oid, doc in c.execute(select(Invoice.order_id, Invoice.document).where(
                    self.where_in(Invoice.order_id, part)).order_by(Invoice.seq)):
                ctx = self.ctxs[oid]
                ctx.invoices += 1
                billing.add_billed(ctx.billed, json.loads(doc))

    def _locked(self, table: Any, cols: tuple[str, str], keys: list[tuple[str, str]],
                seed: Any) -> dict[tuple[str, str], dict[str, Any]]:
        """The rows of `keys` locked in key order (made from `seed(key)` when missing)."""
        keys = sorted(set(keys))
        a, b = table.c[cols[0]], table.c[cols[1]]
        out: dict[tuple[str, str], dict[str, Any]] = {}

        def read(part: list[tuple[str, str]]) -> None:
            q = select(table).where(tuple_(a, b).in_(part)).order_by(a, b)
            for r in self.conn.execute(q if self.is_sqlite else q.with_for_update()):
                m = dict(r._mapping)
                out[(m[cols[0]], m[cols[1]])] = m

        for part in _chunks(keys):
            read(part)
        missing = [k for k in keys if k not in out]
        if missing:
            ins = (sqlite_insert if self.is_sqlite else pg_insert)(table)
            self.conn.execute(ins.on_conflict_do_nothing(), [seed(k) for k in missing])
            for part in _chunks(missing):
                read(part)
        for row in out.values():
            row["_dirty"] = False
        return out

    def stock(self, keys: list[tuple[str, str]], ref_inventory: Any,
              at: datetime) -> dict[tuple[str, str], dict[str, Any]]:
        return self._locked(STOCK, ("location", "sku"), keys,
                            lambda k: inventory.new_level(ref_inventory, k[0], k[1], at))

    def accruals(self, keys: list[tuple[str, str]],
                 at: datetime) -> dict[tuple[str, str], dict[str, Any]]:
        return self._locked(ACCRUALS, ("programme", "period"), keys,
                            lambda k: rebates.new_accrual(k, at))

    def open_reorders(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        for part in _chunks(sorted(set(keys))):
            out.update((r.location, r.sku) for r in self.conn.execute(
                select(ReorderProposal.location, ReorderProposal.sku).where(
                    tuple_(ReorderProposal.location, ReorderProposal.sku).in_(part),
                    ReorderProposal.state.in_(inventory.OPEN))))
        return out

    def next_invoice_seq(self) -> int:
        """The next invoice number, the numbering locked until the commit (numbers have no
        gaps and follow the order of commits)."""
        if not self.is_sqlite:
            self.conn.exec_driver_sql("LOCK TABLE orch_invoices IN SHARE ROW EXCLUSIVE MODE")
        return int(self.conn.scalar(select(func.max(Invoice.seq))) or 0) + 1

    # ------------------------------------------------------------------ writes

    def write(self, works: list[Work], dumps: Any, ledger: dict[str, list[dict[str, Any]]],
              changed: dict[str, list[dict[str, Any]]]) -> None:
        """Everything the transaction changed, a statement per table and kind. `ledger`: rows
        to insert (reorders, rebate entries, claims, invoices, outbox); `changed`: locked
        ledger rows to update (stock, accruals)."""
        c = self.conn
        new = [x.row(dumps) for x in self.ctxs.values() if not x.exists]
        old = [{"k": x.order_id, "state": x.state, "holds": dumps(x.holds),
                "lines": dumps(x.lines), "decision_id": x.decision_id,
                "updated_at": x.updated_at}  # process, plan and digest never change
               for x in self.ctxs.values() if x.exists and x.dirty]
        if new:
            self.insert(ORDERS, new)
        if old:
            c.execute(ORDERS.update().where(ORDERS.c.order_id == bindparam("k")), old)
        t_new, t_old, a_new, a_old = [], [], [], []
        for x in self.ctxs.values():
            for t in x.timers:
                if t["id"] is None:
                    t_new.append({k: t[k] for k in ("order_id", "rule", "key", "first_due",
                                                    "due_at", "state", "event", "fired")})
                elif t["dirty"]:
                    t_old.append({"k": t["id"], "state": t["state"], "due_at": t["due_at"],
                                  "fired": t["fired"]})
            for a in x.alerts:
                row = {k: a[k] for k in ("order_id", "code", "key", "rule", "priority",
                                         "message", "state", "raised_at", "updated_at",
                                         "cleared_at", "clear_reason")}
                if a["id"] is None:
                    a_new.append(row)
                elif a["dirty"]:
                    a_old.append({**row, "k": a["id"]})
        if t_new:
            self.insert(TIMERS, t_new)
        if t_old:
            c.execute(TIMERS.update().where(TIMERS.c.id == bindparam("k")), t_old)
        if a_new:
            self.insert(ALERTS, a_new)
        if a_old:
            c.execute(ALERTS.update().where(ALERTS.c.id == bindparam("k")), a_old)
        windows = [w for work in works for w in work.windows]
        if windows:
            self.insert(WINDOWS, windows)
        for table, rows in (("stock", changed.get("stock")),
                            ("accruals", changed.get("accruals"))):
            if rows:
                t = STOCK if table == "stock" else ACCRUALS
                ka, kb = ("location", "sku") if table == "stock" else ("programme", "period")
                c.execute(t.update().where(t.c[ka] == bindparam("ka"),
                                           t.c[kb] == bindparam("kb")),
                          [{**{k: v for k, v in r.items() if k not in (ka, kb, "_dirty")},
                            "ka": r[ka], "kb": r[kb]} for r in rows])
        for model, key in ((ReorderProposal, "reorders"), (RebateEntry, "rebate_entries"),
                           (DebitClaim, "claims"), (Invoice, "invoices")):
            if ledger.get(key):
                self.insert(model.__table__, ledger[key])
        timeline = [e for work in works for e in work.timeline]
        if timeline:
            self.insert(TimelineEntry.__table__, timeline)
        if ledger.get("outbox"):
            self.insert(OutboxMessage.__table__, ledger["outbox"])
        records = [work.record for work in works if work.record is not None]
        if records:
            self.insert(EventRecord.__table__, records)

    def insert(self, table: Any, rows: list[dict[str, Any]]) -> None:
        """Many rows in one statement: COPY on PostgreSQL (psycopg's copy, in the transaction;
        an executemany would run a statement per row, and a multi-row INSERT too long for
        psycopg's query cache is parsed again each time), a plain executemany on SQLite."""
        if self.is_sqlite or len(rows) <= SMALL:
            self.conn.execute(table.insert(), rows)
            return
        cols = list(rows[0])
        raw = self.conn.connection.driver_connection
        sql = f"COPY {table.name} ({', '.join(cols)}) FROM STDIN"
        try:
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for r in rows:
                    copy.write_row([r[c] for c in cols])
        except raw.Error as exc:  # as SQLAlchemy would raise it: IntegrityError, ...
            raise DBAPIError.instance(sql, None, exc, type(raw).Error) from exc

    def where_in(self, col: Any, values: list[Any]) -> Any:
        """col IN (values): one array parameter on PostgreSQL (a statement psycopg can cache
        and prepare, whatever the number of values)."""
        if self.is_sqlite:
            return col.in_(values)
        return col == any_(bindparam(None, values, type_=ARRAY(col.type)))


def window_since(rules: Any, first: datetime) -> datetime | None:
    """How far back a transaction whose first event is at `first` must read window entries."""
    spans = [r.within for r in (rules.by_id.values() if rules is not None else ())
             if r.within is not None]
    return first - max(spans) if spans else None


def count_window(entries: list[tuple[datetime, str]], at: datetime,
                 within: timedelta) -> tuple[Decimal, Decimal]:
    """(count, sum) of the entries in (at - within, at]."""
    values = [Decimal(m) for t, m in entries if at - within < t <= at]
    return Decimal(len(values)), sum(values, Decimal(0))
