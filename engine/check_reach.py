"""Reachability (issue 15): conditions that can never hold, rules after an unconditional stop,
and rules shadowed by a higher-priority rule that always fires and stops when they would.

In: the checked model (each pack's rules in run order) and each pack file's YAML (for the
`when` nodes and their places). Out: NEVER_FIRES warnings.

How: a `when` is split into its `and` conjuncts; a conjunct comparing one value (a path, or any
expression without a literal, keyed by its text) with literals (`<`, `<=`, `>`, `>=`, `==`,
`!=`, `in [...]`, `not in [...]`) constrains that value. For each value, the literals met split
its domain into points and the intervals between them, so probing the literals, the midpoints,
one value beyond each end, one unlisted text and null decides exactly whether the constraints
can all hold (interval and set reasoning), and whether one rule's constraints imply another's.
Conjuncts of any other shape are unknown: they never make a condition contradictory, and an
earlier rule holding one shadows a later one only if the later holds the same text.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from .diagnostics import Code, Span
from .syntax import ExprSyntaxError, N, parse
from .values import RuleError, eq, ge, gt, le, lt, ne

MAX_CONJUNCTS = 64
MAX_RULES = 2000  # per pack
MAX_STOPPERS = 200  # stopping rules per pack a later rule is compared with
_OPS: dict[str, Callable[[Any, Any], Any]] = {"<": lt, "<=": le, ">": gt, ">=": ge,
                                                "==": eq, "!=": ne}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_UNLISTED = "\x00unlisted"


def key_text(n: N) -> str:
    """A canonical text of an expression (the same text means the same value in one rule)."""
    if n.kind == "lit":
        return repr(n.value)
    if n.kind == "name":
        return str(n.value)
    if n.kind == "get":
        return f"{key_text(n.args[0])}.{n.value}"
    if n.kind == "index":
        return f"{key_text(n.args[0])}[{key_text(n.args[1])}]"
    inner = ", ".join(key_text(a) for a in n.args)
    return f"{n.kind}:{n.value}({inner})"


@dataclass(frozen=True)
class Atom:
    """`key OP literal`, or membership of key in literals (op 'in' / 'notin')."""

    key: str
    op: str
    value: Any

    def holds(self, v: Any) -> bool:
        try:
            if self.op == "in":
                return any(v is not None and _same(v, x) for x in self.value)
            if self.op == "notin":
                return v is not None and not any(_same(v, x) for x in self.value)
            if v is None or self.value is None:
                return (v is None) == (self.value is None) if self.op == "==" else (
                    (v is None) != (self.value is None) if self.op == "!=" else False)
            return bool(_OPS[self.op](v, self.value))
        except (RuleError, TypeError):
            return False

    def shown(self) -> str:
        if self.op in ("in", "notin"):
            return f"{'in' if self.op == 'in' else 'not in'} {list(self.value)}"
        return f"{self.op} {self.value!r}" if isinstance(self.value, str) else \
            f"{self.op} {self.value}"


def _same(a: Any, b: Any) -> bool:
    return a.__class__ is b.__class__ and a == b


def _literal(n: N) -> tuple[bool, Any]:
    if n.kind == "lit" and not isinstance(n.value, bool):
        return True, n.value
    return False, None


def atoms_of(tree: N) -> tuple[list[Atom], set[str]]:
    """The constraints of a condition's conjuncts, and the texts of the others."""
    stack, conjuncts = [tree], list[N]()
    while stack and len(conjuncts) < MAX_CONJUNCTS:
        n = stack.pop()
        if n.kind == "and":
            stack.extend(reversed(n.args))
        else:
            conjuncts.append(n)
    atoms, other = [], set()
    for n in conjuncts:
        atom = _atom(n)
        if atom is None:
            other.add(key_text(n))
        else:
            atoms.append(atom)
    return atoms, other


def _atom(n: N) -> Atom | None:
    if n.kind == "cmp":
        a, b = n.args
        la, va = _literal(a)
        lb, vb = _literal(b)
        if lb and not la:
            return Atom(key_text(a), n.value, vb)
        if la and not lb:
            return Atom(key_text(b), _FLIP[n.value], va)
        return None
    if n.kind in ("in", "notin") and n.args[1].kind == "list":
        items = [_literal(x) for x in n.args[1].args]
        if all(ok for ok, _ in items) and n.args[0].kind != "lit":
            return Atom(key_text(n.args[0]), n.kind, tuple(v for _, v in items))
    return None


def _probes(atoms: list[Atom]) -> list[Any]:
    lits: list[Any] = []
    for a in atoms:
        lits.extend(a.value if a.op in ("in", "notin") else [a.value])
    nums = sorted({x for x in lits if isinstance(x, Decimal)})
    texts = sorted({x for x in lits if isinstance(x, str)})
    points: list[Any] = [None, _UNLISTED] + texts + nums
    if nums:
        points += [nums[0] - 1, nums[-1] + 1] + [(x + y) / 2 for x, y in zip(nums, nums[1:])]
    return points


