"""Stored orders as an order stream: the service's order hub written out as JSONL.

In: the service's `Database` and an optional date range (`start`, `end`, inclusive, matched
against the stored order date). Out: `export_orders(db, path, ...)` writes the current version
of each stored order, one per line, ordered by date then id (order time, which
`--consume-stock` needs), and returns how many it wrote. Raises the database's errors.

Rows are fetched in batches (`yield_per`), so the hub is never held in memory.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


def export_orders(db: Any, path: str | Path, *, start: str | None = None,
                  end: str | None = None) -> int:
    from sqlalchemy import and_, select

    from ordinance.adapters.models import Order, OrderVersion
    from ordinance.engine import dumps, loads

    query = select(OrderVersion.order).join(
        Order, and_(Order.id == OrderVersion.order_id, Order.version == OrderVersion.version))
    if start:
        query = query.where(Order.order_date >= start)
    if end:
        query = query.where(Order.order_date <= end)
    query = query.order_by(Order.order_date, Order.id).execution_options(yield_per=1000)
    written = 0
    with db.session() as session, open(path, "w", encoding="utf-8") as out:
        for text in session.scalars(query):
            if "\n" in text:       # one order per line, whatever the stored spacing
                text = dumps(loads(text))
            out.write(text + "\n")
            written += 1
    return written
