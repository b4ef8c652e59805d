"""engine/tables.py `build_dispatch` (issue 16): a table's rows reached through a dict on a
column of text equalities give exactly the rows the plain scan (`build_fast`) gives, for every
hit policy's row list, and the careful path's where the scan agrees with it."""
from __future__ import annotations

import random
from decimal import Decimal, InvalidOperation

import pytest

from ordinance.engine.tables import build_dispatch, build_fast, column_kinds, parse_cell_text

NUM_CELLS = ["-", ">= 100", "< 50", "[10..200)", "5", "null", "not(5, 7)", "!= 7"]
TEXT_CELLS = ["-", "wholesale", "retail", '"education", gov', "!= retail", "null", "not(gov)",
              "< m"]
TEXTS = [None, "wholesale", "retail", "education", "gov", "other", "a", "z"]
NUMBERS = [None] + [Decimal(x) for x in (1, 5, 7, 10, 49, 50, 100, 150, 199, 200, 500)]


def random_table(rnd: random.Random) -> tuple[list[str], list[list], str]:
    ncols = rnd.randint(1, 3)
    kinds = [rnd.choice(["num", "text", "text"]) for _ in range(ncols)]
    rows = [[parse_cell_text(rnd.choice(NUM_CELLS if k == "num" else TEXT_CELLS))
             for k in kinds] for _ in range(rnd.randint(1, 14))]
    return kinds, rows, rnd.choice(["first", "collect", "unique", "rule_order"])


def test_dispatch_gives_the_rows_the_scan_gives() -> None:
    rnd = random.Random(16)
    dispatched = 0
    for _ in range(400):
        kinds, rows, hit = random_table(rnd)
        disp = build_dispatch(rows, column_kinds(rows, len(kinds)), hit)
        if disp is None:
            continue
        dispatched += 1
        scan = build_fast(rows, len(kinds), hit)
        for _ in range(150):
            values = [rnd.choice(NUMBERS if k == "num" else TEXTS) for k in kinds]
            assert disp(*values) == scan(*values), (rows, hit, values)
    assert dispatched > 100  # the property is exercised, not vacuous


def test_a_volume_table_is_dispatched_on_its_text_column() -> None:
    cells = [(">= 500", "wholesale"), (">= 100", "wholesale"), (">= 500", "retail"),
             ("-", "education, gov"), (">= 1", "-")]
    rows = [[parse_cell_text(a), parse_cell_text(b)] for a, b in cells]
    disp = build_dispatch(rows, column_kinds(rows, 2), "first")
    assert disp is not None
    assert disp(Decimal(600), "retail") == [2]
    assert disp(Decimal(150), "retail") == [4]
    assert disp(Decimal(150), "gov") == [3]
    assert disp(Decimal(0), "other") == []
    assert disp(Decimal(0), None) == []
    # collect: every matching row, in row order
    disp_all = build_dispatch(rows, column_kinds(rows, 2), "collect")
    assert disp_all is not None and disp_all(Decimal(600), "wholesale") == [0, 1, 4]


def test_a_nan_input_takes_the_plain_scan_and_raises_where_it_did() -> None:
    rows = [[parse_cell_text("< 5"), parse_cell_text("retail")],
            [parse_cell_text("-"), parse_cell_text("gov")]]
    disp = build_dispatch(rows, column_kinds(rows, 2), "first")
    scan = build_fast(rows, 2, "first")
    assert disp is not None
    with pytest.raises(InvalidOperation):
        scan(Decimal("NaN"), "gov")
    with pytest.raises(InvalidOperation):
        disp(Decimal("NaN"), "gov")


def test_mixed_kinds_or_no_text_column_are_not_dispatched() -> None:
    mixed = [[parse_cell_text("5")], [parse_cell_text("retail")]]
    assert build_dispatch(mixed, column_kinds(mixed, 1), "first") is None
    numbers = [[parse_cell_text("5")], [parse_cell_text("< 3")]]
    assert build_dispatch(numbers, column_kinds(numbers, 1), "first") is None
