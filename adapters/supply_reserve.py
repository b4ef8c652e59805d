"""Promising an order from stored supply, atomically (docs/promising.md, "In the service").

`promise_order` runs inside the caller's writing transaction (capture, change order) or, with
`reserve=False`, in a reading one (check availability). It locks the stock rows of every
(location, sku) the order's lines may draw on, in key order (PostgreSQL: SELECT ... FOR UPDATE;
SQLite: the write lock the session took at BEGIN IMMEDIATE), reads the supply to come and the
reservations already held there, lets the pure core promise each line
(engine/promising/reserve.py), and writes the parts as reservations. Two orders for the same
last units therefore queue on the same rows, and the second one sees what the first reserved:
they can never both promise them. A line whose promise is later than its requested date (or
short) raises a PROMISE_LATE alert with the delay (the alerts of GET /v1/alerts).

The candidate locations of a line are those its decision's sourcing named, best first: its
allocations, then the locations its promise looked at. A rule set without `atp_rules` has no
promising: nothing is locked or reserved, and the order is handled as before.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from ordinance.engine import codec
from ordinance.engine.promising.atp import AtpTable, SupplyType
from ordinance.engine.promising.reserve import LinePromise, Site, promise_line, table

from . import supply, supply_make
from .models import DecisionRecord
from .models_orchestration import AlertRecord, OrderState
from .models_supply import SupplyPromise, SupplyReservation

MAX_LINES = 1000
MAX_CANDIDATES = 50
MAX_REPROMISE = 500
ALERT = "PROMISE_LATE"
SHORT = "short"  # a reservation row that holds nothing: what a line could not be promised


def _date(v: Any) -> datetime.date | None:
    if isinstance(v, datetime.date):
        return v
    if isinstance(v, str) and len(v) >= 10:
        try:
            return datetime.date.fromisoformat(v[:10])
        except ValueError:
            return None
    return None


def candidates(sourcing_line: dict[str, Any]) -> list[str]:
    """The locations a decision's sourcing line named, in the order it ranked them."""
    out: list[str] = []
    for a in sourcing_line.get("allocations") or []:
        if isinstance(a, dict) and a.get("location"):
            out.append(str(a["location"]))
    p = sourcing_line.get("promise") if isinstance(sourcing_line.get("promise"), dict) else {}
    for step in p.get("trace") or []:
        if isinstance(step, dict) and step.get("location") and step.get("step") in (
                "on_hand", "location"):
            out.append(str(step["location"]))
    for part in p.get("parts") or []:
        if isinstance(part, dict) and part.get("location"):
            out.append(str(part["location"]))
    return list(dict.fromkeys(out))[:MAX_CANDIDATES]


def _lines(decision: dict[str, Any]) -> list[tuple[str, str, Decimal, list[str]]]:
    """(line id, sku, quantity, candidates) of every sourced line of a decision body."""
    out = []
    src = decision.get("sourcing") if isinstance(decision.get("sourcing"), dict) else {}
    for sl in (src.get("lines") or [])[:MAX_LINES]:
        if not isinstance(sl, dict) or not sl.get("sku"):
            continue
        qty = sum((Decimal(str(a.get("quantity"))) for a in sl.get("allocations") or []
                   if isinstance(a, dict)), Decimal(str(sl.get("backordered") or 0)))
        cands = candidates(sl)
        if qty > 0 and cands:
            out.append((str(sl.get("line_id")), str(sl["sku"]), qty, cands))
    return out


