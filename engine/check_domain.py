"""Domain checks (issue 15), all warnings at FILE:LINE:COL: quantity tiers in order, the largest
discount rules can stack on one line, price overrides below cost, approval thresholds monotone
in their level, gaps in decision tables, and conflicting outputs under hit policy `any`.
(Country coverage of embargo and export tables is with the reference data checks:
engine/check_refdata.py.)

In: the checked model (rules in run order, compiled tables) and each file's YAML (places,
action parameters). Out: diagnostics. Settings come from `checks:` in ruleset.yaml
(`max_line_discount`, in percent, 80 by default).

Each check reads only what is literal: a bound that depends on order data is unknown and
checked no further (a check never guesses).
"""
from __future__ import annotations

from decimal import Decimal
from itertools import combinations, product
from typing import Any, Callable, Iterator

from .check_reach import atoms_of, contradiction
from .diagnostics import Code
from .syntax import ExprSyntaxError, N, parse
from .tables import Test, _holds, _probes

MAX_LINE_DISCOUNT = Decimal(80)
MAX_STACK = 12  # discount rules considered together (2^12 subsets at most)
MAX_ROWS = 500  # rows of one table for the pairwise checks
MAX_COMBINATIONS = 20_000  # input combinations tried for a table's completeness
_D0, _D1, _D100 = Decimal(0), Decimal(1), Decimal(100)


def _tree(text: str) -> N | None:
    try:
        return parse(text)
    except (ExprSyntaxError, RecursionError):
        return None


def _num(n: N | None) -> Decimal | None:
    return n.value if n is not None and n.kind == "lit" and isinstance(n.value, Decimal) \
        else None


def _rules(c: Any, phase: str | None = None) -> Iterator[tuple[Any, Any, Any]]:
    """(pack, rule, rule's YAML node) in run order."""
    for pack in c.model.packs:
        if phase is not None and pack.phase != phase:
            continue
        node = c.nodes.get(pack.file)
        rules = node.get("rules") if node is not None else None
        by_id = {str(r.get("id").value): r for r in (rules.value if rules is not None else [])
                 if r.kind == "map" and r.get("id") is not None}
        for rule in pack.rules:
            rnode = by_id.get(rule.qid.split("/", 1)[1])
            if rnode is not None:
                yield pack, rule, rnode


def _actions(rnode: Any, name: str) -> Iterator[Any]:
    then = rnode.get("then")
    for a in (then.value if then is not None and then.kind == "seq" else []):
        p = a.get(name) if a.kind == "map" else None
        if p is not None:
            yield p


# --- tiers ------------------------------------------------------------------------------------

def _factor(n: N | None) -> tuple[str, Decimal] | None:
    """`BASE * k` (or a literal: base '') as (base text, k)."""
    if n is None:
        return None
    if n.kind == "lit" and isinstance(n.value, Decimal):
        return "", n.value
    if n.kind == "arith" and n.value == "*":
        for a, b in (n.args, n.args[::-1]):
            k = _num(b)
            if k is not None:
                inner = _factor(a)
                base = inner[0] if inner is not None and inner[0] else _text(a)
                return base, (inner[1] if inner is not None and inner[0] else _D1) * k
    return _text(n), _D1


def _text(n: N) -> str:
    from .check_reach import key_text
    return key_text(n)


