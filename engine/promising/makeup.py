"""Allocation by demand class and capable-to-promise from a rule set's reference data.

In: the rows of three optional reference tables, as the rule set loader reads them (numbers are
Decimals, empty cells None, everything else text):
- `allocation` (reference/allocation.csv): one row per node of the allocation hierarchy,
  `node, parent, target, rank, demand_classes, kind, steal`; `demand_classes` separated by
  `;` (`*`: every class no other node serves, and orders without one); `kind` (number,
  percentage or ratio) and `steal` (true: a short node takes from lower-ranked ones; false:
  it waits) are the rule's, given on any row (rows that give them must agree);
- `boms` (reference/boms.csv): one row per component or resource of a make item,
  `item, component, per_unit, resource, hours, lead_days` (a row gives a component and its
  quantity per unit, or a resource and its hours per unit, or both; `lead_days`, the working
  days from start to completion, is the item's, on any of its rows);
- `capacity` (reference/capacity.csv): `location, resource, hours_per_day`.
Out: `Makeup` (the `AllocationRule` or None, the bills of material, the capacity per location),
or `ReferenceError` naming the table, the row (its line in the CSV file: header is line 1)
and the bad value.

The non-obvious choice: the allocation's weeks start on a Monday (the Monday on or before the
first bucket), so the weekly targets of a service that promises every day do not move with
the as-of date; a `*` node lets a rule set give unclassified demand a share of its own rather
than letting it take everything.
"""
from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .allocation import AllocationRule, Node, Target
from .ctp import Bom, Component
from .reference import ReferenceError

ANY_CLASS = "*"
MAX_ROWS = 10_000


@dataclass(frozen=True)
class Makeup:
    allocation: AllocationRule | None = None
    boms: dict[str, Bom] = field(default_factory=dict, compare=False)
    capacity: dict[str, dict[str, Decimal]] = field(default_factory=dict, compare=False)

    def demand_class_node(self, demand_class: str | None) -> str | None:
        """The node that serves a demand class (None: no node serves it)."""
        rule = self.allocation
        if rule is None:
            return None
        if demand_class:
            for n in rule.nodes:
                if demand_class in n.demand_classes:
                    return n.name
        for n in rule.nodes:
            if ANY_CLASS in n.demand_classes:
                return n.name
        return None

    def components(self, item: str, limit: int = 200) -> list[str]:
        """Every item the bill of `item` reaches, at every level (itself first)."""
        out = [item]
        i = 0
        while i < len(out) and len(out) < limit:
            bom = self.boms.get(out[i])
            for c in bom.components if bom is not None else ():
                if c.item not in out:
                    out.append(c.item)
            i += 1
        return out


def makeup(allocation: Sequence[Any] | None, boms: Sequence[Any] | None,
           capacity: Sequence[Any] | None) -> Makeup:
    return Makeup(_allocation(allocation), _boms(boms), _capacity(capacity))


def week_anchor(first: datetime.date) -> datetime.date:
    return first - datetime.timedelta(days=first.weekday())


def _rows(table: Sequence[Any] | None, name: str) -> list[tuple[int, dict[str, Any]]]:
    table = getattr(table, "rows", table)    # a checker's Table, or the loader's rows
    rows = [(n, r) for n, r in enumerate(table or (), start=2) if isinstance(r, dict)]
    if len(rows) > MAX_ROWS:
        raise ReferenceError(f"{name}: at most {MAX_ROWS} rows, got {len(rows)}")
    return rows


def _text(v: Any) -> str:
    return "" if v is None else str(v).strip()


def _number(r: dict[str, Any], col: str, where: str, *, required: bool = True,
            whole: bool = False) -> Decimal | None:
    v = r.get(col)
    if v is None or v == "":
        if required:
            raise ReferenceError(f"{where}: {col} is needed")
        return None
    if isinstance(v, str):
        try:
            v = Decimal(v.strip())
        except ArithmeticError:
            raise ReferenceError(f"{where}: {col} {v!r} is not a number") from None
    if not isinstance(v, Decimal) or not v.is_finite() or v < 0:
        raise ReferenceError(f"{where}: {col} {v!r} is not a number of 0 or more")
    if whole and v != v.to_integral_value():
        raise ReferenceError(f"{where}: {col} {v} is not a whole number")
    return v


def _one(seen: dict[str, tuple[str, str]], key: str, value: str, where: str,
         table: str) -> None:
    if not value:
        return
    if key in seen and seen[key][0] != value:
        raise ReferenceError(f"{where}: {key} {value!r} differs from {seen[key][0]!r} "
                             f"given at {seen[key][1]} ({table} has one {key})")
    seen.setdefault(key, (value, where))


