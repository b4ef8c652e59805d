"""money.py and the money of whole simulations: per currency, margins, the one converted figure."""
from __future__ import annotations

import json
import shutil
from collections import defaultdict
from decimal import Decimal as D
from pathlib import Path

import pytest
from ordinance.engine import load, parse_order
from ordinance.engine.fx import rates_of
from ordinance.simulator.generate import dumps_order, generate_orders, load_catalogue
from ordinance.simulator.money import Costing
from ordinance.simulator.replay import Options, simulate
from ordinance.simulator.report import render
from ordinance.simulator.rulesets import resolve
from ordinance.simulator.streams import open_orders

ROOT = Path(__file__).resolve().parents[2]
ACME, CANDIDATE = ROOT / "rulesets" / "acme", ROOT / "rulesets" / "acme-candidate"
FX = "currency,per_usd,date\nUSD,1,2026-11-01\nEUR,0.92,2026-11-01\nJPY,150,2026-11-01\n"
CURRENCIES = "code,minor_unit\nEUR,2\nJPY,0\nUSD,2\n"


def test_margin_per_line_converts_the_usd_cost_into_the_order_currency():
    reference = {"products": [{"sku": "A", "cost_usd": D("4.00")},
                              {"sku": "B", "cost_usd": None}],
                 "fx": [{"currency": "USD", "per_usd": D(1), "date": "2026-11-01"},
                        {"currency": "JPY", "per_usd": D(150), "date": "2026-11-01"}],
                 "currencies": [{"code": "JPY", "minor_unit": D(0)}]}
    costing = Costing.of(reference)
    lines = [{"sku": "A", "quantity": "3", "net": "20.00"},
             {"sku": "B", "quantity": "1", "net": "9.00"}]            # B has no cost
    assert costing.margin({"currency": "USD", "lines": lines}) == ("USD", D("8.00"), 1)
    jpy = [{"sku": "A", "quantity": "3", "net": "2000"}]             # cost 12 USD = 1800 JPY
    assert costing.margin({"currency": "JPY", "lines": jpy}) == ("JPY", D("200"), 0)
    # a currency without a rate has no margin: counted, never taken as zero cost
    assert costing.margin({"currency": "EUR", "lines": jpy}) == ("EUR", None, 1)
    assert Costing.of({"prices": []}) is None


@pytest.fixture(scope="module")
def priced_rule_sets(data, tmp_path_factory):
    """The test rule sets with dated rates, currencies and product costs (A costs 4 USD)."""
    out = tmp_path_factory.mktemp("fx")
    for name in ("base", "candidate-rules"):
        shutil.copytree(data / name, out / name)
        ref = out / name / "reference"
        (ref / "fx.csv").write_text(FX)
        (ref / "currencies.csv").write_text(CURRENCIES)
        (ref / "products.csv").write_text("sku,cost_usd\nA,4.00\nB,30.00\n")
    return out


def test_mixed_currencies_are_summed_apart_and_converted_once(data, priced_rule_sets, tmp_path):
    orders = tmp_path / "mixed.jsonl"
    lines = [json.loads(t) for t in (data / "orders.jsonl").read_text().splitlines()
             if t.strip() and '"O' in t]
    lines[0]["currency"] = "USD"             # O1: 60.00 USD instead of EUR
    lines[1]["currency"] = "JPY"             # O2: 216 JPY
    orders.write_text("".join(json.dumps(o) + "\n" for o in lines))
    s = simulate(resolve(str(priced_rule_sets / "base")),
                 resolve(str(priced_rule_sets / "candidate-rules")), open_orders(str(orders)),
                 executor="inline")
    assert s["baseline"]["revenue"] == {"EUR": "2160.00", "JPY": "216", "USD": "60.00"}
    assert s["changes"]["revenue"]["JPY"] == {"baseline": "216", "candidate": "204",
                                              "delta": "-12"}
    assert s["fx"] == {"source": "fx.csv", "date": "2026-11-01", "currency": "USD",
                       "label": "converted to USD at fx.csv rates of 2026-11-01"}
    conv = s["changes"]["revenue_converted"]
    # 2160 EUR / 0.92 = 2347.83 USD; 216 JPY / 150 = 1.44 USD; + 60.00 USD
    assert (conv["baseline"], conv["unconverted"]) == ("2409.27", [])
    # margin per line: O1 5 A at 4 USD = 20 USD cost against a net of 50.00
    assert s["baseline"]["margin"]["USD"] == "30.00"
    assert s["baseline"]["lines_without_cost"] == 0
    seg = s["segments"]["channel"]["edi"]            # O2 alone
    assert seg["revenue"] == {"JPY": {"baseline": "216", "candidate": "204", "delta": "-12"}}
    assert seg["margin"]["JPY"]["delta"] == "-10"      # nets move by 10; tax by 2 more
    assert seg["revenue_converted"]["delta"] == "-0.08"
    html = render(s)
    assert "converted to USD at fx.csv rates of 2026-11-01" in html
    assert 'aria-label="revenue change by channel"' in html       # one converted chart
    assert "JPY 216" in html and "USD 2,409.27" in html and "EUR 2,160.00" in html


def test_each_currencys_revenue_is_the_sum_of_its_orders_totals(tmp_path):
    """The identity, on a generated ACME stream: per currency, the summary's revenue equals
    the totals of the orders not rejected, decided one by one; the converted headline is
    exactly the per-currency figures at the baseline's dated rates."""
    stream = tmp_path / "orders.jsonl"
    with stream.open("w") as f:
        for order in generate_orders(load_catalogue(ACME), 300, seed=11):
            f.write(dumps_order(order) + "\n")
    s = simulate(resolve(str(ACME)), resolve(str(CANDIDATE)), open_orders(str(stream)),
                 Options(chunk_size=37, blame=False), executor="inline")
    sums: dict[str, dict[str, D]] = {"baseline": defaultdict(D), "candidate": defaultdict(D)}
    for side, path in (("baseline", ACME), ("candidate", CANDIDATE)):
        rs = load(path)
        for text in stream.read_text().splitlines():
            try:
                order = parse_order(text)
            except Exception:          # the generator's bad orders are not orders
                continue
            decision = rs.evaluate(order).to_json()
            if decision["status"] != "rejected" and decision["pricing"]:
                sums[side][decision["pricing"]["currency"]] += D(decision["pricing"]["total"])
    for side in ("baseline", "candidate"):
        assert len(sums[side]) >= 3
        assert {c: D(v) for c, v in s[side]["revenue"].items()} == dict(sums[side])
    rates = rates_of(load(ACME).reference)
    conv = s["changes"]["revenue_converted"]
    assert D(conv["baseline"]) == rates.total(sums["baseline"]).amount
    assert D(conv["candidate"]) == rates.total(sums["candidate"]).amount
