"""Product configurator (issue 17): configuration models in a rule set's models/*.yaml.

check.py reads and compiles a model, analyse.py checks it statically, solver.py propagates
and searches, configure.py answers a configure step, prices and explodes a configuration.
docs/configurator.md is the reference and walkthrough.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .configure import SelectionError, bom_of, configure, parse_selection, price_of, \
    selection_of, violations
from .model import ConfigModel
from .solver import SearchLimit, Solver

__all__ = ["ConfigModel", "SearchLimit", "SelectionError", "Solver", "bom_of", "check_model",
           "configure", "parse_selection", "price_of", "selection_of", "violations"]

if TYPE_CHECKING:
    from .check import check_model


def __getattr__(name: str) -> Any:
    """`check_model` on first use: reading a model (YAML nodes, expressions) is checking's
    business, and deciding from a cached rule set never checks (issue 16)."""
    if name == "check_model":
        from .check import check_model

        return check_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
