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

The candidate locations of a line are every location its `source` action could draw on, in
the action's preference order (the engine's `Decision.plans`, engine/sourcing.py
SourcingPlan; not part of the decision JSON), with the action's split: the decision itself was
made against the rule set's inventory snapshot, so its allocations alone would send every
order to the location that snapshot ranks first. The stored promise keeps each line's
candidates, so a later re-promise (`recheck`) walks the same ones. A decision without plans
(one stored before they were recorded) falls back to the locations its sourcing named: its
allocations, then the locations its promise looked at. A rule set without `atp_rules` has no
promising: nothing is locked or reserved, and the order is handled as before.
"""
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from ordinance.engine import codec
from ordinance.engine.promising.atp import AtpTable, SupplyType
from ordinance.engine.promising.reserve import LinePromise, Site, promise_line, table

from . import inventory, supply, supply_make
from .lifecycle import FINAL
from .models import DecisionRecord
from .models_orchestration import AlertRecord, OrderState
from .models_supply import SupplyPromise, SupplyReservation

MAX_LINES = 1000
MAX_CANDIDATES = 50
MAX_REPROMISE = 500
MAX_CONVERT = 1000  # reservation rows one goods receipt turns into stock allocations
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


@dataclass(frozen=True)
class Ways:
    """Where a line may be promised from: candidate locations best first, and whether it may
    be spread over several (None: the ATP rule's split alone decides)."""
    locations: tuple[str, ...]
    split: bool | None = None


def ways_of(plans: Any) -> dict[str, Ways]:
    """{line id: Ways} from a decision's plans (engine SourcingPlan values) or from a stored
    promise's lines (`candidates`, `split`); bounded."""
    out: dict[str, Ways] = {}
    for p in list(plans or ())[:MAX_LINES]:
        if isinstance(p, dict):
            locs, split, lid = p.get("candidates"), p.get("split"), p.get("line_id")
            if not isinstance(locs, list) or not all(isinstance(x, str) for x in locs):
                continue
        else:
            locs, split, lid = list(p.locations), p.split, p.line_id
        out[str(lid)] = Ways(tuple(dict.fromkeys(locs))[:MAX_CANDIDATES],
                             split if isinstance(split, bool) else None)
    return out


def _lines(decision: dict[str, Any], ways: dict[str, Ways]
           ) -> list[tuple[str, str, Decimal, list[str], bool | None]]:
    """(line id, sku, quantity, candidates, split) of every sourced line of a decision body;
    the candidates and split of `ways` where it has the line (see the module's docstring)."""
    out = []
    src = decision.get("sourcing") if isinstance(decision.get("sourcing"), dict) else {}
    for sl in (src.get("lines") or [])[:MAX_LINES]:
        if not isinstance(sl, dict) or not sl.get("sku"):
            continue
        qty = sum((Decimal(str(a.get("quantity"))) for a in sl.get("allocations") or []
                   if isinstance(a, dict)), Decimal(str(sl.get("backordered") or 0)))
        lid = str(sl.get("line_id"))
        way = ways.get(lid)
        cands = list(way.locations) if way is not None and way.locations else candidates(sl)
        if qty > 0 and cands:
            out.append((lid, str(sl["sku"]), qty, cands, way.split if way else None))
    return out


def promise_order(s: Any, is_sqlite: bool, rs: Any, order_id: str, decision_id: str,
                  decision: dict[str, Any], as_of: datetime.date, at: datetime.datetime,
                  reserve: bool = True, plans: Any = ()) -> dict[str, Any] | None:
    """The order's promise from stored supply (None: the rule set has no promising); with
    `reserve`, its parts are reserved and it is stored as the order's promise. `plans`: the
    decision's SourcingPlan values (or a stored promise's lines), the candidates per line."""
    network = getattr(rs, "network", None)
    setup = getattr(network, "promising", None)
    if setup is None:
        return None
    lines = _lines(decision, ways_of(plans))
    if reserve:  # a change order: what the order held is given back before it is promised
        if not is_sqlite:  # the house's lock order: the order's orchestration row before
            s.execute(select(OrderState.order_id).where(  # the stock rows (as an event's)
                OrderState.order_id == order_id).with_for_update())
        supply.seed(s, is_sqlite, rs, at)
        supply.forget_order(s, order_id)
    pairs = sorted({(loc, sku) for _, sku, _, cands, _ in lines for loc in cands})
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
    for line_id, sku, qty, cands, split in lines:
        sites = sites_of(network, cands, region)
        splits = setup.rule.split and split is not False
        other = supply_make.promise_line(mk, tables, sku, qty, sites, as_of, splits, dclass)
        if other is not None:
            made, taken = other
            rows += supply_make.rows(order_id, decision_id, line_id, taken, at)
        else:
            mine = {loc: tables[(loc, sku)] for loc in cands}
            made, after = promise_line(mine, sku, qty, sites, as_of, splits)
            for loc, t in after.items():
                tables[(loc, sku)] = t
        out_lines.append({**_line_json(line_id, made, requested), "candidates": cands,
                          **({"split": split} if split is not None else {})})
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
        before = codec.loads(row.promise)  # its lines keep the candidates they were given
        promise_order(s, is_sqlite, rs, oid, row.decision_id, codec.loads(body), as_of, at,
                      plans=before.get("lines") if isinstance(before, dict) else ())
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


# ---------------------------------------------------------------------------------- receipts

def waiting_orders(s: Any, is_sqlite: bool, location: str, sku: str) -> list[str]:
    """The orders with reservations waiting for supply to come at (location, sku); on
    PostgreSQL their orchestration rows are locked, in key order. A goods receipt calls this
    before it locks the stock row, so it takes the locks in the house's order (an order's row,
    then stock), as an order's event does."""
    ids = sorted(set(s.scalars(select(SupplyReservation.order_id).where(
        SupplyReservation.location == location, SupplyReservation.sku == sku,
        SupplyReservation.source == "atp").limit(MAX_CONVERT)).all()))
    if ids and not is_sqlite:
        for n in range(0, len(ids), 200):
            s.execute(select(OrderState.order_id).where(
                OrderState.order_id.in_(ids[n:n + 200])).order_by(OrderState.order_id)
                .with_for_update())
    return ids


def receive_reserved(s: Any, network: Any, ref_inventory: Any, location: str, sku: str,
                     qty: Decimal, at: datetime.datetime) -> list[dict[str, str]]:
    """Goods received at (location, sku), `qty` of them supply the reservations were waiting
    for: up to `qty` of the reservations there on supply to come (`atp`) become reservations
    of stock (`on_hand`, dated the receipt's day), earliest promised first (their date, then
    the order they were made in); what is not covered stays reserved on what is still due.
    In the receipt's transaction (the stock row is locked by the caller's ledger move):
    - an order orchestration already follows gets the quantity as a stock allocation: the
      stock ledger's `allocated` and the line's allocations grow by it (an order it has not
      seen yet reserves its stock reservations when it first sees it, as at capture);
    - the stored promise shows the parts as received; a part whose goods came after its
      promised ship date ships the receipt's day plus the location's handling days, and the
      order's PROMISE_LATE alerts are raised again with the new delay.
    Returns what was turned, per order line."""
    if qty <= 0:
        return []
    rows = s.scalars(select(SupplyReservation).where(
        SupplyReservation.location == location, SupplyReservation.sku == sku,
        SupplyReservation.source == "atp").order_by(
        SupplyReservation.date, SupplyReservation.id).limit(MAX_CONVERT)).all()
    today, left = at.date(), qty
    moved: dict[tuple[str, str], Decimal] = {}
    for r in rows:
        if left <= 0:
            break
        q = Decimal(r.quantity)
        take = min(q, left)
        left -= take
        if take == q:
            r.source, r.date = "on_hand", today
        else:
            r.quantity = format(q - take, "f")
            s.add(SupplyReservation(order_id=r.order_id, decision_id=r.decision_id,
                                    line_id=r.line_id, location=location, sku=sku, date=today,
                                    quantity=format(take, "f"), source="on_hand",
                                    created_at=at))
        moved[(r.order_id, r.line_id)] = moved.get((r.order_id, r.line_id), Decimal(0)) + take
    handling = getattr(network, "handling", {}).get(location, datetime.timedelta(0))
    allocated = Decimal(0)
    for oid in sorted({o for o, _ in moved}):
        mine = {lid: q for (o, lid), q in moved.items() if o == oid}
        allocated += _allocate(s, oid, location, mine)
        _received_in_promise(s, oid, location, mine, today, handling, at)
    if allocated:
        inventory.move(s, ref_inventory, location, sku, at, allocated=allocated)
    s.flush()
    return [{"order_id": o, "line_id": lid, "quantity": format(q, "f")}
            for (o, lid), q in sorted(moved.items())]


def _allocate(s: Any, order_id: str, location: str, lines: dict[str, Decimal]) -> Decimal:
    """The lines' allocations at `location` in orchestration's row grow (an order it follows
    and that is not closed); what the stock ledger must allocate for them."""
    st = s.get(OrderState, order_id)
    if st is None or st.state in FINAL:
        return Decimal(0)
    held = json.loads(st.lines)
    total = Decimal(0)
    for lid, q in lines.items():
        line = held.get(lid)
        if not isinstance(line, dict) or not line.get("sku"):
            continue
        allocs = line.setdefault("allocations", {})
        allocs[location] = format(Decimal(allocs.get(location) or "0") + q, "f")
        total += q
    if total:
        st.lines = json.dumps(held, separators=(",", ":"), ensure_ascii=False)
    return total


def _received_in_promise(s: Any, order_id: str, location: str, lines: dict[str, Decimal],
                         today: datetime.date, handling: datetime.timedelta,
                         at: datetime.datetime) -> None:
    """The stored promise after a receipt: per line, `lines[id]` of its parts from supply to
    come at `location` (earliest first) are from stock, `received` today; one shipping after
    its promised date moves to today plus handling (arrival by the same transit)."""
    row = s.get(SupplyPromise, order_id)
    if row is None:
        return
    body = codec.loads(row.promise)
    requested = _date(body.get("requested_date"))
    later = False
    for ln in body.get("lines") or []:
        left = lines.get(str(ln.get("line_id")), Decimal(0))
        if left <= 0:
            continue
        old = ln.get("parts") or []
        waiting = sorted((i for i, p in enumerate(old) if p.get("location") == location
                          and p.get("from") == "atp"), key=lambda i: old[i].get("ship_date"))
        takes: dict[int, Decimal] = {}
        for i in waiting:
            if left <= 0:
                break
            takes[i] = min(Decimal(old[i]["quantity"]), left)
            left -= takes[i]
        parts: list[dict[str, Any]] = []
        for i, p in enumerate(old):
            if i not in takes:
                parts.append(p)
                continue
            q, take = Decimal(p["quantity"]), takes[i]
            got = {**p, "quantity": format(take, "f"), "from": "on_hand",
                   "received": today.isoformat()}
            ship = _date(p.get("ship_date"))
            if ship is not None and today + handling > ship:
                new = today + handling
                got["ship_date"] = new.isoformat()
                arrival = _date(p.get("arrival_date"))
                if arrival is not None:
                    got["arrival_date"] = (new + (arrival - ship)).isoformat()
                later = True
            parts.append(got)
            if take < q:  # the rest still waits for what is due
                parts.append({**p, "quantity": format(q - take, "f")})
        ln["parts"] = parts
        ships = [p["ship_date"] for p in parts if p.get("ship_date")]
        arrivals = [p["arrival_date"] for p in parts if p.get("arrival_date")]
        ln["ship_date"] = max(ships) if ships else None
        ln["arrival_date"] = max(arrivals) if arrivals else None
        due = _date(ln["arrival_date"] or ln["ship_date"])
        if due is not None and requested is not None:
            ln["delay_days"] = max((due - requested).days, 0)
    row.promise, row.updated_at = codec.dumps(body), at
    if later:
        _alerts(s, order_id, body.get("lines") or [], at)


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
