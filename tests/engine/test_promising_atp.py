"""Time-phased ATP: Oracle's published example under every consumption option, a daily example
worked out by hand, and properties (consumption creates nothing, promising never promises more
than there is, a release restores the table)."""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinance.engine.promising.atp import (AtpRule, Consumption, Demand, DemandType, Mode, Supply,
                                            SupplyType, build, tabulate)
from ordinance.engine.promising.calendar import Buckets, Calendar
from ordinance.engine.promising.promise import promise, release

D = Decimal
START = datetime.date(2026, 1, 5)          # a Monday; Oracle's periods are weeks here
PERIODS = Buckets(tuple(START + datetime.timedelta(weeks=i) for i in range(8)))
SUPPLY = tuple(map(D, (6, 4, 2, 4, 8, 4, 4, 4)))
DEMAND = tuple(map(D, (6, 2, 3, 6, 6, 1, 2, 2)))


def ints(values: tuple[Decimal, ...]) -> list[int]:
    assert all(v == int(v) for v in values)
    return [int(v) for v in values]


def oracle(consumption: Consumption, accumulate: bool):
    return tabulate(AtpRule(consumption=consumption, accumulate=accumulate), PERIODS, SUPPLY,
                    DEMAND)


# --- Oracle Inventory User's Guide, "ATP with Backward Consumption" and "... and Accumulation":
# supply 6 4 2 4 8 4 4 4, demand 6 2 3 6 6 1 2 2; period ATP 0 2 -1 -2 2 3 2 2.

@pytest.mark.parametrize("consumption, accumulate, net, available", [
    # no consumption: each period stands alone (Oracle's "period ATP" row)
    (Consumption.NONE, False, [0, 2, -1, -2, 2, 3, 2, 2], [0, 2, -1, -2, 2, 3, 2, 2]),
    # backward: period 3's -1 takes 1 of period 2's 2; period 4's -2 takes period 2's last 1
    # and stays -1, nothing earlier being left (Oracle's ATP row: 0 0 0 -1 2 3 2 2)
    (Consumption.BACKWARD, False, [0, 0, 0, -1, 2, 3, 2, 2], [0, 0, 0, -1, 2, 3, 2, 2]),
    # ... with accumulation: the surplus is carried, the -1 is not (Oracle: 0 0 0 -1 2 5 7 9)
    (Consumption.BACKWARD, True, [0, 0, 0, -1, 2, 3, 2, 2], [0, 0, 0, -1, 2, 5, 7, 9]),
    # backward then forward: period 4's remaining -1 takes 1 of period 5's 2
    (Consumption.BACKWARD_FORWARD, False, [0, 0, 0, 0, 1, 3, 2, 2], [0, 0, 0, 0, 1, 3, 2, 2]),
    # ... accumulated: 1, 1+3, 4+2, 6+2
    (Consumption.BACKWARD_FORWARD, True, [0, 0, 0, 0, 1, 3, 2, 2], [0, 0, 0, 0, 1, 4, 6, 8]),
    # look-ahead: cumulative balance 0 2 1 -1 1 4 6 8 (Oracle's projected QOH row); each
    # bucket shows the lowest balance from there on, so the -1 of period 4 shows in 1-4
    (Consumption.LOOK_AHEAD, False, [0, 2, -1, -2, 2, 3, 2, 2], [-1, -1, -1, -1, 1, 4, 6, 8]),
])
def test_oracle_example_under_every_consumption_option(consumption, accumulate, net, available):
    table = oracle(consumption, accumulate)
    assert ints(table.net) == net
    assert ints(table.available) == available


def test_oracle_backward_only_request_for_3_in_period_7_is_placed_in_period_6():
    table = oracle(Consumption.BACKWARD, False)
    made, after = promise(table, D(3), PERIODS.starts[6], START)
    # period 7 has 2: not enough; period 6 has 3: Oracle's "earliest ATP date of period 6"
    assert [(p.bucket, p.quantity) for p in made.parts] == [(5, D(3))]
    assert made.short == 0
    # "After placing this new demand, ATP for period 6 shows zero."
    assert ints(after.available) == [0, 0, 0, -1, 2, 0, 2, 2]
    # the line still ships on its requested date (the supply is there a period earlier)
    assert made.parts[0].ship_date == PERIODS.starts[6] and made.on_time
    assert [(s.what, s.bucket) for s in made.trace] == [
        ("look", 6), ("look", 5), ("take", 5), ("place", 5)]


