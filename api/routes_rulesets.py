"""Rule-set versions: upload (.tar.gz or .zip body), list, fetch with files, activate, active."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ordinance.adapters import store_rulesets
from ordinance.adapters.store import Invalid, NotFound
from ordinance.adapters.store_keys import KeyInfo

from .auth import require
from .routes_decisions import errors, json_schema_response

router = APIRouter(tags=["rulesets"])

VERSION = {"type": "object", "required": ["name", "digest", "version", "active"],
           "properties": {"name": {"type": "string"}, "digest": {"type": "string"},
                          "version": {"type": "string"}, "active": {"type": "boolean"}}}

UPLOAD_BODY = {"required": True, "content": {
    "application/gzip": {"schema": {"type": "string", "format": "binary"}},
    "application/zip": {"schema": {"type": "string", "format": "binary"}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
}}


async def _capped_body(request: Request) -> bytes:
    limit = request.app.state.ctx.limits.max_archive_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Invalid(f"archive larger than {limit} bytes", code="ARCHIVE_TOO_LARGE")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Invalid(f"archive larger than {limit} bytes", code="ARCHIVE_TOO_LARGE")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/v1/rulesets", summary="Upload a rule set (.tar.gz or .zip); checked, then "
             "stored under its digest", status_code=201,
             openapi_extra={"requestBody": UPLOAD_BODY},
             responses={201: json_schema_response("stored", VERSION),
                        200: json_schema_response("already stored (same digest)", VERSION),
                        **errors(422)})
def upload(request: Request, body: bytes = Depends(_capped_body),
           key: KeyInfo = Depends(require("analyst"))) -> JSONResponse:
    ctx = request.app.state.ctx
    created, info = store_rulesets.upload(ctx.db, body, by=key.name, limits=ctx.limits)
    return JSONResponse(info, status_code=201 if created else 200)


@router.get("/v1/rulesets", summary="Every stored version",
            responses={200: json_schema_response("versions", {
                "type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": VERSION}}}),
                **errors()})
def list_rulesets(request: Request, name: str | None = None,
                  key: KeyInfo = Depends(require("analyst"))) -> dict:
    return {"items": store_rulesets.list_versions(request.app.state.ctx.db, name)}


@router.get("/v1/rulesets/active", summary="The active version",
            responses={200: json_schema_response("the active version", VERSION),
                       **errors(404)})
def active(request: Request, key: KeyInfo = Depends(require("evaluator"))) -> dict:
    info = store_rulesets.active_version(request.app.state.ctx.db)
    if info is None:
        raise NotFound("no rule set is active", code="NO_ACTIVE_RULESET")
    return info


@router.get("/v1/rulesets/{name}/{digest}", summary="One stored version with its files",
            responses={200: json_schema_response("the version and its files", {
                **VERSION, "required": VERSION["required"] + ["files"]}), **errors(404)})
def get_ruleset(request: Request, name: str, digest: str,
                key: KeyInfo = Depends(require("analyst"))) -> dict:
    return store_rulesets.get_version(request.app.state.ctx.db, name, digest)


@router.post("/v1/rulesets/{name}/{digest}/activate",
             summary="Make a stored version active (atomic; activate the previous one again "
                     "to roll back)",
             responses={200: json_schema_response("now active", VERSION), **errors(404)})
def activate(request: Request, name: str, digest: str,
             key: KeyInfo = Depends(require("admin"))) -> dict:
    ctx = request.app.state.ctx
    info = store_rulesets.activate(ctx.db, name, digest, by=key.name)
    ctx.rulesets.invalidate_active()
    # compiled here, before the answer, so the first decision under it does not pay the
    # compile inside its evaluation deadline (other processes compile on first use)
    ctx.rulesets.resolve(f"{name}@{digest}")
    return info
