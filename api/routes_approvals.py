"""Approval tasks: list the open ones, approve or reject one."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from ordinance.adapters.store import Invalid, json_object
from ordinance.adapters.store_keys import KeyInfo

from .auth import require
from .routes_events import orchestrator
from .usecases import orders
from .routes_decisions import errors, json_schema_response, raw_body

router = APIRouter(tags=["approvals"])

TASK = {"type": "object", "required": ["id", "order_id", "role", "level", "state"]}


ACT_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["action"], "additionalProperties": False,
    "properties": {"action": {"enum": ["approve", "reject"]},
                   "comment": {"type": ["string", "null"], "maxLength": 4000}}}}}}


def _act_body(raw: bytes) -> tuple[str, str | None]:
    body = json_object(raw, "the body ({\"action\": \"approve\" | \"reject\"})",
                       "BAD_REQUEST")
    for k in body:
        if k not in ("action", "comment"):
            raise Invalid(f"unknown field {k!r} (expected action, comment)",
                          code="BAD_REQUEST", path=f"$.{k}")
    action, comment = body.get("action"), body.get("comment")
    if action not in ("approve", "reject"):
        raise Invalid("action is approve or reject", code="BAD_REQUEST", path="$.action")
    if comment is not None and (not isinstance(comment, str) or len(comment) > 4000):
        raise Invalid("comment is a text of at most 4000 characters", code="BAD_REQUEST",
                      path="$.comment")
    return action, comment


@router.get("/v1/approvals", summary="Approval tasks (open ones by default)",
            responses={200: json_schema_response("tasks", {
                "type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": TASK}}}), **errors(422)})
def list_tasks(request: Request, role: str | None = None,
               state: Literal["open", "approved", "rejected", "cancelled", "all"] = "open",
               order_id: str | None = None, limit: int = Query(500, ge=1, le=5000),
               mine: bool = Query(False, description="only tasks this key may act on"),
               key: KeyInfo = Depends(require("approver"))) -> dict:
    return {"items": request.app.state.ctx.hub.tasks(role, state, order_id, limit,
                                                     key if mine else None)}


@router.post("/v1/approvals/{task_id}", summary="Approve or reject a task",
             responses={200: json_schema_response("the task after acting, with order_status",
                                                  TASK), **errors(404, 409, body=True)},
             openapi_extra={"requestBody": ACT_BODY})
def act(request: Request, task_id: int = Path(ge=1, le=2**31 - 1),
        key: KeyInfo = Depends(require("approver")),
        raw: bytes = Depends(raw_body)) -> dict:
    action, comment = _act_body(raw)
    return orders.act_on_task(request.app.state.ctx.hub, orchestrator(request), task_id,
                              action, comment, key)
