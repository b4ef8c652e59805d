"""The analyst console and the OpenAPI pages, served from files in the package (no CDN).

- `GET /` the console (api/console/static/index.html), a small ES-module app over the REST API;
- `GET /console/{file}` its static files and the bundled third-party assets
  (api/console/static/vendor/, each with its version and licence in vendor/README.md);
- `GET /docs`, `GET /redoc` Swagger UI and ReDoc over `/openapi.json`, from the same files;
- `/v1/console/...` the few reads and actions the console needs that the API lacks
  (api/routes_console_api.py).

The static paths are public at the door (api/door.py): they carry no data, and every data
request the console makes carries the key the user logged in with.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import (get_redoc_html, get_swagger_ui_html,
                                  get_swagger_ui_oauth2_redirect_html)
from fastapi.responses import FileResponse, HTMLResponse, Response

from ordinance.adapters.store import NotFound

from .routes_console_api import router as api_router

STATIC = Path(__file__).resolve().parent / "console" / "static"
VENDOR = "/console/vendor"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".html": "text/html; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml",
         ".md": "text/markdown; charset=utf-8", ".txt": "text/plain; charset=utf-8",
         ".json": "application/json"}
# the only files served: nothing outside STATIC, no dot-files, no other kinds
MAX_DEPTH = 3

router = APIRouter()
router.include_router(api_router)


def _static(rel: str) -> Path:
    parts = rel.split("/")
    if (len(parts) > MAX_DEPTH or any(not p or p.startswith(".") for p in parts)):
        raise NotFound(f"no console file {rel!r}", code="NOT_FOUND")
    path = STATIC.joinpath(*parts)
    if path.suffix not in TYPES and not path.name.endswith("LICENSE"):
        raise NotFound(f"no console file {rel!r}", code="NOT_FOUND")
    if not path.is_file() or STATIC not in path.resolve().parents:
        raise NotFound(f"no console file {rel!r}", code="NOT_FOUND")
    return path


@router.get("/", include_in_schema=False)
def console() -> Response:
    return FileResponse(STATIC / "index.html", media_type=TYPES[".html"],
                        headers={"Cache-Control": "no-cache"})


@router.get("/console/{rel:path}", include_in_schema=False)
def console_file(rel: str) -> Response:
    path = _static(rel)
    kind = TYPES.get(path.suffix, "text/plain; charset=utf-8")
    cache = "public, max-age=86400" if rel.startswith("vendor/") else "no-cache"
    return FileResponse(path, media_type=kind, headers={"Cache-Control": cache})


@router.get("/docs", include_in_schema=False)
def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title="Ordinance - Swagger UI",
        swagger_js_url=f"{VENDOR}/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui.css",
        swagger_favicon_url=f"{VENDOR}/favicon-32x32.png",
        oauth2_redirect_url="/docs/oauth2-redirect")


@router.get("/docs/oauth2-redirect", include_in_schema=False)
def swagger_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", include_in_schema=False)
def redoc() -> HTMLResponse:
    return get_redoc_html(openapi_url="/openapi.json", title="Ordinance - ReDoc",
                          redoc_js_url=f"{VENDOR}/redoc.standalone.js",
                          redoc_favicon_url=f"{VENDOR}/favicon-32x32.png",
                          with_google_fonts=False)
