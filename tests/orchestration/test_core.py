"""The order-management core (engine/oms_*.py), as pure functions: refusals as values, the
lines after a change, holds, stock moves, and invoices that add up to the current decision
however an order is shipped and repriced (a property over random splits)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinance.engine import oms_billing, oms_change, oms_holds, oms_lifecycle, oms_stock
from ordinance.engine.oms_values import Refused

AT = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def test_a_refusal_is_a_value_with_code_path_and_details() -> None:
    with pytest.raises(Refused) as exc:
        oms_lifecycle.next_state("captured", "delivered")
    r = exc.value.refusal
    assert (r.code, r.details["allowed_in"]) == ("WRONG_STATE", ["shipped"])
    with pytest.raises(Refused) as exc:
        oms_lifecycle.shipment({"1": {"ordered": "2", "shipped": "1"}}, [("1", Decimal(2))])
    assert (exc.value.refusal.code, exc.value.refusal.path) == ("OVER_SHIPPED",
                                                                "$.lines[0].quantity")
    lines = {"1": {"ordered": "5", "shipped": "1"}}
    assert oms_lifecycle.shipment(lines, [("1", Decimal(2)), ("1", Decimal(1))]) == {"1": "4"}
    assert lines["1"]["shipped"] == "1"  # read, never changed


def test_a_change_keeps_what_shipped_or_is_refused() -> None:
    old = {"1": {"ordered": "10", "shipped": "4", "returned": "1", "sku": "A",
                 "allocations": {"WH": "6"}},
           "2": {"ordered": "5", "shipped": "0", "sku": "B", "allocations": {"WH": "5"}}}
    new = {"1": {"ordered": "7", "shipped": "0", "sku": "A", "allocations": {"WH": "7"}},
           "2": {"ordered": "9", "shipped": "0", "sku": "B", "allocations": {"WH": "9"}}}
    order = {"lines": [{"id": "1"}, {"id": "2"}]}
    oms_change.check_shipped(old, new, order)
    after = oms_change.rebase(old, new)
    assert after["1"]["shipped"] == "4" and after["1"]["returned"] == "1"
    assert after["1"]["allocations"] == {"WH": "3"}  # shipped goods need no reservation
    assert new["1"]["allocations"] == {"WH": "7"}  # the input is not changed
    cut = {**new, "1": {**new["1"], "ordered": "3"}}
    with pytest.raises(Refused) as exc:
        oms_change.check_shipped(old, cut, order)
    assert (exc.value.refusal.code, exc.value.refusal.path) == ("BELOW_SHIPPED",
                                                                "$.order.lines[0].quantity")
    with pytest.raises(Refused) as exc:
        oms_change.check_shipped(old, {"2": new["2"]}, {"lines": [{"id": "2"}]})
    assert exc.value.refusal.path == "$.order.lines"
    assert oms_change.target("shipped", "accepted") == ("scheduled", "scheduled")
    assert oms_change.target("captured", "rejected") == ("cancelled", "captured")
    assert oms_change.target("cancelled", "accepted") is None


def test_holds_resume_where_the_first_one_found_the_order() -> None:
    state, holds = oms_holds.hold("scheduled", [], "A", "a", "t", "rule x")
    state, holds = oms_holds.hold(state, holds, "B", "b", "t", "rule y")
    assert state == "on_hold" and [h["resume"] for h in holds] == ["scheduled", "scheduled"]
    assert oms_holds.hold(state, holds, "A", "again", "t", "p") is None
    to, keep, gone = oms_holds.release(state, holds, "A")
    assert (to, [h["code"] for h in keep], [h["code"] for h in gone]) == ("on_hold", ["B"],
                                                                          ["A"])
    assert oms_holds.release(to, keep, None)[0] == "scheduled"
    assert oms_holds.release("captured", [], None) is None
    with pytest.raises(Refused):
        oms_holds.hold("shipped", [], "A", "a", "t", "p")


def test_stock_moves_of_reservations_and_shipments() -> None:
    lines = {"1": {"sku": "A", "ordered": "5", "shipped": "0", "net": "10.00",
                   "allocations": {"N": "2", "S": "3"}},
             "2": {"sku": None, "ordered": "1", "shipped": "0", "allocations": {"N": "1"}}}
    moves = oms_stock.reservations(lines, -1)
    assert [(m.location, m.allocated) for m in moves] == [("N", Decimal(-2)),
                                                           ("S", Decimal(-3))]
    assert oms_stock.ship_from(lines["1"], Decimal(1), None) == "N"
    m = oms_stock.shipment_move("1", lines["1"], Decimal(4), "S")
    assert (m.on_hand, m.allocated) == (Decimal(-4), Decimal(-3))
    assert oms_stock.shipped_amount(lines["1"], Decimal(2)) == Decimal("4.00")


def _pricing(nets: list[Decimal], taxes: list[Decimal], charge: Decimal) -> dict:
    return {"currency": "USD",
            "lines": [{"line_id": str(i + 1), "net": str(n), "tax": str(t)}
                      for i, (n, t) in enumerate(zip(nets, taxes))],
            "charges": [{"code": "shipping", "amount": str(charge), "tax": "0"}]
            if charge else []}


cents = st.integers(min_value=1, max_value=100000).map(lambda c: Decimal(c) / 100)


@settings(max_examples=150, deadline=None)
@given(ordered=st.lists(st.integers(1, 40), min_size=1, max_size=4), data=st.data())
def test_invoices_add_up_to_the_current_decision_however_shipped_and_repriced(
        ordered: list[int], data: st.DataObject) -> None:
    """Ship part, change (new quantities, new nets and taxes, a charge added or dropped),
    ship the rest: the invoices add up to the final decision's nets, taxes and charges."""
    nets = [data.draw(cents) for _ in ordered]
    taxes = [data.draw(cents) for _ in ordered]
    charge = data.draw(st.sampled_from([Decimal(0), Decimal("15.00")]))
    lines = {str(i + 1): {"ordered": str(q), "shipped": "0", "sku": "A"}
             for i, q in enumerate(ordered)}
    billed = oms_billing.new_billed()
    docs = []

    def ship(pricing: dict, parts: list[tuple[str, Decimal]]) -> None:
        for lid, q in parts:
            lines[lid]["shipped"] = str(Decimal(lines[lid]["shipped"]) + q)
        doc = oms_billing.compose("O", "e", AT, pricing, lines, parts, {}, None,
                                  first=not docs, order={}, billed=billed)
        assert doc is not None
        oms_billing.add_billed(billed, doc)
        docs.append(doc)

    first = [(lid, Decimal(data.draw(st.integers(0, int(ln["ordered"])))))
             for lid, ln in lines.items()]
    ship(_pricing(nets, taxes, charge), [p for p in first if p[1]] or [("1", Decimal(0))])
    # the change: each line at least what shipped, repriced
    for ln in lines.values():
        ln["ordered"] = str(data.draw(st.integers(max(1, int(Decimal(ln["shipped"]))), 60)))
    nets2 = [data.draw(cents) for _ in ordered]
    taxes2 = [data.draw(cents) for _ in ordered]
    charge2 = data.draw(st.sampled_from([Decimal(0), Decimal("15.00"), Decimal("4.95")]))
    final = _pricing(nets2, taxes2, charge2)
    rest = [(lid, Decimal(ln["ordered"]) - Decimal(ln["shipped"])) for lid, ln in lines.items()]
    ship(final, [p for p in rest if p[1]] or [("1", Decimal(0))])
    assert sum(Decimal(d["net"]) for d in docs) == sum(nets2) + charge2
    assert sum(Decimal(d["tax"]) for d in docs) == sum(taxes2)
    for d in docs:
        assert Decimal(d["total"]) == Decimal(d["net"]) + Decimal(d["tax"])
