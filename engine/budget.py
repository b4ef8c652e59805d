"""The evaluation budget: how much work one decision may do, counted in steps.

In: the evaluation context `X` of compiled expressions (the decision's `State`), which carries
`steps` (spent so far) and `max_steps` (its budget). Out: nothing, or `BudgetExceeded`.

A step is one rule evaluated once (a `for_each: line` rule costs one step per line), one
element of a list that an aggregate (`sum`, `count`, `any`, `all`, `count_by`) or `min`/`max`
of a list walks (the whole list, charged before the walk, even when `any`/`all` stop early),
or one element of a list of more than MEMBER_FREE that `in` searches. A pack
charges its rules' steps in one statement when it starts (engine/packrun.py). Steps are
counted, never timed: the same rule set and order stop at the same place on every machine, so
the budget cannot make a decision depend on the machine or its load.

Why count there and not per syntax node: a rule and a list element are where the work of a
decision grows (rules x lines, lines x lines); counting every operator would cost each
expression a few percent for no better bound. Measured on 300 generated acme orders (Python
bytecodes executed, deterministic; C work such as decimal arithmetic not counted, so the true
share is lower): 33,256 per order without the budget, 33,665 with it (+1.2%); charging each
rule on its own and every `in` cost +5.7%.

A context without a budget (event rules, tests' bare contexts) has no `steps` and spends
nothing.
"""
from __future__ import annotations

from typing import Any

from .values import RuleError, items, member, not_member

DEFAULT_MAX_STEPS = 5_000_000
"""Measured (rulesets/acme, docs/operations.md "Limits"): a generated order takes 214 steps on
average, a 500-line EDI order (the most a channel takes) 21,600, a fully decided order of
MAX_LINES (10,000) lines about 430,000: under 10% of the budget. A quadratic rule over 4,000
lines spends it (the old duplicate-SKU rule needed 2,500 steps a line at 4,000 lines)."""

MEMBER_FREE = 16  # `in` over a literal list this short costs no step (and no call)


class BudgetExceeded(RuleError):
    """The decision spent its budget: it ends with this rule error (see State.rule_error)."""

    def __init__(self, max_steps: int):
        super().__init__(f"the decision needs more than its evaluation budget of {max_steps:,} "
                         "steps (rule evaluations, lines, list elements walked); it was "
                         "stopped here", code="BUDGET_EXCEEDED")


def spend(X: Any, n: int) -> None:
    """Charges `n` steps to the decision of context `X`; raises BudgetExceeded past its budget."""
    try:
        steps = X.steps = X.steps + n
    except AttributeError:  # a context without a budget
        return
    if steps > X.max_steps:
        raise BudgetExceeded(X.max_steps)


def metered_items(X: Any, v: Any, fn: str) -> list[Any]:
    """The elements an aggregate walks (values.items), charged one step each (spend,
    inlined: this runs for every aggregate an expression evaluates)."""
    out = v if v.__class__ is list else items(v, fn)
    if out:
        try:
            steps = X.steps = X.steps + len(out)
        except AttributeError:  # a context without a budget
            return out
        if steps > X.max_steps:
            raise BudgetExceeded(X.max_steps)
    return out


def metered_member(X: Any, a: Any, b: Any) -> bool:
    """`a in b` (values.member) where b is not a short literal list: a search of a long list
    is charged one step per element."""
    if b.__class__ is list and len(b) > MEMBER_FREE:
        spend(X, len(b))
    return member(a, b)


def metered_not_member(X: Any, a: Any, b: Any) -> bool:
    if b.__class__ is list and len(b) > MEMBER_FREE:
        spend(X, len(b))
    return not_member(a, b)


class DecisionStopped(Exception):
    """Unwinds a decision once its budget error is recorded (not a RuleError: no rule's
    handler catches it; State.run and pair._run_pack do)."""