def promise_order(s: Any, is_sqlite: bool, rs: Any, order_id: str, decision_id: str,
                  decision: dict[str, Any], as_of: datetime.date, at: datetime.datetime,
                  reserve: bool = True) -> dict[str, Any] | None:
    """The order's promise from stored supply (None: the rule set has no promising); with
    `reserve`, its parts are reserved and it is stored as the order's promise."""
    network = getattr(rs, "network", None)
    setup = getattr(network, "promising", None)
    if setup is None:
        return None
    lines = _lines(decision)
    if reserve:  # a change order: what the order held is given back before it is promised
        if not is_sqlite:  # the house's lock order: the order's orchestration row before
            s.execute(select(OrderState.order_id).where(  # the stock rows (as an event's)
                OrderState.order_id == order_id).with_for_update())
        supply.seed(s, is_sqlite, rs, at)
        supply.forget_order(s, order_id)
    pairs = sorted({(loc, sku) for _, sku, _, cands in lines for loc in cands})
    mk = supply_make.makeup_of(rs)  # allocation by demand class, capable-to-promise
    tables = build_tables(s, is_sqlite, rs, supply_make.with_components(mk, pairs), as_of, at,
                          lock=reserve)
    supply_make.capacity_tables(s, is_sqlite, mk, tables, lock=reserve)
    dclass = supply_make.demand_class(decision)
    region = region_of(decision)
    order = decision.get("order") if isinstance(decision.get("order"), dict) else {}
    requested = _date(order.get("requested_date"))
    out_lines = []
    rows = []
    for line_id, sku, qty, cands in lines:
        sites = sites_of(network, cands, region)
        other = supply_make.promise_line(mk, tables, sku, qty, sites, as_of, setup.rule.split,
                                         dclass)
        if other is not None:
            made, taken = other
            rows += supply_make.rows(order_id, decision_id, line_id, taken, at)
        else:
            mine = {loc: tables[(loc, sku)] for loc in cands}
            made, after = promise_line(mine, sku, qty, sites, as_of, setup.rule.split)
            for loc, t in after.items():
                tables[(loc, sku)] = t
        out_lines.append(_line_json(line_id, made, requested))
        rows += [{"order_id": order_id, "decision_id": decision_id, "line_id": line_id,
                  "location": p.location, "sku": sku, "date": p.demand_date,
                  "quantity": format(p.quantity, "f"), "source": p.source, "created_at": at}
                 for p in made.parts if p.demand_date is not None]
        if made.short > 0:  # remembered at its best candidate, so new supply can date it
            rows.append({"order_id": order_id, "decision_id": decision_id, "line_id": line_id,
                         "location": cands[0], "sku": sku, "date": as_of,
                         "quantity": format(made.short, "f"), "source": SHORT,
                         "created_at": at})
    result = {"order_id": order_id, "decision_id": decision_id, "as_of": as_of.isoformat(),
              "requested_date": requested.isoformat() if requested else None,
              "reserved": reserve, "lines": out_lines}
    if mk.allocation is not None:
        result["demand_class"] = dclass
    if reserve:
        if rows:
            s.execute(SupplyReservation.__table__.insert(), rows)
        text = codec.dumps(result)
        row = s.get(SupplyPromise, order_id)
        if row is None:
            s.add(SupplyPromise(order_id=order_id, decision_id=decision_id, as_of=as_of,
                                promise=text, updated_at=at))
        else:
            row.decision_id, row.as_of, row.promise, row.updated_at = \
                decision_id, as_of, text, at
        _alerts(s, order_id, out_lines, at)
        s.flush()
    return result


def recheck(s: Any, is_sqlite: bool, rs: Any, pairs: list[tuple[str, str]],
            as_of: datetime.date, at: datetime.datetime) -> list[str]:
    """After supply changed at `pairs` (a purchase order moved later or cut, a stock count):
    the orders whose reservations there no longer fit (a bucket of theirs is short) are
    promised again, in the order they were first reserved, so the earlier order keeps the
    earlier date; their PROMISE_LATE alerts say the new delay. Returns their ids (at most
    MAX_REPROMISE; the rest keep their promise and are listed by `position`)."""
    if getattr(getattr(rs, "network", None), "promising", None) is None or not pairs:
        return []
    tables = build_tables(s, is_sqlite, rs, pairs, as_of, at, lock=True)
    held = supply.reservations_of(s, pairs)
    first: dict[str, int] = {}
    for key, t in tables.items():
        short = {b for b, v in enumerate(t.net) if v < 0}
        for r in held.get(key, []):
            b = t.buckets.of_demand(max(r.date, as_of))
            if b in short and r.source != SHORT:
                first[r.order_id] = min(first.get(r.order_id, r.id), r.id)
    skus = sorted({sku for (_, sku), t in tables.items()  # where something is free now
                   if any(t.offer(b) > 0 for b in range(len(t.buckets)))})
    waiting = s.execute(select(SupplyReservation.order_id, SupplyReservation.id).where(
        SupplyReservation.source == SHORT, SupplyReservation.sku.in_(skus))
        .order_by(SupplyReservation.id).limit(MAX_REPROMISE)).all()
    for oid, rid in waiting:  # backorders: new supply may date them (after the orders above)
        first.setdefault(oid, rid + 2 ** 62)
    orders = sorted(first, key=first.__getitem__)[:MAX_REPROMISE]
    for oid in orders:  # everything they held is given back first
        supply.forget_order(s, oid)
    done = []
    for oid in orders:
        row = s.get(SupplyPromise, oid)
        body = s.scalars(select(DecisionRecord.decision).where(
            DecisionRecord.id == row.decision_id)).first() if row is not None else None
        if body is None:
            continue
        promise_order(s, is_sqlite, rs, oid, row.decision_id, codec.loads(body), as_of, at)
        done.append(oid)
    return done


