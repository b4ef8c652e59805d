"""Propagation and search over a configuration model's finite domains.

In: a `ConfigModel` and an as-of date (a rule outside its effective window does not apply).
Out: `Solver.propagate` narrows domains to generalised arc consistency and records, for each
value it removes, the constraint that removed it (the "why is this greyed out" answer);
`Solver.search` walks the valid full configurations depth first, maintaining arc consistency
at every node (MAC), in a chosen value order (defaults first, or cheapest first with branch and
bound). Raises `SearchLimit` past `max_nodes` search nodes: every loop here is bounded.

Why our own search and not a library: docs/configurator.md has the measurements. In short,
the constraints are compiled to tuples and sums once (engine/configurator/check.py), so
propagation is a few set look-ups per constraint; on the shipped models and the 40-group,
100-rule bench model this answers in a few milliseconds, where OR-Tools CP-SAT spends longer
building its model than we spend solving, python-constraint has no propagation that explains
removals, and neither says which constraint removed a value, which is the feature.
"""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, Callable, Iterator

from .model import ConfigModel, Constraint

Domains = dict[str, list[Any]]
Removed = dict[tuple[str, Any], Constraint]
MAX_NODES = 200_000
PER_VALUE_NODES = 200  # search nodes to prove one value possible or not
SUPPORT_NODES = 5_000  # for all the values of one configure step


class SearchLimit(Exception):
    def __init__(self, nodes: int):
        super().__init__(f"the search needs more than {nodes:,} steps")
        self.nodes = nodes


