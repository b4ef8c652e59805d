"""Pricing numbers: minor units from the rule set's data (never from a library at run time),
money written at its minor units, and tax lines by jurisdiction that add up to the line's tax."""
from __future__ import annotations

import csv
import datetime
import re
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ordinance.engine import dumps, evaluate_pair, load, validate_order
from ordinance.engine.pricing import (ISO_4217, UNTAXED, Pricing, minor_unit_table,
                                      plain)
from tests.conftest import ROOT, RULESETS, need
from tests.engine.helpers import decide, rendered, write_ruleset

AS_OF = datetime.date(2026, 11, 20)

PRICED = """
    pack: p
    phase: pricing
    rules:
      - id: vat
        for_each: line
        when: order.vat != null
        then:
          - tax: {rate: order.vat, jurisdiction: "{order.country}"}
    """


def _order(currency: str, unit_price: str, quantity: int = 1, **extra: object) -> dict:
    return {"id": "O", "currency": currency, **extra,
            "lines": [{"id": "1", "sku": "A", "quantity": quantity, "unit_price": unit_price}]}


# --- minor units ---------------------------------------------------------------------------

def test_the_iso_table_is_the_frozen_file() -> None:
    rows = list(csv.DictReader((ROOT / "engine/data/iso4217.csv").open()))
    assert [r["code"] for r in rows] == sorted(r["code"] for r in rows)
    assert ISO_4217 == {r["code"]: int(r["minor_unit"]) for r in rows}
    # the codes babel (CLDR) rounds otherwise: ISO 4217 says 2, and 3 for IQD
    assert [ISO_4217[c] for c in ("COP", "HUF", "IDR", "RSD", "IQD", "JPY", "KWD", "CLF")] == \
        [2, 2, 2, 2, 3, 0, 3, 4]
    assert "XAU" not in ISO_4217  # no minor unit: 2, as for a code in no table


def test_the_engine_reads_no_library_for_minor_units_nor_the_clock() -> None:
    for path in (ROOT / "engine").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+babel", text, re.M), path
        for clock in ("datetime.now(", "date.today(", "datetime.today(", "time.time(",
                      "utcnow(", "time.monotonic("):
            assert clock not in text, (path, clock)


def test_as_of_is_given_else_the_order_date_else_the_callers_today(tmp_path: Path) -> None:
    """SPEC: as-of is the given date, else the order's order_date, else today; "today" is the
    door's clock, passed in. Without any of them the engine refuses rather than read a clock."""
    import datetime

    import pytest
    from ordinance.engine.evaluate import AsOfMissing

    rs = load(write_ruleset(tmp_path / "r", {"p.yaml": PRICED}))
    order = {"id": "A", "currency": "USD", "lines": [{"id": "1", "sku": "X", "quantity": 1}]}
    day, other = datetime.date(2026, 1, 5), datetime.date(2027, 3, 1)
    assert rs.evaluate(order, today=day).to_json()["as_of"] == "2026-01-05"
    assert rs.evaluate(order, as_of=other, today=day).to_json()["as_of"] == "2027-03-01"
    dated = {**order, "order_date": "2025-07-04"}
    assert rs.evaluate(dated, today=day).to_json()["as_of"] == "2025-07-04"
    assert rs.evaluate(dated).to_json()["as_of"] == "2025-07-04"
    with pytest.raises(AsOfMissing, match="no as-of date"):
        rs.evaluate(order)


def test_a_rule_sets_currencies_table_overrides_iso_per_code(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path / "r", {"p.yaml": PRICED}, {"currencies.csv": """
        code,name,minor_unit
        JPY,Yen,2
        XAU,Gold,
        ZZZ,Test,3
        """})
    units = load(rs).minor_units
    assert (units["JPY"], units["EUR"], units["ZZZ"]) == (2, 2, 3)
    assert "XAU" not in units  # an empty cell keeps ISO's answer (none: 2)
    d = decide(rs, _order("JPY", "10.555", 3))
    assert d["pricing"]["lines"][0]["extended"] == "31.67"
    assert decide(rs, _order("zzz", "1.0005"))["pricing"]["total"] == "1.001"
    assert decide(rs, _order("XAU", "1.005"))["pricing"]["total"] == "1.01"


def test_without_a_currencies_table_iso_decides(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path / "r", {"p.yaml": PRICED})
    assert load(rs).minor_units == minor_unit_table(None) == dict(ISO_4217)
    assert decide(rs, _order("JPY", "10.5", 3))["pricing"]["total"] == "32"
    assert decide(rs, _order("IQD", "1.0005"))["pricing"]["total"] == "1.001"
    assert decide(rs, _order("HUF", "10.555"))["pricing"]["total"] == "10.56"


