"""The JSON Schemas the OpenAPI document gives for what the service reads itself: raw bodies
(read by `adapters/store.py`'s one JSON reader, then by the engine or an adapter) and the
text parameters the door and the adapters check. In: nothing. Out: schema fragments (dicts)
and patterns, used by the route modules' declarations and by `api/app.py`'s document.

The non-obvious choice: each schema says what the server enforces, no more and no less, so
a schema-valid request is never refused for its shape and a schema-invalid one never
accepted (schemathesis checks both ways). So an order is mostly free-form (SPEC section 6:
rules read whatever fields they name) but its numbers are bounded as the reader bounds them,
its texts as long as the columns that keep them, and the few fields the engine types are
typed. Some limits are not in the schemas because JSON Schema cannot say them: nesting depth
(the engine's 32 levels), the entries of one list or object (ORDINANCE_MAX_ITEMS) and the
lines of an order (ORDINANCE_MAX_LINES), both set when the service starts (413), and the 28
significant digits of a number written by hand with more digits than a float has.
"""
from __future__ import annotations

from typing import Any

from ordinance.adapters import store, store_keys

# --- numbers: 0, or 1e-30 <= |x| < 1e28, as adapters/store.py reads them ------------------
_SMALLEST = float(f"1e-{store.MAX_EXPONENT}")
_LARGEST = float(f"1e{store.MAX_MAGNITUDE}")
NUMBER_RANGES: list[dict[str, Any]] = [
    {"type": "number", "const": 0},
    {"type": "number", "minimum": _SMALLEST, "exclusiveMaximum": _LARGEST},
    {"type": "number", "maximum": -_SMALLEST, "exclusiveMinimum": -_LARGEST},
]
NUMBER = {"anyOf": NUMBER_RANGES}

JSON_VALUE_REF = {"$ref": "#/components/schemas/JsonValue"}
_CONTAINERS: list[dict[str, Any]] = [
    {"type": "array", "items": JSON_VALUE_REF},
    {"type": "object", "additionalProperties": JSON_VALUE_REF},
]
_SCALARS: list[dict[str, Any]] = [{"type": "null"}, {"type": "boolean"}]
# Any JSON value the reader takes: texts of any length, numbers in range, nested values.
JSON_VALUE = {"anyOf": [*_SCALARS, {"type": "string"}, *NUMBER_RANGES, *_CONTAINERS]}
COMPONENTS = {"JsonValue": {**JSON_VALUE, "description": "any JSON value; numbers are 0 or "
                            "1e-30 to under 1e28 in size"}}


def free(max_length: int) -> dict[str, Any]:
    """A free-form field kept in a column of `max_length` characters: a text up to that long,
    or any other JSON value (a number's written form is short enough for every column of 40
    characters and more)."""
    return {"anyOf": [*_SCALARS, {"type": "string", "maxLength": max_length}, *NUMBER_RANGES,
                      *_CONTAINERS]}


def short_free(max_length: int) -> dict[str, Any]:
    """As `free`, for a column under 40 characters: numbers only whole ones short enough."""
    bound = 10 ** (max_length - 1) - 1
    return {"anyOf": [*_SCALARS, {"type": "string", "maxLength": max_length},
                      {"type": "integer", "minimum": -bound, "maximum": bound},
                      *_CONTAINERS]}


def free_object(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "additionalProperties": JSON_VALUE_REF}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [{"type": "null"}, schema]}


# A decimal written as text ("12.50"): the engine's form (engine/orders.py, _DECIMAL_TEXT) in
# the range and digits the engine computes exactly: at most 12 digits before and 14 after the
# point, no exponent.
DECIMAL_TEXT = r"^[+-]?[0-9]{1,12}(\.[0-9]{1,14})?$"
# A line's quantity and unit price: under 1e12 in size, so that their product stays within
# the engine's 28 digits (api/routes_decisions.py, LINE_MAGNITUDE).
_LINE = 1e12
DECIMAL_FIELD = {"anyOf": [{"type": "null"}, {"type": "number", "const": 0},
                           {"type": "number", "minimum": _SMALLEST, "exclusiveMaximum": _LINE},
                           {"type": "number", "maximum": -_SMALLEST, "exclusiveMinimum": -_LINE},
                           {"type": "string", "pattern": DECIMAL_TEXT}]}
# An amount of money or a quantity above zero, as text or a JSON number.
POSITIVE_AMOUNT = {"anyOf": [
    {"type": "number", "minimum": _SMALLEST, "exclusiveMaximum": _LARGEST},
    {"type": "string", "pattern": r"^([1-9][0-9]{0,13}(\.[0-9]{1,14})?|0\.[0-9]{0,13}[1-9])$"},
]}


def _limit(path: str) -> int:
    node = store.DECISION_REQUEST
    for part in path.replace("[*]", ".*").split("."):
        node = node.children[part]
    assert node.limit is not None
    return node.limit


