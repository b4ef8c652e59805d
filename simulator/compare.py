"""Compare two decisions of one order, field by field, and say why they differ.

In: two decision dicts shaped as SPEC section 6 (`Decision.to_json()`), baseline and candidate.
Out: a `Difference` (frozen): the outcome fields that moved, the rules that made the difference,
and a one-line explanation. Raises nothing for well-formed decisions.

The non-obvious choices:
- An order *changed* when its outcome differs: `status`, `violations`, `holds`, `pricing`,
  `sourcing`, `approvals`, `errors` or the defaulted `order`. `ruleset`, `as_of` and `fired`
  are not outcome: two rule sets that differ only in a rule's id give no changed orders.
- `total` moves when `pricing.total` differs by value (a rejected order has no total; going
  from a total to none is a move too). The explanation gives the change of a total only when
  both totals are in one currency; otherwise it names each total's currency.
- A rule's *effect* is every entry of the decision that names it (`"rule": "pack/rule"`:
  violations, holds, adjustments, charges, approvals, errors...), found by walking the decision
  rather than by listing sections, so a new section that names rules is covered without a
  change here. Adjustments are keyed by their line's `line_id`. A rule "made the difference"
  when it fired on one side only, or fired on both with a different effect. A tax's effect is
  its jurisdiction and rate: its amount follows from the line's net, which other rules set.
- Actions that leave no entry naming their rule (`list_price`, `source`) have no visible
  effect; when the outcome moved and no rule explains it, the explanation says so and names the
  reference tables that differ between the two rule sets, which is then the usual cause.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# The outcome of a decision, in the order the explanation mentions them. `total` is derived.
OUTCOME_FIELDS = ("status", "violations", "holds", "pricing", "sourcing", "approvals", "errors",
                  "order")
# The fields reported as moved, in report order.
MOVED_FIELDS = ("status", "total", "approvals", "sourcing", "pricing", "violations", "holds",
                "errors", "order")

Decision = Mapping[str, Any]


@dataclass(frozen=True)
class RuleDifference:
    rule: str
    how: str            # "baseline_only" | "candidate_only" | "effect_differs"


@dataclass(frozen=True)
class Difference:
    moved: tuple[str, ...]                  # subset of MOVED_FIELDS, in that order
    rules: tuple[RuleDifference, ...]       # baseline-only, candidate-only, then effect_differs
    explanation: str

    @property
    def changed(self) -> bool:
        return bool(self.moved)

    def rules_by(self, how: str) -> list[str]:
        return [r.rule for r in self.rules if r.how == how]


def total_of(decision: Decision) -> Decimal | None:
    pricing = decision.get("pricing")
    if not pricing or pricing.get("total") is None:
        return None
    return Decimal(str(pricing["total"]))


def currency_of(decision: Decision) -> str | None:
    pricing = decision.get("pricing")
    return None if not pricing else pricing.get("currency")


def backordered_of(decision: Decision) -> Decimal:
    sourcing = decision.get("sourcing") or {}
    return sum((Decimal(str(line.get("backordered") or 0)) for line in sourcing.get("lines") or ()),
               Decimal(0))


def moved_fields(baseline: Decision, candidate: Decision) -> tuple[str, ...]:
    moved = {name for name in OUTCOME_FIELDS if baseline.get(name) != candidate.get(name)}
    if "pricing" in moved and (total_of(baseline) != total_of(candidate)
                               or currency_of(baseline) != currency_of(candidate)):
        moved.add("total")
    return tuple(name for name in MOVED_FIELDS if name in moved)


def rule_effects(decision: Decision,
                 sections: Iterable[str] = OUTCOME_FIELDS) -> dict[str, list[Any]]:
    """Every entry of the decision that names a rule, grouped by rule, in decision order
    (of the outcome `sections` given, default all)."""
    effects: dict[str, list[Any]] = {}
    for name in sections:
        if name != "order":
            _collect(decision.get(name), name, None, effects)
    return effects


def _collect(node: Any, where: str, line_id: Any, effects: dict[str, list[Any]]) -> None:
    if isinstance(node, dict):
        line_id = node.get("line_id", line_id)
        rule = node.get("rule")
        if isinstance(rule, str):
            derived = ("rule", "amount") if where == "pricing.lines.taxes" else ("rule",)
            entry = {k: v for k, v in node.items() if k not in derived}
            effects.setdefault(rule, []).append((where, line_id, entry))
            return
        for key, value in node.items():
            if isinstance(value, (dict, list)):  # a scalar names no rule: no path to build
                _collect(value, f"{where}.{key}", line_id, effects)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                _collect(item, where, line_id, effects)


def rule_differences(baseline: Decision, candidate: Decision,
                     moved: Iterable[str] = OUTCOME_FIELDS) -> tuple[RuleDifference, ...]:
    """The rules that made the difference. `moved`: the outcome fields that differ (default:
    any may); a rule's effects are compared only there. Each entry of an effect carries its
    section first, so two effects are equal exactly when their parts in each section are, and
    a section equal in both decisions gives every rule the same part in both."""
    fired_b = list(baseline.get("fired") or ())
    fired_c = list(candidate.get("fired") or ())
    set_b, set_c = set(fired_b), set(fired_c)
    out = [RuleDifference(r, "baseline_only") for r in fired_b if r not in set_c]
    out += [RuleDifference(r, "candidate_only") for r in fired_c if r not in set_b]
    both = [r for r in fired_b if r in set_c]
    if both:
        sections = [name for name in OUTCOME_FIELDS if name in moved]
        eff_b, eff_c = rule_effects(baseline, sections), rule_effects(candidate, sections)
        out += [RuleDifference(r, "effect_differs") for r in both if eff_b.get(r) != eff_c.get(r)]
    return tuple(out)


def compare(baseline: Decision, candidate: Decision,
            reference_changed: Iterable[str] = ()) -> Difference:
    """The difference between two decisions of the same order.

    `reference_changed` names the reference tables that differ between the two rule sets; it
    only feeds the explanation.
    """
    moved = moved_fields(baseline, candidate)
    if not moved:
        return Difference((), (), "")
    rules = rule_differences(baseline, candidate, moved)
    return Difference(moved, rules, explain(baseline, candidate, moved, rules,
                                            tuple(reference_changed)))


def _names(items: list[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" +{len(items) - limit} more" if len(items) > limit else "")


def _codes(decision: Decision, section: str, key: str) -> list[str]:
    return [str(e.get(key)) for e in decision.get(section) or () if isinstance(e, dict)]


def _added_removed(before: list[str], after: list[str]) -> str:
    added = [x for x in dict.fromkeys(after) if x not in before]
    removed = [x for x in dict.fromkeys(before) if x not in after]
    parts = [f"+{x}" for x in added] + [f"-{x}" for x in removed]
    return " ".join(parts) if parts else "changed"


def differing_paths(a: Any, b: Any, path: str, limit: int = 3) -> list[str]:
    """The first paths (depth first, in key order) where two JSON values differ."""
    if a == b:
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in list(dict.fromkeys([*a, *b])):
            out += differing_paths(a.get(key), b.get(key), f"{path}.{key}", limit - len(out))
            if len(out) >= limit:
                break
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += differing_paths(x, y, f"{path}[{i}]", limit - len(out))
            if len(out) >= limit:
                break
        return out
    return [path]


def explain(baseline: Decision, candidate: Decision, moved: tuple[str, ...],
            rules: tuple[RuleDifference, ...], reference_changed: tuple[str, ...] = ()) -> str:
    """One line: what moved, then why."""
    what: list[str] = []
    if "status" in moved:
        what.append(f"status {baseline.get('status')} -> {candidate.get('status')}")
    if "total" in moved:
        tb, tc = total_of(baseline), total_of(candidate)
        cb, cc = currency_of(baseline), currency_of(candidate)
        if tb is not None and tc is not None and cb != cc:   # never subtract across currencies
            what.append(f"total {cb} {tb} -> {cc} {tc}")
        else:
            delta = f" ({tc - tb:+})" if tb is not None and tc is not None else ""
            what.append(f"total {tb if tb is not None else 'none'} -> "
                        f"{tc if tc is not None else 'none'}{delta}")
    elif "pricing" in moved:
        what.append("pricing detail changed, same total")
    if "approvals" in moved:
        what.append("approvals " + _added_removed(_codes(baseline, "approvals", "role"),
                                                  _codes(candidate, "approvals", "role")))
    if "sourcing" in moved:
        bb, bc = backordered_of(baseline), backordered_of(candidate)
        what.append(f"backordered {bb} -> {bc}" if bb != bc else "sourcing changed at " + _names(
            differing_paths(baseline.get("sourcing"), candidate.get("sourcing"), "sourcing", 2)))
    for section in ("violations", "holds", "errors"):
        if section in moved:
            what.append(f"{section} " + _added_removed(_codes(baseline, section, "code"),
                                                       _codes(candidate, section, "code")))
    if "order" in moved:
        what.append("defaulted order differs at "
                    + _names(differing_paths(baseline.get("order"), candidate.get("order"),
                                             "order")))

    why: list[str] = []
    labels = (("candidate_only", "fired only in candidate"), ("baseline_only",
              "fired only in baseline"), ("effect_differs", "different effect"))
    for how, label in labels:
        names = [r.rule for r in rules if r.how == how]
        if names:
            why.append(f"{label}: {_names(names)}")
    # Sourcing and defaulting leave no entry naming their rule, so their moves are never
    # explained by an effect: the reference data is then the likely cause.
    unattributed = not why or "sourcing" in moved or "order" in moved
    if not why:
        why.append("same rules fired with the same effects")
    if unattributed and reference_changed:
        why.append(f"reference data differs: {_names(list(reference_changed))}")
    return "; ".join(what) + " because " + "; ".join(why)
