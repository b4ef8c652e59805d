"""The product's one JSON codec: exact decimals in and out, and the checked request reader.

In: JSON text (str or UTF-8 bytes), or values (dict, list, str, bool, None, Decimal, int,
date). Out: values whose every number is a `Decimal` read from its digits, never through a
binary float; JSON text whose every Decimal is written with its own digits (`format(d, "f")`:
`1E+2` as `100`, `2.50` as `2.50`) and dates as YYYY-MM-DD. What it refuses: NaN and Infinity
(not JSON numbers), a UTF-8 byte-order mark.

- `dumps(obj, indent=None)`: every writer (decisions, logs, reports, the simulator's files).
- `loads(text)`: every reader of JSON the product wrote itself (stored documents, tables).
- `Decoder(number, pairs)`: a reader with its own checks per number or object, for the engine's
  order reader (engine/orders.py); raises `JSONDecodeError`.
- `read(raw, fields, ...)`: the one reader of request bodies. A duplicate key, a lone
  surrogate, a number out of range, a list or object over `max_items` (an order's lines:
  `max_lines`), a text longer than the column it goes into (`Fields`), nesting deeper than
  `MAX_DEPTH` are refused with `Refused(code, message, path)` naming the JSON path.

The non-obvious choices. Parsing never raises for those checks: the hooks leave a marker (a
`_Dup` dict, an `_OutOfRange` number) and one walk afterwards finds the first problem and
names its path, so a body has one parse (the C scanner of `json`) and one walk.

msgspec was measured against this codec (bench/json_codec.py, docs/design/json-codec.md). It
writes about ten times faster, so compact `dumps` is msgspec with its two differences repaired
(a Decimal's exponent, a Decimal key: older msgspec writes it bare, 0.23 quotes it, which the
codec asks once at import and then skips the key scans), byte for byte what the pure-Python
reference writer (`dumps_reference`) writes. It reads no faster once integers are made Decimals and the checks
are walked, and it cannot refuse a duplicate key (it keeps the last), turns `-0` into `0` and
reports a lone surrogate without a path, so every reader here stays on `json`.
"""
from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal
from typing import Any, Callable

JSONDecodeError = json.JSONDecodeError


_STR = json.encoder.encode_basestring


def _encode(o: Any, out: list[str], indent: str | None, level: int) -> None:
    c = o.__class__
    if c is str:
        out.append(_STR(o))
    elif o is None:
        out.append("null")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif c is Decimal:
        out.append(format(o, "f"))
    elif c is dict or c is list or c is tuple:
        items = list(o.items()) if c is dict else list(o)
        opener, closer = ("{", "}") if c is dict else ("[", "]")
        if not items:
            out.append(opener + closer)
            return
        sep = "," if indent is None else ",\n" + indent * (level + 1)
        out.append(opener if indent is None else opener + "\n" + indent * (level + 1))
        for i, item in enumerate(items):
            if i:
                out.append(sep)
            if c is dict:
                k, v = item
                out.append(_STR(k if isinstance(k, str) else str(k)))
                out.append(":" if indent is None else ": ")
                _encode(v, out, indent, level + 1)
            else:
                _encode(item, out, indent, level + 1)
        out.append(closer if indent is None else "\n" + indent * level + closer)
    elif isinstance(o, (datetime.date, datetime.datetime)):
        out.append(_STR(o.isoformat()))
    elif isinstance(o, (int, float)) and not isinstance(o, bool):
        out.append(json.dumps(o))
    else:
        raise TypeError(f"not JSON: {type(o).__name__}")


def dumps_reference(obj: Any, indent: int | None = None) -> str:
    """The reference writer (pure Python): what `dumps` writes, byte for byte, and what it
    falls back to for output msgspec would write otherwise (see `dumps`)."""
    out: list[str] = []
    _encode(obj, out, None if indent is None else " " * indent, 0)
    return "".join(out)


