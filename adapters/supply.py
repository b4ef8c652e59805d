"""Supply in the database (docs/promising.md, "In the service"): what is on hand and to come per
location and SKU, read, imported and moved.

- On hand is `orch_stock.on_hand` (the stock ledger goods receipts, shipments and returns
  already move, seeded from the rule set's `inventory` the first time a pair is touched).
- Supply to come (`supply_events`): purchase-order receipts, in-transit transfers, work-order
  completions, planned orders; one row per (location, sku, kind, ref). A fresh service is
  seeded once from the active rule set's `supply` table (`supply_seeds` remembers it).
- An import (CSV or REST) sets a pair's on hand (kind `on_hand`: a stock count) or adds or
  replaces one event per (location, sku, kind, ref); every row is checked before anything is
  written, and a bad one is named by CSV line:column or JSON path.
- A goods receipt against a purchase order lowers that order's supply event by what came in,
  and the reservations waiting for supply at that location become stock allocations
  (adapters/supply_reserve.py `receive_reserved`); a shipment lowers its line's reservations.
Rows are read in pages (`limit`, `after`): every read is bounded.
"""
from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ordinance.engine.promising.atp import SupplyType

from . import inventory
from .models_orchestration import StockLevel
from .models_supply import SupplyEvent, SupplyReservation, SupplySeed
from .store import Invalid

KINDS = tuple(k.value for k in SupplyType)
_QUANTITY = re.compile(r"[0-9]{1,18}(\.[0-9]{1,6})?")
COLUMNS = ("location", "sku", "kind", "date", "quantity", "ref")
MAX_ROWS = 10_000          # rows in one import
MAX_PAGE = 1000            # rows in one read
STOCK = StockLevel.__table__


def _insert(is_sqlite: bool, table: Any) -> Any:
    return (sqlite_insert if is_sqlite else pg_insert)(table)


def _iso(d: datetime.date) -> str:
    return d.isoformat()


# ---------------------------------------------------------------------------------- checking

def check_rows(rows: list[dict[str, Any]], where: Callable[[int, str], str]) -> list[
        tuple[str, str, str, datetime.date, Decimal, str]]:
    """Rows as (location, sku, kind, date, quantity, ref), or Invalid at `where(i, column)`:
    a CSV line:column or a JSON path. Quantities are exact decimals (text or JSON numbers)."""
    if len(rows) > MAX_ROWS:
        raise Invalid(f"at most {MAX_ROWS} supply rows in one import, got {len(rows)}",
                      code="BAD_SUPPLY", path=where(MAX_ROWS, ""))
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise Invalid("a supply row is an object", code="BAD_SUPPLY", path=where(i, ""))
        for key in row:
            if key not in COLUMNS:
                raise Invalid(f"unknown column {key!r} (columns: {', '.join(COLUMNS)})",
                              code="BAD_SUPPLY", path=where(i, str(key)))

        def text(col: str, limit: int, required: bool = True, row: dict[str, Any] = row,
                 i: int = i) -> str:
            v = row.get(col)
            if v is None or v == "":
                if required:
                    raise Invalid(f"{col} is needed", code="BAD_SUPPLY", path=where(i, col))
                return ""
            if not isinstance(v, str) or len(v) > limit or not v.strip() or "\x00" in v:
                raise Invalid(f"{col} is text of 1 to {limit} characters", code="BAD_SUPPLY",
                              path=where(i, col))
            return v.strip()

        loc, sku, kind = text("location", 100), text("sku", 200), text("kind", 20)
        if kind not in KINDS:
            raise Invalid(f"kind {kind!r} is not one of {', '.join(KINDS)}", code="BAD_SUPPLY",
                          path=where(i, "kind"))
        ref = text("ref", 200, required=False) or ("on_hand" if kind == "on_hand" else "")
        if not ref:
            raise Invalid("ref (the purchase order, transfer or work order) is needed",
                          code="BAD_SUPPLY", path=where(i, "ref"))
        raw_date = row.get("date")
        if kind == "on_hand" and raw_date in (None, ""):
            day = datetime.date.min
        else:
            try:
                day = datetime.date.fromisoformat(raw_date) if isinstance(raw_date, str) \
                    and len(raw_date) == 10 else None
            except ValueError:
                day = None
            if day is None:
                raise Invalid(f"date {raw_date!r} is not YYYY-MM-DD", code="BAD_SUPPLY",
                              path=where(i, "date"))
        q = row.get("quantity")
        qty = None
        if isinstance(q, str) and _QUANTITY.fullmatch(q):
            qty = Decimal(q)
        elif isinstance(q, (int, Decimal)) and not isinstance(q, bool):
            try:  # a JSON number: a whole one
                qty = Decimal(q) if Decimal(q) == Decimal(q).to_integral_value() else None
            except (InvalidOperation, ValueError):
                qty = None
        if qty is None or not qty.is_finite() or qty < 0 or qty >= Decimal(10) ** 18:
            raise Invalid(f"quantity {q!r} is a number from 0 below 10^18 (text: at most 6 "
                          "decimals; a JSON number: a whole one)",
                          code="BAD_SUPPLY", path=where(i, "quantity"))
        out.append((loc, sku, kind, day, qty, ref))
    return out


