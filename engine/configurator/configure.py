"""Configure: a partial selection in, what is valid, still possible, why not, and the price.

In: a `ConfigModel`, a selection as JSON data (`{"cpu": "i7", "disks": ["ssd_512"],
"ram_gb": 16}`), the as-of date and what to add (a completion by defaults or cheapest, a count,
a list of configurations). Out: `configure(...)` gives a JSON-ready dict (docs/configurator.md
shows it); `price_of` and `bom_of` price and explode a full configuration. Raises
`SelectionError` (with the JSON path of the mistake) for a selection that names an unknown
group, option or value; never for an invalid configuration: that is an answer.

A group named in the selection is decided (its listed options chosen, the others not); a group
left out is open. Values are exact: numbers are Decimals as the codec reads them.
"""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from ..values import render
from .model import ConfigModel, Constraint, Var
from .solver import Domains, Removed, SearchLimit, Solver

MAX_LIST = 1000
MAX_COUNT = 100_000


class SelectionError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


def _value_of(var: Var, raw: Any, path: str) -> Any:
    """A feature's value from JSON or the command line ("16" for 16, "true" for true)."""
    for x in var.domain:
        if x == raw and type(x) is type(raw):
            return x
        if isinstance(raw, str) and render(x) == raw:
            return x
        if isinstance(raw, (int, Decimal)) and not isinstance(raw, bool) \
                and isinstance(x, Decimal) and x == raw:
            return x
    raise SelectionError(path, f"{render(raw)!r} is not a value of '{var.owner}' (values: "
                         + ", ".join(render(x) if x is not None else "null"
                                     for x in var.domain) + ")")


