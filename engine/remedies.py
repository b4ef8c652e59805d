"""Why not, and what would change it: counterfactual remedies for one decision.

In: a `CompiledRuleSet`, the order as it was REQUESTED (before defaulting), the decision's
as-of date and optionally its `Decision`. Out: `Why` with the `Remedy` values that passed their
own re-decision (the order changed as each says, decided again under the same rule set and
as-of), for a rejection or a hold each violation's field and what its rule wants (and, when
no change of the order passes it, why), and the discounts held back by a test no change of
the order passes (`blocked`: the customer's tier, an address), with the values that would
pass. Raises
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
  a failing test on a text, flag or code (`order.attributes.coupon == "WELCOME5"`,
  `order.channel in [...]`, a promotion's category `in ["-", line.category]`) -> a value
  that passes, from the rule's constants or a reference table's keys: the order's field
  itself, or, where a defaulting `set` writes the field from `ref.T[KEY].COL` (a line's
  category from its product), KEY moved to a row of T whose COL passes (another product);
  a test on the customer's master data or an address is named in `Why.blocked` instead;
- `approval`: the value of a field or of a line's quantity below which the approval is not
  needed (the comparison's nearest failing value, or a search by re-deciding when the
  approval depends on pricing: a discount, a total); for a rule run per line, per line on
  which it fires: that line's field, its quantity or the order's manual figures lowered, or
  its unit price raised (a discount), the goal being one approval fewer and the rule no
  longer firing on that line of the changed order (probed);
- `violation`: for a rejection, a field moved to the nearest value its rule accepts (dates and
  numbers), beside the `wants` that name every violation's field and condition;
- `backorder`: a location with the whole quantity on hand, where a sourcing rule takes its
  location from the order (a store pick-up); the as-of date from the line's promise on which
  it ships in full; or the quantity that ships in full now.

The non-obvious choices: a remedy changes the REQUEST, never the defaulted order, because
that is what a customer or an agent can send again; a customer's master data (credit limit,
tier) and an address are never proposed as a change, and another product only when its
category is all a rule misses (in the pack's dates). Every search is bounded (`budget`
re-decisions in all, lines and candidates capped), and its answer is verified like any other
remedy.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterator

from .actions import Assign, Discount, Source, TieredPrice
from .expressions import conjuncts
from .model import Rule
from .probe import (MAX_CONJUNCTS, NEGATE, Choice, Comparison, Keys, Knob, Probe, choice,
                    comparisons, knob_of, nearest, reads_pricing, rule_holds, show, tree_of)
from .remedy_search import Change, Goal, Searcher, line_goal_keys, unit_of
from .syntax import N

if TYPE_CHECKING:
    from .decision import Decision
    from .evaluate import CompiledRuleSet

MAX_LINES = 20       # lines looked at per order
MAX_REMEDIES = 24    # remedies shown per decision
DEFAULT_BUDGET = 48  # re-decisions per decision, searches and verifications together
MAX_ROWS = 100_000   # inventory rows read for a backordered line
MAX_LOCATIONS = 3    # locations with the whole quantity tried per line
MAX_OPTIONS = 3      # values (or reference rows) tried for a failing category or code test
MAX_SWAP_LINES = 2   # lines per rule given another product of the category a rule wants
MAX_ROW_SCAN = 100_000  # reference rows read for products of a category

__all__ = ["Blocked", "Change", "Remedy", "Want", "Why", "wants", "why_not"]


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
    # why no change of the order is proposed, when every test of the condition is on the
    # customer's master data or an address (an embargo, a destination under review)
    not_actionable: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "rule": self.rule, "code": self.code, "field": self.field,
                "message": self.message, "condition": self.condition, "wants": self.wants,
                "not_actionable": self.not_actionable}


@dataclass
class Blocked:
    """A discount that did not apply because of a test on a category, a code or a list no
    change a user could make passes (the customer's tier or segment, the delivery country, a
    field a defaulting rule overwrites): the failing test, the values that would pass it, and
    why no change is proposed. Named once per rule and test, with every line it held back."""
    rule: str
    line_ids: list[str]
    condition: str
    wants: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "line_ids": list(self.line_ids),
                "condition": self.condition, "wants": self.wants, "reason": self.reason}


@dataclass
class Why:
    remedies: list[Remedy] = field(default_factory=list)
    wants: list[Want] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)
    redecisions: int = 0
    dropped: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"remedies": [r.to_json() for r in self.remedies],
                "wants": [w.to_json() for w in self.wants],
                "not_actionable": [b.to_json() for b in self.blocked],
                "redecisions": self.redecisions, "unverified_dropped": self.dropped}

    def block(self, rule: str, line_id: str | None, condition: str, wanted: str,
              reason: str) -> None:
        for b in self.blocked:
            if b.rule == rule and b.condition == condition:
                if line_id is not None and line_id not in b.line_ids:
                    b.line_ids.append(line_id)
                return
        if len(self.blocked) < MAX_REMEDIES:
            self.blocked.append(Blocked(rule, [] if line_id is None else [line_id], condition,
                                        wanted, reason))


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
    for kind, rule, line_id, cond, wanted, changes, goal in _candidates(rs, search, targets,
                                                                        why):
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
        search.met.add(id(goal))
        why.remedies.append(Remedy(kind, rule, line_id, cond, wanted, tuple(changes),
                                   search.effect(after, line_id), str(after["status"]),
                                   _target(targets, goal)))
    why.redecisions = search.spent
    return why


def _target(targets: Targets, goal: Goal) -> dict[str, Any] | None:
    kept = targets.get(id(goal))
    return kept[1] if kept is not None and kept[0] is goal else None


def _candidates(rs: CompiledRuleSet, search: Searcher, targets: Targets,
                why: Why) -> Iterator[Candidate]:
    # one re-decision each first, the searches (several each) last
    yield from _violations(rs, search, targets)
    yield from _backorders(rs, search)
    yield from _tiers(rs, search)
    yield from _approvals(rs, search, targets)
    yield from _discounts(rs, search, why)


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
    probe = Probe(rs, decision) if entries else None
    for kind, v, message in entries[:MAX_REMEDIES]:
        found = rules.get(str(v.get("rule")))
        rule = found[0] if found is not None else None
        cond = _inputs_text(rule) if rule is not None else ""
        tree = tree_of(cond) if rule is not None and rule.when is not None else None
        shown = show(tree) if tree is not None else cond
        wanted = f"not ({shown})" if tree is not None else \
            "no row of the table to match" if rule is not None and rule.table is not None \
            else "the rule's condition false"
        fixed = _fixed(probe, rule, _line_of(v.get("field"))) \
            if rule is not None and probe is not None else None
        out.append(Want(v.get("rule"), str(v.get("code")), v.get("field"), str(message),
                        shown, wanted, kind, fixed))
    return out


def _fixed(probe: Probe, rule: Rule, line: int | None) -> str | None:
    """Why no change of the order makes the rule's condition false, when each of its tests
    is one on the customer's master data or an address; else None."""
    if rule.when is None or rule.table is not None or not probe.bind(line):
        return None
    tree = probe.tree(rule.when.text)
    reasons = []
    for c in conjuncts(tree)[:MAX_CONJUNCTS] if tree is not None else []:
        ch = choice(probe, c, line)
        reason = _unchangeable(ch) if ch is not None else None
        if reason is None:
            return None
        reasons.append(reason)
    return "; ".join(dict.fromkeys(reasons)) or None


