"""Promising over time in a simulation (`--consume-stock`), and what-if changes to supply.

In: a loaded rule set (its inventory, its promising setup: the ATP rule and `reference/supply`),
the stream's decisions in order-date order, and optionally supply changes (`--supply-change
FILE`: "PO-1 late 10 days", "add 100 of SKU at LOC on DATE", ...).
Out: a `Picture` per side, the stock ledger the engine reads (on hand by (location, sku)) that
also carries the supply and demand to come (`picture.atp`, read by engine/sourcing.py); and
`PromiseStats`: promise dates, delays and backorders per side, overall and per segment.

How the picture moves with the stream:
- before an order is decided, every event dated before its as-of day is settled: a receipt
  (purchase order, transfer, work order) becomes stock on hand; a promised demand ships, taking
  its units off on hand;
- after the order is decided, its on-hand allocations are taken off (as `--consume-stock`
  always did) and each quantity its promises placed on supply to come (the trace's `place`
  steps: the bucket's date and location) becomes demand, so a later order cannot promise the
  same receipt.
Supply changes apply to the candidate's picture unless an edit says `side: baseline|both`, so
with the same rule set on both sides the difference is the change's own effect.
"""
from __future__ import annotations

import datetime
import heapq
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ordinance.engine.promising.atp import Demand, DemandType, Supply, SupplyType

ZERO = Decimal(0)
MAX_CHANGES = 10_000
SIDES = ("candidate", "baseline", "both")
_LATE = re.compile(r"^(?P<ref>\S+) (?:is )?late (?P<days>-?\d+) days?$", re.I)
_ADD = re.compile(r"^add (?P<qty>\d+(?:\.\d+)?) of (?P<sku>\S+) at (?P<loc>\S+) on "
                  r"(?P<date>\d{4}-\d{2}-\d{2})$", re.I)
_CANCEL = re.compile(r"^cancel (?P<ref>\S+)$", re.I)


class SupplyChangeError(ValueError):
    """A supply change that cannot be read or applied; the message starts with its path."""


@dataclass(frozen=True)
class Change:
    """One edit: a receipt by its `ref` moved by `late_days` and/or given a new `quantity`
    (0 cancels it), or a new receipt (`add`)."""
    path: str
    side: str = "candidate"
    ref: str | None = None
    late_days: int = 0
    quantity: Decimal | None = None
    add: Supply | None = None

    def describe(self) -> str:
        if self.add is not None:
            a = self.add
            return (f"add {a.quantity} of {a.item} at {a.location} on {a.date} ({a.kind.value})"
                    f" [{self.side}]")
        what = []
        if self.late_days:
            what.append(f"late {self.late_days} days")
        if self.quantity is not None:
            what.append("cancelled" if self.quantity == 0 else f"quantity {self.quantity}")
        return f"{self.ref} {', '.join(what)} [{self.side}]"


    def to_json(self) -> dict[str, Any]:
        """The change as a mapping `parse_change` reads back (a stored simulation's options)."""
        out: dict[str, Any] = {"side": self.side}
        if self.add is not None:
            a = self.add
            out.update(add=format(a.quantity, "f"), sku=a.item, location=a.location,
                       date=a.date.isoformat(), kind=a.kind.value)
            return out
        out["ref"] = self.ref
        if self.late_days:
            out["late_days"] = self.late_days
        if self.quantity is not None:
            out["quantity"] = format(self.quantity, "f")
        return out


def parse_changes(items: Any, path: str) -> tuple[Change, ...]:
    """The edits of a request body's list (`path` its JSON path: `$.supply_changes`)."""
    if not isinstance(items, list):
        raise SupplyChangeError(f"{path}: a list of changes is needed (phrases or mappings)")
    if len(items) > MAX_CHANGES:
        raise SupplyChangeError(f"{path}: {len(items)} changes; at most {MAX_CHANGES}")
    return tuple(parse_change(item, f"{path}[{i}]") for i, item in enumerate(items))


def stored_changes(items: Any) -> tuple[Change, ...]:
    """The changes a simulation job stored (`Change.to_json`, checked when it was asked for,
    so an error here is the job's); none without any."""
    return parse_changes(items, "$.supply_changes") if items else ()


