"""The console's own reads and actions (`/v1/console/...`), each calling api/usecases/console.py:
who am I, a version's rules, check edited files, save them as a new version, run the tests.
Included by api/routes_console.py.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ordinance.adapters.store import Invalid, json_object
from ordinance.adapters.store_keys import KeyInfo
from ordinance.engine import codec

from . import schemas
from .auth import require
from .routes_decisions import errors, json_schema_response, raw_body
from .usecases import console

router = APIRouter(tags=["console"])

NAME = Path(..., max_length=200, pattern=r"^[a-z0-9][a-z0-9._-]*$")
DIGEST = Path(..., max_length=200, pattern=r"^[^\u0000/]+$")
_FILES = {"type": "array", "maxItems": console.MAX_FILES, "items": schemas.obj(
    ("path", "content"), path={"type": "string", "minLength": 1, "maxLength": console.MAX_PATH,
                               "pattern": console.PATH},
    content={"type": "string", "maxLength": console.MAX_FILE_CHARS, "pattern": "^[^\u0000]*$"})}
EDIT_BODY = schemas.body(schemas.obj((), files=_FILES))
SAVE_BODY = schemas.body(schemas.obj(("files",), files={**_FILES, "minItems": 1}))
DIAGNOSTICS = {"type": "object", "required": ["clean", "errors", "diagnostics"],
               "properties": {"clean": {"type": "boolean"}, "errors": {"type": "integer"},
                              "diagnostics": {"type": "array", "items": {"type": "object"}}}}


def _files(raw: bytes) -> Any:
    body = json_object(raw, "the body ({\"files\": [{\"path\", \"content\"}]})", "BAD_REQUEST")
    return body.get("files")


@router.get("/v1/console/me", summary="The caller's key: name, role and approval roles "
            "(the console offers what the role may do)",
            responses={200: json_schema_response("the key", {
                "type": "object", "required": ["name", "role", "approves"]}), **errors()})
def me(key: KeyInfo = Depends(require("evaluator"))) -> dict[str, Any]:
    return {"name": key.name, "role": key.role, "approves": list(key.approves)}


@router.get("/v1/console/schemas", summary="The JSON Schemas of a rule set's files by kind "
            "(ruleset, pack, tests, events, process): the editor's completion",
            responses={200: json_schema_response("the schemas", {
                "type": "object", "required": list(console.SCHEMAS)}), **errors()})
def file_schemas(key: KeyInfo = Depends(require("analyst"))) -> dict[str, Any]:
    return console.schemas()


@router.get("/v1/console/rulesets/{name}/{digest}/rules",
            summary="A stored version's packs in the order of work, each rule with its "
                    "description, condition, actions and table",
            responses={200: json_schema_response("the packs", {
                "type": "object", "required": ["version", "phases", "packs"]}),
                **errors(404)})
def rules(request: Request, name: str = NAME, digest: str = DIGEST,
          key: KeyInfo = Depends(require("analyst"))) -> dict[str, Any]:
    return console.rules(request.app.state.ctx.db, name, digest)


@router.post("/v1/console/rulesets/{name}/{digest}/check",
             summary="Check a stored version with edited files over it (nothing stored)",
             openapi_extra={"requestBody": EDIT_BODY},
             responses={200: json_schema_response("the diagnostics", DIAGNOSTICS),
                        **errors(404, body=True)})
async def check(request: Request, name: str = NAME, digest: str = DIGEST,
                key: KeyInfo = Depends(require("analyst")),
                raw: bytes = Depends(raw_body)) -> dict[str, Any]:
    files = _files(raw)
    return await run_in_threadpool(console.check, request.app.state.ctx.db, name, digest, files)


@router.post("/v1/console/rulesets/{name}/{digest}/save", status_code=201,
             summary="Store a stored version with edited files over it as a new version, "
                     "only if it checks clean (422 RULESET_INVALID with the diagnostics)",
             openapi_extra={"requestBody": SAVE_BODY},
             responses={201: json_schema_response("stored"),
                        200: json_schema_response("already stored (same digest)"),
                        **errors(404, body=True)})
async def save(request: Request, name: str = NAME, digest: str = DIGEST,
               key: KeyInfo = Depends(require("analyst")),
               raw: bytes = Depends(raw_body)) -> JSONResponse:
    files = _files(raw)
    if not files:
        raise Invalid("no edited files: nothing to save", code="NOTHING_TO_SAVE", path="$.files")
    created, info = await run_in_threadpool(console.save, request.app.state.ctx.db, name,
                                            digest, files, key.name)
    return JSONResponse(info, status_code=201 if created else 200)


@router.get("/v1/console/rulesets/{name}/{digest}/generate",
            summary="Synthetic orders consistent with the version's reference data (the "
                    "simulator's generator), for a simulation's generated orders",
            responses={200: json_schema_response("the orders", {
                "type": "object", "required": ["orders"]}), **errors(404, 422)})
async def generate(request: Request, name: str = NAME, digest: str = DIGEST,
                   count: int = Query(500, ge=1, le=console.MAX_GENERATED),
                   seed: int = Query(1, ge=0, le=2 ** 31 - 1),
                   key: KeyInfo = Depends(require("analyst"))) -> Response:
    orders = await run_in_threadpool(console.generate, request.app.state.ctx.db, name, digest,
                                     count, seed)
    return Response(codec.dumps({"orders": orders}), media_type="application/json")


@router.post("/v1/console/rulesets/{name}/{digest}/tests",
             summary="Run a stored version's analysts' tests: each case with its differences, "
                     "coverage per pack and rule, and per decision table the rows hit and "
                     "never hit",
             responses={200: json_schema_response("the test report", {
                 "type": "object", "required": ["cases", "passed", "failed", "packs",
                                                "tables", "row_coverage"]}),
                 **errors(404)})
async def tests(request: Request, name: str = NAME, digest: str = DIGEST,
                key: KeyInfo = Depends(require("analyst"))) -> dict[str, Any]:
    ctx = request.app.state.ctx
    return await run_in_threadpool(console.tests, ctx.db, name, digest, ctx.clock.now().date())
