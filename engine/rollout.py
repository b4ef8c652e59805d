"""Shadow and staged rollout, the pure parts: who is in, what each side did, when to stop.

In: a rollout's plan (`Plan`: share, segments, sample, thresholds), an order's id and segments
(engine/segments.py), and per-side tallies of decisions. Out: `Plan.in_segments`,
`Plan.takes` (whether an order goes to the candidate: deterministic by the hash of the rollout
id and the order id, so one order always lands on one side, in every process) and
`Plan.samples`; `Tally` (decisions by status, revenue and margin per currency) and
`crossed(active, candidate, plan)` (the thresholds the candidate crossed, each with its
figures). `read_plan` checks a request's plan and raises `PlanError` with the JSON path.
Pure: no clock, no I/O; the adapter stores and counts, the worker decides with this.

Thresholds compare the candidate with the active set over the same period and segments:
`approval_rate`, `hold_rate`, `rejection_rate` are the most the candidate's share of orders
pending approval, on hold, rejected may exceed the active set's (a fraction: "0.05" is five
points); `revenue_per_order` and `margin_per_order` the most the candidate's average per
order may fall below the active set's, as a fraction of it, in each currency both sides saw
(money is never added across currencies). Nothing is judged before each side has
`min_orders` decisions.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

SEGMENT_KEYS = ("channel", "country", "tier")
RATES = {"approval_rate": "pending_approval", "hold_rate": "on_hold", "rejection_rate": "rejected"}
MONEY = ("revenue_per_order", "margin_per_order")
MAX_VALUES = 100  # values per segment key
FRACTION = re.compile(r"^(0(\.[0-9]{1,20})?|1(\.0{1,20})?)$")  # a threshold, as text
KEYS = ("mode", "candidate", "share", "sample", "segments", "thresholds", "min_orders",
        "promote_after")


class PlanError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Plan:
    id: str
    share: int = 0                                   # percent of the population (rollout)
    sample: int = 100                                # percent of the population (shadow)
    segments: Mapping[str, frozenset[str]] = field(default_factory=dict)
    thresholds: Mapping[str, Decimal] = field(default_factory=dict)
    min_orders: int = 20
    promote_after: int | None = None                # candidate decisions, then promote

    def in_segments(self, segments: Mapping[str, str | None]) -> bool:
        return all((segments.get(k) or "") in values for k, values in self.segments.items())

    def bucket(self, order_id: str) -> int:
        """0..99, from the rollout id and the order id only."""
        h = hashlib.sha256(f"{self.id}\n{order_id}".encode()).digest()
        return int.from_bytes(h[:8], "big") % 100

    def takes(self, order_id: str, segments: Mapping[str, str | None]) -> bool:
        return self.in_segments(segments) and self.bucket(order_id) < self.share

    def samples(self, order_id: str, segments: Mapping[str, str | None]) -> bool:
        return self.in_segments(segments) and self.bucket(order_id) < self.sample


def _whole(v: Any) -> int | None:
    """A whole number from JSON (the codec reads numbers as Decimal), else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value() \
            and abs(v) < 10 ** 12:
        return int(v)
    return None


def _percent(body: Mapping[str, Any], key: str, default: int) -> int:
    v = _whole(body.get(key, default))
    if v is None or not 0 <= v <= 100:
        raise PlanError(f"$.{key}", f"{key} is a whole percent from 0 to 100")
    return v


