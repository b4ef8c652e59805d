"""Orders in: reading an order exactly (SPEC section 6), with the codec (engine/codec.py),
which also renders decisions (`dumps`, kept importable from here).

In: JSON text or an already-parsed object. Out: a dict whose numbers are all `Decimal` (read
from their digits, never through a binary float), a line's decimal-string `quantity` and
`unit_price` turned into numbers. Raises `BadOrder(path, message)` naming the JSON path.

A number may have at most MAX_DIGITS significant digits: arithmetic beyond them is not exact
(values.EXACT, the precision of division), so a longer one is refused here, where its path is
known, rather than rounded later without a word.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .codec import Decoder, JSONDecodeError, dumps  # noqa: F401 - dumps: engine.orders.dumps

MAX_DEPTH = 32
MAX_EXPONENT = 30  # numbers beyond 1e30 are no order's money or quantity
MAX_DIGITS = 28  # significant digits of a number (values.DIVISION_DIGITS)
MAX_BYTES = 16 * 1024 * 1024
MAX_LINES = 10_000  # lines of one order: 20 times the most an ACME channel takes (EDI, 500)
MAX_ITEMS = 10_000  # items of any other list of an order


class BadOrder(Exception):
    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class OrderTooLarge(BadOrder):
    """An order over a limit it is read with: `limit` names it (max_lines, max_items),
    `maximum` is its value. A service answers it as too large (413) rather than invalid."""

    def __init__(self, path: str, limit: str, maximum: int, count: int, what: str):
        self.limit, self.maximum = limit, maximum
        super().__init__(path, f"{count:,} {what}: more than the {maximum:,} allowed "
                         f"({limit})")


def _too_many(v: list[Any], path: str, max_items: int) -> None:
    if len(v) > max_items and path != "$.lines":  # the lines have their own limit
        raise OrderTooLarge(path, "max_items", max_items, len(v), "items in one list")


def _number(text: str) -> Decimal:
    d = Decimal(text)
    if not d.is_finite() or (d and abs(d.adjusted()) > MAX_EXPONENT):
        raise ValueError(f"number out of range: {text[:40]}")
    if len(text) > MAX_DIGITS and _too_long(d):
        raise _TooLong(text)
    return d


def _too_long(d: Decimal) -> bool:
    return len(d.as_tuple().digits) > MAX_DIGITS


def _too_long_message(d: Decimal) -> str:
    return (f"{str(d)[:40]} has {len(d.as_tuple().digits)} significant digits: at most "
            f"{MAX_DIGITS} can be computed exactly")


class _TooLong(ValueError):
    """A number with too many digits, met while parsing: its path is found afterwards."""


def _too_long_path(text: str) -> tuple[str, str]:
    """The path and message of the first number of `text` with too many digits (parsed
    again, on the error path only, to know where it stands)."""
    found: list[Decimal] = []

    def number(t: str) -> Decimal:
        d = Decimal(t)
        if not found and len(t) > MAX_DIGITS and _too_long(d):
            found.append(d)
        return d

    tree = Decoder(number).decode(text)
    return _path_of(tree, found[0], "$") or "$", _too_long_message(found[0])


def _path_of(v: Any, target: Decimal, path: str) -> str | None:
    """The JSON path of `target` (that very object) inside `v`."""
    if v is target:
        return path
    c = v.__class__
    items: Any = v.items() if c is dict else enumerate(v) if c is list else ()
    for k, x in items:
        found = _path_of(x, target, f"{path}.{k}" if c is dict else f"{path}[{k}]")
        if found is not None:
            return found
    return None


# one decoder for every call: json.loads with hooks builds a new one each time
_DECODER = Decoder(_number)


def parse_json(text: str | bytes) -> Any:
    """JSON with every number a Decimal; raises BadOrder("$", ...) for invalid JSON."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise BadOrder("$", f"larger than {MAX_BYTES} bytes")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadOrder("$", f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        if text.startswith("\ufeff"):  # as json.loads refuses it
            raise JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _DECODER.decode(text)
    except JSONDecodeError as exc:
        raise BadOrder("$", f"invalid JSON at line {exc.lineno} column {exc.colno}: "
                       f"{exc.msg}") from None
    except _TooLong:
        raise BadOrder(*_too_long_path(text)) from None
    except (ValueError, RecursionError) as exc:
        raise BadOrder("$", str(exc) if isinstance(exc, ValueError) else "nested too deeply") \
            from None


def parse_order(text: str | bytes, max_lines: int = MAX_LINES,
                max_items: int = MAX_ITEMS) -> dict[str, Any]:
    """An order from JSON text. The parsed object is fresh and its numbers are already exact
    and in range, so it is checked in place rather than copied."""
    # the depth and list-size walk cannot fail on a text with at most MAX_DEPTH brackets
    # (each level of nesting opens one) and fewer than max_items commas (a list of more
    # than max_items items has at least that many): counted in C, a walk saved per order
    # (a text shorter than max_items has fewer commas than that without counting them)
    if isinstance(text, bytes):
        small = text.count(b"{") + text.count(b"[") <= MAX_DEPTH \
            and (len(text) < max_items or text.count(b",") < max_items)
    else:
        small = text.count("{") + text.count("[") <= MAX_DEPTH \
            and (len(text) < max_items or text.count(",") < max_items)
    return validate_order(parse_json(text), fresh=True, max_lines=max_lines,
                          max_items=max_items, shallow=small)


