"""Configured lines in orders: re-checked, priced by their options, sourced by their parts.

In: the rule set's models (`Model.configs`), an order whose lines may carry
`"configuration": {"model": "laptop", "selection": {...}}`, and the decision's as-of date.
Out: `check_lines` appends a validation violation per broken rule (naming `MODEL/RULE` and the
field path `order.lines[i].configuration.selection.GROUP`) and returns, for each valid
configured line, its price breakdown and bill of material. `price_lines` gives a line without
a `unit_price` the model's base price as its list price (the order itself is not changed) and
adds each chosen option's price (times the quantity) as a named adjustment of the line
(`laptop/cpu.i7`); engine/state.py
sources and promises each part of the exploded bill of material (`source_parts`). Raises nothing.

The evaluator calls these at three points only (engine/state.py: the state's start, the start
of pricing, sourcing a line), so the change to the evaluation path stays small.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .configure import SelectionError, bom_of, parse_selection, price_of, violations
from .model import ConfigModel
from .solver import Solver


@dataclass(frozen=True)
class ConfiguredLine:
    model: str
    adjustments: list[dict[str, Any]]  # price_of(...)["adjustments"]: code, amount per unit
    bom: list[dict[str, Any]]  # item, quantity per unit of the line
    base: Decimal  # the list price of a line that carries no unit_price


def _violation(rule: str, message: str, field: str) -> dict[str, Any]:
    return {"rule": rule, "phase": "validation", "code": "CONFIGURATION", "severity": "error",
            "message": message, "field": field}


def check_lines(configs: dict[str, ConfigModel], order: dict[str, Any],
                as_of: datetime.date, out: list[dict[str, Any]]) -> dict[int, ConfiguredLine]:
    lines = order.get("lines")
    if not isinstance(lines, list):
        return {}
    configured: dict[int, ConfiguredLine] = {}
    for i, line in enumerate(lines):
        cfg = line.get("configuration") if isinstance(line, dict) else None
        if cfg is None:
            continue
        where = f"order.lines[{i}].configuration"
        name = cfg.get("model") if isinstance(cfg, dict) else None
        model = configs.get(name) if isinstance(name, str) else None
        if model is None:
            out.append(_violation("configurator/unknown_model", f"the rule set has no model "
                                  f"{name!r} (models: {', '.join(sorted(configs)) or 'none'})",
                                  f"{where}.model"))
            continue
        try:
            fixed = parse_selection(model, cfg.get("selection"), f"{where}.selection")
        except SelectionError as exc:
            out.append(_violation(f"{model.id}/selection", exc.message, exc.path))
            continue
        broken = violations(model, fixed, Solver(model, as_of))
        for v in broken:
            out.append(_violation(f"{model.id}/{v['rule']}", v["message"],
                                  f"{where}.selection.{v['fields'][0]}" if v["fields"]
                                  else f"{where}.selection"))
        open_ = [x.owner for x in model.vars if x.id not in fixed]
        if open_:
            out.append(_violation(f"{model.id}/incomplete", "the configuration leaves "
                                  f"{', '.join(dict.fromkeys(open_))} to choose",
                                  f"{where}.selection.{open_[0]}"))
            continue
        if broken:
            continue
        currency = order.get("currency")
        if currency is not None and currency != model.currency:
            out.append(_violation(f"{model.id}/currency", f"model {model.id} is priced in "
                                  f"{model.currency}, the order in {currency}", f"{where}.model"))
            continue
        configured[i] = ConfiguredLine(model.id, price_of(model, fixed)["adjustments"],
                                       bom_of(model, fixed), model.base_price)
    return configured


def price_lines(pricing: Any, configured: dict[int, ConfiguredLine]) -> None:
    """Each chosen option's price times the line's quantity, a named adjustment of the line."""
    for i, c in configured.items():
        lp = pricing.lines[i]
        if lp.quantity is None:
            continue
        if not lp.priced:  # no unit_price on the line: the model's base (a pack may set another)
            lp.set_list_price(c.base)
        for a in c.adjustments:
            if not a["amount"]:
                continue
            amount = pricing.money(a["amount"] * lp.quantity)
            lp.adjust(f"{c.model}/{a['code']}", "surcharge" if amount > 0 else "discount",
                      amount, f"option {a['code']} of model {c.model}")


def source_parts(st: Any, c: ConfiguredLine, line: dict[str, Any], index: int, qty: Decimal,
                 candidates: list[str], region: Any, action: Any, key_of: Any,
                 split: bool) -> dict[str, Any]:
    """Sources (and, with atp_rules, promises) each part of the exploded bill of material of
    `qty` units, as a sku of its own, over the same candidate locations; the line's
    `backordered` is the units its scarcest part cannot cover."""
    from ..pricing import line_id
    from ..values import render

    parts = []
    short = Decimal(0)
    for b in c.bom:
        need = b["quantity"] * qty
        allocations, backordered = st.allocation.source(
            candidates, b["item"], need, render(region) if region is not None else None,
            action.prefer, key_of, split, st.as_of)
        part = {"sku": b["item"], "quantity": need, "backordered": backordered,
                "allocations": allocations}
        promised = st.allocation.promise(  # None unless the rule set has atp_rules
            b["item"], need, allocations, backordered, candidates,
            render(region) if region is not None else None, action.prefer, key_of, st.as_of)
        if promised is not None:
            part["promise"] = promised
        parts.append(part)
        if backordered and b["quantity"]:
            short = max(short, -(-backordered // b["quantity"]))
    return {"line_id": line_id(line, index), "sku": line.get("sku"),
            "backordered": min(short, qty), "allocations": [], "parts": parts}
