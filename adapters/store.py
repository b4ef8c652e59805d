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
    """JSON with every number as an exact Decimal (never a float)."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def json_object(raw: bytes, what: str, code: str = "BAD_JSON",
                shape_code: str | None = None) -> dict[str, Any]:
    """A request body that must be a JSON object, read with the engine's reader (numbers as
    exact Decimals, NaN and Infinity refused, UTF-8); else Invalid at `$` (`code` when it is
    not JSON, `shape_code` when it is JSON but not an object)."""
    from ordinance.engine import BadOrder, parse_json

    try:
        body = parse_json(raw)
    except BadOrder as exc:
        raise Invalid(f"the body is not valid JSON: {exc.message}", code=code,
                      path="$") from None
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
