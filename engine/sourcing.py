"""Sourcing (SPEC section 4): routes over `ref.lanes`, ranking of locations, allocation.

In: `ref.locations`, `ref.inventory`, `ref.lanes` (and, for promising, `ref.supply` and
`ref.atp_rules`) at compile time; a line, its candidate locations, a preference and a split
flag at evaluation.
Out: the line's allocations (location, quantity, ship and arrival dates) and its backorder;
with an `atp_rules` table, also the line's promise (engine/promising, docs/promising.md): the
allocations as on-hand parts, and a date for the backorder from the supply to come at the
ranked locations, with its trace.

Routes are computed once per rule set (Dijkstra, as networkx computes it): for every location
and region, the route with the fewest transit days (ties: the cheaper) and the cheapest route
(ties: the fewer days). A lane's `to` is a location when a location has that id, else a region; a route must end in a
lane into the order's region (a location's own region does not count).
"""
from __future__ import annotations

import datetime
import heapq
from dataclasses import dataclass
from functools import cached_property
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple


from .pricing import plain
from .values import D, RuleError, Table, render

if TYPE_CHECKING:  # bound at run time by _load_promising, for a rule set that promises
    from .promising.atp import AtpTable, Supply, SupplyType, build
    from .promising.calendar import Buckets
    from .promising.ctp import Plant, capacity
    from .promising.lines import allocated_line, made_line
    from .promising.makeup import ANY_CLASS, Makeup
    from .promising.reserve import LinePromise, Site
    from .promising.promise import Promise, promise
    from .promising.reference import Setup


def _load_promising() -> None:
    """engine/promising's names, bound in this module by the first rule set that has an
    `atp_rules` table (or asks for an ATP table): a rule set that does not promise never
    imports it (issue 16: about a quarter of a start from the compiled cache)."""
    g = globals()
    if "build" in g:
        return
    from .promising import atp, calendar, ctp, lines, makeup, promise, reserve

    g.update(AtpTable=atp.AtpTable, Supply=atp.Supply, SupplyType=atp.SupplyType,
             build=atp.build, Buckets=calendar.Buckets, Plant=ctp.Plant,
             capacity=ctp.capacity, allocated_line=lines.allocated_line,
             made_line=lines.made_line, ANY_CLASS=makeup.ANY_CLASS, Makeup=makeup.Makeup,
             LinePromise=reserve.LinePromise, Site=reserve.Site, Promise=promise.Promise,
             promise=promise.promise)

ZERO = D(0)
RESOURCE = "resource:"
MAX_PLANTS = 20
NO_TIME = datetime.timedelta(0)
_WEIGHT = D(10) ** 12


class SourcingPlan(NamedTuple):
    """Where a `source` action let a line come from, recorded for the service's promising
    (adapters/supply_reserve.py) and never rendered: the decision JSON stays what SPEC section
    6 says. `locations` are the action's candidates with a route to the order's region, in the
    action's preference order (`prefer`); `split`: the line may be spread over locations.
    A named tuple rather than a frozen dataclass: one is made per promised line, and a tuple
    is made several times faster; it is just as immutable."""
    line_id: str
    sku: str
    locations: tuple[str, ...]
    prefer: str
    split: bool
    region: str | None


@dataclass(frozen=True)
class Route:
    days: Decimal
    cost: Decimal

    @cached_property  # read for every allocation; a route is made once per rule set
    def transit(self) -> datetime.timedelta:
        return datetime.timedelta(days=int(self.days))