def check_tiers(c: Any) -> None:
    for _, _rule, rnode in _rules(c, "pricing"):
        for p in _actions(rnode, "tiered_price"):
            tiers = p.get("tiers")
            rows = [t for t in (tiers.value if tiers is not None and tiers.kind == "seq" else [])
                    if t.kind == "seq" and len(t.value) == 2]
            prev: tuple[Decimal, Any, tuple[str, Decimal] | None] | None = None
            for t in rows:
                qty = _num(_tree(t.value[0].text)) if t.value[0].kind == "scalar" else None
                price = _factor(_tree(t.value[1].text)) if t.value[1].kind == "scalar" else None
                if qty is None:
                    prev = None
                    continue
                if prev is not None and qty <= prev[0]:
                    c.diags.warning(Code.BAD_VALUE, t.span, f"tier from {qty} "
                                    f"{'repeats' if qty == prev[0] else 'comes after'} the tier "
                                    f"from {prev[0]} (line {prev[1].line}): tiers overlap or "
                                    "are out of order", "list tiers by rising quantity, each "
                                    "from a larger quantity than the one before")
                elif prev is not None and price is not None and prev[2] is not None \
                        and price[0] == prev[2][0] and price[1] > prev[2][1]:
                    c.diags.warning(Code.BAD_VALUE, t.value[1].span, f"the price rises from "
                                    f"tier {prev[0]} to tier {qty}: buying more costs more per "
                                    "unit", "check the tier's price or factor")
                prev = (qty, t.span, price)


# --- discounts stacking on one line -------------------------------------------------------------

def _bound(c: Any, n: N | None, rule: Any) -> Decimal | None:
    """An upper bound of a percent expression, or None."""
    if n is None:
        return None
    v = _num(n)
    if v is not None:
        return v
    if n.kind == "call" and n.value in ("min", "max") and n.args:
        bounds = [_bound(c, a, rule) for a in n.args]
        known = [b for b in bounds if b is not None]
        if n.value == "min":
            return min(known) if known else None
        return max(known) if len(known) == len(bounds) else None
    if n.kind == "name" and rule.table is not None and n.value in rule.table.outputs:
        j = rule.table.outputs.index(n.value)
        vals = [outs[j] for _, outs in rule.table.rows] + (
            [rule.table.default[j]] if rule.table.default else [])
        nums = [v for v in vals if isinstance(v, Decimal)]
        return max(nums) if nums and len(nums) == len(vals) else None
    if n.kind == "get" and n.args[0].kind == "index":
        tbl = n.args[0].args[0]
        if tbl.kind == "get" and tbl.args[0].kind == "name" and tbl.args[0].value == "ref":
            table = c.model.tables.get(tbl.value)
            vals = [r.get(n.value) for r in (table.rows if table is not None else [])
                    if isinstance(r, dict)]
            nums = [v for v in vals if isinstance(v, Decimal)]
            return max(nums) if nums and len(nums) == len([v for v in vals if v is not None]) \
                else None
    return None


def check_stacking(c: Any, limit: Decimal) -> None:
    found: list[tuple[Any, Any, Decimal, tuple[Any, Any] | None]] = []
    for pack, rule, rnode in _rules(c, "pricing"):
        for p in _actions(rnode, "discount"):
            pn = p.get("percent") if p.kind == "map" else None
            if pn is None or pn.kind != "scalar":
                continue
            b = _bound(c, _tree(pn.text), rule)
            if b is not None and b > 0:
                when = rnode.get("when")
                tree = _tree(when.text) if when is not None and when.kind == "scalar" else None
                found.append((pack, rule, min(b, _D100), atoms_of(tree) if tree else None))
    found = found[:MAX_STACK]
    best: tuple[Decimal, list[int]] = (_D0, [])
    for size in range(len(found), 1, -1):
        for combo in combinations(range(len(found)), size):
            if not _together(found, combo):
                continue
            keep = _D1
            for i in combo:
                keep *= (_D100 - found[i][2]) / _D100
            total = (_D1 - keep) * _D100
            if total > best[0]:
                best = (total, list(combo))
    total, chosen = best
    if total > limit and chosen:
        parts = ", ".join(f"'{found[i][1].qid}' ({found[i][2]}%, {found[i][1].span})"
                          for i in chosen)
        first = found[chosen[-1]][1]
        c.diags.warning(Code.BAD_VALUE, first.span, f"discounts can stack to "
                        f"{total.quantize(Decimal('0.1'))}% off one line, above the "
                        f"{limit}% the rule set allows: {parts}",
                        "make the rules exclusive (conditions, stop), cap a percent with "
                        "min(...), or raise checks.max_line_discount in ruleset.yaml")


