"""The checked model of a rule set: its packs in plan order, their rules, its reference tables.

In: built by the checker (engine/ruleset.py) while it reads a rule set directory. Out: a
`Model` that engine/evaluate.py compiles into a `CompiledRuleSet`; every `Rule` and `Pack` keeps
the `Span` it came from, so a run-time error names its rule and place.

The non-obvious choice: `Rule` and `Pack` are frozen (a pack is made once its rules are read,
sorted and hashed); `Model` is not: it is the checker's one accumulator, filled file by file
(tables, packs, sources, the plan), and freezing it would mean a second builder type for one
pass. Nothing writes it after `check_dir` returns; docs/design/values.md lists what is frozen,
what is not and why.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .diagnostics import Span
from .expressions import Expr
from .tables import CompiledTable
from .values import Table

PHASES = ("defaulting", "validation", "compliance", "pricing", "sourcing", "approval")
PRICED_PHASES = ("pricing", "sourcing", "approval")  # phases whose rules may read `pricing`
ROOT_NAMES = {"order", "customer", "ref"}


@dataclass(frozen=True)
class Rule:
    qid: str  # "pack/rule"
    span: Span
    for_each: bool
    priority: Decimal
    stop: bool
    when: Expr | None
    table: CompiledTable | None
    actions: list[Any]
    reads_pricing: bool
    description: str = ""


@dataclass(frozen=True)
class Pack:
    id: str
    phase: str
    file: str
    span: Span
    after: list[str]
    enabled: bool
    effective_from: datetime.date | None
    effective_until: datetime.date | None
    rules: list[Rule]
    description: str = ""
    after_spans: list[Span] = field(default_factory=list)
    digest: str = ""  # sha256 of the pack's file
    tables_read: frozenset[str] = frozenset()  # reference tables its expressions read ("*": any)

    def active(self, as_of: datetime.date) -> bool:
        if not self.enabled:
            return False
        if self.effective_from and as_of < self.effective_from:
            return False
        return not (self.effective_until and as_of > self.effective_until)


@dataclass
class Model:
    name: str = ""
    version: str = ""
    description: str = ""
    tables: dict[str, Table] = field(default_factory=dict)
    packs: list[Pack] = field(default_factory=list)
    plan: dict[str, list[Pack]] = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)
    table_digests: dict[str, str] = field(default_factory=dict)
    event_packs: list[Any] = field(default_factory=list)  # engine/events.py EventPack
    processes: list[Any] = field(default_factory=list)  # engine/processes.py Process
    configs: dict[str, Any] = field(default_factory=dict)  # engine/configurator ConfigModel