def region_of(decision: dict[str, Any]) -> Any:
    order = decision.get("order") if isinstance(decision.get("order"), dict) else {}
    ship_to = order.get("ship_to") if isinstance(order.get("ship_to"), dict) else {}
    return ship_to.get("region")


def sites_of(network: Any, locations: list[str], region: Any) -> list[Site]:
    """Candidate locations with their handling days and the transit to the region."""
    out = []
    for loc in locations:
        route = network.nearest.get(loc, {}).get(region) if region is not None else None
        out.append(Site(loc, network.handling.get(loc, datetime.timedelta(0)),
                        route.transit if route is not None else None))
    return out


def build_tables(s: Any, is_sqlite: bool, rs: Any, pairs: list[tuple[str, str]],
                 as_of: datetime.date, at: datetime.datetime,
                 lock: bool) -> dict[tuple[str, str], AtpTable]:
    """The ATP tables of (location, sku) pairs from stored rows (`lock`: the stock rows stay
    locked, in key order, until the caller's transaction ends)."""
    setup = rs.network.promising
    inv = (getattr(rs, "reference", None) or {}).get("inventory")
    on_hand = supply.lock_stock(s, is_sqlite, pairs, inv, at, lock=lock)
    events = supply.events_of(s, pairs)
    held = supply.reservations_of(s, pairs)
    return {(loc, sku): table(
        setup.rule, setup.horizon_days, as_of, sku, loc, on_hand[(loc, sku)],
        [(SupplyType(e.kind), e.date, Decimal(e.quantity)) for e in events.get((loc, sku), [])],
        [(r.date, Decimal(r.quantity)) for r in held.get((loc, sku), []) if r.source != SHORT])
        for loc, sku in sorted(set(pairs))}


def _line_json(line_id: str, made: LinePromise, requested: datetime.date | None
               ) -> dict[str, Any]:
    due = made.arrival_date or made.ship_date
    delay = (due - requested).days if due is not None and requested is not None else None
    return {"line_id": line_id, "sku": made.sku, "quantity": format(made.quantity, "f"),
            "promised": format(made.quantity - made.short, "f"),
            "short": format(made.short, "f"),
            "ship_date": made.ship_date.isoformat() if made.ship_date else None,
            "arrival_date": made.arrival_date.isoformat() if made.arrival_date else None,
            "delay_days": max(delay, 0) if delay is not None else None,
            "parts": [{"location": p.location, "quantity": format(p.quantity, "f"),
                       "ship_date": p.ship_date.isoformat(),
                       "arrival_date": p.arrival_date.isoformat() if p.arrival_date else None,
                       "from": p.source} for p in made.parts],
            "trace": [{"step": st, "location": loc or None, "date": d,
                       "quantity": format(q, "f"), "note": note}
                      for st, loc, d, q, note in made.trace[:200]]}


