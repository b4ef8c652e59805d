"""The order hub: capture (POST), change (PUT), read, search, versions, audit trail.

An order's ETag is its version (`"3"`); a change sent with `If-Match: "3"` applies only over
version 3, else 409 CONCURRENT_CHANGE (the documented answer to a change that lost a race; a
stale If-Match is that case, so it is not 412). Without If-Match a change applies over the
version it read, never over one another change already replaced. Reads are audited by
api/audit.py."""
from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from ordinance.adapters.store import Invalid, decode_cursor, encode_cursor
from ordinance.adapters.store_keys import KeyInfo

from .auth import require
from .usecases import orders
from .routes_events import orchestrator
from . import schemas
from .routes_decisions import (DECISION_REQUEST, OrderId, Status, decision_request, errors,
                               json_schema_response, json_text, parse_request, raw_body)

router = APIRouter(tags=["orders"])

ORDER_VIEW = {"type": "object",
              "required": ["order_id", "version", "status", "decision_id", "decision",
                           "approvals"],
              "properties": {"order_id": {"type": "string"}, "version": {"type": "integer"},
                             "status": {"type": "string"}, "approvals": {"type": "array"}}}
ETAG = {"ETag": {"description": "the order's version, quoted: send it back in If-Match",
                 "schema": {"type": "string"}}}


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


# `*`, or one or more ETags ("3") separated by commas; the header's schema says the same
IF_MATCH = r'^[ \t]*(\*|"[0-9]{1,10}"([ \t]*,[ \t]*"[0-9]{1,10}")*)[ \t]*$'
_IF_MATCH = re.compile(IF_MATCH)


def if_match_versions(value: str | None) -> tuple[int, ...] | None:
    """The versions an If-Match header names (`"3"`, `"3", "4"`); None for none or `*`."""
    if value is None:
        return None
    if "\n" in value or not _IF_MATCH.match(value):
        raise Invalid(f'If-Match holds an order\'s ETag ("3", from GET) or *, not {value!r}',
                      code="BAD_REQUEST", path="If-Match")
    if value.strip(" \t") == "*":
        return None
    return tuple(int(tag.strip(' \t"')) for tag in value.split(","))


@router.post("/v1/orders", summary="Capture an order: decided and stored (idempotent on the id)",
             status_code=201, openapi_extra={"requestBody": decision_request(True)},
             responses={201: json_schema_response("captured", ORDER_VIEW),
                        200: json_schema_response("already captured with this content",
                                                  ORDER_VIEW),
                        **errors(404, 409, body=True)})
async def capture(request: Request, key: KeyInfo = Depends(require("evaluator")),
                  raw: bytes = Depends(raw_body)) -> Response:
    ctx = request.app.state.ctx
    created, text = await ctx.evaluators.run(_capture, ctx, raw, key)
    return json_text(text, 201 if created else 200)


def _capture(ctx: Any, raw: bytes, key: KeyInfo) -> tuple[bool, str]:
    """Reading, deciding and storing, by the evaluators (off the event loop, with a deadline
    past which nothing is stored)."""
    p = parse_request(raw)
    return orders.capture_order(ctx.hub, ctx.rulesets, p.order, p.as_of, p.ruleset,
                                p.order_text, p.request_text, key, ctx.clock,
                                live=getattr(ctx, "rollout_live", None))


@router.put("/v1/orders/{order_id}", summary="A change order: decided again, a new version",
            openapi_extra={"requestBody": DECISION_REQUEST},
            responses={200: {**json_schema_response("the order after the change", ORDER_VIEW),
                             "headers": ETAG},
                       **errors(404, 409, 413, 422)},
            description="Decided again and stored as the next version; orchestration follows "
                        "in the same transaction. 409 CONCURRENT_CHANGE: another change won; "
                        "409 ORDER_CLOSED: the order is cancelled or closed; 409 "
                        "BELOW_SHIPPED: a line would be cut below what already shipped. "
                        "Evaluated with the ORDINANCE_EVAL_TIMEOUT deadline (503 "
                        "EVALUATION_TIMEOUT, nothing stored).")