def _unchangeable(ch: Choice) -> str | None:
    """Why a test's path is not the order's to change (the customer's master data, an
    address), or None."""
    if ch.root == "customer":
        return f"{ch.side} is the customer's master data, not the order's to change"
    if ch.root == "order" and ch.keys[0] == "ship_to":
        return f"{ch.side} is the delivery address: where the goods go is not changed to " \
            "pass a rule"
    if ch.root == "order" and ch.keys[0] == "bill_to":
        return f"{ch.side} is the billing address: not changed to pass a rule"
    return None


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
        if found is None or (found[0].qid, str(a.get("role"))) in done:
            continue
        rule = found[0]
        done.add((rule.qid, str(a.get("role"))))
        if rule.for_each:
            yield from _line_approvals(search, rule, str(a.get("role")), a.get("level"),
                                       targets)
            continue
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


def _line_approvals(search: Searcher, rule: Rule, role: str, level: Any,
                    targets: Targets) -> Iterator[Candidate]:
    """An approval rule run per line: each line on which it fires (its condition, or its
    table's row for that role, holding at the decision's end state) gets its own remedies,
    the line's field moved to the nearest value that does not need it, or (a line's discount
    or amount) the line's unit price raised, its quantity or the order's manual figures
    lowered, searched by re-deciding. Goal: fewer approvals of that rule and role, and the
    rule no longer firing on that line of the changed order."""
    qid = rule.qid
    before = _count(search.dj, qid, role)
    for i, line_id, _, _ in search.priced_lines()[:MAX_LINES]:
        if not rule_holds(search.probe, rule, i, role):
            continue
        goal = _line_approval_gone(search, rule, role, i, before)
        targets[id(goal)] = (goal, {"role": role, "level": level, "line_id": line_id})
        derived: list[str] = []
        for node, holds, cmp in comparisons(search.probe, rule, i):
            if holds and cmp is not None and cmp.knob is not None:
                yield from _moved(search, "approval", qid, i, cmp, goal, negate=True)
            elif holds and reads_pricing(node):
                derived.append(show(node))
        if rule.table is not None:
            derived += [t.text for t in rule.table.inputs if t.reads_pricing]
        if not derived:
            continue
        what = "; ".join(derived) if rule.table is None else _inputs_text(rule)
        discount = any("discount" in d for d in derived)
        for knob, value, up in search.line_knobs(i, discount):
            at = search.raised_change(knob, value, goal) if up \
                else search.lowest_change(knob, value, goal)
            if at is not None:
                yield ("approval", qid, line_id, what,
                       f"line {line_id}: {knob.text} {'>=' if up else '<='} {at} "
                       f"(now {value})", [Change(knob.keys, knob.text, value, at)], goal)