class Network:
    def __init__(self, locations: Table | None, inventory: Table | None, lanes: Table | None,
                 supply: Table | None = None, atp_rules: Table | None = None,
                 makeup_tables: dict[str, Table | None] | None = None):
        self.promising: Setup | None = None
        self.promising_error: str | None = None
        # allocation by demand class and capable-to-promise (engine/promising/makeup.py),
        # read once per compiled rule set; a mistake is said at its CSV line when promising.
        # Without atp_rules nothing promises: neither is read (Allocation.promise)
        self.makeup: Makeup | None = None
        self.makeup_error: str | None = None
        if atp_rules:  # as `setup` was given it: a table, else none
            from .promising.makeup import makeup
            from .promising.reference import ReferenceError as PromisingDataError, setup

            _load_promising()
            try:
                self.promising = setup(atp_rules.rows, supply.rows if supply else None)
            except PromisingDataError as exc:
                self.promising_error = f"reference/{exc}"
            mt = makeup_tables or {}
            try:
                rows = [t.rows if t is not None else None
                        for t in (mt.get("allocation"), mt.get("boms"), mt.get("capacity"))]
                self.makeup = makeup(rows[0], rows[1], rows[2])
            except PromisingDataError as exc:  # a CSV table is refused by `check` at its cell
                self.makeup_error = f"reference/{exc}"
        self._atp: dict[tuple[str, str, Decimal, datetime.date], AtpTable] = {}
        self._buckets: dict[datetime.date, Buckets] = {}
        self.locations: dict[str, dict[str, Any]] = {}
        for row in (locations.rows if locations else []):
            if isinstance(row, dict) and row.get("id") is not None:
                self.locations.setdefault(render(row["id"]), row)
        self.handling: dict[str, datetime.timedelta] = {}
        for loc, row in self.locations.items():
            h = row.get("handling_days")
            self.handling[loc] = datetime.timedelta(days=int(h) if h.__class__ is D else 0)
        self.on_hand: dict[tuple[str, str], Decimal] = {}
        for row in (inventory.rows if inventory else []):
            if not isinstance(row, dict):
                continue
            place, sku, qty = row.get("location"), row.get("sku"), row.get("on_hand")
            if place is None or sku is None or qty.__class__ is not D:
                continue
            key = (render(place), render(sku))
            self.on_hand[key] = self.on_hand.get(key, ZERO) + qty
        # the SKUs the reference inventory lists anywhere: a line of another SKU, sourced from
        # that inventory, finds nothing at any location without looking at each (issue 16)
        self.stocked = frozenset(sku for _, sku in self.on_hand)
        self._rankings: dict[tuple[Any, ...], list[tuple[str, Route]]] = {}
        self.nearest: dict[str, dict[str, Route]] = {}
        self.cheapest: dict[str, dict[str, Route]] = {}
        self._routes([r for r in (lanes.rows if lanes else []) if isinstance(r, dict)])

    def _routes(self, lanes: list[dict[str, Any]]) -> None:
        # nodes are ("loc", id) or ("region", code); edges (successors in insertion order)
        # hold (weight, days, cost)
        Edge = tuple[Decimal, Decimal, Decimal]
        by_days: dict[tuple[str, str], dict[tuple[str, str], Edge]] = {}
        by_cost: dict[tuple[str, str], dict[tuple[str, str], Edge]] = {}
        for lane in lanes:
            src, dst = lane.get("from"), lane.get("to")
            days, cost = lane.get("transit_days"), lane.get("cost_per_unit")
            if src is None or dst is None:
                continue
            days = days if days.__class__ is D else ZERO
            cost = cost if cost.__class__ is D else ZERO
            a = ("loc", render(src))
            b = ("loc", render(dst)) if render(dst) in self.locations else ("region", render(dst))
            for graph, weight in ((by_days, days * _WEIGHT + cost), (by_cost, cost * _WEIGHT + days)):
                succ = graph.setdefault(a, {})
                graph.setdefault(b, {})
                old = succ.get(b)
                if old is None or weight < old[0]:
                    succ[b] = (weight, days, cost)
        for graph, table in ((by_days, self.nearest), (by_cost, self.cheapest)):
            for node in graph:
                if node[0] != "loc":
                    continue
                routes: dict[str, Route] = {}
                for target, path in _shortest_paths(graph, node).items():
                    if target[0] != "region":
                        continue
                    edges = [graph[u][v] for u, v in zip(path, path[1:])]
                    routes[target[1]] = Route(sum((e[1] for e in edges), ZERO),
                                              sum((e[2] for e in edges), ZERO))
                table[node[1]] = routes

    def ranking(self, candidates: tuple[str, ...], region: str,
                prefer: str) -> list[tuple[str, Route]]:
        """Candidates with a route to the region, best first (ties keep their order); a pure
        function of the rule set, so cached (the cache is bounded)."""
        key = (candidates, region, prefer)
        cached = self._rankings.get(key)
        if cached is not None:
            return cached
        ranked: list[tuple[tuple[Decimal | int, ...], str, Route]] = []
        for pos, loc in enumerate(candidates):
            fastest = self.nearest.get(loc, {}).get(region)
            if fastest is None:
                continue
            if prefer == "cheapest":
                route = self.cheapest[loc][region]
                ranked.append(((route.cost, route.days, pos), loc, route))
            else:
                ranked.append(((fastest.days, pos), loc, fastest))
        ranked.sort(key=lambda r: r[0])
        result = [(loc, route) for _, loc, route in ranked]
        if len(self._rankings) < 100_000:
            self._rankings[key] = result
        return result


    def atp_table(self, loc: str, sku: str, on_hand: Decimal, as_of: datetime.date,
                  picture: Any = None) -> AtpTable:
        """The ATP table of a SKU at a location: on hand now plus its supply to come (cached:
        a pure function of the rule set and these arguments; the cache is bounded). With a
        caller's `picture` (`.supply` and `.demand` events by (location, sku), e.g. the
        simulator's over time) those events replace the reference supply (not cached)."""
        key = (loc, sku, on_hand, as_of)
        table = self._atp.get(key) if picture is None else None
        if table is not None:
            return table
        promising = self.promising
        if promising is None:
            raise RuleError("promising: the rule set has no atp_rules table")
        _load_promising()  # a network unpickled from the compiled cache
        buckets = self._buckets.get(as_of)
        if buckets is None:
            buckets = Buckets.daily(as_of, promising.horizon_days, promising.calendar)
            if len(self._buckets) < 1000:
                self._buckets[as_of] = buckets
        supplies = [Supply(sku, loc, SupplyType.ON_HAND, as_of, on_hand)] if on_hand > 0 else []
        events = promising.supply if picture is None else picture.supply
        supplies += events.get((loc, sku), ())
        demands = () if picture is None else picture.demand.get((loc, sku), ())
        table = build(promising.rule, buckets, as_of, supplies, demands)
        if picture is None and len(self._atp) < 100_000:
            self._atp[key] = table
        return table