def parse_selection(model: ConfigModel, data: Any, path: str = "$.selection") -> dict[str, Any]:
    """The selection as variable -> value; SelectionError names the JSON path of a mistake."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SelectionError(path, "a selection is an object: group or feature -> choice")
    fixed: dict[str, Any] = {}
    groups = {g.id: g for g in model.groups}
    for key, raw in data.items():
        p = f"{path}.{key}"
        if key in groups:
            g = groups[key]
            if g.single:
                var = model.var(key)
                assert var is not None
                if isinstance(raw, list) and len(raw) <= 1:
                    raw = raw[0] if raw else None
                if raw not in var.domain or not (raw is None or isinstance(raw, str)):
                    raise SelectionError(p, f"{render(raw)!r} is not an option of group '{key}'"
                                         " (options: " + ", ".join(g.options) + ")"
                                         + (" or null" if g.min == 0 else ""))
                fixed[key] = raw
                continue
            chosen: dict[str, Any] = {}
            if isinstance(raw, list):
                for i, oid in enumerate(raw[:len(g.options) + 1]):
                    if not isinstance(oid, str) or oid not in g.options:
                        raise SelectionError(f"{p}[{i}]", f"{render(oid)!r} is not an option of "
                                             f"group '{key}' (options: {', '.join(g.options)})")
                    chosen[oid] = chosen.get(oid, 0) + 1
            elif isinstance(raw, dict):
                for oid, q in raw.items():
                    if oid not in g.options:
                        raise SelectionError(f"{p}.{oid}", f"'{oid}' is not an option of group "
                                             f"'{key}' (options: {', '.join(g.options)})")
                    if isinstance(q, bool) or not isinstance(q, (int, Decimal)) \
                            or q != int(q) or q < 0:
                        raise SelectionError(f"{p}.{oid}", "a quantity is a whole number")
                    chosen[oid] = int(q)
            elif raw is None:
                pass
            else:
                raise SelectionError(p, f"group '{key}' takes a list of options, or an object "
                                     "option -> quantity")
            for oid in g.options:
                var = model.var(f"{key}.{oid}")
                assert var is not None
                q = chosen.get(oid, 0)
                if q not in var.domain:
                    raise SelectionError(f"{p}.{oid}" if isinstance(raw, dict) else p,
                                         f"option '{oid}' of group '{key}' takes at most "
                                         f"{var.domain[-1]}")
                fixed[var.id] = q
            continue
        var = model.var(key)
        if var is None or var.kind != "feature":
            names = [g.id for g in model.groups] + [f.id for f in model.features]
            raise SelectionError(p, f"'{key}' is not a group or feature of model '{model.id}' "
                                 f"(known: {', '.join(names)})")
        fixed[key] = _value_of(var, raw, p)
    return fixed


def _why(c: Constraint) -> dict[str, Any]:
    return {"rule": c.id, "kind": c.origin, "message": c.message, "at": str(c.span)}


def _fields(model: ConfigModel, c: Constraint, fixed: dict[str, Any]) -> list[str]:
    owners = {v.id: v.owner for v in model.vars}
    return list(dict.fromkeys(owners[v] for v in c.scope if v in fixed))


def _order(model: ConfigModel, how: str) -> Any:
    """Value order for the search: "defaults" (the default first), or "cheapest"."""
    vars_ = {v.id: v for v in model.vars}

    def by_default(vid: str, xs: list[Any]) -> list[Any]:
        d = vars_[vid].default
        return sorted(xs, key=lambda x: x != d) if d in xs else xs

    def by_price(vid: str, xs: list[Any]) -> list[Any]:
        v = vars_[vid]
        return sorted(xs, key=lambda x: v.prices[v.domain.index(x)])
    return by_price if how == "cheapest" else by_default


def _cost(model: ConfigModel) -> Any:
    table = {(v.id, x): p for v in model.vars for x, p in zip(v.domain, v.prices)}
    return lambda vid, x: table[(vid, x)]


def selection_of(model: ConfigModel, assignment: dict[str, Any]) -> dict[str, Any]:
    """A full assignment as a selection (the inverse of `parse_selection`)."""
    out: dict[str, Any] = {}
    for g in model.groups:
        if g.single:
            out[g.id] = assignment[g.id]
            continue
        qty = {o: assignment[f"{g.id}.{o}"] for o in g.options if assignment[f"{g.id}.{o}"]}
        out[g.id] = list(qty) if all(q == 1 for q in qty.values()) else qty
    for f in model.features:
        out[f.id] = assignment[f.id]
    return out


def price_of(model: ConfigModel, assignment: dict[str, Any]) -> dict[str, Any]:
    """Base plus each chosen option's or value's adjustment, named `group.option` or
    `feature=value`."""
    adjustments = []
    total = model.base_price
    for v in model.vars:
        x = assignment[v.id]
        if x is None or (v.kind == "option" and not x):
            continue
        amount = v.prices[v.domain.index(x)]
        code = (f"{v.owner}.{x}" if v.kind == "choice" else v.id if v.kind == "option"
                else f"{v.id}={render(x)}")
        item: dict[str, Any] = {"code": code, "amount": amount}
        if v.kind == "option" and x != 1:
            item["quantity"] = x
        adjustments.append(item)
        total += amount
    return {"currency": model.currency, "base": model.base_price,
            "adjustments": adjustments, "total": total}


def bom_of(model: ConfigModel, assignment: dict[str, Any]) -> list[dict[str, Any]]:
    """The exploded bill of material: the base's items and each chosen option's, summed."""
    out: dict[str, Decimal] = {}
    for b in model.base_bom:
        out[b.item] = out.get(b.item, Decimal(0)) + b.quantity
    for v in model.vars:
        for b in v.boms[v.domain.index(assignment[v.id])]:
            out[b.item] = out.get(b.item, Decimal(0)) + b.quantity
    return [{"item": k, "quantity": q} for k, q in out.items()]


def violations(model: ConfigModel, fixed: dict[str, Any], solver: Solver) -> list[dict[str, Any]]:
    """Every constraint the decided part of the selection breaks on its own."""
    out = []
    for c in solver.constraints:
        if not all(v in fixed for v in c.scope):
            continue
        dom: Domains = {v: [fixed[v]] for v in c.scope}
        ok = (solver._revise_tuples(c, dom, None) if c.kind == "tuples"
              else solver._revise_sum(c, dom, None))
        if ok is None or any(not xs for xs in dom.values()):
            out.append({**_why(c), "fields": _fields(model, c, fixed)})
    return out


def configure(model: ConfigModel, data: Any, as_of: datetime.date | None = None, *,
              complete: str | None = None, count: bool = False, list_limit: int = 0,
              exact: bool = True) -> dict[str, Any]:
    """The answer to one configure step (see the module doc)."""
    fixed = parse_selection(model, data)
    solver = Solver(model, as_of)
    dom = solver.domains()
    removed: Removed = {}
    selected: set[tuple[str, Any]] = set()
    for vid, x in fixed.items():
        selected.update((vid, y) for y in dom[vid] if y != x)
        dom[vid] = [x]
    out: dict[str, Any] = {"model": model.id, "valid": True, "violations": []}
    broken = violations(model, fixed, solver)
    failed = solver.propagate(dom, removed) if not broken else None
    searched = False
    try:
        if broken or failed is not None:
            out["valid"] = False
            out["violations"] = broken or [{**_why(failed), "fields": _fields(
                model, failed, fixed)}] if failed is not None else broken
        elif exact:
            searched = True
            if not solver.supports(dom, removed, _order(model, "defaults")):
                out["valid"] = False
                out["violations"] = [{"rule": None, "kind": "search", "message": "no valid "
                                      "configuration completes this selection", "at": None,
                                      "fields": []}]
    except SearchLimit as exc:
        out["exact"] = False
        out["note"] = str(exc)
        searched = False
    if solver.unproven:  # the search budget ran out: these values are kept, not proven
        out["exact"] = False
        out["unproven"] = len(solver.unproven)
    out["complete"] = len(fixed) == len(model.vars)
    out.update(_possible(model, dom, removed, selected, fixed, out["valid"], searched))
    if out["valid"] and out["complete"]:
        out["price"] = price_of(model, fixed)
        out["bom"] = bom_of(model, fixed)
    if out["valid"] and complete in ("defaults", "cheapest"):
        out["completion"] = _complete(model, solver, dom, complete)
    if count or list_limit:
        out["configurations"] = _enumerate(model, solver, dom, list_limit, out["valid"])
    return out


def _possible(model: ConfigModel, dom: Domains, removed: Removed, selected: set[tuple[str, Any]],
              fixed: dict[str, Any], valid: bool, searched: bool) -> dict[str, Any]:
    vars_ = {v.id: v for v in model.vars}

    def reason(vid: str, x: Any) -> dict[str, Any] | None:
        if x in dom[vid]:
            return None
        if (vid, x) in selected:
            return {"rule": None, "kind": "selection", "message": "another choice is selected"}
        c = removed.get((vid, x))
        if c is not None:
            return _why(c)
        if not valid:
            return {"rule": None, "kind": "invalid", "message": "the selection is invalid"}
        return {"rule": None, "kind": "search", "message": "no valid configuration with the "
                "selection takes it" if searched else "not possible"}

    groups = []
    for g in model.groups:
        options = []
        if g.single:
            v = vars_[g.id]
            for oid, price in zip(v.domain, v.prices):
                if oid is None:
                    continue
                why = reason(g.id, oid)
                options.append({"id": oid, "price": price, "possible": why is None,
                                "selected": fixed.get(g.id) == oid, "removed_by": why})
            sel: Any = fixed.get(g.id) if g.id in fixed else None
            may_be_empty = None in v.domain and (None in dom[g.id] and valid)
        else:
            sel = [o for o in g.options if fixed.get(f"{g.id}.{o}")] \
                if f"{g.id}.{g.options[0]}" in fixed else None
            may_be_empty = None
            for oid in g.options:
                vid = f"{g.id}.{oid}"
                v = vars_[vid]
                whys = [reason(vid, q) for q in v.domain if q]
                why = next((w for w in whys if w is not None), None) \
                    if all(w is not None for w in whys) else None
                item = {"id": oid, "price": v.prices[1], "possible": why is None,
                        "selected": bool(fixed.get(vid)), "removed_by": why,
                        "quantities": [q for q in dom[vid] if q]}
                options.append(item)
        entry = {"id": g.id, "min": g.min, "max": g.max, "selected": sel, "options": options}
        if may_be_empty is not None:
            entry["may_be_empty"] = may_be_empty
        groups.append(entry)
    features = []
    for f in model.features:
        v = vars_[f.id]
        values = []
        for x, price in zip(v.domain, v.prices):
            why = reason(f.id, x)
            values.append({"value": x, "price": price, "possible": why is None,
                           "removed_by": why})
        features.append({"id": f.id, "type": f.type, "unit": f.unit,
                         "selected": fixed.get(f.id), "values": values})
    return {"groups": groups, "features": features}


def _complete(model: ConfigModel, solver: Solver, dom: Domains, how: str) -> dict[str, Any] | None:
    best = None
    if how == "cheapest":
        for sol in solver.search(dict(dom), _order(model, "cheapest"), _cost(model)):
            best = sol
    else:
        best = solver.first(dict(dom), _order(model, "defaults"))
    if best is None:
        return None
    return {"by": how, "selection": selection_of(model, best), "price": price_of(model, best)}


def _enumerate(model: ConfigModel, solver: Solver, dom: Domains, limit: int,
               valid: bool) -> dict[str, Any]:
    limit = max(0, min(limit, MAX_LIST))
    n, capped = 0, False
    items: list[dict[str, Any]] = []
    if valid:
        try:
            for sol in solver.search(dict(dom), _order(model, "defaults")):
                n += 1
                if len(items) < limit:
                    items.append({"selection": selection_of(model, sol),
                                  "price": price_of(model, sol)["total"]})
                if n >= MAX_COUNT:
                    capped = True
                    break
        except SearchLimit:
            capped = True
    return {"count": n, "capped": capped, "items": items}
