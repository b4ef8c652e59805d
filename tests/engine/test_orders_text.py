"""A line's quantity or unit price given as text must be a decimal string as written: other
scripts' digits, padding and underscores are what Decimal() reads but not decimal strings."""
from __future__ import annotations

from decimal import Decimal

import pytest

from ordinance.engine import BadOrder, validate_order


@pytest.mark.parametrize("text", ["\u0663", " 3 ", "3 ", "1_000", "\uff13", "3\u0660", "",
                                  "Infinity", "NaN", "0x10", "1e", "."])
def test_not_a_decimal_string_is_refused_with_its_path(text):
    with pytest.raises(BadOrder) as exc:
        validate_order({"lines": [{"id": "1", "quantity": 1}, {"id": "2", "quantity": text}]})
    assert exc.value.path == "$.lines[1].quantity"


@pytest.mark.parametrize("text,value", [("3", "3"), ("-2.50", "-2.50"), ("+1", "1"),
                                        (".5", "0.5"), ("5.", "5"), ("1.2E+3", "1.2E+3")])
def test_decimal_strings_are_read_exactly(text, value):
    order = validate_order({"lines": [{"id": "1", "unit_price": text}]})
    assert order["lines"][0]["unit_price"] == Decimal(value)
