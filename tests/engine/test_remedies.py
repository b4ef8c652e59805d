"""engine/remedies.py: counterfactual remedies, each verified by its own re-decision.

The property: over generated ACME orders (simulator/generate.py, some spoiled, some given a
manual discount or a bigger quantity), every remedy shown, applied by THIS test's own reading
of its changes and decided again with the same rule set, meets what its kind promises (a
cheaper unit, the discount applied, the approval or violation gone, nothing backordered) and
rejects nothing that was not rejected. The same over ACME with the packs of why_packs/ (a
coupon, a channel offer, a tier offer; approvals per line on a line's quantity, amount and
discount), the orders given coupons, promotion codes, channels and negotiated prices: a
per-line approval's remedy leaves fewer approvals of its rule and role, and the rule no longer
fires on that line. Then one worked example per kind, and `nearest`.
"""
from __future__ import annotations

import atexit
import copy
import datetime
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ordinance.engine import BadOrder, load, parse_order
from ordinance.engine.probe import Probe, nearest, rule_holds
from ordinance.engine.remedies import why_not
from ordinance.simulator.generate import dumps_order, generate_orders, load_catalogue

ACME = Path(__file__).resolve().parents[2] / "rulesets" / "acme"
RS = load(ACME)
CATALOGUE = load_catalogue(ACME)
D = datetime.date(2026, 11, 20)


def _with_why_packs() -> Path:
    """ACME with the packs of why_packs/ added, in a directory removed at exit."""
    where = tempfile.TemporaryDirectory(prefix="why-packs-")
    atexit.register(where.cleanup)
    root = Path(where.name) / "acme"
    shutil.copytree(ACME, root)
    for pack in (Path(__file__).parent / "why_packs").glob("*.yaml"):
        shutil.copy(pack, root / "packs" / pack.name)
    return root


RSX = load(_with_why_packs())
PRICES = {str(r["sku"]): Decimal(str(r["USD"])) for r in RS.model.tables["prices"].rows}


def _apply(order: dict[str, Any], remedy: dict[str, Any],
           as_of: datetime.date) -> tuple[dict[str, Any], datetime.date]:
    order = copy.deepcopy(order)
    for c in remedy["changes"]:
        if c["field"] == "as_of":
            as_of = datetime.date.fromisoformat(c["to"])
            continue
        node: Any = order
        parts = c["field"].removeprefix("order.").replace("[", ".").replace("]", "").split(".")
        for p in parts[:-1]:
            node = node[int(p)] if p.isdigit() else node.setdefault(p, {})
        node[parts[-1]] = c["to"]
    return order, as_of


def _met(remedy: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> bool:
    kind, rule, line_id = remedy["kind"], remedy["rule"], remedy["line_id"]
    if after["status"] == "rejected" and before["status"] != "rejected":
        return False
    target = remedy["target"]
    if kind == "approval" and "line_id" in target:
        # a per-line approval: one approval of that rule and role fewer (the line's)
        def count(d: dict[str, Any]) -> int:
            return sum(1 for a in d["approvals"]
                       if a["rule"] == rule and a["role"] == target["role"])
        return count(after) < count(before)
    if kind == "approval":  # that approval (its rule and role) is not needed
        return not any(a["rule"] == rule and a["role"] == target["role"]
                       for a in after["approvals"])
    if kind == "violation":  # that violation (its rule, code and field) is gone
        return not any(v["rule"] == rule and v["code"] == target["code"]
                       and v["field"] == target["field"] for v in after["violations"])
    if kind == "backorder":
        return all(Decimal(s["backordered"]) == 0 for s in after["sourcing"]["lines"]
                   if s["line_id"] == line_id)
    lines = [lp for lp in after["pricing"]["lines"] if line_id in (None, lp["line_id"])]
    if kind == "discount":
        return any(a["rule"] == rule for lp in lines for a in lp["adjustments"])
    assert kind == "tier", kind
    old = next(lp for lp in before["pricing"]["lines"] if lp["line_id"] == line_id)
    unit = Decimal(old["extended"]) / Decimal(old["quantity"])
    return Decimal(lines[0]["extended"]) / Decimal(lines[0]["quantity"]) < unit


def _check_all(order: dict[str, Any], as_of: datetime.date, rs: Any = RS,
               budget: int = 24) -> list[dict[str, Any]]:
    return _check_why(order, as_of, rs, budget)["remedies"]


def _check_why(order: dict[str, Any], as_of: datetime.date, rs: Any = RS,
               budget: int = 24) -> dict[str, Any]:
    decided = rs.evaluate(order, as_of)
    before = decided.to_json()
    why = why_not(rs, order, as_of, budget=budget).to_json()
    assert why["redecisions"] <= budget
    for remedy in why["remedies"]:
        assert remedy["verified"] and remedy["changes"]
        changed, day = _apply(order, remedy, as_of)
        again = rs.evaluate(changed, day)
        after = again.to_json()
        assert _met(remedy, before, after), remedy
        assert after["status"] == remedy["status_after"]
        target = remedy["target"] or {}
        if remedy["kind"] == "approval" and "line_id" in target:
            # and the rule no longer fires on THAT line (it did before)
            i = next(n for n, line in enumerate(before["pricing"]["lines"])
                     if line["line_id"] == remedy["line_id"])
            rule = next(r for p in rs.model.packs for r in p.rules if r.qid == remedy["rule"])
            assert rule.for_each
            assert rule_holds(Probe(rs, decided), rule, i, target["role"])
            assert not rule_holds(Probe(rs, again), rule, i, target["role"]), remedy
    for blocked in why["not_actionable"]:  # named only where the discount did not apply
        assert blocked["reason"] and blocked["wants"]
        for lp in (before["pricing"] or {}).get("lines") or ():
            if not blocked["line_ids"] or lp["line_id"] in blocked["line_ids"]:
                assert all(a["rule"] != blocked["rule"] for a in lp["adjustments"]), blocked
    return why


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), day=st.integers(0, 364),
       manual=st.sampled_from([None, 4, 12, 28, 40]), scale=st.sampled_from([1, 1, 7, 40]))