def _shortest_paths(graph: dict[Any, dict[Any, tuple[Decimal, Decimal, Decimal]]],
                    source: Any) -> dict[Any, list[Any]]:
    """The least-weight path from source to every node it reaches: Dijkstra exactly as
    networkx's single_source_dijkstra_path runs it (the same heap order, successors in
    insertion order, the first path found on a tie), without importing networkx."""
    dist: dict[Any, Decimal] = {}
    seen: dict[Any, Decimal] = {source: ZERO}
    paths: dict[Any, list[Any]] = {source: [source]}
    fringe: list[tuple[Decimal, int, Any]] = [(ZERO, 0, source)]
    count = 1
    while fringe:
        d, _, v = heapq.heappop(fringe)
        if v in dist:
            continue
        dist[v] = d
        for u, edge in graph[v].items():
            vu = d + edge[0]
            if u in dist:
                continue
            if u not in seen or vu < seen[u]:
                seen[u] = vu
                heapq.heappush(fringe, (vu, count, u))
                count += 1
                paths[u] = paths[v] + [u]
    return paths


class Allocation:
    """Stock taken within one decision, on top of the on-hand figures it started from."""

    def __init__(self, network: Network, stock: Any):
        self.network = network
        self.stock = stock  # None: the reference inventory; else a mapping the caller owns
        self.taken: dict[tuple[str, str], Decimal] = {}
        # promising: this decision's ATP tables, with what it took and promised placed
        self.tables: dict[tuple[str, str], AtpTable] = {}
        self.placed: dict[tuple[str, str], Decimal] = {}
        self.picture = getattr(stock, "atp", None)  # a caller's supply and demand over time
        self.ranked: list[tuple[str, Route]] = []  # the last `source`'s ranking (read only)
        # what that ranking was of: the same candidates (the same list: one action's), region
        # and preference rank alike, without a look-up in the network's cache (issue 16)
        self.ranked_for: tuple[Any, Any, str] | None = None

    def available(self, loc: str, sku: str) -> Decimal:
        key = (loc, sku)
        base = self.network.on_hand.get(key, ZERO) if self.stock is None \
            else self.stock.get(key, ZERO)
        return base - self.taken.get(key, ZERO)

    def source(self, candidates: list[str], sku: str, qty: Decimal, region: str | None,
               prefer: str, key_of: Any, split: bool,
               as_of: datetime.date) -> tuple[list[dict[str, Any]], Decimal]:
        net = self.network
        if region is None:
            self.ranked, self.ranked_for = [], None
            return [], qty
        if prefer == "expr":
            ranked = self._rank_by(candidates, region, key_of)
            self.ranked_for = None
        else:
            last = self.ranked_for
            if last is not None and last[0] is candidates and last[1] == region \
                    and last[2] == prefer:
                ranked = self.ranked
            else:
                ranked = net.ranking(tuple(candidates), region, prefer)
                self.ranked_for = (candidates, region, prefer)
        self.ranked = ranked
        allocations: list[dict[str, Any]] = []
        remaining = qty
        if self.stock is None:  # the reference inventory, as `available` reads it
            if sku not in net.stocked:
                return allocations, remaining
            stock = net.on_hand
        else:
            stock = self.stock
        taken = self.taken
        for loc, route in ranked:
            if remaining <= ZERO:  # a Decimal: against the int 0 each test converts it
                break
            key = (loc, sku)
            have = stock.get(key)
            if have is None:  # none there (what is taken is never below zero)
                continue
            took = taken.get(key)
            if took is not None:
                have -= took
            if have <= ZERO:
                continue
            if not split and have < remaining:
                continue
            take = remaining if remaining < have else have  # min(have, remaining), the first
            taken[key] = (ZERO if took is None else took) + take  # of equals: its digits
            remaining -= take
            ship = as_of + net.handling.get(loc, NO_TIME)
            arrival = ship + route.transit
            allocations.append({"location": loc, "quantity": take,
                                "ship_date": ship, "arrival_date": arrival})
            if not split:
                break
        return allocations, remaining

    def _rank_by(self, candidates: list[str], region: str,
                 key_of: Any) -> list[tuple[str, Route]]:
        net = self.network
        ranked = []
        for pos, loc in enumerate(candidates):
            fastest = net.nearest.get(loc, {}).get(region)
            if fastest is None:
                continue
            value = key_of(net.locations.get(loc) or {"id": loc})
            ranked.append(((value is None, value if value is not None else ZERO, pos), loc,
                           fastest))
        try:
            ranked.sort(key=lambda r: r[0])
        except TypeError:
            raise RuleError("the sourcing preference gave values of different kinds") from None
        return [(loc, route) for _, loc, route in ranked]

    # -- promising ---------------------------------------------------------------------------
    def promise(self, sku: str, qty: Decimal, allocations: list[dict[str, Any]],
                backordered: Decimal, candidates: list[str], region: str | None, prefer: str,
                key_of: Any, as_of: datetime.date, split: bool = True,
                demand_class: Any = None) -> dict[str, Any] | None:
        """The line's promise (None when the rule set has no `atp_rules`): its allocations as
        on-hand parts, then dates for the backorder from the supply to come: the ranked
        location that promises most, earliest, first; what it cannot promise, from the next.
        With an `allocation` table, or a bill of material for the SKU, the whole line is
        promised as the service's hub promises it (`_made_or_allocated`)."""
        net = self.network
        if net.promising_error is not None:
            raise RuleError(f"promising: {net.promising_error}")
        if net.promising is None:
            return None
        if net.makeup_error is not None:
            raise RuleError(f"promising: {net.makeup_error}")
        _load_promising()  # a network unpickled from the compiled cache
        mk = net.makeup
        assert mk is not None  # made with the promising setup
        if region is not None and (mk.allocation is not None or sku in mk.boms):
            other = self._made_or_allocated(sku, qty, allocations, candidates, region, prefer,
                                            key_of, as_of, split, demand_class)
            if other is not None:
                return other
        parts: list[dict[str, Any]] = []
        trace: list[dict[str, Any]] = []
        today = as_of.isoformat()
        for a in allocations:  # (their tables, if needed, get them placed by `_table`)
            loc, q = a["location"], plain(a["quantity"])
            parts.append({"location": loc, "quantity": q,
                          "ship_date": a["ship_date"].isoformat(),
                          "arrival_date": a["arrival_date"].isoformat(), "from": "on_hand"})
            trace.append({"step": "on_hand", "location": loc, "date": today, "quantity": q,
                          "note": ""})
        short = backordered
        if backordered > 0 and region is not None:
            ranked = list(net.ranking(tuple(candidates), region, prefer) if prefer != "expr"
                          else self._rank_by(candidates, region, key_of))  # a copy: the
            while short > 0 and ranked:                                   # ranking is cached
                found = self._best(ranked, sku, short, as_of, trace)
                if found is None:
                    break
                pos, made, after = found
                loc, route = ranked.pop(pos)
                self.tables[(loc, sku)] = after
                parts += self._atp_parts(loc, route, made)
                trace += [{"step": st.what, "location": loc,
                           "date": st.date.isoformat() if st.date else None,
                           "quantity": plain(st.quantity), "note": st.note}
                          for st in made.trace]
                short = made.short
        if len(parts) == 1:  # the usual line: one part, its dates the promise's
            (only,) = parts
            return {"ship_date": only["ship_date"], "arrival_date": only["arrival_date"],
                    "short": plain(short), "parts": parts, "trace": trace}
        last = max(parts, key=lambda p: p["ship_date"], default=None)
        return {"ship_date": last["ship_date"] if last else None,
                "arrival_date": max(p["arrival_date"] for p in parts) if parts else None,
                "short": plain(short), "parts": parts, "trace": trace}

    def _made_or_allocated(self, sku: str, qty: Decimal, allocations: list[dict[str, Any]],
                           candidates: list[str], region: str, prefer: str, key_of: Any,
                           as_of: datetime.date, split: bool,
                           demand_class: Any) -> dict[str, Any] | None:
        """The line's promise by capable-to-promise (an item with a bill, at the candidates
        that have capacity for every step of it) or by its demand class's share (an
        `allocation` table), exactly as adapters/supply_make.promise_line promises it: the
        whole line from the decision's tables, where this line's own on-hand allocations are
        not yet taken (the hub promises the line from stock, not from what `source` took).
        None: neither applies (a made item no candidate can make: the ATP rule promises it)."""
        net = self.network
        mk = net.makeup
        assert net.promising is not None and mk is not None
        ranked = list(net.ranking(tuple(candidates), region, prefer) if prefer != "expr"
                      else self._rank_by(candidates, region, key_of))
        sites = [Site(loc, net.handling.get(loc, NO_TIME), route.transit)
                 for loc, route in ranked]
        split = net.promising.rule.split and split
        mine: dict[str, Decimal] = {}
        for a in allocations:
            mine[a["location"]] = mine.get(a["location"], ZERO) + a["quantity"]
        for loc, q in mine.items():  # given back while the line is promised whole
            self.taken[(loc, sku)] -= q
        made: LinePromise | None = None
        try:
            if sku in mk.boms:
                made = self._made(mk, sku, qty, sites, as_of)
            else:
                made = self._allocated(mk, sku, qty, sites, as_of, split, demand_class)
        except ValueError as exc:  # the rule set's data cannot promise this way
            raise RuleError(f"promising: reference/promising: {exc}") from None
        finally:
            for loc, q in mine.items():  # taken again; a promise placed the line itself
                key = (loc, sku)
                self.taken[key] += q
                if made is not None and key in self.placed:
                    self.placed[key] += q
        return None if made is None else _promise_json(made)

    def _made(self, mk: Makeup, sku: str, qty: Decimal, sites: list[Site],
              as_of: datetime.date) -> LinePromise | None:
        plants = []
        for site in sites[:MAX_PLANTS]:
            loc = site.location
            hours = mk.capacity.get(loc)
            if hours is None:
                continue
            items = {c: self._table(loc, c, as_of) for c in mk.components(sku)}
            resources = {r: self._resource(loc, r, h, items[sku]) for r, h in hours.items()}
            boms = {k: b for k, b in mk.boms.items() if k in items}
            if any(r not in resources for b in boms.values() for r, _ in b.hours):
                continue  # this location cannot do every step of the bill
            plants.append((site, Plant(items[sku].buckets, as_of, items, resources, boms)))
        if not plants:
            return None
        made, after, _taken = made_line(plants, sku, qty, as_of)
        if after is not None:
            loc = made.parts[0].location
            for item, t in after.items.items():
                self.tables[(loc, item)] = t
            for res, t in after.resources.items():
                self.tables[(loc, RESOURCE + res)] = t
        return made

    def _resource(self, loc: str, res: str, hours: Decimal, like: AtpTable) -> AtpTable:
        """This decision's table of a resource's hours at a location (what the decision's
        made lines used placed)."""
        key = (loc, RESOURCE + res)
        table = self.tables.get(key)
        if table is None:
            table = capacity(like.buckets, hours)
            self.tables[key] = table
        return table

    def _allocated(self, mk: Makeup, sku: str, qty: Decimal, sites: list[Site],
                   as_of: datetime.date, split: bool, demand_class: Any) -> LinePromise:
        rule = mk.allocation
        assert rule is not None
        dclass = str(demand_class).strip()[:100] if demand_class not in (None, "") else None
        node = mk.demand_class_node(dclass)
        if node is None:
            note = f"no allocation node serves demand class {dclass!r} and there is no " \
                   f"{ANY_CLASS!r} node" if dclass else "the order has no demand_class and " \
                   f"the allocation has no {ANY_CLASS!r} node"
            return LinePromise(sku, qty, (), qty, (("short", "", None, qty, note),))
        served = dclass if dclass and dclass in rule.node(node).demand_classes else ANY_CLASS
        tables = {s.location: self._table(s.location, sku, as_of) for s in sites}
        made, after = allocated_line(tables, sku, qty, sites, as_of, split, rule, served)
        for loc, t in after.items():
            self.tables[(loc, sku)] = t
        return made

    def _best(self, ranked: list[tuple[str, Route]], sku: str, qty: Decimal,
              as_of: datetime.date, trace: list[dict[str, Any]]
              ) -> tuple[int, Promise, AtpTable] | None:
        """The ranked location whose supply to come promises most, then earliest (ties: the
        better ranked); each one looked at goes into the trace."""
        best: tuple[Any, ...] | None = None
        setup_ = self.network.promising
        for pos, (loc, _route) in enumerate(ranked):
            if setup_ is not None and setup_.rule.infinite_fence_days is None \
                    and (loc, sku) not in (setup_.supply if self.picture is None
                                           else self.picture.supply) \
                    and self.available(loc, sku) <= 0:
                continue  # nothing on hand, nothing to come: no table needed to say no
            made, after = promise(self._table(loc, sku, as_of), qty, as_of, as_of, item=sku,
                                  location=loc)
            ship = made.ship_date + self.network.handling.get(loc, NO_TIME) \
                if made.ship_date else None
            trace.append({"step": "location", "location": loc,
                          "date": ship.isoformat() if ship else None,
                          "quantity": plain(made.promised),
                          "note": f"short {plain(made.short)}" if made.short else ""})
            rank = (made.short, made.ship_date or datetime.date.max, pos)
            if made.parts and (best is None or rank < best[0]):
                best = (rank, pos, made, after)
        return None if best is None else (best[1], best[2], best[3])

    def _table(self, loc: str, sku: str, as_of: datetime.date) -> AtpTable:
        """This decision's table of the SKU at the location, with everything the decision took
        there from on hand placed on the as-of day."""
        key = (loc, sku)
        table = self.tables.get(key)
        if table is None:
            base = self.available(loc, sku) + self.taken.get(key, ZERO)
            table = self.network.atp_table(loc, sku, base, as_of, self.picture)
            self.placed[key] = ZERO
        missing = self.taken.get(key, ZERO) - self.placed[key]
        if missing > 0:
            table = table.with_demand(0, missing)
            self.placed[key] += missing
        self.tables[key] = table
        return table

    def _atp_parts(self, loc: str, route: Route, made: Promise) -> list[dict[str, Any]]:
        handling = self.network.handling.get(loc, NO_TIME)
        out = []
        for p in made.parts:
            ship = p.ship_date + handling
            out.append({"location": loc, "quantity": plain(p.quantity),
                        "ship_date": ship.isoformat(),
                        "arrival_date": (ship + route.transit).isoformat(),
                        "from": "atp" if p.bucket is not None else "infinite_fence"})
        return out


def _promise_json(made: LinePromise) -> dict[str, Any]:
    """A line's promise by the hub's pure functions as the decision gives every promise."""
    ship, arrival = made.ship_date, made.arrival_date
    return {"ship_date": ship.isoformat() if ship else None,
            "arrival_date": arrival.isoformat() if arrival else None,
            "short": plain(made.short),
            "parts": [{"location": p.location, "quantity": plain(p.quantity),
                       "ship_date": p.ship_date.isoformat(),
                       "arrival_date": p.arrival_date.isoformat() if p.arrival_date else None,
                       "from": p.source} for p in made.parts],
            "trace": [{"step": st, "location": loc or None, "date": d,
                       "quantity": plain(q), "note": note}
                      for st, loc, d, q, note in made.trace[:200]]}
