"""Mergeable partial summaries of a simulation.

In: pairs of decisions (dicts, SPEC section 6) of one order, baseline and candidate, with their
`Difference` (compare.py), and a `Reading` (how to segment the order and cost its lines). Out:
a `Summary` that adds them up and renders the JSON of docs/simulator.md with `to_json()`.
Raises nothing.

The non-obvious choices:
- A `Summary` holds counts and sums only, plus at most `sample_size` changed orders, so its size
  does not grow with the stream. `merge(other)` appends a summary of the orders that came
  *after* this one's: the sample keeps the first orders by stream position, so merging chunk
  summaries in stream order gives the same result whatever the chunking.
- Money is `Decimal` end to end, kept per currency (money.py): amounts of different currencies
  are never added. Every mapping is rendered with sorted keys, so the JSON does not depend on
  which chunk met a key first; amounts are strings with at least their currency's places.
- Revenue is the sum of `pricing.total` of the orders that are not rejected: accepted, on hold
  and pending approval (held and pending orders are normally released, so they are the revenue
  the rule set lets through). `discount_total`, `tax_total` and the lines' margin are summed
  over the same orders, each per currency.
- Segments come from the decided order (the baseline's, after defaulting) through
  engine/segments.py, the channel in the rule set's own spelling.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ordinance.engine.fx import Rates
from ordinance.engine.segments import SEGMENTS, Segmenter
from ordinance.simulator import money
from ordinance.simulator.blame import Blame, BlameStats
from ordinance.simulator.compare import Difference, backordered_of, total_of
from ordinance.simulator.money import Costing, Sums

ZERO = Decimal(0)
NONE_KEY = "(none)"
# The moved fields that `changes` counts at the top and per segment.
HEADLINE_FIELDS = ("status", "total", "approvals", "sourcing")
BAD_LINE_SAMPLES = 20       # lines that are not orders, kept with their error
_PLAIN_SEGMENTER = Segmenter()

# What an order brings to one side: (currency, revenue, margin); currency None when rejected.
Brought = tuple["str | None", Decimal, "Decimal | None"]
NOTHING: Brought = (None, ZERO, None)


@dataclass(frozen=True)
class Reading:
    """How a worker reads an order: its segments (the baseline's reference data), and each
    side's product costs for the margin (None: no margin)."""
    segmenter: Segmenter = field(default_factory=Segmenter)
    costing_b: Costing | None = None
    costing_c: Costing | None = None


def _dec(value: Any) -> Decimal:
    if value.__class__ is str:
        return Decimal(value)
    return ZERO if value is None else Decimal(str(value))


def _counts(counter: Mapping[str, int]) -> dict[str, int]:
    return {k: counter[k] for k in sorted(counter) if counter[k]}


def segment_keys(order: Mapping[str, Any],
                 segmenter: Segmenter = _PLAIN_SEGMENTER) -> dict[str, str]:
    """channel, ship_to.country and customer.tier of a decided order, `(none)` when absent."""
    return {k: NONE_KEY if v is None else v for k, v in segmenter.of(order).items()}


class SideStats:
    """What one rule set did to the stream."""

    __slots__ = (
        "approvals_by_role",
        "backordered_units",
        "discount_total",
        "errors_by_code",
        "holds_by_code",
        "lines_without_cost",
        "margin",
        "revenue",
        "rule_fires",
        "status_counts",
        "tax_total",
        "violations_by_code",
    )

    def __init__(self) -> None:
        self.status_counts: Counter[str] = Counter()
        self.revenue: Sums = {}
        self.discount_total: Sums = {}
        self.tax_total: Sums = {}
        self.margin: Sums = {}
        self.lines_without_cost = 0
        self.approvals_by_role: Counter[str] = Counter()
        self.holds_by_code: Counter[str] = Counter()
        self.violations_by_code: Counter[str] = Counter()
        self.errors_by_code: Counter[str] = Counter()
        self.backordered_units = ZERO
        self.rule_fires: Counter[str] = Counter()

    def add(self, decision: Mapping[str, Any], costing: Costing | None = None) -> Brought:
        """Counts one decision in; returns what it brings (nothing when rejected)."""
        status = decision.get("status")
        self.status_counts[status] += 1
        brought = NOTHING
        pricing = decision.get("pricing")
        if status != "rejected" and pricing:
            currency = str(pricing.get("currency"))
            revenue = _dec(pricing.get("total"))
            money.add(self.revenue, currency, revenue)
            money.add(self.discount_total, currency, _dec(pricing.get("discount_total")))
            money.add(self.tax_total, currency, _dec(pricing.get("tax_total")))
            margin = None
            if costing is not None:
                _, margin, missing = costing.margin(pricing)
                self.lines_without_cost += missing
                if margin is not None:
                    money.add(self.margin, currency, margin)
            brought = (currency, revenue, margin)
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
        return brought

    def merge(self, other: SideStats) -> None:
        self.status_counts += other.status_counts
        for mine, theirs in ((self.revenue, other.revenue),
                             (self.discount_total, other.discount_total),
                             (self.tax_total, other.tax_total), (self.margin, other.margin)):
            money.merge(mine, theirs)
        self.lines_without_cost += other.lines_without_cost
        self.approvals_by_role += other.approvals_by_role
        self.holds_by_code += other.holds_by_code
        self.violations_by_code += other.violations_by_code
        self.errors_by_code += other.errors_by_code
        self.backordered_units += other.backordered_units
        self.rule_fires += other.rule_fires

    def to_json(self, rule_ids: Iterable[str] = (),
                places: Mapping[str, int] | None = None) -> dict[str, Any]:
        places = places or {}
        rule_ids = list(rule_ids)
        known = set(rule_ids)
        fires = {r: self.rule_fires[r] for r in rule_ids if self.rule_fires[r]}
        # A rule the rule set does not list (should not happen) is still reported.
        fires.update({r: n for r, n in sorted(self.rule_fires.items()) if r not in known and n})
        return {
            "status_counts": _counts(self.status_counts),
            "revenue": money.render(self.revenue, places),
            "discount_total": money.render(self.discount_total, places),
            "tax_total": money.render(self.tax_total, places),
            "margin": money.render(self.margin, places),
            "lines_without_cost": self.lines_without_cost,
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
        "changed_orders",
        "fields",
        "margin_b",
        "margin_c",
        "orders",
        "revenue_b",
        "revenue_c",
        "transitions",
    )

    def __init__(self) -> None:
        self.orders = 0
        self.changed_orders = 0
        self.fields: Counter[str] = Counter()
        self.transitions: Counter[str] = Counter()
        self.revenue_b: Sums = {}
        self.revenue_c: Sums = {}
        self.margin_b: Sums = {}
        self.margin_c: Sums = {}

    def add(self, status_b: str, status_c: str, difference: Difference,
            brought_b: Brought, brought_c: Brought) -> None:
        self.orders += 1
        currency, revenue, margin = brought_b
        if currency is not None:
            self.revenue_b[currency] = self.revenue_b.get(currency, ZERO) + revenue
            if margin is not None:
                self.margin_b[currency] = self.margin_b.get(currency, ZERO) + margin
        currency, revenue, margin = brought_c
        if currency is not None:
            self.revenue_c[currency] = self.revenue_c.get(currency, ZERO) + revenue
            if margin is not None:
                self.margin_c[currency] = self.margin_c.get(currency, ZERO) + margin
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
        for mine, theirs in ((self.revenue_b, other.revenue_b), (self.revenue_c, other.revenue_c),
                             (self.margin_b, other.margin_b), (self.margin_c, other.margin_c)):
            money.merge(mine, theirs)

    def to_json(self, places: Mapping[str, int] | None = None,
                rates: Rates | None = None) -> dict[str, Any]:
        places = places or {}
        out: dict[str, Any] = {"orders": self.orders, "changed_orders": self.changed_orders}
        out.update({f: self.fields[f] for f in HEADLINE_FIELDS})
        out["fields"] = _counts(self.fields)
        out["transitions"] = _counts(self.transitions)
        out["revenue"] = money.compared(self.revenue_b, self.revenue_c, places)
        out["margin"] = money.compared(self.margin_b, self.margin_c, places)
        if rates is not None:
            out["revenue_converted"] = money.converted(self.revenue_b, self.revenue_c, rates)
        return out


class Summary:
    """A mergeable summary of a stretch of the stream (one chunk, or all of it)."""

    __slots__ = (
        "bad_line_samples",
        "bad_lines",
        "baseline",
        "blame",
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
        self.blame = BlameStats()  # simulator/blame.py: what each edit moved

    def add_bad_line(self, line: int, message: str) -> None:
        self.bad_lines += 1
        if len(self.bad_line_samples) < BAD_LINE_SAMPLES:
            self.bad_line_samples.append({"line": line, "error": message})

    def add(self, line: int, order: Mapping[str, Any], baseline: Mapping[str, Any],
            candidate: Mapping[str, Any], difference: Difference,
            reading: Reading = Reading(), blame: Blame | None = None) -> tuple[Brought, Brought]:
        """Counts one order in. `order` is what segments it (the baseline's defaulted order);
        `blame`: the edits that changed it, when blamed. Returns what the order brings to each
        side."""
        self.orders += 1
        brought_b = self.baseline.add(baseline, reading.costing_b)
        brought_c = self.candidate.add(candidate, reading.costing_c)
        status_b, status_c = str(baseline.get("status")), str(candidate.get("status"))
        self.delta.add(status_b, status_c, difference, brought_b, brought_c)
        keys = segment_keys(order, reading.segmenter)
        for dim, value in keys.items():
            seg = self.segments[dim].get(value)
            if seg is None:
                seg = self.segments[dim][value] = Delta()
            seg.add(status_b, status_c, difference, brought_b, brought_c)
        if blame is not None:
            self.blame.add(blame, status_b, status_c, brought_b, brought_c)
        if difference.changed and len(self.sample) < self.sample_size:
            self.sample.append(sample_entry(line, keys, baseline, candidate, difference))
            if blame is not None:
                self.sample[-1]["edits"] = {"edits": list(blame.edits), "how": blame.how}
        return brought_b, brought_c

    def merge(self, later: Summary) -> Summary:
        """Adds the summary of the orders that follow this one's in the stream."""
        self.orders += later.orders
        self.bad_lines += later.bad_lines
        room = BAD_LINE_SAMPLES - len(self.bad_line_samples)
        self.bad_line_samples.extend(later.bad_line_samples[:max(room, 0)])
        self.baseline.merge(later.baseline)
        self.candidate.merge(later.candidate)
        self.delta.merge(later.delta)
        self.blame.merge(later.blame)
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
                extra: Mapping[str, Any] | None = None,
                places: Mapping[str, int] | None = None,
                rates: Rates | None = None) -> dict[str, Any]:
        """`places`: minor units per currency (the rule set's `currencies` table); `rates`:
        the dated rates of the converted figures (none without)."""
        changes = self.delta.to_json(places, rates)
        changes.pop("orders")
        out: dict[str, Any] = {
            "orders": self.orders,
            "changed_orders": self.delta.changed_orders,
            "bad_lines": self.bad_lines,
        }
        out.update(extra or {})
        out["baseline"] = {"ruleset": dict(baseline_info or {}),
                           **self.baseline.to_json(baseline_rules, places)}
        out["candidate"] = {"ruleset": dict(candidate_info or {}),
                            **self.candidate.to_json(candidate_rules, places)}
        out["changes"] = changes
        out["segments"] = {dim: {v: values[v].to_json(places, rates) for v in sorted(values)}
                           for dim, values in self.segments.items()}
        out["sample"] = list(self.sample)
        out["bad_line_samples"] = list(self.bad_line_samples)
        return out


def sample_entry(line: int, segments: Mapping[str, str], baseline: Mapping[str, Any],
                 candidate: Mapping[str, Any], difference: Difference) -> dict[str, Any]:
    return {
        "line": line,
        "order_id": baseline.get("order_id"),
        "segments": dict(segments),
        "moved": list(difference.moved),
        "rules": [{"rule": r.rule, "how": r.how} for r in difference.rules],
        "explanation": difference.explanation,
        "baseline": dict(baseline),
        "candidate": dict(candidate),
    }


CHANGE_COLUMNS = ("line", "order_id", "channel", "country", "tier", "moved",
                  "baseline_status", "candidate_status", "baseline_currency", "baseline_total",
                  "candidate_currency", "candidate_total", "total_delta", "baseline_margin",
                  "candidate_margin", "baseline_approvals", "candidate_approvals",
                  "baseline_backordered", "candidate_backordered", "rules_baseline_only",
                  "rules_candidate_only", "rules_effect_differs", "explanation", "edits")


def _currency(decision: Mapping[str, Any]) -> str:
    pricing = decision.get("pricing")
    return str(pricing.get("currency") or "") if pricing else ""


def change_row(line: int, order: Mapping[str, Any], baseline: Mapping[str, Any],
               candidate: Mapping[str, Any], difference: Difference,
               reading: Reading = Reading(),
               brought: tuple[Brought, Brought] = (NOTHING, NOTHING),
               blame: Any = None) -> tuple[str, ...]:
    """One row of the changed-orders CSV (CHANGE_COLUMNS). Each amount is in the currency of
    its side; `total_delta` is empty when the two sides' currencies differ. `brought`: what
    `Summary.add` returned for the order (its margins). `blame` (simulator/blame.py `Blame`,
    None when blame is off): the edits behind the change, `;`-separated, or `unexplained`."""
    tb, tc = total_of(baseline), total_of(candidate)
    cb, cc = _currency(baseline), _currency(candidate)
    seg = segment_keys(order, reading.segmenter)
    mb, mc = brought[0][2], brought[1][2]

    def roles(d: Mapping[str, Any]) -> str:
        return ";".join(str(a.get("role")) for a in d.get("approvals") or ())

    return (
        str(line), str(baseline.get("order_id") or ""), seg["channel"], seg["country"],
        seg["tier"], ";".join(difference.moved),
        str(baseline.get("status")), str(candidate.get("status")),
        cb, "" if tb is None else str(tb), cc, "" if tc is None else str(tc),
        "" if tb is None or tc is None or cb != cc else str(tc - tb),
        "" if mb is None else str(mb), "" if mc is None else str(mc),
        roles(baseline), roles(candidate),
        str(backordered_of(baseline)), str(backordered_of(candidate)),
        ";".join(difference.rules_by("baseline_only")),
        ";".join(difference.rules_by("candidate_only")),
        ";".join(difference.rules_by("effect_differs")),
        difference.explanation,
        "" if blame is None else (";".join(blame.edits) or "unexplained"),
    )
