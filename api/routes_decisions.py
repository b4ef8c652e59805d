"""POST /v1/decisions, /v1/validate, /v1/price; GET /v1/decisions[/{id}] (the decision log).

The door of the decide use case (api/usecases/decide.py): the body is read here, from the raw
bytes, with every JSON number an exact Decimal, and the order checked with the engine's
`validate_order`; a mistake is a 422 naming the JSON path of the request body
(`$.order.lines[2].quantity`). The use case runs that reading on its evaluator thread, then
resolves the rule set, evaluates and logs; this module renders its answer.
"""
from __future__ import annotations

import re
from datetime import date
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from ordinance import engine
from ordinance.engine import codec
from ordinance.adapters import decision_index, store, store_decisions
from ordinance.adapters.store import Invalid
from ordinance.adapters.store_keys import KeyInfo

from . import schemas
from .auth import SECURITY, check_key, require
from .usecases import decide as decide_usecase
from .usecases.decide import DecisionRequest

router = APIRouter(tags=["decisions"])

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "path": {"type": "string"}, "details": {}},
    }},
}


def errors(*statuses: int, body: bool = False) -> dict[int | str, dict[str, Any]]:
    """The error answers of a route: 401, 403, 422 (a NUL in the URL, a bad parameter) and
    503 always; with `body`, 413 and 415 (api/door.py)."""
    text = {401: "missing, unknown or revoked key", 403: "the key's role is too weak",
            404: "not found", 409: "conflict",
            413: "the body, a list in it or the order's lines over a limit (docs/operations.md)",
            415: "a body that is not sent as Content-Type: application/json",
            422: "bad input, with the JSON path of the mistake",
            503: "the database is unavailable, or the evaluation took too long "
                 "(EVALUATION_TIMEOUT); nothing was stored"}
    extra = (413, 415) if body else ()
    return {s: {"description": text.get(s, "error"),
                "content": {"application/json": {"schema": ERROR_SCHEMA}}}
            for s in sorted({401, 403, 422, 503, *statuses, *extra})}


# An order id in a URL: as long as the column that keeps it (adapters/models.py).
OrderId = Annotated[str, Path(min_length=1, max_length=200, description="the order's id")]


def json_schema_response(description: str, schema: dict | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {
        "schema": schema or {"type": "object"}}}}


def decision_request(id_required: bool = False) -> dict[str, Any]:
    """The body of a decision, a capture or a change: `{"order", "as_of"?, "ruleset"?}`."""
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object",
        "required": ["order"],
        "additionalProperties": False,
        "properties": {
            "order": schemas.order_schema(id_required),
            "as_of": {"anyOf": [{"type": "null"}, {"type": "string", "format": "date",
                                                    "pattern": schemas.DATE}]},
            "ruleset": {"anyOf": [{"type": "null"}, {
                "type": "string", "maxLength": 300, "pattern": schemas.RULESET_REF,
                "description": "NAME@DIGEST or NAME@VERSION; default: the active one"}]},
        },
    }, "example": {"order": {"id": "SO-1", "lines": [{"id": "1", "sku": "A-1",
                                                        "quantity": 2}]}}}}}


DECISION_REQUEST = decision_request()

DECISION_SCHEMA = {
    "type": "object",
    "required": ["decision_id", "status"],
    "properties": {
        "decision_id": {"type": "string"},
        "order_id": {},
        "status": {"type": "string",
                   "enum": ["accepted", "rejected", "on_hold", "pending_approval"]},
        "as_of": {"type": "string"},
        "ruleset": {"type": "object"},
    },
}


class BodyTooLarge(store.TooLarge):
    code = "BODY_TOO_LARGE"


async def raw_body(request: Request) -> bytes:
    limit = request.app.state.ctx.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


ParsedRequest = DecisionRequest  # the name routes_orders.py imports

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_request(raw: bytes) -> DecisionRequest:
    """`{"order": {...}, "as_of": "YYYY-MM-DD"?, "ruleset": "NAME@REF"?}` -> DecisionRequest."""
    if not raw.strip():
        raise Invalid("the body is empty; send {\"order\": {...}}", code="BAD_JSON", path="$")
    try:
        body = codec.read(raw, store.DECISION_REQUEST, max_items=store.MAX_ITEMS,
                          max_lines=store.MAX_LINES, max_bytes=store.MAX_BYTES)
    except codec.Refused as exc:
        raise store.refused(exc) from None
    if not isinstance(body, dict):
        raise Invalid("the body ({\"order\": {...}}) is a JSON object", code="BAD_REQUEST",
                      path="$")
    text = raw.decode("utf-8")
    for k in body:
        if k not in ("order", "as_of", "ruleset"):
            raise Invalid(f"unknown field {k!r} (expected order, as_of, ruleset)",
                          code="BAD_REQUEST", path=f"$.{k}")
    if "order" not in body:
        raise Invalid("the body has no order", code="BAD_REQUEST", path="$.order")
    if isinstance(body["order"], dict) and "lines" in body["order"] \
            and body["order"]["lines"] is None:  # an order has lines: a list, maybe empty
        raise Invalid("lines is a list of objects, not null", code="BAD_ORDER",
                      path="$.order.lines")
    try:  # the service's limits (ORDINANCE_MAX_LINES/ITEMS), the reader's too
        order = engine.validate_order(body["order"], max_lines=store.MAX_LINES,
                                      max_items=store.MAX_ITEMS)
    except engine.BadOrder as exc:
        path = str(getattr(exc, "path", "$") or "$")
        path = "$.order" + path[1:] if path.startswith("$") else "$.order." + path
        error = store.TooLarge if isinstance(exc, engine.orders.OrderTooLarge) else Invalid
        raise error(str(getattr(exc, "message", exc)), code="BAD_ORDER", path=path) from None
    _line_amounts(order)
    as_of = body.get("as_of")
    if as_of is not None:
        if not isinstance(as_of, str) or not _DATE.fullmatch(as_of):
            raise Invalid("as_of must be a date YYYY-MM-DD", code="BAD_REQUEST", path="$.as_of")
        try:
            as_of = date.fromisoformat(as_of)
        except ValueError:
            raise Invalid(f"as_of must be a date YYYY-MM-DD, not {body['as_of']!r}",
                          code="BAD_REQUEST", path="$.as_of") from None
        if len(body["as_of"]) != 10:
            raise Invalid("as_of must be a date YYYY-MM-DD", code="BAD_REQUEST",
                          path="$.as_of")
    ruleset = body.get("ruleset")
    if ruleset is not None and (not isinstance(ruleset, str) or len(ruleset) > 300
                                or "\x00" in ruleset):
        raise Invalid("ruleset must be a text NAME@DIGEST or NAME@VERSION", code="BAD_REQUEST",
                      path="$.ruleset")
    return DecisionRequest(order, as_of, ruleset, text)