def _together(found: list[Any], combo: tuple[int, ...]) -> bool:
    """Whether the rules can fire on one line together, as far as is known: not two of one
    pack where the earlier stops, and no contradiction among their conditions."""
    atoms = []
    for i in combo:
        pack, rule, _, cond = found[i]
        for j in combo:
            other = found[j]
            if j != i and other[0] is pack and rule.stop and \
                    pack.rules.index(rule) < pack.rules.index(other[1]):
                return False
        if cond is not None:
            atoms.extend(cond[0])
    return contradiction(atoms) is None


# --- price overrides below cost -----------------------------------------------------------------

def _cost_factor(n: N | None) -> Decimal | None:
    """k when the expression is at least k x a cost column (other factors: conversions)."""
    if n is None:
        return None
    if n.kind == "get" and "cost" in str(n.value).lower():
        return _D1
    if n.kind == "arith" and n.value in ("*", "/"):
        a, b = n.args
        fa, fb = _cost_factor(a), _cost_factor(b)
        if n.value == "/":
            kb = _num(b)
            return fa / kb if fa is not None and kb else None
        if fa is not None and fb is None:
            kb = _num(b)
            return fa * kb if kb is not None else fa
        if fb is not None and fa is None:
            ka = _num(a)
            return fb * ka if ka is not None else fb
        return None
    if n.kind == "call" and n.value == "max":
        ks = [k for k in (_cost_factor(a) for a in n.args) if k is not None]
        return max(ks) if ks else None
    if n.kind == "call" and n.value == "min":
        mins = [_cost_factor(a) for a in n.args]
        known = [k for k in mins if k is not None]
        return min(known) if known and len(known) == len(mins) else None
    return None


def check_cost(c: Any) -> None:
    for _, _rule, rnode in _rules(c, "pricing"):
        for p in _actions(rnode, "price_override"):
            un = p.get("unit_price") if p.kind == "map" else None
            if un is None or un.kind != "scalar":
                continue
            k = _cost_factor(_tree(un.text))
            if k is not None and k < _D1:
                c.diags.warning(Code.BAD_VALUE, un.span, f"the price override can set the net "
                                f"to {(k * _D100).normalize():f}% of the cost column: below "
                                "cost", "price at cost times a factor of 1 or more, or floor "
                                "it with max(..., COST)")


# --- approvals monotone in their level ----------------------------------------------------------

def check_approvals(c: Any) -> None:
    for _, rule, rnode in _rules(c, "approval"):
        t = rule.table
        if t is None or len(t.inputs) != 1:
            continue
        for p in _actions(rnode, "require_approval"):
            lv = p.get("level") if p.kind == "map" else None
            out = lv.text.strip() if lv is not None and lv.kind == "scalar" else None
            if out not in t.outputs:
                continue
            j = t.outputs.index(out)
            rows = _row_nodes(rnode)
            seen: list[tuple[str, Decimal, Decimal, Any]] = []
            for i, (cells, outs) in enumerate(t.rows[:MAX_ROWS]):
                cell, level = cells[0], outs[j]
                if cell.kind == "cmp" and cell.op in ("<", "<=", ">", ">=") \
                        and isinstance(cell.value, Decimal) and isinstance(level, Decimal):
                    up = cell.op.startswith(">")
                    for op, thr, lvl, span in seen:
                        if op.startswith(">") != up:
                            continue
                        higher = thr > cell.value if up else thr < cell.value
                        if (higher and lvl < level) or (not higher and lvl > level and
                                                         thr != cell.value):
                            where = rows[i].span if i < len(rows) else rule.span
                            c.diags.warning(Code.BAD_VALUE, where, f"approval level {level} at "
                                            f"{cell.op} {cell.value}, but level {lvl} at {op} "
                                            f"{thr} (line {span.line}): levels are not monotone "
                                            "in the threshold", "a higher level should need a "
                                            "larger amount (or a deeper discount or margin)")
                            break
                    seen.append((cell.op, cell.value, level, rows[i].span if i < len(rows)
                                 else rule.span))


