"""Decision tables: unary-test cells, hit policies, compiled matching, static analysis.

In: a table's YAML node (inputs, outputs, rows, default, hit) and the rule's scope.
Out: a `CompiledTable` whose `match(S, X)` returns the output rows that apply (a list of
dicts, in the order `then` runs) or raises `RuleError`; and warnings for overlapping rows of
`unique` tables and rows of `first` tables that an earlier row always shadows.

Cells are unary tests against the input's value (SPEC section 2). The rows of a table compile
into one generated Python function that tests every row with inlined comparisons; before it
runs, each input's kind is checked against the kinds of the literals of its column, and an
input of another kind takes the careful path that reports a kind mismatch as a rule error
(we fail closed: a failing cell is never silently "no match").

Analysis is exact for these cells: every column's cells are unions of intervals and literal
sets, so probing each column at its boundary values, the points between them and one value
outside every literal decides intersection and inclusion.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from . import values as V
from .diagnostics import Code, Diagnostics, Span
from .expressions import Expr
from .inline import compiled, expr_code
from .values import DATE, D, RuleError

HIT_POLICIES = ("unique", "first", "any", "priority", "rule_order", "output_order", "collect",
                "collect_sum", "collect_min", "collect_max", "collect_count")
RANKED = ("priority", "output_order")  # hit policies that order rows by their output values
AGGREGATES = ("collect_sum", "collect_min", "collect_max", "collect_count")

_RANGE = re.compile(r"^([\[(])\s*(.+?)\s*\.\.\s*(.+?)\s*([\])])$", re.S)
_CMP = re.compile(r"^(<=|>=|!=|==|<|>|=)\s*(.+)$", re.S)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


class CellError(Exception):
    pass


# --- cell tests --------------------------------------------------------------------------

@dataclass(frozen=True)
class Test:
    kind: str  # any | eq | cmp | range | anyof | not
    op: str = ""
    value: Any = None
    hi: Any = None
    lo_closed: bool = True
    hi_closed: bool = True
    items: tuple["Test", ...] = ()

    def literals(self) -> list[Any]:
        if self.kind in ("eq", "cmp"):
            return [self.value]
        if self.kind == "range":
            return [self.value, self.hi]
        return [x for t in self.items for x in t.literals()]

    def __call__(self, v: Any) -> bool:
        """The careful evaluation: mismatched kinds in an ordering test are rule errors."""
        k = self.kind
        if k == "any":
            return True
        if k == "eq":
            return v is None if self.value is None else V.eq(v, self.value)
        if k == "cmp":
            op = self.op
            if op in ("==", "="):
                return v is None if self.value is None else V.eq(v, self.value)
            if op == "!=":
                return v is not None if self.value is None else not V.eq(v, self.value)
            return {"<": V.lt, "<=": V.le, ">": V.gt, ">=": V.ge}[op](v, self.value)
        if k == "range":
            lo_ok = V.ge(v, self.value) if self.lo_closed else V.gt(v, self.value)
            return lo_ok and (V.le(v, self.hi) if self.hi_closed else V.lt(v, self.hi))
        if k == "anyof":
            return any(t(v) for t in self.items)
        if k == "not":
            return not any(t(v) for t in self.items)
        raise AssertionError(k)  # pragma: no cover


ANY = Test("any")


def literal(text: str) -> Any:
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        return t[1:-1]
    low = t.lower()
    if low == "true":
        return True
    if low == "false":
        return False
    if low == "null":
        return None
    if _DATE.match(t):
        try:
            return datetime.date.fromisoformat(t)
        except ValueError:
            raise CellError(f"{t!r} is not a valid date") from None
    if _NUMBER.match(t):
        try:
            return Decimal(t)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            raise CellError(f"{t!r} is not a number") from None
    if not t:
        raise CellError("an empty value in a list or comparison")
    return t


def _split(text: str) -> list[str]:
    parts, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    if quote:
        raise CellError("a quote is not closed")
    parts.append("".join(cur))
    return parts


def _item(text: str) -> Test:
    t = text.strip()
    if t.lower().startswith("not(") and t.endswith(")"):
        inner = parse_cell_text(t[4:-1])
        return Test("not", items=inner.items if inner.kind == "anyof" else (inner,))
    m = _RANGE.match(t)
    if m:
        lo, hi = literal(m.group(2)), literal(m.group(3))
        if V.kind(lo) != V.kind(hi) or V.kind(lo) not in ("number", "date", "text"):
            raise CellError(f"a range needs two numbers, dates or texts: {t!r}")
        return Test("range", value=lo, hi=hi, lo_closed=m.group(1) == "[",
                    hi_closed=m.group(4) == "]")
    m = _CMP.match(t)
    if m:
        op = "==" if m.group(1) == "=" else m.group(1)
        value = literal(m.group(2))
        if op not in ("==", "!=") and V.kind(value) not in ("number", "date", "text"):
            raise CellError(f"'{op}' needs a number, a date or a text: {t!r}")
        return Test("cmp", op=op, value=value)
    return Test("eq", value=literal(t))


def parse_cell_text(text: str) -> Test:
    t = text.strip()
    if t in ("", "-"):
        return ANY
    items = [_item(p) for p in _split(t)]
    return items[0] if len(items) == 1 else Test("anyof", items=tuple(items))


def parse_cell(value: Any) -> Test:
    """A cell from YAML: a text is a unary test; a number, boolean or null is itself."""
    if value is None:
        return ANY
    if isinstance(value, str):
        return parse_cell_text(value)
    if isinstance(value, (bool, Decimal)):
        return Test("eq", value=value)
    raise CellError("a cell must be a text, a number, true, false or null")


# --- compiled matching ---------------------------------------------------------------------

def _fast(test: Test, var: str, const: Callable[[Any], str]) -> str | None:
    """Inline Python for a cell, valid when the input is null or of its column's literal kind."""
    k = test.kind
    if k == "any":
        return None
    if k in ("eq", "cmp") and test.op in ("", "==", "="):
        if test.value is None:
            return f"{var} is None"
        if test.value.__class__ is bool:
            return f"{var} is {const(test.value)}"
        return f"{var} == {const(test.value)}"
    if k == "cmp" and test.op == "!=":
        if test.value is None:
            return f"{var} is not None"
        return f"{var} != {const(test.value)}"
    if k == "cmp":
        return f"({var} is not None and {var} {test.op} {const(test.value)})"
    if k == "range":
        lo = ">=" if test.lo_closed else ">"
        hi = "<=" if test.hi_closed else "<"
        return (f"({var} is not None and {var} {lo} {const(test.value)} and "
                f"{var} {hi} {const(test.hi)})")
    parts = [_fast(t, var, const) or "True" for t in test.items]
    joined = " or ".join(f"({p})" for p in parts)
    return f"({joined})" if k == "anyof" else f"(not ({joined}))"


