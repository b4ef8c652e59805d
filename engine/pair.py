"""Deciding one order against two rule sets at once: the simulator's baseline and candidate.

In: two `CompiledRuleSet`s, an order, an as-of date (or the caller's today) and a stock ledger
for each. Out: the same two `Decision`s as `a.evaluate(order)` and `b.evaluate(order)`, byte for
byte (tests/engine/test_pair.py holds that over the shipped rule sets), with less work.

The non-obvious choice: sharing is decided per pack, not per phase. A pack that is the same in
both rule sets (equal pack keys: same file, same reference tables read; engine/evaluate.py
computes them once per rule set) and starts from the same state runs once, and the second
decision takes a copy of the outcome only when it next has to run a pack of its own. The plan
of what may be shared is computed once per pair of rule sets and kept on the first. The helpers
that look into a `State` (compare, copy, run one pack) live here, beside the only caller.
"""
from __future__ import annotations

import datetime
from typing import Any, Iterable

from .budget import DecisionStopped
from .decision import Decision
from .evaluate import CompiledRuleSet, PairPlan, Writes, resolve_as_of
from .pricing import same_pricing
from .model import PHASES, Pack
from .state import OrderPricingView, State, copy_json
from .values import written_alike


def _merge(a: Writes, b: Writes) -> Writes:
    out = dict(a)
    for k, sub in b.items():
        out[k] = _merge(out[k], sub) if k in out else sub
    return out


SHAREABLE = ("defaulting", "validation", "compliance", "pricing")


def evaluate_pair(a: CompiledRuleSet, b: CompiledRuleSet, order: dict[str, Any],
                  as_of: datetime.date | None = None, stock_a: Any = None,
                  stock_b: Any = None, fresh: bool = False,
                  today: datetime.date | None = None) -> tuple[Decision, Decision]:
    """Decides one order against two rule sets (the simulator's baseline and candidate): the
    same two decisions as `a.evaluate` and `b.evaluate`, with less work.

    In defaulting, validation, compliance and pricing, a pack that is the same in both (same
    file, same reference tables read: equal pack keys) and starts from the same state in both
    gives the same result: it runs once, and the second decision takes a copy of the outcome
    before it next runs a pack of its own. The states are compared only after a pack ran apart
    (they often agree again: a changed default that no later rule reads, a discount table whose
    changed rows this order does not match). Only defaulting writes the order, so once the
    second decision catches up after defaulting the two hold the same order dict; a pricing
    both finish alike is shared too, since nothing changes a pricing after its phase. Sourcing
    and approval always run apart.

    `fresh`: the order is the caller's to give away (just parsed, not read again): it becomes
    the decisions' order, defaulted in place, instead of a copy."""
    as_of = resolve_as_of(order, as_of, today)
    if a.max_steps != b.max_steps or _configured(order):  # a shared pack charges its steps
        # to both budgets; an order with configured lines (engine/configurator) goes apart
        return a.evaluate(order, as_of, stock=stock_a), b.evaluate(order, as_of, stock=stock_b)
    first = State(a, order if fresh else copy_json(order), as_of, stock_a)
    second = State(b, {}, as_of, stock_b)  # takes first's state before it runs anything
    equal: bool | None = True  # whether the states agree (None: not known, compare)
    behind = True  # second has not yet taken the outcome of what first ran for both
    apart = False  # the defaulted orders differ: nothing more is shared
    written: list[dict[str, Writes]] = []  # where the orders may differ
    done: set[str] = set()
    for phase, packs in _pair_plan(a, b):
        pricing = phase == "pricing"
        if pricing:
            if first.late_phases_blocked() or (not behind and second.late_phases_blocked()):
                break  # no pricing for an order the first three phases blocked: run() knows
            first.start_pricing()
            if not behind:
                second.start_pricing()
        for pa, pb, same, writes in packs:
            if same and not apart:
                if equal is None:
                    alike = _same_order(first, second, written)
                    # only defaulting writes the order: once defaulted apart, always apart
                    apart = not alike and phase != "defaulting"
                    equal = alike and _same_as(first, second)
                if equal:
                    _run_pack(first, phase, pa)
                    behind = True
                    continue
            if behind:
                _adopt(second, first, copy_order=phase == "defaulting")
                behind = False
                written = []  # the orders are alike now (a copy, or the same dict)
            if phase == "defaulting":
                written.append(writes)
            before = (_progress(first), _progress(second))
            _run_pack(first, phase, pa)
            _run_pack(second, phase, pb)
            # a pack that fired nothing on either side leaves the states as they were
            if ((_progress(first), _progress(second)) != before
                    or (pricing and (_taxes_pending(first) or _taxes_pending(second)))):
                equal = None
        if pricing:
            first.finish_pricing()
            if not behind:
                second.finish_pricing()
        done.add(phase)
    if behind:
        _adopt(second, first, copy_order="defaulting" not in done)
    rest = set(PHASES) - done
    first.run(rest)
    second.run(rest)
    return first.decision(), second.decision()