def test_a_bad_minor_unit_is_an_error_of_the_rule_set(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path / "r", {"p.yaml": PRICED}, {"currencies.csv": """
        code,name,minor_unit
        EUR,Euro,2
        ABC,Odd,2.5
        """})
    assert rendered(rs) == [
        "reference/currencies.csv:3:1: error: minor_unit of 'ABC' must be a whole number from "
        "0 to 8, not '2.5'\n    hint: leave the cell empty for ISO 4217's minor unit (2 when it "
        "has none)"]


def test_pairs_with_other_minor_units_do_not_share_pricing(tmp_path: Path) -> None:
    a = write_ruleset(tmp_path / "a", {"p.yaml": PRICED})
    b = write_ruleset(tmp_path / "b", {"p.yaml": PRICED},
                      {"currencies.csv": "code,minor_unit\nEUR,3\n"})
    ra, rb = load(a), load(b)
    order = validate_order(_order("EUR", "1.0005", vat=10))
    da, db = evaluate_pair(ra, rb, order, AS_OF)
    assert dumps(da.to_json()) == dumps(ra.evaluate(order, AS_OF).to_json())
    assert dumps(db.to_json()) == dumps(rb.evaluate(order, AS_OF).to_json())
    assert (da.to_json()["pricing"]["total"], db.to_json()["pricing"]["total"]) == \
        ("1.10", "1.101")


# --- money is written at its minor units -----------------------------------------------------

def test_zero_money_is_written_at_the_currencys_minor_units(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path / "r", {"p.yaml": """
        pack: p
        phase: pricing
        rules:
          - id: nothing-off
            for_each: line
            then:
              - discount: {percent: 0, reason: none}
        """})
    eur = decide(rs, _order("EUR", "95"))["pricing"]
    assert {k: eur[k] for k in ("subtotal", "discount_total", "charges_total", "tax_total",
                                "total")} == {"subtotal": "95.00", "discount_total": "0.00",
                                              "charges_total": "0.00", "tax_total": "0.00",
                                              "total": "95.00"}
    line = eur["lines"][0]
    assert (line["tax"], line["adjustments"][0]["amount"], line["taxes"]) == ("0.00", "0.00", [])
    jpy = decide(rs, _order("JPY", "95"))["pricing"]
    assert (jpy["tax_total"], jpy["charges_total"], jpy["lines"][0]["tax"]) == ("0", "0", "0")
    empty = decide(rs, {"id": "E", "currency": "KWD", "lines": []})["pricing"]
    assert (empty["subtotal"], empty["total"]) == ("0.000", "0.000")


# --- tax lines by jurisdiction ----------------------------------------------------------------

def test_a_canadian_order_shows_gst_and_the_provincial_tax() -> None:
    need((RULESETS / "acme").is_dir(), "the shipped rule sets")
    rs = load(RULESETS / "acme")
    order = {"id": "CA-1", "order_date": "2026-11-20T09:00:00Z", "customer": {"id": "C-00071"},
             "payment": {"method": "card"},
             "lines": [{"id": "1", "sku": "FAS-0001", "quantity": 300, "uom": "EA"},
                       {"id": "2", "sku": "HTL-0001", "quantity": 2}]}
    d = rs.evaluate(validate_order(order), AS_OF).to_json()
    assert d["order"]["tax"]["regime"] == "ca-gst" and d["pricing"]["currency"] == "CAD"
    for line in d["pricing"]["lines"]:
        net = Decimal(line["net"])
        taxes = line["taxes"]
        assert [(t["jurisdiction"], t["rate"], t["rule"]) for t in taxes] == [
            ("CA", "5", "taxes-and-recurring/sales-tax"),
            ("CA-ON", "8", "taxes-and-recurring/provincial-tax")]
        assert Decimal(line["tax"]) == (net * 13 / 100).quantize(Decimal("0.01"),
                                                                  rounding="ROUND_HALF_UP")
        assert sum(Decimal(t["amount"]) for t in taxes) == Decimal(line["tax"])
        for t in taxes:  # each within one cent of its exact share
            assert abs(Decimal(t["amount"]) - net * Decimal(t["rate"]) / 100) < Decimal("0.01")
            assert re.fullmatch(r"\d+\.\d\d", t["amount"])
    # 5 % of 47.29 is 2.3645 and 8 % is 3.7832: rounded alone they give 6.14, the line's tax
    # on 13 % is 6.15, and the cent goes to GST, whose rounding lost more
    first = d["pricing"]["lines"][0]
    assert first["net"] == "47.29" and first["tax"] == "6.15"
    assert [t["amount"] for t in first["taxes"]] == ["2.37", "3.78"]
    assert Decimal(d["pricing"]["tax_total"]) == \
        sum(Decimal(line["tax"]) for line in d["pricing"]["lines"]) + \
        sum(Decimal(c.get("tax") or 0) for c in d["pricing"]["charges"])


