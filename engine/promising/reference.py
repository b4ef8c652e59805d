"""Promising settings and supply from a rule set's reference data.

In: the rows of two reference tables, as the rule set loader reads them (numbers are Decimals,
empty cells None, everything else text):
- `atp_rules` (reference/atp_rules.csv): one row per rule, the row named `default` is used;
  columns `name, consumption, accumulate, accumulation_window_days, past_due_supply_days,
  past_due_demand_days, infinite_fence_days, atp_fence_days, split, min_split, horizon_days,
  supply_types, demand_types` (types separated by `;`) and the working calendar
  `working_days` (weekdays `mon`..`sun` separated by `;`; empty: every day) and `holidays`
  (YYYY-MM-DD dates separated by `;`);
- `supply` (reference/supply.csv): `location, sku, kind, date, quantity, ref`, one row per
  purchase-order receipt, in-transit transfer, work-order completion or planned order.
Out: `Setup` (the `AtpRule`, the horizon in days, and the supply events by location and SKU),
or `ReferenceError` naming the table, the row and the bad value.

The non-obvious choice: a rule set turns promising on by having an `atp_rules` table; without
one nothing changes in its decisions. On-hand is not in `supply`: it stays in `inventory`,
which sourcing reads, so the two cannot disagree.
"""
from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .atp import AtpRule, Consumption, DemandType, Supply, SupplyType
from .calendar import EVERY_DAY, Calendar

HORIZON_DAYS = 365
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ReferenceError(ValueError):
    """Bad promising reference data; the message names the table, row and value."""


@dataclass(frozen=True)
class Setup:
    rule: AtpRule
    horizon_days: int = HORIZON_DAYS
    calendar: Calendar = EVERY_DAY
    supply: dict[tuple[str, str], tuple[Supply, ...]] = field(default_factory=dict,
                                                               compare=False)


def setup(atp_rules: Sequence[Any] | None, supply: Sequence[Any] | None) -> Setup | None:
    """The promising setup of a rule set, or None when it has no `atp_rules` table."""
    if atp_rules is None:
        return None
    rows = [r for r in atp_rules if isinstance(r, dict)]
    row = next((r for r in rows if _text(r.get("name")) == "default"), None)
    if row is None:
        raise ReferenceError("atp_rules: no row named 'default' (the rule promising uses)")
    rule, horizon = _rule(row)
    calendar = _calendar(row)
    events: dict[tuple[str, str], list[Supply]] = {}
    for n, r in enumerate(supply or (), start=2):
        if not isinstance(r, dict):
            continue
        s = _supply(r, n)
        events.setdefault((s.location, s.item), []).append(s)
    return Setup(rule, horizon, calendar, {k: tuple(v) for k, v in events.items()})


def _rule(row: dict[str, Any]) -> tuple[AtpRule, int]:
    where = "atp_rules: row 'default'"
    consumption = _choice(row, "consumption", Consumption, where, Consumption.BACKWARD)
    kinds = _text(row.get("supply_types"))
    types = frozenset(SupplyType) - {SupplyType.PLANNED_ORDER}
    if kinds:
        types = frozenset(_enum(SupplyType, k.strip(), where, "supply_types")
                          for k in kinds.split(";") if k.strip())
        types |= {SupplyType.ON_HAND}
    demand = _text(row.get("demand_types"))
    demand_types = frozenset(DemandType)
    if demand:
        demand_types = frozenset(_enum(DemandType, k.strip(), where, "demand_types")
                                 for k in demand.split(";") if k.strip())
    try:
        rule = AtpRule(
            consumption=consumption,
            accumulate=_flag(row, "accumulate", where, consumption is not Consumption.NONE),
            accumulation_window_days=_days(row, "accumulation_window_days", where),
            supply_types=types,
            demand_types=demand_types,
            past_due_supply_days=_days(row, "past_due_supply_days", where),
            past_due_demand_days=_days(row, "past_due_demand_days", where),
            infinite_fence_days=_days(row, "infinite_fence_days", where),
            atp_fence_days=_days(row, "atp_fence_days", where),
            split=_flag(row, "split", where, False),
            min_split=_number(row, "min_split", where) or Decimal(1),
        )
    except ValueError as exc:
        raise ReferenceError(f"{where}: {exc}") from None
    horizon = _days(row, "horizon_days", where) or HORIZON_DAYS
    if horizon > 3660:
        raise ReferenceError(f"{where}: horizon_days {horizon} is more than ten years")
    return rule, horizon