_FAST: Callable[[Any], bytes] | None = None  # msgspec's encoder, made by `_fast()`
# msgspec writes a Decimal as str(d), which has an exponent (`1E+2`, `1E-7`, always an upper
# case E and a sign) where the reference writes `100`, `0.0000001`; and a Decimal key bare
# (`{1.5:1}`, not JSON). Three scans, each starting from a literal (so the regular expression
# engine skips ahead: a few microseconds on a decision), find either; a text holding one only
# costs the careful path, which matches strings whole so nothing inside a text is touched:
# the numbers with an exponent are written again as the reference writes them, or, for a bare
# key, the reference writer writes it all.
_EXPONENT_AT = re.compile(rb"E[+-][0-9]").search
_KEY_AFTER_BRACE = re.compile(rb"\{-?[0-9]").search
_KEY_AFTER_COMMA = re.compile(rb",-?[0-9][0-9.]*(?:E[+-][0-9]+)?:").search
_STRING = rb'"(?:[^"\\]|\\.)*"'
_NUMBER_KEY = re.compile(_STRING + rb"|[{,](-?[0-9][0-9.]*(?:E[+-][0-9]+)?):")
_EXPONENT = re.compile(_STRING + rb"|-?[0-9][0-9.]*E[+-][0-9]+")


# msgspec from 0.20 or so writes a Decimal key quoted as str(key) writes it, as the reference
# writer does: the scans for a bare key (a quarter of the cost of writing a decision) are then
# not needed. Asked once, of the msgspec installed (False until asked: the scans run).
_KEYS_QUOTED = False


def _fast() -> Callable[[Any], bytes]:
    """msgspec's encoder, imported by the first compact `dumps` of a process (issue 16:
    msgspec's import, typing_extensions with it, is a tenth of a start; a process that writes
    no compact JSON, such as a one-order `ordinance eval`, does not pay it)."""
    global _FAST, _KEYS_QUOTED
    import msgspec

    fast = msgspec.json.Encoder(decimal_format="number").encode
    _KEYS_QUOTED = fast({Decimal("1.5"): 1, Decimal("1E+2"): 2, Decimal("-0"): 3}) \
        == b'{"1.5":1,"1E+2":2,"-0":3}'
    _FAST = fast
    return fast


def _as_reference(m: re.Match[bytes]) -> bytes:
    tok = m.group()
    return tok if tok[0] == 0x22 else format(Decimal(tok.decode()), "f").encode()


def dumps(obj: Any, indent: int | None = None) -> str:
    """JSON with Decimals written as exact numbers (their own digits, never an exponent:
    `format(d, "f")`), dates as YYYY-MM-DD, compact (`indent=None`) or indented.

    Compact output is written by msgspec (ten to thirty times faster: bench/json_codec.py) and
    is byte for byte the reference writer's for None, bools, texts, Decimals, ints, dates,
    lists, tuples and dicts (tests/engine/test_codec.py checks it on generated values), which
    is everything a decision holds. What msgspec refuses (a lone surrogate, a bool key, a type
    of its own) is written by the reference writer, as is indented output. Not product data,
    so written the msgspec way, the same value in other bytes: a float in its shortest
    round-trip form (`0.00001` where `json` writes `1e-05`), a `datetime` in RFC 3339 (`Z`
    for UTC)."""
    if indent is None:
        out = _compact(obj)
        return dumps_reference(obj) if out is None else out.decode("utf-8")
    return dumps_reference(obj, indent)


def dumpb(obj: Any) -> bytes:
    """`dumps(obj)` as UTF-8 bytes, for a writer of bytes (a stream of decisions): no text
    made only to be encoded again. A lone surrogate, which UTF-8 cannot carry, is written as
    its JSON escape (`\\ud800`)."""
    out = _compact(obj)
    return dumps_reference(obj).encode("utf-8", "backslashreplace") if out is None else out


