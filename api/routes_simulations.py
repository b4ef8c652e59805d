"""Simulations over REST: start one on an uploaded order stream, follow it, fetch its report.

`POST /v1/simulations` (analyst) takes either an NDJSON body (`Content-Type:
application/x-ndjson`, one order per line) with `baseline`, `candidate` and the options as
query parameters, or a JSON body `{"baseline", "candidate", "orders": [...] | "stored",
"from", "until", "as_of", "consume_stock", "sample", "blame", "supply_changes"}` ("stored": the order
hub's orders, by order date; `supply_changes`, with `consume_stock`, the what-if edits of
simulator/promising.py: phrases such as "PO-1 late 10 days" or mappings; with NDJSON, repeated
`supply_change` query parameters, phrases); it answers 202 with the job. `GET /v1/simulations/{id}` gives the
job's state and progress, then its summary; `GET /v1/simulations/{id}/report.html` the
report; `GET /v1/simulations` lists them (newest first); `POST /v1/simulations/{id}/cancel`
cancels a queued or running one; `DELETE /v1/simulations/{id}` forgets a finished one. Every instance answers for every job: jobs are rows in the database
(simulator/jobs.py runs them, api/usecases/simulate.py stores and reads them); this module
only reads the request (the JSON body capped at ORDINANCE_MAX_BODY, an NDJSON stream at
ORDINANCE_MAX_SIMULATION_UPLOAD, streamed to a temporary file) and renders the answer.
A rule set is a stored version (`NAME@DIGEST`, `NAME@VERSION`, `active`), never a path on the
server: anything else is a 422 that says the same whether or not such a path exists (the
command line, running as its user, takes directories). Orders come from the body or the
hub.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from ordinance import engine
from ordinance.adapters.store import TooLarge, json_object
from ordinance.adapters.store_keys import KeyInfo
from starlette.concurrency import run_in_threadpool

from .auth import require
from .routes_decisions import errors, json_schema_response
from .usecases import simulate

router = APIRouter(tags=["simulations"])

MAX_UPLOAD_BYTES = int(os.environ.get("ORDINANCE_MAX_SIMULATION_UPLOAD", str(2 * 1024 ** 3)))

JOB = {"type": "object", "required": ["id", "state", "progress"],
       "properties": {"id": {"type": "string"},
                      "state": {"enum": ["queued", "running", "done", "failed", "cancelled"]},
                      "progress": {"type": "object"}, "summary": {"type": "object"},
                      "error": {"type": "string"}}}
JOBS = {"type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": JOB}}}
START_BODY = {"required": True, "content": {
    "application/x-ndjson": {"schema": {"type": "string", "description":
                                        "one order per line; baseline and candidate as query "
                                        "parameters"}},
    "application/json": {"schema": {
        "type": "object", "required": ["baseline", "candidate", "orders"],
        "properties": {"baseline": {"type": "string"}, "candidate": {"type": "string"},
                       "orders": {"oneOf": [
                           {"type": "array", "items": {"type": "object"}},
                           {"const": "stored", "description": "the order hub's orders"}]},
                       "from": {"type": "string", "format": "date",
                                "description": "with stored orders: the first order date"},
                       "until": {"type": "string", "format": "date",
                                 "description": "with stored orders: the last order date"},
                       "as_of": {"type": "string", "format": "date"},
                       "consume_stock": {"type": "boolean"},
                       "sample": {"type": "integer", "minimum": 0},
                       "blame": {"type": "boolean", "default": True, "description":
                                 "name the edits behind each changed order (false: skip it)"},
                       "supply_changes": {
                           "type": "array", "maxItems": 10000, "description":
                           "with consume_stock: what-if supply edits, each a phrase ('PO-1 "
                           "late 10 days', 'cancel PO-1', 'add 100 of SKU at LOC on "
                           "YYYY-MM-DD') or a mapping {ref, late_days, quantity, side} or "
                           "{add, sku, location, date, kind, side}",
                           "items": {"oneOf": [{"type": "string"}, {"type": "object"}]}}}}},
}}


async def _ndjson_to_file(request: Request) -> Path:
    """The NDJSON stream in a temporary file, refused (413 BODY_TOO_LARGE) past
    ORDINANCE_MAX_SIMULATION_UPLOAD bytes: from Content-Length, or the moment it streams past."""
    limit = MAX_UPLOAD_BYTES
    too_large = TooLarge(f"the order stream is larger than {limit} bytes "
                         "(ORDINANCE_MAX_SIMULATION_UPLOAD)", code="BODY_TOO_LARGE")
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    fd, name = tempfile.mkstemp(prefix="ordinance-orders-", suffix=".jsonl")
    size = 0
    with os.fdopen(fd, "wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                out.close()
                os.unlink(name)
                raise too_large
            out.write(chunk)
    return Path(name)


async def _capped_body(request: Request) -> bytes:
    """The JSON body, refused (413 BODY_TOO_LARGE) past ORDINANCE_MAX_BODY as the door does
    for every other route: from Content-Length, or the moment it streams past the cap."""
    limit = request.app.state.ctx.settings.max_body_bytes
    too_large = TooLarge(f"the body is larger than {limit} bytes (ORDINANCE_MAX_BODY)",
                         code="BODY_TOO_LARGE", path="$")
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/v1/simulations", status_code=202,
             summary="Start a simulation: replay orders against a baseline and a candidate",
             openapi_extra={"requestBody": START_BODY},
             responses={202: json_schema_response("started", JOB), **errors(404, 409, 413, 422)})
async def start(request: Request, baseline: str | None = Query(None),
                candidate: str | None = Query(None), as_of: str | None = Query(None),
                consume_stock: bool = Query(False), sample: int = Query(20),
                blame: bool = Query(True),
                supply_change: list[str] | None = Query(None),
                key: KeyInfo = Depends(require("analyst"))) -> JSONResponse:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        body = json_object(await _capped_body(request), "the body", shape_code="BAD_REQUEST")
        ask = simulate.Start(body.get("baseline"), body.get("candidate"), body.get("orders"),
                             as_of=body.get("as_of"),
                             consume_stock=body.get("consume_stock", False),
                             sample=body.get("sample", 20), blame=body.get("blame", True),
                             start=body.get("from"),
                             until=body.get("until"),
                             supply_changes=body.get("supply_changes"), where="$.")
    else:
        # refused before a byte of a stream with a bad reference is read
        simulate.Start(baseline, candidate, None, where="").check_refs()
        ask = simulate.Start(baseline, candidate, await _ndjson_to_file(request), as_of=as_of,
                             consume_stock=consume_stock, sample=sample, blame=blame,
                             supply_changes=supply_change, where="")
    # Resolving reads the database and may load a rule set: off the event loop.
    job = await run_in_threadpool(simulate.start, request.app.state, ask, key.name)
    return JSONResponse(job, status_code=202, headers={"Location": f"/v1/simulations/{job['id']}"})


JobState = Literal[simulate.STATES]  # type: ignore[valid-type] # the states, as an enum


@router.get("/v1/simulations", summary="Simulations, the newest first",
            responses={200: json_schema_response("the jobs", JOBS), **errors(422)})
def listing(request: Request, state: JobState | None = Query(None),
            limit: int = Query(100, ge=1, le=1000),
            key: KeyInfo = Depends(require("analyst"))) -> Response:
    return Response(engine.dumps(simulate.listing(request.app.state, state, limit)),
                    media_type="application/json")


@router.get("/v1/simulations/{job_id}", summary="A simulation: its progress, then its summary",
            responses={200: json_schema_response("the job", JOB), **errors(404)})
def get(request: Request, job_id: str,
        key: KeyInfo = Depends(require("analyst"))) -> Response:
    return Response(engine.dumps(simulate.get(request.app.state, job_id)),
                    media_type="application/json")


@router.get("/v1/simulations/{job_id}/report.html", response_class=HTMLResponse,
            summary="A finished simulation's HTML report (self-contained)",
            responses={200: {"description": "the report",
                             "content": {"text/html": {"schema": {"type": "string"}}}},
                       **errors(404, 409)})
def report(request: Request, job_id: str,
           key: KeyInfo = Depends(require("analyst"))) -> HTMLResponse:
    return HTMLResponse(simulate.report_html(request.app.state, job_id))


@router.post("/v1/simulations/{job_id}/cancel",
             summary="Cancel a queued or running simulation",
             responses={200: json_schema_response("the cancelled job", JOB), **errors(404, 409)})
def cancel(request: Request, job_id: str,
           key: KeyInfo = Depends(require("analyst"))) -> Response:
    return Response(engine.dumps(simulate.cancel(request.app.state, job_id)),
                    media_type="application/json")


@router.delete("/v1/simulations/{job_id}", status_code=204,
               summary="Forget a finished simulation and remove its summary and report",
               responses={204: {"description": "removed"}, **errors(404, 409)})
def delete(request: Request, job_id: str,
           key: KeyInfo = Depends(require("analyst"))) -> Response:
    simulate.forget(request.app.state, job_id)
    return Response(status_code=204)
