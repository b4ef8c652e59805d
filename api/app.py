"""The REST service: `create_app(settings)` wires storage, keys and the route modules.

Each route module exposes `router`; this module only builds the shared context (database,
key ring, rule-set cache, decision log, order hub), maps service errors to statuses, and
includes the routers. Errors always have one shape:

    {"error": {"code": "BAD_ORDER", "message": "...", "path": "$.order.lines[0].quantity"}}
"""
from __future__ import annotations

import importlib
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ordinance.adapters import db as dbmod
from ordinance.adapters import decision_index, webhooks
from ordinance.adapters.clock import Clock, SystemClock, clock_from_env
from ordinance.adapters.orchestration import Orchestrator
from ordinance.adapters.worker import Worker
from ordinance.adapters.hub import Hub
from ordinance.adapters import store
from ordinance.adapters.store import (Conflict, Forbidden, Invalid, NotFound, ServiceError,
                                        TooLarge)
from ordinance.adapters.store_decisions import DecisionLog
from ordinance.adapters.store_keys import KeyRing
from ordinance.adapters.store_rulesets import Limits, RuleSets

from .audit import AuditReads
from .auth import RoleTooWeak, Unauthorized
from .door import Door
from .evaluation import Evaluators
from .settings import Settings
from .usecases import rollout, simulate

log = logging.getLogger("ordinance.api")

ROUTE_MODULES = [
    "ordinance.api.routes_decisions",
    "ordinance.api.routes_rulesets",
    "ordinance.api.routes_orders",
    "ordinance.api.routes_approvals",
    "ordinance.api.routes_reports",
    "ordinance.api.routes_keys",
    "ordinance.api.routes_simulations",   # another engineer's; included when importable
    "ordinance.api.routes_events",        # orchestration: events, timeline, holds (issue #6)
    "ordinance.api.routes_alerts",        # orchestration: alerts (issue #6)
    "ordinance.api.routes_payments",      # orchestration: payments, invoices (issue #6)
    "ordinance.api.routes_webhooks",      # orchestration: webhooks outbox (issue #6)
    "ordinance.api.routes_why",           # redecide a logged decision, remedies (issue #18)
    "ordinance.api.routes_console",       # the console at / and offline /docs, /redoc (#19)
    "ordinance.api.routes_configure",     # product configurator (issue #17)
    "ordinance.api.routes_rollout",       # shadow and KPI-gated rollouts (issue 18)
    "ordinance.api.routes_supply",        # promising: supply, availability (issue 14)
]
OPTIONAL_MODULES = {"ordinance.api.routes_simulations"}


@dataclass
class Context:
    settings: Settings
    db: dbmod.Database
    keys: KeyRing
    rulesets: RuleSets
    log: DecisionLog
    hub: Hub
    limits: Limits
    evaluators: Evaluators
    clock: Clock


def build_context(settings: Settings) -> Context:
    db, clock = dbmod.connect(settings.database_url), clock_from_env()
    if settings.auto_migrate:
        dbmod.upgrade(db)
    return Context(
        settings=settings, db=db, keys=KeyRing(db),
        rulesets=RuleSets(db, settings.cache_dir, settings.active_ttl),
        log=DecisionLog(db, batch_max=settings.log_batch_max), hub=Hub(db),
        limits=Limits(max_archive_bytes=settings.max_upload_bytes,
                      max_unpacked_bytes=settings.max_unpacked_bytes,
                      max_files=settings.max_files),
        evaluators=Evaluators(settings.eval_threads, settings.eval_timeout), clock=clock)


STATUS = [
    (TooLarge, 413), (Unauthorized, 401), (RoleTooWeak, 403), (Forbidden, 403), (NotFound, 404),
    (Conflict, 409), (Invalid, 422),
]