def read_changes(path: str | Path) -> tuple[Change, ...]:
    """The edits of a JSON or YAML file: a list of phrases or mappings (docs/simulator.md)."""
    text = Path(path).read_text("utf-8")
    try:
        if str(path).endswith(".json"):
            data = json.loads(text, parse_float=Decimal)
        else:
            import yaml
            data = yaml.safe_load(text)
    except (ValueError, ImportError) as exc:
        raise SupplyChangeError(f"{path}: not JSON or YAML: {exc}") from None
    except Exception as exc:  # yaml.YAMLError (the module is imported lazily)
        raise SupplyChangeError(f"{path}: not YAML: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("changes"), list):
        data = data["changes"]
    if not isinstance(data, list):
        raise SupplyChangeError(f"{path}: a list of changes is needed (or {{changes: [...]}})")
    if len(data) > MAX_CHANGES:
        raise SupplyChangeError(f"{path}: {len(data)} changes; at most {MAX_CHANGES}")
    return tuple(parse_change(item, f"[{i}]") for i, item in enumerate(data))


def parse_change(item: Any, path: str) -> Change:
    if isinstance(item, str):
        return _phrase(item.strip(), path)
    if not isinstance(item, dict):
        raise SupplyChangeError(f"{path}: a change is a phrase or a mapping, not {item!r}")
    known = {"ref", "late_days", "quantity", "add", "sku", "location", "date", "kind", "side"}
    for key in item:
        if key not in known:
            raise SupplyChangeError(f"{path}.{key}: unknown field (fields: "
                                    f"{', '.join(sorted(known))})")
    side = item.get("side", "candidate")
    if side not in SIDES:
        raise SupplyChangeError(f"{path}.side: {side!r} is not one of {', '.join(SIDES)}")
    if "add" in item:
        qty = _quantity(item["add"], f"{path}.add", positive=True)
        for key in ("sku", "location", "date"):
            if not isinstance(item.get(key), (str, datetime.date)) or not str(item[key]):
                raise SupplyChangeError(f"{path}.{key}: needed to add supply")
        kind = item.get("kind", "purchase_order")
        try:
            supply_type = SupplyType(kind)
        except ValueError:
            supply_type = SupplyType.ON_HAND
        if supply_type is SupplyType.ON_HAND:
            names = ", ".join(t.value for t in SupplyType if t is not SupplyType.ON_HAND)
            raise SupplyChangeError(f"{path}.kind: {kind!r} is not one of {names}")
        day = _date(item["date"], f"{path}.date")
        return Change(path, side, add=Supply(str(item["sku"]), str(item["location"]),
                                             supply_type, day, qty, f"what-if {path}"))
    ref = item.get("ref")
    if not isinstance(ref, str) or not ref:
        raise SupplyChangeError(f"{path}.ref: the receipt's ref is needed (or add: QUANTITY)")
    late = item.get("late_days", 0)
    if isinstance(late, bool) or not isinstance(late, (int, Decimal)) or late != int(late) \
            or abs(late) > 3660:
        raise SupplyChangeError(f"{path}.late_days: {late!r} is not a whole number of days "
                                "(up to 3660)")
    qty = _quantity(item["quantity"], f"{path}.quantity", positive=False) \
        if "quantity" in item else None
    if not late and qty is None:
        raise SupplyChangeError(f"{path}: says nothing to change (late_days or quantity)")
    return Change(path, side, ref=ref, late_days=int(late), quantity=qty)


def _phrase(text: str, path: str) -> Change:
    if m := _LATE.match(text):
        return Change(path, ref=m["ref"], late_days=_whole(m["days"], path))
    if m := _CANCEL.match(text):
        return Change(path, ref=m["ref"], quantity=ZERO)
    if m := _ADD.match(text):
        return Change(path, add=Supply(m["sku"], m["loc"], SupplyType.PURCHASE_ORDER,
                                       _date(m["date"], path), Decimal(m["qty"]),
                                       f"what-if {path}"))
    raise SupplyChangeError(f"{path}: {text!r} is not a change; write 'PO-1 late 10 days', "
                            "'cancel PO-1' or 'add 100 of SKU at LOC on YYYY-MM-DD'")


def _whole(text: str, path: str) -> int:
    days = int(text)
    if abs(days) > 3660:
        raise SupplyChangeError(f"{path}: {days} days is more than ten years")
    return days


def _quantity(value: Any, path: str, positive: bool) -> Decimal:
    try:
        qty = Decimal(str(value)) if not isinstance(value, bool) else None
    except InvalidOperation:
        qty = None
    if qty is None or not qty.is_finite() or qty < 0 or (positive and qty == 0) \
            or qty >= Decimal("1e15"):
        raise SupplyChangeError(f"{path}: {value!r} is not a "
                                f"{'positive' if positive else 'non-negative'} quantity")
    return qty


def _date(value: Any, path: str) -> datetime.date:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise SupplyChangeError(f"{path}: {value!r} is not a YYYY-MM-DD date") from None


def apply_changes(supply: Mapping[tuple[str, str], tuple[Supply, ...]],
                  changes: Iterable[Change], side: str) -> dict[tuple[str, str], list[Supply]]:
    """The supply events with the changes meant for `side` made; an unknown ref is an error."""
    out = {key: list(events) for key, events in supply.items()}
    for change in changes:
        if change.side not in (side, "both"):
            continue
        if change.add is not None:
            a = change.add
            out.setdefault((a.location, a.item), []).append(a)
            continue
        hits = 0
        for key, events in out.items():
            for i, s in enumerate(events):
                if s.ref != change.ref:
                    continue
                hits += 1
                moved = s.date + datetime.timedelta(days=change.late_days)
                events[i] = replace(s, date=moved, quantity=change.quantity
                                    if change.quantity is not None else s.quantity)
            out[key] = [s for s in events if s.quantity > 0]
        if not hits:
            raise SupplyChangeError(f"{change.path}.ref: no supply with ref {change.ref!r} in "
                                    f"the {side}'s reference/supply")
    return out


@dataclass
class Events:
    """Supply and demand to come by (location, sku), as engine/sourcing.py reads them."""
    supply: dict[tuple[str, str], tuple[Supply, ...]] = field(default_factory=dict)
    demand: dict[tuple[str, str], tuple[Demand, ...]] = field(default_factory=dict)


class Picture(dict[tuple[str, str], Decimal]):
    """One side's stock on hand (the ledger `--consume-stock` threads), with its supply and
    demand to come in `atp`; `settle(day)` moves what is dated before `day` into on hand."""

    def __init__(self, on_hand: Mapping[tuple[str, str], Decimal],
                 supply: Mapping[tuple[str, str], Iterable[Supply]]) -> None:
        super().__init__(on_hand)
        self.atp = Events({k: tuple(v) for k, v in supply.items() if v})
        # (date, 0 for a receipt / 1 for a shipment, seq, location, sku, quantity)
        self._due: list[tuple[datetime.date, int, int, str, str, Decimal]] = []
        self._seq = 0
        for (loc, sku), events in self.atp.supply.items():
            for s in events:
                self._push(s.date, 0, loc, sku, s.quantity)

    def _push(self, day: datetime.date, what: int, loc: str, sku: str, qty: Decimal) -> None:
        self._seq += 1
        heapq.heappush(self._due, (day, what, self._seq, loc, sku, qty))

    def settle(self, day: datetime.date) -> None:
        """Receipts dated before `day` are on hand; promised demand dated before it shipped."""
        changed: set[tuple[str, str]] = set()
        while self._due and self._due[0][0] < day:
            _, what, _, loc, sku, qty = heapq.heappop(self._due)
            key = (loc, sku)
            self[key] = self.get(key, ZERO) + (qty if what == 0 else -qty)
            changed.add(key)
        for key in changed:
            self.atp.supply[key] = tuple(s for s in self.atp.supply.get(key, ())
                                         if s.date >= day)
            self.atp.demand[key] = tuple(d for d in self.atp.demand.get(key, ())
                                         if d.date >= day)

    def promise(self, decision: Mapping[str, Any]) -> None:
        """The decision's promised quantities on supply to come become demand."""
        for line in (decision.get("sourcing") or {}).get("lines") or ():
            promised = line.get("promise") if isinstance(line, dict) else None
            if not isinstance(promised, dict):
                continue
            sku = str(line.get("sku"))
            for step in promised.get("trace") or ():
                if step.get("step") != "place" or not step.get("date"):
                    continue
                loc, day = str(step["location"]), datetime.date.fromisoformat(step["date"])
                qty = Decimal(str(step["quantity"]))
                key = (loc, sku)
                self.atp.demand[key] = (*self.atp.demand.get(key, ()),
                                        Demand(sku, loc, DemandType.ORDER_LINE, day, qty))
                self._push(day, 1, loc, sku, qty)


def picture_of(rs: Any, ledger: Mapping[tuple[str, str], Decimal], changes: Iterable[Change],
               side: str) -> Picture | None:
    """A side's picture, or None when its rule set does not promise (no `atp_rules`)."""
    setup = getattr(rs.network, "promising", None)
    if setup is None:
        mine = [c for c in changes if c.side in (side, "both")]
        if mine:
            raise SupplyChangeError(f"{mine[0].path}: the {side}'s rule set has no "
                                    "reference/atp_rules table, so it does not promise "
                                    "(a supply change needs one)")
        return None
    return Picture(ledger, apply_changes(setup.supply, changes, side))
