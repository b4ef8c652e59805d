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
condition and action is bound by position (`q0`, `w0`, `a0_1`, ...). Issue 16: a rule reached
through its shared guard runs only the rest of its condition (`rest0`), table rules and
`default`/`set` actions are generated inline (docs/design/engine.md, "Evaluation (h16a)"), a
table rule's too, and a `source` action is a call of `State.source_line` ("Per-decision
paths (h16p)").
"""
from __future__ import annotations

import datetime
import re
from decimal import DecimalException
from typing import Any, Callable

from .actions import Source
from .expressions import Expr
from .inline import AMOUNT_NAMES, LINE_LOCAL, compiled, expr_code
from .tables import AGGREGATES
from .values import AMOUNT_LIMIT, D, RuleError

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
    def make(flags: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        bind = dict(flags)
        return _source(pack, bind), bind

    code, bind = compiled(make, f"<pack {pack.id}>")
    namespace: dict[str, Any] = {"__builtins__": {}}
    namespace.update(bind)
    exec(code, namespace)  # noqa: S102 - our own text only (see the module doc)
    run: Callable[[Any], None] = namespace["run"]
    run.__dict__["rebuild"] = ("bound", run.__code__, bind)  # compiled.py
    return run


def _source(pack: Any, bind: dict[str, Any]) -> str:
    """The text of the pack's function; what it names is bound in `bind` meanwhile."""
    bind.update({"_ERRORS": ERRORS, "enumerate": enumerate, "set": set, "len": len,
                 "range": range, "_IDX": _index})
    pricing = pack.phase == "pricing"
    has_stop_lines = any(r.for_each and r.stop for r in pack.rules)
    out = ["def run(st):", "    S = st.S", "    X = st", "    fired = st.fired",
           "    seen = st._fired", "    lines = st.lines"]
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
        if not g.per_line:
            out.append(f"    g{n} = {expr_code(g.fn, f'gf{n}', bind)}")
    if line_guards:
        # outside defaulting the order does not change (only default/set write it), so the
        # lines' guard values and their index are computed once per decision for every pack
        # with the same guards (kept with the list of lines they were computed on)
        kept = pack.phase != "defaulting"
        ind = "    "
        names = ", ".join(f"g{n}, gi{n}" for _, n in line_guards)
        if kept:
            bind["_GUARDS"] = ("guards",) + tuple(g.key for g, _ in line_guards)
            out.append("    kg = st.memo.get(_GUARDS)")
            out.append("    if kg is not None and kg[0] is lines:")
            out.append(f"        {names}, = kg[1]")
            out.append("    else:")
            ind = "        "
        for _, n in line_guards:
            out.append(f"{ind}g{n} = []")
        out.append(f"{ind}for line in st.lines:")
        appends = [f"{ind}    g{n}.append({expr_code(g.fn, f'gf{n}', bind, line=True)})"
                   for g, n in line_guards]
        if _reads_scope(appends):  # a guard's code is a call
            out.append(f"{ind}    S['line'] = line")
        out += appends
        out.append(f"{ind}S['line'] = None")
        for _, n in line_guards:
            out.append(f"{ind}gi{n} = _IDX(g{n})")
        if kept:
            out.append(f"{ind}st.memo[_GUARDS] = (lines, ({names},))")
    for k, rule in enumerate(pack.rules):
        bind[f"q{k}"] = rule.qid
        bind[f"r{k}"] = rule
        if rule.table is not None:
            _emit_table_rule(out, bind, k, rule, pricing, has_stop_lines,
                             pack.phase != "defaulting")
            continue
        if rule.when is not None and rule.when.constant and not rule.when.value:
            continue  # never fires, and evaluates nothing
        guard = _guard_of(rule, guards) if rule.when is not None \
            and not rule.when.constant else None
        full = expr_code(rule.when.fn, f"w{k}", bind, line=rule.for_each) \
            if rule.when is not None and not rule.when.constant else None
        if guard is None:
            if rule.for_each:
                _line_rule(out, bind, "    ", "for i, line in enumerate(lines):", k, rule,
                           pricing, full, has_stop_lines, False)
            else:
                if rule.reads_pricing and pricing:  # elsewhere `pricing` is bound already
                    out.append("    st.refresh_pricing(None)")
                _emit_rule(out, bind, "    ", k, rule, pricing, full)
            continue
        # the guard's conjunct holds on the fast path: the rest of the condition decides
        g, n = guard
        bind[f"gv{k}"] = g.value
        fast = None
        if g.rest is not None:
            fast = expr_code(g.rest, f"rest{k}", bind, line=rule.for_each)
        elif not g.rest_true:
            fast = full
        if rule.for_each and g.per_line:
            # only the lines whose guard value is the text, by the index; when some line's
            # value is a date (no index), every line, the full condition judging the date
            out.append(f"    if gi{n} is None:")
            _line_rule(out, bind, "        ", "for i, line in enumerate(lines):", k, rule,
                       pricing, f"((gx := g{n}[i]) == gv{k} or gx.__class__ is _DATE) and {full}",
                       has_stop_lines, False)
            out.append(f"    elif gv{k} in gi{n}:")  # a rule no line is for costs a test
            _line_rule(out, bind, "        ", f"for i in gi{n}[gv{k}]:", k, rule, pricing,
                       fast, has_stop_lines, True)
        elif rule.for_each:
            # an order-level guard: every line or none (a date: the full condition judges it)
            out.append(f"    if g{n} == gv{k}:")
            _line_rule(out, bind, "        ", "for i, line in enumerate(lines):", k, rule,
                       pricing, fast, has_stop_lines, False)
            out.append(f"    elif g{n}.__class__ is _DATE:")
            _line_rule(out, bind, "        ", "for i, line in enumerate(lines):", k, rule,
                       pricing, full, has_stop_lines, False)
        else:
            out.append(f"    if g{n} == gv{k}:")
            if rule.reads_pricing and pricing:
                out.append("        st.refresh_pricing(None)")
            _emit_rule(out, bind, "        ", k, rule, pricing, fast)
            out.append(f"    elif g{n}.__class__ is _DATE:")
            if rule.reads_pricing and pricing:
                out.append("        st.refresh_pricing(None)")
            _emit_rule(out, bind, "        ", k, rule, pricing, full)
    out.append("    st.line_index = None")
    out.append("    S['line'] = None")
    # values an action computes once per run (engine/actions.py `once_per_run`): not yet
    out[1:1] = [f"    {var} = ..." for var in bind.pop("_hoist", [])]
    return "\n".join(out) + "\n"


