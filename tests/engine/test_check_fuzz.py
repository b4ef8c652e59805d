"""No rule set makes the checks of issue 15 fail: random conditions, discounts, tiers and tables
(hypothesis) give diagnostics, never a traceback and never "stopped early"."""
from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ordinance.engine import check
from tests.engine.helpers import write_ruleset

_paths = st.sampled_from(["line.quantity", "order.x", "customer.tier", "pricing.total",
                          "ref.prices[line.sku].unit_price", "line.pricing.net"])
_values = st.one_of(st.integers(-3, 300).map(str), st.sampled_from(['"gold"', '"10"', "null"]))
_atom = st.one_of(
    st.builds(lambda p, o, v: f"{p} {o} {v}", _paths,
              st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), _values),
    st.builds(lambda p, vs: f"{p} in [{', '.join(vs)}]", _paths, st.lists(_values, max_size=3)))
_condition = st.lists(_atom, min_size=1, max_size=4).flatmap(
    lambda atoms: st.lists(st.sampled_from([" and ", " or "]), min_size=len(atoms) - 1,
                           max_size=len(atoms) - 1).map(
        lambda ops: atoms[0] + "".join(o + a for o, a in zip(ops, atoms[1:]))))
_cell = st.sampled_from(["-", "< 10", ">= 10", "[0..50]", "(50..100]", "> 200", "gold",
                         "gold, silver", "not(gold)"])


def _rule(i: int, cond: str, percent: int, stop: bool, priority: int) -> str:
    return (f"  - id: r{i}\n    for_each: line\n    priority: {priority}\n"
            f"    stop: {'true' if stop else 'false'}\n    when: '{cond}'\n"
            f"    then: [{{discount: {{percent: {percent}}}}}]\n")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_condition, st.integers(0, 100), st.booleans(), st.integers(0, 3)),
                min_size=1, max_size=5),
       st.lists(st.tuples(_cell, _cell, st.integers(0, 50)), min_size=1, max_size=6),
       st.lists(st.integers(0, 600), min_size=1, max_size=4),
       st.sampled_from(["unique", "first", "any", "priority"]))
def test_random_rule_sets_check_without_failing(rules: list[tuple[str, int, bool, int]],
                                                rows: list[tuple[str, str, int]],
                                                tiers: list[int], hit: str) -> None:
    text = "pack: p\nphase: pricing\nrules:\n" + "".join(
        _rule(i, c, p, s, pr) for i, (c, p, s, pr) in enumerate(rules))
    text += ("  - id: t\n    for_each: line\n    table:\n      hit: " + hit + "\n"
             "      inputs: [line.quantity, customer.tier]\n      outputs: [pct]\n"
             + ("      output_values: {pct: [" + ", ".join(str(n) for n in range(51)) + "]}\n"
                if hit == "priority" else "")
             + "      rows:\n" + "".join(f"        - ['{a}', '{b}', {n}]\n" for a, b, n in rows)
             + "    then: [{discount: {percent: pct}}]\n"
             "  - id: tiers\n    for_each: line\n    then:\n      - tiered_price:\n"
             "          mode: all_units\n          tiers: ["
             + ", ".join(f"[{q}, {10 - k}]" for k, q in enumerate(tiers)) + "]\n")
    with tempfile.TemporaryDirectory() as tmp:
        rs = write_ruleset(Path(tmp), {"p.yaml": text}, {
            "prices.csv": "sku,unit_price\nA,1.00\nB,2.00\n",
            "customers.csv": "id,tier\nC-1,gold\nC-2,silver\nC-3,gold\n"})
        diags = check(rs)
    assert not [d for d in diags if "stopped early" in d.message], [d.render() for d in diags]