def _count(dj: dict[str, Any], qid: str, role: Any) -> int:
    return sum(1 for x in dj.get("approvals") or ()
               if x.get("rule") == qid and x.get("role") == role)


def _line_approval_gone(search: Searcher, rule: Rule, role: str, i: int,
                        before: int) -> Goal:
    def goal(dj: dict[str, Any]) -> bool:
        return _count(dj, rule.qid, role) < before and not search.holds(dj, rule, i, role)
    return goal


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

def _discounts(rs: CompiledRuleSet, search: Searcher, why: Why) -> Iterator[Candidate]:
    if not search.dj.get("pricing"):
        return  # rejected before pricing: no discount was looked at
    applied = search.adjusted()
    for pack in rs.model.plan.get("pricing", []):
        for rule in pack.rules:
            if not any(isinstance(a, Discount) for a in rule.actions):
                continue
            targets = [(i, lid) for i, lid, _, _ in search.priced_lines()] if rule.for_each \
                else [(None, None)]
            swaps = [0]  # lines of this rule given another product so far
            for i, lid in targets:
                if (rule.qid, lid) in applied:
                    continue
                goal = _discounted(rule.qid, lid)
                dated: list[Change] = []
                if not pack.active(search.as_of):
                    day = pack.effective_from if pack.effective_from and \
                        search.as_of < pack.effective_from else pack.effective_until
                    if day is None:
                        continue
                    dated = [Change((), "as_of", search.as_of, day)]
                # a pack out of its dates was not looked at: its tests are not named
                plan = _plan(rs, search, rule, i, lid, None if dated else why, swaps,
                             bool(dated))
                if plan is None:
                    continue
                if dated and not (plan.numbers or plan.derived or plan.choices):
                    yield ("discount", rule.qid, lid, f"pack {pack.id} runs "
                           f"{pack.effective_from} to {pack.effective_until}",
                           f"as_of {day} (now {search.as_of})", dated, goal)
                    continue
                yield from _unmet(search, rule, i, lid, goal, plan, dated,
                                  f"pack {pack.id} runs {pack.effective_from} to "
                                  f"{pack.effective_until}: as_of {day}" if dated else None)


Option = tuple[list[Change], bool, str]  # changes, a product (a reference key) swapped, text


@dataclass
class _Plan:
    """How a discount rule's failing conjuncts on one line can all pass: a number or date
    moved (`numbers`), at most one value derived from pricing searched for (`derived`), and
    for each failing test on a category or code the alternative changes that pass it."""
    numbers: list[tuple[Change, str]] = field(default_factory=list)
    derived: Comparison | None = None
    choices: list[tuple[list[Option], Choice]] = field(default_factory=list)