def test_oracle_accumulating_request_for_3_in_period_7_is_on_time():
    table = oracle(Consumption.BACKWARD, True)
    made, after = promise(table, D(3), PERIODS.starts[6], START)
    # "ATP is 7, so adequate ATP exists to cover"
    assert [(p.bucket, p.quantity) for p in made.parts] == [(6, D(3))] and made.on_time
    # Period 7 keeps nothing of its 2 and takes 1 of period 6's 3: 0 0 0 -1 2 2+2 4+0 4+2.
    # Oracle's page prints 0 0 0 -1 2 2 4 5 for this row, which loses one unit (9 - 3 is 6)
    # and matches the demand placed in period 6 instead; placed there we get its first figures:
    assert ints(after.available) == [0, 0, 0, -1, 2, 4, 4, 6]
    in_six = table.with_demand(5, D(3))
    assert ints(in_six.available) == [0, 0, 0, -1, 2, 2, 4, 6]


@pytest.mark.parametrize("consumption, accumulate, bucket", [
    (Consumption.NONE, False, 5),              # period 7 has 2, period 6 has 3
    (Consumption.BACKWARD_FORWARD, False, 5),
    (Consumption.BACKWARD_FORWARD, True, 6),   # accumulated 6 in period 7
    (Consumption.LOOK_AHEAD, False, 6),        # lowest balance from period 7 on is 6
])
def test_oracle_request_under_the_other_options(consumption, accumulate, bucket):
    table = oracle(consumption, accumulate)
    made, after = promise(table, D(3), PERIODS.starts[6], START)
    assert [(p.bucket, p.quantity) for p in made.parts] == [(bucket, D(3))]
    assert release(after, made) == table


def test_a_request_larger_than_anything_is_short_or_split():
    table = oracle(Consumption.BACKWARD, True)
    made, _ = promise(table, D(10), PERIODS.starts[4], START)
    assert made.parts == () and made.short == D(10)          # at most 9, in period 8
    split = tabulate(AtpRule(split=True, min_split=D(2)), PERIODS, SUPPLY, DEMAND)
    made, after = promise(split, D(10), PERIODS.starts[4], START)
    # period 5 gives its 2; then 3, 2, 2 as each period's surplus arrives; 1 is left over
    assert [(p.bucket, p.quantity) for p in made.parts] == [
        (4, D(2)), (5, D(3)), (6, D(2)), (7, D(2))]
    assert made.short == D(1) and not made.on_time
    assert ints(after.available)[4:] == [0, 0, 0, 0]
    big_min = tabulate(AtpRule(split=True, min_split=D(3)), PERIODS, SUPPLY, DEMAND)
    made, _ = promise(big_min, D(10), PERIODS.starts[4], START)
    # 2 is under the minimum: period 5 is passed over, period 6 then holds 5
    assert [(p.bucket, p.quantity) for p in made.parts] == [(5, D(5)), (7, D(4))]


def test_accumulation_needs_backward_consumption_and_rules_check_their_numbers():
    with pytest.raises(ValueError, match="accumulation needs backward consumption"):
        AtpRule(consumption=Consumption.NONE, accumulate=True)
    with pytest.raises(ValueError, match="accumulation_window_days must be positive, got 0"):
        AtpRule(accumulation_window_days=0)
    with pytest.raises(ValueError, match="past_due_supply_days must not be negative, got -1"):
        AtpRule(past_due_supply_days=-1)


# --- A daily example of our own, worked by hand -------------------------------------------
#
# As of Monday 2 March 2026; a Monday-to-Friday calendar with Friday 6 March a holiday, so the
# nine buckets of the next fortnight are
#   bucket:  0     1     2     3     4     5      6      7      8
#   date:    2 Mar 3 Mar 4 Mar 5 Mar 9 Mar 10 Mar 11 Mar 12 Mar 13 Mar
AS_OF = datetime.date(2026, 3, 2)
WEEKDAYS = Calendar(holidays=frozenset({datetime.date(2026, 3, 6)}))
DAYS = Buckets.daily(AS_OF, 14, WEEKDAYS)
ITEM, LOC = "FAS-0001", "WH-NJ"


