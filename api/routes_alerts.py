"""Open jeopardy and payment alerts, by priority (adapters/orchestration.py keeps them)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from ordinance.adapters.store_keys import KeyInfo

from .auth import require
from .routes_decisions import errors, json_schema_response
from .routes_events import _json, orchestrator

router = APIRouter(tags=["orchestration"])


@router.get("/v1/alerts", summary="Alerts (open by default), high priority first",
            responses={200: json_schema_response("alerts", {
                "type": "object", "required": ["items", "counts"]}), **errors(422)})
def alerts(request: Request, state: str = Query("open", description="open | cleared | all"),
           priority: str | None = Query(None, description="low | medium | high"),
           order_id: str | None = None, limit: int = Query(500, ge=1, le=5000),
           key: KeyInfo = Depends(require("evaluator"))) -> Response:
    return _json(orchestrator(request).alerts(state, priority, order_id, limit))
