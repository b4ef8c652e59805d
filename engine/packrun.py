"""Compiling a pack into one Python function that runs its rules in plan order.

In: a checked `Pack` (rules sorted by priority, each with compiled `when` and actions).
Out: `run(st)`, which applies every rule of the pack to the decision state `st`, after
charging the budget steps of its rules (engine/budget.py: one a rule, one a line for a
per-line rule); past the budget `st.over_budget` ends the decision naming the rule at which
it ran out, before the pack runs.

Why: a decision applies a few hundred rules (per-line rules once per line); interpreting the
rule list costs about as much as the conditions themselves. The generated function inlines the
loop, the firing bookkeeping and `stop`, and calls only the compiled conditions and actions.
As with expressions, the generated text is built from our own fragments only: every rule id,
condition and action is bound by position (`q0`, `w0`, `a0_1`, ...).
"""
from __future__ import annotations

import datetime
from decimal import DecimalException
from typing import Any, Callable

from .values import RuleError

ERRORS = (RuleError, ArithmeticError, DecimalException)
_DATE = datetime.date


def _shared_guards(pack: Any) -> dict[Any, int]:
    """Guards worth computing once per pack: outside defaulting (which alone changes order
    data), a path that at least two rules test. Keyed by path; numbered for the code."""
    if pack.phase == "defaulting":
        return {}
    counts: dict[str, int] = {}
    first: dict[str, Any] = {}
    for rule in pack.rules:
        if rule.when is None or rule.table is not None:
            continue
        for g in rule.when.guards[:1]:
            if g.per_line and not rule.for_each:
                continue
            counts[g.key] = counts.get(g.key, 0) + 1
            first.setdefault(g.key, g)
    keys = [k for k, c in counts.items() if c >= 2]
    return {first[k]: i for i, k in enumerate(keys)}


def _guard_of(rule: Any, guards: dict[Any, int]) -> tuple[Any, int] | None:
    by_key = {g.key: (g, n) for g, n in guards.items()}
    for g in rule.when.guards[:1]:
        hit = by_key.get(g.key)
        if hit is not None and (rule.for_each or not g.per_line):
            return g, hit[1]
    return None


def _index(values: list[Any]) -> dict[str, list[int]] | None:
    """A per-line guard's values as value -> the lines (in order) that have it: a rule whose
    guard is `PATH == "text"` visits only the lines listed under its text (the dict dispatch
    of the alpha network). Only a text can equal a text; None when some line's value is a
    date, which the full condition must judge (see compile_pack), so every line is visited."""
    by: dict[str, list[int]] = {}
    for i, v in enumerate(values):
        c = v.__class__
        if c is str:
            hit = by.get(v)
            if hit is None:
                by[v] = [i]
            else:
                hit.append(i)
        elif c is _DATE:
            return None
    return by