def test_every_remedy_shown_passes_its_own_redecision(seed: int, day: int, manual: int | None,
                                                       scale: int) -> None:
    try:
        order, start = _generated(seed, manual, scale, day)
    except BadOrder:  # a spoiled order the reader refuses never reaches a decision
        assume(False)
        return
    _check_all(order, start)


def _generated(seed: int, manual: int | None, scale: int, day: int | None = None,
               coupon: str | None = None, promo: str | None = None,
               channel: str | None = None,
               negotiated: str | None = None) -> tuple[dict[str, Any], datetime.date]:
    """One generated ACME order (30% spoiled), given a manual discount, a coupon, a
    promotion code, a channel, a negotiated price on its first line (that share of the list
    price) and its quantities multiplied, and its day."""
    day = seed * 7 % 365 if day is None else day
    start = datetime.date(2026, 1, 1) + datetime.timedelta(days=day)
    raw = next(generate_orders(CATALOGUE, 1, seed, bad_share="0.3", start=start, days=1))
    for key, value in (("manual_discount", manual), ("coupon", coupon),
                       ("promo_code", promo)):
        if value is not None and isinstance(raw.get("attributes", {}), dict):
            raw.setdefault("attributes", {})[key] = value
    if channel is not None:
        raw["channel"] = channel
    lines = raw.get("lines")
    if negotiated is not None and isinstance(lines, list) and lines \
            and isinstance(lines[0], dict):
        price = PRICES.get(str(lines[0].get("sku")))
        if price is not None:
            lines[0]["unit_price"] = str((price * Decimal(negotiated)).quantize(Decimal("0.01")))
    for line in raw.get("lines") or []:
        if isinstance(line.get("quantity"), int):
            line["quantity"] *= scale
    return parse_order(dumps_order(raw)), start


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), day=st.integers(0, 364),
       manual=st.sampled_from([None, 12, 40]), scale=st.sampled_from([1, 7, 40]),
       coupon=st.sampled_from([None, "WELCOME5", "WELCOME"]),
       promo=st.sampled_from([None, "SPRING26", "BF26", "BTS26"]),
       channel=st.sampled_from([None, "web", "call-centre", "field-sales"]),
       negotiated=st.sampled_from([None, "0.5", "0.9"]))
def test_every_code_and_line_remedy_passes_its_own_redecision(
        seed: int, day: int, manual: int | None, scale: int, coupon: str | None,
        promo: str | None, channel: str | None, negotiated: str | None) -> None:
    try:
        order, start = _generated(seed, manual, scale, day, coupon, promo, channel,
                                  negotiated)
    except BadOrder:
        assume(False)
        return
    _check_why(order, start, RSX, budget=32)


def test_the_generated_orders_show_every_kind() -> None:
    """The property is not vacuous: the same kind of orders give remedies of every kind."""
    kinds: set[str] = set()
    for seed in range(40):
        try:
            order, start = _generated(seed, [None, 12, 40][seed % 3], [1, 7, 40][seed % 3])
        except BadOrder:
            continue
        kinds |= {r["kind"] for r in _check_all(order, start)}
    assert {"tier", "discount", "approval", "violation", "backorder"} <= kinds, kinds


def _order(**extra: Any) -> dict[str, Any]:
    base = {"id": "R-1", "customer": {"id": "C-00060"}, "payment": {"method": "invoice"},
            "lines": [{"id": "1", "sku": "JAN-0001", "quantity": 15}]}
    base.update(extra)
    return parse_order(dumps_order(base))


