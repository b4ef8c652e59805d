"""summary.py on hand-written decisions: the sums, and merging in any chunking."""
from __future__ import annotations

import copy

import pytest
from ordinance.simulator.compare import compare
from ordinance.simulator.summary import CHANGE_COLUMNS, Summary, change_row


def decision(oid, status="accepted", total="100.00", currency="EUR", fired=("p/list",),
             approvals=(), holds=(), violations=(), backordered="0", discount="0.00",
             tax="0.00", channel="web", country="DE", tier="gold"):
    priced = status != "rejected" or total is not None
    return {
        "order_id": oid, "status": status,
        "order": {"id": oid, "channel": channel, "ship_to": {"country": country},
                  "customer": {"tier": tier}},
        "violations": [{"rule": "v/x", "code": c, "severity": "error"} for c in violations],
        "holds": [{"rule": "c/h", "code": c} for c in holds],
        "pricing": {"currency": currency, "total": total, "discount_total": discount,
                    "tax_total": tax} if priced else None,
        "sourcing": {"lines": [{"line_id": "1", "backordered": backordered}]},
        "approvals": [{"rule": "a/r", "role": r, "level": 1} for r in approvals],
        "fired": list(fired), "errors": [],
    }


# (baseline, candidate) per order, in stream order.
PAIRS = [
    (decision("1"), decision("1")),
    (decision("2", total="200.00", discount="10.00", tax="5.00"),
     decision("2", status="pending_approval", total="180.00", discount="30.00", tax="4.50",
              approvals=["finance"], fired=("p/list", "a/r"))),
    (decision("3", status="rejected", total=None, violations=["QTY"], fired=("v/x",),
              channel="edi", country="US", tier=None),
     decision("3", status="rejected", total=None, violations=["QTY"], fired=("v/x",),
              channel="edi", country="US", tier=None)),
    (decision("4", status="on_hold", holds=["DENIED"], fired=("c/h",), currency="USD",
              total="50.00", country="US"),
     decision("4", status="rejected", total=None, violations=["EMB"], fired=("v/x",),
              country="US")),
    (decision("5", backordered="0"), decision("5", backordered="4")),
]
RULES = ["v/x", "c/h", "p/list", "a/r", "p/never"]


def summarise(chunk_sizes, sample_size=2):
    total = Summary(sample_size)
    start = 0
    for size in chunk_sizes:
        part = Summary(sample_size)
        for i, (b, c) in enumerate(PAIRS[start:start + size], start=start + 1):
            part.add(i, b["order"], b, c, compare(b, c))
        total.merge(part)
        start += size
    assert start == len(PAIRS)
    return total.to_json(baseline_rules=RULES, candidate_rules=RULES)


def test_hand_computed_summary():
    s = summarise([5])
    assert s["orders"] == 5 and s["changed_orders"] == 3
    b, c = s["baseline"], s["candidate"]
    assert b["status_counts"] == {"accepted": 3, "on_hold": 1, "rejected": 1}
    assert c["status_counts"] == {"accepted": 2, "pending_approval": 1, "rejected": 2}
    # revenue: orders not rejected; on hold counts.
    # money is kept per currency: EUR and USD are never added.
    assert b["revenue"] == {"EUR": "400.00", "USD": "50.00"}
    assert c["revenue"] == {"EUR": "380.00"}
    assert (b["discount_total"], c["discount_total"]) == (
        {"EUR": "10.00", "USD": "0.00"}, {"EUR": "30.00"})
    assert (b["tax_total"], c["tax_total"]) == ({"EUR": "5.00", "USD": "0.00"},
                                                {"EUR": "4.50"})
    assert b["margin"] == {} and b["lines_without_cost"] == 0   # no costing given
    assert c["approvals_by_role"] == {"finance": 1} and b["approvals_by_role"] == {}
    assert b["holds_by_code"] == {"DENIED": 1} and c["holds_by_code"] == {}
    assert b["violations_by_code"] == {"QTY": 1}
    assert c["violations_by_code"] == {"EMB": 1, "QTY": 1}
    assert (b["backordered_units"], c["backordered_units"]) == ("0", "4")
    assert b["rule_fires"] == {"v/x": 1, "c/h": 1, "p/list": 3}
    assert b["never_fired"] == ["a/r", "p/never"]
    assert c["rule_fires"] == {"v/x": 2, "p/list": 3, "a/r": 1}
    assert c["never_fired"] == ["c/h", "p/never"]
    ch = s["changes"]
    assert (ch["status"], ch["total"], ch["approvals"], ch["sourcing"]) == (2, 2, 1, 1)
    assert ch["transitions"] == {"accepted->pending_approval": 1, "on_hold->rejected": 1}
    assert ch["revenue"] == {
        "EUR": {"baseline": "400.00", "candidate": "380.00", "delta": "-20.00"},
        "USD": {"baseline": "50.00", "candidate": "0.00", "delta": "-50.00"}}
    assert "revenue_converted" not in ch         # no rates, no single figure
    us = s["segments"]["country"]["US"]
    assert (us["orders"], us["changed_orders"], us["status"]) == (2, 1, 1)
    assert us["transitions"] == {"on_hold->rejected": 1}
    assert us["revenue"] == {"USD": {"baseline": "50.00", "candidate": "0.00",
                                     "delta": "-50.00"}}
    assert s["segments"]["tier"]["(none)"]["orders"] == 1
    assert s["segments"]["channel"]["web"]["revenue"] == {
        "EUR": {"baseline": "400.00", "candidate": "380.00", "delta": "-20.00"},
        "USD": {"baseline": "50.00", "candidate": "0.00", "delta": "-50.00"}}
    assert [e["order_id"] for e in s["sample"]] == ["2", "4"]
    assert s["sample"][0]["rules"] == [{"rule": "a/r", "how": "candidate_only"}]


