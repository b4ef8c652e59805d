"""Allocation by demand class and capable-to-promise in the service's promise (docs/promising.md,
"In the service"): the reading, locking and writing around engine/promising/lines.py.

In: the rule set (its `allocation`, `boms` and `capacity` reference tables, read by
engine/promising/makeup.py), the writing (or reading) session of `supply_reserve.promise_order`,
the ATP tables it built, a line and its candidate sites.
Out: the line's promise, or None when neither applies (the caller promises with the ATP rule);
the reservation rows of the components and resource hours a made line uses.

- A line of an item with a bill of material is made: at each candidate that has a `capacity`
  row for every resource of the bill (none: the line is promised as any other), a plant is built from the stored rows (the item's and every component's ATP table, each
  resource's hours per day less the hours already reserved) and capable-to-promise answers.
  The components it takes are reserved at the location (`source` component) and the hours at
  the pair (location, `resource:NAME`) (`source` capacity), in `supply_reservations`, so a
  change order or a cancellation gives them back with the rest of the order's rows.
- Otherwise, a rule set with an `allocation` table promises the line from its demand class's
  share: the class is the decision's `order.demand_class` (the order's, or set by the rule
  set's defaulting rules); a class no node serves goes to the `*` node; without one the line
  is short, saying so.
Locking: the component pairs are locked with the item's (supply_reserve.build_tables, key
order); a resource's hours have no stock row, so on PostgreSQL each (location, resource) is
taken with a transaction advisory lock, in key order, after the stock rows (every promise
locks stock first, so the two orders cannot wait on each other); SQLite's write lock covers it.
"""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from ordinance.engine.promising.atp import AtpTable
from ordinance.engine.promising.ctp import Plant, capacity
from ordinance.engine.promising.lines import Taken, allocated_line, made_line
from ordinance.engine.promising.makeup import ANY_CLASS, Makeup, makeup
from ordinance.engine.promising.reference import ReferenceError
from ordinance.engine.promising.reserve import LinePromise, Site

from . import supply
from .store import Conflict

RESOURCE = "resource:"
MAX_PLANTS = 20
_CACHE: dict[int, tuple[Any, Makeup]] = {}


def makeup_of(rs: Any) -> Makeup:
    """The rule set's allocation rule, bills and capacity; bad tables are 409 BAD_REFERENCE."""
    hit = _CACHE.get(id(rs))
    if hit is not None and hit[0] is rs:
        return hit[1]
    ref = getattr(rs, "reference", None) or {}
    try:
        out = makeup(ref.get("allocation"), ref.get("boms"), ref.get("capacity"))
    except ReferenceError as exc:
        raise Conflict(f"reference/{exc}", code="BAD_REFERENCE") from None
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[id(rs)] = (rs, out)
    return out