def _status_for(exc: ServiceError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 503


def error_response(status: int, code: str, message: str, path: str | None = None,
                   details: Any = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if path is not None:
        body["path"] = path
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(_req: Request, exc: ServiceError) -> JSONResponse:
        status = _status_for(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status == 503:
            headers = {"Retry-After": "1"}
        return error_response(status, exc.code, exc.message, exc.path, exc.details, headers)

    @app.exception_handler(dbmod.DatabaseUnavailable)
    async def db_down(_req: Request, exc: dbmod.DatabaseUnavailable) -> JSONResponse:
        return error_response(503, "DATABASE_UNAVAILABLE",
                              f"the database is unavailable, nothing was stored: {exc}",
                              headers={"Retry-After": "1"})

    @app.exception_handler(RequestValidationError)
    async def bad_request(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = [str(p) for p in first.get("loc", ())]
        path = ".".join(loc) if loc else None
        if loc and loc[0] in ("query", "path", "header"):
            path = ".".join(loc[1:]) or loc[0]
        elif loc and loc[0] == "body":
            path = "$" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc[1:])
        return error_response(422, "BAD_REQUEST", str(first.get("msg", "invalid request")),
                              path)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(req: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI could not read a body as JSON (not UTF-8, ...)
            return error_response(422, "BAD_JSON", "the body is not valid JSON (UTF-8)", "$")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # each route knows its own methods; the path has them all
            headers = {**(headers or {}), "Allow": ", ".join(_allowed(req))}
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, "INTERNAL", "an unexpected error; it has been logged")


def _allowed(req: Request) -> list[str]:
    """Every method the request's path answers (its routes' methods, in one list)."""
    from starlette.routing import Match

    scope = {**req.scope, "method": "\0"}
    methods: set[str] = set()
    routes = list(req.app.routes)
    while routes:
        route = routes.pop()
        inner = getattr(route, "original_router", None)  # an included router (no prefix here)
        if inner is not None:
            routes.extend(inner.routes)
        elif getattr(route, "methods", None) and route.matches(scope)[0] != Match.NONE:
            methods.update(route.methods)
    return sorted(methods)


def create_app(settings: Settings | None = None, context: Context | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    ctx = context or build_context(settings)
    store.configure(ctx.settings.max_items, ctx.settings.max_lines)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = start_worker(app) if ctx.settings.worker else None
        yield
        if worker is not None:
            worker.stop()
        ctx.evaluators.close()
        ctx.log.close()
        ctx.db.dispose()

    app = FastAPI(
        title="Ordinance",
        version="1.0",
        description="Order policies: decisions, rule-set versions, the decision log, the "
                    "order hub and approvals. Every request carries `Authorization: Bearer KEY`.",
        lifespan=lifespan,
        docs_url=None, redoc_url=None,  # served offline by api/routes_console.py
    )
    app.state.ctx = ctx
    _install_handlers(app)
    app.add_middleware(AuditReads, ctx=ctx)  # inside the door: the key is known
    app.add_middleware(Door, ctx=ctx)

    @app.get("/health", tags=["service"], summary="Liveness and database reachability",
             responses={503: {"description": "database unreachable"}})
    def health() -> dict[str, str]:
        ctx.db.ping()
        return {"status": "ok"}

    for name in ROUTE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if name in OPTIONAL_MODULES and exc.name == name:
                continue
            raise
        app.include_router(module.router)
    app.openapi = lambda: _document(app)  # type: ignore[method-assign]
    return app


def _document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI document, plus what the routes' declarations cannot say: the shared
    schemas (api/schemas.py) and, on every text parameter without a pattern of its own, that
    a NUL is refused (api/door.py)."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        from .schemas import COMPONENTS, NO_NUL

        doc = get_openapi(title=app.title, version=app.version, description=app.description,
                          routes=app.routes)
        doc.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
        for operations in doc.get("paths", {}).values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    _no_nul(parameter.get("schema", {}), NO_NUL)
        app.openapi_schema = doc
    return app.openapi_schema


def _no_nul(schema: dict[str, Any], pattern: str) -> None:
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string" and "pattern" not in branch and "enum" not in branch:
            branch["pattern"] = pattern


def background_worker(app: FastAPI) -> Worker | None:
    """The worker of this process (adapters/worker.py): fires due timers, delivers the
    outbox (webhooks, fulfilment requests), takes over simulations whose instance stopped
    (simulator/jobs.py `pick_up`) and keeps the decision log's rule index caught up
    (adapters/decision_index.py `catch_up`; searches never do it). None under a manual clock, where time moves only
    when a test or a replay says so and the admin routes run due work."""
    ctx = app.state.ctx
    orch = getattr(app.state, "orchestration", None)
    if orch is None:
        orch = app.state.orchestration = Orchestrator(ctx.db, ctx.rulesets, ctx.clock)
    if not isinstance(orch.clock, SystemClock):
        return None
    return Worker([("timers", orch.tick),
                   ("outbox", lambda: webhooks.deliver_due(ctx.db, orch.clock.now())),
                   ("simulations", lambda: simulate.runner(app.state).pick_up()),
                   ("rollouts", lambda: rollout.live(ctx).round(ctx)),
                   ("decision_index", lambda: decision_index.catch_up(ctx.db))],
                  interval=ctx.settings.worker_interval)


def start_worker(app: FastAPI) -> Worker | None:
    worker = background_worker(app)
    return worker.start() if worker is not None else None


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` (one per worker process)."""
    return create_app(Settings.from_env())
