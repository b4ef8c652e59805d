"""Ordinance's engine: the pure core. load -> check -> compile -> evaluate.

The public API (docs/design/engine-api.md): `check`, `load`, `CompiledRuleSet`, `Decision`,
`Diagnostic`, `RuleSetInvalid`, `BadOrder`, `parse_order`, `validate_order`, `dumps` and
`loads` (the one JSON codec: engine/codec.py), `digest_of`, `PHASES`. Nothing here does I/O beyond reading the rule set directory it is given.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .diagnostics import Code, Diagnostic, RuleSetInvalid, Span
from .evaluate import CompiledRuleSet, Decision
from .budget import DEFAULT_MAX_STEPS
from .memo import LoadMemo
from .codec import dumps, loads
from .orders import MAX_ITEMS, MAX_LINES, BadOrder, OrderTooLarge, parse_json, parse_order, \
    validate_order
from .loading import digest_of
from .model import PHASES

__all__ = ["check", "load", "CompiledRuleSet", "Decision", "Diagnostic", "RuleSetInvalid",
           "BadOrder", "parse_order", "parse_json", "validate_order", "dumps", "loads", "digest_of",
           "PHASES", "Code", "Span", "evaluate_pair", "OrderTooLarge", "DEFAULT_MAX_STEPS",
           "MAX_LINES", "MAX_ITEMS", "LoadMemo"]


if TYPE_CHECKING:
    from .pair import evaluate_pair


def __getattr__(name: str) -> Any:
    """`evaluate_pair` on first use: `ordinance eval` never pairs (issue 16, start-up)."""
    if name == "evaluate_pair":
        from .pair import evaluate_pair

        return evaluate_pair
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check(path: str | Path) -> list[Diagnostic]:
    """Every diagnostic of the rule set, sorted by place. Never raises for the user's mistakes."""
    from .ruleset import check_dir  # the checker (YAML, schemas, checks): not on a cached start

    _, diags, _ = check_dir(path)
    return diags


def load(path: str | Path, max_steps: int = DEFAULT_MAX_STEPS,
         memo: LoadMemo | None = None) -> CompiledRuleSet:
    """The compiled rule set; raises RuleSetInvalid with every diagnostic when it has errors.
    `max_steps` is each decision's evaluation budget (engine/budget.py); `memo` keeps the work
    on unchanged files across loads that share it (engine/memo.py: the simulator's blame)."""
    from .ruleset import check_dir  # the checker (YAML, schemas, checks): not on a cached start

    model, diags, has_errors = check_dir(path, memo)
    if has_errors:
        raise RuleSetInvalid(diags)
    return CompiledRuleSet(model, digest_of(path), str(path), max_steps, memo)
