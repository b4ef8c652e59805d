"""Shadow mode and KPI-gated rollouts over REST (api/usecases/rollout.py does the work).

`POST /v1/rollouts` (admin) starts one: `{"mode": "shadow" | "rollout", "candidate":
"NAME@DIGEST", "share": 0-100, "sample": 0-100, "segments": {"channel": [...], "country":
[...], "tier": [...]}, "thresholds": {"hold_rate": "0.05", ...}, "min_orders": 20,
"promote_after": N}`; at most one of each mode runs. `GET /v1/rollouts` lists them (newest
first), `GET /v1/rollouts/{id}` gives one with its figures (a rollout: each side's tally and
what it crosses now; a shadow: the simulator's summary of its pairs), `POST
/v1/rollouts/{id}/stop` ends one, `POST /v1/rollouts/{id}/promote` activates a rollout's
candidate for all traffic. docs/rollout.md has the walkthrough.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from ordinance import engine
from ordinance.adapters.store import json_object
from ordinance.adapters.store_keys import KeyInfo
from starlette.concurrency import run_in_threadpool

from .auth import require
from .routes_decisions import errors, json_schema_response
from .usecases import rollout
from ordinance.engine.rollout import FRACTION as FRACTION_RE
from ordinance.adapters import rollouts as store

router = APIRouter(tags=["rollouts"])

ROLLOUT = {"type": "object", "required": ["id", "mode", "state", "candidate", "active", "plan"],
           "properties": {"id": {"type": "string"},
                          "mode": {"enum": ["shadow", "rollout"]},
                          "state": {"enum": ["running", "stopped", "rolled_back", "promoted"]},
                          "candidate": {"type": "string"}, "active": {"type": "string"},
                          "plan": {"type": "object"}, "kpis": {"type": "object"},
                          "crossed": {"type": "array"}, "shadow": {"type": "object"},
                          "reason": {"type": ["object", "null"]}}}
FRACTION = FRACTION_RE.pattern
START_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["mode", "candidate"], "additionalProperties": False,
    "properties": {"mode": {"enum": ["shadow", "rollout"]},
                   "candidate": {"type": "string", "minLength": 3, "maxLength": 300,
                                 "pattern": "^[^@]+@[^@]+$",
                                 "description": "a stored rule set, NAME@DIGEST or NAME@VERSION"},
                   "share": {"type": "integer", "minimum": 0, "maximum": 100},
                   "sample": {"type": "integer", "minimum": 0, "maximum": 100},
                   "segments": {"type": "object", "additionalProperties": False,
                                "properties": {k: {"type": "array", "minItems": 1,
                                                   "maxItems": 100, "items": {
                                                       "type": "string", "minLength": 1,
                                                       "maxLength": 100}}
                                               for k in ("channel", "country", "tier")}},
                   "thresholds": {"type": "object", "additionalProperties": False,
                                  "properties": {k: {"type": "string", "pattern": FRACTION}
                                                 for k in ("approval_rate", "hold_rate",
                                                           "rejection_rate",
                                                           "revenue_per_order",
                                                           "margin_per_order")}},
                   "min_orders": {"type": "integer", "minimum": 1, "maximum": 1000000},
                   "promote_after": {"type": "integer", "minimum": 1,
                                     "maximum": 100000000}}}}}}


def _json(data: object, status: int = 200) -> Response:
    return Response(engine.dumps(data), status_code=status, media_type="application/json")


@router.post("/v1/rollouts", status_code=201, openapi_extra={"requestBody": START_BODY},
             summary="Start a shadow or a rollout of a stored candidate rule set",
             responses={201: json_schema_response("started", ROLLOUT),
                        **errors(404, 409, body=True)})
async def start(request: Request, key: KeyInfo = Depends(require("admin"))) -> Response:
    body = json_object(await request.body(), "the body", shape_code="BAD_REQUEST")
    ctx = request.app.state.ctx
    return _json(await run_in_threadpool(rollout.start, ctx, body, key), 201)


@router.get("/v1/rollouts", summary="Shadows and rollouts, the newest first",
            responses={200: json_schema_response("the list", {
                "type": "object", "properties": {"items": {"type": "array", "items": ROLLOUT}}}),
                **errors()})
def list_rollouts(request: Request, key: KeyInfo = Depends(require("analyst"))) -> Response:
    return _json({"items": store.list_all(request.app.state.ctx.db)})


@router.get("/v1/rollouts/{rollout_id}", summary="A shadow or rollout with its figures",
            responses={200: json_schema_response("the rollout", ROLLOUT), **errors(404)})
def get(request: Request, rollout_id: str,
        key: KeyInfo = Depends(require("analyst"))) -> Response:
    return _json(rollout.read(request.app.state.ctx, rollout_id))


@router.post("/v1/rollouts/{rollout_id}/stop", summary="Stop a shadow or a rollout",
             responses={200: json_schema_response("stopped", ROLLOUT), **errors(404, 409)})
def stop(request: Request, rollout_id: str,
         key: KeyInfo = Depends(require("admin"))) -> Response:
    return _json(rollout.stop(request.app.state.ctx, rollout_id, key))


@router.post("/v1/rollouts/{rollout_id}/promote",
             summary="Promote a rollout: its candidate becomes the active rule set",
             responses={200: json_schema_response("promoted", ROLLOUT), **errors(404, 409)})
def promote(request: Request, rollout_id: str,
            key: KeyInfo = Depends(require("admin"))) -> Response:
    return _json(rollout.promote(request.app.state.ctx, rollout_id, key))