@dataclass
class CompiledTable:
    hit: str
    inputs: list[Expr]
    outputs: list[str]
    rows: list[tuple[list[Test], list[Any]]]  # cells, output cells (values or Expr)
    default: list[Any] | None
    kinds: list[frozenset[type] | None]  # per column: classes of its literals (None: any)
    fast: Callable[..., list[int]]
    span: Span
    # per row, the position of each ranked output's value in its `output_values` (priority and
    # output_order): a smaller tuple is a higher priority, compared output by output
    ranks: list[tuple[int, ...]] | None = None

    def __post_init__(self) -> None:
        # rows whose outputs are all literal values answer with one shared dict
        self.literal_outputs: list[dict[str, Any] | None] = [
            None if any(isinstance(c, Expr) for c in outs) else dict(zip(self.outputs, outs))
            for _, outs in self.rows]
        dispatch = build_dispatch([cells for cells, _ in self.rows], self.kinds, self.hit)
        if dispatch is not None:
            self.fast = dispatch
        self.matcher = build_matcher(self)
        self.match_one = build_matcher(self, fused=True) if self.hit in ("first", "unique") \
            else self.match

    def match_indices(self, values: list[Any]) -> list[int]:
        for v, allowed in zip(values, self.kinds):
            if allowed is not None and v is not None and v.__class__ not in allowed:
                return self.careful(values)
        try:
            return self.fast(*values)
        except TypeError:
            return self.careful(values)

    def careful(self, values: list[Any]) -> list[int]:
        out = []
        for i, (cells, _) in enumerate(self.rows):
            if all(cell(v) for cell, v in zip(cells, values)):
                out.append(i)
                if self.hit == "first":
                    break
        return out

    def outputs_of(self, cells: list[Any], S: dict[str, Any], X: Any) -> dict[str, Any]:
        return {name: (c.fn(S, X) if isinstance(c, Expr) else c)
                for name, c in zip(self.outputs, cells)}

    def row_outputs(self, i: int, S: dict[str, Any], X: Any) -> dict[str, Any]:
        literal = self.literal_outputs[i]
        return literal if literal is not None else self.outputs_of(self.rows[i][1], S, X)

    def match(self, S: dict[str, Any], X: Any) -> list[dict[str, Any]]:
        return self.finish(self.matcher(S, X), S, X)

    def finish(self, hits: list[int], S: dict[str, Any], X: Any) -> list[dict[str, Any]]:
        """`match` once the rows that match are known."""
        if X.row_hits is not None:  # a test run counting rows (engine/testing.py)
            X.row_hits(self, hits)
        if not hits:
            if self.default is None:
                return []
            return [self.outputs_of(self.default, S, X)]
        hit = self.hit
        if hit == "unique" and len(hits) > 1:
            values = [e.fn(S, X) for e in self.inputs]
            raise RuleError(f"rows {hits[0] + 1} and {hits[1] + 1} both match (hit policy "
                            f"unique) for inputs {', '.join(V.show(v) for v in values)}")
        if hit in ("unique", "first"):
            return [self.row_outputs(hits[0], S, X)]
        if hit in RANKED and self.ranks is not None:
            ranks = self.ranks
            if hit == "priority":
                return [self.row_outputs(min(hits, key=ranks.__getitem__), S, X)]
            hits = sorted(hits, key=ranks.__getitem__)  # stable: equal ranks keep row order
        results = [self.row_outputs(i, S, X) for i in hits]
        if hit == "any":
            first = results[0]
            for i, r in zip(hits[1:], results[1:]):
                if not all(V.eq(first[k], r[k]) for k in self.outputs):
                    raise RuleError(f"rows {hits[0] + 1} and {i + 1} match with different "
                                    "outputs (hit policy any)")
            return [first]
        if hit in AGGREGATES:
            return [{self.outputs[0]: aggregate(hit, [r[self.outputs[0]] for r in results])}]
        return results


