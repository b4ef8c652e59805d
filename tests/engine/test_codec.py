"""engine/codec.py: the one JSON codec. `dumps` (msgspec, repaired) writes byte for byte what the
reference writer writes; numbers keep every digit both ways; the request reader keeps its checks."""
from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinance.engine import codec

decimals = st.decimals(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [Decimal("1E+2"), Decimal("1E-7"), Decimal("-0"), Decimal("0E-10"), Decimal("2.50"),
     Decimal("1.5E+3"), Decimal("-12345678901234567890.123456789"), Decimal("1E+30")])
texts = st.text() | st.sampled_from(["1E+5", '"1E+2",', "{1:", ",2:", "\x00\x1f\x7f\u2028",
                                     "9d7e7", "é€😀", "\\", '"'])
scalars = (st.none() | st.booleans() | st.integers() | decimals | texts
           | st.dates().map(lambda d: d))
values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=5)
                      | st.dictionaries(texts, kids, max_size=5)
                      | st.tuples(kids, kids), max_leaves=30)


@settings(max_examples=500, deadline=None)
@given(values)
def test_dumps_is_byte_for_byte_the_reference_writer(value):
    assert codec.dumps(value) == codec.dumps_reference(value)


@settings(max_examples=300, deadline=None)
@given(st.recursive(decimals | texts, lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(texts, kids, max_size=4), max_leaves=20))
def test_every_digit_comes_back(value):
    back = codec.loads(codec.dumps(value))
    assert back == value
    assert codec.dumps(back) == codec.dumps(value)  # the same digits, not only the same value


def test_decimals_never_get_an_exponent_and_keep_their_zeros():
    assert codec.dumps([Decimal("1E+2"), Decimal("1E-7"), Decimal("2.50"), Decimal("-0")]) == \
        "[100,0.0000001,2.50,-0]"
    assert codec.dumps({"a": Decimal("1E+2"), "t": "x1E+5"}) == '{"a":100,"t":"x1E+5"}'
    assert codec.dumps(Decimal("1E+2")) == "100"


@given(st.dictionaries(decimals, st.integers(), max_size=4))
def test_decimal_keys_are_written_as_the_reference_writes_them(value):
    # whether msgspec quotes them (codec._KEYS_QUOTED) or dumps falls back to the reference
    assert codec.dumps(value) == codec.dumps_reference(value)
    assert codec.dumps({"a": value}) == codec.dumps_reference({"a": value})


def test_what_msgspec_refuses_or_writes_otherwise_is_written_by_the_reference():
    assert codec.dumps({Decimal("1.5"): 1}) == '{"1.5":1}'  # msgspec: {1.5:1}
    assert codec.dumps({True: 1}) == '{"True":1}'
    assert codec.dumps("\ud800") == '"\ud800"'
    assert codec.dumps(datetime.date(2026, 1, 2)) == '"2026-01-02"'
    with pytest.raises(TypeError):
        codec.dumps(object())


def test_indented_output_is_the_reference_writers():
    value = {"a": [Decimal("1.0"), {"b": None}], "c": []}
    assert codec.dumps(value, indent=2) == json.dumps(
        {"a": [1.0, {"b": None}], "c": []}, indent=2)


def test_loads_reads_every_number_exactly_and_refuses_what_is_not_json():
    assert codec.loads('{"a": 0.1, "b": 10, "c": -0, "d": 1e2}') == {
        "a": Decimal("0.1"), "b": Decimal(10), "c": Decimal("-0"), "d": Decimal("1E+2")}
    assert str(codec.loads(b"[1.10]")[0]) == "1.10"
    with pytest.raises(ValueError, match="NaN is not a JSON number"):
        codec.loads("[NaN]")
    with pytest.raises(codec.JSONDecodeError, match="BOM"):
        codec.loads("\ufeff[]")


def read(raw: bytes, fields: codec.Fields = codec.NO_FIELDS, **limits: int):
    return codec.read(raw, fields, **{"max_items": 100, "max_lines": 3, "max_bytes": 1000,
                                      **limits})


@pytest.mark.parametrize("raw, code, path", [
    (b'{"a": {"b": 1, "b": 2}}', "DUPLICATE_KEY", "$.a.b"),
    (b'{"a": ["\\ud800"]}', "BAD_TEXT", "$.a[0]"),
    (b'{"\\udc00": 1}', "BAD_TEXT", "$.\\udc00"),
    (b'{"a": 1e31}', "NUMBER_OUT_OF_RANGE", "$.a"),
    (b'{"a": [NaN]}', "BAD_JSON", "$"),
    (b'\xef\xbb\xbf{}', "BAD_JSON", "$"),
    (b'\xff', "BAD_JSON", "$"),
    (b'{"a": ', "BAD_JSON", "$"),
    (b'[' * 70 + b']' * 70, "BAD_JSON", "$" + "[0]" * 64),
])
def test_the_request_reader_refuses_with_the_path(raw, code, path):
    with pytest.raises(codec.Refused) as exc:
        read(raw)
    assert (exc.value.code, exc.value.path, exc.value.too_large) == (code, path, False)


def test_the_request_reader_measures_lists_lines_and_texts():
    fields = codec.Fields({"$.order.id": 5, "$.order.lines[*].q": 3}, lines="$.order.lines")
    with pytest.raises(codec.Refused) as exc:
        read(b'{"order": {"lines": [1, 2, 3, 4]}}', fields)
    assert (exc.value.code, exc.value.path, exc.value.too_large) == (
        "TOO_MANY_LINES", "$.order.lines", True)
    with pytest.raises(codec.Refused) as exc:
        read(b'{"order": {"x": [1, 2, 3, 4]}}', fields, max_items=3)
    assert (exc.value.code, exc.value.too_large) == ("TOO_MANY_ITEMS", True)
    with pytest.raises(codec.Refused) as exc:
        read(b'{"order": {"id": "abcdef"}}', fields)
    assert (exc.value.code, exc.value.path) == ("TEXT_TOO_LONG", "$.order.id")
    with pytest.raises(codec.Refused) as exc:
        read(b'{"order": {"lines": [{"q": 1.234}]}}', fields)
    assert (exc.value.code, exc.value.path) == ("NUMBER_TOO_LONG", "$.order.lines[0].q")
    with pytest.raises(codec.Refused) as exc:
        read(b"[" + b"1," * 600 + b"1]")
    assert (exc.value.code, exc.value.too_large) == ("BODY_TOO_LARGE", True)
    body = read(b'{"order": {"id": "ab", "lines": [{"q": 1.5}, {"q": 2}]}}', fields)
    assert body == {"order": {"id": "ab", "lines": [{"q": Decimal("1.5")}, {"q": Decimal(2)}]}}