def _alerts(s: Any, order_id: str, lines: list[dict[str, Any]], at: datetime.datetime) -> None:
    """PROMISE_LATE per line promised after its requested date or short; the order's earlier
    ones are cleared (a new promise replaces them)."""
    clear(s, order_id, at, "promised again")
    for ln in lines:
        delay, short = ln["delay_days"], Decimal(ln["short"])
        if not short and not delay:
            continue
        msg = f"line {ln['line_id']} ({ln['sku']}): "
        if short:
            msg += f"{ln['short']} of {ln['quantity']} cannot be promised (backorder)"
            if delay:
                msg += "; "
        if delay:
            msg += f"promised {ln['arrival_date'] or ln['ship_date']}, {delay} day(s) after " \
                   "the requested date"
        prio = "high" if short or delay >= 7 else "medium" if delay >= 3 else "low"
        s.add(AlertRecord(order_id=order_id, code=ALERT, key=ln["line_id"][:600],
                          rule="promising", priority=prio, message=msg, state="open",
                          raised_at=at, updated_at=at))


def clear(s: Any, order_id: str, at: datetime.datetime, reason: str) -> None:
    s.execute(update(AlertRecord).where(
        AlertRecord.order_id == order_id, AlertRecord.code == ALERT,
        AlertRecord.state == "open").values(state="cleared", cleared_at=at, updated_at=at,
                                            clear_reason=reason))


def release(s: Any, order_id: str, at: datetime.datetime, reason: str) -> int:
    """An order cancelled: its reservations given back, its promise marked released."""
    n = supply.forget_order(s, order_id)
    row = s.get(SupplyPromise, order_id)
    if row is not None:
        body = codec.loads(row.promise)
        body["reserved"], body["released"] = False, reason
        row.promise, row.updated_at = codec.dumps(body), at
    clear(s, order_id, at, reason)
    return n


def shipped(s: Any, order_id: str, line_id: str, location: str, qty: Decimal) -> None:
    """A shipment of a line: its reservations at the location lower by what left (from on
    hand first, then the earliest), as on hand itself goes down in the stock ledger."""
    rows = s.scalars(select(SupplyReservation).where(
        SupplyReservation.order_id == order_id, SupplyReservation.line_id == line_id,
        SupplyReservation.location == location).order_by(SupplyReservation.date,
                                                         SupplyReservation.id)
        .limit(MAX_LINES)).all()
    rows = [r for r in rows if r.source not in (SHORT, "component", "capacity")]
    rows.sort(key=lambda r: (r.source != "on_hand", r.date, r.id))
    left = qty
    for r in rows:
        if left <= 0:
            break
        q = Decimal(r.quantity)
        take = min(q, left)
        left -= take
        if take == q:
            s.delete(r)
        else:
            r.quantity = format(q - take, "f")


def allocations(s: Any, decision_id: str) -> dict[str, dict[str, str]] | None:
    """{line id: {location: quantity}} of what a decision's promise reserved from on hand (the
    stock ledger's allocations), or None when the decision has no stored promise."""
    rows = s.execute(select(SupplyReservation.line_id, SupplyReservation.location,
                            SupplyReservation.quantity, SupplyReservation.source).where(
        SupplyReservation.decision_id == decision_id)).all()
    if not rows and s.scalars(select(SupplyPromise.order_id).where(
            SupplyPromise.decision_id == decision_id)).first() is None:
        return None
    out: dict[str, dict[str, str]] = {}
    for line_id, loc, q, src in rows:
        if src == "on_hand":
            cur = out.setdefault(line_id, {})
            cur[loc] = format(Decimal(cur.get(loc, "0")) + Decimal(q), "f")
    return out


def stored(db: Any, order_id: str) -> dict[str, Any] | None:
    with db.session() as s:
        row = s.get(SupplyPromise, order_id)
        return None if row is None else codec.loads(row.promise)


@dataclass(frozen=True)
class SupplyOp:
    """What an orchestration item does to reservations, applied in its stage 2 (so an item that
    fails changes nothing): `release` (cancelled) or `ship` (a line left a location)."""
    kind: str
    order_id: str
    at: datetime.datetime
    line_id: str = ""
    location: str = ""
    quantity: Decimal = Decimal(0)


def apply(s: Any, op: SupplyOp) -> None:
    if op.kind == "release":
        release(s, op.order_id, op.at, "the order was cancelled")
    elif op.kind == "ship":
        shipped(s, op.order_id, op.line_id, op.location, op.quantity)