def aggregate(hit: str, vals: list[Any]) -> Any:
    if hit == "collect_count":
        return D(len(vals))
    present = [v for v in vals if v is not None]
    if hit == "collect_sum":
        total = D(0)
        for v in present:
            if v.__class__ is not D:
                raise RuleError(f"collect_sum adds numbers, got {V.kind(v)} {V.show(v)}")
            total += v
        return total
    if not present:
        return None
    kinds = {v.__class__ for v in present}
    if len(kinds) > 1 or not kinds <= {D, str, DATE}:
        raise RuleError(f"{hit} compares values of one kind (numbers, dates or texts)")
    return min(present) if hit == "collect_min" else max(present)


def build_fast(rows: list[list[Test]], ncols: int, hit: str) -> Callable[..., list[int]]:
    consts: list[Any] = []

    def const(v: Any) -> str:
        consts.append(v)
        return f"c{len(consts) - 1}"

    args = ", ".join(f"v{i}" for i in range(ncols))
    lines = [f"def _t({args}):"]
    if hit != "first":
        lines.append("    r = []")
    for i, cells in enumerate(rows):
        conds = [c for c in (_fast(t, f"v{j}", const) for j, t in enumerate(cells)) if c]
        cond = " and ".join(f"({c})" for c in conds) or "True"
        action = f"return [{i}]" if hit == "first" else f"r.append({i})"
        lines.append(f"    if {cond}: {action}")
    lines.append("    return []" if hit == "first" else "    return r")
    params = ", ".join(f"c{i}" for i in range(len(consts)))
    source = f"def _make({params}):\n" + "\n".join("    " + ln for ln in lines) + \
        "\n    return _t\n"
    namespace: dict[str, Any] = {"__builtins__": {}}
    exec(compile(source, "<table>", "exec"), namespace)  # noqa: S102 - our own text only
    fast: Callable[..., list[int]] = namespace["_make"](*consts)
    fast.__dict__["rebuild"] = ("table", namespace["_make"].__code__, consts)  # compiled.py
    return fast


