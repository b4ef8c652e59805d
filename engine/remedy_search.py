"""Re-deciding changed orders for engine/remedies.py: applying a remedy's changes, verifying
it, and the bounded searches for a threshold that only pricing knows.

In: a `CompiledRuleSet`, the request, the as-of date and the request's `Decision`. Out: a
`Searcher` whose `verify(changes, goal)` gives the re-decision's JSON when the goal holds and
the order is not newly rejected, else None; `smallest_quantity` and `lowest_change` find, by
re-deciding, the value nearest to now at which a goal starts to hold. Raises nothing.

The non-obvious choice: every re-decision, whether a step of a search or a verification,
spends one unit of one budget, and results are kept by their changes, so a search's answer is
verified without deciding it again. Searches assume the goal is monotone in the value (more
units never un-meet a minimum subtotal); where it is not, the verification catches it.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any, Callable

from .packrun import ERRORS
from .model import Rule
from .probe import Keys, Knob, Probe, rule_holds
from .state import copy_json

if TYPE_CHECKING:
    from .decision import Decision
    from .evaluate import CompiledRuleSet

Goal = Callable[[dict[str, Any]], bool]
MAX_QUANTITY = Decimal(10) ** 9
MAX_DOUBLINGS = 10
MAX_ATTRIBUTES = 4


@dataclass(frozen=True)
class Change:
    keys: Keys             # the path in the request's order; () for the as-of date
    text: str              # "order.lines[0].quantity", "as_of"
    before: Any
    after: Any
    date: bool = False     # written as an ISO date text

    def to_json(self) -> dict[str, Any]:
        def out(v: Any) -> Any:
            return v.isoformat() if isinstance(v, datetime.date) else v
        return {"field": self.text, "from": out(self.before), "to": out(self.after)}

    def key(self) -> str:
        return f"{self.text}={self.after}"


def apply(order: dict[str, Any], changes: list[Change],
          as_of: datetime.date) -> tuple[dict[str, Any], datetime.date]:
    """The order (changed in place) and the as-of date with the changes applied."""
    day = as_of
    for c in changes:
        if not c.keys:
            day = c.after
            continue
        node: Any = order
        for k in c.keys[:-1]:
            if isinstance(k, int):
                node = node[k] if isinstance(node, list) and k < len(node) else None
            elif isinstance(node, dict):
                if node.get(k) is None:
                    node[k] = {}
                node = node[k]
            if node is None:
                break
        if isinstance(node, dict):
            value = c.after
            node[c.keys[-1]] = value.isoformat() if c.date and isinstance(
                value, datetime.date) else value
    return order, day


def _dec(v: Any) -> Decimal | None:
    if isinstance(v, Decimal):
        return v
    if isinstance(v, str):
        try:
            return Decimal(v)
        except ArithmeticError:
            return None
    return None


def unit_of(lp: dict[str, Any] | None) -> tuple[Decimal, Decimal, Decimal] | None:
    """(quantity, extended, extended per unit) of a decision's pricing line, when priced."""
    if lp is None:
        return None
    qty, ext = _dec(lp.get("quantity")), _dec(lp.get("extended"))
    if qty is None or ext is None or qty <= 0:
        return None
    return qty, ext, ext / qty


def line_goal_keys(line_id: str) -> Goal:
    """The goal of a backorder remedy: the line sourced and nothing of it backordered."""
    def goal(dj: dict[str, Any]) -> bool:
        for line in (dj.get("sourcing") or {}).get("lines") or ():
            if line.get("line_id") == line_id:
                return _dec(line.get("backordered")) == 0
        return False
    return goal


