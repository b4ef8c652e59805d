"""Approval tasks: list the open ones, approve or reject one."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ordinance.adapters.store_keys import KeyInfo

from .auth import require
from .routes_events import orchestrator
from .routes_decisions import errors, json_schema_response

router = APIRouter(tags=["approvals"])

TASK = {"type": "object", "required": ["id", "order_id", "role", "level", "state"]}


class Act(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["approve", "reject"]
    comment: str | None = Field(None, max_length=4000)


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
                                                  TASK), **errors(404, 409, 422)})
def act(request: Request, body: Act, task_id: int = Path(ge=1, le=2**31 - 1),
        key: KeyInfo = Depends(require("approver"))) -> dict:
    out = request.app.state.ctx.hub.act(task_id, body.action, body.comment, key)
    if isinstance(out, dict) and out.get("order_id") and out.get("order_status") in (
            "accepted", "rejected"):  # orchestration follows the decision at once
        orchestrator(request).sync(out["order_id"], key.name)
    return out
