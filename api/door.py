"""What every request meets before its route, in this order (one ASGI middleware):

1. a NUL in the path or query string: 422 (PostgreSQL text cannot hold one);
2. the key: every path but `PUBLIC` needs a known key, checked before a byte of the body is
   read (401 `MISSING_KEY` / `BAD_KEY`); the route checks the role (403) with the key found
   here (`scope["state"]["key"]`);
3. the media type: a body POSTed or PUT to a JSON route must say `Content-Type: application/json`
   (415 `UNSUPPORTED_MEDIA_TYPE`); the upload routes (`RAW_BODY`) read their own types;
4. the size: a body over `ORDINANCE_MAX_BODY` is refused from its Content-Length, or while
   it streams in, the moment it passes the cap (413 `BODY_TOO_LARGE`): never buffered whole.
   The upload routes cap their own bodies (rule-set archives, simulation streams).

And the access log (logger `ordinance.access`, INFO): method, path (never the query string,
which may carry order data), status, milliseconds, the key's id and name; never the
Authorization header or the body.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from ordinance.adapters.db import DatabaseUnavailable

access = logging.getLogger("ordinance.access")

PUBLIC = frozenset({"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/"})
PUBLIC_PREFIX = "/console/"  # the console's static files (api/routes_console.py); no data
# (method, path) of the routes that read a body of their own type and cap it themselves
RAW_BODY = frozenset({("POST", "/v1/rulesets"), ("POST", "/v1/simulations")})


def _error(status: int, code: str, message: str,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers)


def _secret(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"authorization":
            scheme, _, secret = value.decode("latin-1").partition(" ")
            return secret.strip() if scheme.lower() == "bearer" else ""
    return ""


def _header(headers: list[tuple[bytes, bytes]], wanted: bytes) -> str | None:
    for name, value in headers:
        if name == wanted:
            return value.decode("latin-1")
    return None


def is_json(content_type: str | None) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/")
                                          and kind.endswith("+json"))


class Door:
    def __init__(self, app: Any, ctx: Any):
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = [0]
        key: Any = None

        async def logged_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            response, key, receive, logged_send = await self._check(scope, receive,
                                                                     logged_send)
            if response is not None:
                await response(scope, receive, logged_send)
            else:
                await self.app(scope, receive, logged_send)
        finally:
            if access.isEnabledFor(logging.INFO):
                who = f"key {key.id} {key.name}" if key is not None else "no key"
                access.info("%s %s %s %.1fms %s", scope["method"], scope["path"],
                            status[0] or "-", (time.perf_counter() - t0) * 1000, who)

    async def _check(self, scope: Any, receive: Any, send: Any) -> tuple[Any, Any, Any, Any]:
        path, method = scope.get("path", ""), scope["method"]
        qs = scope.get("query_string", b"")
        if "\x00" in path or b"%00" in qs or b"\x00" in qs:
            return (_error(422, "BAD_REQUEST", "NUL characters are not allowed in URLs"),
                    None, receive, send)
        if path in PUBLIC or path.startswith(PUBLIC_PREFIX):
            return None, None, receive, send
        headers = scope.get("headers", [])
        secret = _secret(headers)
        if not secret:
            return (_error(401, "MISSING_KEY", "missing API key: send `Authorization: Bearer "
                           "KEY`", {"WWW-Authenticate": "Bearer"}), None, receive, send)
        ring = self.ctx.keys
        known, key = ring.cached(secret)
        if not known:  # the database is asked off the event loop
            try:
                key = await run_in_threadpool(ring.authenticate, secret)
            except DatabaseUnavailable as exc:
                return (_error(503, "DATABASE_UNAVAILABLE", "the database is unavailable, "
                               f"nothing was stored: {exc}", {"Retry-After": "1"}),
                        None, receive, send)
        if key is None:
            return (_error(401, "BAD_KEY", "unknown or revoked API key",
                           {"WWW-Authenticate": "Bearer"}), None, receive, send)
        scope.setdefault("state", {})["key"] = key
        if (method, path) in RAW_BODY or method not in ("POST", "PUT", "PATCH"):
            return None, key, receive, send  # other methods' routes read no body
        length = _header(headers, b"content-length")
        chunked = _header(headers, b"transfer-encoding") is not None
        has_body = chunked or (length is not None and length.strip() not in ("", "0"))
        if has_body and not is_json(_header(headers, b"content-type")):
            return (_error(415, "UNSUPPORTED_MEDIA_TYPE",
                           "the body must be JSON, sent with Content-Type: application/json"),
                    key, receive, send)
        limit = self.ctx.settings.max_body_bytes
        too_large = _error(413, "BODY_TOO_LARGE", f"the body is larger than {limit} bytes "
                           "(ORDINANCE_MAX_BODY)")
        if length is not None and length.strip().isdigit() and int(length) > limit:
            return too_large, key, receive, send
        if not has_body:
            return None, key, receive, send
        return (None, key, *_capped(scope, receive, send, limit, too_large))


def _capped(scope: Any, receive: Any, send: Any, limit: int,
            too_large: JSONResponse) -> tuple[Any, Any]:
    """receive/send for the app: past `limit` bytes the client gets `too_large` at once, the
    app sees the client gone (and what it answers then is dropped)."""
    state = {"size": 0, "started": False, "refused": False}

    async def capped_receive() -> Any:
        if state["refused"]:
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.request":
            state["size"] += len(message.get("body", b""))
            if state["size"] > limit:
                state["refused"] = True
                if not state["started"]:
                    state["started"] = True
                    await too_large(scope, receive, send)
                return {"type": "http.disconnect"}
        return message

    async def guarded_send(message: Any) -> None:
        if state["refused"]:
            return
        if message["type"] == "http.response.start":
            state["started"] = True
        await send(message)

    return capped_receive, guarded_send
