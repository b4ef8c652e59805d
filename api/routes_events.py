"""Orchestration doors: events from fulfilment and payment systems, the order's timeline,
hold releases by a person, and the timer tick. Each route translates and calls one use case
(api/usecases/events.py).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from ordinance.adapters.orchestration import Orchestrator
from ordinance.adapters import store
from ordinance.engine import codec
from ordinance.adapters.store import Invalid, json_object
from ordinance.adapters.store_keys import KeyInfo

from . import schemas
from .auth import require
from .routes_decisions import OrderId, errors, json_schema_response, raw_body
from .usecases import events

router = APIRouter(tags=["orchestration"])
_LOCK = threading.RLock()  # a singleton's maker may ask for another one

_NUMBER_TEXT = {"anyOf": [{"type": "null"}, *schemas.NUMBER_RANGES,
                          {"type": "string", "pattern": schemas.DECIMAL_TEXT}]}
_EVENT_LINES = {"type": "array", "minItems": 1, "items": schemas.obj(
    ("line_id", "quantity"),
    line_id={"anyOf": [{"type": "string", "minLength": 1}, *schemas.NUMBER_RANGES]},
    quantity=schemas.POSITIVE_AMOUNT)}
# adapters/eventstore.py, parse_event
EVENT = {
    **schemas.obj(
        ("id", "type"),
        id={"anyOf": [schemas.text(200, pattern=schemas.NOT_BLANK_NO_NUL),
                      *schemas.NUMBER_RANGES], "description": "idempotency key (per order)"},
        type={"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,99}$",
              "example": "shipment_confirmed"},
        at={"anyOf": [{"type": "null"}, {"type": "string", "format": "date-time",
                                          "pattern": schemas.DATE_TIME_ONLY}],
            "description": "when it happened; the service clock when absent"},
        step=schemas.free(200), amount=_NUMBER_TEXT, quantity=_NUMBER_TEXT,
        on_hand=_NUMBER_TEXT),
    "allOf": [
        {"if": {"required": ["type"], "properties": {
            "type": {"enum": ["shipment_confirmed", "return_received"]}}},
         "then": {"required": ["lines"], "properties": {"lines": _EVENT_LINES}}},
        {"if": {"required": ["type"], "properties": {
            "type": {"enum": ["step_started", "step_completed"]}}},
         "then": {"required": ["step"], "properties": {"step": {"type": "string",
                                                                "maxLength": 200}}}},
    ],
}
EVENT_BODY = schemas.body(EVENT)
EVENT_ANSWER = {"type": "object", "required": ["order_id", "event_id", "state", "effects"]}


def app_singleton(request: Request, name: str, make: Callable[[Any], Any]) -> Any:
    """`app.state.NAME`, made by `make(app)` on first use (once, whatever the threads)."""
    app = request.app
    value = getattr(app.state, name, None)
    if value is None:
        with _LOCK:
            value = getattr(app.state, name, None)
            if value is None:
                value = make(app)
                setattr(app.state, name, value)
    return value


def orchestrator(request: Request) -> Orchestrator:
    """One per app, built on first use (on the context's clock: ORDINANCE_CLOCK)."""
    return app_singleton(request, "orchestration", lambda app: Orchestrator(
        app.state.ctx.db, app.state.ctx.rulesets, app.state.ctx.clock))


def _json(value: Any, status: int = 200) -> Response:
    return Response(codec.dumps(value),
                    status_code=status, media_type="application/json")


@router.post("/v1/orders/{order_id}/events",
             summary="Report an event (idempotent on the event id): lifecycle, rules, timers",
             openapi_extra={"requestBody": EVENT_BODY},
             responses={200: json_schema_response("applied, or a repeat of an applied event",
                                                  EVENT_ANSWER), **errors(404, 409, body=True)})
def post_event(request: Request, order_id: OrderId,
               key: KeyInfo = Depends(require("evaluator")),
               raw: bytes = Depends(raw_body)) -> Response:
    body = json_object(raw, "an event", "BAD_EVENT", fields=store.EVENT)
    return _json(events.post_event(orchestrator(request), order_id, body, key.name))


@router.get("/v1/orders/{order_id}/timeline",
            summary="The order's lifecycle state, holds, process plan and timeline",
            responses={200: json_schema_response("the timeline, oldest first", {
                "type": "object", "required": ["order_id", "state", "entries"]}),
                **errors(404)})
def timeline(request: Request, order_id: OrderId,
             key: KeyInfo = Depends(require("evaluator"))) -> Response:
    return _json(events.timeline(orchestrator(request), order_id))


RELEASE_BODY = schemas.body(schemas.obj(
    ("reason",), reason={"type": "string", "pattern": schemas.NOT_BLANK},
    code={"anyOf": [{"type": "null"}, {"type": "string", "maxLength": 200}],
          "description": "the hold to release; all holds when absent"}))


@router.post("/v1/orders/{order_id}/holds/release",
             summary="A person releases the order's hold (all holds, or the one with `code`)",
             openapi_extra={"requestBody": RELEASE_BODY},
             responses={200: json_schema_response("the order after the release"),
                        **errors(404, 409, body=True)})
def release_hold(request: Request, order_id: OrderId,
                 key: KeyInfo = Depends(require("approver")),
                 raw: bytes = Depends(raw_body)) -> Response:
    body = json_object(raw, "the body ({\"reason\": TEXT, \"code\": HOLD_CODE (optional)})",
                       "BAD_REQUEST", fields=store.HOLD_RELEASE)
    code = body.get("code")
    if code is not None and not isinstance(code, str):
        raise Invalid("code is a hold code (text)", code="BAD_REQUEST", path="$.code")
    return _json(events.release_hold(orchestrator(request), order_id, code, body.get("reason"),
                                     f"key {key.name}"))


@router.post("/v1/orchestration/tick", summary="Fire every timer due by the service clock",
             responses={200: json_schema_response("how many timers fired"), **errors()})
def tick(request: Request, key: KeyInfo = Depends(require("admin"))) -> Response:
    return _json(events.tick(orchestrator(request)))


# Each event of a batch is read and answered on its own (its `status` in `results`), so the
# request is valid whatever its events hold but the lengths the reader checks.
BATCH_BODY = schemas.body(schemas.obj(("events",), events={
    "type": "array", "minItems": 1, "maxItems": 1000,
    "items": schemas.obj(("order_id", "event"),
                         order_id={"type": "string", "maxLength": 200},
                         event={**schemas.obj(id=schemas.free(200), type=schemas.free(100),
                                              step=schemas.free(200)),
                                "description": "an event, as POST /v1/orders/{id}/events "
                                "takes it; checked on its own"})}))


@router.post("/v1/events/batch",
             summary="Report many events in one transaction (group commit); each answered "
                     "on its own with a status",
             openapi_extra={"requestBody": BATCH_BODY},
             responses={200: json_schema_response("one answer per event, in order", {
                 "type": "object", "required": ["results"]}), **errors(body=True)})
def post_batch(request: Request, key: KeyInfo = Depends(require("evaluator")),
               raw: bytes = Depends(raw_body)) -> Response:
    # amounts stay exact decimals, never floats
    body = json_object(raw, "the body", shape_code="BAD_REQUEST",
                       fields=store.EVENT_BATCH) if raw.strip() else None
    items = body.get("events") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= 1000:
        raise Invalid("the body is {\"events\": [{\"order_id\": ID, \"event\": {...}}, ...]} "
                      "with 1 to 1000 events", code="BAD_REQUEST", path="$.events")
    pairs = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("order_id"), str) \
                or not isinstance(item.get("event"), dict):
            raise Invalid("an item is {\"order_id\": ID, \"event\": {...}}",
                          code="BAD_REQUEST", path=f"$.events[{i}]")
        pairs.append((item["order_id"], item["event"]))
    return _json({"results": events.post_batch(orchestrator(request), pairs, key.name)})