# what the statements of a rule may do with the state and still not read the scope's line
_STATE_USES = frozenset({"rule", "line_index", "rule_error", "pricing", "pricing_dirty",
                         "floor_at", "order", "root_object", "refresh_customer", "approvals"})
_STATE_USE = re.compile(r"\bst\b(\.\w+)?")
_SCOPE_OR_STATE = re.compile(r"\b[SX]\b")


def _reads_scope(lines: list[str]) -> bool:
    """Whether statements may read the scope's `line` (`S['line']`): they name the scope or
    the state (`X`), or use the state other than as _STATE_USES (a call given `st`, a
    template's or an action's, reads the scope)."""
    for text in lines:
        if _SCOPE_OR_STATE.search(text):
            return True
        for m in _STATE_USE.finditer(text):
            if m.group(1) is None or m.group(1)[1:] not in _STATE_USES:
                return True
    return False


def _line_rule(out: list[str], bind: dict[str, Any], ind: str, head: str, k: int, rule: Any,
               pricing: bool, cond: str | None, has_stop_lines: bool, by_index: bool) -> None:
    """A per-line rule's loop (`head`) and its test and firing on each line. The scope's
    `line` is set on each line only where the rule's statements may read it (they read the
    local `line` where they are written in: inline.LINE_LOCAL; issue 16)."""
    rule_lines: list[str] = []
    _emit_rule(rule_lines, bind, ind + "    ", k, rule, pricing, cond)
    loop: list[str] = []
    _emit_line_loop(loop, ind, head, rule, has_stop_lines, by_index)
    if not _reads_scope(rule_lines):
        loop.remove(f"{ind}    S['line'] = line")
    out += loop + rule_lines


