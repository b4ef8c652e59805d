"""/docs and /redoc in chromium with nothing but this machine reachable: every script and
style comes from the package (api/console/static/vendor/), and the pages show operations."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_offline(service, offline):
    page = offline.page()
    page.goto(service.url + "/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20000)
    paths = page.eval_on_selector_all(".opblock-summary-path", "els => els.map(e => e.textContent)")
    assert offline.outside == []
    assert any("/v1/decisions" in p for p in paths)
    assert any("/v1/console/me" in p for p in paths)
    assert len(paths) > 30


def test_redoc_renders_offline(service, offline):
    page = offline.page()
    page.goto(service.url + "/redoc")
    page.wait_for_selector("[data-section-id^='operation/']", timeout=30000)
    operations = page.eval_on_selector_all("[data-section-id^='operation/']",
                                           "els => els.length")
    title = page.text_content("h1")
    assert offline.outside == []
    assert operations > 30
    assert title and "Ordinance" in title


def test_pages_name_only_local_assets(service):
    client = service.client(None)
    for path in ("/docs", "/redoc"):
        html = client.get(path).text
        assert "cdn.jsdelivr" not in html and "fonts.googleapis" not in html, path
        assert "/console/vendor/" in html, path
    assert client.get("/console/vendor/swagger-ui-bundle.js").status_code == 200
    assert client.get("/console/vendor/README.md").status_code == 200
    # only files under the console's folder, never a path outside it
    for bad in ("/console/%2e%2e/app.py", "/console/vendor/.hidden", "/console/nothing.js"):
        assert client.get(bad).status_code in (401, 404), bad
