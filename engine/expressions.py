"""The expression language (SPEC section 3): parse once, check, compile to a Python callable.

In: the text of an expression, where it stands (`Span`), and the names in scope; the text is
parsed by engine/syntax.py (grammar and tree), and checked and compiled here.
Out: an `Expr` whose `fn(S, X)` evaluates it against a scope dict `S` (order, customer, line,
ref, pricing, table outputs) and the evaluation context `X`; or diagnostics.
Raises: nothing for the user's mistakes (they become diagnostics); `RuleError` at evaluation.

Design. A lark LALR grammar gives a syntax tree; we check it (names, functions, arity, literal
kinds) and generate Python source from it, compiled once. Generated code is safe only if the
generator never emits text it did not build itself: every literal and every key is a constant
bound by position (`c0, c1, ...`), function implementations are bound by registry position
(`f0, f1, ...`), the only other identifiers are the fixed helper names below, and the code runs
with no builtins. Whatever the expression text, the compiled code can reach only its data, the
helpers and the registered functions. Measured: generated code runs a typical condition in about
0.15 µs, three times faster than closures over the tree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from difflib import get_close_matches
from typing import Any, Callable

from . import values as V
from .diagnostics import Code, Diagnostics, Span
from .budget import MEMBER_FREE, metered_items, metered_member, metered_not_member
from .functions import FUNCTIONS, RegexRefused, compile_regex
from .syntax import ExprSyntaxError, N, parse


@dataclass(frozen=True)
class Scope:
    """What an expression may name: fixed roots, table outputs, reference table names."""

    names: frozenset[str]
    tables: frozenset[str]


@dataclass(frozen=True)
class Expr:
    text: str
    fn: Callable[[dict[str, Any], Any], Any]
    constant: bool = False
    value: Any = None  # when constant
    reads_pricing: bool = False  # `pricing` or `line.pricing`
    guards: list["Guard"] = field(default_factory=list)
    tables: frozenset[str] = frozenset()  # reference tables read ("*": any)
    parent: "Parent | None" = None  # for a value `P.field` of a reference look-up P
    # a pure path that reads no line (`ref.countries[order.ship_to.country].vat`): outside
    # defaulting its value is the same for every line of a pack's run (engine/actions.py)
    order_level: bool = False
    # every value it gives is null or a finite number of at most values.AMOUNT_LIMIT in size
    # (`ref.T[KEY].COLUMN` of a column holding only such numbers, every row an object): a
    # pricing action need not check it (engine/actions.py `_number_code`)
    amounts: bool = False


@dataclass(frozen=True)
class Parent:
    """A value `P.field` whose P is a look-up in a reference table by keys read from the order
    (`ref.customers[customer.id].name`): the targets of one `default`/`set` that read fields of
    the same P look it up once (engine/actions.py `Assign.inline`, issue 16)."""

    key: str  # P, written canonically
    fn: Callable[[dict[str, Any], Any], Any]  # P alone
    field: str
    reads: frozenset[str]  # the order's paths P reads (its keys): what a write must not touch


@dataclass(frozen=True)
class Guard:
    """A conjunct `PATH == "text"` of a condition: the condition is false unless PATH has that
    value. PATH reads only order data and reference tables, so outside the defaulting phase its
    value cannot change while a pack runs and a pack computes it once for all its rules (the
    alpha-node sharing of Rete engines)."""

    key: str  # the path, written canonically
    fn: Callable[[dict[str, Any], Any], Any]
    value: str
    per_line: bool
    # the condition without this conjunct, for a pack that has already seen the guard hold
    # (the first guard only; None with `rest_true`: the guard is the whole condition)
    rest: Callable[[dict[str, Any], Any], Any] | None = None
    rest_true: bool = False


def _path_text(n: N) -> str | None:
    """The canonical text of a pure path (names, keys, literal or path indexes), else None."""
    if n.kind == "name":
        return n.value if n.value in ("order", "customer", "line", "ref") else None
    if n.kind == "get":
        inner = _path_text(n.args[0])
        if inner is None or (inner == "line" and n.value == "pricing"):
            return None
        return f"{inner}.{n.value}"
    if n.kind == "index":
        inner = _path_text(n.args[0])
        key = n.args[1]
        ktext: str | None
        if key.kind == "lit" and key.value.__class__ in (str, Decimal):
            ktext = repr(key.value) if isinstance(key.value, str) else format(key.value, "f")
        else:
            ktext = _path_text(key)
        if inner is None or ktext is None:
            return None
        return f"{inner}[{ktext}]"
    return None


def _reads_line(path: str) -> bool:
    """Whether a pure path's text (`_path_text`) may read the line: any `line` outside a
    reference table's name (conservative: `order.lines_note` counts)."""
    return "line" in path.replace("ref.", "")


