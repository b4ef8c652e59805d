"""Stock moves of an order: what reserving, giving back and shipping its lines do to stock.

In: the order's lines (sku, ordered, shipped, allocations {location: quantity}). Out:
`StockMove` values (location, sku, change of on hand, change of allocated) and the lines'
allocations after them; the ledger (adapters/inventory.py) applies the moves to the stock rows.
Pure. The non-obvious choice: a shipment takes from the allocation of the location it left
(or the first still holding some) at most what was reserved there; the rest was shipped
without a reservation and moves on hand only.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


@dataclass(frozen=True)
class StockMove:
    line_id: str
    location: str
    sku: str
    on_hand: Decimal
    allocated: Decimal


def reservations(lines: dict[str, Any], sign: int) -> list[StockMove]:
    """Reserving (+1) or giving back (-1) what each line still holds."""
    out = []
    for lid, line in lines.items():
        for loc, qty in (line.get("allocations") or {}).items():
            q = Decimal(qty)
            if q <= 0 or not line.get("sku"):
                continue
            out.append(StockMove(lid, loc, line["sku"], Decimal(0), q * sign))
    return out


def ship_from(line: dict[str, Any], qty: Decimal, location: str | None) -> str | None:
    """Where a shipped quantity left from: the given location, else the first one still
    holding an allocation for the line, else its first allocation's."""
    if location is not None:
        return location
    allocs = line.get("allocations") or {}
    return next((k for k, v in allocs.items() if Decimal(v) > 0), next(iter(allocs), None))


def shipment_move(lid: str, line: dict[str, Any], qty: Decimal,
                  location: str) -> StockMove:
    """A shipment of `qty` from `location`: on hand down by it, allocated down by what was
    reserved there (at most `qty`)."""
    held = Decimal((line.get("allocations") or {}).get(location, "0"))
    return StockMove(lid, location, line["sku"], -qty, -min(held, qty))


def shipped_amount(line: dict[str, Any], qty: Decimal) -> Decimal | None:
    """A shipped quantity's share of the line's net, exact to the cent (None without a net)."""
    if line.get("net") is None or Decimal(line["ordered"]) <= 0:
        return None
    return (Decimal(line["net"]) * qty / Decimal(line["ordered"])).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP)
