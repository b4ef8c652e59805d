"""Substitute items from a rule set's `substitutes` reference table (check availability).

In: the table's rows as the loader reads them (`sku, substitute, quantity, note`; numbers are
Decimals, empty cells None) and, when known, the SKUs of the `products` table.
Out: per SKU its substitutes in table order, each with how many of it replace one of the SKU;
or `ReferenceError` naming the row (its CSV line) and the bad value.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any

from .reference import ReferenceError

MAX_PER_SKU = 5


def substitutes(rows: Sequence[Any] | None, products: Collection[str] | None = None
                ) -> dict[str, tuple[tuple[str, Decimal], ...]]:
    out: dict[str, list[tuple[str, Decimal]]] = {}
    for n, row in enumerate(rows or (), start=2):
        if not isinstance(row, dict):
            continue
        where = f"substitutes: row {n}"
        sku = str(row.get("sku") or "").strip()
        sub = str(row.get("substitute") or "").strip()
        if not sku or not sub:
            raise ReferenceError(f"{where}: sku and substitute are needed")
        if sku == sub:
            raise ReferenceError(f"{where}: {sku} cannot substitute itself")
        for name in (sku, sub):
            if products is not None and name not in products:
                raise ReferenceError(f"{where}: {name!r} is not in the products table")
        qty = row.get("quantity")
        if qty is None:
            qty = Decimal(1)
        if not isinstance(qty, Decimal) or not qty.is_finite() or qty <= 0:
            raise ReferenceError(f"{where}: quantity {qty!r} is not a positive number")
        mine = out.setdefault(sku, [])
        if any(s == sub for s, _ in mine):
            raise ReferenceError(f"{where}: {sub} is listed twice for {sku}")
        if len(mine) >= MAX_PER_SKU:
            raise ReferenceError(f"{where}: more than {MAX_PER_SKU} substitutes for {sku}")
        mine.append((sub, qty))
    return {k: tuple(v) for k, v in out.items()}
