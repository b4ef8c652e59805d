"""The logic of a model's rules: the shorthands' meaning, evaluating a rule on a tuple.

In: compiled conditions (functions of the expression scope `S`) and the builder of `S` from a
tuple of the scope's values (engine/configurator/check.py). Out: the predicates check.py
enumerates into allowed tuples. `names_in` lists the names an expression reads, which decides
the variables a rule constrains.

The shorthands mean what Oracle Configurator's logic rules mean: implies (A -> B), requires
(A <-> B, both ways), excludes (not both), negates (exactly one).
"""
from __future__ import annotations

from typing import Any, Callable

from ..syntax import parse
from ..values import RuleError

Assignment = Callable[[tuple[Any, ...]], bool]


class _Ctx:
    """The `X` of a model rule's expressions: no clock, no budget."""

    as_of = None
    ref = None
    rule = ""
    key = ""


X = _Ctx()


def holds(evaluate: Callable[[tuple[Any, ...]], dict[str, Any]],
          pred: Callable[[dict[str, Any]], bool]) -> Assignment:
    def check(t: tuple[Any, ...]) -> bool:
        try:
            return pred(evaluate(t))
        except RuleError:  # e.g. comparing an empty group with a number: does not hold
            return False
    return check


def names_in(text: str) -> set[str]:
    out: set[str] = set()
    stack = [parse(text)]
    while stack:
        n = stack.pop()
        if n.kind == "name":
            out.add(n.value)
        stack.extend(a for a in n.args if hasattr(a, "kind"))
    return out


SHORTHANDS: dict[str, Callable[[Callable[[dict[str, Any]], bool],
                                 Callable[[dict[str, Any]], bool]],
                                Callable[[dict[str, Any]], bool]]] = {
    "implies": lambda a, b: lambda S: (not a(S)) or b(S),
    "requires": lambda a, b: lambda S: a(S) == b(S),
    "excludes": lambda a, b: lambda S: not (a(S) and b(S)),
    "negates": lambda a, b: lambda S: a(S) != b(S),
}