def compile_pack(pack: Any) -> Callable[[Any], None]:
    bind: dict[str, Any] = {"_ERRORS": ERRORS, "enumerate": enumerate, "set": set,
                            "len": len, "range": range, "_IDX": _index}
    pricing = pack.phase == "pricing"
    has_stop_lines = any(r.for_each and r.stop for r in pack.rules)
    out = ["def run(st):", "    S = st.S", "    fired = st.fired", "    seen = st._fired",
           "    lines = st.lines"]
    if has_stop_lines:
        out.append("    stopped = set()")
    # the budget (engine/budget.py): a rule costs a step, a per-line rule one per line; the
    # pack charges its rules when it starts, in one statement rather than one per rule
    per_line = sum(1 for r in pack.rules if r.for_each)
    charge = str(len(pack.rules) - per_line) + (f" + {per_line} * len(st.lines)"
                                               if per_line else "")
    bind["_RULES"] = [(r.qid, r.for_each) for r in pack.rules]
    out.append(f"    st.steps += {charge}")
    out.append("    if st.steps > st.max_steps:")
    out.append("        st.over_budget(_RULES)")
    guards = _shared_guards(pack)
    bind["_DATE"] = _DATE
    line_guards = [(g, n) for g, n in guards.items() if g.per_line]
    for g, n in guards.items():
        bind[f"gf{n}"] = g.fn
        if not g.per_line:
            out.append(f"    g{n} = gf{n}(S, st)")
    if line_guards:
        for _, n in line_guards:
            out.append(f"    g{n} = []")
        out.append("    for line in st.lines:")
        out.append("        S['line'] = line")
        for _, n in line_guards:
            out.append(f"        g{n}.append(gf{n}(S, st))")
        out.append("    S['line'] = None")
        for _, n in line_guards:
            out.append(f"    gi{n} = _IDX(g{n})")
    for k, rule in enumerate(pack.rules):
        bind[f"q{k}"] = rule.qid
        bind[f"r{k}"] = rule
        # which rule and line are running matters only to actions and errors: set then
        where = f"st.rule = q{k}; st.line_index = {'i' if rule.for_each else 'None'}"
        if rule.table is not None:
            out.append(f"    st.rule = q{k}")
        guard = _guard_of(rule, guards) if rule.when is not None and rule.table is None \
            and not rule.when.constant else None
        if rule.for_each and guard is not None:
            # only the lines whose guard value can pass: by the index of a per-line guard, or
            # none at all when the order-level guard fails (a date: every line, see _index)
            g, n = guard
            bind[f"gv{k}"] = g.value
            if g.per_line:
                out.append(f"    for i in (range(len(lines)) if gi{n} is None "
                           f"else gi{n}.get(gv{k}, ())):")
            else:
                out.append(f"    for i in (range(len(lines)) if (g{n} == gv{k} or "
                           f"g{n}.__class__ is _DATE) else ()):")
            out.append("        line = lines[i]")
            ind = "        "
            if has_stop_lines:
                out.append(f"{ind}if i in stopped:")
                out.append(f"{ind}    continue")
            out.append(f"{ind}S['line'] = line")
            if rule.reads_pricing:
                out.append(f"{ind}st.refresh_pricing(i)")
        elif rule.for_each:
            out.append("    for i, line in enumerate(st.lines):")
            ind = "        "
            if has_stop_lines:
                out.append(f"{ind}if i in stopped:")
                out.append(f"{ind}    continue")
            if rule.table is not None:
                out.append(f"{ind}st.line_index = i")
            out.append(f"{ind}S['line'] = line")
            if rule.reads_pricing:
                out.append(f"{ind}st.refresh_pricing(i)")
        else:
            ind = "    "
            if rule.reads_pricing:
                out.append(f"{ind}st.refresh_pricing(None)")
        stop = ("stopped.add(i)" if rule.for_each else "return") if rule.stop else None
        if rule.table is not None:
            out.append(f"{ind}if st.run_rule(r{k}, {pricing}):")
            out.append(f"{ind}    {stop or 'pass'}")
        else:
            out.append(f"{ind}try:")
            body = ind + "    "
            if rule.when is not None:
                if rule.when.constant:
                    if not rule.when.value:
                        out.append(f"{body}pass")
                        out.append(f"{ind}except _ERRORS as e:")
                        out.append(f"{ind}    {where}")
                        out.append(f"{ind}    st.rule_error(e)")
                        continue
                else:
                    bind[f"w{k}"] = rule.when.fn
                    guard = _guard_of(rule, guards)
                    if guard is None:
                        out.append(f"{body}if w{k}(S, st):")
                    else:
                        g, n = guard
                        bind[f"gv{k}"] = g.value
                        v = f"g{n}[i]" if g.per_line else f"g{n}"
                        # a date is never equal to text: let the full condition report it
                        out.append(f"{body}if ((gx := {v}) == gv{k} or gx.__class__ is _DATE) "
                                   f"and w{k}(S, st):")
                    body += "    "
            out.append(f"{body}{where}")
            out.append(f"{body}if q{k} not in seen:")
            out.append(f"{body}    seen.add(q{k})")
            out.append(f"{body}    fired.append(q{k})")
            for j, act in enumerate(rule.actions):
                bind[f"a{k}_{j}"] = act.run
                out.append(f"{body}a{k}_{j}(st)")
                if pricing:  # the next action or rule may read the pricing it changed
                    out.append(f"{body}st.pricing_dirty = True")
            if stop:
                out.append(f"{body}{stop}")
            out.append(f"{ind}except _ERRORS as e:")
            out.append(f"{ind}    {where}")
            out.append(f"{ind}    st.rule_error(e)")
        if rule.for_each and rule.table is not None:
            out.append("    st.line_index = None")
    out.append("    st.line_index = None")
    out.append("    S['line'] = None")
    namespace: dict[str, Any] = {"__builtins__": {}}
    namespace.update(bind)
    exec(compile("\n".join(out) + "\n", f"<pack {pack.id}>", "exec"), namespace)  # noqa: S102
    run: Callable[[Any], None] = namespace["run"]
    run.__dict__["rebuild"] = ("bound", run.__code__, bind)  # compiled.py
    return run
