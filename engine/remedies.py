"""Why not, and what would change it: counterfactual remedies for one decision.

In: a `CompiledRuleSet`, the order as it was REQUESTED (before defaulting), the decision's
as-of date and optionally its `Decision`. Out: `Why` with the `Remedy` values that passed their
own re-decision (the order changed as each says, decided again under the same rule set and
as-of) and, for a rejection, each error violation's field and what its rule wants. Raises
nothing for the order's or the rule set's content; a remedy whose re-decision fails (a rule
error, a new rejection, the goal not met) is dropped and counted.

What is looked for, each from the rule set's own data (a condition's tree, a tier's bounds, a
table's inputs, the decision's promise), never from a template:

- `tier`: a line priced by `tiered_price` and the units to its next tier, with the saving;
- `discount`: a discount or promotion rule that did not apply to a line (or to the order):
  each failing comparison on a number or a date moved to the nearest value that passes
  (`line.quantity >= 100` -> 100, `date(promo.from) <= today()` -> the as-of date of the
  promotion's start), or, when the failing side is derived from pricing (a minimum subtotal, a
  rebate's threshold), the fewest units of one line that reach it (searched by re-deciding);
  a promotion pack outside its dates -> the as-of date where it starts (or last ran);
- `approval`: the value of a field or of a line's quantity below which the approval is not
  needed (the comparison's nearest failing value, or a search by re-deciding when the
  approval depends on pricing: a discount, a total);
- `violation`: for a rejection, a field moved to the nearest value its rule accepts (dates and
  numbers), beside the `wants` that name every violation's field and condition;
- `backorder`: a location with the whole quantity on hand, where a sourcing rule takes its
  location from the order (a store pick-up); the as-of date from the line's promise on which
  it ships in full; or the quantity that ships in full now.

The non-obvious choices: a remedy changes the REQUEST, never the defaulted order, because
that is what a customer or an agent can send again; a customer's master data (credit limit,
tier) is never proposed as a change. Every search is bounded (`budget` re-decisions in all,
lines and candidates capped), and its answer is verified like any other remedy.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterator

from .actions import Discount, Source, TieredPrice
from .expressions import conjuncts
from .model import Rule
from .probe import (NEGATE, Comparison, Keys, comparisons, knob_of, nearest, reads_pricing,
                    show, tree_of)
from .remedy_search import Change, Goal, Searcher, line_goal_keys, unit_of

if TYPE_CHECKING:
    from .decision import Decision
    from .evaluate import CompiledRuleSet

MAX_LINES = 20       # lines looked at per order
MAX_REMEDIES = 24    # remedies shown per decision
DEFAULT_BUDGET = 48  # re-decisions per decision, searches and verifications together
MAX_ROWS = 100_000   # inventory rows read for a backordered line
MAX_LOCATIONS = 3    # locations with the whole quantity tried per line

__all__ = ["Change", "Remedy", "Want", "Why", "wants", "why_not"]


@dataclass(frozen=True)
class Remedy:
    kind: str                 # tier | discount | approval | violation | backorder
    rule: str | None
    line_id: str | None
    condition: str            # what the rule tests (or the tier, the promise)
    wants: str                # what would pass, with the value now
    changes: tuple[Change, ...]
    effect: dict[str, Any]    # what the re-decision shows (unit prices, saving, status...)
    status_after: str
    target: dict[str, Any] | None = None  # which approval (role) or violation (code, field)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "rule": self.rule, "line_id": self.line_id,
                "target": self.target, "condition": self.condition, "wants": self.wants,
                "changes": [c.to_json() for c in self.changes], "effect": self.effect,
                "status_after": self.status_after, "verified": True}


@dataclass(frozen=True)
class Want:
    """A violation of a rejection, or a hold: its field and what its rule wants (its
    condition false). Holds (a screening match, a destination under review) get no remedy: a
    person releases them (docs/orchestration.md)."""
    rule: str | None
    code: str
    field: str | None
    message: str
    condition: str
    wants: str
    kind: str = "violation"   # violation | hold

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "rule": self.rule, "code": self.code, "field": self.field,
                "message": self.message, "condition": self.condition, "wants": self.wants}


@dataclass
class Why:
    remedies: list[Remedy] = field(default_factory=list)
    wants: list[Want] = field(default_factory=list)
    redecisions: int = 0
    dropped: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"remedies": [r.to_json() for r in self.remedies],
                "wants": [w.to_json() for w in self.wants],
                "redecisions": self.redecisions, "unverified_dropped": self.dropped}


Candidate = tuple[str, str | None, str | None, str, str, list[Change], Goal]
# a goal's target (an approval's role, a violation's code), by the goal's identity; the goal
# is kept beside it so that its identity is not reused while the answer is built
Targets = dict[int, tuple[Goal, dict[str, Any]]]


def why_not(rs: CompiledRuleSet, request: dict[str, Any], as_of: datetime.date,
            decision: Decision | None = None, budget: int = DEFAULT_BUDGET) -> Why:
    """The verified remedies (and a rejection's wants) of the request's decision."""
    if decision is None:
        decision = rs.evaluate(request, as_of)
    search = Searcher(rs, request, as_of, decision, budget)
    why = Why()
    why.wants = wants(rs, decision)
    seen: set[tuple[str, ...]] = set()
    targets: Targets = {}
    for kind, rule, line_id, cond, wanted, changes, goal in _candidates(rs, search, targets):
        if len(why.remedies) >= MAX_REMEDIES or search.spent >= search.budget:
            break
        key = (kind, str(rule), str(line_id), *(c.key() for c in changes))
        if not changes or key in seen:
            continue
        seen.add(key)
        after = search.verify(changes, goal)
        if after is None:
            why.dropped += 1
            continue
        why.remedies.append(Remedy(kind, rule, line_id, cond, wanted, tuple(changes),
                                   search.effect(after, line_id), str(after["status"]),
                                   _target(targets, goal)))
    why.redecisions = search.spent
    return why


def _target(targets: Targets, goal: Goal) -> dict[str, Any] | None:
    kept = targets.get(id(goal))
    return kept[1] if kept is not None and kept[0] is goal else None


def _candidates(rs: CompiledRuleSet, search: Searcher,
                targets: Targets) -> Iterator[Candidate]:
    # one re-decision each first, the searches (several each) last
    yield from _violations(rs, search, targets)
    yield from _backorders(rs, search)
    yield from _tiers(rs, search)
    yield from _approvals(rs, search, targets)
    yield from _discounts(rs, search)


def _rules(rs: CompiledRuleSet) -> dict[str, tuple[Rule, Any]]:
    return {r.qid: (r, p) for p in rs.model.packs for r in p.rules}


# --- rejections ---------------------------------------------------------------------------

def wants(rs: CompiledRuleSet, decision: Decision) -> list[Want]:
    """Each error violation and each hold, with the condition of its rule."""
    rules = _rules(rs)
    out = []
    entries = [("violation", v, v.get("message")) for v in decision.violations
               if v.get("severity") == "error"] + \
        [("hold", h, h.get("reason")) for h in decision.holds]
    for kind, v, message in entries[:MAX_REMEDIES]:
        found = rules.get(str(v.get("rule")))
        rule = found[0] if found is not None else None
        cond = _inputs_text(rule) if rule is not None else ""
        tree = tree_of(cond) if rule is not None and rule.when is not None else None
        shown = show(tree) if tree is not None else cond
        wanted = f"not ({shown})" if tree is not None else \
            "no row of the table to match" if rule is not None and rule.table is not None \
            else "the rule's condition false"
        out.append(Want(v.get("rule"), str(v.get("code")), v.get("field"), str(message),
                        shown, wanted, kind))
    return out


def _line_of(field_text: Any) -> int | None:
    text = str(field_text or "")
    start = text.find("lines[")
    if start < 0:
        return None
    end = text.find("]", start)
    digits = text[start + 6:end]
    return int(digits) if digits.isdigit() else None


def _violations(rs: CompiledRuleSet, search: Searcher,
                targets: Targets) -> Iterator[Candidate]:
    rules = _rules(rs)
    for v in search.decision.violations[:MAX_REMEDIES]:
        found = rules.get(str(v.get("rule")))
        if v.get("severity") != "error" or found is None:
            continue
        rule, line = found[0], _line_of(v.get("field"))
        if rule.for_each and line is None:
            continue
        goal = _violation_gone(rule.qid, v.get("code"), v.get("field"))
        targets[id(goal)] = (goal, {"code": v.get("code"), "field": v.get("field")})
        qid = rule.qid
        for _, holds, cmp in comparisons(search.probe, rule, line):
            if holds and cmp is not None and cmp.knob is not None:
                yield from _moved(search, "violation", qid, line, cmp, goal, negate=True)


def _violation_gone(qid: str, code: Any, where: Any) -> Goal:
    def goal(dj: dict[str, Any]) -> bool:
        return not any(x.get("rule") == qid and x.get("code") == code
                       and x.get("field") == where for x in dj.get("violations") or ())
    return goal


def _approval_gone(qid: str, role: Any) -> Goal:
    def goal(dj: dict[str, Any]) -> bool:
        return not any(x.get("rule") == qid and x.get("role") == role
                       for x in dj.get("approvals") or ())
    return goal


# --- approvals ----------------------------------------------------------------------------

def _approvals(rs: CompiledRuleSet, search: Searcher,
               targets: Targets) -> Iterator[Candidate]:
    rules = _rules(rs)
    done: set[tuple[str, str]] = set()
    for a in search.decision.approvals[:MAX_REMEDIES]:
        found = rules.get(str(a.get("rule")))
        if found is None or found[0].for_each or (found[0].qid, str(a.get("role"))) in done:
            continue
        rule = found[0]
        done.add((rule.qid, str(a.get("role"))))
        qid = rule.qid
        goal = _approval_gone(qid, a.get("role"))
        targets[id(goal)] = (goal, {"role": a.get("role"), "level": a.get("level")})
        derived = False
        for node, holds, cmp in comparisons(search.probe, rule, None):
            if holds and cmp is not None and cmp.knob is not None:
                yield from _moved(search, "approval", qid, None, cmp, goal, negate=True)
            elif holds and reads_pricing(node):  # a total against a limit, say
                derived = True
        if rule.table is not None:
            derived = any(t.reads_pricing for t in rule.table.inputs)
        if derived:
            what = _inputs_text(rule)
            for knob, value in search.lower_knobs():
                found_at = search.lowest_change(knob, value, goal)
                if found_at is not None:
                    yield ("approval", qid, search.line_id_of(knob), what,
                           f"{knob.text} <= {found_at} (now {value})",
                           [Change(knob.keys, knob.text, value, found_at)], goal)


def _inputs_text(rule: Rule) -> str:
    if rule.table is not None:
        return "table on " + ", ".join(t.text for t in rule.table.inputs)
    return rule.when.text if rule.when is not None else ""


# --- tiers --------------------------------------------------------------------------------

def _tiers(rs: CompiledRuleSet, search: Searcher) -> Iterator[Candidate]:
    lines = search.priced_lines()
    for pack in rs.model.plan.get("pricing", []):
        if not pack.active(search.as_of):
            continue
        for rule in pack.rules:
            tiered = [a for a in rule.actions if isinstance(a, TieredPrice)]
            if not tiered or not rule.for_each:
                continue
            bounds = sorted({q.value for act in tiered for q, _ in act.tiers
                             if q.constant and isinstance(q.value, Decimal)})
            for i, line_id, qty, unit in lines:
                # graduated bands hold the units ABOVE their bound: the first cheaper unit
                # is the one after it; all units drop to a tier's price at its bound
                step = Decimal(1) if tiered[0].mode == "graduated" else Decimal(0)
                nxt = next((b + step for b in bounds if b + step > qty and b > 0), None)
                if nxt is None or not search.request_quantity_is(i, qty) \
                        or not _may_pass(search, rule, i):
                    continue
                goal = _cheaper(rule.qid, line_id, unit)
                keys: Keys = ("lines", i, "quantity")
                yield ("tier", rule.qid, line_id,
                       f"{tiered[0].mode} tiers from " + ", ".join(str(b) for b in bounds),
                       f"line.quantity >= {nxt} (now {qty}; {nxt - qty} more)",
                       [Change(keys, f"order.lines[{i}].quantity", qty, nxt)], goal)


def _cheaper(qid: str, line_id: str, unit: Decimal) -> Goal:
    def goal(dj: dict[str, Any]) -> bool:
        if qid not in (dj.get("fired") or ()):
            return False
        for lp in (dj.get("pricing") or {}).get("lines") or ():
            if lp.get("line_id") == line_id:
                found = unit_of(lp)
                return found is not None and found[2] < unit
        return False
    return goal


# --- discounts and promotions -------------------------------------------------------------

def _discounts(rs: CompiledRuleSet, search: Searcher) -> Iterator[Candidate]:
    applied = search.adjusted()
    for pack in rs.model.plan.get("pricing", []):
        for rule in pack.rules:
            if not any(isinstance(a, Discount) for a in rule.actions):
                continue
            targets = [(i, lid) for i, lid, _, _ in search.priced_lines()] if rule.for_each \
                else [(None, None)]
            for i, lid in targets:
                if (rule.qid, lid) in applied:
                    continue
                goal = _discounted(rule.qid, lid)
                if not _may_pass(search, rule, i):
                    continue
                if not pack.active(search.as_of):
                    day = pack.effective_from if pack.effective_from and \
                        search.as_of < pack.effective_from else pack.effective_until
                    if day is not None:
                        yield ("discount", rule.qid, lid, f"pack {pack.id} runs "
                               f"{pack.effective_from} to {pack.effective_until}",
                               f"as_of {day} (now {search.as_of})",
                               [Change((), "as_of", search.as_of, day)], goal)
                    continue
                yield from _unmet(search, rule, i, lid, goal)


def _may_pass(search: Searcher, rule: Rule, line: int | None) -> bool:
    """Whether every conjunct of the rule's condition that fails is a comparison of a
    number or a date (what a remedy can move); a failing category or code is not."""
    return all(holds or cmp is not None
               for _, holds, cmp in comparisons(search.probe, rule, line))


def _discounted(qid: str, line_id: str | None) -> Goal:
    def goal(dj: dict[str, Any]) -> bool:
        for lp in (dj.get("pricing") or {}).get("lines") or ():
            if line_id is None or lp.get("line_id") == line_id:
                if any(a.get("rule") == qid for a in lp.get("adjustments") or ()):
                    return True
        return False
    return goal


def _unmet(search: Searcher, rule: Rule, line: int | None, line_id: str | None,
           goal: Goal) -> Iterator[Candidate]:
    """A discount rule that did not apply: every failing conjunct must be a comparison it
    can move (a field to its nearest passing value; at most one derived from pricing)."""
    if rule.when is None:
        if rule.table is not None and rule.table.inputs and all(
                t.reads_pricing for t in rule.table.inputs):
            yield from _raise_to(search, rule.qid, line, line_id, _inputs_text(rule),
                                 "a row of the table", [], goal)
        return
    changes: list[Change] = []
    texts: list[str] = []
    derived: Comparison | None = None
    for _, holds, cmp in comparisons(search.probe, rule, line):
        if holds:
            continue
        if cmp is None or (cmp.derived and derived is not None):
            return  # a failing test no number or date can pass (a category, a code)
        if cmp.derived:
            derived = cmp
            continue
        assert cmp.knob is not None
        if cmp.value is None and not cmp.knob.date:
            return  # a field the order leaves out (a manual discount): not the customer's
        to = nearest(cmp.op, cmp.target, cmp.value, search.integral(cmp.knob))
        if to is None:
            return
        changes.append(Change(cmp.knob.keys, cmp.knob.text, cmp.value, to, cmp.knob.date))
        texts.append(f"{cmp.side} {cmp.op} {cmp.target}: {to} (now {cmp.value})")
    if derived is not None:
        yield from _raise_to(search, rule.qid, line, line_id, derived.text,
                             f"{derived.side} {derived.op} {derived.target} "
                             f"(now {derived.value})", changes, goal)
    elif changes:
        yield ("discount", rule.qid, line_id, rule.when.text, "; ".join(texts), changes, goal)


def _raise_to(search: Searcher, qid: str, line: int | None, line_id: str | None, cond: str,
              wanted: str, changes: list[Change], goal: Goal) -> Iterator[Candidate]:
    """The fewest units of the rule's line (or of the line with the dearest unit) that meet
    a threshold derived from pricing, with `changes` applied too."""
    i = line if line is not None else search.dearest_line()
    if i is None:
        return
    found = search.smallest_quantity(i, changes, goal)
    if found is not None:
        qty, to = found
        keys: Keys = ("lines", i, "quantity")
        yield ("discount", qid, line_id, cond, f"{wanted}: line {search.line_id_at(i)} "
               f"quantity {to} (now {qty}; {to - qty} more)",
               [*changes, Change(keys, f"order.lines[{i}].quantity", qty, to)], goal)


def _moved(search: Searcher, kind: str, qid: str, line: int | None, cmp: Comparison,
           goal: Goal, negate: bool) -> Iterator[Candidate]:
    assert cmp.knob is not None
    op = NEGATE[cmp.op] if negate else cmp.op
    to = nearest(op, cmp.target, cmp.value, search.integral(cmp.knob))
    if to is None or (isinstance(to, Decimal) and search.integral(cmp.knob) and to < 1):
        return
    line_id = None if line is None else search.line_id_at(line)
    yield (kind, qid, line_id, cmp.text, f"{cmp.side} {op} {cmp.target} (now {cmp.value})",
           [Change(cmp.knob.keys, cmp.knob.text, cmp.value, to, cmp.knob.date)], goal)


# --- backorders ---------------------------------------------------------------------------

def _backorders(rs: CompiledRuleSet, search: Searcher) -> Iterator[Candidate]:
    for line in (search.decision.sourcing or [])[:MAX_LINES]:
        short = line.get("backordered")
        if not isinstance(short, Decimal) or short <= 0:
            continue
        line_id = str(line.get("line_id"))
        goal = line_goal_keys(line_id)
        promise = line.get("promise") or {}
        day = promise.get("ship_date")
        if isinstance(day, str) and str(promise.get("short", "0")) == "0":
            d = datetime.date.fromisoformat(day)
            yield ("backorder", None, line_id, "the line's promise",
                   f"ships in full from {day}", [Change((), "as_of", search.as_of, d)], goal)
        index = search.line_index_of(line_id)
        on_hand = sum((a["quantity"] for a in line.get("allocations") or ()), Decimal(0))
        if index is not None:
            yield from _locations(rs, search, index, line_id, line.get("sku"), on_hand + short,
                                  goal)
        if index is not None and on_hand > 0:
            qty = on_hand + short
            if search.request_quantity_is(index, qty):
                yield ("backorder", None, line_id, "on hand in the sourcing network",
                       f"quantity <= {on_hand} ships now (now {qty})",
                       [Change(("lines", index, "quantity"), f"order.lines[{index}].quantity",
                               qty, on_hand)], goal)


def _locations(rs: CompiledRuleSet, search: Searcher, i: int, line_id: str, sku: Any,
               qty: Decimal, goal: Goal) -> Iterator[Candidate]:
    """A location with the whole quantity on hand (the `inventory` table), named through a
    sourcing rule that takes its location from the order (`from: '[order.store]'`), with the
    text equalities its condition asks of the order (`order.shipping.service == "pickup"`)."""
    table = rs.model.tables.get("inventory")
    rows = table.rows if table is not None else []
    stocked = sorted(((r.get("on_hand"), str(r.get("location"))) for r in rows[:MAX_ROWS]
                      if isinstance(r, dict) and r.get("sku") == sku
                      and isinstance(r.get("on_hand"), Decimal) and r["on_hand"] >= qty),
                     reverse=True)[:MAX_LOCATIONS]
    if not stocked:
        return
    for pack in rs.model.plan.get("sourcing", []):
        for rule in pack.rules:
            for act in rule.actions:
                tree = search.probe.tree(act.from_expr.text) if isinstance(act, Source) \
                    and act.from_expr is not None else None
                elements = tree.args if tree is not None and tree.kind == "list" else [tree]
                knob = knob_of(elements[0], i) if len(elements) == 1 and elements[0] else None
                if knob is None or knob.date or knob.as_of:
                    continue
                asks = _equalities(search, rule, i)
                for _, location in stocked:
                    yield ("backorder", rule.qid, line_id, f"{rule.qid} sources from "
                           f"{act.from_expr.text}", f"{location} has {qty} on hand",
                           [*asks, Change(knob.keys, knob.text, search.requested(knob.keys),
                                          location)], goal)


def _equalities(search: Searcher, rule: Rule, i: int) -> list[Change]:
    """The changes to the order that the rule's `ORDER_PATH == "text"` conjuncts ask for."""
    out = []
    tree = search.probe.tree(rule.when.text) if rule.when is not None else None
    for c in conjuncts(tree) if tree is not None else []:
        if c.kind == "cmp" and c.value == "==":
            path, lit = c.args if c.args[1].kind == "lit" else c.args[::-1]
            knob = knob_of(path, i) if lit.kind == "lit" and isinstance(lit.value, str) else None
            if knob is not None and not knob.date and not knob.as_of:
                out.append(Change(knob.keys, knob.text, search.requested(knob.keys), lit.value))
    return out