def _allocation(table: Sequence[Any] | None) -> AllocationRule | None:
    rows = _rows(table, "allocation")
    if not rows:
        return None
    nodes: list[Node] = []
    rule: dict[str, tuple[str, str]] = {}
    for n, r in rows:
        where = f"allocation: row {n}"
        name = _text(r.get("node"))
        if not name:
            raise ReferenceError(f"{where}: node is needed")
        target = _number(r, "target", where)
        rank = _number(r, "rank", where, required=False, whole=True) or Decimal(0)
        classes = frozenset(c.strip() for c in _text(r.get("demand_classes")).split(";")
                            if c.strip())
        _one(rule, "kind", _text(r.get("kind")).lower(), where, "allocation")
        _one(rule, "steal", _text(r.get("steal")).lower(), where, "allocation")
        assert target is not None
        nodes.append(Node(name, target, _text(r.get("parent")) or None, int(rank), classes))
    kind_text, kind_where = rule.get("kind", ("percentage", "allocation"))
    try:
        kind = Target(kind_text)
    except ValueError:
        raise ReferenceError(f"{kind_where}: kind {kind_text!r} is not one of "
                             f"{', '.join(t.value for t in Target)}") from None
    steal_text, steal_where = rule.get("steal", ("true", "allocation"))
    if steal_text not in ("true", "false", "yes", "no", "1", "0"):
        raise ReferenceError(f"{steal_where}: steal {steal_text!r} is not true or false")
    try:
        return AllocationRule(kind, tuple(nodes), steal=steal_text in ("true", "yes", "1"))
    except ValueError as exc:
        raise ReferenceError(str(exc)) from None


def _boms(table: Sequence[Any] | None) -> dict[str, Bom]:
    comps: dict[str, list[Component]] = {}
    hours: dict[str, list[tuple[str, Decimal]]] = {}
    lead: dict[str, dict[str, tuple[str, str]]] = {}
    for n, r in _rows(table, "boms"):
        where = f"boms: row {n}"
        item = _text(r.get("item"))
        if not item:
            raise ReferenceError(f"{where}: item is needed")
        comps.setdefault(item, [])
        hours.setdefault(item, [])
        comp, res = _text(r.get("component")), _text(r.get("resource"))
        if not comp and not res:
            raise ReferenceError(f"{where}: a row gives a component or a resource")
        if comp:
            per = _number(r, "per_unit", where)
            assert per is not None
            if per == 0:
                raise ReferenceError(f"{where}: per_unit of {comp} is 0")
            if any(c.item == comp for c in comps[item]):
                raise ReferenceError(f"{where}: {item} lists component {comp} twice")
            comps[item].append(Component(comp, per))
        if res:
            h = _number(r, "hours", where)
            assert h is not None
            hours[item].append((res, h))
        days = _number(r, "lead_days", where, required=False, whole=True)
        if days is not None:
            _one(lead.setdefault(item, {}), "lead_days", str(int(days)), where,
                 f"{item}'s bill")
    out = {item: Bom(item, tuple(comps[item]), tuple(hours[item]),
                     int(lead[item]["lead_days"][0]) if item in lead else 0)
           for item in comps}
    for bom in out.values():
        path = [bom.item]
        _no_loop(out, bom.item, path)
    return out


def _no_loop(boms: dict[str, Bom], item: str, path: list[str]) -> None:
    if len(path) > 50:
        raise ReferenceError("boms: a bill of material deeper than 50 levels")
    for c in boms[item].components:
        if c.item in path:
            raise ReferenceError("boms: the bill of material goes round: "
                                 + " -> ".join((*path, c.item)))
        if c.item in boms:
            _no_loop(boms, c.item, [*path, c.item])


def _capacity(table: Sequence[Any] | None) -> dict[str, dict[str, Decimal]]:
    out: dict[str, dict[str, Decimal]] = {}
    for n, r in _rows(table, "capacity"):
        where = f"capacity: row {n}"
        loc, res = _text(r.get("location")), _text(r.get("resource"))
        if not loc or not res:
            raise ReferenceError(f"{where}: location and resource are needed")
        h = _number(r, "hours_per_day", where)
        assert h is not None
        if res in out.get(loc, {}):
            raise ReferenceError(f"{where}: {loc} lists resource {res} twice")
        out.setdefault(loc, {})[res] = h
    return out
