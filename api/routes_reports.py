"""GET /v1/reports/top: the top entries by revenue, units and order count (JSON or CSV), per
currency (an entry is a key in one currency; amounts of different currencies are never
added), read from the decided orders (adapters/hub.py `Hub.top`)."""
from __future__ import annotations

import csv
import io
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from ordinance.adapters.store_keys import KeyInfo

from . import schemas
from .auth import require
from .routes_decisions import errors

router = APIRouter(tags=["reports"])

REPORT = {"type": "object", "required": ["by", "items"], "properties": {
    "currency": {"type": ["string", "null"]},
    "items": {"type": "array", "items": {"type": "object",
                                         "required": ["key", "currency", "revenue", "units",
                                                      "orders"]}}}}


@router.get("/v1/reports/top", summary="Top products, customers, channels, ... by revenue",
            responses={200: {"description": "the report",
                             "content": {"application/json": {"schema": REPORT},
                                         "text/csv": {"schema": {"type": "string"}}}},
                       **errors(422)})
def top(request: Request,
        by: Literal["product", "customer", "channel", "country", "category", "brand",
                    "seller", "day"] = "product",
        from_: str | None = Query(None, alias="from", pattern=schemas.DATE,
                                  json_schema_extra=schemas.date_param(),
                                  description="order date, inclusive"),
        to: str | None = Query(None, pattern=schemas.DATE,
                               json_schema_extra=schemas.date_param(),
                               description="order date, inclusive"),
        limit: int = Query(10, ge=1, le=1000),
        sort: Literal["revenue", "units", "orders"] = "revenue",
        currency: str | None = Query(None, pattern=schemas.CURRENCY, description=(
            "only orders in this currency (ISO 4217); without it, the top entries of each "
            "currency")),
        key: KeyInfo = Depends(require("analyst"))) -> Response:
    report = request.app.state.ctx.hub.top(by, from_, to, limit, sort, currency)
    if "text/csv" in request.headers.get("accept", ""):
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow([by, "currency", "revenue", "units", "orders"])
        for item in report["items"]:
            w.writerow(["" if item["key"] is None else item["key"], item["currency"] or "",
                        item["revenue"], item["units"], item["orders"]])
        return Response(out.getvalue(), media_type="text/csv")
    return JSONResponse(report)
