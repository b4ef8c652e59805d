"""The checked form of a configuration model (models/*.yaml): variables, constraints, prices.

In: built by engine/configurator/check.py from a model file. Out: a frozen `ConfigModel` that
engine/configurator/solver.py propagates and searches and engine/configurator/configure.py
answers with. Raises nothing.

The non-obvious choice: every choice the buyer makes is one finite-domain variable (`Var`): a
group that takes at most one option is one variable whose values are its option ids (and None
when it may stay empty); a group that takes several is one variable per option whose values
are its quantities 0..max_quantity; a feature is one variable over its values. Every rule,
shorthand and compatibility table is compiled once into the tuples of values it allows over
the variables it reads (an extensional constraint), and group sizes and totals into weighted
sums with bounds, so propagation never evaluates an expression.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from ..diagnostics import Span

MAX_TUPLES = 20_000  # a rule over more combinations than this is checked only when decided
MAX_DOMAIN = 1_000  # values of one feature (an integer range is listed)


@dataclass(frozen=True)
class BomItem:
    item: str
    quantity: Decimal


@dataclass(frozen=True)
class Var:
    """One decision: `id` is the group (one-of), `group.option` (an option of a many-of group)
    or the feature; `domain` its values in preference order of the file; `prices` and `boms`
    are aligned with `domain` (an option's are per unit times the quantity)."""

    id: str
    kind: str  # "choice" | "option" | "feature"
    owner: str  # the group or feature id
    domain: tuple[Any, ...]
    prices: tuple[Decimal, ...]
    boms: tuple[tuple[BomItem, ...], ...]
    default: Any
    span: Span
    value_spans: tuple[Span, ...] = ()


@dataclass(frozen=True, eq=False)  # identity: the solver keys on the object
class Constraint:
    """`kind` "tuples": the scope's value tuples in `allowed` (None: too many to list; `check`
    decides a full assignment of the scope). `kind` "sum": sum of `weights[i][value]` over the
    scope within [low, high] (group sizes and totals)."""

    id: str
    kind: str  # "tuples" | "sum"
    origin: str  # "rule" | "table" | "group" | "total"
    message: str
    span: Span
    scope: tuple[str, ...]
    allowed: frozenset[tuple[Any, ...]] | None = None
    check: Callable[[tuple[Any, ...]], bool] | None = None
    weights: tuple[dict[Any, Decimal], ...] = ()
    low: Decimal | None = None
    high: Decimal | None = None
    effective_from: datetime.date | None = None
    effective_until: datetime.date | None = None
    antecedent: frozenset[tuple[Any, ...]] | None = None  # implies/requires: tuples where it bites

    def active(self, as_of: datetime.date | None) -> bool:
        if as_of is None:
            return True
        if self.effective_from and as_of < self.effective_from:
            return False
        return not (self.effective_until and as_of > self.effective_until)


@dataclass(frozen=True)
class Group:
    id: str
    min: int
    max: int
    options: tuple[str, ...]
    span: Span
    single: bool  # at most one option: one "choice" variable


@dataclass(frozen=True)
class Feature:
    id: str
    type: str
    unit: str
    span: Span


@dataclass(frozen=True)
class Total:
    id: str
    unit: str
    span: Span


@dataclass(frozen=True)
class ConfigModel:
    id: str
    file: str
    span: Span
    currency: str
    base_price: Decimal
    base_bom: tuple[BomItem, ...]
    groups: tuple[Group, ...]
    features: tuple[Feature, ...]
    totals: tuple[Total, ...]
    vars: tuple[Var, ...]
    constraints: tuple[Constraint, ...]
    totals_weights: dict[str, tuple[tuple[str, dict[Any, Decimal]], ...]] = field(
        default_factory=dict)
    description: str = ""

    def var(self, vid: str) -> Var | None:
        return next((v for v in self.vars if v.id == vid), None)