def _within(v: Any, depth: int, max_items: int) -> bool:
    """Whether `_check_depth` would pass `v` (an object or a list): no path is written on the
    way, so an order that passes (nearly all) costs one walk; one that does not is walked
    again by `_check_depth`, which names the place. A list longer than `max_items` always
    takes that walk (the order's own lines may be)."""
    if depth > MAX_DEPTH:
        return False
    if v.__class__ is dict:
        for x in v.values():
            c = x.__class__
            if (c is dict or c is list) and not _within(x, depth + 1, max_items):
                return False
        return True
    if len(v) > max_items:
        return False
    for x in v:
        c = x.__class__
        if (c is dict or c is list) and not _within(x, depth + 1, max_items):
            return False
    return True


def _check_depth(v: Any, path: str, depth: int, max_items: int = MAX_ITEMS) -> None:
    if depth > MAX_DEPTH:
        raise BadOrder(path, f"nested deeper than {MAX_DEPTH} levels")
    c = v.__class__
    if c is dict:
        for k, x in v.items():
            if x.__class__ is dict or x.__class__ is list:
                _check_depth(x, f"{path}.{k}", depth + 1, max_items)
    elif c is list:
        _too_many(v, path, max_items)
        for i, x in enumerate(v):
            if x.__class__ is dict or x.__class__ is list:
                _check_depth(x, f"{path}[{i}]", depth + 1, max_items)


def _plain(v: Any, path: str, depth: int, max_items: int = MAX_ITEMS) -> Any:
    """A copy with numbers as Decimal; refuses floats that are not finite and odd types."""
    if depth > MAX_DEPTH:
        raise BadOrder(path, f"nested deeper than {MAX_DEPTH} levels")
    if v is None or v.__class__ in (str, bool):
        return v
    if v.__class__ is Decimal:
        if not v.is_finite() or (v and abs(v.adjusted()) > MAX_EXPONENT):
            raise BadOrder(path, "number out of range")
        if _too_long(v):
            raise BadOrder(path, _too_long_message(v))
        return v
    if isinstance(v, int):
        return _plain(Decimal(v), path, depth)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise BadOrder(path, "not a finite number")
        return _plain(Decimal(repr(v)), path, depth)
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if not isinstance(k, str):
                raise BadOrder(path, "object keys must be text")
            out[k] = _plain(x, f"{path}.{k}", depth + 1, max_items)
        return out
    if isinstance(v, list):
        _too_many(v, path, max_items)
        return [_plain(x, f"{path}[{i}]", depth + 1, max_items) for i, x in enumerate(v)]
    raise BadOrder(path, f"not a JSON value ({type(v).__name__})")


_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _decimal_field(line: dict[str, Any], key: str, path: str) -> None:
    v = line.get(key)
    if v is None or v.__class__ is Decimal:
        return
    if isinstance(v, str):
        # Decimal() also reads " 3 ", "1_000" and other scripts' digits ("٣"): not decimal
        # strings (SPEC section 6), so the text must be one as written
        if not _DECIMAL_TEXT.fullmatch(v):
            raise BadOrder(f"{path}.{key}", f"{v[:40]!r} is not a decimal number "
                           "(digits 0-9, an optional sign, point and exponent)")
        try:
            d = Decimal(v)
        except InvalidOperation:
            raise BadOrder(f"{path}.{key}", f"{v[:40]!r} is not a decimal number") from None
        if not d.is_finite() or (d and abs(d.adjusted()) > MAX_EXPONENT):
            raise BadOrder(f"{path}.{key}", "number out of range")
        if _too_long(d):
            raise BadOrder(f"{path}.{key}", _too_long_message(d))
        line[key] = d
        return
    raise BadOrder(f"{path}.{key}", f"must be a number or a decimal string, not "
                   f"{_json_kind(v)}")


def _json_kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, str):
        return "text"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return "a number"


def validate_order(obj: Any, fresh: bool = False, max_lines: int = MAX_LINES,
                   max_items: int = MAX_ITEMS, shallow: bool = False) -> dict[str, Any]:
    """Checks an order (SPEC section 6); a copy with every number a Decimal, or, for `fresh`
    JSON from `parse_json`, the same object checked in place. An order with more than
    `max_lines` lines, or a list of more than `max_items` items anywhere else, is refused
    with OrderTooLarge (before any other work on it). `shallow` (fresh JSON only): the caller
    knows from the text that no depth or list-size limit can be passed."""
    if not isinstance(obj, dict):
        raise BadOrder("$", f"an order is a JSON object, not {_json_kind(obj)}")
    lines = obj.get("lines")
    if isinstance(lines, list) and len(lines) > max_lines:
        raise OrderTooLarge("$.lines", "max_lines", max_lines, len(lines), "lines")
    if fresh:
        if not shallow and not _within(obj, 0, max_items):
            _check_depth(obj, "$", 0, max_items)
        order: dict[str, Any] = obj
    else:
        order = _plain(obj, "$", 0, max_items)
    oid = order.get("id")
    if oid is not None and not (isinstance(oid, str) or oid.__class__ is Decimal):
        raise BadOrder("$.id", f"must be text or a number, not {_json_kind(oid)}")
    for key in ("customer", "ship_to", "payment", "attributes"):
        v = order.get(key)
        if v is not None and not isinstance(v, dict):
            raise BadOrder(f"$.{key}", f"must be an object, not {_json_kind(v)}")
    lines = order.get("lines")
    if lines is not None:
        if not isinstance(lines, list):
            raise BadOrder("$.lines", f"must be a list, not {_json_kind(lines)}")
        for i, line in enumerate(lines):
            if line.__class__ is dict:
                q, u = line.get("quantity"), line.get("unit_price")
                if (q is None or q.__class__ is Decimal) and (u is None or u.__class__ is Decimal):
                    continue  # nothing to check or convert (the usual line)
            path = f"$.lines[{i}]"
            if not isinstance(line, dict):
                raise BadOrder(path, f"a line is an object, not {_json_kind(line)}")
            _decimal_field(line, "quantity", path)
            _decimal_field(line, "unit_price", path)
    return order