def test_a_tier_names_the_units_to_it_and_the_saving() -> None:
    tier = [r for r in _check_all(_order(), D) if r["kind"] == "tier"]
    assert len(tier) == 1
    r = tier[0]
    assert r["rule"] == "volume-tiers/janitorial-all-units"
    assert r["changes"] == [{"field": "order.lines[0].quantity", "from": 15, "to": 20}]
    # all units at 95% of 19.71 from 20 cases: 18.72 a case, 20 cases for the price of 19
    assert r["effect"]["unit_price"] == ["19.71", "18.72"]
    assert r["effect"]["saving"] == "19.71"


def test_a_promotion_out_of_its_dates_names_the_date_it_passes() -> None:
    order = _order(attributes={"promo_code": "SPRING26"},
                   lines=[{"id": "1", "sku": "HTL-0001", "quantity": 3}])
    promo = [r for r in _check_all(order, datetime.date(2026, 5, 4))
             if r["rule"] == "discounts/promotion-code"]
    assert promo[0]["condition"].startswith("ref.promotions[order.attributes.promo_code]")
    assert promo[0]["changes"] == [{"field": "as_of", "from": "2026-05-04",
                                    "to": "2026-04-30"}]


def test_an_approval_names_the_discount_below_which_it_is_not_needed() -> None:
    remedies = _check_all(_order(attributes={"manual_discount": 32}), D)
    depth = [r for r in remedies if r["rule"] == "approvals/discount-depth"]
    # 30% capped manual adjustment on 3% segment discount; more than 25% needs a manager
    assert depth[0]["changes"][0]["field"] == "order.attributes.manual_discount"
    to = Decimal(depth[0]["changes"][0]["to"])
    after = RS.evaluate(_apply(_order(attributes={"manual_discount": 32}), depth[0], D)[0],
                        D).to_json()
    assert Decimal(after["pricing"]["discount_percent"]) <= 25
    one_more, _ = _apply(_order(attributes={"manual_discount": 32}),
                         {"changes": [{"field": "order.attributes.manual_discount",
                                       "to": to + 1}]}, D)
    assert any(a["rule"] == "approvals/discount-depth"
               for a in RS.evaluate(one_more, D).to_json()["approvals"])  # the boundary


def test_a_rejection_gives_each_violation_field_and_what_its_rule_wants() -> None:
    order = _order(requested_date="2026-11-01")
    why = why_not(RS, order, D).to_json()
    assert why["wants"] == [{
        "kind": "violation", "rule": "order-dates/requested-in-past", "code": "REQUESTED_DATE_PAST",
        "field": "order.requested_date",
        "message": "requested date 2026-11-01 is before 2026-11-20",
        "condition": "date(order.requested_date) < today()",
        "wants": "not (date(order.requested_date) < today())", "not_actionable": None}]
    fix = [r for r in _check_all(order, D) if r["kind"] == "violation"]
    assert fix[0]["changes"] == [{"field": "order.requested_date", "from": "2026-11-01",
                                  "to": "2026-11-20"}]


def test_a_backorder_names_what_ships_in_full() -> None:
    order = _order(lines=[{"id": "1", "sku": "FAS-0001", "quantity": 6000}])
    back = [r for r in _check_all(order, D) if r["kind"] == "backorder"]
    assert back and back[0]["changes"][0]["to"] == 1164


def test_the_budget_bounds_the_work() -> None:
    why = why_not(RS, _order(attributes={"manual_discount": 32}), D, budget=3)
    assert why.redecisions <= 3


@pytest.mark.parametrize("op,target,value,integral,expected", [
    (">=", Decimal("100"), Decimal("60"), True, Decimal("100")),
    (">", Decimal("100"), Decimal("60"), True, Decimal("101")),
    ("<=", Decimal("12.5"), Decimal("20"), True, Decimal("12")),
    ("<", Decimal("25"), Decimal("32"), False, Decimal("24")),
    ("<", Decimal("0.5"), Decimal("0.75"), False, Decimal("0.49")),
    (">", Decimal("0.5"), Decimal("0.1"), False, Decimal("0.6")),
    ("<", datetime.date(2026, 5, 1), None, False, datetime.date(2026, 4, 30)),
    ("==", Decimal("3"), Decimal("1"), True, Decimal("3")),
    ("!=", Decimal("3"), Decimal("3"), True, None),
])
def test_nearest(op: str, target: Any, value: Any, integral: bool, expected: Any) -> None:
    assert nearest(op, target, value, integral) == expected


