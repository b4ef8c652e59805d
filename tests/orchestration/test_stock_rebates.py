"""Reorder proposals and supplier rebates over HTTP: stock after allocations and shipments,
the economic quantity from the preferred supplier, a tier crossed mid-quarter re-rating the
period's accrual to the cent, and ship-and-debit claims computed exactly."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any


def net_of(view: dict[str, Any], line_id: str) -> Decimal:
    lines = view["decision"]["pricing"]["lines"]
    return Decimal(next(ln["net"] for ln in lines if ln["line_id"] == line_id))


def ship_all(orch: Any, oid: str, lines: list[dict[str, Any]], at: str) -> dict[str, Any]:
    orch.event(oid, f"{oid}-s", "scheduled", at=at)
    orch.event(oid, f"{oid}-r", "released", at=at)
    return orch.event(oid, f"{oid}-ship", "shipment_confirmed", lines=lines, at=at)


def test_allocation_below_the_reorder_point_proposes_the_economic_quantity(orch: Any) -> None:
    view = orch.order("RO-1", lines=[{"id": "1", "sku": "HTL-0004", "quantity": 20}])
    alloc = view["decision"]["sourcing"]["lines"][0]["allocations"]
    assert [a["location"] for a in alloc] == ["WH-NJ"]
    c = orch.http("analyst")
    before = c.get("/v1/reorders").json()["items"]
    assert not [r for r in before if r["sku"] == "HTL-0004"]
    # the first event reserves the allocation: 718 on hand - 20 allocated = 698 < 700
    r = orch.event("RO-1", "a", "scheduled", at="2026-11-20T10:00:00Z")
    assert {"kind": "reorder", "rule": "reorder/below-reorder-point"}.items() <= \
        r["effects"][0].items()
    (p,) = [x for x in c.get("/v1/reorders").json()["items"] if x["sku"] == "HTL-0004"]
    assert (p["location"], p["quantity"], p["supplier"], p["state"]) == (
        "WH-NJ", "400", "SUP-TOOLRITE", "proposed")
    assert p["reason"] == "available 698 below the reorder point 700"
    # shipping keeps available where it was (on hand and allocation both drop): no second one
    orch.event("RO-1", "b", "released", at="2026-11-20T11:00:00Z")
    orch.event("RO-1", "c", "shipment_confirmed", lines=[{"line_id": "1", "quantity": 20}],
               at="2026-11-20T12:00:00Z")
    assert len([x for x in c.get("/v1/reorders").json()["items"]
                if x["sku"] == "HTL-0004"]) == 1
    stock = c.get("/v1/stock/WH-NJ/HTL-0004").json()
    assert (stock["on_hand"], stock["allocated"], stock["available"]) == ("698", "0", "698")
    assert c.get("/v1/reorders", params={"state": "x"}).status_code == 422


def test_a_tier_crossed_mid_quarter_re_rates_the_accrual_to_the_cent(orch: Any) -> None:
    a = orch.order("RB-1", lines=[{"id": "1", "sku": "FAS-0007", "quantity": 400}])
    b = orch.order("RB-2", lines=[{"id": "1", "sku": "FAS-0007", "quantity": 150},
                                  {"id": "2", "sku": "FAS-0017", "quantity": 60}])
    net_a, net_b1, net_b2 = net_of(a, "1"), net_of(b, "1"), net_of(b, "2")
    ship_all(orch, "RB-1", [{"line_id": "1", "quantity": 400}], "2026-11-20T10:00:00Z")
    c = orch.http("analyst")
    (acc,) = c.get("/v1/rebates/accruals", params={"programme": "RB-FASTCO-2026"}).json()[
        "items"]
    cent = Decimal("0.01")
    assert (acc["period"], acc["quantity"], acc["rate"]) == ("2026-Q4", "400", "2")
    assert Decimal(acc["accrued"]) == (net_a * 2 / 100).quantize(cent, ROUND_HALF_UP)
    # the second order takes the quarter past 500 units: 3% on everything shipped in it
    r = orch.event("RB-2", "s", "scheduled", at="2026-12-01T10:00:00Z")
    orch.event("RB-2", "r", "released", at="2026-12-01T10:00:00Z")
    orch.event("RB-2", "p1", "shipment_confirmed", at="2026-12-01T11:00:00Z",
               lines=[{"line_id": "1", "quantity": 100}, {"line_id": "2", "quantity": 60}])
    orch.event("RB-2", "p2", "shipment_confirmed", at="2026-12-02T11:00:00Z",
               lines=[{"line_id": "1", "quantity": 50}])
    (acc,) = c.get("/v1/rebates/accruals", params={"programme": "RB-FASTCO-2026"}).json()[
        "items"]
    share1 = (net_b1 * 100 / 150).quantize(cent, ROUND_HALF_UP)
    share2 = (net_b1 * 50 / 150).quantize(cent, ROUND_HALF_UP)
    total = net_a + share1 + net_b2 + share2
    assert acc["quantity"] == "610" and acc["rate"] == "3"
    assert Decimal(acc["amount"]) == total
    assert Decimal(acc["accrued"]) == (total * 3 / 100).quantize(cent, ROUND_HALF_UP)
    deltas = [Decimal(e["accrued_delta"]) for e in acc["entries"]]
    assert sum(deltas) == Decimal(acc["accrued"])  # the entries reconcile to the accrual
    assert [e["rate_after"] for e in acc["entries"]] == ["2", "3", "3", "3"]
    claims = [x for x in c.get("/v1/rebates/accruals").json()["claims"]
              if x["order_id"] == "RB-2"]
    assert [(x["agreement"], x["quantity"], x["amount"]) for x in claims] == [
        ("SD-FASTCO-GOV-2026", "60", "153.00")]  # (12.40 - 9.85) x 60
    assert r["state"] == "scheduled"


def test_a_eur_shipment_accrues_to_the_usd_programme_converted_at_the_dated_rates(
        orch: Any) -> None:
    """RB-FASTCO-2026 is a USD programme; a shipment priced in euros is converted at the rule
    set's fx.csv rates (units per US dollar, dated), never added as euros, and the accrual's
    outcome records the rate and the date it used."""
    view = orch.order("RB-EUR", currency="EUR",
                      lines=[{"id": "1", "sku": "FAS-0007", "quantity": 10}])
    assert view["decision"]["pricing"]["currency"] == "EUR"
    net_eur = net_of(view, "1")
    ship_all(orch, "RB-EUR", [{"line_id": "1", "quantity": 10}], "2027-02-01T10:00:00Z")
    c = orch.http("analyst")
    (acc,) = c.get("/v1/rebates/accruals", params={"programme": "RB-FASTCO-2026",
                                                    "period": "2027-Q1"}).json()["items"]
    cent = Decimal("0.01")
    usd = (net_eur / Decimal("0.92")).quantize(cent, ROUND_HALF_UP)   # fx.csv: EUR 0.92/USD
    assert usd != net_eur
    assert (acc["quantity"], acc["amount"], acc["rate"]) == ("10", str(usd), "2")
    assert Decimal(acc["accrued"]) == (usd * 2 / 100).quantize(cent, ROUND_HALF_UP)
    (entry,) = [e for e in orch.timeline("RB-EUR")["entries"] if e["kind"] == "rebate"]
    assert entry["detail"]["currency"] == "USD"
    assert entry["detail"]["converted"] == {
        "from": "EUR", "amount": str(net_eur), "to": "USD", "amount_converted": str(usd),
        "rate": "1/0.92", "rates": "fx.csv of 2026-11-01", "date": "2026-11-01"}
    # The accrual's own entry row keeps the conversion too: auditable without the timeline.
    (row,) = acc["entries"]
    assert (row["amount"], row["converted"]) == (str(usd), {
        "from": "EUR", "amount": str(net_eur), "rate": "1/0.92", "date": "2026-11-01"})


def test_a_shipment_the_rates_cannot_convert_is_refused_with_the_reason() -> None:
    """Unit level (adapters/rebates.py): no rate for the shipment's currency is a rule error
    naming both currencies, never an accrual of the raw amount."""
    from datetime import datetime, timezone

    import pytest
    from ordinance.adapters import rebates
    from ordinance.engine.values import RuleError

    reference = {"rebate_programmes": [{"programme": "P", "period": "quarter",
                                        "tiers": "0:2", "currency": "USD"}],
                 "fx": [{"currency": "USD", "per_usd": Decimal(1), "date": "2026-11-01"},
                        {"currency": "EUR", "per_usd": Decimal("0.92"), "date": "2026-11-01"}]}
    at = datetime(2026, 11, 20, tzinfo=timezone.utc)
    row = rebates.new_accrual(("P", "2026-Q4"), at)
    with pytest.raises(RuleError, match="a shipment in CHF for rebate programme P in USD "
                                        "cannot be converted: no rate for CHF in fx.csv"):
        rebates.accrue(row, reference, {"programme": "P", "quantity": Decimal(1),
                                        "amount": Decimal("10.00"), "currency": "CHF"}, "O", at)
    assert row["amount"] == "0"
    out, entry = rebates.accrue(row, reference, {"programme": "P", "quantity": Decimal(1),
                                                 "amount": Decimal("9.20"),
                                                 "currency": "EUR"}, "O", at)
    assert (entry["amount"], out["converted"]["rate"]) == ("10.00", "1/0.92")
    assert row["amount"] == "10.00" and row["accrued"] == "0.20"
