"""Placing a demand without a recount (engine/promising/placing.py) gives exactly what a recount
gives: net, available and the consumptions made, for every rule with a quick way, on daily
buckets with and without a working calendar, with and without an infinite fence, and over a
run of placements (each table is the next one's start, as promising an order does)."""
from __future__ import annotations

import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ordinance.engine.promising.atp import AtpRule, Consumption, tabulate
from ordinance.engine.promising.calendar import EVERY_DAY, Buckets, Calendar

D = Decimal
AS_OF = datetime.date(2026, 3, 2)
FAST = [
    AtpRule(consumption=Consumption.BACKWARD_FORWARD),
    AtpRule(consumption=Consumption.BACKWARD_FORWARD, accumulate=False),
    AtpRule(accumulation_window_days=1),
    AtpRule(accumulation_window_days=3),
    AtpRule(accumulation_window_days=7),
    AtpRule(accumulation_window_days=4, accumulate=False),
    AtpRule(),
    AtpRule(accumulate=False),
    AtpRule(consumption=Consumption.LOOK_AHEAD),
]
amounts = st.integers(min_value=0, max_value=40).map(D)


@settings(max_examples=600, deadline=None)
@given(st.data(), st.sampled_from(FAST), st.booleans(), st.booleans())
def test_placements_give_what_a_recount_gives(data, rule, weekdays, fenced):
    calendar = Calendar() if weekdays else EVERY_DAY
    buckets = Buckets.daily(AS_OF, data.draw(st.integers(min_value=1, max_value=40)), calendar)
    n = len(buckets)
    supply = tuple(data.draw(st.lists(amounts, min_size=n, max_size=n)))
    demand = tuple(data.draw(st.lists(amounts, min_size=n, max_size=n)))
    fence = data.draw(st.integers(min_value=1, max_value=n)) if fenced else None
    table = tabulate(rule, buckets, supply, demand, fence)
    end = n if fence is None else fence
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        bucket = data.draw(st.integers(min_value=0, max_value=end - 1))
        qty = D(data.draw(st.integers(min_value=1, max_value=80)))
        fast = table._placed(bucket, qty)
        placed = table.with_demand(bucket, qty)
        recount = tabulate(rule, buckets, supply, placed.demand, fence)
        assert placed.net == recount.net
        assert placed.available == recount.available
        if rule.accumulation_window_days is not None:
            # the windowed way reads the consumptions, so they must be the recount's own
            # (nearest first records what the new demand took: a recount may pair the same
            # units differently, with the same net)
            assert fast is not None and placed.consumed == recount.consumed
        elif rule.consumption is Consumption.BACKWARD_FORWARD:
            free = sum((v for v in table.net[:bucket + 1] if v > 0), D(0))
            assert (fast is not None) == (qty <= free)
        table = placed


@settings(max_examples=200, deadline=None)
@given(st.data(), st.sampled_from(FAST))
def test_promising_an_order_gives_what_recounting_each_line_gives(data, rule):
    """The promise path itself: promising lines one after another with the quick placements
    gives the same promises and tables as with a recount after each placement."""
    from ordinance.engine.promising import atp
    from ordinance.engine.promising.promise import promise

    buckets = Buckets.daily(AS_OF, 30)
    supply = tuple(data.draw(st.lists(amounts, min_size=30, max_size=30)))
    demand = tuple(data.draw(st.lists(amounts, min_size=30, max_size=30)))
    lines = data.draw(st.lists(st.tuples(st.integers(1, 60), st.integers(0, 29)), min_size=1,
                               max_size=5))
    fast = slow = tabulate(rule, buckets, supply, demand)
    original = atp.AtpTable._placed
    for qty, day in lines:
        requested = AS_OF + datetime.timedelta(days=day)
        made_fast, fast = promise(fast, D(qty), requested, AS_OF)
        atp.AtpTable._placed = lambda self, bucket, quantity: None  # type: ignore[method-assign]
        try:
            made_slow, slow = promise(slow, D(qty), requested, AS_OF)
        finally:
            atp.AtpTable._placed = original  # type: ignore[method-assign]
        assert made_fast == made_slow and made_fast.trace == made_slow.trace
        assert fast == slow and fast.net == slow.net and fast.available == slow.available
