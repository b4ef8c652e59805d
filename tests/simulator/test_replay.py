"""Whole simulations of the small test stream, checked against results computed by hand.

tests/simulator/data/base is a rule set with one pack per phase; orders.jsonl has six orders
and one line that is not an order. By hand, against base (prices A 10.00, B 50.00; gold 10% from
a subtotal of 100; 20% tax to DE; approval from a total of 1000; W1 holds A 100, B 10):
  O1 silver DE A×5    -> accepted          total  60.00 (50.00 + tax 10.00)
  O2 gold   DE A×20   -> accepted          total 216.00 (200 - 20 + tax 36)
  O3 gold   US B×20   -> accepted          total 900.00 (1000 - 100), 10 backordered
  O4 silver US B×25   -> pending_approval  total 1250.00, 15 backordered
  O5 silver DE A×0    -> rejected (QTY_POSITIVE), no pricing
  O6 gold   KP A×1    -> on_hold (EMBARGO)  total 10.00
"""
from __future__ import annotations

from ordinance.simulator.replay import Options, simulate
from ordinance.simulator.rulesets import resolve
from ordinance.simulator.streams import open_orders

RULES = ["defaults/channel", "checks/qty-positive", "checks/no-lines", "trade/embargo",
         "prices/list", "prices/gold", "prices/vat", "sourcing/ship", "approvals/big"]


def run(data, candidate, options=Options(), orders=None):
    return simulate(resolve(str(data / "base")), resolve(str(data / candidate)),
                    open_orders(str(orders or data / "orders.jsonl")), options,
                    executor="inline")


BASE_SIDE = {
    "status_counts": {"accepted": 3, "on_hold": 1, "pending_approval": 1, "rejected": 1},
    "revenue": {"EUR": "2436.00"}, "discount_total": {"EUR": "120.00"},
    "tax_total": {"EUR": "46.00"}, "margin": {}, "lines_without_cost": 0,
    "approvals_by_role": {"finance": 1}, "holds_by_code": {"EMBARGO": 1},
    "violations_by_code": {"QTY_POSITIVE": 1}, "errors_by_code": {},
    "backordered_units": "25",
    "rule_fires": {"defaults/channel": 6, "checks/qty-positive": 1, "trade/embargo": 1,
                   "prices/list": 5, "prices/gold": 2, "prices/vat": 2, "sourcing/ship": 5,
                   "approvals/big": 1},
    "never_fired": ["checks/no-lines"],
}


def eur_delta(segment):
    assert set(segment["revenue"]) == {"EUR"}
    return segment["revenue"]["EUR"]["delta"]


def side(summary, name):
    return {k: v for k, v in summary[name].items() if k != "ruleset"}


def test_identical_rule_set_reports_zero_changes(data):
    s = run(data, "same")
    assert (s["orders"], s["changed_orders"], s["bad_lines"]) == (6, 0, 1)
    assert s["bad_line_samples"][0]["line"] == 7
    assert s["bad_line_samples"][0]["error"].startswith("$.lines")
    assert side(s, "baseline") == BASE_SIDE == side(s, "candidate")
    assert s["changes"] == {"changed_orders": 0, "status": 0, "total": 0, "approvals": 0,
                            "sourcing": 0, "fields": {}, "transitions": {},
                            "revenue": {"EUR": {"baseline": "2436.00", "candidate": "2436.00",
                                                "delta": "0.00"}},
                            "margin": {}}
    assert s["fx"] is None                     # no fx table: per-currency figures only
    assert s["sample"] == [] and s["reference_changed"] == []
    assert s["baseline"]["ruleset"]["digest"] == s["candidate"]["ruleset"]["digest"]


def test_candidate_with_other_rules(data):
    s = run(data, "candidate-rules")
    assert side(s, "baseline") == BASE_SIDE
    c = side(s, "candidate")
    assert c["status_counts"] == {"accepted": 2, "on_hold": 1, "pending_approval": 2,
                                  "rejected": 1}
    assert (c["revenue"], c["discount_total"], c["tax_total"]) == (
        {"EUR": "2374.00"}, {"EUR": "180.00"}, {"EUR": "44.00"})
    assert c["approvals_by_role"] == {"finance": 2}
    assert c["rule_fires"]["approvals/big"] == 2 and c["backordered_units"] == "25"
    ch = s["changes"]
    assert (s["changed_orders"], ch["status"], ch["total"], ch["approvals"],
            ch["sourcing"]) == (2, 1, 2, 1, 0)
    assert ch["transitions"] == {"accepted->pending_approval": 1}
    assert ch["revenue"] == {"EUR": {"baseline": "2436.00", "candidate": "2374.00",
                                     "delta": "-62.00"}}
    seg = s["segments"]
    assert {k: eur_delta(v) for k, v in seg["channel"].items()} == {
        "edi": "-12.00", "web": "-50.00"}
    assert seg["channel"]["web"]["orders"] == 5          # O1's channel came from defaulting
    assert {k: eur_delta(v) for k, v in seg["country"].items()} == {
        "DE": "-12.00", "KP": "0.00", "US": "-50.00"}
    assert seg["country"]["US"]["transitions"] == {"accepted->pending_approval": 1}
    assert {k: (v["orders"], v["changed_orders"], eur_delta(v))
            for k, v in seg["tier"].items()} == {"gold": (3, 2, "-62.00"),
                                                 "silver": (3, 0, "0.00")}
    o2, o3 = s["sample"]
    assert (o2["order_id"], o3["order_id"]) == ("O2", "O3")
    assert o2["rules"] == [{"rule": "prices/gold", "how": "effect_differs"}]
    assert o2["explanation"] == ("total 216.00 -> 204.00 (-12.00) because different effect: "
                                 "prices/gold")
    assert o3["rules"] == [{"rule": "approvals/big", "how": "candidate_only"},
                           {"rule": "prices/gold", "how": "effect_differs"}]
    assert o3["explanation"].startswith(
        "status accepted -> pending_approval; total 900.00 -> 850.00 (-50.00); "
        "approvals +finance because fired only in candidate: approvals/big")
    assert o3["baseline"]["status"] == "accepted"
    assert o3["candidate"]["approvals"][0]["role"] == "finance"