@pytest.mark.parametrize("chunks", [[1, 1, 1, 1, 1], [2, 3], [4, 1], [1, 4]])
def test_any_chunking_gives_the_same_summary(chunks):
    assert summarise(chunks) == summarise([5])


def test_identical_decisions_report_zero_changes():
    total = Summary()
    for i, (b, _) in enumerate(PAIRS, start=1):
        total.add(i, b["order"], b, copy.deepcopy(b), compare(b, copy.deepcopy(b)))
    s = total.to_json(baseline_rules=RULES, candidate_rules=RULES)
    assert s["changed_orders"] == 0 and s["changes"]["transitions"] == {}
    assert s["baseline"] == s["candidate"] and s["sample"] == []


def test_change_row():
    b, c = PAIRS[1]
    row = change_row(2, b["order"], b, c, compare(b, c))
    assert dict(zip(CHANGE_COLUMNS, row)) | {"explanation": ""} == {
        "line": "2", "order_id": "2", "channel": "web", "country": "DE", "tier": "gold",
        "moved": "status;total;approvals;pricing", "baseline_status": "accepted",
        "candidate_status": "pending_approval", "baseline_currency": "EUR",
        "baseline_total": "200.00", "candidate_currency": "EUR", "candidate_total": "180.00",
        "total_delta": "-20.00", "baseline_margin": "", "candidate_margin": "",
        "baseline_approvals": "", "candidate_approvals": "finance",
        "baseline_backordered": "0", "candidate_backordered": "0", "rules_baseline_only": "",
        "rules_candidate_only": "a/r", "rules_effect_differs": "", "explanation": "",
        "edits": ""}


def test_change_row_gives_no_delta_across_currencies():
    b, c = decision("9", total="100.00"), decision("9", total="110.00", currency="USD")
    difference = compare(b, c)
    assert difference.moved[:2] == ("total", "pricing")
    row = dict(zip(CHANGE_COLUMNS, change_row(9, b["order"], b, c, difference)))
    assert (row["baseline_currency"], row["candidate_currency"]) == ("EUR", "USD")
    assert row["total_delta"] == ""
    assert row["explanation"].startswith("total EUR 100.00 -> USD 110.00 because")


def test_segments_read_the_decided_order_with_the_rule_sets_channel_codes():
    from ordinance.engine.segments import Segmenter
    from ordinance.simulator.summary import Reading

    reading = Reading(Segmenter({"channels": [{"code": "web"}, {"code": "edi"}]}))
    total = Summary()
    for i, channel in enumerate(("WEB", "web", " Web", "EDI"), start=1):
        b = decision(str(i), channel=channel)
        total.add(i, b["order"], b, b, compare(b, b), reading)
    s = total.to_json()
    assert {k: v["orders"] for k, v in s["segments"]["channel"].items()} == {"edi": 1, "web": 3}
    assert s["segments"]["channel"]["web"]["revenue"]["EUR"]["baseline"] == "300.00"
