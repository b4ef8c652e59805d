"""Order promising over REST (docs/promising.md, docs/rest-api.md "Supply and availability"):
import and read supply, a pair's position, an order's promise, availability without reserving.
The doors only read the request and call one use case (api/usecases/supply.py)."""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from ordinance.adapters.store import json_object
from ordinance.adapters.store_keys import KeyInfo

from . import schemas
from .auth import require
from .routes_decisions import (OrderId, decision_request, errors, json_schema_response,
                               parse_request, raw_body)
from .routes_events import _json, orchestrator
from .usecases import supply

router = APIRouter(tags=["promising"])

KIND = Literal["on_hand", "purchase_order", "in_transit", "work_order", "planned_order"]
_DAY = {"type": "string", "format": "date", "pattern": schemas.DATE}
_REF = schemas.text(200, pattern=schemas.NOT_BLANK_NO_NUL)
_ROW = {**schemas.obj(
    ("location", "sku", "kind", "quantity"), closed=True,
    location=schemas.text(100, pattern=schemas.NOT_BLANK_NO_NUL),
    sku=schemas.text(200, pattern=schemas.NOT_BLANK_NO_NUL),
    kind={"type": "string", "enum": list(KIND.__args__)},
    date={"anyOf": [{"type": "null"}, _DAY]},
    quantity={"anyOf": [{"type": "string", "pattern": r"^[0-9]{1,18}(\.[0-9]{1,6})?$"},
                        {"type": "integer", "minimum": 0, "maximum": 10 ** 18 - 1}]},
    ref={"anyOf": [{"type": "null"}, _REF]}),
    # supply to come needs its date and its reference (the purchase order, transfer, ...)
    "if": {"properties": {"kind": {"const": "on_hand"}}},
    "else": {"required": ["date", "ref"], "properties": {"date": _DAY, "ref": _REF}}}
_IMPORT = schemas.body(schemas.obj(("supply",), closed=True, supply={
    "type": "array", "items": _ROW, "maxItems": 10_000}))


def _text() -> Any:
    return Path(min_length=1, max_length=200, pattern=schemas.NOT_BLANK_NO_NUL)


@router.post("/v1/supply", summary="Import supply: set on hand, add or replace supply to come",
             openapi_extra={"requestBody": _IMPORT},
             responses={200: json_schema_response("imported", {
                 "type": "object", "required": ["imported"]}), **errors(409, 422, body=True)})
def import_supply(request: Request, raw: bytes = Depends(raw_body),
                  key: KeyInfo = Depends(require("admin"))) -> Response:
    ctx = request.app.state.ctx
    body = json_object(raw, "a supply import", "BAD_SUPPLY")
    return _json(supply.import_json(ctx.db, ctx.rulesets, body, key.name,
                                    orchestrator(request).clock.now()))


@router.get("/v1/supply", summary="Supply to come, filtered, in pages",
            responses={200: json_schema_response("supply events", {
                "type": "object", "required": ["items", "next"]}), **errors(422)})
def list_supply(request: Request,
                location: str | None = Query(None, min_length=1, max_length=100),
                sku: str | None = Query(None, min_length=1, max_length=200),
                kind: KIND | None = None, limit: int = Query(100, ge=1, le=1000),
                after: int = Query(0, ge=0, le=2 ** 62, description="the `next` of a page"),
                key: KeyInfo = Depends(require("analyst"))) -> Response:
    ctx = request.app.state.ctx
    return _json(supply.listing(ctx.db, ctx.rulesets, location, sku, kind, limit, after,
                                orchestrator(request).clock.now()))


@router.get("/v1/supply/{location}/{sku}",
            summary="A location's on hand, reservations and supply to come of a SKU",
            responses={200: json_schema_response("the position", {
                "type": "object", "required": ["on_hand", "reserved", "available"]}),
                **errors(404, 422)})
def position(request: Request, location: str = _text(), sku: str = _text(),
             key: KeyInfo = Depends(require("analyst"))) -> Response:
    ctx = request.app.state.ctx
    return _json(supply.position(ctx.db, ctx.rulesets, location, sku))


@router.get("/v1/orders/{order_id}/promise",
            summary="The promise an order was given from stored supply (per line)",
            responses={200: json_schema_response("the promise", {
                "type": "object", "required": ["lines"]}), **errors(404)})
def order_promise(request: Request, order_id: OrderId,
                  key: KeyInfo = Depends(require("evaluator"))) -> Response:
    return _json(supply.order_promise(request.app.state.ctx.db, order_id))


@router.post("/v1/availability",
             summary="Check availability: the promise an order would get now, with ranked "
                     "alternatives; nothing is reserved",
             openapi_extra={"requestBody": decision_request(False)},
             responses={200: json_schema_response("per line a promise and alternatives", {
                 "type": "object", "required": ["lines"]}), **errors(404, 409, 422, body=True)})
async def availability(request: Request, raw: bytes = Depends(raw_body),
                       key: KeyInfo = Depends(require("evaluator"))) -> Response:
    ctx = request.app.state.ctx
    out: Any = await ctx.evaluators.run(_availability, ctx, raw)
    return _json(out)


def _availability(ctx: Any, raw: bytes) -> dict[str, Any]:
    p = parse_request(raw)
    return supply.availability(ctx.db, ctx.rulesets, p.order, p.as_of, p.ruleset,
                               ctx.clock.now().date())