def _texts(test: Test) -> list[str] | None:
    """The texts a cell is equal to when it is nothing but equality with texts, else None."""
    if test.kind in ("eq", "cmp") and test.op in ("", "==", "=") and test.value.__class__ is str:
        return [test.value]
    if test.kind == "anyof":
        out: list[str] = []
        for t in test.items:
            texts = _texts(t)
            if texts is None:
                return None
            out += texts
        return out
    return None


def _orders(test: Test) -> bool:
    """Whether a cell compares by order (`<`, a range): a NaN input raises there."""
    if test.kind == "range" or (test.kind == "cmp" and test.op not in ("", "==", "=", "!=")):
        return True
    return any(_orders(t) for t in test.items)


_SAFE_KINDS = (str, D, DATE, bool)


def build_dispatch(rows: list[list[Test]], kinds: list[frozenset[type] | None],
                   hit: str) -> Callable[..., list[int]] | None:
    """The rows reached by a dict on one input instead of tested one by one (the alpha
    network of Rete engines, and how ZEN's and Drools' tables avoid scanning): for a column
    of text equalities, each text maps to a function testing only the rows that can match it
    (those equal to it, and those whose cell in that column is anything else), in row order,
    the column's own test left out where the dict has decided it; an input in no row's list
    (or null) tests the other rows. Same answer as `build_fast` whenever that one gives an
    answer: only when every column holds literals of one kind (so no comparison raises
    TypeError in a row left out), and an input that is a NaN number takes the plain scan (a
    NaN raises in an ordering test that a left-out row might reach first). None when no
    column has two rows to tell apart."""
    ncols = len(kinds)
    if any(k is not None and (len(k) != 1 or next(iter(k)) not in _SAFE_KINDS) for k in kinds):
        return None
    best, best_rows = -1, 1
    for j in range(ncols):
        if kinds[j] != frozenset({str}):
            continue
        n = sum(1 for cells in rows if _texts(cells[j]) is not None)
        if n > best_rows:
            best, best_rows = j, n
    if best < 0:
        return None
    j = best
    values: dict[str, list[int]] = {}
    other: list[int] = []
    for i, cells in enumerate(rows):
        texts = _texts(cells[j])
        if texts is None:
            other.append(i)
        else:
            for t in dict.fromkeys(texts):
                values.setdefault(t, [])
    for i, cells in enumerate(rows):
        texts = _texts(cells[j])
        for t, picked in values.items():
            if texts is None or t in texts:
                picked.append(i)
    nan = [c for c in range(ncols) if kinds[c] == frozenset({D})
           and any(_orders(cells[c]) for cells in rows)]
    consts: list[Any] = []

    def const(v: Any) -> str:
        consts.append(v)
        return f"c{len(consts) - 1}"

    args = ", ".join(f"v{c}" for c in range(ncols))
    lines = []

    def bucket(name: str, picked: list[int], known: bool) -> None:
        lines.append(f"def {name}({args}):")
        if hit != "first":
            lines.append("    r = []")
        for i in picked:
            cells = rows[i]
            conds = [x for x in (None if known and c == j and _texts(t) is not None
                                 else _fast(t, f"v{c}", const)
                                 for c, t in enumerate(cells)) if x]
            cond = " and ".join(f"({x})" for x in conds) or "True"
            act = f"return [{i}]" if hit == "first" else f"r.append({i})"
            lines.append(f"    if {cond}: {act}")
        lines.append("    return []" if hit == "first" else "    return r")

    plain = list(range(len(rows)))
    bucket("_plain", plain, False)
    bucket("_other", other, False)
    names = {}
    for n, (t, picked) in enumerate(values.items()):
        bucket(f"_b{n}", picked, True)
        names[t] = f"_b{n}"
    lines.append(f"_by = {{{', '.join(f'{const(t)}: {n}' for t, n in names.items())}}}")
    lines.append(f"def _t({args}):")
    for c in nan:
        lines.append(f"    if v{c} is not None and v{c}.is_nan():")
        lines.append(f"        return _plain({args})")
    lines.append(f"    return _by.get(v{j}, _other)({args})")
    params = ", ".join(f"c{i}" for i in range(len(consts)))
    source = f"def _make({params}):\n" + "\n".join("    " + ln for ln in lines) + \
        "\n    return _t\n"
    namespace: dict[str, Any] = {"__builtins__": {}}
    exec(compile(source, "<table>", "exec"), namespace)  # noqa: S102 - our own text only
    fast: Callable[..., list[int]] = namespace["_make"](*consts)
    fast.__dict__["rebuild"] = ("table", namespace["_make"].__code__, consts)  # compiled.py
    return fast