def read_plan(rid: str, body: Mapping[str, Any]) -> Plan:
    """The plan of a start request's body (share, sample, segments, thresholds, min_orders,
    promote_after; and mode and candidate, which the caller reads); PlanError names the
    first bad field, an unknown one included."""
    for k in body:
        if k not in KEYS:
            raise PlanError(f"$.{k}", "not a field of a rollout: " + ", ".join(KEYS))
    segs: dict[str, frozenset[str]] = {}
    raw = body.get("segments", {})
    if not isinstance(raw, dict):
        raise PlanError("$.segments", "segments is {channel|country|tier: [VALUE, ...]}")
    for k, values in raw.items():
        if k not in SEGMENT_KEYS:
            raise PlanError(f"$.segments.{k}", f"a segment is one of {', '.join(SEGMENT_KEYS)}")
        if not isinstance(values, list) or not values or len(values) > MAX_VALUES \
                or not all(isinstance(v, str) and 0 < len(v) <= 100 for v in values):
            raise PlanError(f"$.segments.{k}", f"a list of 1 to {MAX_VALUES} texts")
        segs[k] = frozenset(values)
    thresholds: dict[str, Decimal] = {}
    raw_t = body.get("thresholds", {})
    if not isinstance(raw_t, dict):
        raise PlanError("$.thresholds", "thresholds is {NAME: FRACTION}")
    for k, v in raw_t.items():
        if k not in RATES and k not in MONEY:
            raise PlanError(f"$.thresholds.{k}", "a threshold is one of "
                            + ", ".join([*RATES, *MONEY]))
        if not isinstance(v, str) or not FRACTION.match(v):
            raise PlanError(f"$.thresholds.{k}", "a fraction from 0 to 1, as text (\"0.05\")")
        value = Decimal(v)
        if not Decimal(0) <= value <= Decimal(1):
            raise PlanError(f"$.thresholds.{k}", "a fraction from 0 to 1, as text (\"0.05\")")
        thresholds[k] = value
    min_orders = _whole(body.get("min_orders", 20))
    if min_orders is None or not 1 <= min_orders <= 1_000_000:
        raise PlanError("$.min_orders", "min_orders is a whole number from 1 to 1000000")
    raw_p = body.get("promote_after")
    promote = None if raw_p is None else _whole(raw_p)
    if raw_p is not None and (promote is None or not 1 <= promote <= 100_000_000):
        raise PlanError("$.promote_after", "promote_after is a whole number of candidate "
                        "decisions from 1 to 100000000")
    return Plan(rid, _percent(body, "share", 0), _percent(body, "sample", 100), segs,
                thresholds, min_orders, promote)


def plan_json(plan: Plan) -> dict[str, Any]:
    return {"share": plan.share, "sample": plan.sample,
            "segments": {k: sorted(v) for k, v in sorted(plan.segments.items())},
            "thresholds": {k: format(v, "f") for k, v in sorted(plan.thresholds.items())},
            "min_orders": plan.min_orders, "promote_after": plan.promote_after}


def plan_of(rid: str, data: Mapping[str, Any]) -> Plan:
    """A stored plan (plan_json's output) back."""
    return read_plan(rid, data)


@dataclass
class Tally:
    """What one side decided: orders by status, revenue and margin per currency."""
    orders: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    revenue: dict[str, Decimal] = field(default_factory=dict)
    margin: dict[str, Decimal] = field(default_factory=dict)
    priced: dict[str, int] = field(default_factory=dict)      # orders with a total, by currency

    def add(self, status: str, currency: str | None, revenue: Decimal | None,
            margin: Decimal | None) -> None:
        self.orders += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if currency and revenue is not None and status != "rejected":
            self.priced[currency] = self.priced.get(currency, 0) + 1
            self.revenue[currency] = self.revenue.get(currency, Decimal(0)) + revenue
            if margin is not None:
                self.margin[currency] = self.margin.get(currency, Decimal(0)) + margin

    def rate(self, status: str) -> Decimal:
        return Decimal(self.statuses.get(status, 0)) / self.orders if self.orders else Decimal(0)

    def to_json(self) -> dict[str, Any]:
        return {"orders": self.orders, "statuses": dict(sorted(self.statuses.items())),
                "rates": {k: str(round(self.rate(s), 4)) for k, s in RATES.items()},
                "revenue": {c: str(v) for c, v in sorted(self.revenue.items())},
                "margin": {c: str(v) for c, v in sorted(self.margin.items())},
                "priced_orders": dict(sorted(self.priced.items()))}


def crossed(active: Tally, candidate: Tally, plan: Plan) -> list[dict[str, str]]:
    """The thresholds the candidate crossed (none before both sides have min_orders)."""
    if active.orders < plan.min_orders or candidate.orders < plan.min_orders:
        return []
    out = []
    for name, status in RATES.items():
        limit = plan.thresholds.get(name)
        if limit is None:
            continue
        a, c = active.rate(status), candidate.rate(status)
        if c - a > limit:
            out.append({"threshold": name, "limit": str(limit), "active": str(round(a, 4)),
                        "candidate": str(round(c, 4))})
    for name in MONEY:
        limit = plan.thresholds.get(name)
        if limit is None:
            continue
        sums_a, sums_c = (active.revenue, candidate.revenue) if name == "revenue_per_order" \
            else (active.margin, candidate.margin)
        for currency in sorted(set(sums_a) & set(sums_c)):
            avg_a = sums_a[currency] / active.priced[currency]
            avg_c = sums_c[currency] / candidate.priced[currency]
            if avg_a > 0 and (avg_a - avg_c) / avg_a > limit:
                out.append({"threshold": name, "currency": currency, "limit": str(limit),
                            "active": str(round(avg_a, 2)), "candidate": str(round(avg_c, 2))})
    return out