class Searcher:
    def __init__(self, rs: CompiledRuleSet, request: dict[str, Any], as_of: datetime.date,
                 decision: Decision, budget: int):
        self.rs, self.request, self.as_of, self.decision = rs, request, as_of, decision
        self.budget = budget
        self.spent = 0
        self.dj = decision.to_json()
        self.probe = Probe(rs, decision)
        self.kept: dict[tuple[str, ...], dict[str, Any] | None] = {}
        self.met: set[int] = set()  # goals (by identity) a shown remedy already meets
        self.memo: dict[tuple[Any, ...], Any] = {}  # reference rows found, by their question
        # each re-decision's Decision by its JSON's identity (the JSON is kept above, so the
        # identity is not reused): a per-line goal probes the rule on the changed order
        self.decisions: dict[int, Decision] = {}

    # -- re-deciding -----------------------------------------------------------------------
    def decide(self, changes: list[Change]) -> dict[str, Any] | None:
        key = tuple(c.key() for c in changes)
        if key in self.kept:
            return self.kept[key]
        if self.spent >= self.budget:
            return None
        self.spent += 1
        order, day = apply(copy_json(self.request), changes, self.as_of)
        try:
            decided = self.rs.evaluate(order, day)
            out: dict[str, Any] | None = decided.to_json()
        except ERRORS:
            out = None
        if out is not None:
            self.decisions[id(out)] = decided
        self.kept[key] = out
        return out

    def holds(self, dj: dict[str, Any], rule: Rule, line: int | None,
              role: str | None = None) -> bool:
        """Whether the rule still fires on the line in a re-decision (its JSON from here)."""
        decided = self.decisions.get(id(dj))
        return decided is not None and rule_holds(Probe(self.rs, decided), rule, line, role)

    def meets(self, changes: list[Change], goal: Goal) -> bool:
        return self.verify(changes, goal) is not None

    def verify(self, changes: list[Change], goal: Goal) -> dict[str, Any] | None:
        """The re-decision when it meets the goal and rejects no order that was not."""
        after = self.decide(changes)
        if after is None or not goal(after):
            return None
        if after.get("status") == "rejected" and self.dj.get("status") != "rejected":
            return None
        return after

    def effect(self, after: dict[str, Any], line_id: str | None) -> dict[str, Any]:
        before = self.dj
        out: dict[str, Any] = {"status": [before.get("status"), after.get("status")]}
        pb, pa = before.get("pricing") or {}, after.get("pricing") or {}
        if pb.get("currency") == pa.get("currency") and pb and pa:
            out["currency"] = pa.get("currency")
            out["total"] = [pb.get("total"), pa.get("total")]
            out["discount_percent"] = [pb.get("discount_percent"), pa.get("discount_percent")]
            line_b, line_a = _line(pb, line_id), _line(pa, line_id)
            lb, la = unit_of(line_b), unit_of(line_a)
            # another product is not a saving on the same one: its prices are shown only
            if lb is not None and la is not None and line_b is not None \
                    and line_a is not None and line_b.get("sku") != line_a.get("sku"):
                out["sku"] = [line_b.get("sku"), line_a.get("sku")]
                lb = la = None
            if lb is not None and la is not None:
                (_, eb, ub), (qa, ea, ua) = lb, la
                exp = eb.as_tuple().exponent
                q = Decimal(1).scaleb(exp if isinstance(exp, int) and exp < 0 else 0)
                out["unit_price"] = [str(ub.quantize(q)), str(ua.quantize(q))]
                out["extended"] = [str(eb), str(ea)]
                if ua < ub:
                    out["saving"] = str((ub * qa - ea).quantize(q))
        roles_b = sorted(str(a.get("role")) for a in before.get("approvals") or ())
        roles_a = sorted(str(a.get("role")) for a in after.get("approvals") or ())
        if roles_b != roles_a:
            out["approvals"] = [roles_b, roles_a]
        return out

    # -- what the decision shows -----------------------------------------------------------
    def priced_lines(self) -> list[tuple[int, str, Decimal, Decimal]]:
        out = []
        for i, lp in enumerate(((self.dj.get("pricing") or {}).get("lines") or [])[:20]):
            found = unit_of(lp)
            if found is not None:
                out.append((i, str(lp.get("line_id")), found[0], found[2]))
        return out

    def adjusted(self) -> set[tuple[str, str | None]]:
        out: set[tuple[str, str | None]] = set()
        for lp in (self.dj.get("pricing") or {}).get("lines") or ():
            for a in lp.get("adjustments") or ():
                out.add((str(a.get("rule")), str(lp.get("line_id"))))
                out.add((str(a.get("rule")), None))
        return out

    def line_id_at(self, i: int) -> str:
        lines = self.decision.order.get("lines") or []
        line = lines[i] if i < len(lines) and isinstance(lines[i], dict) else {}
        return str(line.get("id", i + 1))

    def line_index_of(self, line_id: str) -> int | None:
        for i, lp in enumerate(((self.dj.get("pricing") or {}).get("lines") or [])[:20]):
            if str(lp.get("line_id")) == line_id:
                return i
        return None

    def line_id_of(self, knob: Knob) -> str | None:
        if len(knob.keys) >= 2 and knob.keys[0] == "lines" and isinstance(knob.keys[1], int):
            return self.line_id_at(knob.keys[1])
        return None

    def requested(self, keys: Keys) -> Any:
        """The request's value at a path (None where it has none)."""
        node: Any = self.request
        for k in keys:
            if isinstance(k, int):
                node = node[k] if isinstance(node, list) and k < len(node) else None
            else:
                node = node.get(k) if isinstance(node, dict) else None
        return node

    def request_quantity_is(self, i: int, qty: Decimal) -> bool:
        lines = self.request.get("lines")
        if not isinstance(lines, list) or i >= len(lines) or not isinstance(lines[i], dict):
            return False
        q = lines[i].get("quantity")
        return isinstance(q, Decimal) and q == qty

    def integral(self, knob: Knob) -> bool:
        return bool(knob.keys) and knob.keys[-1] == "quantity"

    def dearest_line(self) -> int | None:
        lines = [(unit, -i, i) for i, _, qty, unit in self.priced_lines()
                 if self.request_quantity_is(i, qty)]
        return max(lines)[2] if lines else None

    def largest_line(self) -> int | None:
        lines = [(qty * unit, -i, i) for i, _, qty, unit in self.priced_lines()
                 if self.request_quantity_is(i, qty)]
        return max(lines)[2] if lines else None

    def lower_knobs(self) -> list[tuple[Knob, Decimal]]:
        """What may lower a value derived from pricing: each positive number among the
        request's `attributes` (a manual discount, say), then the largest line's quantity."""
        out: list[tuple[Knob, Decimal]] = []
        attrs = self.request.get("attributes")
        if isinstance(attrs, dict):
            for k, v in list(attrs.items())[:MAX_ATTRIBUTES]:
                if isinstance(v, Decimal) and v > 0:
                    out.append((Knob(("attributes", k), f"order.attributes.{k}"), v))
        i = self.largest_line()
        if i is not None:
            q = self.request["lines"][i]["quantity"]
            if q > 1:
                out.append((Knob(("lines", i, "quantity"), f"order.lines[{i}].quantity"), q))
        return out

    def line_knobs(self, i: int, discount: bool) -> list[tuple[Knob, Decimal, bool]]:
        """What may lower a value of line i derived from pricing, (knob, value now, raise):
        for a discount, the line's own unit price raised (a negotiated price) and each
        positive number among the order's `attributes` lowered; for an amount, the line's
        quantity lowered first."""
        out: list[tuple[Knob, Decimal, bool]] = []
        lines = self.request.get("lines")
        line = lines[i] if isinstance(lines, list) and i < len(lines) else None
        if not isinstance(line, dict):
            return out
        qty, price = line.get("quantity"), line.get("unit_price")
        if not discount and isinstance(qty, Decimal) and qty > 1:
            out.append((Knob(("lines", i, "quantity"), f"order.lines[{i}].quantity"), qty,
                        False))
        if discount and isinstance(price, Decimal) and price > 0:
            out.append((Knob(("lines", i, "unit_price"), f"order.lines[{i}].unit_price"),
                        price, True))
        attrs = self.request.get("attributes")
        if isinstance(attrs, dict):
            for k, v in list(attrs.items())[:MAX_ATTRIBUTES]:
                if isinstance(v, Decimal) and v > 0:
                    out.append((Knob(("attributes", k), f"order.attributes.{k}"), v, False))
        return out

    # -- searches --------------------------------------------------------------------------
    def lowest_change(self, knob: Knob, value: Decimal, goal: Goal) -> Decimal | None:
        """The largest value below `value` at which the goal holds (down to 1 for a
        quantity, 0 otherwise): halving towards the floor, then bisection; None when no
        value tried meets it."""
        integral = self.integral(knob) or value == value.to_integral_value()
        exp = value.as_tuple().exponent
        step = Decimal(1) if integral or not isinstance(exp, int) else Decimal(1).scaleb(exp)
        floor = Decimal(1) if self.integral(knob) else Decimal(0)

        def ok(v: Decimal) -> bool:
            return self.meets([Change(knob.keys, knob.text, value, v)], goal)

        # halving down from the value finds a value that meets the goal while the order
        # stays one the rules accept (the floor itself may be under a minimum order)
        bad, good = value, None
        for _ in range(MAX_DOUBLINGS):
            trial = max(((bad + floor) / 2).quantize(step, ROUND_FLOOR), floor)
            if trial >= bad or self.spent >= self.budget:
                return None
            if ok(trial):
                good = trial
                break
            bad = trial
        if good is None:
            return None
        while bad - good > step and self.spent < self.budget:
            mid = ((good + bad) / 2).quantize(step, ROUND_FLOOR)
            if mid <= good:
                break
            good, bad = (mid, bad) if ok(mid) else (good, mid)
        return good

    def raised_change(self, knob: Knob, value: Decimal, goal: Goal) -> Decimal | None:
        """The smallest value above `value` at which the goal holds (a negotiated unit price
        raised until a line's discount needs no approval): doubling, then bisection in the
        value's own places (at least cents); None when no value tried meets it."""
        exp = value.as_tuple().exponent
        places = max(2, -exp if isinstance(exp, int) and exp < 0 else 0)
        step = Decimal(1).scaleb(-places)

        def ok(v: Decimal) -> bool:
            return self.meets([Change(knob.keys, knob.text, value, v)], goal)

        bad, good = value, None
        for _ in range(MAX_DOUBLINGS):
            trial = max(bad * 2, bad + step)
            if trial > MAX_QUANTITY or self.spent >= self.budget:
                return None
            if ok(trial):
                good = trial
                break
            bad = trial
        if good is None:
            return None
        while good - bad > step and self.spent < self.budget:
            mid = ((good + bad) / 2).quantize(step, ROUND_FLOOR)
            if mid <= bad:
                break
            good, bad = (mid, bad) if ok(mid) else (good, mid)
        return good

    def smallest_quantity(self, i: int, changes: list[Change],
                          goal: Goal) -> tuple[Decimal, Decimal] | None:
        """(quantity now, the fewest units of line i at which the goal holds), searched
        upwards by doubling and then by bisection; None past the budget or MAX_QUANTITY."""
        lines = self.request.get("lines") or []
        qty = lines[i].get("quantity") if i < len(lines) else None
        if not isinstance(qty, Decimal) or qty <= 0 or qty != qty.to_integral_value():
            return None
        keys: Keys = ("lines", i, "quantity")
        text = f"order.lines[{i}].quantity"

        def ok(v: Decimal) -> bool:
            return self.meets([*changes, Change(keys, text, qty, v)], goal)

        bad, good = qty, None
        for _ in range(MAX_DOUBLINGS):
            trial = bad * 2
            if trial > MAX_QUANTITY or self.spent >= self.budget:
                return None
            if ok(trial):
                good = trial
                break
            bad = trial
        if good is None:
            return None
        while good - bad > 1 and self.spent < self.budget:
            mid = ((good + bad) / 2).quantize(Decimal(1), ROUND_FLOOR)
            good, bad = (mid, bad) if ok(mid) else (good, mid)
        return qty, good


def _line(pricing: dict[str, Any], line_id: str | None) -> dict[str, Any] | None:
    if line_id is None:
        return None
    for lp in pricing.get("lines") or ():
        if str(lp.get("line_id")) == line_id:
            found: dict[str, Any] = lp
            return found
    return None
