"""Webhook doors: subscriptions, the outbox, and a delivery run (adapters/webhooks.py)."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ordinance.adapters import store, webhooks
from ordinance.adapters.store_keys import KeyInfo

from . import schemas
from .auth import require
from .routes_decisions import errors, json_schema_response, raw_body
from .routes_events import _json, orchestrator

router = APIRouter(tags=["webhooks"])

# adapters/webhooks.py, subscribe: an http(s) URL with a host name
SUBSCRIPTION = schemas.body(schemas.obj(
    ("url", "secret"),
    url={"type": "string", "maxLength": 2000,
         "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][^\s]*)?$"},
    secret={"type": "string", "minLength": 16, "maxLength": 200},
    topics={"type": "array", "minItems": 1, "items": {"enum": list(webhooks.TOPICS)}}))


@router.post("/v1/webhooks", status_code=201,
             summary="Subscribe a URL to status changes and alerts (signed, retried)",
             openapi_extra={"requestBody": SUBSCRIPTION},
             responses={201: json_schema_response("the subscription"), **errors(body=True)})
def subscribe(request: Request, key: KeyInfo = Depends(require("admin")),
              raw: bytes = Depends(raw_body)) -> Response:
    body = store.json_object(raw, "a subscription ({url, secret, topics})", "BAD_WEBHOOK",
                             fields=store.WEBHOOK)
    return _json(webhooks.subscribe(request.app.state.ctx.db, body,
                                    orchestrator(request).clock.now()), 201)


@router.get("/v1/webhooks/outbox", summary="Notifications by delivery state",
            responses={200: json_schema_response("messages"), **errors(422)})
def outbox(request: Request,
           state: Literal["pending", "delivered", "dead", "all"] = Query("pending"),
           key: KeyInfo = Depends(require("admin"))) -> Response:
    return _json(webhooks.outbox(request.app.state.ctx.db, state))


@router.post("/v1/webhooks/deliver", summary="Deliver every notification due by the clock",
             responses={200: json_schema_response("delivered and failed counts"), **errors()})
def deliver(request: Request, key: KeyInfo = Depends(require("admin"))) -> Response:
    return _json(webhooks.deliver_due(request.app.state.ctx.db,
                                      orchestrator(request).clock.now()))
