"""Static checks of a configuration model, at FILE:LINE:COL (`ordinance check` shows them).

In: a compiled `ConfigModel` and the checker's diagnostics. Out: an error when no valid
configuration exists; a warning for each option or value no valid configuration can take
(pointed at the option, naming the rule that removes it when one does); a warning for each
rule that can never apply (its condition is never false, or the premise of an `implies` or
`requires` is never true in a valid configuration). Rules with an effective window are left
out of the analysis (they hold only on some dates), so what it reports holds on every date.
"""
from __future__ import annotations

from ..diagnostics import Code, Diagnostics
from .model import ConfigModel, Constraint
from .solver import Removed, SearchLimit, Solver

ANALYSIS_NODES = 50_000


def analyse(model: ConfigModel, diags: Diagnostics) -> None:
    solver = Solver(model, None, ANALYSIS_NODES)
    solver.constraints = [c for c in solver.constraints
                          if c.effective_from is None and c.effective_until is None]
    solver.watch = {v.id: [c for c in solver.watch[v.id] if c in solver.constraints]
                    for v in model.vars}
    dom = solver.domains()
    removed: Removed = {}
    failed = solver.propagate(dom, removed)
    if failed is not None:
        diags.error(Code.NEVER_FIRES, model.span, f"model '{model.id}' has no valid "
                    f"configuration: '{failed.id}' ({failed.message}) cannot hold",
                    f"see {failed.span}")
        return
    try:
        ok = solver.supports(dom, removed, lambda vid, xs: xs)
    except SearchLimit:
        return  # too large to analyse exactly: the propagation's findings are reported below
    if not ok:
        diags.error(Code.NEVER_FIRES, model.span, f"model '{model.id}' has no valid "
                    "configuration")
        return
    for v in model.vars:
        for x, span in zip(v.domain, v.value_spans):
            if x in dom[v.id] or (v.kind == "option" and x == 0) or x is None:
                continue
            if v.kind == "option" and any(y for y in dom[v.id]):
                continue  # a smaller quantity of it is possible
            c = removed.get((v.id, x))
            what = (f"option '{x}' of group '{v.owner}'" if v.kind == "choice" else
                    f"option '{v.id}'" if v.kind == "option" else
                    f"value {x!r} of feature '{v.id}'")
            diags.warning(Code.NEVER_FIRES, span, f"{what} is in no valid configuration"
                          + (f": '{c.id}' removes it" if c is not None else ""),
                          f"see {c.span}" if c is not None else None)
    for c in solver.constraints:
        if c.kind != "tuples" or c.allowed is None:
            continue
        live = _product(c.scope, dom)
        if live and all(t in c.allowed for t in live) and len(live) <= 5000:
            if c.antecedent is not None and not any(t in c.antecedent for t in live):
                diags.warning(Code.NEVER_FIRES, c.span, f"rule '{c.id}' can never apply: its "
                              "premise is true in no valid configuration")
            elif c.antecedent is None and not _restricts(c, model):
                diags.warning(Code.NEVER_FIRES, c.span, f"rule '{c.id}' can never apply: it "
                              "holds for every combination of its values")


def _restricts(c: Constraint, model: ConfigModel) -> bool:
    """Whether the rule forbids some combination of its variables' full domains."""
    vars_ = {v.id: v for v in model.vars}
    total = 1
    for vid in c.scope:
        total *= len(vars_[vid].domain)
    return c.allowed is not None and len(c.allowed) < total


def _product(scope: tuple[str, ...], dom: dict[str, list[object]]) -> list[tuple[object, ...]]:
    from itertools import product
    size = 1
    for v in scope:
        size *= len(dom[v])
    if size > 5000:
        return []
    return list(product(*(dom[v] for v in scope)))
