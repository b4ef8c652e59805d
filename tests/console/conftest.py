"""Fixtures for the console's browser tests: the service on a real database (SQLite file, then
a PostgreSQL database of its own; tests/api/svc_helpers.py), served by uvicorn on 127.0.0.1,
one key per role, and Debian's chromium driven by Playwright with every request that would
leave the machine aborted and recorded (`offline_page`).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "api"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # console_helpers

from svc_helpers import database_url  # noqa: E402,F401 - the shared fixture
from svc_helpers import Service, service_with_c07  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LOCAL = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing under CI=true (make system-deps installs it)")
        pytest.skip(f"{CHROMIUM} is not installed (make system-deps installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Offline:
    """A browser context where every request to a host other than this machine is aborted
    and written down in `outside`."""

    def __init__(self, browser: Any, width: int = 1400, height: int = 900):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.outside: list[str] = []
        self.context.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        url = route.request.url
        host = urlsplit(url).hostname
        if url.startswith(("data:", "blob:", "about:")) or host in LOCAL:
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def page(self) -> Any:
        return self.context.new_page()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def offline(browser: Any) -> Iterator[Offline]:
    ctx = Offline(browser)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def service(database_url: str,  # noqa: F811 - the shared fixture
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A running service with c07-approval uploaded and active."""
    yield from service_with_c07(database_url, tmp_path_factory.mktemp("cache"))


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshots go: ORDINANCE_CONSOLE_SHOTS to keep them, else the test's tmp."""
    keep = os.environ.get("ORDINANCE_CONSOLE_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        return Path(keep)
    return tmp_path