def test_an_order_level_tax_names_its_rule_on_every_line(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path / "r", {"p.yaml": """
        pack: p
        phase: pricing
        rules:
          - id: vat
            then:
              - tax: {rate: 19, jurisdiction: DE}
          - id: levy
            then:
              - tax: {rate: 1}
        """})
    d = decide(rs, {"id": "O", "currency": "EUR", "lines": [
        {"id": "1", "sku": "A", "quantity": 1, "unit_price": "10.05"},
        {"id": "2", "sku": "B", "quantity": 1, "unit_price": "0.05"}]})
    assert [line["taxes"] for line in d["pricing"]["lines"]] == [
        [{"jurisdiction": "DE", "rate": "19", "amount": "1.91", "rule": "p/vat"},
         {"jurisdiction": None, "rate": "1", "amount": "0.10", "rule": "p/levy"}],
        [{"jurisdiction": "DE", "rate": "19", "amount": "0.01", "rule": "p/vat"},
         {"jurisdiction": None, "rate": "1", "amount": "0.00", "rule": "p/levy"}]]
    assert [line["tax"] for line in d["pricing"]["lines"]] == ["2.01", "0.01"]


rates = st.decimals(min_value=-30, max_value=30, places=3, allow_nan=False,
                    allow_infinity=False)


@settings(max_examples=400, deadline=None)
@given(st.decimals(min_value=-10**6, max_value=10**7, places=4, allow_nan=False,
                   allow_infinity=False),
       st.integers(1, 500), st.lists(rates, min_size=1, max_size=6),
       st.sampled_from(["EUR", "JPY", "KWD", "CLF"]))
def test_tax_lines_always_add_up_to_the_line_tax(unit: Decimal, qty: int,
                                                 line_rates: list[Decimal],
                                                 currency: str) -> None:
    pricing = Pricing(currency, [{"id": "1", "quantity": Decimal(qty), "unit_price": unit}])
    lp = pricing.lines[0]
    for i, rate in enumerate(line_rates):
        lp.add_tax(rate, f"J{i}", f"p/r{i}")
    pricing.final = pricing.view()
    out = pricing.to_json()["lines"][0]
    one = Decimal(1).scaleb(-pricing.places)
    exact = [lp.net * r / 100 for r in line_rates]
    amounts = [Decimal(t["amount"]) for t in out["taxes"]]
    assert sum(amounts) == Decimal(out["tax"])  # exactly, whatever the rates
    assert Decimal(out["tax"]) == (lp.net * sum(line_rates) / 100).quantize(
        one, rounding="ROUND_HALF_UP")
    for amount, x, t in zip(amounts, exact, out["taxes"]):
        assert amount == amount.quantize(one) and t["amount"] == str(amount.quantize(one))
        assert abs(amount - x) < one  # each within one minor unit of its exact share
    assert [t["rule"] for t in out["taxes"]] == [f"p/r{i}" for i in range(len(line_rates))]