async def change(request: Request, order_id: OrderId, raw: bytes = Depends(raw_body),
                 key: KeyInfo = Depends(require("evaluator")),
                 if_match: str | None = Header(None, alias="If-Match", description=(
                     "the ETag of the version this change is over; another version is a 409"),
                     json_schema_extra=schemas.exactly({"type": "string",
                                                        "pattern": IF_MATCH}))
                 ) -> Response:
    ctx = request.app.state.ctx
    expected = if_match_versions(if_match)
    version, text = await ctx.evaluators.run(_change, ctx, orchestrator(request), order_id,
                                             raw, key, expected)
    response = json_text(text)
    response.headers.update(etag(version))
    return response


def _change(ctx: Any, orch: Any, order_id: str, raw: bytes, key: KeyInfo,
            expected: tuple[int, ...] | None) -> tuple[int, str]:
    """Reading, deciding again and storing the new version with its orchestration (one
    transaction: the use case), by the evaluators as `_capture`: off the event loop, with a
    deadline past which nothing is stored."""
    p = parse_request(raw)
    if p.order.get("id") is None:
        p.order["id"] = order_id
    return orders.change_order(ctx.hub, orch, ctx.rulesets.resolve(p.ruleset), order_id,
                               p.order, p.as_of, p.ruleset, p.order_text, p.request_text, key,
                               ctx.clock, expected, live=getattr(ctx, "rollout_live", None))


@router.get("/v1/orders", summary="Search orders (cursor paging, by id)",
            responses={200: json_schema_response("a page of orders", {
                "type": "object", "required": ["items", "next_cursor"]}), **errors(422)})
def search(request: Request,
           status: Status | None = None,
           customer: str | None = None, channel: str | None = None,
           sku: str | None = Query(None, description="orders with a line of this product"),
           from_: str | None = Query(None, alias="from", pattern=schemas.DATE,
                                     json_schema_extra=schemas.date_param(),
                                     description="order date, inclusive"),
           to: str | None = Query(None, pattern=schemas.DATE,
                                  json_schema_extra=schemas.date_param(),
                                  description="order date, inclusive"),
           cursor: str | None = Query(None, min_length=1, max_length=200, description=(
               "the next_cursor of the previous page: the last order id it holds")),
           limit: int = Query(50, ge=1, le=1000),
           key: KeyInfo = Depends(require("analyst"))) -> dict:
    page = request.app.state.ctx.hub.search(
        status=status, customer=customer, channel=channel, sku=sku, start=from_, end=to,
        cursor=None if cursor is None else encode_cursor([cursor]), limit=limit)
    if page.get("next_cursor") is not None:  # the hub's cursor, as the order id it holds
        page["next_cursor"] = decode_cursor(page["next_cursor"], 1)[0]
    return page


@router.get("/v1/orders/{order_id}", summary="One order: its current version and decision",
            responses={200: {**json_schema_response("the order", ORDER_VIEW), "headers": ETAG},
                       **errors(404)})
def get_order(request: Request, order_id: OrderId,
              key: KeyInfo = Depends(require("evaluator"))) -> Response:
    version, text = request.app.state.ctx.hub.get(order_id)
    response = json_text(text)
    response.headers.update(etag(version))
    return response


@router.get("/v1/orders/{order_id}/versions", summary="Every version of an order",
            responses={200: json_schema_response("versions", {
                "type": "object", "required": ["order_id", "versions"]}), **errors(404)})
def versions(request: Request, order_id: OrderId,
             key: KeyInfo = Depends(require("analyst"))) -> Response:
    return json_text(request.app.state.ctx.hub.versions(order_id))


@router.get("/v1/orders/{order_id}/audit",
            summary="The order's audit trail: who captured, changed, approved and read it",
            responses={200: json_schema_response("entries, oldest first", {
                "type": "object", "required": ["order_id", "entries"]}), **errors(404)})
def audit(request: Request, order_id: OrderId, key: KeyInfo = Depends(require("analyst"))) -> dict:
    return request.app.state.ctx.hub.audit(order_id)