def _compact(obj: Any) -> bytes | None:
    """msgspec's compact JSON of `obj`, as the reference writer writes it; None where only the
    reference writer can (see `dumps`)."""
    try:
        out = (_FAST or _fast())(obj)
    except (TypeError, ValueError):
        return None
    if not _KEYS_QUOTED and (_KEY_AFTER_BRACE(out) or _KEY_AFTER_COMMA(out)) \
            and any(m.group(1) for m in _NUMBER_KEY.finditer(out)):
        return None
    # the regular expression alone: it scans for its literal E faster than `b"E+" in out`
    # (which was a third of the time spent writing a decision)
    if _EXPONENT_AT(out):
        out = _EXPONENT.sub(_as_reference, out)
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class Decoder:
    """JSON text -> values, with `number(text)` for every number (int or not) and, when given,
    `pairs(list of (key, value))` for every object. NaN, Infinity and a byte-order mark are
    refused (`ValueError`, `JSONDecodeError`); a hook's own exception goes through."""

    __slots__ = ("_decode",)

    def __init__(self, number: Callable[[str], Any] = Decimal,
                 pairs: Callable[[list[tuple[str, Any]]], Any] | None = None):
        self._decode = json.JSONDecoder(parse_float=number, parse_int=number,
                                        parse_constant=_no_constant,
                                        object_pairs_hook=pairs).decode

    def decode(self, text: str) -> Any:
        if text.startswith("\ufeff"):
            raise JSONDecodeError("Unexpected UTF-8 BOM", text, 0)
        return self._decode(text)


_EXACT = Decoder()


def loads(text: str | bytes) -> Any:
    """JSON this product wrote, every number an exact Decimal."""
    return _EXACT.decode(text.decode("utf-8") if isinstance(text, bytes) else text)


# --- the one reader of request bodies ----------------------------------------------------

MAX_EXPONENT = 30   # as the engine's order reader: no order's number is under 1e-30 in size
MAX_MAGNITUDE = 28  # nor 1e28 and over: a whole number there has more digits than the engine
                    # computes exactly (28), so 0 or 1e-30 <= |x| < 1e28, a range a schema says
MAX_DEPTH = 64      # orders are checked again by the engine (32 levels)


class Refused(ValueError):
    """A request body the reader refuses: `code`, `message`, the JSON `path` of the value;
    `too_large` when a size limit was passed (a service answers 413, else 422)."""

    def __init__(self, message: str, code: str, path: str, too_large: bool = False):
        super().__init__(message)
        self.message, self.code, self.path, self.too_large = message, code, path, too_large


class _Dup(dict[str, Any]):
    """An object that had a key twice (the key in `dup`)."""
    __slots__ = ("dup",)
    dup: str


class _OutOfRange:
    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                out = _Dup(d)
                out.dup = k
                return out
            seen.add(k)
    return d


def _number(text: str) -> Any:
    d = Decimal(text)
    if d and not -MAX_EXPONENT <= d.adjusted() < MAX_MAGNITUDE:
        return _OutOfRange(text)
    return d


_READER = Decoder(_number, _pairs)


class Fields:
    """Where a body's texts go into columns of a limited size: `{"$.order.channel": 100,
    "$.order.lines[*].sku": 200}` (`[*]` any item). A number at such a path is measured as
    it is written (`str(Decimal)`), as it is stored. `lines`: the path of an order's lines,
    which may have `max_lines` items rather than `max_items`."""

    __slots__ = ("limit", "children", "lines")

    def __init__(self, spec: dict[str, int] | None = None, lines: str | None = None):
        self.limit: int | None = None
        self.lines = False
        self.children: dict[Any, Fields] = {}
        for path, limit in (spec or {}).items():
            self._node(path).limit = limit
        if lines:
            self._node(lines).lines = True

    def _node(self, path: str) -> "Fields":
        node = self
        for part in path[1:].replace("[*]", ".*").split("."):
            if part:
                node = node.children.setdefault(part, Fields())
        return node


NO_FIELDS = Fields()


def _path(at: Any) -> str:
    parts: list[str] = []
    while at is not None:
        at, part = at
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "$" + "".join(reversed(parts))


