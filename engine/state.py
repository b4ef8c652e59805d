"""The per-decision state: what one evaluation reads and writes while it runs.

In: a `CompiledRuleSet`, an order (the state's own copy: defaulting writes it), an as-of date
and optionally a stock ledger. Out: `State.decision()`, a `Decision`, once `State.run(phases)`
has run the plan. Rule errors do not escape: `run_rule` records each as an entry of the
decision's `errors` (its rule, phase, code, message and FILE:LINE:COL) and the order fails
closed (`rejected`); only the budget's `DecisionStopped` ends the run early.

The non-obvious choice: the `State` is both the scope dict's owner (`S`, what compiled
expressions read, rebound as rules and lines change) and the evaluation context (`X`) that
functions and actions call back into (reference tables, running pricing, stock, the budget), so
a compiled expression is a plain `fn(S, X)` with no object lookups of its own. `pricing` and
`line.pricing` are lazy views recomputed only after pricing changed.
"""
from __future__ import annotations

import datetime
import weakref
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Callable

from .budget import BudgetExceeded, DecisionStopped
from .decision import Decision
from .packrun import ERRORS
from .pricing import UNTAXED, Pricing, line_id
from .model import Rule
from .sourcing import Allocation, SourcingPlan
from .values import D, LazyObject, RuleError, render, truthy

if TYPE_CHECKING:
    from .evaluate import CompiledRuleSet


_TEXT_ONLY = frozenset({str})
_LATE = {"pricing": 1, "sourcing": 2, "approval": 3}  # the phases a blocked order skips
_ZERO = D(0)  # a quantity is compared with a Decimal, not converting the int 0 each time
_SEVERITY = itemgetter("severity")
_FIRST = itemgetter(0)


def copy_json(o: Any) -> Any:
    """A deep copy of plain JSON data (dicts and lists; the rest is immutable)."""
    c = o.__class__
    if c is dict:
        return {k: copy_json(v) for k, v in o.items()}
    if c is list:
        return [copy_json(v) for v in o]
    return o


class OrderPricingView(LazyObject):
    """`pricing` while the pricing phase runs: recomputed on a read after pricing changed.
    It refers to its state weakly: the state refers to it (`S["pricing"]`), and a cycle would
    keep each decision's state alive until the cyclic collector ran (issue 16)."""

    __slots__ = ("state", "cache")

    def __init__(self, state: "State"):
        self.state = weakref.ref(state)
        self.cache: dict[str, Any] | None = None

    def get(self, key: str) -> Any:
        st = self.state()
        if st is None:  # its decision is over and gone
            return None
        cache = self.cache
        if st.pricing_dirty or cache is None:
            pricing = st.pricing
            if pricing is None:  # dropped by the budget (State.stop): nothing reads it after
                return None
            if key in UNTAXED:  # a running total: no line's tax is computed to read it
                return pricing.untaxed(key)
            cache = self.cache = pricing.view()
            st.pricing_dirty = False
        return cache.get(key)