def check_approval_rules(c: Any) -> None:
    """Across rules alike but for one threshold (`when: KEY > N`, the rest of the condition the
    same) with a literal level: a larger N must not need a lower level (`> 50000` level 1
    beside `> 10000` level 2)."""
    seen: list[tuple[tuple[Any, ...], bool, Decimal, Decimal, Any, str]] = []
    for _, rule, rnode in _rules(c, "approval"):
        when = rnode.get("when")
        tree = _tree(when.text) if when is not None and when.kind == "scalar" else None
        if tree is None or rule.table is not None:
            continue
        every, other = atoms_of(tree)
        atoms = [a for a in every if a.op in ("<", "<=", ">", ">=")
                 and isinstance(a.value, Decimal)]
        for p in _actions(rnode, "require_approval"):
            lv = p.get("level") if p.kind == "map" else None
            level = _num(_tree(lv.text)) if lv is not None and lv.kind == "scalar" else _D1
            if level is None:
                continue
            rid = rule.qid.split("/", 1)[1]
            for a in atoms:
                up = a.op.startswith(">")
                rest = (a.key, tuple(sorted(f"{b.key} {b.shown()}" for b in every if b is not a)),
                        tuple(sorted(other)))
                for key, o_up, thr, lvl, span, oid in seen:
                    if key != rest or o_up != up or thr == a.value:
                        continue
                    higher = a.value > thr if up else a.value < thr
                    if higher != (level > lvl) and level != lvl:
                        c.diags.warning(Code.BAD_VALUE, when.span, f"rule '{rid}' asks level "
                                        f"{level} at {a.key} {a.op} {a.value}, rule '{oid}' "
                                        f"level {lvl} at {a.op} {thr} (line {span.line}): "
                                        "levels are not monotone in the threshold",
                                        "a higher level should need a larger amount (or a "
                                        "deeper discount or margin)")
                        break
                seen.append((rest, up, a.value, level, when.span, rid))


def _row_nodes(rnode: Any) -> list[Any]:
    table = rnode.get("table")
    rows = table.get("rows") if table is not None else None
    return list(rows.value) if rows is not None and rows.kind == "seq" else []


# --- tables: gaps, and conflicting outputs under `any` ------------------------------------------

def check_tables(c: Any, enum_of: Callable[[str], frozenset[str] | None]) -> None:
    for _, rule, rnode in _rules(c):
        t = rule.table
        if t is None or not t.rows or len(t.rows) > MAX_ROWS:
            continue
        rows = _row_nodes(rnode)
        if len(rows) != len(t.rows):
            continue
        if t.hit in ("unique", "first", "any", "priority") and t.default is None:
            enums = [enum_of(e.text) for e in t.inputs]
            if not _gaps(c, t, rows) and any(enums):
                _enum_gaps(c, t, rows, enums)
        if t.hit == "any":
            _conflicts(c, t, rows)


def _gaps(c: Any, t: Any, rows: list[Any]) -> bool:
    """A hole inside the range a numeric column covers, among rows alike in the other columns
    (`[0..50]` and `(60..100]`): the counterexample is a value in the hole."""
    for j, inp in enumerate(t.inputs):
        groups: dict[tuple[Test, ...], list[int]] = {}
        for i, (cells, _) in enumerate(t.rows):
            groups.setdefault(tuple(cells[:j] + cells[j + 1:]), []).append(i)
        for members in groups.values():
            tests = [t.rows[i][0][j] for i in members]
            points = sorted(p for p in _probes(tests) if isinstance(p, Decimal))
            covered = [p for p in points if any(_holds(x, p) for x in tests)]
            if len(covered) < 2:
                continue
            hole = next((p for p in points if covered[0] < p < covered[-1]
                         and not any(_holds(x, p) for x in tests)), None)
            if hole is not None:
                at = rows[members[0]].span
                lits = [x for test in tests for x in test.literals() if isinstance(x, Decimal)]
                lo = max((x for x in lits if x < hole), default=hole)
                hi = min((x for x in lits if x > hole), default=hole)
                where = "a bound both neighbouring rows leave out" if hole in lits else \
                    f"between the bounds {lo:f} and {hi:f}"
                c.diags.warning(Code.TABLE_SHAPE, at, f"the rows leave a gap in "
                                f"{inp.text}: no row matches {inp.text} = {hole:f} ({where}, "
                                f"other inputs as in row "
                                f"{members[0] + 1})", "close the gap with the row boundaries "
                                "(e.g. [0..50) then [50..100]), or add a default")
                return True
    return False


