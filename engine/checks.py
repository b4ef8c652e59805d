"""The checks that run after the checker has read and compiled a rule set (issue 15).

In: the `Checker` once `run()` has filled its model, kept each file's YAML (`nodes`) and every
expression it compiled (`seen`). Out: more diagnostics on `checker.diags`. Each family lives in
its own module: reference data (engine/check_refdata.py), types (engine/check_types.py),
reachability (engine/check_reach.py) and domain checks (engine/check_domain.py). They only
read; none of them changes the model the evaluator compiles.
"""
from __future__ import annotations

from typing import Any

from .check_domain import check_domain
from .check_reach import check_reach
from .check_refdata import check_csv
from .check_types import check_types


def run_checks(c: Any) -> None:
    types = check_types(c)
    check_reach(c)
    check_domain(c, types.declared_enum)
    for name in sorted(c.model.tables):
        rel = f"reference/{name}.csv"
        if name not in c.broken and (c.root / rel).is_file():
            check_csv(c, name, rel, name in types.keyed)