class State:
    # Called by CompiledTable.match with the table and the rows it matched; None but in a test
    # run that counts table rows (engine/testing.py `_RowState`).
    row_hits: Callable[[Any, list[int]], None] | None = None

    def __init__(self, rs: CompiledRuleSet, order: dict[str, Any], as_of: datetime.date,
                 stock: Any):
        self.rs = rs
        self.order = order
        self.as_of = as_of
        self.ref = rs.ref
        self.S: dict[str, Any] = {"order": order, "customer": order.get("customer"),
                                  "ref": rs.ref, "pricing": None, "line": None,
                                  "line.pricing": None}  # null until pricing binds it
        self.violations: list[dict[str, Any]] = []
        self.configured: dict[int, Any] = {}  # configured lines (engine/configurator/orders.py)
        if rs.model.configs:  # imported for a rule set that configures (issue 16, start-up)
            from .configurator.orders import check_lines

            self.configured = check_lines(rs.model.configs, order, as_of, self.violations)
        self.holds: list[dict[str, Any]] = []
        self.approvals: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.fired: list[str] = []
        self._fired: set[str] = set()
        self.pricing: Pricing | None = None
        self.pricing_dirty = True
        self.allocation = Allocation(rs.network, stock)
        self.sourced: dict[int, dict[str, Any]] = {}
        self.plans: list[SourcingPlan] = []  # recorded only when the rule set promises
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

    def floor_at(self, rule: str, line_index: int | None) -> None:
        """`price_floor` for a rule whose firing did not store its rule and line here (its
        actions name them: engine/packrun.py `_emit_rule`)."""
        self.rule, self.line_index = rule, line_index
        self.price_floor()

    def source_line(self, action: Any) -> None:
        i = self.line_index
        if i is None or i in self.sourced:
            return
        line = self.S["line"]
        qty = line.get("quantity")
        if qty.__class__ is not D or qty <= _ZERO:
            raise RuleError(f"line {line_id(line, i)} has no positive quantity to source")
        if action.from_list is not None:
            candidates = action.from_list
        else:
            value = action.from_expr.fn(self.S, self)
            if value is None:
                return
            if value.__class__ is not list:
                value = [value]
            candidates = value if _TEXT_ONLY >= set(map(type, value)) \
                else [render(v) for v in value]
        split = action.split_value
        if split is None:
            split = truthy(action.split.fn(self.S, self))
        key_of = None
        if action.prefer_expr is not None:
            def key_of(row: Any) -> Any:
                self.S["it"] = row
                return action.prefer_expr.fn(self.S, self)
        ship_to = self.order.get("ship_to")
        region = ship_to.get("region") if ship_to.__class__ is dict else None
        sku = line.get("sku")
        if i in self.configured:  # its parts are sourced (engine/configurator/orders.py)
            from .configurator.orders import source_parts

            self.sourced[i] = source_parts(self, self.configured[i], line, i, qty, candidates,
                                           region, action, key_of, split)
            return
        sku_text = sku if sku.__class__ is str else render(sku)
        region_text = region if region is None or region.__class__ is str else render(region)
        allocation = self.allocation
        allocations, backordered = allocation.source(
            candidates, sku_text, qty, region_text, action.prefer, key_of, split, self.as_of)
        lid = line.get("id")  # line_id(line, i), a text id taken without a call
        sourced = self.sourced[i] = {"line_id": lid if lid.__class__ is str
                                     else line_id(line, i), "sku": sku,
                                     "backordered": backordered, "allocations": allocations}
        net = allocation.network
        if net.promising is None and net.promising_error is None:
            return  # no atp_rules: nothing is promised (Allocation.promise would say None)
        promised = allocation.promise(
            sku_text, qty, allocations, backordered, candidates, region_text, action.prefer,
            key_of, self.as_of, split, self.order.get("demand_class"))
        if promised is not None:
            sourced["promise"] = promised
            self.plans.append(SourcingPlan(  # the service reserves over these (not rendered)
                sourced["line_id"], sku_text, tuple(map(_FIRST, allocation.ranked)),
                action.prefer, split, region_text))

    # -- running ------------------------------------------------------------------------------
    def blocked(self) -> bool:
        return bool(self.errors) or "error" in map(_SEVERITY, self.violations)

    def late_phases_blocked(self) -> bool:
        """Whether pricing, sourcing and approval are skipped: judged once, on what the first
        three phases left (a pricing error does not stop sourcing)."""
        if self.early_block is None:
            self.early_block = self.blocked()
        return self.early_block

    def run(self, phases: set[str]) -> None:
        order = self.order
        for phase, runners in self.rs.active_plan(self.as_of):
            if phase not in phases:
                continue
            if self.stopped:
                break
            lines = order.get("lines")
            self.lines = lines if lines.__class__ is list else []
            late = _LATE.get(phase)  # pricing 1, sourcing 2, approval 3; else None
            if late is not None:
                blocked = self.early_block  # late_phases_blocked(), written out
                if blocked is None:
                    blocked = self.early_block = self.blocked()
                if blocked:
                    continue
                pricing = self.pricing
                if late == 1:
                    if pricing is None:
                        self.start_pricing()
                else:
                    if late == 2:
                        self.sourcing_ran = True
                    if pricing is not None:
                        self.S["pricing"] = pricing.final or pricing.view()
                        self.pricing_dirty = False
            self.phase = phase
            try:
                for run in runners:
                    run(self)
            except DecisionStopped:
                self.stop()
                break
            if late == 1 and self.pricing is not None:
                self.finish_pricing()
        self.phase = ""

    def start_pricing(self) -> None:
        lines = self.order.get("lines")
        self.lines = lines if lines.__class__ is list else []
        self.pricing = Pricing(self.order.get("currency"), self.lines, self.rs.minor_units)
        if self.configured:
            from .configurator.orders import price_lines

            price_lines(self.pricing, self.configured)
        self.pricing_view = OrderPricingView(self)

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
        if line_index is not None:  # `line.pricing` is the line's LinePrice (a LazyObject)
            self.S["line.pricing"] = self.pricing.lines[line_index]

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

    def decision(self) -> Decision:
        if self.blocked():
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
                        self.steps, tuple(self.plans))