# ---------------------------------------------------------------------------------- seeding

def seed(s: Any, is_sqlite: bool, rs: Any, at: datetime.datetime) -> bool:
    """Seeds supply to come from the rule set's `supply` table, once per database (the first
    rule set that asks). True when this call seeded it."""
    setup = getattr(getattr(rs, "network", None), "promising", None)
    if setup is None or s.get(SupplySeed, "reference") is not None:
        return False
    done = s.execute(_insert(is_sqlite, SupplySeed.__table__).on_conflict_do_nothing(), [
        {"name": "reference", "ruleset": f"{rs.name}@{rs.digest}"[:300], "at": at}])
    if not done.rowcount:
        return False
    rows = [{"location": e.location, "sku": e.item, "kind": e.kind.value, "ref": e.ref or
             f"{e.kind.value}-{e.date.isoformat()}", "date": e.date,
             "quantity": format(e.quantity, "f"), "updated_at": at, "updated_by": "reference"}
            for events in setup.supply.values() for e in events]
    for n in range(0, len(rows), 500):
        s.execute(_insert(is_sqlite, SupplyEvent.__table__).on_conflict_do_nothing(),
                  rows[n:n + 500])
    return True


def ensure_seeded(db: Any, rs: Any, at: datetime.datetime) -> None:
    """Seeds supply to come from the rule set before a read that counts it (availability,
    listings): the mark is read first, so once the database is seeded a read takes no write
    lock."""
    if rs is None or getattr(getattr(rs, "network", None), "promising", None) is None:
        return
    with db.session() as s:
        if s.get(SupplySeed, "reference") is not None:
            return
    with db.session(write=True) as s:
        seed(s, db.is_sqlite, rs, at)


def lock_stock(s: Any, is_sqlite: bool, pairs: list[tuple[str, str]], inv: Any,
               at: datetime.datetime, lock: bool = True) -> dict[tuple[str, str], Decimal]:
    """On hand of each (location, sku), the stock rows locked in key order (made from the
    inventory table when missing). PostgreSQL: SELECT ... FOR UPDATE; SQLite: the writing
    session already holds the database's write lock."""
    keys = sorted(set(pairs))
    out: dict[tuple[str, str], Decimal] = {}
    if not keys:
        return out

    def read(part: list[tuple[str, str]]) -> None:
        q = select(STOCK.c.location, STOCK.c.sku, STOCK.c.on_hand).where(
            tuple_(STOCK.c.location, STOCK.c.sku).in_(part)).order_by(STOCK.c.location,
                                                                      STOCK.c.sku)
        for loc, sku, oh in s.execute(q.with_for_update() if lock and not is_sqlite else q):
            out[(loc, sku)] = Decimal(oh)

    for n in range(0, len(keys), 200):
        read(keys[n:n + 200])
    missing = [k for k in keys if k not in out]
    if missing and lock:
        s.execute(_insert(is_sqlite, STOCK).on_conflict_do_nothing(),
                  [inventory.new_level(inv, k[0], k[1], at) for k in missing])
        for n in range(0, len(missing), 200):
            read(missing[n:n + 200])
    for k in missing:
        out.setdefault(k, inventory.initial(inv, k[0], k[1]))
    return out


# ---------------------------------------------------------------------------------- writing

def import_rows(s: Any, is_sqlite: bool, rs: Any, rows: list[tuple[str, str, str,
                datetime.date, Decimal, str]], actor: str,
                at: datetime.datetime) -> dict[str, Any]:
    """Writes checked rows: on_hand sets the pair's on hand, the rest upsert their event."""
    seed(s, is_sqlite, rs, at)
    inv = (getattr(rs, "reference", None) or {}).get("inventory")
    lock_stock(s, is_sqlite, [(r[0], r[1]) for r in rows], inv, at)
    counts = {"on_hand": 0, "events": 0}
    for loc, sku, kind, day, qty, ref in rows:
        if kind == "on_hand":
            row = s.get(StockLevel, (loc, sku))
            row.on_hand, row.updated_at = format(qty, "f"), at
            counts["on_hand"] += 1
            continue
        old = s.scalars(select(SupplyEvent).where(
            SupplyEvent.location == loc, SupplyEvent.sku == sku, SupplyEvent.kind == kind,
            SupplyEvent.ref == ref)).first()
        if old is None:
            s.add(SupplyEvent(location=loc, sku=sku, kind=kind, ref=ref, date=day,
                              quantity=format(qty, "f"), updated_at=at, updated_by=actor))
        else:
            old.date, old.quantity, old.updated_at, old.updated_by = \
                day, format(qty, "f"), at, actor
        counts["events"] += 1
    s.flush()
    return {"imported": len(rows), **counts}


