"""Evaluating one order against a compiled rule set (SPEC sections 2, 4 and 6).

In: a `CompiledRuleSet`, an order (from `parse_order`/`validate_order`), an as-of date, the
phases to run and optionally a stock ledger. Out: a `Decision`. A pure function of those inputs:
the same inputs give the same bytes out, in any process.

The per-decision `State` holds the scope dict that compiled expressions read (`S`), and is
itself the evaluation context (`X`) that functions and actions use: as-of date, reference
tables, running pricing and stock. Rule errors are caught per rule and recorded; the order
then fails closed (`rejected`).
"""
from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable

from .actions import Assign
from .budget import DEFAULT_MAX_STEPS, BudgetExceeded, DecisionStopped
from .functions import parse_date
from .packrun import ERRORS, compile_pack
from .pricing import Pricing, line_id, minor_unit_table, plain, same_pricing

from .ruleset import PHASES, Model, Pack, Rule
from .sourcing import Allocation, Network
from .values import D, LazyObject, RefTables, RuleError, render, truthy, written_alike

_BLOCKING_PHASES = ("defaulting", "validation", "compliance")


def _copy(o: Any) -> Any:
    c = o.__class__
    if c is dict:
        return {k: _copy(v) for k, v in o.items()}
    if c is list:
        return [_copy(v) for v in o]
    return o


class CompiledRuleSet:
    """Immutable after construction; share it between threads, rebuild it per process."""

    def __init__(self, model: Model, digest: str, path: str,
                 max_steps: int = DEFAULT_MAX_STEPS):
        self.model = model
        self.max_steps = max_steps  # each decision's evaluation budget (engine/budget.py)
        self.name = model.name
        self.version = model.version
        self.digest = digest
        self.path = path
        self.reference = {name: t.rows for name, t in model.tables.items()}
        self.ref = RefTables(model.tables)
        # currency -> minor unit, resolved once: ISO 4217 under the rule set's `currencies`
        self.minor_units = minor_unit_table(model.tables.get("currencies"))
        self.network = Network(model.tables.get("locations"), model.tables.get("inventory"),
                               model.tables.get("lanes"))
        self.plan: list[tuple[str, list[Pack]]] = [(ph, model.plan.get(ph, [])) for ph in PHASES]
        self.rule_ids = [r.qid for _, packs in self.plan for p in packs for r in p.rules]
        self.rule_places = {r.qid: str(r.span) for p in model.packs for r in p.rules}
        self.runners = {p.id: compile_pack(p) for p in model.packs}
        self.phase_keys = {ph: _phase_key(model, ph) for ph in PHASES}
        self.pack_keys = {p.id: _pack_key(model, p) for p in model.packs}
        self.pack_writes = {p.id: _pack_writes(p) for p in model.packs}
        self.screen_caches: dict[str, dict[str, Any]] = {}
        self.pair_plans: dict[int, tuple[CompiledRuleSet, list[Any]]] = {}

    def evaluate(self, order: dict[str, Any], as_of: datetime.date | None = None,
                 phases: Iterable[str] | None = None, stock: Any = None,
                 today: datetime.date | None = None) -> "Decision":
        as_of = resolve_as_of(order, as_of, today)
        state = State(self, _copy(order), as_of, stock)
        state.run(set(phases) if phases is not None else set(PHASES))
        return state.decision()


def _phase_key(model: Model, phase: str) -> str:
    """What a phase's outcome depends on besides the order: its packs (their files, in plan
    order) and the reference tables their expressions read. Equal keys in two rule sets mean
    the phase gives the same result in both (see evaluate_pair)."""
    h = hashlib.sha256()
    tables: set[str] = set()
    for pack in model.plan.get(phase, []):
        h.update(f"{pack.file}\n{pack.digest}\n".encode())
        tables |= pack.tables_read
    if phase == "sourcing":
        tables |= {"locations", "inventory", "lanes"}
    if "*" in tables:
        tables = set(model.table_digests)
    for name in sorted(tables):
        h.update(f"{name}={model.table_digests.get(name, '')}\n".encode())
    return h.hexdigest()


