"""The HTML report in headless Chromium: the charts render, and nothing is fetched."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from ordinance.simulator.replay import simulate
from ordinance.simulator.report import render
from ordinance.simulator.rulesets import resolve
from ordinance.simulator.streams import open_orders

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing under CI=true (make system-deps installs it)")
        pytest.skip(f"{CHROMIUM} is not installed (make system-deps installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_report_charts_render_offline(browser, data, tmp_path):
    summary = simulate(resolve(str(data / "base")), resolve(str(data / "candidate-rules")),
                       open_orders(str(data / "orders.jsonl")), executor="inline")
    path = tmp_path / "report.html"
    path.write_text(render(summary), encoding="utf-8")

    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    charts = page.eval_on_selector_all(
        "svg.chart", "els => els.map(e => { const r = e.getBoundingClientRect(); "
        "return [e.getAttribute('aria-label'), r.width, r.height, "
        "e.querySelectorAll('rect').length]; })")
    page.close()
    assert requests == [path.as_uri()]
    labels = [c[0] for c in charts]
    # no fx table in the test rule sets: one revenue chart per segment and currency
    for wanted in ("status transitions", "revenue change by channel, EUR",
                   "revenue change by country, EUR", "revenue change by tier, EUR",
                   "rule fire counts"):
        assert wanted in labels
    for label, width, height, rects in charts:
        assert width > 0 and height > 0, label
        assert rects > 0, label
    rules = next(c for c in charts if c[0] == "rule fire counts")
    # only the rules whose counts changed: approvals/big (1 order -> 2), both sides' bars
    assert rules[3] == 2 * 1


def test_report_reads_at_390_px(browser, data, tmp_path):
    """On a phone (390 px): the page does not scroll sideways (a wide chart or table scrolls in
    its own box, at full size), and chart labels are whole, never cut."""
    summary = simulate(resolve(str(data / "base")), resolve(str(data / "candidate-rules")),
                       open_orders(str(data / "orders.jsonl")), executor="inline")
    path = tmp_path / "report.html"
    path.write_text(render(summary), encoding="utf-8")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    page_width = page.evaluate("document.documentElement.scrollWidth")
    labels = page.eval_on_selector_all("svg.chart text title", "els => els.map(e => "
                                       "[e.parentElement.firstChild.textContent, e.textContent])")
    font = page.evaluate("getComputedStyle(document.body).fontSize")
    page.close()
    assert page_width <= 390
    assert labels and all(shown == whole for shown, whole in labels)
    assert float(font.rstrip("px")) >= 14
