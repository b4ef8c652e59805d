"""Product configurator (issue 17): configuration models in a rule set's models/*.yaml.

check.py reads and compiles a model, analyse.py checks it statically, solver.py propagates
and searches, configure.py answers a configure step, prices and explodes a configuration.
docs/configurator.md is the reference and walkthrough.
"""
from __future__ import annotations

from .check import check_model
from .configure import SelectionError, bom_of, configure, parse_selection, price_of, \
    selection_of, violations
from .model import ConfigModel
from .solver import SearchLimit, Solver

__all__ = ["ConfigModel", "SearchLimit", "SelectionError", "Solver", "bom_of", "check_model",
           "configure", "parse_selection", "price_of", "selection_of", "violations"]
