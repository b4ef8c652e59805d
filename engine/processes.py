"""Orchestration processes (processes/*.yaml): the steps of a fulfilment flow, chosen per order.

In: a process file's YAML node, checked by the rule-set `Checker` (ruleset.py hands every YAML
file under `processes/` here instead of reading it as a pack). Out: a `Process` with its
compiled `when` condition, its steps (kind, fulfilment system as a text with {EXPR}, planned
duration) and `choose(processes, order, ref, as_of)`, which picks the process for an order:
of the enabled processes whose `when` holds, the one with the highest `priority`, then the
smallest id. Raises nothing for the user's mistakes: they are diagnostics with FILE:LINE:COL.

Names in a process's expressions: `order`, `customer`, `ref` (as in decision packs).
"""
from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .diagnostics import Code, Span
from .events import EventState, parse_duration
from .expressions import Expr, Scope
from .values import render

ROOTS = frozenset({"order", "customer", "ref"})


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    system: Callable[[Any], str]
    planned: datetime.timedelta
    span: Span
    after: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Process:
    id: str
    file: str
    span: Span
    enabled: bool
    priority: Decimal
    when: Expr | None
    steps: list[Step]
    description: str = ""

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)


def check_process(c: Any, rel: str, node: Any) -> Process | None:
    """Validate against process.schema.json and compile; diagnostics go to `c.diags`."""
    if node is None:
        return None
    if not c.validate(node, "process"):
        return None
    v = node.value
    c.for_each = False
    c.reads_pricing = False
    c.scope = Scope(ROOTS, frozenset(c.model.tables))
    when = None
    if "when" in v:
        when = c.condition(v["when"])
    steps: list[Step] = []
    seen: dict[str, Span] = {}
    for snode in v["steps"].value:
        sv = snode.value
        sid = sv["id"].value
        if sid in seen:
            c.diags.error(Code.DUPLICATE_ID, sv["id"].span, f"step id '{sid}' is used twice "
                          f"(first at line {seen[sid].line})")
        after = tuple(n.value for n in sv["after"].value) if "after" in sv else ()
        for n in sv["after"].value if "after" in sv else []:
            if n.value not in seen:
                c.diags.error(Code.UNKNOWN_NAME, n.span, f"after names '{n.value}', which is "
                              "not a step before this one")
        seen[sid] = snode.span
        planned = parse_duration(sv["planned"].value)
        assert planned is not None  # the schema's pattern admits durations only
        steps.append(Step(sid, sv["kind"].value, c.template(sv["system"]), planned, snode.span,
                          after, render(sv["description"].value) if "description" in sv
                          else ""))
    return Process(v["process"].value, rel, node.span,
                   v["enabled"].value if "enabled" in v else True,
                   Decimal(v["priority"].value) if "priority" in v else Decimal(0), when, steps,
                   render(v["description"].value) if "description" in v else "")


def choose(processes: list[Process], order: dict[str, Any], ref: Any,
           as_of: datetime.date) -> Process | None:
    """The process for an order (highest priority, then smallest id, among those that apply).
    A rule error in a `when` makes that process not apply (and is raised to the caller only
    when no process applies, so the caller can report it)."""
    st = EventState(ref, {}, order, None, None, as_of)
    for p in sorted(processes, key=lambda p: (-p.priority, p.id)):
        if p.enabled and (p.when is None or p.when.fn(st.S, st)):
            return p
    return None


def plan_of(process: Process, order: dict[str, Any], ref: Any,
            as_of: datetime.date) -> list[dict[str, Any]]:
    """The process's steps for an order, as data: id, kind, system (rendered), planned."""
    st = EventState(ref, {}, order, None, None, as_of)
    return [{"id": s.id, "kind": s.kind, "system": s.system(st),
             "planned": _duration_text(s.planned), "planned_seconds": int(
                 s.planned.total_seconds()), "after": list(s.after)} for s in process.steps]


def _duration_text(d: datetime.timedelta) -> str:
    secs = int(d.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if secs and secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"
