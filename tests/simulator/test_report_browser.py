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
    assert rules[3] == 2 * 9          # a baseline and a candidate bar for each of the 9 rules


def test_report_reads_at_phone_width_with_the_changed_rules_first(browser, data, tmp_path):
    summary = simulate(resolve(str(data / "base")), resolve(str(data / "candidate-rules")),
                       open_orders(str(data / "orders.jsonl")), executor="inline")
    path = tmp_path / "report.html"
    path.write_text(render(summary), encoding="utf-8")
    changed = {r for r in summary["baseline"]["rule_fires"]
               if summary["baseline"]["rule_fires"].get(r, 0)
               != summary["candidate"]["rule_fires"].get(r, 0)}
    changed |= {r for r in summary["candidate"]["rule_fires"]
                if r not in summary["baseline"]["rule_fires"]}
    assert changed, "the test rule sets change some rule's count"
    page = browser.new_page(viewport={"width": 390, "height": 800})
    page.goto(path.as_uri())
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    rows = page.evaluate(
        "() => { const h = [...document.querySelectorAll('h3')].find("
        "e => e.textContent === 'Rules whose counts changed');"
        "return [...h.nextElementSibling.querySelectorAll('tbody tr td:first-child')]"
        ".map(td => td.textContent); }")
    labels = page.eval_on_selector_all("svg.chart text", "els => els.map(e => e.textContent)")
    page.screenshot(path=str(tmp_path / "report-390.png"), full_page=True)
    page.close()
    assert scroll <= inner, f"{scroll} px wide at 390"
    assert set(rows) == changed
    assert not [t for t in labels if t.endswith("…")]  # no label of these rule sets is cut