def _pack_key(model: Model, pack: Pack) -> str:
    """What a pack's effect depends on besides the state it starts from: its file and the
    reference tables it reads."""
    tables = set(model.table_digests) if "*" in pack.tables_read else set(pack.tables_read)
    text = f"{pack.phase}\n{pack.file}\n{pack.digest}\n" + "".join(
        f"{name}={model.table_digests.get(name, '')}\n" for name in sorted(tables))
    return hashlib.sha256(text.encode()).hexdigest()


Writes = dict[str, Any]  # a trie of field names: {"ship_to": {"region": {}}, ...}


def _pack_writes(pack: Pack) -> dict[str, Writes]:
    """The fields a pack's actions may write, as tries under "order" and "line" (every line):
    only `default` and `set` write, and only to the paths they name."""
    out: dict[str, Writes] = {"order": {}, "line": {}}
    for rule in pack.rules:
        for act in rule.actions:
            if isinstance(act, Assign):
                for root, keys, _ in act.targets:
                    node = out["line" if root == "line" else "order"]
                    for k in (["customer", *keys] if root == "customer" else keys):
                        node = node.setdefault(k, {})
    return out


def _merge(a: Writes, b: Writes) -> Writes:
    out = dict(a)
    for k, sub in b.items():
        out[k] = _merge(out[k], sub) if k in out else sub
    return out


SHAREABLE = ("defaulting", "validation", "compliance", "pricing")


def evaluate_pair(a: CompiledRuleSet, b: CompiledRuleSet, order: dict[str, Any],
                  as_of: datetime.date | None = None, stock_a: Any = None,
                  stock_b: Any = None, fresh: bool = False,
                  today: datetime.date | None = None) -> tuple["Decision", "Decision"]:
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
    if a.max_steps != b.max_steps:  # a shared pack charges its steps to both budgets
        return a.evaluate(order, as_of, stock=stock_a), b.evaluate(order, as_of, stock=stock_b)
    first = State(a, order if fresh else _copy(order), as_of, stock_a)
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
                    alike = first.same_order(second, written)
                    # only defaulting writes the order: once defaulted apart, always apart
                    apart = not alike and phase != "defaulting"
                    equal = alike and first.same_as(second)
                if equal:
                    first.run_pack(phase, pa)
                    behind = True
                    continue
            if behind:
                second.adopt(first, copy_order=phase == "defaulting")
                behind = False
                written = []  # the orders are alike now (a copy, or the same dict)
            if phase == "defaulting":
                written.append(writes)
            before = (first.progress(), second.progress())
            first.run_pack(phase, pa)
            second.run_pack(phase, pb)
            # a pack that fired nothing on either side leaves the states as they were
            if ((first.progress(), second.progress()) != before
                    or (pricing and (first.taxes_pending() or second.taxes_pending()))):
                equal = None
        if pricing:
            first.finish_pricing()
            if not behind:
                second.finish_pricing()
        done.add(phase)
    if behind:
        second.adopt(first, copy_order="defaulting" not in done)
    rest = set(PHASES) - done
    first.run(rest)
    second.run(rest)
    return first.decision(), second.decision()


def alike_at(a: dict[str, Any], b: dict[str, Any], written: Iterable[dict[str, Writes]]) -> bool:
    """For two orders equal by `==`: whether they are written alike at the `written` fields
    (see _pack_writes), the dicts on the way included (their keys in the same order: a write
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


def _pair_plan(a: CompiledRuleSet, b: CompiledRuleSet) -> list[Any]:
    """The phases evaluate_pair may share, each with its packs side by side and whether they
    are the same (equal pack keys); it stops before the first phase whose packs differ in
    number or ids. Computed once per pair of rule sets, kept on the first."""
    kept = a.pair_plans.get(id(b))
    if kept is not None and kept[0] is b:
        return kept[1]
    plan = []
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


class AsOfMissing(ValueError):
    """A caller asked for a decision without saying its date: no as-of, no `order_date` in
    the order, and no `today` from the caller's clock. A programming error of the caller."""