def _enum_gaps(c: Any, t: Any, rows: list[Any], enums: list[frozenset[str] | None]) -> None:
    """An input combination no row matches, over the values of the declared enums, the
    literals of the other columns and the numeric range they cover (a counterexample)."""
    axes: list[list[Any]] = []
    for j, values in enumerate(enums):
        tests = [r[0][j] for r in t.rows]
        if values:
            axes.append(sorted(values))
            continue
        points = [p for p in _probes(tests) if p is not None and p != "\x00unlisted"
                  and not (isinstance(p, str) and p.endswith("\x00"))]
        nums = sorted(p for p in points if isinstance(p, Decimal))
        covered = [p for p in nums if any(_holds(x, p) for x in tests)]
        inside = [p for p in nums if covered and covered[0] <= p <= covered[-1]]
        axes.append(inside + [p for p in points if not isinstance(p, Decimal)] or [None])
    size = 1
    for a in axes:
        size *= len(a)
    if size > MAX_COMBINATIONS:
        return
    for combo in product(*axes):
        if not any(all(_holds(cells[j], v) for j, v in enumerate(combo))
                   for cells, _ in t.rows):
            shown = ", ".join(f"{e.text} = {v!r}" if isinstance(v, str) else
                              f"{e.text} = {'null' if v is None else v}"
                              for e, v in zip(t.inputs, combo))
            c.diags.warning(Code.TABLE_SHAPE, t.span, f"no row matches {shown}: the rows "
                            "leave a gap among the values the order schema declares",
                            "add a row for it, or a default")
            return


def _conflicts(c: Any, t: Any, rows: list[Any]) -> None:
    cells = [r[0] for r in t.rows]
    n = len(t.inputs)
    probes = [_probes([r[j] for r in cells]) for j in range(n)]
    sat = [[frozenset(k for k, p in enumerate(probes[j]) if _holds(r[j], p))
            for j in range(n)] for r in cells]
    for b in range(len(cells)):
        for a in range(b):
            if t.rows[a][1] != t.rows[b][1] and all(sat[a][j] & sat[b][j] for j in range(n)):
                c.diags.warning(Code.TABLE_OVERLAP, rows[b].span, f"row {b + 1} and row {a + 1} "
                                "can both match with different outputs: a rule error under hit "
                                "policy any", "give them the same outputs, narrow one, or use "
                                "hit: first")
                break


# --- all of them ---------------------------------------------------------------------------

def _limit(c: Any) -> Decimal:
    node = c.nodes.get("ruleset.yaml")
    checks = node.get("checks") if node is not None else None
    v = checks.get("max_line_discount") if checks is not None else None
    return v.value if v is not None and isinstance(v.value, Decimal) else MAX_LINE_DISCOUNT


def check_domain(c: Any, enum_of: Callable[[str], frozenset[str] | None]) -> None:
    """Every domain check; `enum_of(expression)` gives the values of an input the order
    schema declares as an enum (engine/check_types.py)."""
    check_tiers(c)
    check_stacking(c, _limit(c))
    check_cost(c)
    check_approvals(c)
    check_approval_rules(c)
    check_tables(c, enum_of)