def _conjuncts(n: N) -> list[N]:
    return _conjuncts(n.args[0]) + _conjuncts(n.args[1]) if n.kind == "and" else [n]


_INLINE_AGGREGATES = {"sum": ("_sum_of", "[]"), "count": ("_count_of", "[]"),
                      "any": ("_any_of", "()"), "all": ("_all_of", "()")}

_HELPERS: dict[str, Any] = {
    "_get": V.get, "_index": V.index, "_add": V.add, "_sub": V.sub, "_mul": V.mul,
    "_div": V.div, "_mod": V.mod, "_neg": V.neg, "_lt": V.lt, "_le": V.le, "_gt": V.gt,
    "_ge": V.ge, "_eq": V.eq, "_ne": V.ne, "_in": metered_member,
    "_notin": metered_not_member, "_in_free": V.member, "_notin_free": V.not_member,
    "_dict": dict, "_list": list, "_D": Decimal, "_str": str,
    "_items": metered_items, "_sum_of": V.sum_of, "_count_of": V.count_of, "_any_of": any,
    "_all_of": all, "_bool": bool, "_ORD": frozenset({Decimal, str, V.DATE}),
}
_CMP = {"<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge", "==": "_eq", "!=": "_ne"}
_ARITH = {"+": "_add", "-": "_sub", "*": "_mul", "/": "_div", "%": "_mod"}
_FN_INDEX = {name: i for i, name in enumerate(FUNCTIONS)}
_FN_BINDINGS = {f"f{i}": FUNCTIONS[name].impl for name, i in _FN_INDEX.items()}
_BOOL_KINDS = {"cmp", "in", "notin", "not", "and", "or"}
_DATE_FUNCTIONS = {"date", "today", "add_days", "coalesce", "min", "max"}


def _may_be_date(n: N) -> bool:
    """Whether a node may yield a date: comparing a date with a text must stay an error."""
    return n.kind == "call" and n.value in _DATE_FUNCTIONS