def _plan(rs: CompiledRuleSet, search: Searcher, rule: Rule, line: int | None,
          line_id: str | None, why: Why | None, swaps: list[int],
          dated: bool) -> _Plan | None:
    """The plan for a rule that did not apply on the line, or None when some failing test
    has no remedy (then, if it is a category or code test no user can change, it is named
    in `why.blocked`). Another product is proposed only when its category is all that the
    rule misses (in its dates, every other test passing), for MAX_SWAP_LINES lines a rule."""
    plan = _Plan()
    if rule.when is None:
        return plan
    for node, holds, cmp in comparisons(search.probe, rule, line):
        if holds:
            continue
        if cmp is not None and cmp.derived:
            if plan.derived is not None:
                return None
            plan.derived = cmp
            continue
        if cmp is not None:
            assert cmp.knob is not None
            if cmp.value is None and not cmp.knob.date:
                return None  # a field the order leaves out (a manual discount)
            to = nearest(cmp.op, cmp.target, cmp.value, search.integral(cmp.knob))
            if to is None:
                return None
            plan.numbers.append((Change(cmp.knob.keys, cmp.knob.text, cmp.value, to,
                                        cmp.knob.date),
                                 f"{cmp.side} {cmp.op} {cmp.target}: {to} (now {cmp.value})"))
            continue
        ch = choice(search.probe, node, line) if holds is False else None
        if ch is None or ch.value is None:
            return None  # not a test of a code, or a code the order does not give
        options = _options(rs, search, ch, line,
                           swap_ok=not dated and swaps[0] < MAX_SWAP_LINES)
        if isinstance(options, str):
            if why is not None:
                why.block(rule.qid, line_id, ch.text, ch.wanted(), options)
            return None
        if not options:
            return None
        plan.choices.append((options, ch))
    if any(options[0][1] for options, _ in plan.choices):
        if dated or plan.numbers or plan.derived or len(plan.choices) > 1 \
                or swaps[0] >= MAX_SWAP_LINES:
            return None
        swaps[0] += 1
    return plan


def _options(rs: CompiledRuleSet, search: Searcher, ch: Choice, line: int | None,
             swap_ok: bool = True) -> list[Option] | str:
    """Changes of the request that make a failing category or code test pass (up to
    MAX_OPTIONS), or why none is proposed. A field of the order or line takes a passing value
    itself, unless a defaulting `set` overwrites it: from `ref.T[KEY].COL` (a line's
    category from its product) the KEY changes to a row of T whose COL passes, the rows most
    like the current one first; from anything else it is not the order's to change."""
    fixed = _unchangeable(ch)
    if fixed is not None:
        return fixed
    if ch.knob is None:
        return f"{ch.side} is not a field of the request"
    assigned = _assigned(rs, ch.root, ch.keys)
    if assigned is None or _reads_itself(assigned[1], ch.side):
        if ch.excluded:
            return f"{ch.side} passes with any value but {_values(ch.passing)}: no one " \
                "value to propose"
        before = search.requested(ch.knob.keys)
        return [([Change(ch.knob.keys, ch.knob.text, before, v)], False,
                 f"{ch.knob.text} {_values((v,))}")
                for v in ch.passing[:MAX_OPTIONS]]
    qid, tree = assigned
    via = _via_reference(rs, tree, line) if tree is not None else None
    if via is None:
        return f"{ch.side} is set by {qid} from {show(tree) if tree is not None else '?'}"
    table, key, col = via
    if key.keys and key.keys[0] == "customer":
        return f"{ch.side} comes from the customer's master data ({table.name})"
    if not swap_ok:
        return []  # another product: not out of its dates, nor for more lines
    now = search.requested(key.keys)
    current = table.lookup(now) if now is not None else None
    taken = {now}  # a product another line already has is not proposed again
    if key.keys[:1] == ("lines",) and len(key.keys) == 3:
        taken |= {search.requested(("lines", j, key.keys[2]))
                  for j in range(min(len(search.request.get("lines") or []), MAX_LINES))}
    asked = ("rows", table.name, col, ch.passing, ch.excluded, now, frozenset(taken))
    if asked not in search.memo:
        search.memo[asked] = _rows(table, col, ch, current, taken)
    rows: list[dict[str, Any]] = search.memo[asked]
    return [([Change(key.keys, key.text, now, row[table.key])], True,
             f"{key.text} {row[table.key]} (ref.{table.name}: {col} {row.get(col)})")
            for row in rows]