def received(s: Any, location: str, sku: str, purchase_order: str | None,
             qty: Decimal, at: datetime.datetime, kind: str = "purchase_order") -> Decimal:
    """A goods receipt: the supply event it delivers (a purchase order, or a transfer or work
    order by `kind`), if stored, is lower by `qty` (on hand itself is raised by the stock
    ledger). Returns how much of the receipt that event was still due to bring (0 when it
    is not stored): what reservations on supply to come may turn into stock allocations
    (adapters/supply_reserve.py `receive_reserved`)."""
    if not purchase_order:
        return Decimal(0)
    ev = s.scalars(select(SupplyEvent).where(
        SupplyEvent.location == location, SupplyEvent.sku == sku,
        SupplyEvent.kind == kind, SupplyEvent.ref == purchase_order)
        .with_for_update()).first()
    if ev is None:
        return Decimal(0)
    due = Decimal(ev.quantity)
    ev.quantity = format(max(due - qty, Decimal(0)), "f")
    ev.updated_at, ev.updated_by = at, "goods receipt"
    return min(due, qty)


# ---------------------------------------------------------------------------------- reading

def events_of(s: Any, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], list[Any]]:
    out: dict[tuple[str, str], list[Any]] = {}
    keys = sorted(set(pairs))
    for n in range(0, len(keys), 200):
        q = select(SupplyEvent).where(tuple_(SupplyEvent.location, SupplyEvent.sku)
                                      .in_(keys[n:n + 200]))
        for e in s.scalars(q):
            out.setdefault((e.location, e.sku), []).append(e)
    return out


def reservations_of(s: Any, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], list[Any]]:
    out: dict[tuple[str, str], list[Any]] = {}
    keys = sorted(set(pairs))
    for n in range(0, len(keys), 200):
        q = select(SupplyReservation).where(
            tuple_(SupplyReservation.location, SupplyReservation.sku).in_(keys[n:n + 200]))
        for r in s.scalars(q):
            out.setdefault((r.location, r.sku), []).append(r)
    return out


def event_json(e: SupplyEvent) -> dict[str, Any]:
    return {"id": e.id, "location": e.location, "sku": e.sku, "kind": e.kind, "ref": e.ref,
            "date": _iso(e.date), "quantity": e.quantity}


def listing(db: Any, rs: Any, location: str | None, sku: str | None, kind: str | None,
            limit: int, after: int, at: datetime.datetime) -> dict[str, Any]:
    """Supply to come, filtered, in id order from `after`; `next` is the id to go on from."""
    if kind is not None and kind not in KINDS:
        raise Invalid(f"kind is one of {', '.join(KINDS)}", code="BAD_REQUEST", path="kind")
    ensure_seeded(db, rs, at)
    with db.session() as s:
        q = select(SupplyEvent).where(SupplyEvent.id > after)
        for col, v in ((SupplyEvent.location, location), (SupplyEvent.sku, sku),
                       (SupplyEvent.kind, kind)):
            if v is not None:
                q = q.where(col == v)
        rows = s.scalars(q.order_by(SupplyEvent.id).limit(min(limit, MAX_PAGE) + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return {"items": [event_json(e) for e in rows],
                "next": rows[-1].id if more and rows else None}


def position(db: Any, rs: Any, location: str, sku: str) -> dict[str, Any]:
    """A pair's on hand, what orders reserved of it (now, and from supply to come), its
    supply to come (at most MAX_PAGE events) and reservations by order."""
    inv = (getattr(rs, "reference", None) or {}).get("inventory")
    with db.session() as s:
        on_hand = lock_stock(s, db.is_sqlite, [(location, sku)], inv,
                             datetime.datetime.now(datetime.timezone.utc), lock=False)
        events = s.scalars(select(SupplyEvent).where(
            SupplyEvent.location == location, SupplyEvent.sku == sku)
            .order_by(SupplyEvent.date, SupplyEvent.id).limit(MAX_PAGE)).all()
        res = s.execute(select(SupplyReservation.source, SupplyReservation.quantity).where(
            SupplyReservation.location == location, SupplyReservation.sku == sku)).all()
    oh = on_hand[(location, sku)]
    now_q = sum((Decimal(q) for src, q in res if src == "on_hand"), Decimal(0))
    later = sum((Decimal(q) for src, q in res if src == "atp"), Decimal(0))
    short = sum((Decimal(q) for src, q in res if src == "short"), Decimal(0))
    return {"location": location, "sku": sku, "on_hand": format(oh, "f"),
            "reserved": format(now_q, "f"), "available": format(oh - now_q, "f"),
            "reserved_from_supply": format(later, "f"), "short": format(short, "f"),
            "supply": [event_json(e) for e in events]}


def forget_order(s: Any, order_id: str) -> int:
    """Deletes an order's reservations; how many there were."""
    return s.execute(delete(SupplyReservation).where(
        SupplyReservation.order_id == order_id)).rowcount or 0
