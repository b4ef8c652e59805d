"""GET /v1/reports/top: the top entries by revenue, units and order count (JSON or CSV)."""
from __future__ import annotations

import csv
import io
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from ordinance.adapters.store_keys import KeyInfo

from .auth import require
from .routes_decisions import errors

router = APIRouter(tags=["reports"])

REPORT = {"type": "object", "required": ["by", "items"], "properties": {
    "items": {"type": "array", "items": {"type": "object",
                                         "required": ["key", "revenue", "units", "orders"]}}}}


@router.get("/v1/reports/top", summary="Top products, customers, channels, ... by revenue",
            responses={200: {"description": "the report",
                             "content": {"application/json": {"schema": REPORT},
                                         "text/csv": {"schema": {"type": "string"}}}},
                       **errors(422)})
def top(request: Request,
        by: Literal["product", "customer", "channel", "country", "category", "brand",
                    "seller", "day"] = "product",
        from_: str | None = Query(None, alias="from", description="order date, inclusive"),
        to: str | None = Query(None, description="order date, inclusive"),
        limit: int = Query(10, ge=1, le=1000),
        sort: Literal["revenue", "units", "orders"] = "revenue",
        key: KeyInfo = Depends(require("analyst"))) -> Response:
    report = request.app.state.ctx.hub.top(by, from_, to, limit, sort)
    if "text/csv" in request.headers.get("accept", ""):
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow([by, "revenue", "units", "orders"])
        for item in report["items"]:
            w.writerow(["" if item["key"] is None else item["key"], item["revenue"],
                        item["units"], item["orders"]])
        return Response(out.getvalue(), media_type="text/csv")
    return JSONResponse(report)