def test_decisions_match_the_published_schema() -> None:
    need((RULESETS / "acme").is_dir(), "the shipped rule sets")
    import json

    import jsonschema

    from ordinance.simulator import generate
    schema = json.loads((ROOT / "engine/schemas/decision.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    rs = load(RULESETS / "acme")
    catalogue = generate.load_catalogue(RULESETS / "acme")
    seen_taxes, taxed = 0, None
    for o in generate.generate_orders(catalogue, count=150, seed=5):
        order = validate_order(json.loads(json.dumps(o, default=str)))
        d = json.loads(dumps(rs.evaluate(order, AS_OF).to_json()))
        errors = sorted(validator.iter_errors(d), key=lambda e: list(e.path))
        assert not errors, (errors[0].json_path, errors[0].message)
        for line in (d["pricing"] or {}).get("lines", []):
            seen_taxes += len(line["taxes"])
            taxed = d if line["taxes"] else taxed
    assert seen_taxes > 100 and taxed is not None  # the orders exercised the tax lines
    taxed["pricing"]["lines"][0]["taxes"] = [{"jurisdiction": "DE", "rate": "19"}]
    assert not validator.is_valid(taxed)  # a tax line without amount and rule


# --- running totals and the fast rendering (h16b) ---------------------------------------------

def _recomputed(pricing: Pricing) -> dict[str, str]:
    """The totals as the view computed them before they were kept up to date: one pass over
    the lines (each line's tax on its current net) and the charges."""
    from ordinance.engine.pricing import _ZEROS, percent, percent_of
    places = pricing.places
    subtotal = extended = discount = tax = charges = _ZEROS[places]
    for lp in pricing.lines:
        subtotal += lp.net
        extended += lp.extended
        discount += lp.discounted
        if lp.tax_rates:
            rate = sum(lp.tax_rates, Decimal(0))
            tax += percent_of(lp.net, rate, places) if rate else _ZEROS[places]
    for c in pricing.charges:
        charges += c["amount"]
        tax += c.get("tax", _ZEROS[places])
    return {k: str(v) for k, v in {
        "subtotal": subtotal, "discount_total": discount,
        "discount_percent": percent(discount, extended), "charges_total": charges,
        "tax_total": tax, "total": subtotal + charges + tax}.items()}


def _reference_json(pricing: Pricing) -> dict[str, object]:
    """The pricing section written value by value through `plain` (the slow, sure path)."""
    from ordinance.engine.pricing import _amounts, _line_json, plain
    v = pricing.view()
    return {"currency": pricing.currency, "lines": [_line_json(lp) for lp in pricing.lines],
            "charges": [_amounts(c) for c in pricing.charges],
            "recurring": [_amounts(r) for r in pricing.recurring],
            **{k: plain(v[k]) for k in ("subtotal", "discount_total", "discount_percent",
                                        "charges_total", "tax_total", "total")}}


amounts = st.decimals(min_value=-10**4, max_value=10**5, places=3, allow_nan=False,
                      allow_infinity=False)
steps = st.lists(st.tuples(st.sampled_from(["discount", "surcharge", "percent", "override",
                                            "spread", "tax", "charge", "list", "view"]),
                           st.integers(0, 3), amounts), max_size=25)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["1", "2", "1E+2", "0.5", "3.000"]),
                          st.sampled_from(["9.99", "1E+1", "0.0000001", "12", "0"])),
                min_size=1, max_size=4),
       st.sampled_from(["EUR", "JPY", "KWD", "CLF", "XE8"]), steps)
def test_running_totals_and_the_fast_rendering_match_a_recomputation(
        lines: list[tuple[str, str]], currency: str,
        ops: list[tuple[str, int, Decimal]]) -> None:
    units = dict(ISO_4217, XE8=8)
    pricing = Pricing(currency, [{"id": str(i), "sku": f"S{i}", "quantity": Decimal(q),
                                  "unit_price": Decimal(u)} for i, (q, u) in enumerate(lines)],
                      units)
    copies = []
    for kind, i, x in ops:
        lp = pricing.lines[i % len(pricing.lines)]
        if kind in ("discount", "surcharge"):
            lp.adjust("r", kind, pricing.money(-abs(x) if kind == "discount" else abs(x)), "why")
        elif kind == "percent":
            lp.adjust_percent("r", "discount", x / 1000, True, "pct")
        elif kind == "override":
            lp.adjust("r", "override", pricing.money(abs(x)) - lp.net, "")
        elif kind == "spread":
            pricing.spread("r", "discount", -pricing.money(abs(x) / 10), "order")
        elif kind == "tax":
            lp.add_tax(abs(x) / 1000, "J", "t")
        elif kind == "charge":
            pricing.add_charge({"rule": "c", "code": "ship", "amount": pricing.money(abs(x)),
                                "tax": pricing.money(abs(x) / 10)})
        elif kind == "list":
            lp.set_list_price(abs(x))
        else:
            # the untaxed fields read before the view, as a rule reading `pricing.subtotal`
            # does: written as the view then writes them, with no tax computed for them
            untaxed = {k: dumps(pricing.untaxed(k)) for k in sorted(UNTAXED)}
            view = pricing.view()
            assert untaxed == {k: dumps(view[k]) for k in untaxed}
            assert {k: str(view[k]) for k in _recomputed(pricing)} == _recomputed(pricing)
            copies.append((pricing.copy(), dumps(_reference_json(pricing))))
    view = pricing.view()
    assert {k: str(view[k]) for k in _recomputed(pricing)} == _recomputed(pricing)
    assert dumps(pricing.to_json()) == dumps(_reference_json(pricing))
    for lp in pricing.lines:  # each adjustment is kept written: plain, to the currency's places
        for a in lp.adjustments:
            amount = Decimal(a["amount"])
            assert a["amount"] == plain(amount)
            assert amount.as_tuple().exponent == -pricing.places
    for copy, then in copies:  # a copy goes on from where it was, apart from the original
        assert dumps(copy.to_json()) == then