class _Compiler:
    def __init__(self, text: str, scope: Scope, report: Callable[..., None],
                 allow_it: bool = False, table_objects: dict[str, Any] | None = None,
                 locate: Callable[[int], str] | None = None):
        self.locate = locate or (lambda pos: "")  # FILE:LINE:COL of a position, for errors
        self.allow_it = allow_it
        self.table_objects = table_objects
        self.temps = 0
        self.reads: set[str] = set()  # the reference tables it reads ("*": any)
        self.text = text
        self.scope = scope
        self.report = report  # report(code, pos, message, hint=None, warning=False)
        self.consts: list[Any] = []
        self.reads_pricing = False
        # count_by's key in the decision's memo, one per call node: a residual condition
        # (`_guards`) compiled from the same tree shares it with the full condition
        self.memo_keys: dict[int, object] = {}
        # common paths (issue 16): a pure path read twice or more (`ref.products[line.sku]`)
        # is kept in a temporary where it is first evaluated unconditionally and read from it
        # after; see `common`
        self.repeated: set[str] = set()
        self.avail: dict[str, str] = {}
        self.depth = 0  # inside a part evaluated only sometimes (the right of and/or, ...)
        self.chain: set[int] = set()  # the `and` nodes of the root's conjunction

    def common(self, roots: list[N]) -> None:
        """Prepares the common paths of `roots`, evaluated one after the other, each only
        when the ones before held (a condition's conjuncts). Paths cannot fail nor change
        while an expression is evaluated, so a value computed earlier in the same evaluation
        is the value; it is reused only where its computation always ran before: outside the
        right side of an and/or (but along the root's chain of `and`s, whose later operands
        run only after the earlier ones), and it is recorded only outside element expressions
        (`it`). (The one other part evaluated only sometimes, a literal list of texts searched
        for a non-text, holds no path.)"""
        seen: set[str] = set()

        def walk(n: N) -> None:
            if n.kind in ("get", "index"):
                text = _path_text(n)
                if text is not None:
                    (self.repeated if text in seen else seen).add(text)
            for a in n.args:
                walk(a)

        def chain(n: N) -> None:
            if n.kind == "and":
                self.chain.add(id(n))
                chain(n.args[0])
                chain(n.args[1])

        for root in roots:
            walk(root)
            chain(root)

    def kept(self, n: N, code: str, lam: int) -> str:
        """`code` of the path `n`, kept in a temporary when it is read again later."""
        text = _path_text(n)
        if text is None or text not in self.repeated or code.startswith("c") or code == "None":
            return code  # not read again, a constant (a table), or an error reported here
        if lam == 0 and self.depth == 0 and text not in self.avail:
            t = self.tmp()
            self.avail[text] = t
            return f"({t} := {code})"
        return code

    def reuse(self, n: N) -> str | None:
        text = _path_text(n) if self.avail else None
        return self.avail.get(text) if text is not None else None

    def const(self, v: Any) -> str:
        for i, c in enumerate(self.consts):
            if c.__class__ is v.__class__ and c == v:
                return f"c{i}"
        self.consts.append(v)
        return f"c{len(self.consts) - 1}"

    def tmp(self) -> str:
        self.temps += 1
        return f"t{self.temps}"

    def gen(self, n: N, lam: int) -> str:
        k = n.kind
        if k == "lit":
            return self.const(n.value)
        if k == "list":
            return "[" + ", ".join(self.gen(a, lam) for a in n.args) + "]"
        if k == "name":
            return self.name(n, lam)
        if k in ("get", "index") and self.avail:
            known = self.reuse(n)
            if known is not None:
                return known
        if k in ("get", "index"):
            return self.kept(n, self.path(n, lam), lam)
        if k == "call":
            return self.call(n, lam)
        if k == "neg":
            return f"_neg({self.gen(n.args[0], lam)}, {self.const(self.locate(n.pos))})"
        if k == "not":
            return f"(not {self.cond(n.args[0], lam)})"
        if k in ("and", "or"):
            left = self.cond(n.args[0], lam)
            sometimes = k == "or" or id(n) not in self.chain
            self.depth += sometimes
            try:
                right = self.cond(n.args[1], lam)
            finally:
                self.depth -= sometimes
            return f"({left} {k} {right})"
        return self.rest(n, lam)

    def path(self, n: N, lam: int) -> str:
        """A `get` or an `index` node."""
        k = n.kind
        if k == "get":
            obj = n.args[0]
            if obj.kind == "name" and obj.value == "ref" and "ref" in self.scope.names:
                if n.value not in self.scope.tables:
                    near = get_close_matches(n.value, sorted(self.scope.tables), 3, 0.6)
                    self.report(Code.REFERENCE, n.pos, f"unknown reference table '{n.value}'",
                                f"did you mean {', '.join(repr(x) for x in near)}?" if near
                                else "reference tables are the files in reference/ (NAME.csv, "
                                ".yaml, .json)")
                    return "None"
                self.reads.add(n.value)
                if self.table_objects is not None:  # a table is a constant of the rule set
                    return self.const(self.table_objects[n.value])
            if obj.kind == "name" and obj.value == "line" and n.value == "pricing" \
                    and "line" in self.scope.names:
                self.reads_pricing = True
                return f"S[{self.const('line.pricing')}]"
            t = self.tmp()
            key = self.const(n.value)
            # the common case inline (an object), everything else through the helper
            return (f"({t}.get({key}) if ({t} := {self.gen(obj, lam)}).__class__ is _dict "
                    f"else _get({t}, {key}))")
        if k == "index":
            obj = n.args[0]
            if obj.kind == "get" and obj.args[0].kind == "name" and obj.args[0].value == "ref" \
                    and self.table_objects is not None and obj.value in self.table_objects:
                table, t = self.gen(obj, lam), self.tmp()
                # a text key looks the index up directly; other kinds take `lookup`
                return (f"({table}.index.get({t}) if ({t} := {self.gen(n.args[1], lam)})"
                        f".__class__ is _str else {table}.lookup({t}))")
        return f"_index({self.gen(obj, lam)}, {self.gen(n.args[1], lam)})"

    def rest(self, n: N, lam: int) -> str:
        """Comparisons, membership and arithmetic."""
        k = n.kind
        if k == "cmp":
            a, b = n.args
            self.literal_kinds(n, a, b)
            return self.compare(n.value, a, b, lam)
        if k in ("in", "notin"):
            a, b = self.gen(n.args[0], lam), self.gen(n.args[1], lam)
            if n.args[1].kind == "list" and len(n.args[1].args) <= MEMBER_FREE:
                items = n.args[1].args
                if items and all(x.kind == "lit" and x.value.__class__ is str for x in items):
                    # texts only: a text is in it exactly when it is in their set (V.member
                    # compares a text with texts alone); anything else takes the helper
                    t, c = self.tmp(), self.const(frozenset(x.value for x in items))
                    return (f"(({t} {k.replace('notin', 'not in')} {c}) if ({t} := {a})"
                            f".__class__ is _str else _{k}_free({t}, {b}))")
                return f"_{k}_free({a}, {b})"  # a short literal list: no budget to charge
            return f"_{k}(X, {a}, {b})"  # a search of a long list spends budget steps
        if k == "arith":
            a, b = n.args
            if n.value in "/%" and b.kind == "lit" and isinstance(b.value, Decimal) \
                    and b.value == 0:
                self.report(Code.DIVISION_BY_ZERO, n.pos, "division by a constant zero",
                            "it becomes a rule error whenever this is evaluated", warning=True)
            if n.value != "+":
                self.literal_kinds(n, a, b)
            # every operation goes through its helper, which computes exactly or raises a
            # RuleError naming the operator's place (values.EXACT)
            return (f"{_ARITH[n.value]}({self.gen(a, lam)}, {self.gen(b, lam)}, "
                    f"{self.const(self.locate(n.pos))})")
        raise AssertionError(k)  # pragma: no cover - the builder makes only these kinds

    def compare(self, op: str, a: N, b: N, lam: int) -> str:
        """Comparisons with a literal on the right take an inline fast path when the value is
        of the literal's kind; every other case goes through the helper (nulls, kinds)."""
        if b.kind == "lit" and a.kind != "lit" and not _may_be_date(a):
            lit = b.value
            if lit is None and op in ("==", "!="):
                return f"({self.gen(a, lam)} {'is' if op == '==' else 'is not'} None)"
            if lit.__class__ is str and op in ("==", "!="):
                return f"({self.gen(a, lam)} {op} {self.const(lit)})"
            if lit.__class__ is Decimal:
                t, c = self.tmp(), self.const(lit)
                return (f"({t} {op} {c} if ({t} := {self.gen(a, lam)}).__class__ is _D "
                        f"else {_CMP[op]}({t}, {c}))")
        if a.kind != "lit" and b.kind != "lit":
            # two values of one class: Python's own comparison, as the helper makes it (a
            # list, and for an order an unordered class, take the helper, as do mixed classes,
            # which may be an error); both sides are evaluated, left first, as in a call
            ta, tb = self.tmp(), self.tmp()
            same = f"({ta} := {self.gen(a, lam)}).__class__ is ({tb} := {self.gen(b, lam)})" \
                ".__class__"
            kind = "is not _list" if op in ("==", "!=") else "in _ORD"
            return f"({ta} {op} {tb} if {same} and {ta}.__class__ {kind} else " \
                f"{_CMP[op]}({ta}, {tb}))"
        return f"{_CMP[op]}({self.gen(a, lam)}, {self.gen(b, lam)})"

    def cond(self, n: N, lam: int) -> str:
        code = self.gen(n, lam)
        return code if n.kind in _BOOL_KINDS else f"_bool({code})"  # = V.truthy, in C

    def literal_kinds(self, n: N, a: N, b: N) -> None:
        if a.kind == "lit" and b.kind == "lit":
            ka, kb = V.kind(a.value), V.kind(b.value)
            if {ka, kb} == {"text", "number"}:
                self.report(Code.TYPE_MISMATCH, n.pos,
                            f"'{n.value}' between a text and a number never holds",
                            "remove the quotes from the number, or quote both as text")

    def name(self, n: N, lam: int) -> str:
        name = n.value
        if name == "it":
            if lam == 0 and self.allow_it:
                return f"S[{self.const('it')}]"
            if lam == 0:
                self.report(Code.UNKNOWN_NAME, n.pos, "'it' is only defined inside the second "
                            "argument of sum, count, any and all (and a sourcing `prefer`)")
                return "None"
            return f"it{lam - 1}"
        if name in self.scope.names:
            if name == "pricing":
                self.reads_pricing = True
            if name == "ref":
                self.reads.add("*")  # `ref` itself (ref[x], x in ref): any table
            return f"S[{self.const(name)}]"
        if name in FUNCTIONS:
            self.report(Code.UNKNOWN_NAME, n.pos, f"'{name}' is a function: call it as "
                        f"{name}(...)")
            return "None"
        near = get_close_matches(name, sorted(self.scope.names), 3, 0.7)
        if near:
            hint = f"did you mean {', '.join(repr(x) for x in near)}?"
        else:
            hint = (f"to use it as text, quote it: '\"{name}\"' (an action value is an "
                    "expression, so text needs quotes inside the YAML)")
        self.report(Code.UNKNOWN_NAME, n.pos, f"unknown name '{name}'", hint)
        return "None"

    def call(self, n: N, lam: int) -> str:
        fn = FUNCTIONS.get(n.value)
        if fn is None:
            near = get_close_matches(n.value, sorted(FUNCTIONS), 3, 0.6)
            hint = (f"did you mean {', '.join(repr(x) for x in near)}?" if near
                    else "functions: " + ", ".join(sorted(FUNCTIONS)))
            self.report(Code.UNKNOWN_FUNCTION, n.pos, f"unknown function '{n.value}'", hint)
            return "None"
        argc = len(n.args)
        if argc < fn.min_args or (fn.max_args is not None and argc > fn.max_args):
            want = (str(fn.min_args) if fn.max_args == fn.min_args else
                    f"{fn.min_args} or more" if fn.max_args is None else
                    f"{fn.min_args} to {fn.max_args}")
            self.report(Code.ARITY, n.pos, f"{fn.name}() takes {want} arguments, got {argc}",
                        f"example: {fn.example}")
            return "None"
        if fn.name == "matches" and argc == 2 and n.args[1].kind == "lit" \
                and isinstance(n.args[1].value, str):
            try:
                compile_regex(n.args[1].value)
            except RegexRefused as exc:
                self.report(Code(exc.code), n.args[1].pos, str(exc), exc.hint)
        if fn.table_arg is not None and argc > fn.table_arg:
            t = n.args[fn.table_arg]
            if t.kind != "lit" or not isinstance(t.value, str):
                self.report(Code.BAD_VALUE, t.pos, f"{fn.name}() needs the name of a reference "
                            "table as quoted text", f'example: {fn.example}')
            elif t.value not in self.scope.tables:
                self.report(Code.REFERENCE, t.pos, f"unknown reference table '{t.value}'")
            else:
                self.reads.add(t.value)
        memo = fn.name == "count_by" and _kept_per_decision(n)
        if fn.lambda_arg is not None and not memo and (lam or "line" in self.scope.names) \
                and _over_lines(n.args[0]):
            where = "per line" if lam == 0 else "per element of the outer list"
            self.report(Code.QUADRATIC, n.pos, f"{fn.name}() over order.lines computes over "
                        f"all lines once {where}: quadratic in the number of lines",
                        "test it once in an order-level rule (no for_each), or look the line "
                        "up in count_by(order.lines, ...), computed once per decision",
                        warning=True)
        if fn.name in _INLINE_AGGREGATES:
            # the element expression runs inside one comprehension, not one call per element;
            # sum and count evaluate every element (a list), any and all stop early (a generator)
            items = self.gen(n.args[0], lam)
            body = self.gen(n.args[1], lam + 1)
            helper, bracket = _INLINE_AGGREGATES[fn.name]
            t = self.tmp()  # a comprehension's iterable may not hold `:=`: bind it before
            comp = f"{body} for it{lam} in {t}"
            return (f"({helper}({bracket[0]}{comp}{bracket[1]}) if ({t} := _items(X, {items}, "
                    f"{self.const(fn.name)})) is not None else None)")
        if fn.name == "coalesce" and argc == 2:
            # the first that is not null, both evaluated, left first (as the call's arguments)
            t, u = self.tmp(), self.tmp()
            second = n.args[1]
            if second.kind == "lit":
                return f"({t} if ({t} := {self.gen(n.args[0], lam)}) is not None else " \
                    f"{self.gen(second, lam)})"
            return (f"({t} if (({t} := {self.gen(n.args[0], lam)}), "
                    f"({u} := {self.gen(second, lam)}))[0] is not None else {u})")
        parts = []
        for i, a in enumerate(n.args):
            if i == fn.lambda_arg:
                parts.append(f"(lambda it{lam}: {self.gen(a, lam + 1)})")
            else:
                parts.append(self.gen(a, lam))
        if memo:
            # the call's own key in the decision's memo
            parts.append(self.const(self.memo_keys.setdefault(id(n), object())))
        return f"f{_FN_INDEX[fn.name]}(X{''.join(', ' + p for p in parts)})"


