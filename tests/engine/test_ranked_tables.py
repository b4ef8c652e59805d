"""Hit policies priority and output_order (DMN 1.3): ranking by output_values, and check's
located errors for a ranked table without output values or with an unlisted output."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.helpers import decide, rendered, write_ruleset

PACK = """\
pack: p
phase: defaulting
rules:
  - id: r
    table:
      hit: {hit}
      inputs: [order.age, order.risk]
      outputs: [status, rate]
      output_values: {{status: [approved, declined]{rate_values}}}
      rows:
        - [">= 18", "Medium, Low", approved, basic]
        - ["< 18",  "-",           declined, standard]
        - ["-",     High,          approved, standard]
        - ["-",     High,          approved, best]
    then:
      - set: {{order.n: "coalesce(order.n, 0) + 1"}}
      - default: {{order.s1: "[status + '/' + rate][order.n - 1]",
                   order.s2: "[status + '/' + rate][order.n - 2]",
                   order.s3: "[status + '/' + rate][order.n - 3]"}}
"""


def run(tmp_path: Path, hit: str, order: dict[str, Any], rate_values: str = "") -> list[Any]:
    root = write_ruleset(tmp_path / hit, {"p.yaml": PACK.format(hit=hit,
                                                               rate_values=rate_values)})
    assert rendered(root) == []
    out = decide(root, {"id": "o", "lines": [], **order})["order"]
    return [out.get(k) for k in ("s1", "s2", "s3")]


def test_priority_takes_the_highest_ranked_row(tmp_path: Path) -> None:
    # rows 2, 3 and 4 match: approved outranks declined; row 3 and 4 tie, the earlier wins
    assert run(tmp_path, "priority", {"age": 17, "risk": "High"}) == \
        ["approved/standard", None, None]


def test_priority_compares_outputs_in_column_order(tmp_path: Path) -> None:
    got = run(tmp_path, "priority", {"age": 17, "risk": "High"},
              rate_values=", rate: [best, standard, basic]")
    assert got == ["approved/best", None, None]


def test_output_order_sorts_every_matching_row(tmp_path: Path) -> None:
    assert run(tmp_path, "output_order", {"age": 17, "risk": "High"}) == \
        ["approved/standard", "approved/best", "declined/standard"]
    got = run(tmp_path, "output_order", {"age": 17, "risk": "High"},
              rate_values=", rate: [best, standard, basic]")
    assert got == ["approved/best", "approved/standard", "declined/standard"]


def test_output_order_with_one_match_and_with_none(tmp_path: Path) -> None:
    assert run(tmp_path, "output_order", {"age": 30, "risk": "Low"}) == \
        ["approved/basic", None, None]
    assert run(tmp_path, "priority", {"age": 30, "risk": "Other"}) == [None, None, None]


BAD = """\
pack: p
phase: defaulting
rules:
  - id: r
    table:
      hit: {hit}
      inputs: [order.age]
      outputs: [status]
{values}      rows:
        - [">= 18", approved]
        - ["< 18", declned]
        - ["null", "=order.age"]
    then:
      - set: {{order.status: status}}
"""


def test_ranked_table_without_output_values_is_an_error(tmp_path: Path) -> None:
    root = write_ruleset(tmp_path, {"p.yaml": BAD.format(hit="output_order", values="")})
    assert rendered(root) == [
        "packs/p.yaml:6:12: error: hit policy output_order needs output_values: each ranked "
        "output's values, highest priority first\n"
        "    hint: add output_values: {status: [first, second, ...]}"]


@pytest.mark.parametrize("hit", ["priority", "unique"])
def test_an_output_not_among_the_output_values_is_an_error(tmp_path: Path, hit: str) -> None:
    values = "      output_values: {status: [approved, declined], other: [x, x]}\n"
    root = write_ruleset(tmp_path, {"p.yaml": BAD.format(hit=hit, values=values)})
    assert rendered(root) == [
        "packs/p.yaml:9:53: error: output_values names 'other', which is not an output of "
        "this table\n    hint: outputs: status",
        "packs/p.yaml:12:20: error: row 2: 'declned' is not among the output_values of "
        "'status'\n    hint: write one of: 'approved', 'declined', or add the value to "
        "output_values",
        "packs/p.yaml:13:20: error: row 3: output 'status' has output_values, so its cells "
        "must be literal values, not expressions\n"
        "    hint: write one of: 'approved', 'declined'"]


def test_a_value_listed_twice_is_an_error(tmp_path: Path) -> None:
    values = "      output_values: {status: [approved, declined, approved]}\n"
    pack = BAD.format(hit="priority", values=values).replace("declned", "declined").replace(
        '"=order.age"', "approved")
    root = write_ruleset(tmp_path, {"p.yaml": pack})
    assert rendered(root) == [
        "packs/p.yaml:9:52: error: output value 'approved' is listed twice for 'status'"]


# --- property: output_order is rule_order sorted by rank; priority is its first row --------

ROWS = st.lists(st.tuples(st.sampled_from([">= 3", "< 5", "-", "[2..6]", "7", "not(4)"]),
                          st.sampled_from(["a", "b", "c"]), st.sampled_from(["x", "y"])),
                min_size=1, max_size=6)


def _pack(rows: list[tuple[str, str, str]]) -> str:
    body = "\n".join(f'        - ["{c}", {s}, {t}]' for c, s, t in rows)
    slots = ", ".join(f'order.{{p}}{k}: "[s + t][order.{{p}}n - {k}]"' for k in range(1, 7))
    rules = []
    for hit in ("rule_order", "output_order", "priority"):
        rules.append(f"""  - id: {hit}
    table:
      hit: {hit}
      inputs: [order.v]
      outputs: [s, t]
      output_values: {{s: [c, a, b], t: [y, x]}}
      rows:
{body}
    then:
      - set: {{order.{hit}n: "coalesce(order.{hit}n, 0) + 1"}}
      - default: {{{slots.format(p=hit)}}}""")
    return "pack: p\nphase: defaulting\nrules:\n" + "\n".join(rules) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROWS, st.integers(0, 8))
def test_output_order_sorts_rule_order_and_priority_is_its_first(
        rows: list[tuple[str, str, str]], v: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_ruleset(Path(tmp), {"p.yaml": _pack(rows)})
        order = decide(root, {"id": "o", "lines": [], "v": v})["order"]

    def got(hit: str) -> list[str]:
        return [order[f"{hit}{k}"] for k in range(1, 7) if order.get(f"{hit}{k}") is not None]

    rank = {"c": 0, "a": 1, "b": 2, "y": 0, "x": 1}
    expected = sorted(got("rule_order"), key=lambda st_: (rank[st_[0]], rank[st_[1]]))
    assert got("output_order") == expected
    assert got("priority") == expected[:1]
