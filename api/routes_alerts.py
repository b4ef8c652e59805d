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


@router.get("/v1/reorders", summary="Purchase proposals of the reorder rules (open by default)",
            responses={200: json_schema_response("proposals", {
                "type": "object", "required": ["items"]}), **errors(422)})
def reorders(request: Request,
             state: str = Query("open", description="open | ordered | dismissed | all"),
             key: KeyInfo = Depends(require("analyst"))) -> Response:
    from ordinance.adapters import inventory

    return _json(inventory.reorders(request.app.state.ctx.db, state))


@router.get("/v1/stock/{location}/{sku}",
            summary="Orchestration's stock of a SKU at a location (after allocations and "
                    "shipments)", responses={200: json_schema_response("stock"), **errors(404)})
def stock(request: Request, location: str, sku: str,
          key: KeyInfo = Depends(require("analyst"))) -> Response:
    from ordinance.adapters import inventory
    from ordinance.adapters.store import NotFound

    out = inventory.stock(request.app.state.ctx.db, location, sku)
    if out is None:
        raise NotFound(f"no stock moved yet for {sku!r} at {location!r}", code="NO_STOCK")
    return _json(out)


@router.get("/v1/rebates/accruals",
            summary="Supplier rebate accruals by programme and period, and ship-and-debit "
                    "claims", responses={200: json_schema_response("accruals", {
                        "type": "object", "required": ["items", "claims"]}), **errors(422)})
def accruals(request: Request, programme: str | None = None, period: str | None = None,
             key: KeyInfo = Depends(require("analyst"))) -> Response:
    from ordinance.adapters import rebates

    rebates.check_filters(programme, period)
    return _json(rebates.accruals(request.app.state.ctx.db, programme, period))