def alike_at(a: dict[str, Any], b: dict[str, Any], written: Iterable[dict[str, Writes]]) -> bool:
    """For two orders equal by `==`: whether they are written alike at the `written` fields
    (see evaluate._pack_writes), the dicts on the way included (their keys in the same order: a write
    may have added one)."""
    for writes in written:
        if writes["order"] and not _alike_in(a, b, writes["order"]):
            return False
        if writes["line"]:
            la, lb = a.get("lines"), b.get("lines")
            if la.__class__ is list and lb.__class__ is list:
                if not all(_alike_in(x, y, writes["line"]) for x, y in zip(la, lb)):
                    return False
            elif not written_alike(la, lb):
                return False
    return True


def _alike_in(x: Any, y: Any, writes: Writes) -> bool:
    if x is y:
        return True
    if not writes or x.__class__ is not dict or y.__class__ is not dict:
        return written_alike(x, y)  # a written field, or where the path ends
    if list(x) != list(y):
        return False
    for k, sub in writes.items():
        if not _alike_in(x.get(k), y.get(k), sub):
            return False
    return True


def _pair_plan(a: CompiledRuleSet, b: CompiledRuleSet) -> PairPlan:
    """The phases evaluate_pair may share, each with its packs side by side and whether they
    are the same (equal pack keys); it stops before the first phase whose packs differ in
    number or ids. Computed once per pair of rule sets, kept on the first."""
    kept = a.pair_plans.get(id(b))
    if kept is not None and kept[0] is b:
        return kept[1]
    plan: PairPlan = []
    for phase in SHAREABLE:
        packs_a, packs_b = a.model.plan.get(phase, []), b.model.plan.get(phase, [])
        if [p.id for p in packs_a] != [p.id for p in packs_b]:
            break  # the rest runs apart
        if phase == "pricing" and a.minor_units != b.minor_units:
            break  # a pricing copied from `a` would round at a's minor units
        plan.append((phase, [(pa, pb, a.pack_keys[pa.id] == b.pack_keys[pb.id],
                              {root: _merge(a.pack_writes[pa.id][root],
                                            b.pack_writes[pb.id][root])
                               for root in ("order", "line")})
                             for pa, pb in zip(packs_a, packs_b)]))
    if len(a.pair_plans) >= 8:
        a.pair_plans.clear()
    a.pair_plans[id(b)] = (b, plan)
    return plan


def _same_order(st: State, other: State, written: Iterable[dict[str, Writes]]) -> bool:
    """Whether the two orders agree down to how each value is written, given that they
    can differ only at the `written` fields (see evaluate._pack_writes)."""
    a, b = st.order, other.order
    return a is b or (a == b and alike_at(a, b, written))


def _same_as(st: State, other: State) -> bool:
    """Whether two states with the same order agree: the lists by value (they hold
    texts) and the pricing down to how each value is written (see same_pricing)."""
    if not (st.fired == other.fired and st.violations == other.violations
            and st.holds == other.holds and st.errors == other.errors):
        return False
    if st.pricing is None or other.pricing is None:
        return st.pricing is other.pricing
    return same_pricing(st.pricing, other.pricing)


def _progress(st: State) -> int:
    """Rules fired and failed so far: a pack that leaves this as it was ran no action, so
    it changed nothing (but see _taxes_pending)."""
    return len(st.fired) + len(st.errors)


def _taxes_pending(st: State) -> bool:
    """Once a line has tax rates, reading `pricing` recomputes line taxes: a change that
    no action made."""
    return st.pricing is not None and any(lp.tax_rates for lp in st.pricing.lines)


def _run_pack(st: State, phase: str, pack: Pack) -> None:
    """Runs one pack of a phase up to pricing (evaluate_pair's unit of sharing; pricing
    must have been started)."""
    lines = st.order.get("lines")
    st.lines = lines if lines.__class__ is list else []
    st.phase = phase
    if pack.active(st.as_of) and not st.stopped:
        try:
            st.rs.runners[pack.id](st)
        except DecisionStopped:
            st.stop()
    st.phase = ""


def _adopt(st: State, other: State, copy_order: bool = True) -> None:
    """Takes the outcome of packs that `other` ran from the same state with the same
    packs and tables. Only defaulting writes the order: once no defaulting pack is left
    to run, both may hold the same dict (`copy_order` false). A pricing is copied while
    its phase runs, and shared once finished (nothing changes it after its phase)."""
    st.order = copy_json(other.order) if copy_order else other.order
    st.S["order"] = st.order
    st.S["customer"] = st.order.get("customer")
    st.violations = list(other.violations)
    st.holds = list(other.holds)
    st.errors = list(other.errors)
    st.fired = list(other.fired)
    st._fired = set(other._fired)
    st.early_block = other.early_block
    st.steps, st.stopped = other.steps, other.stopped
    if other.stopped:
        st.pricing = other.pricing
    pricing = other.pricing
    if pricing is not None:
        st.pricing = pricing if pricing.final is not None else pricing.copy()
        st.pricing_view = OrderPricingView(st)
        st.pricing_dirty = True


def _configured(order: dict[str, Any]) -> bool:
    lines = order.get("lines")
    return lines.__class__ is list and any(
        line.__class__ is dict and "configuration" in line for line in lines)
