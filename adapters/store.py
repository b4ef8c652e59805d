"""What every storage module shares: the errors the API maps to statuses, clocks, JSON.

The errors name what went wrong in the words of the service; the API turns them into
HTTP statuses (NotFound 404, Conflict 409, Invalid 422, Forbidden 403, Unavailable 503).
"""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import select


class ServiceError(Exception):
    code = "ERROR"

    def __init__(self, message: str, *, code: str | None = None, path: str | None = None,
                 details: Any = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.path = path
        self.details = details

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.path is not None:
            body["path"] = self.path
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class NotFound(ServiceError):
    code = "NOT_FOUND"


class Conflict(ServiceError):
    code = "CONFLICT"


class Invalid(ServiceError):
    code = "INVALID"


class Forbidden(ServiceError):
    code = "FORBIDDEN"


class Unavailable(ServiceError):
    code = "UNAVAILABLE"


def clean(text: str | None) -> str | None:
    """Text for an indexed column: PostgreSQL text cannot hold NUL, so it is dropped there
    (the full documents keep it, escaped, in their JSON)."""
    return None if text is None else text.replace("\x00", "")


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:  # SQLite hands back naive datetimes; we only ever store UTC
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def loads_exact(text: str | bytes) -> Any:
    """JSON with every number as an exact Decimal (never a float). For what this service
    wrote itself; a request body is read with `json_object`."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


# --- the one reader of request bodies ----------------------------------------------------
#
# Every JSON body the REST service takes goes through `json_object`: numbers exact Decimals,
# a duplicate key, a lone surrogate ("\ud800" cannot be stored or sent on), a number out of
# range, a list or object over `MAX_ITEMS` entries (an order's lines: `MAX_LINES`), a text
# longer than the database column
# it is stored in is refused with the JSON path of the value. Parsing itself never raises
# for those: the hooks leave a marker (a `_Dup` dict, an `_OutOfRange` number) and one walk
# afterwards finds the first problem and names its path, so a body has one parse and one walk.

MAX_EXPONENT = 30   # as the engine's order reader: no order's number is under 1e-30 in size
MAX_MAGNITUDE = 28  # nor 1e28 and over: a whole number there has more digits than the engine
                    # computes exactly (28), so 0 or 1e-30 <= |x| < 1e28, a range a schema says
MAX_DEPTH = 64      # orders are checked again by the engine (32 levels)
MAX_ITEMS = 10_000  # the service sets it from ORDINANCE_MAX_ITEMS (`configure`)
MAX_LINES = 2_000   # lines in one order; the service sets it from ORDINANCE_MAX_LINES
MAX_BYTES = 16 * 1024 * 1024


class TooLarge(ServiceError):
    """A request over a size limit (413)."""
    code = "TOO_LARGE"


def configure(max_items: int, max_lines: int) -> None:
    """The service's limits: entries per JSON list or object (ORDINANCE_MAX_ITEMS), lines
    per order (ORDINANCE_MAX_LINES)."""
    global MAX_ITEMS, MAX_LINES
    MAX_ITEMS, MAX_LINES = max_items, max_lines


class _Dup(dict):  # type: ignore[type-arg]
    """An object that had a key twice (the key in `dup`)."""
    __slots__ = ("dup",)


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


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_float=_number, parse_int=_number,
                            parse_constant=_no_constant, object_pairs_hook=_pairs)


class Fields:
    """Where a body's texts go into columns of a limited size: `{"$.order.channel": 100,
    "$.order.lines[*].sku": 200}` (`[*]` any item). A number at such a path is measured as
    it is written (`str(Decimal)`), as it is stored."""

    __slots__ = ("limit", "children", "lines")

    def __init__(self, spec: dict[str, int] | None = None, lines: str | None = None):
        self.limit: int | None = None
        self.lines = False  # the order's lines: at most MAX_LINES items, not MAX_ITEMS
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

# The column sizes of adapters/models*.py, per body.
ORDER_FIELDS = {"id": 200, "customer_id": 200, "customer.id": 200, "channel": 100,
                "attributes.channel": 100, "ship_to.country": 20, "seller": 200,
                "attributes.seller": 200, "lines[*].sku": 200, "lines[*].category": 200,
                "lines[*].brand": 200, "lines[*].quantity": 40, "lines[*].unit_price": 40}
DECISION_REQUEST = Fields({"$.ruleset": 300, **{"$.order." + k: n
                                               for k, n in ORDER_FIELDS.items()}},
                          lines="$.order.lines")
EVENT = Fields({"$.id": 200, "$.type": 100, "$.step": 200})
EVENT_BATCH = Fields({"$.events[*].order_id": 200, "$.events[*].event.id": 200,
                      "$.events[*].event.type": 100, "$.events[*].event.step": 200})
# idempotency_key: payments.IDEMPOTENCY_KEY_MAX (the provider column holds it with the order id)
PAYMENT = Fields({"$.idempotency_key": 91, "$.amount": 40, "$.token": 200})
RETURN = Fields({"$.id": 200, "$.location": 100, "$.lines[*].line_id": 200,
                 "$.lines[*].quantity": 40})
WEBHOOK = Fields({"$.url": 2000, "$.secret": 200})
HOLD_RELEASE = Fields({"$.code": 200})


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


def _walk(v: Any, at: Any, node: Fields | None, depth: int) -> None:
    c = v.__class__
    if c is str:
        if not v.isascii() and _bad_text(v):
            raise Invalid("the text has a lone surrogate (\\ud800-\\udfff not in a pair), "
                          "which is not Unicode text", code="BAD_TEXT", path=_path(at))
        if node is not None and node.limit is not None and len(v) > node.limit:
            raise Invalid(f"at most {node.limit} characters (this one has {len(v)})",
                          code="TEXT_TOO_LONG", path=_path(at))
    elif c is Decimal:
        if node is not None and node.limit is not None and len(str(v)) > node.limit:
            raise Invalid(f"a number written with at most {node.limit} characters",
                          code="NUMBER_TOO_LONG", path=_path(at))
    elif c is _OutOfRange:
        raise Invalid(f"{v.text[:40]} is out of range: numbers are 0 or from 1e-{MAX_EXPONENT} "
                      f"to under 1e{MAX_MAGNITUDE} in size", code="NUMBER_OUT_OF_RANGE",
                      path=_path(at))
    elif c is dict or c is _Dup or c is list:
        if depth >= MAX_DEPTH:
            raise Invalid(f"nested deeper than {MAX_DEPTH} levels", code="BAD_JSON",
                          path=_path(at))
        if node is not None and node.lines and c is list:
            if len(v) > MAX_LINES:
                raise TooLarge(f"an order has at most {MAX_LINES} lines (ORDINANCE_MAX_LINES); "
                               f"this one has {len(v)}", code="TOO_MANY_LINES", path=_path(at))
        elif len(v) > MAX_ITEMS:
            raise TooLarge(f"at most {MAX_ITEMS} entries in a list or object "
                           f"(ORDINANCE_MAX_ITEMS); this one has {len(v)}",
                           code="TOO_MANY_ITEMS", path=_path(at))
        children = node.children if node is not None else None
        if c is list:
            child = children.get("*") if children else None
            for i, x in enumerate(v):
                if x.__class__ is not bool and x is not None:
                    _walk(x, (at, i), child, depth + 1)
            return
        if c is _Dup:
            raise Invalid(f"the key {v.dup!r} is given twice", code="DUPLICATE_KEY",
                          path=_path((at, v.dup)))
        for k, x in v.items():
            if not k.isascii() and _bad_text(k):
                raise Invalid("the key has a lone surrogate (\\ud800-\\udfff not in a pair)",
                              code="BAD_TEXT", path=_path((at, k.encode("utf-8",
                                                                        "backslashreplace")
                                                              .decode("ascii"))))
            if x.__class__ is not bool and x is not None:
                _walk(x, (at, k), children.get(k) if children else None, depth + 1)


def read_json(raw: bytes, fields: Fields = NO_FIELDS, code: str = "BAD_JSON") -> Any:
    """A request body: JSON (UTF-8) with every number an exact Decimal, checked as above;
    else Invalid (TooLarge for too many entries) with the JSON path of the value."""
    if len(raw) > MAX_BYTES:
        raise TooLarge(f"larger than {MAX_BYTES} bytes", code="BODY_TOO_LARGE", path="$")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the body is not UTF-8 ({exc.reason} at byte {exc.start})",
                      code=code, path="$") from None
    try:
        if text.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM", text, 0)
        body = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise Invalid(f"the body is not valid JSON: line {exc.lineno} column {exc.colno}: "
                      f"{exc.msg}", code=code, path="$") from None
    except ValueError as exc:  # NaN, Infinity
        raise Invalid(f"the body is not valid JSON: {exc}", code=code, path="$") from None
    except RecursionError:
        raise Invalid(f"the body is nested deeper than {MAX_DEPTH} levels", code=code,
                      path="$") from None
    _walk(body, None, fields, 0)
    return body


def json_object(raw: bytes, what: str, code: str = "BAD_JSON",
                shape_code: str | None = None, fields: Fields = NO_FIELDS) -> dict[str, Any]:
    """A request body that must be a JSON object, read with `read_json`; else Invalid at `$`
    (`code` when it is not JSON, `shape_code` when it is JSON but not an object)."""
    body = read_json(raw, fields, code)
    if not isinstance(body, dict):
        raise Invalid(f"{what} is a JSON object", code=shape_code or code, path="$")
    return body


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except Exception:
        raise Invalid("cursor is not one this service handed out", code="BAD_CURSOR",
                      path="cursor") from None
    if not isinstance(values, list) or len(values) != arity:
        raise Invalid("cursor is not one this service handed out", code="BAD_CURSOR",
                      path="cursor")
    return values


def rows_in_state(session: Any, model: Any, state: str, states: tuple[str, ...],
                  limit: int | None = None) -> list[Any]:
    """The rows of `model` in `state` (or every row for "all"), oldest first; `states` are the
    values a caller may ask for, so a typo is a 422 naming the parameter."""
    if state != "all" and state not in states:
        raise Invalid(f"state is {', '.join(states)} or all", code="BAD_REQUEST", path="state")
    q = select(model)
    if state != "all":
        q = q.where(model.state == state)
    q = q.order_by(model.id)
    if limit is not None:
        q = q.limit(limit)
    return list(session.scalars(q).all())
