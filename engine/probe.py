"""Looking into a rule's condition at the state a decision ended in: which conjuncts hold, and
what each comparison on a number or a date would need.

In: a `CompiledRuleSet`, a `Decision` of it, and a rule (its `when`, or its table's input
expressions); optionally the line the rule ran on. Out: `Comparison` values, one per conjunct
that compares a number or a date, each naming the side that may change (a field of the order
or of a line, a date written as text, the as-of date, or a value derived from pricing) and the
value the other side has; `nearest` gives the value that makes such a comparison hold (or
fail). `choice` reads a conjunct on a text, flag or code (`==`, `!=`, `in`, `not in` against
constants or a reference table) as the path that may change and the values that pass;
`rule_holds` says whether a rule fires on a line (its condition, its table's row). Raises
nothing: a conjunct that cannot be evaluated is left out.

The non-obvious choice: the conjuncts are evaluated at the decision's END state (the defaulted
order, the final pricing), not at the moment the rule ran. A discount's `pricing.subtotal`
was smaller when it ran than at the end, for one. So nothing here is an answer on its own:
engine/remedies.py proposes with it and re-decides the changed order before showing anything.
The evaluator is not touched: the condition's text is parsed again and its conjuncts compiled
through `expressions.compile_node`, the accessor for this.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any, Callable

from .expressions import Scope, compile_node, conjuncts
from .model import ROOT_NAMES, Rule
from .packrun import ERRORS
from .state import State, copy_json
from .syntax import ExprSyntaxError, N, parse
from .values import Table, truthy

if TYPE_CHECKING:
    from .decision import Decision
    from .evaluate import CompiledRuleSet

Keys = tuple[str | int, ...]
NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
MAX_CONJUNCTS = 16
MAX_PASSING = 50     # values of a list or a reference table named as passing


@dataclass(frozen=True)
class Knob:
    """What of the request a remedy may change: a field of the order or of one of its lines
    (`keys` from the order down), written as a date text when `date`; or the as-of date."""
    keys: Keys
    text: str            # "order.lines[0].quantity", "order.requested_date", "as_of"
    date: bool = False   # the field holds a date as text (the condition reads date(FIELD))
    as_of: bool = False


@dataclass(frozen=True)
class Comparison:
    """A conjunct `SIDE op TARGET` with the changing side on the left."""
    text: str              # the conjunct, written out
    side: str              # the changing side, written out
    op: str
    knob: Knob | None      # None: the side is derived from pricing (see `derived`)
    derived: bool
    value: Any             # the side's value now
    target: Any            # the other side's value
    holds: bool


@dataclass(frozen=True)
class Choice:
    """A conjunct on a text, a flag or a code, with the changing side a plain path:
    `PATH == "x"`, `PATH != "x"`, `PATH in [...]`, `PATH in ref.T` (its keys), or
    `VALUE in [..., PATH, ...]` (a constant side such as a promotion's category)."""
    text: str                 # the conjunct, written out
    side: str                 # the path, written out ("line.category", "customer.tier")
    root: str                 # order | line | customer
    keys: tuple[str, ...]     # the path under its root
    knob: Knob | None         # the request's field, None for the customer's master data
    value: Any                # its value now
    passing: tuple[Any, ...]  # the values that make the conjunct hold (its constants)
    excluded: bool            # it holds for the values NOT in `passing` (!=, not in)

    def wanted(self) -> str:
        shown = ", ".join(_lit(v) for v in self.passing[:MAX_PASSING])
        if self.excluded:
            return f"{self.side} not in [{shown}] (now {_lit(self.value)})"
        if len(self.passing) == 1:
            return f"{self.side} == {shown} (now {_lit(self.value)})"
        return f"{self.side} in [{shown}] (now {_lit(self.value)})"


def _lit(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return f'"{v}"' if isinstance(v, str) else str(v)


def show(n: N) -> str:
    """An expression's node written out again (for messages; not necessarily the source)."""
    k, a = n.kind, n.args
    if k == "lit":
        if n.value is None:
            return "null"
        if isinstance(n.value, bool):
            return "true" if n.value else "false"
        return f'"{n.value}"' if isinstance(n.value, str) else str(n.value)
    if k == "name":
        return str(n.value)
    if k == "get":
        return f"{show(a[0])}.{n.value}"
    if k == "index":
        return f"{show(a[0])}[{show(a[1])}]"
    if k == "call":
        return f"{n.value}({', '.join(show(x) for x in a)})"
    if k == "list":
        return "[" + ", ".join(show(x) for x in a) + "]"
    if k == "neg":
        return f"-{_group(a[0])}"
    if k == "not":
        return f"not {_group(a[0])}"
    words = {"and": "and", "or": "or", "in": "in", "notin": "not in"}
    op = words.get(k, n.value)
    return f"{_group(a[0])} {op} {_group(a[1])}"


def _group(n: N) -> str:
    text = show(n)
    return f"({text})" if n.kind in ("and", "or", "cmp", "arith", "in", "notin") else text


def reads_pricing(n: N) -> bool:
    """Whether a node reads `pricing` or `line.pricing`."""
    return _reads_pricing(n)


def _reads_pricing(n: N) -> bool:
    if n.kind == "name" and n.value == "pricing":
        return True
    if n.kind == "get" and n.value == "pricing" and n.args[0].kind == "name" \
            and n.args[0].value == "line":
        return True
    return any(isinstance(x, N) and _reads_pricing(x) for x in n.args)


def _has_input(n: N) -> bool:
    """Whether a node reads the order (not through `ref`) or the as-of date."""
    if n.kind == "name" and n.value in ("order", "customer", "line", "pricing"):
        return True
    if n.kind == "call" and n.value == "today":
        return True
    if n.kind == "get" and n.args[0].kind == "name" and n.args[0].value == "ref":
        return False
    if n.kind == "index" and not _has_input(n.args[0]):
        return False  # a row of a reference table: its key is a code, not a quantity
    return any(isinstance(x, N) and _has_input(x) for x in n.args)


def _is_today(n: N) -> bool:
    return n.kind == "call" and n.value == "today"


def _path(n: N, line: int | None) -> Knob | None:
    """A plain path into the order or the rule's line, as a knob (customer data is the
    master's, not the order's to change)."""
    keys: list[str | int] = []
    while n.kind == "get":
        keys.append(str(n.value))
        n = n.args[0]
    if n.kind != "name" or not keys:
        return None
    keys.reverse()
    if n.value == "order":
        pass
    elif n.value == "line" and line is not None and keys[0] != "pricing":
        keys = ["lines", line, *keys]
    else:
        return None
    text = "order" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in keys)
    return Knob(tuple(keys), text)


def plain_path(n: N) -> tuple[str, tuple[str, ...]] | None:
    """(root, keys) of a plain path from `order`, `line` or `customer` (`order.customer.x` is
    `customer`'s), else None."""
    keys: list[str] = []
    while n.kind == "get":
        keys.append(str(n.value))
        n = n.args[0]
    if n.kind != "name" or n.value not in ("order", "line", "customer") or not keys:
        return None
    keys.reverse()
    root = str(n.value)
    if root == "order" and keys[0] == "customer" and len(keys) > 1:
        root, keys = "customer", keys[1:]
    return root, tuple(keys)


def knob_of(n: N, line: int | None) -> Knob | None:
    """The knob a side of a comparison is, if it is one: a path, date(path) or today()."""
    if n.kind == "call" and n.value == "today" and not n.args:
        return Knob((), "as_of", date=True, as_of=True)
    if n.kind == "call" and n.value == "date" and len(n.args) == 1:
        inner = _path(n.args[0], line)
        return None if inner is None else Knob(inner.keys, inner.text, date=True)
    return _path(n, line)


class Probe:
    """Evaluates nodes of a rule's condition at the end state of one decision."""

    def __init__(self, rs: CompiledRuleSet, decision: Decision):
        self.rs = rs
        self.decision = decision
        self.state = State(rs, copy_json(decision.order), decision.as_of, None)
        pricing = decision.pricing
        self.state.pricing = pricing
        self.state.S["pricing"] = None if pricing is None else (pricing.final or pricing.view())
        self.compiled: dict[tuple[int, bool], Callable[[dict[str, Any], Any], Any] | None] = {}
        self.trees: dict[str, N | None] = {}
        names = frozenset(ROOT_NAMES | {"pricing", "line"})
        self.scope = Scope(names, frozenset(rs.model.tables))

    def bind(self, line: int | None) -> bool:
        st = self.state
        lines = st.order.get("lines")
        st.lines = lines if isinstance(lines, list) else []
        st.line_index = line
        if line is None:
            st.S["line"] = None
            return True
        if line >= len(st.lines) or not isinstance(st.lines[line], dict):
            return False
        st.S["line"] = st.lines[line]
        pricing = self.decision.pricing
        # `line.pricing` of a line the decision did not price (no pricing: the order was
        # rejected before it) is null, as in an evaluation (State.S)
        st.S["line.pricing"] = pricing.lines[line] \
            if pricing is not None and line < len(pricing.lines) else None
        return True

    def tree(self, text: str) -> N | None:
        """The condition's tree, parsed once per probe: the compiled nodes are kept by the
        node's identity, so the trees must live as long as the probe."""
        if text not in self.trees:
            self.trees[text] = tree_of(text)
        return self.trees[text]

    def value(self, n: N) -> tuple[bool, Any]:
        """(True, the node's value) in the bound state, or (False, None) when it fails."""
        key = (id(n), True)
        if key not in self.compiled:
            self.compiled[key] = compile_node(n, self.scope, self.rs.model.tables)
        fn = self.compiled[key]
        if fn is None:
            return False, None
        try:
            return True, fn(self.state.S, self.state)
        except ERRORS:
            return False, None


def tree_of(text: str) -> N | None:
    try:
        return parse(text)
    except ExprSyntaxError:
        return None


def comparisons(probe: Probe, rule: Rule, line: int | None) -> list[tuple[N, bool | None,
                                                                       Comparison | None]]:
    """Each conjunct of the rule's `when` with whether it holds (None: unknown) and, for a
    comparison of numbers or dates with one changing side, its `Comparison`."""
    if rule.when is None or not probe.bind(line):
        return []
    tree = probe.tree(rule.when.text)
    if tree is None:
        return []
    out: list[tuple[N, bool | None, Comparison | None]] = []
    for c in conjuncts(tree)[:MAX_CONJUNCTS]:
        ok, v = probe.value(c)
        holds = truthy(v) if ok else None
        out.append((c, holds, comparison(probe, c, line, holds)))
    return out


def comparison(probe: Probe, c: N, line: int | None, holds: bool | None) -> Comparison | None:
    if c.kind != "cmp" or holds is None:
        return None
    left, right = c.args
    op = str(c.value)
    # the changing side goes left: an order field compared with today() changes, not the
    # as-of date; today() compared with reference data is the as-of date that changes
    if (_is_today(left) and _has_input(right) and not _is_today(right)) \
            or (_has_input(right) and not _has_input(left)):
        left, right, op = right, left, FLIP[op]
    if _is_today(right):
        pass  # the as-of date is what an order field is compared with: the target
    elif not _has_input(left) or _has_input(right):
        return None
    knob = knob_of(left, line)
    derived = knob is None and _reads_pricing(left)
    if knob is None and not derived:
        return None
    ok_l, value = probe.value(left)
    ok_r, target = probe.value(right)
    if not ok_r or not isinstance(target, (Decimal, datetime.date)):
        return None
    if not ok_l:
        value = None
    if knob is not None and knob.date and not isinstance(target, datetime.date):
        return None
    side = "as_of" if knob is not None and knob.as_of else show(left)
    return Comparison(show(c), side, op, knob, derived, value, target, holds)


def choice(probe: Probe, c: N, line: int | None) -> Choice | None:
    """The conjunct as a `Choice` (bound to the probe's line), or None when it is not a test
    of a plain path against constants of texts, flags or codes."""
    if c.kind == "cmp" and c.value in ("==", "!="):
        left, right = c.args
        if plain_path(left) is None or _has_input(right):
            left, right = right, left
        ok, target = probe.value(right)
        if not ok or not isinstance(target, (str, bool)) or _has_input(right):
            return None
        return _choice(probe, c, left, line, (target,), c.value == "!=")
    if c.kind not in ("in", "notin"):
        return None
    left, right = c.args
    if plain_path(left) is not None and not _has_input(right):
        ok, domain = probe.value(right)
        if not ok:
            return None
        if isinstance(domain, Table):
            values = [r.get(domain.key) if isinstance(r, dict) and domain.key else r
                      for r in domain.rows[:MAX_PASSING]]
        elif isinstance(domain, list):
            values = domain[:MAX_PASSING]
        else:
            return None
        return _choice(probe, c, left, line,
                       tuple(v for v in values if isinstance(v, (str, bool))),
                       c.kind == "notin")
    if c.kind == "in" and not _has_input(left) and right.kind == "list":
        paths = [x for x in right.args if _has_input(x)]
        ok, value = probe.value(left)
        if len(paths) != 1 or plain_path(paths[0]) is None or not ok \
                or not isinstance(value, (str, bool)):
            return None
        return _choice(probe, c, paths[0], line, (value,), False)
    return None


def _choice(probe: Probe, c: N, side: N, line: int | None, passing: tuple[Any, ...],
            excluded: bool) -> Choice | None:
    found = plain_path(side)
    if found is None or not passing:
        return None
    root, keys = found
    if root == "line" and (line is None or keys[0] == "pricing"):
        return None
    ok, value = probe.value(side)
    knob = None if root == "customer" else knob_of(side, line)
    return Choice(show(c), show(side), root, keys, knob, value if ok else None, passing,
                  excluded)


def rule_holds(probe: Probe, rule: Rule, line: int | None, role: str | None = None) -> bool:
    """Whether the rule fires on the line at the probe's end state: its `when` holds and, for
    a table rule, a row matches (one whose `role` output is `role`, when given)."""
    if not probe.bind(line):
        return False
    if rule.when is not None:
        tree = probe.tree(rule.when.text)
        if tree is None:
            return False
        ok, v = probe.value(tree)
        if not ok or not truthy(v):
            return False
    if rule.table is None:
        return True
    try:
        rows = rule.table.match(probe.state.S, probe.state)
    except ERRORS:
        return False
    return any(role is None or "role" not in r or str(r.get("role")) == role for r in rows)


def nearest(op: str, target: Any, value: Any, integral: bool = False) -> Any:
    """The value nearest to `target` for which `VALUE op target` holds: the target itself for
    <=, >=, ==; a day or a unit of the finer of the two numbers' places past it for < and >.
    `integral`: the value is a count (a quantity): whole units. None for != or a mismatch."""
    if op == "!=":
        return None
    if isinstance(target, datetime.date):
        one = datetime.timedelta(days=1)
        return {"<": target - one, ">": target + one}.get(op, target)
    if not isinstance(target, Decimal):
        return None
    places = 0 if integral else max(_places(target), _places(value), 0)
    q = Decimal(1).scaleb(-places)
    up, down = target.quantize(q, ROUND_CEILING), target.quantize(q, ROUND_FLOOR)
    if op == ">=":
        return up
    if op == "<=":
        return down
    if op == ">":
        return down + q
    if op == "<":
        return up - q
    return target if target == up else None  # "==": only a value the knob can hold


def _places(v: Any) -> int:
    if not isinstance(v, Decimal) or not v.is_finite():
        return 0
    exp = v.normalize().as_tuple().exponent
    return -exp if isinstance(exp, int) and exp < 0 else 0