def s(kind: SupplyType, day: int, month: int, qty: int) -> Supply:
    return Supply(ITEM, LOC, kind, datetime.date(2026, month, day), D(qty))


def d(kind: DemandType, day: int, month: int, qty: int) -> Demand:
    return Demand(ITEM, LOC, kind, datetime.date(2026, month, day), D(qty))


SUPPLIES = [
    s(SupplyType.ON_HAND, 2, 3, 10),          # bucket 0
    s(SupplyType.IN_TRANSIT, 27, 2, 8),       # 3 days past due, inside the 7-day window: bucket 0
    s(SupplyType.PURCHASE_ORDER, 20, 2, 5),   # 10 days past due: outside the window, ignored
    s(SupplyType.PURCHASE_ORDER, 7, 3, 40),   # a Saturday: next working day, 9 Mar, bucket 4
    s(SupplyType.WORK_ORDER, 6, 3, 6),        # the holiday: next working day, bucket 4
    s(SupplyType.PLANNED_ORDER, 3, 3, 50),    # planned orders do not count under this rule
]
DEMANDS = [
    d(DemandType.TRANSFER, 25, 2, 4),         # 5 days past due, inside the window: bucket 0
    d(DemandType.ORDER_LINE, 3, 3, 12),       # bucket 1
    d(DemandType.RESERVATION, 8, 3, 9),       # Sunday, back over the holiday to 5 Mar: bucket 3
    d(DemandType.ORDER_LINE, 11, 3, 30),      # bucket 6
]
DAILY = AtpRule(past_due_supply_days=7, past_due_demand_days=7)


def test_daily_buckets_skip_the_weekend_and_the_holiday():
    assert [x.isoformat()[5:] for x in DAYS.starts] == [
        "03-02", "03-03", "03-04", "03-05", "03-09", "03-10", "03-11", "03-12", "03-13"]


def test_daily_example_by_hand():
    table = build(DAILY, DAYS, AS_OF, SUPPLIES, DEMANDS)
    # supply: bucket 0 = 10 + 8 = 18; bucket 4 = 40 + 6 = 46
    assert ints(table.supply) == [18, 0, 0, 0, 46, 0, 0, 0, 0]
    # demand: bucket 0 = 4, bucket 1 = 12, bucket 3 = 9, bucket 6 = 30
    assert ints(table.demand) == [4, 12, 0, 9, 0, 0, 30, 0, 0]
    # period:   14, -12, 0, -9, 46, 0, -30, 0, 0
    # backward: bucket 1 takes 12 of bucket 0's 14 (2 left); bucket 3 takes those 2 and stays
    #           -7; bucket 6 takes 30 of bucket 4's 46 (16 left)
    assert ints(table.net) == [0, 0, 0, -7, 16, 0, 0, 0, 0]
    assert [(c.demand, c.supply, int(c.quantity)) for c in table.consumed] == [
        (1, 0, 12), (3, 0, 2), (6, 4, 30)]
    # accumulated: the -7 is not carried; 16 from bucket 4 on
    assert ints(table.available) == [0, 0, 0, -7, 16, 16, 16, 16, 16]

    # 10 wanted on Wednesday 4 Mar: nothing until the receipt of 9 Mar, 5 days late; with 3
    # days in transit it arrives on 12 Mar
    made, after = promise(table, D(10), datetime.date(2026, 3, 4), AS_OF,
                          transit=datetime.timedelta(days=3))
    assert [(p.bucket, p.quantity, p.ship_date, p.arrival_date) for p in made.parts] == [
        (4, D(10), datetime.date(2026, 3, 9), datetime.date(2026, 3, 12))]
    assert made.delay_days == 5 and not made.on_time
    assert ints(after.available) == [0, 0, 0, -7, 6, 6, 6, 6, 6]
    assert release(after, made) == table


