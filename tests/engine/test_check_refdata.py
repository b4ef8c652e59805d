"""Reference data checks (issue 15): duplicate keys, values that do not fit their column, and a
broken CSV reported at its real line and column before anything else."""
from __future__ import annotations

from pathlib import Path

from ordinance.engine import check
from tests.engine.helpers import write_ruleset

PRICING = """
pack: p
phase: pricing
rules:
  - id: list
    for_each: line
    then:
      - list_price: ref.prices[line.sku].unit_price
"""


def _lines(root: Path) -> list[str]:
    return [f"{d.span}: {d.severity}: {d.message}" for d in check(root)]


def test_a_key_twice_in_a_table_looked_up_by_key_is_named_with_the_first(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, {"p.yaml": PRICING}, {
        "prices.csv": "sku,unit_price\nA-1,10.00\nB-2,5.00\nA-1,12.00\n"})
    found = _lines(rs)
    assert found == ["reference/prices.csv:4:1: warning: key 'A-1' of column 'sku' appears "
                     "again (first at line 2); a lookup finds only the first row"]


def test_a_table_read_as_a_list_may_repeat_its_first_column(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, {"p.yaml": PRICING + "      - discount: {percent: 'count(ref.stock, true)'}\n"},
                       {"prices.csv": "sku,unit_price\nA-1,10.00\n",
                        "stock.csv": "location,sku\nWH-1,A-1\nWH-1,B-2\n"})
    assert _lines(rs) == []


def test_a_decimal_comma_in_a_number_column_is_pointed_at(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, {"p.yaml": PRICING}, {
        "prices.csv": 'sku,unit_price\nA-1,10.00\nB-2,5.00\nC-3,"10,00"\nD-4,7.5\nE-5,8\n'})
    diags = check(rs)
    assert len(diags) == 1
    d = diags[0]
    assert (str(d.span), d.severity) == ("reference/prices.csv:4:5", "warning")
    assert d.message.startswith("'10,00' in column 'unit_price', whose other values are numbers")
    assert d.hint is not None and "'.' decimal point" in d.hint


def test_a_row_wider_than_the_header_is_the_first_error_at_its_cell(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, {"p.yaml": PRICING}, {
        "prices.csv": "sku,unit_price\nA-1,10.00\nB-2,5,00\n"})
    diags = check(rs)
    errors = [d for d in diags if d.is_error]
    # the real error only: no "unknown reference table 'prices'" in the pack that reads it
    assert [f"{d.span}: {d.message}" for d in errors] == [
        "reference/prices.csv:3:7: cannot read reference table: this row has 3 cells; the "
        "header has 2 (cell 3 starts here)"]
    assert errors[0].hint is not None and "quote a cell holding a comma" in errors[0].hint


def test_an_unclosed_quote_is_reported_where_it_opens(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, {"p.yaml": PRICING}, {
        "prices.csv": 'sku,unit_price\nA-1,10.00\nB-2,"5.00\n'})
    errors = [d for d in check(rs) if d.is_error]
    assert len(errors) == 1
    assert str(errors[0].span) == "reference/prices.csv:3:5"
    assert "unexpected end of data" in errors[0].message
