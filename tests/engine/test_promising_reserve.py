"""The service's promise of a line from stored rows (engine/promising/reserve.py) and check
availability's alternatives (alternatives.py), worked by hand; and a property: whatever the
lines, what is promised from a location never exceeds what it has (on hand now, plus supply
to come by each date)."""
from __future__ import annotations

import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ordinance.engine.promising.alternatives import alternatives
from ordinance.engine.promising.atp import AtpRule, SupplyType
from ordinance.engine.promising.reserve import Site, promise_line, table

D = Decimal
AS_OF = datetime.date(2026, 11, 20)
DAY = datetime.timedelta(days=1)
RULE = AtpRule(split=True, past_due_supply_days=7)


def at(n: int) -> datetime.date:
    return AS_OF + n * DAY


def po(n: int, qty: int) -> tuple[SupplyType, datetime.date, Decimal]:
    return (SupplyType.PURCHASE_ORDER, at(n), D(qty))


def test_the_first_bucket_is_on_hand_and_late_supply_is_expected_tomorrow() -> None:
    t = table(RULE, 30, AS_OF, "A", "NJ", D(5),
              [po(-3, 7), po(-10, 100), po(4, 20), (SupplyType.ON_HAND, AS_OF, D(999))],
              [(at(-2), D(2)), (at(4), D(5))])
    # on hand 5 today; the PO 3 days late (inside 7) tomorrow; the one 10 days late not at
    # all; an on_hand row among supply to come is ignored (on hand is the stock ledger's)
    assert t.supply[:5] == (D(5), D(7), D(0), D(0), D(20))
    # a reservation dated before today is still owed: it counts today
    assert t.demand[0] == D(2) and t.demand[4] == D(5)
    assert t.offer(0) == D(3) and t.offer(1) == D(10) and t.offer(4) == D(25)


def test_on_hand_first_in_rank_order_then_the_location_that_promises_most_earliest() -> None:
    nj = table(RULE, 60, AS_OF, "A", "NJ", D(10), [po(20, 100)], [])
    tx = table(RULE, 60, AS_OF, "A", "TX", D(5), [po(10, 30)], [])
    sites = [Site("NJ", DAY, 2 * DAY), Site("TX", DAY, 3 * DAY)]
    made, after = promise_line({"NJ": nj, "TX": tx}, "A", D(45), sites, AS_OF, split=True)
    got = [(p.location, p.quantity, p.source, p.ship_date, p.arrival_date) for p in made.parts]
    # 10 + 5 from on hand now; the 30 left: TX promises them all on day 10, NJ on day 20
    assert got == [("NJ", D(10), "on_hand", at(1), at(3)),
                   ("TX", D(5), "on_hand", at(1), at(4)),
                   ("TX", D(30), "atp", at(11), at(14))]
    assert made.short == 0 and made.ship_date == at(11) and made.arrival_date == at(14)
    assert after["NJ"].offer(0) == 0 and after["TX"].offer(10) == 0
    assert after["NJ"].offer(20) == D(100)
    # not split: the first location holding the whole line, else one date for all of it
    made, _ = promise_line({"NJ": nj, "TX": tx}, "A", D(12), sites, AS_OF, split=False)
    assert [(p.location, p.quantity, p.ship_date) for p in made.parts] == [
        ("TX", D(12), at(11))]
    made, _ = promise_line({"NJ": nj, "TX": tx}, "A", D(500), sites, AS_OF, split=True)
    assert made.short == D(500) - D(145)  # all there is: 15 on hand and 130 to come
    assert made.trace[-1][0] == "short"


def test_alternatives_are_ranked_and_never_the_promise_itself() -> None:
    nj = table(RULE, 60, AS_OF, "A", "NJ", D(10), [po(20, 100)], [])
    nv = table(RULE, 60, AS_OF, "A", "NV", D(50), [], [])
    sub = table(RULE, 60, AS_OF, "B", "NJ", D(80), [], [])
    sites = [Site("NJ", DAY, 2 * DAY)]
    others = [Site("NJ", DAY, 2 * DAY), Site("NV", DAY, 5 * DAY)]
    base, _ = promise_line({"NJ": nj}, "A", D(40), sites, AS_OF, split=True)
    alts = alternatives({"A": {"NJ": nj, "NV": nv}, "B": {"NJ": sub}}, "A", D(40), base,
                        sites, others, [("B", D(2))], AS_OF, split=True)
    got = [(a.kind, a.sku, a.quantity, a.promise.ship_date, a.promise.arrival_date, a.note)
           for a in alts]
    # the promise: 10 now, 30 on the PO (day 20, shipping day 21). Alternatives, earliest
    # arrival first: 80 of B (2 per A) now from NJ; all 40 from NV now (5 days' transit);
    # all 40 on one date from NJ, on the PO. NJ is not "another" location: the promise uses it
    assert got == [
        ("substitute", "B", D(80), at(1), at(3), "80 of B for 40 of A"),
        ("another_location", "A", D(40), at(1), at(6), "all 40 from NV"),
        ("later_date", "A", D(40), at(21), at(23), f"complete on {at(21)}")]
    assert all(a.promise.short == 0 for a in alts)


@settings(max_examples=60, deadline=None)
@given(on_hand=st.integers(0, 50), pos=st.lists(st.tuples(st.integers(1, 40),
                                                          st.integers(1, 30)), max_size=4),
       asks=st.lists(st.integers(1, 40), min_size=1, max_size=8), split=st.booleans())
def test_never_more_than_there_is(on_hand: int, pos: list[tuple[int, int]], asks: list[int],
                                  split: bool) -> None:
    tables = {"NJ": table(RULE, 60, AS_OF, "A", "NJ", D(on_hand),
                          [po(d, q) for d, q in pos], [])}
    now = D(0)
    by_day: dict[datetime.date, Decimal] = {}
    for qty in asks:
        made, tables = promise_line(tables, "A", D(qty), [Site("NJ")], AS_OF, split)
        assert sum((p.quantity for p in made.parts), D(0)) + made.short == D(qty)
        for p in made.parts:
            if p.source == "on_hand":
                now += p.quantity
            else:
                by_day[p.ship_date] = by_day.get(p.ship_date, D(0)) + p.quantity
    assert now <= on_hand
    # by any date, what was promised is at most on hand plus the supply arrived by then
    for day in sorted(by_day):
        due = now + sum((q for d, q in by_day.items() if d <= day), D(0))
        came = on_hand + sum((D(q) for d, q in pos if at(d) <= day), D(0))
        assert due <= came
