"""Simulations over REST: start one on an uploaded order stream, follow it, fetch its report.

`POST /v1/simulations` (analyst) takes either an NDJSON body (`Content-Type:
application/x-ndjson`, one order per line) with `baseline`, `candidate` and the options as
query parameters, or a JSON body `{"baseline", "candidate", "orders": [...] | "stored",
"from", "until", "as_of", "consume_stock", "sample"}` ("stored": the order hub's orders, by
order date); it answers 202 with the job. `GET /v1/simulations/{id}` gives the
job's state and progress, then its summary; `GET /v1/simulations/{id}/report.html` the
report; `DELETE /v1/simulations/{id}` forgets a finished one.
A rule set is a stored version (`NAME@DIGEST`, `NAME@VERSION`, `active`), never a path on the
server: anything else is a 422 that says the same whether or not such a path exists (the
command line, running as its user, takes directories). Orders come from the body or the
hub. The work itself is `ordinance.simulator.jobs`.
"""
from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from ordinance import engine
from ordinance.adapters.store import Conflict, Invalid, NotFound, json_object
from ordinance.adapters.store_keys import KeyInfo
from ordinance.simulator.jobs import JobRunner
from ordinance.simulator.replay import Options
from ordinance.simulator.rulesets import RuleSetNotFound, storage_resolver
from ordinance.simulator.stored import export_orders
from starlette.concurrency import run_in_threadpool

from .auth import require
from .routes_decisions import errors, json_schema_response

router = APIRouter(tags=["simulations"])

MAX_UPLOAD_BYTES = int(os.environ.get("ORDINANCE_MAX_SIMULATION_UPLOAD", str(2 * 1024 ** 3)))
_RUNNER_LOCK = threading.Lock()

JOB = {"type": "object", "required": ["id", "state", "progress"],
       "properties": {"id": {"type": "string"},
                      "state": {"enum": ["queued", "running", "done", "failed"]},
                      "progress": {"type": "object"}, "summary": {"type": "object"},
                      "error": {"type": "string"}}}
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
                       "sample": {"type": "integer", "minimum": 0}}}},
}}


# A rule-set name as the manifest schema allows it, then @ and a version or digest.
_STORED_REF = re.compile(r"[a-z0-9][a-z0-9._-]*@[^\x00-\x1f]{1,200}")


def _stored_ref(value: Any, name: str, where: str) -> str:
    """The reference as given, if it can only mean a stored version; never looks at a path."""
    if isinstance(value, str) and (value == "active" or _STORED_REF.fullmatch(value)):
        return value
    if not isinstance(value, str) or not value:
        problem = f"{name} is required"
    else:
        problem = f"{name} is not a stored rule-set version"
    raise Invalid(f"{problem}: NAME@VERSION, NAME@DIGEST or active (upload a rule set with "
                  "POST /v1/rulesets; paths on the server are not accepted)",
                  code="BAD_RULESET_REF", path=f"{where}{name}")


def _resolver(request: Request, paths: dict[str, str]) -> Callable[[str], Path | None]:
    """The storage resolver, its 404 pointing at the field that named the version."""
    find = storage_resolver(request.app.state.ctx.rulesets)

    def resolve(spec: str) -> Path | None:
        try:
            return find(spec)
        except NotFound as exc:
            raise NotFound(exc.message, code=exc.code, path=paths.get(spec)) from None
    return resolve


def _runner(request: Request) -> JobRunner:
    state = request.app.state
    with _RUNNER_LOCK:
        runner = getattr(state, "simulations", None)
        if runner is None:
            runner = state.simulations = JobRunner()
    return runner