def test_a_backorder_names_a_location_with_the_whole_quantity(tmp_path: Path) -> None:
    """ACME with fasteners scarce in the warehouses and plenty in the Chicago store (a lane
    serves us-central, where the order goes): the line ships in full as a pick-up there (store-pickup takes its location from order.store
    and asks order.shipping.service == "pickup")."""
    import shutil

    root = tmp_path / "acme"
    shutil.copytree(ACME, root)
    inv = root / "reference" / "inventory.csv"
    rows = inv.read_text().splitlines()
    out = [rows[0]]
    for row in rows[1:]:
        loc, sku, _ = row.split(",")
        if sku == "FAS-0001":
            row = f"{loc},{sku},{500 if loc == 'ST-CHI' else 5}"
        out.append(row)
    inv.write_text("\n".join(out) + "\n")
    rs = load(root)
    order = _order(lines=[{"id": "1", "sku": "FAS-0001", "quantity": 100}],
                   ship_to={"country": "US", "state": "IL", "city": "Chicago",
                            "street": "1 Main St", "postal": "60601"})
    before = rs.evaluate(order, D).to_json()
    assert Decimal(before["sourcing"]["lines"][0]["backordered"]) > 0
    why = why_not(rs, order, D).to_json()
    where = [r for r in why["remedies"] if r["rule"] == "sourcing-network/store-pickup"]
    assert where, why
    assert where[0]["changes"] == [
        {"field": "order.shipping.service", "from": None, "to": "pickup"},
        {"field": "order.store", "from": None, "to": "ST-CHI"}]
    changed, day = _apply(order, where[0], D)
    after = rs.evaluate(changed, day).to_json()
    line = after["sourcing"]["lines"][0]
    assert Decimal(line["backordered"]) == 0
    assert [a["location"] for a in line["allocations"]] == ["ST-CHI"]


def test_a_hold_gives_its_rule_and_condition_and_no_remedy() -> None:
    order = _order(ship_to={"country": "VE", "city": "Caracas", "street": "Av. Urdaneta 1"},
                   lines=[{"id": "1", "sku": "FAS-0001", "quantity": 5}])
    assert RS.evaluate(order, D).status == "on_hold"
    why = why_not(RS, order, D).to_json()
    assert why["wants"] == [{
        "kind": "hold", "rule": "trade-compliance/review-destination",
        "code": "DESTINATION_REVIEW", "field": None,
        "message": "VE needs a trade-compliance review",
        "condition": 'order.ship_to.country in ["RU", "BY", "SY", "VE", "MM"]',
        "wants": 'not (order.ship_to.country in ["RU", "BY", "SY", "VE", "MM"])',
        "not_actionable": "order.ship_to.country is the delivery address: where the goods go "
                          "is not changed to pass a rule"}]
    assert not any(r["kind"] == "hold" for r in why["remedies"])


def test_the_generated_orders_show_code_and_line_remedies() -> None:
    """The second property is not vacuous: such orders give another product of a category, a
    channel and a coupon as remedies, remedies for approvals per line, and a tier test named
    as not actionable."""
    seen: set[str] = set()
    options = [(None, "WELCOME", "SPRING26", "web", None), (40, None, "BTS26", "call-centre", "0.5"),
               (12, "WELCOME", None, "web", "0.9")]
    for seed in range(30):
        manual, coupon, promo, channel, negotiated = options[seed % 3]
        day = (seed * 37) % 365
        try:
            order, start = _generated(seed, manual, [1, 40, 7][seed % 3], day, coupon, promo,
                                      channel, negotiated)
        except BadOrder:
            continue
        why = _check_why(order, start, RSX, budget=32)
        for r in why["remedies"]:
            fields = {c["field"].split(".")[-1] for c in r["changes"]}
            if r["kind"] == "discount":
                seen |= {f for f in fields if f in ("sku", "channel", "coupon")}
            if r["kind"] == "approval" and "line_id" in (r["target"] or {}):
                seen.add(r["rule"])
        seen |= {b["rule"] for b in why["not_actionable"]}
    assert {"sku", "channel", "coupon", "why-codes/top-tiers", "line-approvals/line-quantity",
            "line-approvals/line-value", "line-approvals/line-discount"} <= seen, seen


def test_an_embargo_is_named_as_not_the_orders_to_change() -> None:
    """A rejection for an embargoed destination: its wants say plainly that the delivery
    country is not proposed, and no remedy moves it."""
    order = _order(ship_to={"country": "CU", "city": "Havana", "street": "Calle 1"},
                   lines=[{"id": "1", "sku": "FAS-0001", "quantity": 5}])
    assert RS.evaluate(order, D).status == "rejected"
    why = why_not(RS, order, D).to_json()
    embargo = [w for w in why["wants"] if w["code"] == "EMBARGO"]
    assert embargo and embargo[0]["field"] == "order.ship_to.country"
    assert embargo[0]["not_actionable"].startswith("order.ship_to.country is the delivery "
                                                   "address")
    assert not any(c["field"].startswith("order.ship_to") for r in why["remedies"]
                   for c in r["changes"])
    assert why["not_actionable"] == []  # rejected before pricing: no discount looked at