_MEMO_NAMES = frozenset({"it", "order", "customer", "ref"})


def _names(n: N) -> set[str]:
    out = {n.value} if n.kind == "name" else set()
    for a in n.args:
        out |= _names(a)
    return out


def _kept_per_decision(call: N) -> bool:
    """Whether a `count_by` call depends only on its list (a path of the order or the
    reference tables, not of the line) and on data that only defaulting changes: then it is
    computed once per decision and list (functions._count_by)."""
    path = _path_text(call.args[0])
    return path is not None and not path.startswith("line") \
        and _names(call.args[1]) <= _MEMO_NAMES


def _over_lines(n: N) -> bool:
    """Whether a list argument is, or is made from, `order.lines`."""
    if _path_text(n) in ("order.lines", "order['lines']"):
        return True
    if n.kind in ("get", "index"):
        return False  # a part of the lines (order.lines[0].parts), not all of them
    return any(_over_lines(a) for a in n.args)


def _position(text: str, span: Span, pos: int, offset: int) -> Span:
    before = text[:pos]
    line_breaks = before.count("\n")
    if line_breaks == 0:
        return Span(span.file, span.line, span.col + offset + pos)
    return Span(span.file, span.line + line_breaks, pos - before.rfind("\n"))


def compile_expr(text: str, span: Span, scope: Scope, diags: Diagnostics,
                 offset: int = 0, allow_it: bool = False, condition: bool = False,
                 tables: dict[str, Any] | None = None) -> Expr | None:
    """Checks and compiles one expression; None (with diagnostics) when it is invalid.

    `offset` is the number of characters between the span and the expression's first
    character (1 for a quoted YAML scalar).
    """
    errors = 0

    def report(code: Code, pos: int, message: str, hint: str | None = None,
               warning: bool = False) -> None:
        nonlocal errors
        where = _position(text, span, pos, offset)
        if warning:
            diags.warning(code, where, message, hint)
        else:
            errors += 1
            diags.error(code, where, message, hint)

    if not text.strip():
        report(Code.PARSE_ERROR, 0, "empty expression", "write null for no value")
        return None
    try:
        tree = parse(text)
    except ExprSyntaxError as exc:
        report(Code.PARSE_ERROR, exc.pos, f"syntax error: {exc.message}", exc.hint)
        return None
    comp = _Compiler(text, scope, report, allow_it, tables,
                     lambda pos: str(_position(text, span, pos, offset)))
    comp.common([tree])
    try:
        body = comp.cond(tree, 0) if condition else comp.gen(tree, 0)
    except RecursionError:
        report(Code.LIMIT, 0, "expression too deeply nested")
        return None
    if errors:
        return None
    if tree.kind == "lit":
        value = V.truthy(tree.value) if condition else tree.value
        const = lambda S, X: value  # noqa: E731 - a function with an attribute
        const.__dict__["src"] = ("c0", [value])  # written in place as a bound constant (inline.py)
        return Expr(text, const, constant=True, value=value)
    reads = frozenset(comp.reads)
    fn = build(body, comp.consts, f"<expression {span}>")
    if fn is None:
        report(Code.LIMIT, 0, "expression too deeply nested to compile")
        return None
    guards = _guards(tree, scope, tables, allow_it, comp) if condition else []
    parent = None if condition else _parent(tree, scope, tables, allow_it)
    path = _path_text(tree)
    return Expr(text, fn, reads_pricing=comp.reads_pricing, guards=guards, tables=reads,
                parent=parent, amounts=_amounts_column(tree, parent, tables),
                order_level=path is not None and not _reads_line(path))