def _by_key(atoms: list[Atom]) -> dict[str, list[Atom]]:
    out: dict[str, list[Atom]] = {}
    for a in atoms:
        out.setdefault(a.key, []).append(a)
    return out


def contradiction(atoms: list[Atom]) -> list[Atom] | None:
    """The constraints on one value that cannot all hold, or None."""
    for group in _by_key(atoms).values():
        if len(group) < 2 and not (group[0].op == "in" and not group[0].value):
            continue
        if not any(all(a.holds(p) for a in group) for p in _probes(group)):
            return group
    return None


def implies(later: tuple[list[Atom], set[str]], earlier: tuple[list[Atom], set[str]]) -> bool:
    """Whether every value meeting `later`'s constraints meets `earlier`'s."""
    l_atoms, l_other = later
    e_atoms, e_other = earlier
    if not e_other <= l_other:
        return False
    lk, ek = _by_key(l_atoms), _by_key(e_atoms)
    for key, e_group in ek.items():
        l_group = lk.get(key, [])
        if not l_group:
            return False
        for p in _probes(e_group + l_group):
            if all(a.holds(p) for a in l_group) and not all(a.holds(p) for a in e_group):
                return False
    return True


def _tree(text: str) -> N | None:
    try:
        return parse(text)
    except (ExprSyntaxError, RecursionError):
        return None


def _rule_nodes(c: Any, file: str) -> dict[str, Any]:
    node = c.nodes.get(file)
    rules = node.get("rules") if node is not None else None
    out = {}
    for r in (rules.value if rules is not None and rules.kind == "seq" else []):
        rid = r.get("id") if r.kind == "map" else None
        if rid is not None:
            out[str(rid.value)] = r
    return out


def check_reach(c: Any) -> None:
    for pack in c.model.packs:
        nodes = _rule_nodes(c, pack.file)
        conds: list[tuple[Any, tuple[list[Atom], set[str]]]] = []
        stopper = None
        for rule in pack.rules[:MAX_RULES]:
            rid = rule.qid.split("/", 1)[1]
            rnode = nodes.get(rid)
            when = rnode.get("when") if rnode is not None else None
            always = rule.table is None and (rule.when is None or (
                rule.when.constant and bool(rule.when.value)))
            if stopper is not None and (not stopper.for_each or rule.for_each):
                _unreachable(c, rule, stopper, rid)
                continue
            parsed = None
            if when is not None and when.kind == "scalar" and isinstance(when.value, str):
                tree = _tree(when.text)
                if tree is not None:
                    parsed = atoms_of(tree)
                    bad = contradiction(parsed[0])
                    if bad is not None:
                        c.diags.warning(Code.NEVER_FIRES, when.span, f"rule '{rid}' can never "
                                        f"fire: {bad[0].key} cannot be "
                                        f"{' and '.join(a.shown() for a in bad)} at once",
                                        "check the comparisons: one of them is likely "
                                        "reversed, or a bound mistyped")
            elif always:
                parsed = ([], set())
            if parsed is not None and rule.table is None:
                for earlier, e_parsed in conds:
                    if (not earlier.for_each or rule.for_each) \
                            and implies(parsed, e_parsed):
                        how = f"has a higher priority ({earlier.priority})" \
                            if earlier.priority > rule.priority else "runs before it"
                        c.diags.warning(Code.NEVER_FIRES, rule.span, f"rule '{rid}' never "
                                        f"runs: rule '{earlier.qid.split('/', 1)[1]}' {how}, "
                                        "fires whenever it would, and stops the pack",
                                        "narrow that rule's condition, or give this rule the "
                                        "higher priority")
                        break
            if rule.table is None and rule.stop and parsed is not None \
                    and len(conds) < MAX_STOPPERS:
                conds.append((rule, parsed))  # only a rule that stops can shadow
            if rule.stop and always:
                stopper = rule


def _unreachable(c: Any, rule: Any, stopper: Any, rid: str) -> None:
    sid = stopper.qid.split("/", 1)[1]
    how = "it comes after" if rule.priority == stopper.priority else \
        f"it has a lower priority ({rule.priority}) than"
    c.diags.warning(Code.NEVER_FIRES, Span(rule.span.file, rule.span.line, rule.span.col),
                    f"rule '{rid}' never runs: {how} rule '{sid}', which always fires and "
                    f"stops the pack{' for each line' if stopper.for_each else ''}",
                    f"give '{sid}' a condition, remove its stop, or give '{rid}' a higher "
                    "priority")
