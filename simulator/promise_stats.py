"""Promise dates, delays and backorders of a simulation, per side, overall and per segment.

In: each order's pair of decisions (dicts) with its segment keys, and each side's handling days
per location. Out: `PromiseStats.to_json()`, the summary's `promising` entry (docs/simulator.md),
and `account()`, its lines on stdout.

A line counts when its decision carries a `promise` (the rule set has `atp_rules`). It is:
- **on time** when nothing is short and every part ships on the earliest day its location can
  ship (the as-of date plus the location's handling days);
- **late** when nothing is short but a part ships later; its delay is the latest part's days
  past that earliest day;
- **backordered** when some quantity is short (no date); `short_units` sums those.
"""
from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
FIELDS = ("lines", "on_time", "late", "backordered", "delay_days", "max_delay_days")


class Tally:
    __slots__ = ("counts", "short_units")

    def __init__(self) -> None:
        self.counts = dict.fromkeys(FIELDS, 0)
        self.short_units = ZERO

    def add(self, delay: int | None, short: Decimal) -> None:
        c = self.counts
        c["lines"] += 1
        if short > 0:
            c["backordered"] += 1
            self.short_units += short
        elif delay:
            c["late"] += 1
            c["delay_days"] += delay
            c["max_delay_days"] = max(c["max_delay_days"], delay)
        else:
            c["on_time"] += 1

    def merge(self, other: Tally) -> None:
        for k in FIELDS:
            if k == "max_delay_days":
                self.counts[k] = max(self.counts[k], other.counts[k])
            else:
                self.counts[k] += other.counts[k]
        self.short_units += other.short_units

    def to_json(self) -> dict[str, Any]:
        c = self.counts
        mean = (Decimal(c["delay_days"]) / c["late"]).quantize(Decimal("0.1")) \
            if c["late"] else ZERO
        return {**c, "mean_delay_days": str(mean), "short_units": str(self.short_units)}


def line_outcomes(decision: Mapping[str, Any],
                  handling: Mapping[str, datetime.timedelta]) -> list[tuple[int, Decimal]]:
    """(delay in days, short quantity) of each promised line of a decision."""
    as_of = decision.get("as_of")
    if not isinstance(as_of, str):
        return []
    day = datetime.date.fromisoformat(as_of)
    out = []
    for line in (decision.get("sourcing") or {}).get("lines") or ():
        promised = line.get("promise") if isinstance(line, dict) else None
        if not isinstance(promised, dict):
            continue
        delay = 0
        for part in promised.get("parts") or ():
            earliest = day + handling.get(str(part.get("location")), datetime.timedelta(0))
            ship = datetime.date.fromisoformat(str(part["ship_date"]))
            delay = max(delay, (ship - earliest).days)
        out.append((delay, Decimal(str(promised.get("short") or 0))))
    return out


class PromiseStats:
    """Both sides' tallies, overall and per segment value."""

    def __init__(self) -> None:
        self.total = (Tally(), Tally())
        self.segments: dict[str, dict[str, tuple[Tally, Tally]]] = {}

    def add(self, keys: Mapping[str, str], baseline: Mapping[str, Any],
            candidate: Mapping[str, Any], handling: tuple[Mapping[str, datetime.timedelta],
                                                         Mapping[str, datetime.timedelta]]
            ) -> None:
        for side, decision in enumerate((baseline, candidate)):
            outcomes = line_outcomes(decision, handling[side])
            if not outcomes:
                continue
            tallies = [self.total[side]]
            for dim, value in keys.items():
                seg = self.segments.setdefault(dim, {})
                if value not in seg and len(seg) >= 1000:
                    continue                   # a bounded summary: at most 1000 values
                tallies.append(seg.setdefault(value, (Tally(), Tally()))[side])
            for delay, short in outcomes:
                for t in tallies:
                    t.add(delay, short)

    def to_json(self) -> dict[str, Any]:
        return {"baseline": self.total[0].to_json(), "candidate": self.total[1].to_json(),
                "segments": {dim: {v: {"baseline": b.to_json(), "candidate": c.to_json()}
                                   for v, (b, c) in sorted(values.items())}
                             for dim, values in sorted(self.segments.items())}}


def account(promising: Mapping[str, Any]) -> list[str]:
    """The promising lines of the short account on stdout."""
    def side(t: Mapping[str, Any]) -> str:
        return (f"{t['on_time']} on time, {t['late']} late (mean {t['mean_delay_days']} days, "
                f"max {t['max_delay_days']}), {t['backordered']} backordered "
                f"({t['short_units']} units)")
    b, c = promising["baseline"], promising["candidate"]
    out = [f"promising: {b['lines']} lines: {side(b)} -> {side(c)}"]
    for change in promising.get("supply_changes") or ():
        out.append(f"  supply change: {change}")
    for dim, values in promising.get("segments", {}).items():
        for value, pair in values.items():
            if pair["baseline"] != pair["candidate"]:
                out.append(f"  {dim} {value}: {side(pair['baseline'])} -> "
                           f"{side(pair['candidate'])}")
    return out