def with_components(mk: Makeup, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs with every component of a make item at the same location added."""
    if not mk.boms:
        return pairs
    out = set(pairs)
    for loc, sku in pairs:
        if sku in mk.boms and loc in mk.capacity:
            out |= {(loc, c) for c in mk.components(sku)}
    return sorted(out)


def capacity_tables(s: Any, is_sqlite: bool, mk: Makeup, tables: dict[tuple[str, str], Any],
                    lock: bool) -> None:
    """Adds to `tables` the hours table of every resource at the locations of make items in
    it, keyed (location, `resource:NAME`), with the hours already reserved as demand."""
    locs = sorted({loc for loc, sku in tables if sku in mk.boms and loc in mk.capacity})
    keys = [(loc, RESOURCE + r) for loc in locs for r in sorted(mk.capacity[loc])]
    if not keys:
        return
    if lock and not is_sqlite:
        for loc, res in keys:
            s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                      {"k": f"ordinance.capacity|{loc}|{res}"})
    held = supply.reservations_of(s, keys)
    any_table: AtpTable = next(iter(tables.values()))
    buckets = any_table.buckets
    for loc, res in keys:
        loaded: dict[int, Decimal] = {}
        for r in held.get((loc, res), []):
            b = buckets.of_demand(r.date) if r.date >= buckets.first else None
            if b is not None:  # hours of past days are spent, not owed
                loaded[b] = loaded.get(b, Decimal(0)) + Decimal(r.quantity)
        tables[(loc, res)] = capacity(buckets, mk.capacity[loc][res[len(RESOURCE):]], loaded)


def demand_class(decision: dict[str, Any]) -> str | None:
    order = decision.get("order") if isinstance(decision.get("order"), dict) else {}
    v = order.get("demand_class")
    return str(v).strip()[:100] if v not in (None, "") else None


def promise_line(mk: Makeup, tables: dict[tuple[str, str], Any], sku: str, qty: Decimal,
                 sites: list[Site], as_of: datetime.date, split: bool,
                 dclass: str | None) -> tuple[LinePromise, list[Taken]] | None:
    """The line's promise by CTP or by allocation (the tables updated), or None."""
    try:
        if sku in mk.boms:
            made = _made(mk, tables, sku, qty, sites, as_of)
            if made is not None:
                return made
        elif mk.allocation is not None:
            return _allocated(mk, tables, sku, qty, sites, as_of, split, dclass), []
    except ValueError as exc:  # the rule set's data cannot promise this way
        raise Conflict(f"reference/promising: {exc}", code="BAD_REFERENCE") from None
    return None


def _made(mk: Makeup, tables: dict[tuple[str, str], Any], sku: str, qty: Decimal,
          sites: list[Site], as_of: datetime.date) -> tuple[LinePromise, list[Taken]] | None:
    """CTP at the candidates that can make the item; None when none can (the line is then
    promised from stock and supply to come, as an item without a bill)."""
    plants = []
    for site in sites[:MAX_PLANTS]:
        loc = site.location
        if loc not in mk.capacity or (loc, sku) not in tables:
            continue
        items = {c: tables[(loc, c)] for c in mk.components(sku) if (loc, c) in tables}
        resources = {k[1][len(RESOURCE):]: t for k, t in tables.items()
                     if k[0] == loc and k[1].startswith(RESOURCE)}
        boms = {k: b for k, b in mk.boms.items() if k in items}
        if any(r not in resources for b in boms.values() for r, _ in b.hours):
            continue  # this location cannot do every step of the bill
        try:
            plant = Plant(tables[(loc, sku)].buckets, as_of, items, resources, boms)
        except ValueError as exc:
            raise Conflict(f"reference/boms: {exc} (at {loc})", code="BAD_REFERENCE") from None
        plants.append((site, plant))
    if not plants:
        return None
    made, after, taken = made_line(plants, sku, qty, as_of)
    if after is not None:
        loc = made.parts[0].location
        for item, t in after.items.items():
            if (loc, item) in tables:
                tables[(loc, item)] = t
        for res, t in after.resources.items():
            tables[(loc, RESOURCE + res)] = t
    return made, taken


def _allocated(mk: Makeup, tables: dict[tuple[str, str], Any], sku: str, qty: Decimal,
               sites: list[Site], as_of: datetime.date, split: bool,
               dclass: str | None) -> LinePromise:
    rule = mk.allocation
    assert rule is not None
    node = mk.demand_class_node(dclass)
    if node is None:
        note = f"no allocation node serves demand class {dclass!r} and there is no " \
               f"{ANY_CLASS!r} node" if dclass else "the order has no demand_class and the " \
               f"allocation has no {ANY_CLASS!r} node"
        return LinePromise(sku, qty, (), qty, (("short", "", None, qty, note),))
    served = dclass if dclass and dclass in rule.node(node).demand_classes else ANY_CLASS
    mine = {s.location: tables[(s.location, sku)] for s in sites
            if (s.location, sku) in tables}
    made, after = allocated_line(mine, sku, qty, sites, as_of, split, rule, served)
    for loc, t in after.items():
        tables[(loc, sku)] = t
    return made


def rows(order_id: str, decision_id: str, line_id: str, taken: list[Taken],
         at: datetime.datetime) -> list[dict[str, Any]]:
    """The reservation rows of what a made line takes besides its item."""
    return [{"order_id": order_id, "decision_id": decision_id, "line_id": line_id,
             "location": t.location,
             "sku": t.what if t.kind == "component" else RESOURCE + t.what,
             "date": t.date, "quantity": _plain(t.quantity), "source": t.kind,
             "created_at": at} for t in taken]


def _plain(q: Decimal) -> str:
    """8 hours of 0.5 is "4", not "4.0" (exact either way; the text is what is shown)."""
    return format(q.to_integral_value() if q == q.to_integral_value() else q.normalize(), "f")