_ORDER = "order."
LINE = free_object(**{k: free(_limit(_ORDER + "lines.*." + k))
                      for k in ("sku", "category", "brand")},
                   quantity=DECIMAL_FIELD, unit_price=DECIMAL_FIELD)


def order_schema(id_required: bool) -> dict[str, Any]:
    """An order (SPEC section 6) as the engine and the order hub check it: `id` text or a
    number (the hub needs one: 1 to 200 characters, not only spaces, no NUL); `customer`,
    `ship_to`, `payment`, `attributes` objects (or null); `lines` a list of objects (never
    null); a line's quantity and unit price numbers or decimal texts."""
    text_id = {"type": "string", "maxLength": _limit(_ORDER + "id")}
    if id_required:
        text_id = {**text_id, "minLength": 1, "pattern": r"^[^\u0000]*[^\s\u0000][^\u0000]*$"}
    id_schema = {"anyOf": [text_id, *NUMBER_RANGES, *([] if id_required else [{"type": "null"}])]}
    schema = free_object(
        id=id_schema,
        customer_id=free(_limit(_ORDER + "customer_id")),
        channel=free(_limit(_ORDER + "channel")),
        seller=free(_limit(_ORDER + "seller")),
        customer=nullable(free_object(id=free(_limit(_ORDER + "customer.id")))),
        ship_to=nullable(free_object(country=short_free(_limit(_ORDER + "ship_to.country")))),
        payment=nullable(free_object()),
        attributes=nullable(free_object(channel=free(_limit(_ORDER + "attributes.channel")),
                                        seller=free(_limit(_ORDER + "attributes.seller")))),
        lines={"type": "array", "items": LINE,
               "description": "at most ORDINANCE_MAX_LINES lines (413 past it)"},
    )
    schema["description"] = "the order (SPEC section 6)"
    if id_required:
        schema["required"] = ["id"]
    return schema


# --- texts in URLs ------------------------------------------------------------------------
# api/door.py refuses a NUL anywhere in a URL (PostgreSQL text cannot hold one): api/app.py
# adds this pattern to every text parameter that has no pattern of its own.
NO_NUL = r"^[^\u0000]*$"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# RFC 3339: a date, or a date-time with seconds and a zone (Z or an offset).
_TIME = r"T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
DATE_TIME = rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}({_TIME})?$"
DATE_TIME_ONLY = rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}{_TIME}$"
CURRENCY = r"^[A-Z]{3}$"
PERIOD = r"^[0-9]{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"
RULESET_REF = r"^[^@\u0000]+@[^\u0000]+$"
BUSINESS_ROLE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


# A key name (adapters/store_keys.py, check_name): no control, format or line separator
# character, not only white space.
KEY_NAME = store_keys.NAME_PATTERN


def exactly(schema: dict[str, Any]) -> Any:
    """`json_schema_extra` for a parameter whose schema is `schema` as given (its title and
    description kept), instead of the `anyOf [..., null]` pydantic writes for an optional one:
    a URL has no null, and a date or date-time needs its `format` beside its pattern."""
    def replace(generated: dict[str, Any]) -> None:
        kept = {k: generated[k] for k in ("title", "description", "default") if k in generated}
        generated.clear()
        generated.update(schema, **kept)
    return replace


def date_param() -> Any:
    return exactly({"type": "string", "format": "date", "pattern": DATE})


def date_or_time_param() -> Any:
    return exactly({"anyOf": [{"type": "string", "format": "date", "pattern": DATE},
                              {"type": "string", "format": "date-time",
                               "pattern": DATE_TIME_ONLY}]})


NOT_BLANK = r"^[\s\S]*\S[\s\S]*$"
NOT_BLANK_NO_NUL = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


def text(max_length: int, min_length: int = 1, pattern: str = NOT_BLANK,
         **more: Any) -> dict[str, Any]:
    """A text field the server checks: `min_length` to `max_length` characters, not only
    white space (str.strip)."""
    return {"type": "string", "minLength": min_length, "maxLength": max_length,
            "pattern": pattern, **more}


def body(schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A required JSON request body (`openapi_extra={"requestBody": ...}`)."""
    return {"required": True, "content": {"application/json": {"schema": schema, **extra}}}


def obj(required: tuple[str, ...] = (), closed: bool = False,
        **properties: Any) -> dict[str, Any]:
    """An object body: the named properties, any other key with any JSON value (the readers
    ignore what they do not know), or none when `closed`."""
    out: dict[str, Any] = {"type": "object", "properties": properties,
                           "additionalProperties": False if closed else JSON_VALUE_REF}
    if required:
        out["required"] = list(required)
    return out


# Money: an amount above zero with at most 2 decimal places, as text or a JSON number.
MONEY = {"anyOf": [
    {"type": "number", "minimum": 0.01, "exclusiveMaximum": _LARGEST, "multipleOf": 0.01},
    {"type": "string", "pattern": r"^([1-9][0-9]{0,13}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$"},
]}