def test_candidate_differing_only_in_reference_data(data):
    s = run(data, "candidate-ref")
    assert s["reference_changed"] == ["prices"]
    c = side(s, "candidate")
    assert c["status_counts"] == BASE_SIDE["status_counts"]
    assert (c["revenue"], c["discount_total"], c["tax_total"]) == (
        {"EUR": "2493.20"}, {"EUR": "124.00"}, {"EUR": "55.20"})
    ch = s["changes"]
    assert (s["changed_orders"], ch["status"], ch["total"], ch["transitions"]) == (3, 0, 3, {})
    assert ch["revenue"]["EUR"]["delta"] == "57.20"
    assert [e["order_id"] for e in s["sample"]] == ["O1", "O2", "O6"]
    assert s["sample"][0]["rules"] == []
    assert s["sample"][0]["explanation"] == (
        "total 60.00 -> 72.00 (+12.00) because same rules fired with the same effects; "
        "reference data differs: prices")
    assert s["sample"][1]["rules"] == [{"rule": "prices/gold", "how": "effect_differs"}]


def test_sample_size_caps_the_sample(data):
    s = run(data, "candidate-ref", Options(sample_size=1))
    assert [e["order_id"] for e in s["sample"]] == ["O1"] and s["changed_orders"] == 3


def test_consume_stock_depletes_each_side_in_stream_order(data):
    reference = run(data, "same")
    s = run(data, "same", Options(consume_stock=True))
    # O3 takes W1's 10 B, so O4 finds none: 25 backordered instead of 15.
    assert side(s, "baseline")["backordered_units"] == "35"
    assert side(s, "candidate")["backordered_units"] == "35"
    assert reference["baseline"]["backordered_units"] == "25"
    assert s["changed_orders"] == 0 and s["consume_stock"] is True
    assert s["out_of_time_order"] == 0 and "out_of_time_order" not in reference


def test_consume_stock_counts_orders_out_of_time_order(data, tmp_path):
    lines = [line for line in (data / "orders.jsonl").read_text().splitlines() if line.strip()]
    path = tmp_path / "reversed.jsonl"
    path.write_text("\n".join(reversed(lines)) + "\n")
    notices = []
    s = simulate(resolve(str(data / "base")), resolve(str(data / "same")),
                 open_orders(str(path)), Options(consume_stock=True), notice=notices.append)
    # O6 (22nd), O5 and O4 (21st), O3, O2, O1 (20th): all but the first come too early.
    assert s["out_of_time_order"] == 5
    assert "5 order(s) are dated before" in notices[-1]
    # O4 now takes W1's 10 B first: 15 + 20 backordered.
    assert s["baseline"]["backordered_units"] == "35"


def test_consume_stock_with_a_candidate_that_changes_sourcing(data, tmp_path):
    # The candidate's ledger is its own: with rules that change only prices, stock moves alike.
    s = run(data, "candidate-rules", Options(consume_stock=True))
    assert s["changes"]["sourcing"] == 0
    assert side(s, "candidate")["backordered_units"] == "35"


def test_as_of_is_passed_to_every_decision(data):
    s = run(data, "candidate-rules", Options(as_of=__import__("datetime").date(2026, 1, 2)))
    assert s["as_of"] == "2026-01-02"
    assert {e["baseline"]["as_of"] for e in s["sample"]} == {"2026-01-02"}


CSV = """order_id,order_date,channel,customer_id,customer_tier,ship_to_country,ship_to_region,currency,line_id,sku,quantity,unit_price
O1,2026-11-20,,C1,silver,DE,eu,EUR,1,A,5,
O2,2026-11-20,edi,C2,gold,DE,eu,EUR,1,A,20,
O3,2026-11-20,web,C3,gold,US,eu,EUR,1,B,20,
O4,2026-11-21,web,C4,silver,US,eu,EUR,1,B,25,
O5,2026-11-21,web,C5,silver,DE,eu,EUR,1,A,0,
O6,2026-11-22,web,C6,gold,KP,eu,EUR,1,A,1,
"""


def test_csv_input_gives_the_same_results_as_jsonl(data, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(CSV)
    from_csv = run(data, "candidate-rules", orders=path)
    from_jsonl = run(data, "candidate-rules")
    for key in ("baseline", "candidate", "changes", "segments"):
        assert from_csv[key] == from_jsonl[key]
    assert from_csv["bad_lines"] == 0
    assert [e["line"] for e in from_csv["sample"]] == [3, 4]
