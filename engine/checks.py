"""The checks that run after the checker has read and compiled a rule set (issue 15).

In: the `Checker` once `run()` has filled its model, kept each file's YAML (`nodes`) and every
expression it compiled (`seen`). Out: more diagnostics on `checker.diags`. Each family lives in
its own module: reference data (engine/check_refdata.py), types (engine/check_types.py),
reachability (engine/check_reach.py) and domain checks (engine/check_domain.py). They only
read; none of them changes the model the evaluator compiles.

The non-obvious choice: these checks are advice on a rule set that compiled, so a defect in one
of them must not make `check` (or loading the rule set) fail with a traceback: an unexpected
exception becomes one warning naming the check, and the other families still run.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

from .check_domain import check_domain
from .check_reach import check_reach
from .check_refdata import check_countries, check_csv
from .check_types import check_types
from .diagnostics import Code, Span
from .memo import sha_of


def run_checks(c: Any) -> None:
    types = _guarded(c, "type checks", lambda: check_types(c))
    _guarded(c, "reachability checks", lambda: check_reach(c))
    if types is not None:
        _guarded(c, "domain checks", lambda: check_domain(c, types.declared_enum))
    _guarded(c, "country checks", lambda: check_countries(c))
    for name in sorted(c.model.tables):
        rel = f"reference/{name}.csv"
        if name not in c.broken and (c.root / rel).is_file():
            keyed = types is not None and name in types.keyed
            run = partial(_guarded, c, f"checks of {rel}", partial(check_csv, c, name, rel, keyed))
            if c.memo is None:
                run()
            else:  # the same bytes and keyedness give the same diagnostics (engine/memo.py)
                c.memo.step(c, ("check_csv", rel, sha_of(c.root / rel), keyed), run)


def _guarded(c: Any, what: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError,
            RecursionError) as exc:  # a defect of ours, not the rule set's
        c.diags.warning(Code.LIMIT, Span("ruleset.yaml"), f"the {what} stopped early: "
                        f"{exc.__class__.__name__}: {exc}", "please report it; the rule set's "
                        "other diagnostics are complete")
        return None
