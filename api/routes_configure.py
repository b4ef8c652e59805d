"""POST /v1/configure: one stateless step of configuring a product (docs/configurator.md).

The door of the configure use case (api/usecases/configure.py): the body is read here with
every number an exact Decimal; a mistake is a 422 naming the JSON path of the body.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ordinance.adapters import store
from ordinance.adapters.store import Invalid
from ordinance.engine import codec

from . import schemas
from .auth import SECURITY, check_key
from .routes_decisions import errors, json_schema_response, json_text, raw_body
from .usecases import configure as configure_usecase
from .usecases.configure import ConfigureRequest

router = APIRouter(tags=["configure"])

_ID = "^[a-z][a-z0-9_]*$"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_LIST = 1000
FIELDS = codec.Fields({"$.ruleset": 300, "$.model": 200})

REQUEST = {"required": True, "content": {"application/json": {"schema": {
    "type": "object",
    "required": ["model"],
    "additionalProperties": False,
    "properties": {
        "model": {"type": "string", "pattern": _ID, "maxLength": 200},
        "selection": {"type": "object", "description": "group -> option id (one-of), list of "
                      "option ids or {option: quantity} (many-of); feature -> value"},
        "as_of": {"anyOf": [{"type": "null"}, {"type": "string", "format": "date",
                                                "pattern": schemas.DATE}]},
        "ruleset": {"anyOf": [{"type": "null"}, {
            "type": "string", "maxLength": 300, "pattern": schemas.RULESET_REF}]},
        "complete": {"anyOf": [{"type": "null"}, {"enum": ["defaults", "cheapest"]}]},
        "count": {"type": "boolean"},
        "list": {"type": "integer", "minimum": 0, "maximum": MAX_LIST},
    },
}, "example": {"model": "laptop", "selection": {"cpu": "i7"}, "complete": "cheapest"}}}}

ANSWER = {"type": "object", "required": ["model", "valid", "violations", "groups", "features"],
          "properties": {"model": {"type": "string"}, "valid": {"type": "boolean"},
                         "complete": {"type": "boolean"},
                         "violations": {"type": "array", "items": {"type": "object"}},
                         "groups": {"type": "array", "items": {"type": "object"}},
                         "features": {"type": "array", "items": {"type": "object"}},
                         "price": {"type": "object"}, "bom": {"type": "array"},
                         "completion": {"type": ["object", "null"]},
                         "configurations": {"type": "object"}}}

_KEYS = ("model", "selection", "as_of", "ruleset", "complete", "count", "list")


def parse_request(raw: bytes) -> ConfigureRequest:
    if not raw.strip():
        raise Invalid("the body is empty; send {\"model\": ..., \"selection\": {...}}",
                      code="BAD_JSON", path="$")
    try:
        body = codec.read(raw, FIELDS, max_items=store.MAX_ITEMS, max_lines=store.MAX_LINES,
                          max_bytes=store.MAX_BYTES)
    except codec.Refused as exc:
        raise store.refused(exc) from None
    if not isinstance(body, dict):
        raise Invalid("the body is a JSON object", code="BAD_REQUEST", path="$")
    for k in body:
        if k not in _KEYS:
            raise Invalid(f"unknown field {k!r} (expected {', '.join(_KEYS)})",
                          code="BAD_REQUEST", path=f"$.{k}")
    model = body.get("model")
    if not isinstance(model, str) or not re.fullmatch(_ID, model):
        raise Invalid("model is the id of a model of the rule set", code="BAD_REQUEST",
                      path="$.model")
    selection = body.get("selection")
    if selection is None:
        selection = {}
    if not isinstance(selection, dict):
        raise Invalid("selection is an object: group or feature -> choice",
                      code="BAD_SELECTION", path="$.selection")
    as_of = body.get("as_of")
    if as_of is not None:
        try:
            if not isinstance(as_of, str) or not _DATE.fullmatch(as_of):
                raise ValueError
            as_of = date.fromisoformat(as_of)
        except ValueError:
            raise Invalid("as_of must be a date YYYY-MM-DD", code="BAD_REQUEST",
                          path="$.as_of") from None
    ruleset = body.get("ruleset")
    if ruleset is not None and (not isinstance(ruleset, str) or "\x00" in ruleset):
        raise Invalid("ruleset must be a text NAME@DIGEST or NAME@VERSION", code="BAD_REQUEST",
                      path="$.ruleset")
    complete = body.get("complete")
    if complete not in (None, "defaults", "cheapest"):
        raise Invalid("complete is defaults or cheapest", code="BAD_REQUEST", path="$.complete")
    count = body.get("count", False)
    if not isinstance(count, bool):
        raise Invalid("count is true or false", code="BAD_REQUEST", path="$.count")
    limit = body.get("list", 0)
    if isinstance(limit, bool) or not isinstance(limit, (int, Decimal)) \
            or limit != int(limit) or not 0 <= limit <= MAX_LIST:
        raise Invalid(f"list is a whole number from 0 to {MAX_LIST}", code="BAD_REQUEST",
                      path="$.list")
    return ConfigureRequest(model, selection, as_of, ruleset, complete, count, int(limit))


@router.post("/v1/configure", summary="One step of configuring a product: validity, the "
             "values still possible and why others are not, completion, count, price",
             openapi_extra={"requestBody": REQUEST, **SECURITY},
             responses={200: json_schema_response("the configure answer", ANSWER),
                        **errors(404, 409, body=True)})
async def configure(request: Request) -> Response:
    await check_key(request, "evaluator")
    raw = await raw_body(request)
    out: Any = await configure_usecase.configure(request.app.state.ctx,
                                                 partial(parse_request, raw))
    return json_text(codec.dumps(out))
