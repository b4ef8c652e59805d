"""Properties of configure, against brute force over every full configuration: the values it
calls possible are exactly those some valid configuration extending the selection takes, and
its validity is whether one exists (laptop and ACME's bench drill, random partial selections)."""
from __future__ import annotations

import datetime
import itertools
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordinance.engine import load
from ordinance.engine.configurator import configure, parse_selection, selection_of

ROOT = Path(__file__).resolve().parents[2]
LAPTOP = load(ROOT / "tests" / "configurator" / "data" / "laptop").model.configs["laptop"]
DRILL = load(ROOT / "rulesets" / "acme").model.configs["bench_drill"]
AS_OF = datetime.date(2026, 11, 20)


def _all_valid(model: Any) -> list[dict[str, Any]]:
    """Every full configuration the model allows, by brute force over the product."""
    out = []
    for values in itertools.product(*(v.domain for v in model.vars)):
        sel = selection_of(model, dict(zip((v.id for v in model.vars), values)))
        a = configure(model, sel, AS_OF, exact=False)
        if a["valid"]:
            out.append(parse_selection(model, sel))
    return out


VALID = {"laptop": _all_valid(LAPTOP), "bench_drill": _all_valid(DRILL)}


def test_brute_force_agrees_on_the_counts() -> None:
    assert len(VALID["laptop"]) == 90
    assert configure(DRILL, {}, AS_OF, count=True)["configurations"]["count"] == \
        len(VALID["bench_drill"])


def _selections(model: Any) -> st.SearchStrategy[dict[str, Any]]:
    choices = {}
    for g in model.groups:
        if g.single:
            choices[g.id] = st.sampled_from(list(model.var(g.id).domain))
        else:
            choices[g.id] = st.lists(st.sampled_from(list(g.options)), max_size=len(g.options),
                                     unique=True)
    for f in model.features:
        choices[f.id] = st.sampled_from(list(model.var(f.id).domain))
    return st.dictionaries(st.sampled_from(sorted(choices)), st.none(), max_size=4).flatmap(
        lambda keys: st.fixed_dictionaries({k: choices[k] for k in keys}))


def _check(model: Any, selection: dict[str, Any]) -> None:
    fixed = parse_selection(model, selection)
    extending = [c for c in VALID[model.id] if all(c[k] == v for k, v in fixed.items())]
    a = configure(model, selection, AS_OF)
    assert a["valid"] == bool(extending)
    if not a["valid"]:
        assert a["violations"] and all(v["message"] for v in a["violations"])
        return
    assert a.get("exact", True)
    for g in a["groups"]:
        for o in g["options"]:
            if model.var(g["id"]) is not None:  # a one-of group
                takes = any(c[g["id"]] == o["id"] for c in extending)
            else:
                takes = any(c[f"{g['id']}.{o['id']}"] for c in extending)
            assert o["possible"] == takes, (selection, g["id"], o)
            assert (o["removed_by"] is None) == takes
    for f in a["features"]:
        for v in f["values"]:
            assert v["possible"] == any(c[f["id"]] == v["value"] for c in extending)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(_selections(LAPTOP))
def test_laptop_possible_values_are_exact(selection: dict[str, Any]) -> None:
    _check(LAPTOP, selection)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(_selections(DRILL))
def test_bench_drill_possible_values_are_exact(selection: dict[str, Any]) -> None:
    _check(DRILL, selection)
