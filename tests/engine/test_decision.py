"""engine/decision.py: the status a decision's lists give, and its JSON shape."""
from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ordinance.engine import load, validate_order
from tests.engine.helpers import write_ruleset

DAY = datetime.date(2026, 11, 20)
PACKS = {
    "c.yaml": """
        pack: c
        phase: compliance
        rules:
          - id: hold
            when: order.hold == true
            then: [{hold: {code: H, reason: review}}]
          - id: bad
            when: order.bad == true
            then: [{reject: {code: BAD, message: bad}}]
        """,
    "a.yaml": """
        pack: a
        phase: approval
        rules:
          - id: big
            when: order.big == true
            then: [{require_approval: {role: manager}}]
        """,
}


@pytest.mark.parametrize("flags, status", [
    ({}, "accepted"),
    ({"big": True}, "pending_approval"),
    ({"big": True, "hold": True}, "on_hold"),  # a hold comes before an approval
    ({"big": True, "hold": True, "bad": True}, "rejected"),  # an error before everything
])
def test_the_status_follows_the_lists(tmp_path: Path, flags: dict[str, bool],
                                      status: str) -> None:
    rs = load(write_ruleset(tmp_path / "r", PACKS))
    d = rs.evaluate(validate_order({"id": "O", "lines": [], **flags}), DAY)
    assert d.status == status
    assert d.order_id == "O"
    assert d.to_json()["status"] == status


def test_the_json_names_its_rule_set_and_keeps_sourcing_null_when_not_run(
        tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "r", PACKS)
    rs = load(root)
    d = rs.evaluate(validate_order({"id": "O", "lines": []}), DAY, phases=["compliance"])
    out = d.to_json()
    assert list(out) == ["order_id", "status", "as_of", "ruleset", "order", "violations",
                         "holds", "pricing", "sourcing", "approvals", "fired", "errors"]
    assert out["ruleset"] == {"name": "t", "version": "1", "digest": rs.digest}
    assert out["as_of"] == "2026-11-20"
    assert out["sourcing"] is None and d.allocations() == []
    assert out["approvals"] == []  # the approval phase did not run


def test_allocations_are_read_from_the_sourcing() -> None:
    rs = load(Path(__file__).resolve().parents[2] / "rulesets" / "acme")
    order = {"id": "SRC-1", "customer": {"id": "C-00060"},
             "lines": [{"id": "1", "sku": "FAS-0003", "quantity": 20}]}
    d = rs.evaluate(validate_order(order), DAY)
    assert d.status == "accepted"
    assert d.allocations() == [("DS-FASTCO", "FAS-0003", Decimal(20))]
    (line,) = d.to_json()["sourcing"]["lines"]
    assert [(a["location"], a["quantity"]) for a in line["allocations"]] == [("DS-FASTCO", "20")]