def _parent(tree: N, scope: Scope, tables: dict[str, Any] | None,
            allow_it: bool) -> Parent | None:
    """`Expr.parent` of `P.field` where P is a pure path from `ref` through a look-up whose
    keys are paths without look-ups of their own (what they read is then exactly those
    paths); None otherwise."""
    if tree.kind != "get":
        return None
    base = tree.args[0]
    key = _path_text(base)
    if key is None or not key.startswith("ref") or "[" not in key:
        return None
    reads: set[str] = set()
    n = base
    while n.kind in ("get", "index"):
        if n.kind == "index" and n.args[1].kind != "lit":
            k = _path_text(n.args[1])
            if k is None or "[" in k or k.startswith("ref"):
                return None
            reads.add(k)
        n = n.args[0]
    comp = _Compiler(key, scope, lambda *args, **kw: None, allow_it, tables)
    fn = build(comp.gen(base, 0), comp.consts)
    if fn is None:
        return None
    return Parent(key, fn, tree.value, frozenset(reads))


def _amounts_column(tree: N, parent: Parent | None, tables: dict[str, Any] | None) -> bool:
    """`Expr.amounts` of a value `ref.T[KEY].COLUMN` (its `parent` a look-up in table T): every
    row of T an object whose COLUMN is missing, null or a finite number within AMOUNT_LIMIT,
    so a look-up gives a row or null and its field one of those."""
    if parent is None or tables is None:
        return False
    base = tree.args[0]
    if base.kind != "index" or base.args[0].kind != "get" or base.args[0].args[0].kind != "name" \
            or base.args[0].args[0].value != "ref":
        return False
    table = tables.get(base.args[0].value)
    rows = getattr(table, "rows", None)
    if rows is None:
        return False
    column, limit = parent.field, V.AMOUNT_LIMIT
    for row in rows:
        if row.__class__ is not dict:
            return False
        v = row.get(column)
        if v is not None and (v.__class__ is not V.D or not v.is_finite() or abs(v) > limit):
            return False
    return True