def _emit_line_loop(out: list[str], ind: str, head: str, rule: Any, has_stop_lines: bool,
                    by_index: bool) -> None:
    """The head of a per-line loop: `i` and `line` bound, a stopped line skipped, `line` in
    the scope and its pricing view when the rule reads it."""
    out.append(ind + head)
    body = ind + "    "
    if by_index:
        out.append(f"{body}line = lines[i]")
    if has_stop_lines:
        out.append(f"{body}if i in stopped:")
        out.append(f"{body}    continue")
    out.append(f"{body}S['line'] = line")
    if rule.reads_pricing:
        out.append(f"{body}st.refresh_pricing(i)")


def _emit_rule(out: list[str], bind: dict[str, Any], ind: str, k: int, rule: Any,
               pricing: bool, cond: str | None) -> None:
    """One rule's test and firing at `ind`: `cond` (None: it fires), then the bookkeeping, the
    actions and `stop`, a rule error recorded against the rule (and line)."""
    index = "i" if rule.for_each else "None"
    where = f"st.rule = q{k}; st.line_index = {index}"
    stop = ("stopped.add(i)" if rule.for_each else "return") if rule.stop else None
    out.append(f"{ind}try:")
    body = ind + "    "
    if cond is not None:
        out.append(f"{body}if {cond}:")
        body += "    "
    actions: list[str] = []
    written = True  # every action's statements written in (none is a call reading `st`)
    for j, act in enumerate(rule.actions):
        code, inlined = _action_code(act, f"a{k}_{j}", bind, rule.for_each)
        written = written and inlined
        actions += code
        if pricing:  # the next action or rule may read the pricing it changed
            actions.append("st.pricing_dirty = True")
    if written:
        # statements that name the rule and line themselves: the firing stores neither in
        # `st` (issue 16: six steps a firing); where they are read after the rule, they are
        # stored first (an error: the `except` below; a floor: `State.floor_at`)
        actions = [_OWN_LINE.sub(index, _OWN_RULE.sub(f"q{k}", text.replace(
            "st.price_floor()", f"st.floor_at(q{k}, {index})"))) for text in actions]
    else:
        out.append(f"{body}{where}")
    out.append(f"{body}if q{k} not in seen:")
    out.append(f"{body}    seen.add(q{k})")
    out.append(f"{body}    fired.append(q{k})")
    out.extend(body + text for text in actions)
    if stop:
        out.append(f"{body}{stop}")
    out.append(f"{ind}except _ERRORS as e:")
    out.append(f"{ind}    {where}")
    out.append(f"{ind}    st.rule_error(e)")


_OWN_RULE = re.compile(r"\bst\.rule\b")
_OWN_LINE = re.compile(r"\bst\.line_index\b")


def _action_code(act: Any, name: str, bind: dict[str, Any],
                 per_line: bool) -> tuple[list[str], bool]:
    """An action as statements of the pack's function: its own (engine/actions.py `inline`:
    Assign, and the pricing and approval actions whose values are known or written in), or a
    call of its `run` bound as `name`; and whether they are its own (the statements read
    `st.rule` and `st.line_index` only as those names, State.price_floor aside). `per_line`:
    they run in a per-line rule's loop, where the local `line` is the scope's
    (inline.LINE_LOCAL)."""
    inline = getattr(act, "inline", None)
    code = None
    if inline is not None:
        if per_line:
            bind[LINE_LOCAL] = True
        try:
            code = inline(name, bind)
        finally:
            bind.pop(LINE_LOCAL, None)
    if code is not None:
        return list(code), True
    if act.__class__ is Source:  # Source.run is this call
        bind[name] = act
        return [f"st.source_line({name})"], False
    bind[name] = act.run
    return [f"{name}(st)"], False


