"""Mergeable partial summaries of a simulation.

In: pairs of decisions (dicts, SPEC section 6) of one order, baseline and candidate, with their
`Difference` (compare.py). Out: a `Summary` that adds them up and renders the JSON of
docs/simulator.md with `to_json()`. Raises nothing.

The non-obvious choices:
- A `Summary` holds counts and sums only, plus at most `sample_size` changed orders, so its size
  does not grow with the stream. `merge(other)` appends a summary of the orders that came
  *after* this one's: the sample keeps the first orders by stream position, so merging chunk
  summaries in stream order gives the same result whatever the chunking.
- Money is `Decimal` end to end and rendered as strings; every mapping is rendered with sorted
  keys, so the JSON does not depend on which chunk met a key first.
- Revenue is the sum of `pricing.total` of the orders that are not rejected: accepted, on hold
  and pending approval (held and pending orders are normally released, so they are the revenue
  the rule set lets through). `discount_total` and `tax_total` are summed over the same orders.
  Totals of different currencies are added as plain numbers in `revenue`; `revenue_by_currency`
  keeps them apart.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ordinance.simulator.compare import Difference, backordered_of, total_of

ZERO = Decimal(0)
SEGMENTS = ("channel", "country", "tier")
NONE_KEY = "(none)"
# The moved fields that `changes` counts at the top and per segment.
HEADLINE_FIELDS = ("status", "total", "approvals", "sourcing")
BAD_LINE_SAMPLES = 20       # lines that are not orders, kept with their error


def _dec(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(str(value))


def _add(into: dict[str, Decimal], key: str, amount: Decimal) -> None:
    into[key] = into.get(key, ZERO) + amount


def _money(mapping: Mapping[str, Decimal]) -> dict[str, str]:
    return {k: str(mapping[k]) for k in sorted(mapping)}


def _counts(counter: Mapping[str, int]) -> dict[str, int]:
    return {k: counter[k] for k in sorted(counter) if counter[k]}


def segment_keys(order: Mapping[str, Any]) -> dict[str, str]:
    """channel, ship_to.country and customer.tier of an order, `(none)` when absent."""
    ship_to = order.get("ship_to") if isinstance(order.get("ship_to"), dict) else {}
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    values = {"channel": order.get("channel"), "country": ship_to.get("country"),
              "tier": customer.get("tier")}
    return {k: NONE_KEY if v is None or v == "" else str(v) for k, v in values.items()}


class SideStats:
    """What one rule set did to the stream."""

    __slots__ = (
        "approvals_by_role",
        "backordered_units",
        "discount_total",
        "errors_by_code",
        "holds_by_code",
        "revenue",
        "revenue_by_currency",
        "rule_fires",
        "status_counts",
        "tax_total",
        "violations_by_code",
    )

    def __init__(self) -> None:
        self.status_counts: Counter[str] = Counter()
        self.revenue = ZERO
        self.revenue_by_currency: dict[str, Decimal] = {}
        self.discount_total = ZERO
        self.tax_total = ZERO
        self.approvals_by_role: Counter[str] = Counter()
        self.holds_by_code: Counter[str] = Counter()
        self.violations_by_code: Counter[str] = Counter()
        self.errors_by_code: Counter[str] = Counter()
        self.backordered_units = ZERO
        self.rule_fires: Counter[str] = Counter()

    def add(self, decision: Mapping[str, Any]) -> Decimal:
        """Counts one decision in; returns the revenue it brings (zero when rejected)."""
        status = decision.get("status")
        self.status_counts[status] += 1
        revenue = ZERO
        pricing = decision.get("pricing")
        if status != "rejected" and pricing:
            revenue = _dec(pricing.get("total"))
            self.revenue += revenue
            _add(self.revenue_by_currency, str(pricing.get("currency")), revenue)
            self.discount_total += _dec(pricing.get("discount_total"))
            self.tax_total += _dec(pricing.get("tax_total"))
        for entry in decision.get("approvals") or ():
            self.approvals_by_role[str(entry.get("role"))] += 1
        for entry in decision.get("holds") or ():
            self.holds_by_code[str(entry.get("code"))] += 1
        for entry in decision.get("violations") or ():
            self.violations_by_code[str(entry.get("code"))] += 1
        for entry in decision.get("errors") or ():
            self.errors_by_code[str(entry.get("code"))] += 1
        self.backordered_units += backordered_of(decision)
        self.rule_fires.update(decision.get("fired") or ())
        return revenue

    def merge(self, other: SideStats) -> None:
        self.status_counts += other.status_counts
        self.revenue += other.revenue
        for k, v in other.revenue_by_currency.items():
            _add(self.revenue_by_currency, k, v)
        self.discount_total += other.discount_total
        self.tax_total += other.tax_total
        self.approvals_by_role += other.approvals_by_role
        self.holds_by_code += other.holds_by_code
        self.violations_by_code += other.violations_by_code
        self.errors_by_code += other.errors_by_code
        self.backordered_units += other.backordered_units
        self.rule_fires += other.rule_fires

    def to_json(self, rule_ids: Iterable[str] = ()) -> dict[str, Any]:
        rule_ids = list(rule_ids)
        known = set(rule_ids)
        fires = {r: self.rule_fires[r] for r in rule_ids if self.rule_fires[r]}
        # A rule the rule set does not list (should not happen) is still reported.
        fires.update({r: n for r, n in sorted(self.rule_fires.items()) if r not in known and n})
        return {
            "status_counts": _counts(self.status_counts),
            "revenue": str(self.revenue),
            "revenue_by_currency": _money(self.revenue_by_currency),
            "discount_total": str(self.discount_total),
            "tax_total": str(self.tax_total),
            "approvals_by_role": _counts(self.approvals_by_role),
            "holds_by_code": _counts(self.holds_by_code),
            "violations_by_code": _counts(self.violations_by_code),
            "errors_by_code": _counts(self.errors_by_code),
            "backordered_units": str(self.backordered_units),
            "rule_fires": fires,
            "never_fired": [r for r in rule_ids if not self.rule_fires[r]],
        }


class Delta:
    """How the candidate moved a set of orders (the whole stream, or one segment)."""

    __slots__ = (
        "baseline_revenue",
        "candidate_revenue",
        "changed_orders",
        "fields",
        "orders",
        "transitions",
    )

    def __init__(self) -> None:
        self.orders = 0
        self.changed_orders = 0
        self.fields: Counter[str] = Counter()
        self.transitions: Counter[str] = Counter()
        self.baseline_revenue = ZERO
        self.candidate_revenue = ZERO

    def add(self, status_b: str, status_c: str, difference: Difference,
            revenue_b: Decimal, revenue_c: Decimal) -> None:
        self.orders += 1
        self.baseline_revenue += revenue_b
        self.candidate_revenue += revenue_c
        if difference.changed:
            self.changed_orders += 1
            self.fields.update(difference.moved)
            if status_b != status_c:
                self.transitions[f"{status_b}->{status_c}"] += 1

    def merge(self, other: Delta) -> None:
        self.orders += other.orders
        self.changed_orders += other.changed_orders
        self.fields += other.fields
        self.transitions += other.transitions
        self.baseline_revenue += other.baseline_revenue
        self.candidate_revenue += other.candidate_revenue

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"orders": self.orders, "changed_orders": self.changed_orders}
        out.update({f: self.fields[f] for f in HEADLINE_FIELDS})
        out["fields"] = _counts(self.fields)
        out["transitions"] = _counts(self.transitions)
        out["baseline_revenue"] = str(self.baseline_revenue)
        out["candidate_revenue"] = str(self.candidate_revenue)
        out["revenue_delta"] = str(self.candidate_revenue - self.baseline_revenue)
        return out


class Summary:
    """A mergeable summary of a stretch of the stream (one chunk, or all of it)."""

    __slots__ = (
        "bad_line_samples",
        "bad_lines",
        "baseline",
        "candidate",
        "delta",
        "orders",
        "sample",
        "sample_size",
        "segments",
    )

    def __init__(self, sample_size: int = 20) -> None:
        self.sample_size = sample_size
        self.orders = 0
        self.bad_lines = 0
        self.bad_line_samples: list[dict[str, Any]] = []
        self.baseline = SideStats()
        self.candidate = SideStats()
        self.delta = Delta()
        self.segments: dict[str, dict[str, Delta]] = {s: {} for s in SEGMENTS}
        self.sample: list[dict[str, Any]] = []

    def add_bad_line(self, line: int, message: str) -> None:
        self.bad_lines += 1
        if len(self.bad_line_samples) < BAD_LINE_SAMPLES:
            self.bad_line_samples.append({"line": line, "error": message})

    def add(self, line: int, order: Mapping[str, Any], baseline: Mapping[str, Any],
            candidate: Mapping[str, Any], difference: Difference) -> None:
        """Counts one order in. `order` is what segments it (the baseline's defaulted order)."""
        self.orders += 1
        revenue_b = self.baseline.add(baseline)
        revenue_c = self.candidate.add(candidate)
        status_b, status_c = str(baseline.get("status")), str(candidate.get("status"))
        self.delta.add(status_b, status_c, difference, revenue_b, revenue_c)
        for dim, value in segment_keys(order).items():
            seg = self.segments[dim].get(value)
            if seg is None:
                seg = self.segments[dim][value] = Delta()
            seg.add(status_b, status_c, difference, revenue_b, revenue_c)
        if difference.changed and len(self.sample) < self.sample_size:
            self.sample.append(sample_entry(line, order, baseline, candidate, difference))

    def merge(self, later: Summary) -> Summary:
        """Adds the summary of the orders that follow this one's in the stream."""
        self.orders += later.orders
        self.bad_lines += later.bad_lines
        room = BAD_LINE_SAMPLES - len(self.bad_line_samples)
        self.bad_line_samples.extend(later.bad_line_samples[:max(room, 0)])
        self.baseline.merge(later.baseline)
        self.candidate.merge(later.candidate)
        self.delta.merge(later.delta)
        for dim, values in later.segments.items():
            mine = self.segments[dim]
            for value, seg in values.items():
                if value in mine:
                    mine[value].merge(seg)
                else:
                    mine[value] = seg
        room = self.sample_size - len(self.sample)
        self.sample.extend(later.sample[:max(room, 0)])
        return self

    def to_json(self, baseline_info: Mapping[str, Any] | None = None,
                candidate_info: Mapping[str, Any] | None = None,
                baseline_rules: Iterable[str] = (), candidate_rules: Iterable[str] = (),
                extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        changes = self.delta.to_json()
        for key in ("orders", "baseline_revenue", "candidate_revenue"):
            changes.pop(key)
        out: dict[str, Any] = {
            "orders": self.orders,
            "changed_orders": self.delta.changed_orders,
            "bad_lines": self.bad_lines,
        }
        out.update(extra or {})
        out["baseline"] = {"ruleset": dict(baseline_info or {}),
                           **self.baseline.to_json(baseline_rules)}
        out["candidate"] = {"ruleset": dict(candidate_info or {}),
                            **self.candidate.to_json(candidate_rules)}
        out["changes"] = changes
        out["segments"] = {dim: {v: values[v].to_json() for v in sorted(values)}
                           for dim, values in self.segments.items()}
        out["sample"] = list(self.sample)
        out["bad_line_samples"] = list(self.bad_line_samples)
        return out


def sample_entry(line: int, order: Mapping[str, Any], baseline: Mapping[str, Any],
                 candidate: Mapping[str, Any], difference: Difference) -> dict[str, Any]:
    return {
        "line": line,
        "order_id": baseline.get("order_id"),
        "segments": segment_keys(order),
        "moved": list(difference.moved),
        "rules": [{"rule": r.rule, "how": r.how} for r in difference.rules],
        "explanation": difference.explanation,
        "baseline": dict(baseline),
        "candidate": dict(candidate),
    }


CHANGE_COLUMNS = ("line", "order_id", "channel", "country", "tier", "moved",
                  "baseline_status", "candidate_status", "baseline_total", "candidate_total",
                  "total_delta", "baseline_approvals", "candidate_approvals",
                  "baseline_backordered", "candidate_backordered", "rules_baseline_only",
                  "rules_candidate_only", "rules_effect_differs", "explanation")


def change_row(line: int, order: Mapping[str, Any], baseline: Mapping[str, Any],
               candidate: Mapping[str, Any], difference: Difference) -> tuple[str, ...]:
    """One row of the changed-orders CSV (CHANGE_COLUMNS)."""
    tb, tc = total_of(baseline), total_of(candidate)
    seg = segment_keys(order)

    def roles(d: Mapping[str, Any]) -> str:
        return ";".join(str(a.get("role")) for a in d.get("approvals") or ())

    return (
        str(line), str(baseline.get("order_id") or ""), seg["channel"], seg["country"],
        seg["tier"], ";".join(difference.moved),
        str(baseline.get("status")), str(candidate.get("status")),
        "" if tb is None else str(tb), "" if tc is None else str(tc),
        "" if tb is None or tc is None else str(tc - tb),
        roles(baseline), roles(candidate),
        str(backordered_of(baseline)), str(backordered_of(candidate)),
        ";".join(difference.rules_by("baseline_only")),
        ";".join(difference.rules_by("candidate_only")),
        ";".join(difference.rules_by("effect_differs")),
        difference.explanation,
    )