def _guards(tree: N, scope: Scope, tables: dict[str, Any] | None,
            allow_it: bool, full: _Compiler) -> list[Guard]:
    out: list[Guard] = []
    conjuncts = _conjuncts(tree)
    for c in conjuncts:
        if c.kind != "cmp" or c.value != "==":
            continue
        a, b = c.args
        if a.kind == "lit":
            a, b = b, a
        if b.kind != "lit" or not isinstance(b.value, str):
            continue
        key = _path_text(a)
        if key is None or key.startswith("ref") and "[" not in key:
            continue
        comp = _Compiler(key, scope, lambda *args, **kw: None, allow_it, tables)
        fn = build(comp.gen(a, 0), comp.consts)
        if fn is None:
            continue
        rest, rest_true = None, False
        if not out:
            rest, rest_true = _residual([x for x in conjuncts if x is not c], full)
        out.append(Guard(key, fn, b.value, _reads_line(key), rest, rest_true))
    return out


def _residual(rest: list[N], full: _Compiler) -> tuple[Any, bool]:
    """The condition without its guard conjunct: the same code for every other conjunct, in
    the same order, with the same places in errors and the same memo keys. Equivalent to the
    full condition whenever the guard holds, since a path cannot fail and changes nothing."""
    if not rest:
        return None, True
    comp = _Compiler(full.text, full.scope, lambda *args, **kw: None, full.allow_it,
                     full.table_objects, full.locate)
    comp.memo_keys = full.memo_keys
    comp.common(rest)  # the conjuncts run one after the other, each only if those before held
    body = " and ".join(f"({comp.cond(x, 0)})" for x in rest)
    return build(f"({body})", comp.consts, "<residual condition>"), False


