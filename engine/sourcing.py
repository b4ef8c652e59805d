"""Sourcing (SPEC section 4): routes over `ref.lanes`, ranking of locations, allocation.

In: `ref.locations`, `ref.inventory`, `ref.lanes` at compile time; a line, its candidate
locations, a preference and a split flag at evaluation.
Out: the line's allocations (location, quantity, ship and arrival dates) and its backorder.

Routes are computed once per rule set with networkx: for every location and region, the route
with the fewest transit days (ties: the cheaper) and the cheapest route (ties: the fewer days).
A lane's `to` is a location when a location has that id, else a region; a route must end in a
lane into the order's region (a location's own region does not count).
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import cached_property
from decimal import Decimal
from typing import Any

import networkx as nx

from .values import D, RuleError, Table, render

ZERO = D(0)
NO_TIME = datetime.timedelta(0)
_WEIGHT = D(10) ** 12


@dataclass(frozen=True)
class Route:
    days: Decimal
    cost: Decimal

    @cached_property  # read for every allocation; a route is made once per rule set
    def transit(self) -> datetime.timedelta:
        return datetime.timedelta(days=int(self.days))


class Network:
    def __init__(self, locations: Table | None, inventory: Table | None, lanes: Table | None):
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
        self._rankings: dict[tuple[Any, ...], list[tuple[str, Route]]] = {}
        self.nearest: dict[str, dict[str, Route]] = {}
        self.cheapest: dict[str, dict[str, Route]] = {}
        self._routes([r for r in (lanes.rows if lanes else []) if isinstance(r, dict)])

    def _routes(self, lanes: list[dict[str, Any]]) -> None:
        # nodes are ("loc", id) or ("region", code)
        by_days: nx.DiGraph[tuple[str, str]] = nx.DiGraph()
        by_cost: nx.DiGraph[tuple[str, str]] = nx.DiGraph()
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
                old = graph.get_edge_data(a, b)
                if old is None or weight < old["w"]:
                    graph.add_edge(a, b, w=weight, days=days, cost=cost)
        for graph, table in ((by_days, self.nearest), (by_cost, self.cheapest)):
            for node in graph.nodes:
                if node[0] != "loc":
                    continue
                paths = nx.single_source_dijkstra_path(graph, node, weight="w")
                routes: dict[str, Route] = {}
                for target, path in paths.items():
                    if target[0] != "region":
                        continue
                    edges = [graph.edges[u, v] for u, v in zip(path, path[1:])]
                    routes[target[1]] = Route(sum((e["days"] for e in edges), ZERO),
                                              sum((e["cost"] for e in edges), ZERO))
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


class Allocation:
    """Stock taken within one decision, on top of the on-hand figures it started from."""

    def __init__(self, network: Network, stock: Any):
        self.network = network
        self.stock = stock  # None: the reference inventory; else a mapping the caller owns
        self.taken: dict[tuple[str, str], Decimal] = {}

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
            return [], qty
        if prefer == "expr":
            ranked = self._rank_by(candidates, region, key_of)
        else:
            ranked = net.ranking(tuple(candidates), region, prefer)
        allocations: list[dict[str, Any]] = []
        remaining = qty
        for loc, route in ranked:
            if remaining <= 0:
                break
            have = self.available(loc, sku)
            if have <= 0:
                continue
            if not split and have < remaining:
                continue
            take = min(have, remaining)
            self.taken[(loc, sku)] = self.taken.get((loc, sku), ZERO) + take
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