def resolve_as_of(order: dict[str, Any], as_of: datetime.date | None,
                  today: datetime.date | None) -> datetime.date:
    """The decision's as-of date (SPEC: the given as-of, else the order's `order_date`, else
    today). "Today" is the caller's: the engine reads no clock, so the same inputs give the
    same decision on any day, and a door passes its clock adapter's date."""
    if as_of is not None:
        return as_of
    od = order.get("order_date")
    day = parse_date(od) if isinstance(od, str) else None
    if day is not None:
        return day
    if today is None:
        raise AsOfMissing("no as-of date: pass as_of, an order with order_date, or today "
                          "from the caller's clock")
    return today


class OrderPricingView(LazyObject):
    """`pricing` while the pricing phase runs: recomputed on a read after pricing changed."""

    __slots__ = ("state", "cache")

    def __init__(self, state: "State"):
        self.state = state
        self.cache: dict[str, Any] | None = None

    def get(self, key: str) -> Any:
        st = self.state
        cache = self.cache
        if st.pricing_dirty or cache is None:
            pricing = st.pricing
            if pricing is None:  # dropped by the budget (State.stop): nothing reads it after
                return None
            cache = self.cache = pricing.view()
            st.pricing_dirty = False
        return cache.get(key)


class LinePricingView(LazyObject):
    """`line.pricing`: the line's view, rebuilt by the line only after it changed."""

    __slots__ = ("line",)

    def __init__(self, line: Any):
        self.line = line

    def get(self, key: str) -> Any:
        return self.line.view().get(key)


