"""engine/fx.py: dated rates from a rule set's reference data, exact conversion, clear refusals."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
from ordinance.engine.fx import FxError, minor_units, rates_of

REFERENCE = {
    "fx": [{"currency": "USD", "per_usd": D("1"), "date": "2026-11-01"},
           {"currency": "EUR", "per_usd": D("0.92"), "date": "2026-11-01"},
           {"currency": "JPY", "per_usd": D("150"), "date": "2026-11-01"}],
    "currencies": [{"code": "JPY", "minor_unit": D("0")}, {"code": "USD", "minor_unit": D("2")},
                   {"code": "XAU", "minor_unit": None}],
}


def test_rates_of_reads_the_dated_table_and_says_which_rates():
    rates = rates_of(REFERENCE)
    assert rates is not None and rates.date == "2026-11-01" and rates.source == "fx.csv"
    assert rates.label("USD") == "converted to USD at fx.csv rates of 2026-11-01"
    assert minor_units(REFERENCE) == {"JPY": 0, "USD": 2}
    assert rates_of({"prices": []}) is None          # no fx table: nothing to convert with


def test_convert_is_exact_and_rounds_to_the_target_minor_unit():
    rates = rates_of(REFERENCE)
    assert rates.convert(D("92.00"), "EUR", "USD") == D("100.00")
    assert rates.convert(D("100.00"), "USD", "JPY") == D("15000")     # JPY has no minor unit
    assert rates.convert(D("1"), "JPY", "USD") == D("0.01")           # 0.00666.. half up
    assert rates.convert(D("0.46"), "EUR", "JPY") == D("75")          # 0.46 / 0.92 * 150
    assert rates.rate("EUR", "JPY") * D("0.92") == D(150)       # 60 digits, not 28


def test_total_keeps_a_currency_without_a_rate_apart():
    rates = rates_of(REFERENCE)
    c = rates.total({"EUR": D("92.00"), "JPY": D("1500"), "XYZ": D("5.00")}, "USD")
    assert (c.currency, c.amount) == ("USD", D("110.00"))
    assert dict(c.parts) == {"EUR": D("100.00"), "JPY": D("10.00")}
    assert dict(c.unconverted) == {"XYZ": D("5.00")}           # neither dropped nor added raw
    assert c.label == "converted to USD at fx.csv rates of 2026-11-01"
    with pytest.raises(FxError, match="no rate for GBP in fx.csv"):
        rates.total({"EUR": D(1)}, "GBP")


@pytest.mark.parametrize("rows, message", [
    ([{"currency": "USD", "per_usd": D(1)}],
     "fx.csv row 2, column date: the rates' date is missing"),
    ([{"currency": "USD", "per_usd": D(1), "date": "2026-11-01"},
      {"currency": "EUR", "per_usd": D("0.9"), "date": "2026-10-01"}],
     "fx.csv, column date: one date for the whole table, not 2026-10-01, 2026-11-01"),
    ([{"currency": "USD", "per_usd": D(0), "date": "2026-11-01"}],
     "fx.csv row 2, column per_usd: USD needs a positive number"),
    ([{"currency": "USD", "per_usd": D(1), "date": "soon"}],
     "fx.csv row 2, column date: not a date YYYY-MM-DD: 'soon'"),
    ([{"currency": "USD", "per_usd": D(1), "date": "2026-11-01"},
      {"currency": "USD", "per_usd": D(1), "date": "2026-11-01"}],
     "fx.csv row 3, column currency: a second rate for USD"),
])
def test_a_table_that_cannot_be_used_is_refused_with_where(rows, message):
    with pytest.raises(FxError) as exc:
        rates_of({"fx": rows})
    assert str(exc.value).startswith(message)


def test_the_shipped_acme_rates_are_dated():
    from pathlib import Path

    from ordinance.engine import load

    acme = load(Path(__file__).resolve().parents[2] / "rulesets" / "acme")
    rates = rates_of(acme.reference)
    assert rates is not None and rates.per_usd["USD"] == 1
    assert rates.places["JPY"] == 0 and rates.places["EUR"] == 2