async def _ndjson_to_file(request: Request) -> Path:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise Invalid(f"order stream larger than {MAX_UPLOAD_BYTES} bytes", code="TOO_LARGE")
    fd, name = tempfile.mkstemp(prefix="ordinance-orders-", suffix=".jsonl")
    size = 0
    with os.fdopen(fd, "wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                out.close()
                os.unlink(name)
                raise Invalid(f"order stream larger than {MAX_UPLOAD_BYTES} bytes",
                              code="TOO_LARGE")
            out.write(chunk)
    return Path(name)


def _json_to_file(body: Any) -> Path:
    orders = body.get("orders")
    if not isinstance(orders, list):
        raise Invalid('orders must be a list of orders, or "stored"', code="BAD_REQUEST",
                      path="$.orders")
    fd, name = tempfile.mkstemp(prefix="ordinance-orders-", suffix=".jsonl")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for order in orders:
            out.write(engine.dumps(order) + "\n")
    return Path(name)


def _stored_orders(request: Request, body: dict[str, Any]) -> Callable[[Path], object]:
    """Writes the hub's stored orders (order date from `from` to `until`) to a path."""
    bounds = {}
    for name in ("from", "until"):
        value = body.get(name)
        try:
            bounds[name] = date.fromisoformat(value).isoformat() if value is not None else None
        except (TypeError, ValueError):
            raise Invalid(f"{name} must be a date YYYY-MM-DD, not {value!r}",
                          code="BAD_REQUEST", path=f"$.{name}") from None
    db = request.app.state.ctx.db
    return lambda path: export_orders(db, path, start=bounds["from"], end=bounds["until"])


def _options(as_of: Any, consume_stock: Any, sample: Any, where: str) -> Options:
    try:
        day = date.fromisoformat(as_of) if as_of is not None else None
    except (TypeError, ValueError):
        raise Invalid(f"as_of must be a date YYYY-MM-DD, not {as_of!r}", code="BAD_REQUEST",
                      path=f"{where}as_of") from None
    if not isinstance(consume_stock, bool):
        raise Invalid("consume_stock must be true or false", code="BAD_REQUEST",
                      path=f"{where}consume_stock")
    if isinstance(sample, Decimal) and sample == sample.to_integral_value():
        sample = int(sample)
    if not isinstance(sample, int) or isinstance(sample, bool) or not 0 <= sample <= 1000:
        raise Invalid("sample must be a whole number from 0 to 1000", code="BAD_REQUEST",
                      path=f"{where}sample")
    return Options(as_of=day, consume_stock=consume_stock, sample_size=sample)


@router.post("/v1/simulations", status_code=202,
             summary="Start a simulation: replay orders against a baseline and a candidate",
             openapi_extra={"requestBody": START_BODY},
             responses={202: json_schema_response("started", JOB), **errors(404, 413, 422)})
async def start(request: Request, baseline: str | None = Query(None),
                candidate: str | None = Query(None), as_of: str | None = Query(None),
                consume_stock: bool = Query(False), sample: int = Query(20),
                key: KeyInfo = Depends(require("analyst"))) -> JSONResponse:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    export = None
    if kind == "application/json":
        body = json_object(await request.body(), "the body", shape_code="BAD_REQUEST")
        baseline, candidate = body.get("baseline"), body.get("candidate")
        options = _options(body.get("as_of"), body.get("consume_stock", False),
                           body.get("sample", 20), "$.")
        where = "$."
        path = None
        if body.get("orders") == "stored":
            export = _stored_orders(request, body)
    else:
        options = _options(as_of, consume_stock, sample, "")
        where = ""
        path = await _ndjson_to_file(request)
    try:
        baseline = _stored_ref(baseline, "baseline", where)
        candidate = _stored_ref(candidate, "candidate", where)
    except Invalid:
        if path is not None:
            path.unlink(missing_ok=True)
        raise
    if path is None:
        path = Path(os.devnull) if export else await run_in_threadpool(_json_to_file, body)
    try:
        # Resolving reads rule-set files (and maybe the database): off the event loop.
        job = await run_in_threadpool(
            _runner(request).start, baseline, candidate, path, options=options,
            delete_orders=export is None, export=export, stored_only=True,
            resolver=_resolver(request, {candidate: f"{where}candidate",
                                         baseline: f"{where}baseline"}))
    except RuleSetNotFound as exc:
        if export is None:
            path.unlink(missing_ok=True)
        raise NotFound(str(exc), code="RULESET_NOT_FOUND") from None
    except Exception:
        if export is None:
            path.unlink(missing_ok=True)
        raise
    return JSONResponse(job.to_json(), status_code=202,
                        headers={"Location": f"/v1/simulations/{job.id}"})


@router.get("/v1/simulations/{job_id}", summary="A simulation: its progress, then its summary",
            responses={200: json_schema_response("the job", JOB), **errors(404)})
def get(request: Request, job_id: str,
        key: KeyInfo = Depends(require("analyst"))) -> Response:
    runner = _runner(request)
    job = runner.get(job_id)
    if job is None:
        raise NotFound(f"no simulation {job_id}", code="SIMULATION_NOT_FOUND")
    out = job.to_json()
    if job.state == "done":
        out["summary"] = runner.summary(job_id)
    return Response(engine.dumps(out), media_type="application/json")


@router.get("/v1/simulations/{job_id}/report.html", response_class=HTMLResponse,
            summary="A finished simulation's HTML report (self-contained)",
            responses={200: {"description": "the report",
                             "content": {"text/html": {"schema": {"type": "string"}}}},
                       **errors(404, 409)})
def report(request: Request, job_id: str,
           key: KeyInfo = Depends(require("analyst"))) -> HTMLResponse:
    runner = _runner(request)
    job = runner.get(job_id)
    if job is None:
        raise NotFound(f"no simulation {job_id}", code="SIMULATION_NOT_FOUND")
    html = runner.report_html(job_id)
    if html is None:
        raise Conflict(f"simulation {job_id} is {job.state}; the report comes when it is done",
                       code="SIMULATION_NOT_DONE")
    return HTMLResponse(html)


@router.delete("/v1/simulations/{job_id}", status_code=204,
               summary="Forget a finished simulation and remove its summary and report",
               responses={204: {"description": "removed"}, **errors(404, 409)})
def delete(request: Request, job_id: str,
           key: KeyInfo = Depends(require("analyst"))) -> Response:
    runner = _runner(request)
    job = runner.get(job_id)
    if job is None:
        raise NotFound(f"no simulation {job_id}", code="SIMULATION_NOT_FOUND")
    if not runner.delete(job_id):
        raise Conflict(f"simulation {job_id} is {job.state}; it can be removed when it is done",
                       code="SIMULATION_NOT_DONE")
    return Response(status_code=204)
