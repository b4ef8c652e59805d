"""Every read of customer or order data leaves one audit entry per request, written here and
nowhere else (an ASGI middleware): who (the key), what (the action and the route, with the
order or decision it names), when, and the outcome (the status, 404 and 403 included).

`READS` names the audited GET routes by their path template; `NOT_AUDITED` the GET routes that
hold no customer or order data (rule sets, stock, the service's own pages). A test walks the
app's routes and fails on a GET route in neither, so a new read cannot go unaudited silently.

The entry is committed when the route has its answer and before the first byte of it is
sent (at `http.response.start`): a read is never answered without its trace; if the entry
cannot be written, the client gets 503 `DATABASE_UNAVAILABLE` instead of the data. A request
refused before it has a key (401) or before it matches a route is not an audited read (the
access log has it).
"""
from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from ordinance.adapters.db import DatabaseUnavailable

READS: dict[str, str] = {
    "/v1/orders": "list_orders",
    "/v1/orders/{order_id}": "read_order",
    "/v1/orders/{order_id}/versions": "read_versions",
    "/v1/orders/{order_id}/audit": "read_audit",
    "/v1/orders/{order_id}/timeline": "read_timeline",
    "/v1/orders/{order_id}/payments": "read_payments",
    "/v1/orders/{order_id}/invoices": "read_invoices",
    "/v1/invoices/{number}": "read_invoice",
    "/v1/invoices/{number}.pdf": "read_invoice",
    "/v1/decisions": "list_decisions",
    "/v1/decisions/{decision_id}": "read_decision",
    "/v1/approvals": "list_approvals",
    "/v1/alerts": "list_alerts",
    "/v1/reports/top": "read_report",
    "/v1/keys": "list_keys",
    "/v1/simulations": "list_simulations",
    "/v1/simulations/{job_id}": "read_simulation",      # its summary samples orders
    "/v1/simulations/{job_id}/report.html": "read_simulation",
    "/v1/webhooks/outbox": "read_outbox",                # notifications about orders
    "/v1/rebates/accruals": "read_accruals",
    "/v1/rollouts": "list_rollouts",
    "/v1/rollouts/{rollout_id}": "read_rollout",          # a shadow's summary samples orders
    "/v1/orders/{order_id}/promise": "read_promise",
}
NOT_AUDITED = frozenset({
    "/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc",
    "/v1/rulesets", "/v1/rulesets/active", "/v1/rulesets/{name}/{digest}",
    "/v1/reorders", "/v1/stock/{location}/{sku}",
    # the console (api/routes_console.py): its files, the caller's own key, a version's rules
    "/", "/console/{rel:path}", "/v1/console/me", "/v1/console/schemas",
    "/v1/console/rulesets/{name}/{digest}/rules",
    "/v1/console/rulesets/{name}/{digest}/generate",  # synthetic orders, nobody's
    "/v1/supply", "/v1/supply/{location}/{sku}",  # supply and reservations, no customer
})


def _key(scope: Any, ctx: Any) -> Any:
    """The caller's key: the one the door put in the scope, else the key ring's memory of the
    Authorization header (the route has just looked it up)."""
    key = scope.get("state", {}).get("key")
    if key is not None:
        return key
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, secret = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and secret.strip():
                known, key = ctx.keys.cached(secret.strip())
                return key if known else ctx.keys.authenticate(secret.strip())
    return None


def _entry(scope: Any, ctx: Any, status: int) -> dict[str, Any] | None:
    route = scope.get("route")
    template = getattr(route, "path", None)
    action = READS.get(template) if template else None
    if action is None or status == 401:
        return None
    key = _key(scope, ctx)
    if key is None:
        return None
    params = scope.get("path_params") or {}
    query = scope.get("query_string", b"").decode("latin-1")
    return {"key": key, "action": action, "order_id": params.get("order_id"),
            "decision_id": params.get("decision_id"),
            "detail": f"GET {template}{'?' + query if query else ''} -> {status}"}


class AuditReads:
    def __init__(self, app: Any, ctx: Any):
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        refused = False

        async def audited_send(message: Any) -> None:
            nonlocal refused
            if refused:
                return
            if message["type"] == "http.response.start":
                try:
                    await run_in_threadpool(self._record, scope, message["status"])
                except DatabaseUnavailable as exc:
                    refused = True
                    await JSONResponse(
                        {"error": {"code": "DATABASE_UNAVAILABLE",
                                   "message": f"the read could not be audited, so it is not "
                                              f"answered: {exc}"}},
                        status_code=503, headers={"Retry-After": "1"})(scope, receive, send)
                    return
            await send(message)

        await self.app(scope, receive, audited_send)

    def _record(self, scope: Any, status: int) -> None:
        entry = _entry(scope, self.ctx, status)
        if entry is not None:
            self.ctx.hub.record_read(**entry)