def test_daily_example_other_options_by_hand():
    # backward then forward: bucket 3's -7 takes 7 of bucket 4's 16 -> 9 left
    bf = build(AtpRule(consumption=Consumption.BACKWARD_FORWARD, past_due_supply_days=7,
                       past_due_demand_days=7), DAYS, AS_OF, SUPPLIES, DEMANDS)
    assert ints(bf.available) == [0, 0, 0, 0, 9, 9, 9, 9, 9]
    # look-ahead: cumulative 14, 2, 2, -7, 39, 39, 9, 9, 9; lowest from each bucket on
    la = build(AtpRule(consumption=Consumption.LOOK_AHEAD, past_due_supply_days=7,
                       past_due_demand_days=7), DAYS, AS_OF, SUPPLIES, DEMANDS)
    assert ints(la.available) == [-7, -7, -7, -7, 9, 9, 9, 9, 9]
    # planned orders counted: 50 more on 3 Mar (bucket 1) covers bucket 1 and bucket 3
    planned = build(AtpRule(supply_types=frozenset(SupplyType), past_due_supply_days=7,
                            past_due_demand_days=7), DAYS, AS_OF, SUPPLIES, DEMANDS)
    # period 14, 38, 0, -9, 46, 0, -30, 0, 0: bucket 3 takes 9 of bucket 1's 38 (29 left)
    assert ints(planned.available) == [14, 43, 43, 43, 59, 59, 59, 59, 59]
    # no past-due windows: the PO of 20 Feb counts too (bucket 0: 23)
    every = build(AtpRule(), DAYS, AS_OF, SUPPLIES, DEMANDS)
    assert ints(every.supply)[0] == 23 and ints(every.available)[3] == -2


def test_daily_example_fences_windows_and_modes_by_hand():
    # infinite supply from 11 Mar (9 days out, bucket 6): the 30 of 11 Mar falls beyond it and
    # is not counted, and 50 wanted on 9 Mar (46 there) is promised on the fence's date
    fenced = build(AtpRule(infinite_fence_days=9, past_due_supply_days=7,
                           past_due_demand_days=7), DAYS, AS_OF, SUPPLIES, DEMANDS)
    assert fenced.infinite_from == 6 and ints(fenced.available) == [0, 0, 0, -7, 46, 46]
    made, after = promise(fenced, D(50), datetime.date(2026, 3, 9), AS_OF)
    assert [(p.bucket, p.quantity, p.ship_date) for p in made.parts] == [
        (None, D(50), datetime.date(2026, 3, 11))]
    assert after == fenced and made.trace[-1].what == "fence"
    # accumulation window of 3 days (shelf life): a surplus serves and is carried for 3 days.
    # Bucket 0's 14 (2 Mar) serves bucket 1 (3 Mar, 12 of it) but has expired by bucket 3
    # (5 Mar), which stays -9; bucket 4's 46 (9 Mar) serves bucket 6 (11 Mar, 30 of it) and
    # its 16 left are carried to 11 Mar but not to 12 Mar
    windowed = build(AtpRule(accumulation_window_days=3, past_due_supply_days=7,
                             past_due_demand_days=7), DAYS, AS_OF, SUPPLIES, DEMANDS)
    assert ints(windowed.net) == [2, 0, 0, -9, 16, 0, 0, 0, 0]
    assert ints(windowed.available) == [2, 2, 2, -9, 16, 16, 16, 0, 0]
    # lead-time mode: as of 2 Mar plus 3 working days is 5 Mar, whatever the table says
    lead = build(AtpRule(mode=Mode.LEAD_TIME, lead_time_days=3), DAYS, AS_OF, SUPPLIES,
                 DEMANDS)
    made, _ = promise(lead, D(500), datetime.date(2026, 3, 3), AS_OF)
    assert [(p.quantity, p.ship_date) for p in made.parts] == [(D(500), datetime.date(2026, 3, 5))]
    infinite = build(AtpRule(mode=Mode.INFINITE), DAYS, AS_OF, SUPPLIES, DEMANDS)
    made, _ = promise(infinite, D(500), datetime.date(2026, 3, 3), AS_OF)
    assert made.on_time and made.promised == D(500)


# --- Properties ----------------------------------------------------------------------------

quantities = st.lists(st.integers(min_value=0, max_value=40).map(D), min_size=1, max_size=30)
rules = st.sampled_from([
    AtpRule(consumption=Consumption.NONE, accumulate=False),
    AtpRule(consumption=Consumption.BACKWARD, accumulate=False),
    AtpRule(consumption=Consumption.BACKWARD),
    AtpRule(consumption=Consumption.BACKWARD_FORWARD, accumulate=False),
    AtpRule(consumption=Consumption.BACKWARD_FORWARD),
    AtpRule(consumption=Consumption.LOOK_AHEAD),
    AtpRule(accumulation_window_days=3),
    AtpRule(split=True, min_split=D(2)),
])


