"""The docs cannot drift from the engine: the generated page is current, every example runs."""
from __future__ import annotations

import datetime
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from ordinance.engine import check, load, validate_order
from ordinance.engine.actions import ACTIONS
from ordinance.engine.diagnostics import Diagnostics, Span
from ordinance.engine.expressions import Scope, compile_expr
from ordinance.engine.functions import FUNCTIONS
from ordinance.engine.reference import CELL_EXAMPLES, markdown
from ordinance.engine.tables import parse_cell
from ordinance.engine.testing import run_tests
from ordinance.engine.values import render
from tests.engine.helpers import TODAY
from tests.conftest import ROOT

AS_OF = datetime.date(2026, 11, 20)


def test_generated_reference_is_current() -> None:
    page = (ROOT / "docs" / "reference-generated.md").read_text()
    assert page == markdown() + "\n", "run `ordinance docs` and commit the page"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_examples_give_their_documented_value(name: str) -> None:
    f = FUNCTIONS[name]
    scope = Scope(frozenset({"order", "customer", "ref"}), frozenset({"denied_parties"}))
    diags = Diagnostics()
    expr = compile_expr(f.example, Span("doc", 1, 1), scope, diags)
    assert expr is not None, [d.render() for d in diags.items]

    class Ctx:
        as_of = AS_OF

        class ref:  # noqa: N801 - the `ref` of the evaluation context
            from ordinance.engine.values import Table
            tables = {"denied_parties": Table("denied_parties",
                                              [{"name": "Acme Trading LLC"}], "name")}

        @staticmethod
        def screen_cache(table: str) -> dict:
            return {}

    value = expr.fn({"order": {}, "customer": None, "ref": None}, Ctx())
    expected = AS_OF.isoformat() if f.result == "the as-of date" else f.result
    assert render(value) == expected


@pytest.mark.parametrize("name", list(ACTIONS))
def test_action_examples_check_and_run(name: str, tmp_path: Path) -> None:
    a = ACTIONS[name]
    phase = a.phases[0]
    for_each = "    for_each: line\n" if a.per_line is not False else ""
    (tmp_path / "ruleset.yaml").write_text("ruleset: doc\n")
    (tmp_path / "p.yaml").write_text(
        f"pack: p\nphase: {phase}\nrules:\n  - id: r\n{for_each}    then:\n      - {a.example}\n")
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "prices.csv").write_text("sku,unit_price\nA-1,10.00\n")
    (tmp_path / "reference" / "vat.csv").write_text("country,rate\nDE,19\n")
    diags = [d for d in check(tmp_path) if d.is_error]
    assert diags == [], [d.render() for d in diags]
    order = validate_order({"id": "1", "ship_to": {"country": "DE", "region": "us-east"},
                            "attributes": {"agreed_price": 9}, "lines": [
                                {"id": "1", "sku": "A-1", "quantity": 2, "unit_price": 10}]})
    decision = load(tmp_path).evaluate(order, as_of=AS_OF)
    assert decision.errors == []
    assert decision.fired == ["p/r"]


@pytest.mark.parametrize("cell,value,matches", CELL_EXAMPLES)
def test_cell_examples(cell: str, value: object, matches: bool) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)
    if isinstance(value, str) and value[:4].isdigit():
        value = datetime.date.fromisoformat(value)
    assert parse_cell(cell)(value) is matches


@pytest.mark.parametrize("example", sorted((ROOT / "docs" / "examples").glob("*/ruleset.yaml")),
                         ids=lambda p: p.parent.name)
def test_example_rule_sets_pass_their_tests(example: Path) -> None:
    rs = load(example.parent)
    report = run_tests(rs, example.parent, TODAY)
    assert report.cases and not report.failed and not report.never_fired


def test_readme_quick_start_matches_the_example() -> None:
    readme = (ROOT / "README.md").read_text()
    pack = (ROOT / "docs/examples/first-rule/packs/pricing.yaml").read_text()
    block = pack.split("rules:\n", 1)[1]
    assert textwrap.dedent(block).strip().splitlines()[0] in readme
    assert "make run" in readme and "make test" in readme