def _calendar(row: dict[str, Any]) -> Calendar:
    where = "atp_rules: row 'default'"
    days, off = _text(row.get("working_days")), _text(row.get("holidays"))
    if not days and not off:
        return EVERY_DAY
    weekdays = frozenset(range(7))
    if days:
        names = [d.strip().lower() for d in days.split(";") if d.strip()]
        bad = [d for d in names if d not in WEEKDAYS]
        if bad:
            raise ReferenceError(f"{where}: working_days {bad[0]!r} is not one of "
                                 f"{', '.join(WEEKDAYS)}")
        weekdays = frozenset(WEEKDAYS.index(d) for d in names)
    holidays = []
    for d in (off or "").split(";"):
        if d.strip():
            try:
                holidays.append(datetime.date.fromisoformat(d.strip()))
            except ValueError:
                raise ReferenceError(f"{where}: holidays {d.strip()!r} is not YYYY-MM-DD") \
                    from None
    try:
        return Calendar(weekdays, frozenset(holidays))
    except ValueError as exc:
        raise ReferenceError(f"{where}: {exc}") from None


def _supply(r: dict[str, Any], n: int) -> Supply:
    where = f"supply: row {n}"
    loc, sku = _text(r.get("location")), _text(r.get("sku"))
    if not loc or not sku:
        raise ReferenceError(f"{where}: location and sku are needed")
    kind = _enum(SupplyType, _text(r.get("kind")) or "", where, "kind")
    if kind is SupplyType.ON_HAND:
        raise ReferenceError(f"{where}: on_hand belongs in the inventory table, not in supply")
    try:
        day = datetime.date.fromisoformat(_text(r.get("date")) or "")
    except ValueError:
        raise ReferenceError(f"{where}: date {r.get('date')!r} is not YYYY-MM-DD") from None
    qty = r.get("quantity")
    if not isinstance(qty, Decimal) or not qty.is_finite() or qty <= 0:
        raise ReferenceError(f"{where}: quantity {qty!r} is not a positive number")
    return Supply(sku, loc, kind, day, qty, _text(r.get("ref")) or "")


def _text(v: Any) -> str | None:
    return None if v is None else str(v).strip()


def _enum(enum: Any, value: str, where: str, column: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        names = ", ".join(e.value for e in enum)
        raise ReferenceError(f"{where}: {column} {value!r} is not one of {names}") from None


def _choice(row: dict[str, Any], column: str, enum: Any, where: str, default: Any) -> Any:
    value = _text(row.get(column))
    return default if not value else _enum(enum, value, where, column)


def _flag(row: dict[str, Any], column: str, where: str, default: bool) -> bool:
    value = _text(row.get(column))
    if not value:
        return default
    if value.lower() in ("true", "yes", "1"):
        return True
    if value.lower() in ("false", "no", "0"):
        return False
    raise ReferenceError(f"{where}: {column} {value!r} is not true or false")


def _number(row: dict[str, Any], column: str, where: str) -> Decimal | None:
    v = row.get(column)
    if v is None:
        return None
    if not isinstance(v, Decimal) or not v.is_finite():
        raise ReferenceError(f"{where}: {column} {v!r} is not a number")
    return v


def _days(row: dict[str, Any], column: str, where: str) -> int | None:
    v = _number(row, column, where)
    if v is None:
        return None
    if v != v.to_integral_value() or v < 0:
        raise ReferenceError(f"{where}: {column} {v} is not a whole number of days")
    return int(v)