@st.composite
def tables(draw):
    supply = draw(quantities)
    n = len(supply)
    demand = draw(st.lists(st.integers(min_value=0, max_value=40).map(D), min_size=n,
                           max_size=n))
    buckets = Buckets.daily(AS_OF, n)
    return tabulate(draw(rules), buckets, tuple(supply), tuple(demand))


def shortage(table) -> Decimal:
    return -sum((v for v in table.net if v < 0), D(0))


@settings(max_examples=300, deadline=None)
@given(tables())
def test_consumption_never_creates_supply(table):
    period = [s - d for s, d in zip(table.supply, table.demand)]
    # consumption only moves surplus onto shortage: the total is kept ...
    assert sum(table.net, D(0)) == sum(period, D(0))
    # ... no bucket shows more than it received, and the free total is never more than the
    # supply (nearest-first: never more than the surpluses of the period figures)
    if table.rule.consumption is not Consumption.LOOK_AHEAD:
        assert all(n <= s for n, s in zip(table.net, table.supply))
    free = sum((n for n in table.net if n > 0), D(0))
    assert free <= sum(table.supply, D(0))
    if table.rule.accumulation_window_days is None:
        assert free <= sum((p for p in period if p > 0), D(0))
    # what any bucket offers is never more than supply less demand up to the end
    free_total = sum(table.supply, D(0)) - sum(table.demand, D(0)) + shortage(table)
    assert all(table.offer(i) <= free_total for i in range(len(table.buckets)))


@settings(max_examples=300, deadline=None)
@given(tables(), st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=29))
def test_promising_never_promises_more_than_there_is(table, qty, day):
    requested = AS_OF + datetime.timedelta(days=min(day, len(table.buckets) - 1))
    made, after = promise(table, D(qty), requested, AS_OF)
    assert made.promised + made.short == D(qty)
    # never more than the free total, and no existing demand is left shorter than before
    free = sum((n for n in table.net if n > 0), D(0)) if not table.rule.accumulates else \
        max((table.offer(i) for i in range(len(table.buckets))), default=D(0))
    if table.rule.consumption is not Consumption.LOOK_AHEAD:
        assert shortage(after) == shortage(table)
        assert made.promised <= free or table.rule.split
    else:
        assert min(after.available) >= min(min(table.available), D(0))
    for part in made.parts:
        assert part.ship_date >= requested


@settings(max_examples=300, deadline=None)
@given(tables(), st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=29))
def test_a_promise_then_its_release_restores_the_table(table, qty, day):
    requested = AS_OF + datetime.timedelta(days=min(day, len(table.buckets) - 1))
    made, after = promise(table, D(qty), requested, AS_OF)
    back = release(after, made)
    assert back == table
    assert back.net == table.net and back.available == table.available


fast_rules = st.sampled_from([AtpRule(), AtpRule(accumulate=False),
                              AtpRule(consumption=Consumption.LOOK_AHEAD)])


@settings(max_examples=400, deadline=None)
@given(quantities, st.data(), fast_rules)
def test_placing_without_a_recount_gives_what_a_recount_gives(supply, data, rule):
    n = len(supply)
    demand = data.draw(st.lists(st.integers(min_value=0, max_value=40).map(D), min_size=n,
                                max_size=n))
    table = tabulate(rule, Buckets.daily(AS_OF, n), tuple(supply), tuple(demand))
    bucket = data.draw(st.integers(min_value=0, max_value=n - 1))
    qty = D(data.draw(st.integers(min_value=1, max_value=80)))
    fast = table._placed(bucket, qty)
    placed = table.with_demand(bucket, qty)
    recount = tabulate(rule, table.buckets, table.supply, placed.demand)
    assert placed.net == recount.net and placed.available == recount.available
    free = sum((v for v in table.net[:bucket + 1] if v > 0), D(0))
    if rule.consumption is Consumption.LOOK_AHEAD or qty <= free:
        assert fast is not None     # the quick way was taken, and agreed
    else:
        assert fast is None