def _rows(table: Any, col: str, ch: Choice, current: Any,
          taken: set[Any]) -> list[dict[str, Any]]:
    """Up to MAX_OPTIONS rows of the table whose COL passes, the most like `current` first
    (the most columns equal, then file order)."""
    rows = []
    for n, row in enumerate(table.rows[:MAX_ROW_SCAN]):
        if not isinstance(row, dict) or row.get(table.key) is None \
                or row.get(table.key) in taken:
            continue
        if (row.get(col) in ch.passing) == ch.excluded:
            continue
        alike = sum(1 for k, v in (current or {}).items()
                    if k not in (table.key, col) and row.get(k) == v)
        rows.append((-alike, n, row))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [row for _, _, row in rows[:MAX_OPTIONS]]


def _values(values: tuple[Any, ...]) -> str:
    return ", ".join(f'"{v}"' if isinstance(v, str) else str(v).lower() for v in values)


def _assigned(rs: CompiledRuleSet, root: str, keys: tuple[str, ...]) -> tuple[str, N | None] \
        | None:
    """The last defaulting `set` of the path (rule, its expression's tree), if any: a
    `default` leaves a value the order gives alone."""
    found = None
    for pack in rs.model.plan.get("defaulting", []):
        for rule in pack.rules:
            for act in rule.actions:
                if not isinstance(act, Assign) or not act.overwrite:
                    continue
                for troot, tkeys, expr in act.targets:
                    if troot == root and tuple(tkeys) == keys:
                        found = (rule.qid, tree_of(expr.text))
    return found


def _reads_itself(tree: N | None, side: str) -> bool:
    """Whether a `set` only normalises the value the order gives (`lower(order.channel)`)."""
    return tree is not None and side in show(tree)


def _via_reference(rs: CompiledRuleSet, tree: N, line: int | None) -> tuple[Any, Knob, str] \
        | None:
    """`ref.T[KEY].COL` with KEY a field of the request: (the table, KEY's knob, COL)."""
    if tree.kind != "get" or tree.args[0].kind != "index":
        return None
    index = tree.args[0]
    tbl = index.args[0]
    if tbl.kind != "get" or tbl.args[0].kind != "name" or tbl.args[0].value != "ref":
        return None
    table = rs.model.tables.get(str(tbl.value))
    key = knob_of(index.args[1], line)
    if table is None or table.key is None or key is None or key.date or key.as_of:
        return None
    return table, key, str(tree.value)


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
           goal: Goal, plan: _Plan, dated: list[Change],
           dated_text: str | None) -> Iterator[Candidate]:
    """A discount rule that did not apply: the plan's changes together (and the pack's date
    when it is out of its dates), each alternative of a category or code test in turn until
    one passes its re-decision."""
    if rule.when is None:
        if rule.table is not None and rule.table.inputs and all(
                t.reads_pricing for t in rule.table.inputs):
            yield from _raise_to(search, rule.qid, line, line_id, _inputs_text(rule),
                                 "a row of the table", list(dated), goal)
        return
    base = [*dated, *(c for c, _ in plan.numbers)]
    texts = ([dated_text] if dated_text else []) + [t for _, t in plan.numbers]
    if plan.derived is not None:
        d = plan.derived
        first = [c for options, _ in plan.choices for c in options[0][0]]
        yield from _raise_to(search, rule.qid, line, line_id, d.text,
                             "; ".join([*texts, *(f"{ch.wanted()}: {options[0][2]}"
                                                  for options, ch in plan.choices),
                                        f"{d.side} {d.op} {d.target} (now {d.value})"]),
                             [*base, *first], goal)
        return
    if not plan.choices:
        if base:
            yield ("discount", rule.qid, line_id, rule.when.text, "; ".join(texts), base, goal)
        return
    widest = max(len(options) for options, _ in plan.choices)
    for k in range(widest):
        if k > 0 and id(goal) in search.met:
            return  # an earlier alternative passed
        picked = [(options[min(k, len(options) - 1)], ch) for options, ch in plan.choices]
        said = [f"{ch.wanted()}: {option[2]}" for option, ch in picked]
        yield ("discount", rule.qid, line_id, rule.when.text, "; ".join([*texts, *said]),
               [*base, *(c for option, _ in picked for c in option[0])], goal)


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
