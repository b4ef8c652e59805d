"""Bearer keys and roles at the door: `Depends(require("analyst"))` gives the caller's key.

The key itself is checked by the door (api/door.py) before the body is read; here the role.
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


async def check_key(request: Request, role: str, secret: str | None = None) -> KeyInfo:
    """The caller's key, if it is known and holds `role` (else 401/403). Reads the
    Authorization header itself unless `secret` is given."""
    key = request.scope.get("state", {}).get("key")
    if key is not None:  # the door (api/door.py) found it before the body was read
        if not key.has_role(role):
            raise RoleTooWeak(f"this needs the {role} role; key {key.name!r} is {key.role}",
                              code="ROLE_TOO_WEAK")
        return key
    if secret is None:
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            secret = ""
        secret = secret.strip()
    if not secret:
        raise Unauthorized("missing API key: send `Authorization: Bearer KEY`",
                           code="MISSING_KEY")
    ring = request.app.state.ctx.keys
    known, key = ring.cached(secret)
    if not known:  # the database is asked off the event loop
        key = await run_in_threadpool(ring.authenticate, secret)
    if key is None:
        raise Unauthorized("unknown or revoked API key", code="BAD_KEY")
    if not key.has_role(role):
        raise RoleTooWeak(f"this needs the {role} role; key {key.name!r} is {key.role}",
                          code="ROLE_TOO_WEAK")
    return key


# For routes that take only the request (the hot decision routes, where each dependency
# FastAPI resolves costs time): declares the bearer scheme in their OpenAPI entry.
SECURITY = {"security": [{"HTTPBearer": []}]}


def require(role: str) -> Callable[..., KeyInfo]:
    async def dependency(request: Request,
                         creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> KeyInfo:
        return await check_key(request, role, creds.credentials if creds else "")

    dependency.__name__ = f"require_{role}"
    return dependency