def build_matcher(table: "CompiledTable", fused: bool = False) -> Callable[..., Any]:
    """One function that reads the inputs, checks their kinds and tests every row: the fast
    path inlined, the careful path taken for an input of another kind or on a TypeError.
    `fused` (hit policies first and unique): `match` itself, answered in the same function
    outside a test run when exactly one row matches (its outputs) or none does and the table
    has no default (no rows); every other case (several rows, a default, rows counted) by
    `finish`."""
    def make(flags: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        bind: dict[str, Any] = {"_fast": table.fast, "_careful": table.careful,
                                "TypeError": TypeError, **flags}
        args = ", ".join(f"v{j}" for j in range(len(table.inputs)))
        if fused:
            return "\n".join(_fused_lines(table, bind, args)) + "\n", bind
        lines, guards = _inputs(table, bind)
        if guards:
            lines.append(f"    if {' or '.join(guards)}:")
            lines.append(f"        return _careful([{args}])")
        lines.append("    try:")
        lines.append(f"        return _fast({args})")
        lines.append("    except TypeError:")
        lines.append(f"        return _careful([{args}])")
        return "\n".join(lines) + "\n", bind

    code, bind = compiled(make, "<table match>")
    namespace: dict[str, Any] = {"__builtins__": {}}
    namespace.update(bind)
    exec(code, namespace)  # noqa: S102 - our own text only
    matcher: Callable[..., Any] = namespace["_m"]
    matcher.__dict__["rebuild"] = ("bound", matcher.__code__, bind)  # compiled.py
    return matcher


def _inputs(table: "CompiledTable", bind: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The matcher's head: `def _m(S, X):` and each input read into `v{j}`, and the tests of
    an input of a kind its column does not take (the careful path's cases)."""
    lines = ["def _m(S, X):"]
    for j, e in enumerate(table.inputs):
        lines.append(f"    v{j} = {expr_code(e.fn, f'i{j}', bind)}")  # its code, or a call
    guards = []
    for j, kinds in enumerate(table.kinds):
        if kinds is not None:
            bind[f"k{j}"] = kinds
            guards.append(f"(v{j} is not None and v{j}.__class__ not in k{j})")
    return lines, guards


def _fused_lines(table: "CompiledTable", bind: dict[str, Any], args: str) -> list[str]:
    bind["_finish"] = table.finish
    bind["len"] = len
    bind["_lits"] = table.literal_outputs
    lines, guards = _inputs(table, bind)
    ind = "    "
    if guards:
        lines.append(f"    if {' or '.join(guards)}:")
        lines.append(f"        return _finish(_careful([{args}]), S, X)")
    lines.append(f"{ind}try:")
    lines.append(f"{ind}    hits = _fast({args})")
    lines.append(f"{ind}except TypeError:")
    lines.append(f"{ind}    return _finish(_careful([{args}]), S, X)")
    bind["_row"] = table.row_outputs
    lines.append(f"{ind}if X.row_hits is None:")
    lines.append(f"{ind}    if len(hits) == 1:")
    lines.append(f"{ind}        out = _lits[hits[0]]")
    lines.append(f"{ind}        return [out if out is not None else _row(hits[0], S, X)]")
    if table.default is None:
        lines.append(f"{ind}    if not hits:")
        lines.append(f"{ind}        return []")
    lines.append(f"{ind}return _finish(hits, S, X)")
    return lines


def column_kinds(rows: list[list[Test]], ncols: int) -> list[frozenset[type] | None]:
    kinds: list[frozenset[type] | None] = []
    for j in range(ncols):
        classes = {lit.__class__ for cells in rows for lit in cells[j].literals()
                   if lit is not None}
        if not classes:
            kinds.append(None)  # only "any" and null tests: every input is safe
            continue
        if (bool in classes and len(classes) > 1) or {DATE, str} <= classes:
            classes = set()  # booleans with numbers, dates with texts: the careful path
        kinds.append(frozenset(classes))
    return kinds


# --- analysis ------------------------------------------------------------------------------

def _probes(tests: list[Test]) -> list[Any]:
    lits = [x for t in tests for x in t.literals() if x is not None]
    points: list[Any] = [None, "\x00unlisted"]
    nums = sorted({x for x in lits if x.__class__ is D})
    dates = sorted({x for x in lits if x.__class__ is DATE})
    texts = sorted({x for x in lits if x.__class__ is str})
    points += [x for x in lits if x.__class__ is bool]
    if nums:
        points += nums + [nums[0] - 1, nums[-1] + 1]
        points += [(a + b) / 2 for a, b in zip(nums, nums[1:])]
    if dates:
        one = datetime.timedelta(days=1)
        points += dates + [d - one for d in dates] + [d + one for d in dates]
    if texts:
        points += texts + [t + "\x00" for t in texts]
    return points


def _holds(test: Test, v: Any) -> bool:
    try:
        return test(v)
    except RuleError:
        return False


def analyse(table: CompiledTable, row_spans: list[Span], diags: Diagnostics) -> None:
    rows = [cells for cells, _ in table.rows]
    ncols = len(table.inputs)
    probes = [_probes([r[j] for r in rows]) for j in range(ncols)]
    sat = [[frozenset(i for i, p in enumerate(probes[j]) if _holds(r[j], p))
            for j in range(ncols)] for r in rows]
    for b in range(len(rows)):
        for a in range(b):
            if table.hit == "unique" and all(sat[a][j] & sat[b][j] for j in range(ncols)):
                diags.warning(Code.TABLE_OVERLAP, row_spans[b],
                              f"row {b + 1} overlaps row {a + 1}: an input can match both, "
                              "a rule error under hit policy unique",
                              "narrow one row, or use hit: first")
                break
            if table.hit == "first" and all(sat[b][j] <= sat[a][j] for j in range(ncols)):
                diags.warning(Code.TABLE_SHADOWED, row_spans[b],
                              f"row {b + 1} can never match: row {a + 1} matches every input "
                              "it matches (hit policy first)",
                              "move the narrower row up, or remove it")
                break
    for b in range(len(rows)):
        if any(not sat[b][j] for j in range(ncols)):
            diags.warning(Code.NEVER_FIRES, row_spans[b], f"row {b + 1} matches no value")
