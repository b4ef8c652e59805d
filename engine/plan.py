"""The order of work: which packs each phase runs, in which order (SPEC section 2).

In: the checked packs, in file order, and where to report. Out: for each phase, its packs in
the order they run: the `after` graph topologically sorted, ties broken by pack id, so the
plan is the same on every machine whatever the file system's order. A cycle is a PACK_CYCLE
diagnostic at each `after` entry in it (the packs then run in id order, for `check` to go on).

The non-obvious choice: `after` orders packs of one phase only; naming a pack of another phase
is an error rather than a silent no-op, since phases already run in their fixed order.
"""
from __future__ import annotations

import heapq

from .diagnostics import Code, Diagnostics
from .model import PHASES, Pack


def plan(packs_in_order: list[Pack], diags: Diagnostics) -> dict[str, list[Pack]]:
    """Each phase's packs in the order they run; unknown or cross-phase `after` entries and
    cycles become diagnostics at the `after` entry."""
    plan: dict[str, list[Pack]] = {}
    packs = {p.id: p for p in packs_in_order}
    for phase in PHASES:
        members = [p for p in packs_in_order if p.phase == phase]
        graph: dict[str, dict[str, None]] = {p.id: {} for p in members}  # after -> pack
        for p in members:
            for dep, span in zip(p.after, p.after_spans):
                other = packs.get(dep)
                if other is None:
                    diags.error(Code.UNKNOWN_PACK, span, f"after names an unknown pack '{dep}'")
                elif other.phase != phase:
                    diags.error(Code.UNKNOWN_PACK, span, f"after names pack '{dep}' of the "
                                f"{other.phase} phase; after orders packs of one phase")
                else:
                    graph[dep][p.id] = None
        order = _sorted(graph)
        if order is None:
            import networkx as nx  # only to name a cycle: a valid rule set never loads it

            g: nx.DiGraph[str] = nx.DiGraph()
            g.add_nodes_from(graph)
            g.add_edges_from((u, v) for u, succ in graph.items() for v in succ)
            edges = nx.find_cycle(g)
            cycle = [u for u, _ in edges]
            for u, v in edges:  # v runs after u: point at v's `after` entry naming u
                p = packs[v]
                span = p.after_spans[p.after.index(u)] if u in p.after else p.span
                diags.error(Code.PACK_CYCLE, span, "packs wait for each other: "
                            + " -> ".join(cycle + [cycle[0]]),
                            "remove one of the after entries in the cycle")
            order = sorted(graph)
        plan[phase] = [packs[pid] for pid in order]
    return plan


def _sorted(graph: dict[str, dict[str, None]]) -> list[str] | None:
    """The graph's nodes topologically sorted, the smallest id first among those ready
    (networkx's lexicographical_topological_sort, in the standard library); None on a cycle."""
    waiting = {n: 0 for n in graph}
    for succ in graph.values():
        for v in succ:
            waiting[v] += 1
    ready = [n for n, k in waiting.items() if k == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        n = heapq.heappop(ready)
        order.append(n)
        for v in graph[n]:
            waiting[v] -= 1
            if waiting[v] == 0:
                heapq.heappush(ready, v)
    return order if len(order) == len(graph) else None
