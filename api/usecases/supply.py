"""Use cases of order promising in the service (docs/promising.md, "In the service"): import and
read supply, promise and reserve an order when it is captured or changed, check availability
without reserving (with ranked alternatives), read an order's promise.

In: parsed requests (the doors read them), the service's database, rule sets and clock.
Out: JSON-ready dicts, or a service error (Invalid 422 with a JSON path or CSV line:column).
The non-obvious choice: capture and change promise inside the hub's own writing transaction
(`promise_in`), so an order is never stored without its reservations, nor reservations
without the order; the rows of the pairs it draws on stay locked until that commit.
"""
from __future__ import annotations

import csv
import datetime
import io
from typing import Any

from ordinance.adapters import supply, supply_check, supply_reserve
from ordinance.adapters.db import DatabaseUnavailable
from ordinance.adapters.orchestration import ATTEMPTS, retryable
from ordinance.adapters.store import Invalid, NotFound

from .decide import evaluate


def _as_of(ev: Any, today: datetime.date) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(ev.as_of)[:10])
    except ValueError:
        return today


def promise_in(clock: Any) -> Any:
    """The hook capture and change orders run in their transaction: promise and reserve."""
    def then(s: Any, rs: Any, order_id: str, ev: Any) -> None:
        at = clock.now()
        if ev.status == "rejected":
            supply_reserve.release(s, order_id, at, "the order was rejected")
            return
        supply_reserve.promise_order(s, s.get_bind().dialect.name == "sqlite", rs, order_id,
                                     ev.decision_id, ev.body, _as_of(ev, at.date()), at,
                                     plans=ev.plans)
    return then


# ---------------------------------------------------------------------------------- import

def import_json(db: Any, rulesets: Any, body: Any, actor: str,
                at: datetime.datetime) -> dict[str, Any]:
    """`{"supply": [{location, sku, kind, date, quantity, ref}, ...]}`; errors at `$.supply[i].col`."""
    if not isinstance(body, dict) or not isinstance(body.get("supply"), list):
        raise Invalid("the body is {\"supply\": [rows]}", code="BAD_SUPPLY", path="$.supply")
    extra = [k for k in body if k != "supply"]
    if extra:
        raise Invalid(f"unknown field {extra[0]!r}", code="BAD_SUPPLY", path=f"$.{extra[0]}")

    def where(i: int, col: str) -> str:
        return f"$.supply[{i}]" + (f".{col}" if col else "")
    rows = supply.check_rows(body["supply"], where)
    return _write(db, rulesets, rows, actor, at)


def import_csv(db: Any, rulesets: Any, text: str, name: str, actor: str,
               at: datetime.datetime) -> dict[str, Any]:
    """A CSV with the header location,sku,kind,date,quantity,ref; errors at FILE:LINE:COL
    (the column's number, 1-based)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise Invalid(f"{name}:1:1: the file is empty (header: "
                      f"{','.join(supply.COLUMNS)})", code="BAD_SUPPLY",
                      path=f"{name}:1:1") from None
    header = [h.strip() for h in header]
    for n, h in enumerate(header, 1):
        if h not in supply.COLUMNS:
            raise Invalid(f"{name}:1:{n}: unknown column {h!r} (columns: "
                          f"{', '.join(supply.COLUMNS)})", code="BAD_SUPPLY",
                          path=f"{name}:1:{n}")
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    for rec in reader:
        if len(rows) > supply.MAX_ROWS:
            break
        if not any(c.strip() for c in rec):
            continue
        if len(rec) != len(header):
            raise Invalid(f"{name}:{reader.line_num}:1: {len(rec)} cells, the header has "
                          f"{len(header)}", code="BAD_SUPPLY", path=f"{name}:{reader.line_num}:1")
        rows.append({h: c.strip() for h, c in zip(header, rec)})
        lines.append(reader.line_num)

    def where(i: int, col: str) -> str:
        line = lines[i] if i < len(lines) else reader.line_num
        pos = header.index(col) + 1 if col in header else 1
        return f"{name}:{line}:{pos}"
    try:
        checked = supply.check_rows(rows, where)
    except Invalid as exc:
        raise Invalid(f"{exc.path}: {exc.message}", code="BAD_SUPPLY", path=exc.path) from None
    return _write(db, rulesets, checked, actor, at)


def _write(db: Any, rulesets: Any, rows: Any, actor: str,
           at: datetime.datetime) -> dict[str, Any]:
    rs = rulesets.resolve(None)
    for attempt in range(ATTEMPTS):  # PostgreSQL may end it as a deadlock with an event of
        try:                         # an order it promises again (the event holds that
            with db.session(write=True) as s:  # order's row, then stock): run it again
                out = supply.import_rows(s, db.is_sqlite, rs, rows, actor, at)
                pairs = sorted({(r[0], r[1]) for r in rows})
                out["repromised"] = supply_reserve.recheck(s, db.is_sqlite, rs, pairs,
                                                           at.date(), at)
                return out
        except DatabaseUnavailable as exc:
            if not retryable(exc) or attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# ---------------------------------------------------------------------------------- reading

def listing(db: Any, rulesets: Any, location: str | None, sku: str | None, kind: str | None,
            limit: int, after: int, at: datetime.datetime) -> dict[str, Any]:
    return supply.listing(db, _active_or_none(rulesets), location, sku, kind, limit, after, at)


def position(db: Any, rulesets: Any, location: str, sku: str) -> dict[str, Any]:
    return supply.position(db, _active_or_none(rulesets), location, sku)


def order_promise(db: Any, order_id: str) -> dict[str, Any]:
    out = supply_reserve.stored(db, order_id)
    if out is None:
        raise NotFound(f"order {order_id!r} has no promise (not captured, or its rule set "
                       "has no atp_rules)", code="NO_PROMISE")
    return out


def _active_or_none(rulesets: Any) -> Any:
    try:
        return rulesets.resolve(None)
    except Exception:  # noqa: BLE001 - no active rule set: nothing to seed from
        return None


# ---------------------------------------------------------------------------------- checking

def availability(db: Any, rulesets: Any, order: dict[str, Any], as_of: datetime.date | None,
                 ruleset_ref: str | None, today: datetime.date) -> dict[str, Any]:
    """Per line the promise the order would get now, and ranked alternatives; nothing is
    reserved or stored (the order is decided, then promised in a reading transaction)."""
    rs = rulesets.resolve(ruleset_ref)
    ev = evaluate(rs, order, as_of, "decide", today)
    day = _as_of(ev, today)
    supply.ensure_seeded(db, rs, _now(today))  # a fresh service counts the rule set's supply
    with db.session() as s:
        made = supply_reserve.promise_order(s, db.is_sqlite, rs, str(order.get("id") or ""),
                                            ev.decision_id, ev.body, day, _now(today),
                                            reserve=False, plans=ev.plans)
        if made is None:
            return {"order_id": order.get("id"), "status": ev.status, "lines": [],
                    "promising": "off: the rule set has no atp_rules table"}
        for line in made["lines"]:
            line["alternatives"] = supply_check.line_alternatives(s, db.is_sqlite, rs, ev.body,
                                                                  line, day, _now(today))
    made.pop("reserved", None)
    made["status"], made["promising"] = ev.status, "on"
    return made


def _now(today: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(today, datetime.time(), datetime.timezone.utc)

