"""API keys over REST (admin): create (the secret is in the answer, once), list, revoke by
id (`DELETE /v1/keys/{id}`) or by prefix (`DELETE /v1/keys/prefix/{prefix}`), never by name."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ordinance.adapters import store_keys
from ordinance.adapters.store_keys import KeyInfo

from . import schemas
from .auth import require
from .routes_decisions import errors, json_schema_response

router = APIRouter(tags=["keys"])


class NewKey(BaseModel):
    # only approver and admin keys approve (adapters/store_keys.py, create_key)
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "if": {"required": ["role"],
               "properties": {"role": {"enum": ["evaluator", "analyst"]}}},
        "then": {"properties": {"approves": {"maxItems": 0}}}})
    role: Literal["evaluator", "analyst", "approver", "admin"]
    # printable, not only spaces: checked by store_keys.check_name, said by the pattern
    name: str | None = Field(None, max_length=200, json_schema_extra=schemas.exactly({
        "anyOf": [{"type": "null"}, {"type": "string", "maxLength": 200,
                                     "pattern": schemas.KEY_NAME}]}))
    approves: list[Annotated[str, Field(pattern=schemas.BUSINESS_ROLE)]] = Field(
        default_factory=list, max_length=100)


KEY = {"type": "object", "required": ["id", "name", "role", "approves"]}


@router.post("/v1/keys", status_code=201, summary="Create a key (shown once); its name is "
             "printable and unique among active keys",
             responses={201: json_schema_response("the key, with its secret in `key`", KEY),
                        **errors(422)})
def create(request: Request, body: NewKey,
           key: KeyInfo = Depends(require("admin"))) -> JSONResponse:
    approves = store_keys.parse_approves(",".join(body.approves))
    secret, info = store_keys.create_key(request.app.state.ctx.db, body.role, body.name,
                                         approves)
    return JSONResponse({"key": secret, **info}, status_code=201)


@router.get("/v1/keys", summary="Every key (never the secrets)",
            responses={200: json_schema_response("keys", {
                "type": "object", "required": ["items"]}), **errors()})
def list_keys(request: Request, key: KeyInfo = Depends(require("admin"))) -> dict:
    return {"items": store_keys.list_keys(request.app.state.ctx.db)}


@router.delete("/v1/keys/{key_id}", summary="Revoke a key by its id",
               responses={200: json_schema_response("revoked", KEY), **errors(404)})
def revoke(request: Request, key_id: int = Path(ge=1, le=2**31 - 1),
           key: KeyInfo = Depends(require("admin"))) -> dict:
    ctx = request.app.state.ctx
    info = store_keys.revoke_key(ctx.db, key_id=key_id)
    ctx.keys.forget()
    return info


@router.delete("/v1/keys/prefix/{prefix}",
               summary="Revoke a key by its prefix (the first 10 characters of its secret)",
               responses={200: json_schema_response("revoked", KEY), **errors(404, 409)})
def revoke_by_prefix(request: Request, prefix: str = Path(min_length=1, max_length=16),
                     key: KeyInfo = Depends(require("admin"))) -> dict:
    ctx = request.app.state.ctx
    info = store_keys.revoke_key(ctx.db, prefix=prefix)
    ctx.keys.forget()
    return info