# A line's quantity and unit price are under 1e12 in size, so their product (the extended
# amount, to 4 decimal places) stays within the 28 digits the engine computes exactly: past
# them pricing cannot start, and no rule could say why. (Totals of very many such lines can
# still pass them: that order is a 422 BAD_ORDER at $.order, adapters/store_decisions.py.)
LINE_MAGNITUDE = 12


def _line_amounts(order: dict[str, Any]) -> None:
    for i, line in enumerate(order.get("lines") or []):
        for key in ("quantity", "unit_price"):
            v = line.get(key)
            if v is not None and v and v.adjusted() >= LINE_MAGNITUDE:
                raise Invalid(f"{key} is under 1e{LINE_MAGNITUDE} in size (quantity x unit "
                              "price must stay within the 28 digits computed exactly)",
                              code="BAD_ORDER", path=f"$.order.lines[{i}].{key}")


def json_text(text: str, status: int = 200) -> Response:
    return Response(content=text, media_type="application/json", status_code=status)


async def _decide(request: Request, raw: bytes, key: KeyInfo, kind: str) -> Response:
    ev = await decide_usecase.decide(request.app.state.ctx, partial(parse_request, raw), kind,
                                     key.name)
    return json_text(ev.text)


DECIDE_DOC = dict(openapi_extra={"requestBody": DECISION_REQUEST, **SECURITY},
                  responses={200: json_schema_response("the decision (SPEC section 6) with "
                                                       "its decision_id", DECISION_SCHEMA),
                             **errors(404, 409, body=True)})


@router.post("/v1/decisions", summary="Decide an order (every phase)", **DECIDE_DOC)
async def decide(request: Request) -> Response:
    key = await check_key(request, "evaluator")
    return await _decide(request, await raw_body(request), key, "decide")


@router.post("/v1/validate", summary="Defaulting, validation and compliance only", **DECIDE_DOC)
async def validate(request: Request) -> Response:
    key = await check_key(request, "evaluator")
    return await _decide(request, await raw_body(request), key, "validate")


@router.post("/v1/price", summary="Defaulting and pricing only", **DECIDE_DOC)
async def price(request: Request) -> Response:
    key = await check_key(request, "evaluator")
    return await _decide(request, await raw_body(request), key, "price")


Status = Literal["accepted", "rejected", "on_hold", "pending_approval"]

LOG_PAGE = {
    "type": "object", "required": ["items", "next_cursor"],
    "properties": {"items": {"type": "array", "items": {"type": "object", "required": [
        "decision_id", "created_at", "status", "digest"]}},
        "next_cursor": {"type": ["string", "null"]}},
}


@router.get("/v1/decisions", summary="Query the decision log (newest first)",
            responses={200: json_schema_response("a page of the log", LOG_PAGE),
                       **errors(422)})
def list_decisions(
    request: Request,
    from_: str | None = Query(None, alias="from", pattern=schemas.DATE_TIME,
                              json_schema_extra=schemas.date_or_time_param(),
                              description="date or date-time (RFC 3339), inclusive"),
    to: str | None = Query(None, pattern=schemas.DATE_TIME,
                           json_schema_extra=schemas.date_or_time_param(),
                           description="date (whole day) or date-time (RFC 3339), inclusive"),
    status: Status | None = Query(None),
    rule: str | None = Query(None, max_length=200, pattern=r"^\S+$",
                             description="a pack/rule id that fired (through the log's rule "
                                         "index, adapters/decision_index.py)"),
    digest: str | None = Query(None, max_length=200),
    order_id: str | None = Query(None, max_length=200),
    cursor: str | None = Query(None, pattern=r"^[1-9][0-9]{0,17}$",
                               description="the next_cursor of the previous page"),
    limit: int = Query(50, ge=1, le=1000),
    key: KeyInfo = Depends(require("analyst")),
) -> dict:
    return decision_index.search(
        request.app.state.ctx.db, start=from_, end=to,
        status=status, rule=rule, digest=digest, order_id=order_id, cursor=cursor, limit=limit)


@router.get("/v1/decisions/{decision_id}", summary="One logged decision: request, decision, "
            "digest, time taken",
            responses={200: json_schema_response("the logged record", {
                "type": "object", "required": ["decision_id", "request", "decision",
                                               "digest", "elapsed_ms"]}), **errors(404)})
def get_decision(request: Request, decision_id: str,
                 key: KeyInfo = Depends(require("analyst"))) -> Response:
    return json_text(store_decisions.get(request.app.state.ctx.db, decision_id))
