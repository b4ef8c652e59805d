"""Payments and billing doors: the order's payment ledger (authorise, capture, refund through
the provider adapter), its invoices (JSON and PDF), its returns and the list of every return
(`GET /v1/returns`). Routes translate and call a use case
(api/usecases/payments.py); the ledger is adapters/payments.py, invoices adapters/billing.py.
"""
from __future__ import annotations


from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ordinance.adapters import billing, store
from ordinance.adapters.payments import ACTIONS, IDEMPOTENCY_KEY_MAX, Ledger, LocalProvider
from ordinance.adapters.returns import CONDITIONS
from ordinance.adapters.store_keys import KeyInfo

from . import schemas
from .auth import require
from .routes_decisions import OrderId, errors, json_schema_response, raw_body
from .routes_events import _json, app_singleton, orchestrator
from .usecases import payments as payments_uc

router = APIRouter(tags=["payments"])

PAYMENT_BODY = schemas.body(schemas.obj(
    ("action", "amount", "idempotency_key"),
    action={"enum": list(ACTIONS)},
    amount={**schemas.MONEY, "example": "12.34"},
    idempotency_key=schemas.text(IDEMPOTENCY_KEY_MAX, description=(
        "the provider keeps it with the order id in a column of 300 characters: at most "
        f"{IDEMPOTENCY_KEY_MAX}, not only spaces")),
    token={"anyOf": [{"type": "null"}, {"type": "string", "maxLength": 200}],
           "description": "the local provider declines tok_decline and times out on "
                          "tok_timeout"}))
# adapters/returns.py, _parse
RETURN_BODY = schemas.body(schemas.obj(
    ("id", "lines"),
    id=schemas.text(200, description="the return's idempotency key"),
    lines={"type": "array", "minItems": 1, "items": schemas.obj(
        ("line_id", "quantity"),
        line_id={"type": "string", "maxLength": 200},
        quantity=schemas.POSITIVE_AMOUNT,
        condition={"enum": list(CONDITIONS), "default": "new"})},
    location={"anyOf": [{"type": "null"}, {"type": "string", "maxLength": 100}]}))


def ledger(request: Request) -> Ledger:
    return app_singleton(request, "payments", lambda app: Ledger(
        app.state.ctx.db, LocalProvider(app.state.ctx.db), orchestrator(request)))


@router.post("/v1/orders/{order_id}/payments",
             summary="Authorise, capture or refund (idempotent on idempotency_key)",
             openapi_extra={"requestBody": PAYMENT_BODY},
             responses={200: json_schema_response("the ledger entry"),
                        **errors(404, 409, body=True)})
def pay(request: Request, order_id: OrderId, key: KeyInfo = Depends(require("evaluator")),
        raw: bytes = Depends(raw_body)) -> Response:
    body = store.json_object(raw, "a payment request", "BAD_PAYMENT", fields=store.PAYMENT)
    return _json(payments_uc.pay(ledger(request), order_id, body, key.name))


@router.get("/v1/orders/{order_id}/payments", summary="The payment ledger and its balance",
            responses={200: json_schema_response("balance and entries"), **errors(404, 409)})
def payments(request: Request, order_id: OrderId,
             key: KeyInfo = Depends(require("evaluator"))) -> Response:
    return _json(payments_uc.balance(ledger(request), order_id))


@router.get("/v1/orders/{order_id}/invoices", summary="The order's invoices, one per shipment",
            responses={200: json_schema_response("invoices"), **errors()})
def invoices(request: Request, order_id: OrderId,
             key: KeyInfo = Depends(require("evaluator"))) -> Response:
    return _json(billing.invoices_of(request.app.state.ctx.db, order_id))


@router.get("/v1/invoices/{number}.pdf", summary="An invoice as PDF",
            responses={200: {"description": "the PDF", "content": {"application/pdf": {}}},
                       **errors(404)})
def invoice_pdf(request: Request, number: str,
                key: KeyInfo = Depends(require("evaluator"))) -> Response:
    doc = billing.invoice(request.app.state.ctx.db, number)
    return Response(billing.render_pdf(doc), media_type="application/pdf")


@router.get("/v1/invoices/{number}", summary="An invoice",
            responses={200: json_schema_response("the invoice"), **errors(404)})
def invoice(request: Request, number: str,
            key: KeyInfo = Depends(require("evaluator"))) -> Response:
    return _json(billing.invoice(request.app.state.ctx.db, number))


@router.post("/v1/orders/{order_id}/returns",
             summary="Authorise a return (idempotent on its id): policy, refund, restock",
             openapi_extra={"requestBody": RETURN_BODY},
             responses={200: json_schema_response("the return authorisation"),
                        **errors(404, 409, body=True)})
def create_return(request: Request, order_id: OrderId,
                  key: KeyInfo = Depends(require("evaluator")),
                  raw: bytes = Depends(raw_body)) -> Response:
    body = store.json_object(raw, "a return", "BAD_RETURN", fields=store.RETURN)
    return _json(payments_uc.return_goods(orchestrator(request), ledger(request), order_id,
                                          body, key.name))


RETURNS_PAGE = {
    "type": "object", "required": ["items", "next_cursor"],
    "properties": {"items": {"type": "array", "items": {"type": "object", "required": [
        "id", "rma", "order_id", "at", "refund", "refund_status", "lines"]}},
        "next_cursor": {"type": ["string", "null"]}},
}


@router.get("/v1/returns", summary="Return authorisations, newest first (cursor paging)",
            responses={200: json_schema_response("a page of returns", RETURNS_PAGE),
                       **errors(422)})
def list_returns(request: Request,
                 status: Literal["pending", "refunded", "partly_refunded", "due", "none"]
                 | None = Query(None, description="the refund's status"),
                 order_id: str | None = Query(None, max_length=200),
                 customer: str | None = Query(None, max_length=200,
                                              description="the order's customer id"),
                 cursor: str | None = Query(None, pattern=r"^[1-9][0-9]{0,17}$",
                                            description="the next_cursor of the previous page"),
                 limit: int = Query(50, ge=1, le=1000),
                 key: KeyInfo = Depends(require("analyst"))) -> dict:
    return payments_uc.list_returns(request.app.state.ctx.db, status=status, order_id=order_id,
                                    customer=customer, cursor=cursor, limit=limit)