class Solver:
    def __init__(self, model: ConfigModel, as_of: datetime.date | None = None,
                 max_nodes: int = MAX_NODES):
        self.model = model
        self.constraints = [c for c in model.constraints if c.active(as_of)]
        self.watch: dict[str, list[Constraint]] = {v.id: [] for v in model.vars}
        for c in self.constraints:
            for vid in c.scope:
                self.watch[vid].append(c)
        self.order = [v.id for v in model.vars]
        self.vars = {v.id: v for v in model.vars}
        self.max_nodes = max_nodes
        self.nodes = 0
        self.unproven: set[tuple[str, Any]] = set()

    def domains(self) -> Domains:
        return {v.id: list(v.domain) for v in self.model.vars}

    # propagation ---------------------------------------------------------------------------------
    def propagate(self, dom: Domains, removed: Removed | None = None,
                  changed: list[str] | None = None) -> Constraint | None:
        """Narrows `dom` in place to a fixpoint; the constraint that emptied a domain, or None.
        `changed`: the variables narrowed since the last fixpoint (None: all constraints)."""
        if changed is None:
            queue = list(self.constraints)
        else:
            queue = list(dict.fromkeys(c for vid in changed for c in self.watch[vid]))
        pending = {id(c) for c in queue}
        while queue:
            c = queue.pop()
            pending.discard(id(c))
            narrowed = self._revise_tuples(c, dom, removed) if c.kind == "tuples" \
                else self._revise_sum(c, dom, removed)
            if narrowed is None:
                return c
            for vid in narrowed:
                if not dom[vid]:
                    return c
                for other in self.watch[vid]:
                    if other is not c and id(other) not in pending:
                        pending.add(id(other))
                        queue.append(other)
        return None

    def _revise_tuples(self, c: Constraint, dom: Domains,
                       removed: Removed | None) -> list[str] | None:
        scope = c.scope
        if c.allowed is None:  # too many combinations to list: checked once decided
            if all(len(dom[v]) == 1 for v in scope) and c.check is not None \
                    and not c.check(tuple(dom[v][0] for v in scope)):
                return None
            return []
        sets = [set(dom[v]) for v in scope]
        k = len(scope)
        support: list[set[Any]] = [set() for _ in scope]
        if k == 1:
            support[0] = {t[0] for t in c.allowed if t[0] in sets[0]}
        elif k == 2:
            s0, s1 = sets
            for a, b in c.allowed:
                if a in s0 and b in s1:
                    support[0].add(a)
                    support[1].add(b)
        else:
            for t in c.allowed:
                for i in range(k):
                    if t[i] not in sets[i]:
                        break
                else:
                    for i in range(k):
                        support[i].add(t[i])
        narrowed = []
        for i, vid in enumerate(scope):
            if len(support[i]) < len(sets[i]):
                if removed is not None:
                    for x in dom[vid]:
                        if x not in support[i]:
                            removed.setdefault((vid, x), c)
                dom[vid] = [x for x in dom[vid] if x in support[i]]
                narrowed.append(vid)
        return narrowed

    def _revise_sum(self, c: Constraint, dom: Domains,
                    removed: Removed | None) -> list[str] | None:
        lows, highs = [], []
        for vid, w in zip(c.scope, c.weights):
            vals = [w[x] for x in dom[vid]]
            lows.append(min(vals))
            highs.append(max(vals))
        lo, hi = sum(lows, Decimal(0)), sum(highs, Decimal(0))
        if (c.high is not None and lo > c.high) or (c.low is not None and hi < c.low):
            return None
        narrowed = []
        for i, (vid, w) in enumerate(zip(c.scope, c.weights)):
            keep = [x for x in dom[vid]
                    if (c.high is None or lo - lows[i] + w[x] <= c.high)
                    and (c.low is None or hi - highs[i] + w[x] >= c.low)]
            if len(keep) < len(dom[vid]):
                if removed is not None:
                    for x in dom[vid]:
                        if x not in keep:
                            removed.setdefault((vid, x), c)
                dom[vid] = keep
                narrowed.append(vid)
        return narrowed

    # search -------------------------------------------------------------------------------------
    def search(self, dom: Domains, value_order: Callable[[str, list[Any]], list[Any]],
               cost: Callable[[str, Any], Decimal] | None = None) -> Iterator[dict[str, Any]]:
        """Every valid full configuration under `dom` (already propagated), depth first; with
        `cost`, only configurations cheaper than the best found so far (branch and bound: the
        last one yielded is the cheapest)."""
        best: list[Decimal | None] = [None]
        yield from self._search(dom, value_order, cost, best)

    def _bound(self, dom: Domains, cost: Callable[[str, Any], Decimal]) -> Decimal:
        return sum((min(cost(v, x) for x in xs) for v, xs in dom.items()), Decimal(0))

    def _search(self, dom: Domains, value_order: Callable[[str, list[Any]], list[Any]],
                cost: Callable[[str, Any], Decimal] | None,
                best: list[Decimal | None]) -> Iterator[dict[str, Any]]:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise SearchLimit(self.max_nodes)
        if cost is not None and best[0] is not None and self._bound(dom, cost) >= best[0]:
            return
        open_vars = [v for v in self.order if len(dom[v]) > 1]
        if not open_vars:
            solution = {v: xs[0] for v, xs in dom.items()}
            if not self._lazy_ok(solution):
                return
            if cost is not None:
                best[0] = sum((cost(v, x) for v, x in solution.items()), Decimal(0))
            yield solution
            return
        vid = min(open_vars, key=lambda v: len(dom[v]))
        for x in value_order(vid, dom[vid]):
            child = {v: (xs if v != vid else [x]) for v, xs in dom.items()}
            if self.propagate(child, None, [vid]) is None:
                yield from self._search(child, value_order, cost, best)

    def _lazy_ok(self, solution: dict[str, Any]) -> bool:
        return all(c.allowed is not None or c.check is None
                   or c.check(tuple(solution[v] for v in c.scope)) for c in self.constraints)

    def first(self, dom: Domains,
              value_order: Callable[[str, list[Any]], list[Any]]) -> dict[str, Any] | None:
        return next(iter(self.search(dom, value_order)), None)

    def supports(self, dom: Domains, removed: Removed,
                 value_order: Callable[[str, list[Any]], list[Any]],
                 per_value: int = PER_VALUE_NODES, total: int = SUPPORT_NODES) -> bool:
        """Narrows `dom` (propagated) to the values some valid full configuration takes; a value
        no configuration takes, though no single constraint removed it, is recorded with the
        constraint whose propagation failed after choosing it when there is one. A value whose
        search spends `per_value` nodes (or once `total` are spent) is kept unproven, in
        `self.unproven`. False when no valid configuration exists (raises SearchLimit when even
        that is not decided within the budget)."""
        first = self.first(dom, value_order)
        if first is None:
            return False
        seen = {(v, x) for v, x in first.items()}

        def unseen_first(vid: str, xs: list[Any]) -> list[Any]:
            # each solution found then covers as many values not yet seen as it can
            return sorted(value_order(vid, xs), key=lambda x: (vid, x) in seen)
        limit, spent = self.max_nodes, 0
        try:
            for vid in self.order:
                for x in list(dom[vid]):
                    if (vid, x) in seen:
                        continue
                    if spent >= total:
                        self.unproven.add((vid, x))
                        continue
                    child = {v: (xs if v != vid else [x]) for v, xs in dom.items()}
                    failed = self.propagate(child, None, [vid])
                    self.nodes, self.max_nodes = 0, per_value
                    try:
                        sol = None if failed is not None else self.first(child, unseen_first)
                    except SearchLimit:
                        self.unproven.add((vid, x))
                        continue
                    finally:
                        spent += self.nodes
                    if sol is None:
                        dom[vid] = [y for y in dom[vid] if y != x]
                        if failed is not None:
                            removed.setdefault((vid, x), failed)
                        continue
                    seen.update(sol.items())
        finally:
            self.max_nodes, self.nodes = limit, 0
        return True
