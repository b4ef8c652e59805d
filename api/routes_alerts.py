"""Open jeopardy and payment alerts, by priority (adapters/orchestration.py keeps them); reorder
proposals and their goods receipts, stock, rebates (adapters/inventory.py, rebates.py)."""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from ordinance.adapters import inventory, store
from ordinance.adapters.store_keys import KeyInfo

from . import schemas
from .auth import require
from .routes_decisions import errors, json_schema_response, raw_body
from .routes_events import _json, orchestrator

router = APIRouter(tags=["orchestration"])


@router.get("/v1/alerts", summary="Alerts (open by default), high priority first",
            responses={200: json_schema_response("alerts", {
                "type": "object", "required": ["items", "counts"]}), **errors(422)})
def alerts(request: Request, state: Literal["open", "cleared", "all"] = "open",
           priority: Literal["low", "medium", "high"] | None = None,
           order_id: str | None = None, limit: int = Query(500, ge=1, le=5000),
           key: KeyInfo = Depends(require("evaluator"))) -> Response:
    return _json(orchestrator(request).alerts(state, priority, order_id, limit))


@router.get("/v1/reorders", summary="Purchase proposals of the reorder rules (open by default)",
            responses={200: json_schema_response("proposals", {
                "type": "object", "required": ["items"]}), **errors(422)})
def reorders(request: Request,
             state: Literal["open", "proposed", "ordered", "received", "dismissed", "closed",
                            "all"] = Query("open", description="open: proposed or ordered; "
                                           "closed: received or dismissed"),
             key: KeyInfo = Depends(require("analyst"))) -> Response:
    return _json(inventory.reorders(request.app.state.ctx.db, state))


REORDER_ID = Path(ge=1, le=2 ** 63 - 1, description="the proposal's id")


def _body(*required: str, **props: Any) -> dict[str, object]:
    return {"requestBody": schemas.body(schemas.obj(required, **props))}


_QUANTITY = schemas.POSITIVE_AMOUNT


@router.get("/v1/reorders/{reorder_id}", summary="A reorder proposal and its goods receipts",
            responses={200: json_schema_response("the proposal"), **errors(404)})
def reorder(request: Request, reorder_id: int = REORDER_ID,
            key: KeyInfo = Depends(require("analyst"))) -> Response:
    return _json(inventory.reorder(request.app.state.ctx.db, reorder_id))


@router.post("/v1/reorders/{reorder_id}/order",
             summary="Place the purchase order of a proposed reorder (proposed -> ordered)",
             openapi_extra=_body("purchase_order", purchase_order=schemas.text(200),
                                 quantity={"anyOf": [{"type": "null"}, _QUANTITY],
                                           "description": "default: the proposed quantity"}),
             responses={200: json_schema_response("the proposal"), **errors(404, 409, 422)})
def order_reorder(request: Request, reorder_id: int = REORDER_ID,
                  raw: bytes = Depends(raw_body),
                  key: KeyInfo = Depends(require("approver"))) -> Response:
    body = store.json_object(raw, "an order of a proposal", "BAD_REORDER")
    return _json(inventory.order(request.app.state.ctx.db, reorder_id, body, key.name,
                                 orchestrator(request).clock.now()))


@router.post("/v1/reorders/{reorder_id}/dismiss",
             summary="Dismiss a proposed or ordered reorder with nothing received",
             openapi_extra=_body("reason", reason=schemas.text(2000)),
             responses={200: json_schema_response("the proposal"), **errors(404, 409, 422)})
def dismiss_reorder(request: Request, reorder_id: int = REORDER_ID,
                    raw: bytes = Depends(raw_body),
                    key: KeyInfo = Depends(require("approver"))) -> Response:
    body = store.json_object(raw, "a dismissal", "BAD_REORDER")
    return _json(inventory.dismiss(request.app.state.ctx.db, reorder_id, body, key.name,
                                   orchestrator(request).clock.now()))


@router.post("/v1/reorders/{reorder_id}/receive",
             summary="A goods receipt of an ordered reorder: raises the location's stock "
                     "(idempotent on its id)",
             openapi_extra=_body("id", "quantity", id=schemas.text(200),
                                 quantity={**_QUANTITY, "example": "700"},
                                 final={"type": "boolean", "description": "closes the "
                                        "proposal even when short"}),
             responses={200: json_schema_response("the proposal, the receipt and the stock"),
                        **errors(404, 409, 422)})
def receive_reorder(request: Request, reorder_id: int = REORDER_ID,
                    raw: bytes = Depends(raw_body),
                    key: KeyInfo = Depends(require("evaluator"))) -> Response:
    body = store.json_object(raw, "a goods receipt", "BAD_REORDER")
    orch = orchestrator(request)
    rs = orch._active()
    reference = getattr(rs, "reference", None) or {}
    return _json(inventory.receive(request.app.state.ctx.db, reference.get("inventory"),
                                   reorder_id, body, key.name, orch.clock.now(),
                                   network=getattr(rs, "network", None)))


@router.get("/v1/stock/{location}/{sku}",
            summary="Orchestration's stock of a SKU at a location (after allocations and "
                    "shipments)", responses={200: json_schema_response("stock"), **errors(404)})
def stock(request: Request, location: str, sku: str,
          key: KeyInfo = Depends(require("analyst"))) -> Response:
    from ordinance.adapters.store import NotFound

    out = inventory.stock(request.app.state.ctx.db, location, sku)
    if out is None:
        raise NotFound(f"no stock moved yet for {sku!r} at {location!r}", code="NO_STOCK")
    return _json(out)


@router.get("/v1/rebates/accruals",
            summary="Supplier rebate accruals by programme and period, and ship-and-debit "
                    "claims", responses={200: json_schema_response("accruals", {
                        "type": "object", "required": ["items", "claims"]}), **errors(422)})
def accruals(request: Request, programme: str | None = None,
             period: str | None = Query(None, pattern=schemas.PERIOD,
                                        description="2026, 2026-11 or 2026-Q4"),
             key: KeyInfo = Depends(require("analyst"))) -> Response:
    from ordinance.adapters import rebates

    rebates.check_filters(programme, period)
    return _json(rebates.accruals(request.app.state.ctx.db, programme, period))
