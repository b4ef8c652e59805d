"""What every storage module shares: the errors the API maps to statuses, clocks, the
service's limits on request bodies (read by engine/codec.py), cursors.

The errors name what went wrong in the words of the service; the API turns them into
HTTP statuses (NotFound 404, Conflict 409, Invalid 422, Forbidden 403, Unavailable 503).
"""
from __future__ import annotations

import base64
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ordinance.engine import codec


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
    """JSON with every number as an exact Decimal (never a float): the codec's `loads`. For
    what this service wrote itself; a request body is read with `json_object`."""
    return codec.loads(text)


# --- request bodies ----------------------------------------------------------------------
#
# Every JSON body the REST service takes is read by the codec's checked reader
# (engine/codec.py `read`: exact numbers, duplicate keys, lone surrogates, ranges, entries,
# depth, text lengths, each refused with its JSON path). What is the service's own: its limits
# (`configure`), the column sizes a body's texts go into (the `Fields` below, from
# adapters/models*.py), and the errors they become.

MAX_EXPONENT = codec.MAX_EXPONENT
MAX_MAGNITUDE = codec.MAX_MAGNITUDE
MAX_DEPTH = codec.MAX_DEPTH
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


Fields = codec.Fields
NO_FIELDS = codec.NO_FIELDS

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


def refused(exc: codec.Refused) -> ServiceError:
    """The codec's refusal as the service's error: TooLarge (413) or Invalid (422)."""
    return (TooLarge if exc.too_large else Invalid)(exc.message, code=exc.code, path=exc.path)


def read_json(raw: bytes, fields: Fields = NO_FIELDS, code: str = "BAD_JSON") -> Any:
    """A request body read by the codec (engine/codec.py `read`) with the service's limits;
    else Invalid (TooLarge over a limit) with the JSON path of the value."""
    try:
        return codec.read(raw, fields, max_items=MAX_ITEMS, max_lines=MAX_LINES,
                          max_bytes=MAX_BYTES, code=code)
    except codec.Refused as exc:
        raise refused(exc) from None


def json_object(raw: bytes, what: str, code: str = "BAD_JSON",
                shape_code: str | None = None, fields: Fields = NO_FIELDS) -> dict[str, Any]:
    """A request body that must be a JSON object, read with `read_json`; else Invalid at `$`
    (`code` when it is not JSON, `shape_code` when it is JSON but not an object)."""
    body = read_json(raw, fields, code)
    if not isinstance(body, dict):
        raise Invalid(f"{what} is a JSON object", code=shape_code or code, path="$")
    return body


def encode_cursor(values: list[Any]) -> str:
    raw = codec.dumps(values).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The values of a cursor from `encode_cursor` (a number written without point or exponent
    read back as an int, as `json` reads it)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = codec.loads(base64.urlsafe_b64decode(padded.encode()))
    except Exception:
        raise Invalid("cursor is not one this service handed out", code="BAD_CURSOR",
                      path="cursor") from None
    if not isinstance(values, list) or len(values) != arity:
        raise Invalid("cursor is not one this service handed out", code="BAD_CURSOR",
                      path="cursor")
    return [int(v) if v.__class__ is Decimal and v.as_tuple().exponent == 0 else v
            for v in values]


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