def _bad_text(v: str) -> bool:
    """A lone surrogate: JSON can escape one, UTF-8 (and so the database) cannot hold it."""
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _walk(v: Any, at: Any, node: Fields | None, depth: int, limits: tuple[int, int]) -> None:
    c = v.__class__
    if c is str:
        if not v.isascii() and _bad_text(v):
            raise Refused("the text has a lone surrogate (\\ud800-\\udfff not in a pair), "
                          "which is not Unicode text", "BAD_TEXT", _path(at))
        if node is not None and node.limit is not None and len(v) > node.limit:
            raise Refused(f"at most {node.limit} characters (this one has {len(v)})",
                          "TEXT_TOO_LONG", _path(at))
    elif c is Decimal:
        if node is not None and node.limit is not None and len(str(v)) > node.limit:
            raise Refused(f"a number written with at most {node.limit} characters",
                          "NUMBER_TOO_LONG", _path(at))
    elif c is _OutOfRange:
        raise Refused(f"{v.text[:40]} is out of range: numbers are 0 or from "
                      f"1e-{MAX_EXPONENT} to under 1e{MAX_MAGNITUDE} in size", "NUMBER_OUT_OF_RANGE",
                      _path(at))
    elif c is dict or c is _Dup or c is list:
        if depth >= MAX_DEPTH:
            raise Refused(f"nested deeper than {MAX_DEPTH} levels", "BAD_JSON", _path(at))
        max_items, max_lines = limits
        if node is not None and node.lines and c is list:
            if len(v) > max_lines:
                raise Refused(f"an order has at most {max_lines} lines (ORDINANCE_MAX_LINES); "
                              f"this one has {len(v)}", "TOO_MANY_LINES", _path(at), True)
        elif len(v) > max_items:
            raise Refused(f"at most {max_items} entries in a list or object "
                          f"(ORDINANCE_MAX_ITEMS); this one has {len(v)}",
                          "TOO_MANY_ITEMS", _path(at), True)
        children = node.children if node is not None else None
        if c is list:
            child = children.get("*") if children else None
            for i, x in enumerate(v):
                if x.__class__ is not bool and x is not None:
                    _walk(x, (at, i), child, depth + 1, limits)
            return
        if c is _Dup:
            raise Refused(f"the key {v.dup!r} is given twice", "DUPLICATE_KEY",
                          _path((at, v.dup)))
        for k, x in v.items():
            if not k.isascii() and _bad_text(k):
                raise Refused("the key has a lone surrogate (\\ud800-\\udfff not in a pair)",
                              "BAD_TEXT", _path((at, k.encode("utf-8", "backslashreplace")
                                                .decode("ascii"))))
            if x.__class__ is not bool and x is not None:
                _walk(x, (at, k), children.get(k) if children else None, depth + 1, limits)


def read(raw: bytes, fields: Fields = NO_FIELDS, *, max_items: int, max_lines: int,
         max_bytes: int, code: str = "BAD_JSON") -> Any:
    """A request body: JSON (UTF-8) with every number an exact Decimal, checked as above;
    else `Refused` (`code` for what is not JSON) with the JSON path of the value."""
    if len(raw) > max_bytes:
        raise Refused(f"larger than {max_bytes} bytes", "BODY_TOO_LARGE", "$", True)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(f"the body is not UTF-8 ({exc.reason} at byte {exc.start})", code,
                      "$") from None
    try:
        body = _READER.decode(text)
    except JSONDecodeError as exc:
        raise Refused(f"the body is not valid JSON: line {exc.lineno} column {exc.colno}: "
                      f"{exc.msg}", code, "$") from None
    except ValueError as exc:  # NaN, Infinity
        raise Refused(f"the body is not valid JSON: {exc}", code, "$") from None
    except RecursionError:
        raise Refused(f"the body is nested deeper than {MAX_DEPTH} levels", code,
                      "$") from None
    _walk(body, None, fields, 0, (max_items, max_lines))
    return body
