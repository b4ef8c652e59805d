"""Operations in the console over the ACME rule set: an operator (an approver key) releases a
trade-compliance hold with a reason; an analyst lists returns and filters them; every screen
loads with nothing leaving the machine and without overflowing a phone's width."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from svc_helpers import ServerThread, Service, archive, make_service

from console_helpers import go, shoot, sign_in, watch_errors

pytestmark = pytest.mark.browser

ACME = Path(__file__).resolve().parents[2] / "rulesets" / "acme"
RUSSIA = {"street": "1 Tverskaya", "city": "Moscow", "country": "RU", "postal": "125009"}
SCREENS = ["rules", "editor", "tests", "simulations", "decisions", "operations",
           "operations/approvals", "operations/alerts", "operations/holds",
           "operations/reorders", "operations/rebates", "operations/returns", "reports"]


def order(oid: str, **over) -> dict:
    body = {"id": oid, "order_date": "2026-11-20T09:00:00Z", "channel": "web",
            "currency": "USD", "customer": {"id": "C-00004"},
            "ship_to": {"street": "1 Main St", "city": "Tampa", "country": "US",
                        "state": "FL", "postal": "33636"},
            "payment": {"method": "card"}, "requested_date": "2026-11-25",
            "lines": [{"id": "1", "sku": "HTL-0001", "quantity": 10},
                      {"id": "2", "sku": "FAS-0002", "quantity": 5}]}
    body.update(over)
    return body


@pytest.fixture(scope="module")
def acme(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    app, keys = make_service(database_url, tmp_path_factory.mktemp("cache"))
    with ServerThread(app) as server:
        svc = Service(server.url, database_url, keys, app)
        admin = svc.client("admin")
        r = admin.post("/v1/rulesets", content=archive(ACME),
                       headers={"Content-Type": "application/gzip"})
        assert r.status_code in (200, 201), r.text
        info = r.json()
        assert admin.post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate"
                          ).status_code == 200
        for oid, over in (("OK-1", {}), ("HOLD-1", {"ship_to": RUSSIA}),
                          ("OK-2", {"currency": "EUR"})):
            r = svc.client("evaluator").post("/v1/orders", json={"order": order(oid, **over),
                                                                  "as_of": "2026-11-20"})
            assert r.status_code == 201, r.text
        _returned(svc, "RET-1", "rma-ret-1")
        _returned(svc, "RET-2", "rma-ret-2", customer={"id": "C-00006"}, currency="EUR",
                  ship_to={"street": "Hauptstr. 1", "city": "Frankfurt", "country": "DE",
                           "postal": "60311"})
        try:
            yield svc
        finally:
            svc.close()


def _returned(svc: Service, oid: str, rma: str, **over) -> None:
    """An order shipped, delivered and returned in part (not paid: its refund is due)."""
    c = svc.client("evaluator")
    r = c.post("/v1/orders", json={"order": order(oid, **over), "as_of": "2026-11-20"})
    assert r.status_code == 201, r.text
    for eid, etype, extra in (("s", "scheduled", {}), ("r", "released", {}),
                              ("p", "shipment_confirmed", {"lines": [
                                  {"line_id": "1", "quantity": 10},
                                  {"line_id": "2", "quantity": 5}]}),
                              ("d", "delivered", {})):
        r = c.post(f"/v1/orders/{oid}/events", json={"id": eid, "type": etype, **extra})
        assert r.status_code == 200, r.text
    r = c.post(f"/v1/orders/{oid}/returns", json={"id": rma, "lines": [
        {"line_id": "1", "quantity": 2, "condition": "opened"}]})
    assert r.status_code == 200, r.text


def test_an_analyst_lists_and_filters_returns(acme, offline, shots):
    page = offline.page()
    errors = watch_errors(page)
    sign_in(page, acme.url, acme.keys["analyst"])
    go(page, "operations/returns")
    page.wait_for_selector("#ops-returns tbody tr")
    listed = page.eval_on_selector_all("#ops-returns tbody tr", "els => els.map(e => e.dataset.rma)")
    assert listed == ["rma-ret-2", "rma-ret-1"]                 # newest first
    api = acme.client("analyst").get("/v1/returns").json()["items"]
    first = page.text_content("#ops-returns tbody tr[data-rma='rma-ret-1']")
    mine = next(x for x in api if x["rma"] == "rma-ret-1")
    assert f"{mine['refund']} USD" in first and "C-00004" in first and "due" in first
    assert "HTL-0001 ×2 opened" in first
    shoot(page, shots, "returns")
    page.fill("#ret-customer", "C-00006")
    page.click("#ret-search")
    page.wait_for_function("document.querySelectorAll('#ops-returns tbody tr').length === 1")
    assert page.get_attribute("#ops-returns tbody tr", "data-rma") == "rma-ret-2"
    assert "EUR" in page.text_content("#ops-returns tbody tr")
    page.select_option("#ret-status", "refunded")
    page.wait_for_selector("#ops-returns p.muted")              # nothing refunded: none paid
    assert "No return matches" in page.text_content("#ops-returns")
    assert offline.outside == []
    assert errors == []


def test_an_evaluator_is_not_offered_returns(acme, offline):
    page = offline.page()
    sign_in(page, acme.url, acme.keys["evaluator"])
    go(page, "operations")
    page.wait_for_selector(".tabs button")
    tabs = page.eval_on_selector_all(".tabs button", "els => els.map(e => e.dataset.tab)")
    assert "returns" not in tabs and "alerts" in tabs


def test_operator_releases_a_hold_with_a_reason(acme, offline, shots):
    page = offline.page()
    errors = watch_errors(page)
    sign_in(page, acme.url, acme.keys["approver"])
    go(page, "operations/holds")
    card = page.locator(".card[data-order='HOLD-1']")
    card.wait_for()
    assert "DESTINATION_REVIEW" in card.text_content()
    shoot(page, shots, "holds")
    card.get_by_role("button", name="Release").click()     # no reason: refused, said why
    card.locator(".error").wait_for()
    assert "reason" in card.locator(".error").text_content()
    card.locator("input").fill("end user checked by trade compliance")
    card.get_by_role("button", name="Release").click()
    card.locator(".good").wait_for()
    assert "released" in card.locator(".good").text_content()
    timeline = acme.client("admin").get("/v1/orders/HOLD-1/timeline").json()
    assert timeline["holds"] == []
    release = [e for e in timeline["entries"] if e["kind"] == "release"]
    assert release and release[0]["cause"] == "end user checked by trade compliance"
    assert offline.outside == []
    assert errors == []


def test_an_analyst_sees_holds_but_may_not_release(acme, offline):
    page = offline.page()
    sign_in(page, acme.url, acme.keys["analyst"])
    go(page, "operations/holds")
    page.wait_for_selector("#ops-holds")
    assert page.get_by_role("button", name="Release").count() == 0


def test_no_screen_fetches_from_outside_or_overflows(acme, offline, shots):
    page = offline.page()
    errors = watch_errors(page)
    sign_in(page, acme.url, acme.keys["admin"])
    for screen in SCREENS:
        go(page, screen)
        page.wait_for_load_state("networkidle")
        shoot(page, shots, "all-" + screen.replace("/", "-"))
    # the reports answer per currency: USD and EUR apart, never added
    go(page, "reports")
    page.wait_for_selector("#rep-out .card")
    currencies = page.eval_on_selector_all("#rep-out .card", "els => els.map(e => e.dataset.currency)")
    assert sorted(currencies) == ["EUR", "USD"]
    assert offline.outside == []
    assert errors == []


def test_a_decision_is_explained(acme, offline, shots):
    page = offline.page()
    errors = watch_errors(page)
    sign_in(page, acme.url, acme.keys["analyst"])
    go(page, "decisions")
    page.fill("#dec-order", "OK-1")
    page.click("#dec-search")
    # the search's rows only (the screen first lists the newest decisions, OK-1 among them)
    page.wait_for_function("[...document.querySelectorAll('#dec-results tbody tr a')]"
                           ".every(a => a.textContent === 'OK-1')")
    page.click("#dec-results tbody tr a:text('OK-1')")
    page.wait_for_selector("#dec-detail h3")
    detail = page.text_content("#dec-detail")
    decision = acme.client("admin").get("/v1/orders/OK-1").json()["decision"]
    line = decision["pricing"]["lines"][0]
    assert "Pricing (USD)" in detail and decision["pricing"]["total"] in detail
    for tax in line["taxes"]:                       # tax by jurisdiction, with its rule
        assert tax["rule"] in detail and tax["amount"] in detail
    for adj in line["adjustments"]:                 # adjustments with their rules
        assert adj["rule"] in detail
    if any(x["allocations"] for x in decision["sourcing"]["lines"]):
        assert "Allocations" in detail
    for rule in decision["fired"][:5]:
        assert rule in detail
    shoot(page, shots, "decision-explained")
    assert offline.outside == []
    assert errors == []


def test_a_simulation_of_generated_orders(acme, offline):
    page = offline.page()
    errors = watch_errors(page)
    sign_in(page, acme.url, acme.keys["analyst"])
    go(page, "simulations")
    assert page.is_hidden("#sim-count")
    page.select_option("#sim-source", "generated")
    page.fill("#sim-count", "40")
    page.fill("#sim-seed", "7")
    page.click("#sim-start")
    page.wait_for_selector("#sim-report", timeout=90000)
    report = page.text_content("#sim-report")
    assert "40 orders, 0 changed" in report          # the active version against itself
    currencies = page.eval_on_selector_all(
        "#sim-report table:first-of-type tbody tr td:first-child",
        "els => [...new Set(els.map(e => e.textContent))]")
    assert len(currencies) >= 1
    assert offline.outside == []
    assert errors == []