class State:
    def __init__(self, rs: CompiledRuleSet, order: dict[str, Any], as_of: datetime.date,
                 stock: Any):
        self.rs = rs
        self.order = order
        self.as_of = as_of
        self.ref = rs.ref
        self.S: dict[str, Any] = {"order": order, "customer": order.get("customer"),
                                  "ref": rs.ref, "pricing": None, "line": None}
        self.violations: list[dict[str, Any]] = []
        self.holds: list[dict[str, Any]] = []
        self.approvals: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.fired: list[str] = []
        self._fired: set[str] = set()
        self.pricing: Pricing | None = None
        self.pricing_dirty = True
        self.allocation = Allocation(rs.network, stock)
        self.sourced: dict[int, dict[str, Any]] = {}
        self.sourcing_ran = False
        self.early_block: bool | None = None  # see late_phases_blocked
        self.rule = ""
        self.phase = ""
        self.line_index: int | None = None
        self.lines: list[dict[str, Any]] = []  # the order's lines, bound as a phase starts
        self.steps = 0  # the budget (engine/budget.py): steps spent, and the most allowed
        self.max_steps = rs.max_steps
        self.stopped = False  # the budget ended the decision
        self.memo: dict[Any, Any] = {}  # results kept per decision (functions._count_by)

    # -- sharing phases between two rule sets (evaluate_pair) ------------------------------------
    def same_order(self, other: "State", written: Iterable[dict[str, Writes]]) -> bool:
        """Whether the two orders agree down to how each value is written, given that they
        can differ only at the `written` fields (see _pack_writes)."""
        a, b = self.order, other.order
        return a is b or (a == b and alike_at(a, b, written))

    def same_as(self, other: "State") -> bool:
        """Whether two states with the same order agree: the lists by value (they hold
        texts) and the pricing down to how each value is written (see same_pricing)."""
        if not (self.fired == other.fired and self.violations == other.violations
                and self.holds == other.holds and self.errors == other.errors):
            return False
        if self.pricing is None or other.pricing is None:
            return self.pricing is other.pricing
        return same_pricing(self.pricing, other.pricing)

    def progress(self) -> int:
        """Rules fired and failed so far: a pack that leaves this as it was ran no action, so
        it changed nothing (but see taxes_pending)."""
        return len(self.fired) + len(self.errors)

    def taxes_pending(self) -> bool:
        """Once a line has tax rates, reading `pricing` recomputes line taxes: a change that
        no action made."""
        return self.pricing is not None and any(lp.tax_rates for lp in self.pricing.lines)

    def run_pack(self, phase: str, pack: Pack) -> None:
        """Runs one pack of a phase up to pricing (evaluate_pair's unit of sharing; pricing
        must have been started)."""
        lines = self.order.get("lines")
        self.lines = lines if lines.__class__ is list else []
        self.phase = phase
        if pack.active(self.as_of) and not self.stopped:
            try:
                self.rs.runners[pack.id](self)
            except DecisionStopped:
                self.stop()
        self.phase = ""

    def adopt(self, other: "State", copy_order: bool = True) -> None:
        """Takes the outcome of packs that `other` ran from the same state with the same
        packs and tables. Only defaulting writes the order: once no defaulting pack is left
        to run, both may hold the same dict (`copy_order` false). A pricing is copied while
        its phase runs, and shared once finished (nothing changes it after its phase)."""
        self.order = _copy(other.order) if copy_order else other.order
        self.S["order"] = self.order
        self.S["customer"] = self.order.get("customer")
        self.violations = list(other.violations)
        self.holds = list(other.holds)
        self.errors = list(other.errors)
        self.fired = list(other.fired)
        self._fired = set(other._fired)
        self.early_block = other.early_block
        self.steps, self.stopped = other.steps, other.stopped
        if other.stopped:
            self.pricing = other.pricing
        pricing = other.pricing
        if pricing is not None:
            self.pricing = pricing if pricing.final is not None else pricing.copy()
            self.pricing_view = OrderPricingView(self)
            self.line_views = [LinePricingView(lp) for lp in self.pricing.lines]
            self.pricing_dirty = True

    # -- services for actions and functions ---------------------------------------------------
    def screen_cache(self, table: str) -> dict[str, Any]:
        return self.rs.screen_caches.setdefault(table, {})

    def root_object(self, root: str) -> dict[str, Any]:
        if root == "order":
            return self.order
        if root == "line":
            line: dict[str, Any] = self.S["line"]
            return line
        customer = self.order.get("customer")
        if customer is None:
            customer = self.order["customer"] = {}
            self.S["customer"] = customer
        elif customer.__class__ is not dict:
            raise RuleError("order.customer is not an object")
        return customer

    def refresh_customer(self) -> None:
        self.S["customer"] = self.order.get("customer")

    def line_price(self) -> Any:
        assert self.pricing is not None and self.line_index is not None
        return self.pricing.lines[self.line_index]

    def price_floor(self) -> None:
        self.violations.append({"rule": self.rule, "phase": self.phase, "code": "PRICE_FLOOR",
                                "severity": "warning",
                                "message": "a discount was capped: a net cannot go below zero",
                                "field": None if self.line_index is None
                                else f"order.lines[{self.line_index}]"})

    def source_line(self, action: Any) -> None:
        i = self.line_index
        if i is None or i in self.sourced:
            return
        line = self.S["line"]
        qty = line.get("quantity")
        if qty.__class__ is not D or qty <= 0:
            raise RuleError(f"line {line_id(line, i)} has no positive quantity to source")
        if action.from_list is not None:
            candidates = action.from_list
        else:
            value = action.from_expr.fn(self.S, self)
            if value is None:
                return
            if value.__class__ is not list:
                value = [value]
            candidates = value if all(v.__class__ is str for v in value) \
                else [render(v) for v in value]
        split = truthy(action.split.fn(self.S, self)) if action.split is not None else True
        key_of = None
        if action.prefer_expr is not None:
            def key_of(row: Any) -> Any:
                self.S["it"] = row
                return action.prefer_expr.fn(self.S, self)
        ship_to = self.order.get("ship_to")
        region = ship_to.get("region") if ship_to.__class__ is dict else None
        sku = line.get("sku")
        allocations, backordered = self.allocation.source(
            candidates, sku if sku.__class__ is str else render(sku), qty,
            render(region) if region is not None else None, action.prefer, key_of, split,
            self.as_of)
        self.sourced[i] = {"line_id": line_id(line, i), "sku": line.get("sku"),
                           "backordered": backordered, "allocations": allocations}

    # -- running ------------------------------------------------------------------------------
    def blocked(self) -> bool:
        return bool(self.errors) or any(v["severity"] == "error" for v in self.violations)

    def late_phases_blocked(self) -> bool:
        """Whether pricing, sourcing and approval are skipped: judged once, on what the first
        three phases left (a pricing error does not stop sourcing)."""
        if self.early_block is None:
            self.early_block = self.blocked()
        return self.early_block

    def run(self, phases: set[str]) -> None:
        for phase, packs in self.rs.plan:
            if phase not in phases:
                continue
            if self.stopped:
                break
            lines = self.order.get("lines")
            self.lines = lines if lines.__class__ is list else []
            if phase in ("pricing", "sourcing", "approval"):
                if self.late_phases_blocked():
                    continue
                if self.pricing is None and phase == "pricing":
                    self.start_pricing()
            if phase == "sourcing":
                self.sourcing_ran = True
            if phase in ("sourcing", "approval") and self.pricing is not None:
                self.S["pricing"] = self.pricing.final or self.pricing.view()
                self.pricing_dirty = False
            self.phase = phase
            runners = self.rs.runners
            try:
                for pack in packs:
                    if pack.active(self.as_of):
                        runners[pack.id](self)
            except DecisionStopped:
                self.stop()
                break
            if phase == "pricing" and self.pricing is not None:
                self.finish_pricing()
        self.phase = ""

    def start_pricing(self) -> None:
        lines = self.order.get("lines")
        self.lines = lines if lines.__class__ is list else []
        self.pricing = Pricing(self.order.get("currency"), self.lines, self.rs.minor_units)
        self.pricing_view = OrderPricingView(self)
        self.line_views = [LinePricingView(lp) for lp in self.pricing.lines]

    def finish_pricing(self) -> None:
        if self.pricing is None:  # the budget stopped the decision in pricing
            return
        for lp in self.pricing.lines:
            if not lp.priced:
                self.errors.append({"rule": None, "phase": "pricing", "code": "NO_PRICE",
                                    "message": f"line {lp.line_id} ({render(lp.sku)}) has no "
                                    "price: no rule gave a list price and the line carries no "
                                    "unit_price"})
        # the view applies the tax rates to the final nets; nothing changes pricing after this
        self.pricing.final = self.pricing.view()

    def refresh_pricing(self, line_index: int | None) -> None:
        """Binds `pricing` (and `line.pricing`) for a rule that may read them: lazy views,
        computed when an expression reads a field and kept until pricing changes."""
        if self.pricing is None:
            return
        if self.phase == "pricing":
            self.S["pricing"] = self.pricing_view
        if line_index is not None:
            self.S["line.pricing"] = self.line_views[line_index]

    def run_rule(self, rule: Rule, pricing_phase: bool) -> bool:
        S = self.S
        try:
            if rule.table is not None:
                rows = rule.table.match(S, self)
                if not rows:
                    return False
                self.mark(rule)
                for outputs in rows:
                    S.update(outputs)
                    if rule.reads_pricing and pricing_phase:
                        self.refresh_pricing(self.line_index)
                    for act in rule.actions:
                        act.run(self)
                        self.pricing_dirty = pricing_phase
                return True
            when = rule.when
            if when is not None and not when.fn(S, self):
                return False
            if rule.qid not in self._fired:
                self._fired.add(rule.qid)
                self.fired.append(rule.qid)
            for act in rule.actions:
                act.run(self)
            if pricing_phase:
                self.pricing_dirty = True
            return True
        except ERRORS as exc:
            self.rule_error(exc)
            return False

    def rule_error(self, exc: Exception) -> None:
        """Records a rule error of the rule running now (fail closed: the order is rejected)."""
        if self.phase == "pricing":
            self.pricing_dirty = True
        where = None
        if isinstance(exc, RuleError):
            code, message, where = exc.code, exc.message, exc.where
        else:
            code, message = "RULE_ERROR", f"arithmetic error: {exc.__class__.__name__}"
        entry = {"rule": self.rule, "phase": self.phase, "code": code, "message": message,
                 "where": where or self.rs.rule_places.get(self.rule)}
        if self.line_index is not None:
            entry["line_id"] = line_id(self.lines[self.line_index], self.line_index)
        self.errors.append(entry)
        if exc.__class__ is BudgetExceeded:  # located by `where`: the rule's place
            raise DecisionStopped

    def over_budget(self, rules: list[tuple[str, bool]]) -> None:
        """The steps a pack charged for its rules (qid, per line) when it started pass the
        budget: the decision ends, before the pack runs, naming the rule where it ran out."""
        n = len(self.lines)
        steps = self.steps - sum(n if per_line else 1 for _, per_line in rules)
        ran_out = rules[-1][0]
        for qid, per_line in rules:
            steps += n if per_line else 1
            if steps > self.max_steps:
                ran_out = qid
                break
        self.rule, self.line_index = ran_out, None
        self.rule_error(BudgetExceeded(self.max_steps))

    def stop(self) -> None:
        """Ends the decision after its budget error: no later pack or phase runs, and a
        pricing the budget interrupted is dropped (the decision's pricing is null)."""
        self.stopped = True
        self.line_index = None
        self.S["line"] = None
        if self.pricing is not None and self.pricing.final is None:
            self.pricing = None

    def mark(self, rule: Rule) -> None:
        if rule.qid not in self._fired:
            self._fired.add(rule.qid)
            self.fired.append(rule.qid)

    def decision(self) -> "Decision":
        if self.errors or any(v["severity"] == "error" for v in self.violations):
            status = "rejected"
        elif self.holds:
            status = "on_hold"
        elif self.approvals:
            status = "pending_approval"
        else:
            status = "accepted"
        sourcing = None
        if self.sourcing_ran:
            sourcing = [self.sourced[i] for i in sorted(self.sourced)]
        return Decision(self.rs, self.order, self.as_of, status, self.violations, self.holds,
                        self.pricing, sourcing, self.approvals, self.fired, self.errors,
                        self.steps)


