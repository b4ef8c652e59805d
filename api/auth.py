"""Bearer keys and roles at the door: `Depends(require("analyst"))` gives the caller's key.

Missing or unknown key: 401 (with `WWW-Authenticate: Bearer`); a key whose role is too weak
for the route: 403. Roles are ordered evaluator < analyst < approver < admin.
"""
from __future__ import annotations

from typing import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from ordinance.adapters.store import ServiceError
from ordinance.adapters.store_keys import KeyInfo

bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer KEY`")


class Unauthorized(ServiceError):
    code = "UNAUTHORIZED"


class RoleTooWeak(ServiceError):
    code = "FORBIDDEN"


def require(role: str) -> Callable[..., KeyInfo]:
    async def dependency(request: Request,
                         creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> KeyInfo:
        if creds is None or not creds.credentials:
            raise Unauthorized("missing API key: send `Authorization: Bearer KEY`",
                               code="MISSING_KEY")
        ring = request.app.state.ctx.keys
        known, key = ring.cached(creds.credentials)
        if not known:  # the database is asked off the event loop
            key = await run_in_threadpool(ring.authenticate, creds.credentials)
        if key is None:
            raise Unauthorized("unknown or revoked API key", code="BAD_KEY")
        if not key.has_role(role):
            raise RoleTooWeak(f"this needs the {role} role; key {key.name!r} is {key.role}",
                              code="ROLE_TOO_WEAK")
        return key

    dependency.__name__ = f"require_{role}"
    return dependency