def _same_hits(rule: Any, stable: bool) -> bool:
    """Whether a per-line table rule matches the same rows on every line of one run of its
    pack: `stable` (outside defaulting no action changes the order while a pack runs) and
    inputs that are order-level paths not reading pricing. Its outputs may still read the
    line: only which rows match is the same."""
    return stable and rule.for_each \
        and all(e.order_level and not e.reads_pricing for e in rule.table.inputs)


def _amount_outputs(table: Any) -> frozenset[str]:
    """The outputs of a table whose every value (in every row, and the default) is a literal
    null or a finite number within AMOUNT_LIMIT: a pricing action reading one need not check
    it (engine/actions.py `_number_code`). None under an aggregating hit policy, whose
    output is computed (a sum may pass the limit)."""
    if table.hit in AGGREGATES:
        return frozenset()
    rows = list(table.literal_outputs)
    if table.default is not None:
        if any(c.__class__ is Expr for c in table.default):
            return frozenset()
        rows.append(dict(zip(table.outputs, table.default)))
    if any(r is None for r in rows):
        return frozenset()
    return frozenset(name for name in table.outputs if all(
        (v := r.get(name)) is None or (v.__class__ is D and v.is_finite()
                                       and abs(v) <= AMOUNT_LIMIT) for r in rows))


def _emit_table_match(out: list[str], bind: dict[str, Any], k: int, table: Any, ind: str,
                      stable: bool) -> None:
    """`rows = match_one(S, st)` of a per-line table with hit policy first or unique, written
    in (tables.py `build_matcher`, fused): its inputs read in place, an order-level one (a path
    not reading pricing, where no action changes the order) once per pack run; then the same
    tests of their kinds, the same row tests (`table.fast`, the careful path on a TypeError)
    and the same answer."""
    names = []
    for j, e in enumerate(table.inputs):
        code = expr_code(e.fn, f"ti{k}_{j}", bind, line=True)
        if stable and e.order_level and not e.reads_pricing:
            bind.setdefault("_hoist", []).append(f"tv{k}_{j}")
            code = f"(tv{k}_{j} if tv{k}_{j} is not ... else (tv{k}_{j} := {code}))"
        out.append(f"{ind}v{j} = {code}")
        names.append(f"v{j}")
    args = ", ".join(names)
    bind[f"tq{k}"], bind[f"tc{k}"], bind[f"tf{k}"] = table.fast, table.careful, table.finish
    bind[f"tl{k}"], bind[f"to{k}"] = table.literal_outputs, table.row_outputs
    bind["TypeError"] = TypeError
    guards = []
    for j, kinds in enumerate(table.kinds):
        if kinds is not None:
            bind[f"tk{k}_{j}"] = kinds
            guards.append(f"(v{j} is not None and v{j}.__class__ not in tk{k}_{j})")
    if guards:
        out.append(f"{ind}if {' or '.join(guards)}:")
        out.append(f"{ind}    hits = tc{k}([{args}])")
        out.append(f"{ind}else:")
        out.append(f"{ind}    try:")
        out.append(f"{ind}        hits = tq{k}({args})")
        out.append(f"{ind}    except TypeError:")
        out.append(f"{ind}        hits = tc{k}([{args}])")
    else:
        out.append(f"{ind}try:")
        out.append(f"{ind}    hits = tq{k}({args})")
        out.append(f"{ind}except TypeError:")
        out.append(f"{ind}    hits = tc{k}([{args}])")
    out.append(f"{ind}if X.row_hits is None and len(hits) == 1:")
    out.append(f"{ind}    rows = tl{k}[hits[0]]")
    out.append(f"{ind}    rows = [rows if rows is not None else to{k}(hits[0], S, st)]")
    if table.default is None:
        out.append(f"{ind}elif X.row_hits is None and not hits:")
        out.append(f"{ind}    rows = []")
    out.append(f"{ind}else:")
    out.append(f"{ind}    rows = tf{k}(hits, S, st)")