def build(body: str, consts: list[Any],
          label: str = "<expression>") -> Callable[[dict[str, Any], Any], Any] | None:
    """Compiles generated source; `label` (the expression's place) names it in profiles."""
    params = ", ".join(f"c{i}" for i in range(len(consts)))
    source = f"def _make({params}):\n    return lambda S, X: {body}\n"
    namespace: dict[str, Any] = {"__builtins__": {}}
    namespace.update(_HELPERS)
    namespace.update(_FN_BINDINGS)
    try:
        exec(compile(source, label, "exec"), namespace)  # noqa: S102 - see module doc
    except (SyntaxError, RecursionError, MemoryError):
        return None
    fn: Callable[[dict[str, Any], Any], Any] = namespace["_make"](*consts)
    fn.__dict__["rebuild"] = ("expr", namespace["_make"].__code__, consts)  # compiled.py
    fn.__dict__["src"] = (body, consts)  # a pack writes it into its own code (packrun.py)
    return fn


def conjuncts(tree: N) -> list[N]:
    """The conjuncts of a condition's tree (`a and b and c` -> [a, b, c]); read-only."""
    return _conjuncts(tree)


def compile_node(tree: N, scope: Scope, tables: dict[str, Any] | None,
                 allow_it: bool = False) -> Callable[[dict[str, Any], Any], Any] | None:
    """One node of an expression that was already checked (a condition's conjunct, one side
    of a comparison), compiled as the evaluator compiles it: `fn(S, X)`. For tools that look
    into a rule's condition (engine/remedies.py); the evaluator never calls it. None when the
    node does not compile (its names are not in `scope`)."""
    problems: list[str] = []

    def report(code: Code, pos: int, message: str, hint: str | None = None,
               warning: bool = False) -> None:
        if not warning:
            problems.append(message)

    comp = _Compiler("", scope, report, allow_it, tables)
    try:
        body = comp.gen(tree, 0)
    except RecursionError:
        return None
    return None if problems else build(body, comp.consts)