@dataclass
class Decision:
    ruleset: CompiledRuleSet
    order: dict[str, Any]
    as_of: datetime.date
    status: str
    violations: list[dict[str, Any]]
    holds: list[dict[str, Any]]
    pricing: Pricing | None
    sourcing: list[dict[str, Any]] | None
    approvals: list[dict[str, Any]]
    fired: list[str]
    errors: list[dict[str, Any]]
    steps: int = 0  # of the evaluation budget spent (engine/budget.py); not in the JSON

    @property
    def order_id(self) -> Any:
        return self.order.get("id")

    def allocations(self) -> list[tuple[str, str, Decimal]]:
        out = []
        for line in self.sourcing or []:
            for a in line["allocations"]:
                out.append((a["location"], render(line["sku"]), a["quantity"]))
        return out

    def to_json(self) -> dict[str, Any]:
        rs = self.ruleset
        sourcing = None
        if self.sourcing is not None:
            sourcing = {"lines": [{
                "line_id": s["line_id"],
                "sku": s["sku"],
                "backordered": plain(s["backordered"]),
                "allocations": [{"location": a["location"],
                                 "quantity": plain(a["quantity"]),
                                 "ship_date": a["ship_date"].isoformat(),
                                 "arrival_date": a["arrival_date"].isoformat()}
                                for a in s["allocations"]],
            } for s in self.sourcing]}
        return {
            "order_id": self.order_id,
            "status": self.status,
            "as_of": self.as_of.isoformat(),
            "ruleset": {"name": rs.name, "version": rs.version, "digest": rs.digest},
            "order": self.order,
            "violations": self.violations,
            "holds": self.holds,
            "pricing": self.pricing.to_json() if self.pricing is not None else None,
            "sourcing": sourcing,
            "approvals": self.approvals,
            "fired": self.fired,
            "errors": self.errors,
        }