def _emit_table_rule(out: list[str], bind: dict[str, Any], k: int, rule: Any, pricing: bool,
                     has_stop_lines: bool, stable: bool) -> None:
    """A table rule (what `State.run_rule` does, inlined): its matching rows' outputs bound in
    the scope one row after the other, the actions run for each. A per-line table whose rows
    are the same on every line (`_same_rows`) is matched on the first line that reaches it and
    its rows kept for the others (a match that raises is not kept: each line raises it; a test
    run counting rows matches every line)."""
    table = rule.table
    bind[f"tm{k}"] = table.match_one
    same = _same_hits(rule, stable)
    if same:
        bind.setdefault("_hoist", []).append(f"th{k}")
        bind[f"tx{k}"], bind[f"tf{k}"] = table.matcher, table.finish
        bind[f"tl{k}"], bind[f"to{k}"] = table.literal_outputs, table.row_outputs
    out.append(f"    st.rule = q{k}")
    if rule.for_each:
        out.append("    for i, line in enumerate(lines):")
        ind = "        "
        if has_stop_lines:
            out.append(f"{ind}if i in stopped:")
            out.append(f"{ind}    continue")
        out.append(f"{ind}st.line_index = i")
        out.append(f"{ind}S['line'] = line")
        if rule.reads_pricing:
            out.append(f"{ind}st.refresh_pricing(i)")
    else:
        ind = "    "
        if rule.reads_pricing and pricing:
            out.append(f"{ind}st.refresh_pricing(None)")
    out.append(f"{ind}try:")
    if same:  # the rows matched on the first line (`match_one` from there on)
        out.append(f"{ind}    hits = th{k}")
        out.append(f"{ind}    if hits is ...:")
        out.append(f"{ind}        hits = th{k} = tx{k}(S, st)")
        if table.hit in ("first", "unique"):
            out.append(f"{ind}    if X.row_hits is None and len(hits) == 1:")
            out.append(f"{ind}        rows = tl{k}[hits[0]]")
            out.append(f"{ind}        rows = [rows if rows is not None else "
                       f"to{k}(hits[0], S, st)]")
            out.append(f"{ind}    else:")
            out.append(f"{ind}        rows = tf{k}(hits, S, st)")
        else:
            out.append(f"{ind}    rows = tf{k}(hits, S, st)")
    elif rule.for_each and table.hit in ("first", "unique"):
        _emit_table_match(out, bind, k, table, ind + "    ", stable)
    else:
        out.append(f"{ind}    rows = tm{k}(S, st)")
    out.append(f"{ind}    if rows:")
    body = ind + "        "
    out.append(f"{body}if q{k} not in seen:")
    out.append(f"{body}    seen.add(q{k})")
    out.append(f"{body}    fired.append(q{k})")
    out.append(f"{body}for outputs in rows:")
    out.append(f"{body}    S.update(outputs)")
    if rule.reads_pricing and pricing:
        out.append(f"{body}    st.refresh_pricing(st.line_index)")
    bind[AMOUNT_NAMES] = _amount_outputs(table)
    try:
        for j, act in enumerate(rule.actions):
            out.extend(f"{body}    {text}" for text in _action_code(act, f"a{k}_{j}", bind,
                                                                      rule.for_each)[0])
            out.append(f"{body}    st.pricing_dirty = {pricing}")
    finally:
        bind.pop(AMOUNT_NAMES)
    if rule.stop:
        out.append(f"{body}{'stopped.add(i)' if rule.for_each else 'return'}")
    out.append(f"{ind}except _ERRORS as e:")
    out.append(f"{ind}    st.rule_error(e)")
    if rule.for_each:
        out.append("    st.line_index = None")
