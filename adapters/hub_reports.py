"""The hub's top-N reports: revenue, units and orders by a dimension, per currency.

In: a dimension (product, customer, channel, country, category, brand, seller, day), a date
range, a sort and a limit. Out: the top entries of each currency (amounts of different
currencies are never added, nor ranked against each other). Read-only.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from .hub_rows import REPORT_DIMENSIONS, decimal_of
from .models import Order, OrderLine
from .store import Invalid


class Reports:
    """The reports of `Hub` (adapters/hub.py)."""

    def top(self, by: str, start: str | None = None, end: str | None = None,
            limit: int = 10, sort: str = "revenue", currency: str | None = None) -> dict:
        """Top entries by revenue (sum of line nets), units or order count (`sort`), each
        with all three, per currency: an entry is a (key, currency) pair, amounts of
        different currencies are never added, and revenues are ranked only against the
        same currency's. With `currency`, that currency's top `limit`; without, the top
        `limit` of each currency, currencies in code order. Rejected orders are left out.
        Channel and country are the decided order's (after defaulting; the channel in the
        rule set's spelling), as `_write_version` stored them."""
        if sort not in ("revenue", "units", "orders"):
            raise Invalid("sort must be revenue, units or orders", code="BAD_QUERY",
                          path="sort")
        if by not in REPORT_DIMENSIONS:
            raise Invalid(f"by must be one of {', '.join(REPORT_DIMENSIONS)}",
                          code="BAD_QUERY", path="by")
        if currency is not None and not (len(currency) == 3 and currency.isascii()
                                         and currency.isalpha() and currency.isupper()):
            raise Invalid(f"currency must be an ISO 4217 code such as EUR, not {currency!r}",
                          code="BAD_QUERY", path="currency")
        column = {"product": OrderLine.sku, "category": OrderLine.category,
                  "brand": OrderLine.brand, "customer": Order.customer,
                  "channel": Order.channel, "country": Order.country, "seller": Order.seller,
                  "day": Order.order_date}[by]
        q = select(column, Order.currency, OrderLine.net, OrderLine.quantity, Order.id).join(
            Order, Order.id == OrderLine.order_id).where(Order.status != "rejected")
        if currency is not None:
            q = q.where(Order.currency == currency)
        if start:
            q = q.where(Order.order_date >= date_param(start, "from"))
        if end:
            q = q.where(Order.order_date <= date_param(end, "to"))
        groups: dict[tuple[Any, str | None], list[Any]] = {}
        with self.db.session() as s:
            for k, cur, net, qty, oid in s.execute(q):
                g = groups.setdefault((k, cur), [Decimal(0), Decimal(0), set()])
                g[0] += decimal_of(net)
                g[1] += decimal_of(qty)
                g[2].add(oid)
        first = {"revenue": 0, "units": 1, "orders": 2}[sort]

        def rank(kv: tuple[tuple[Any, str | None], list[Any]]) -> tuple:
            metrics = (kv[1][0], kv[1][1], Decimal(len(kv[1][2])))
            order = (metrics[first],) + tuple(m for i, m in enumerate(metrics) if i != first)
            return tuple(-m for m in order) + ("" if kv[0][0] is None else str(kv[0][0]),)

        per_currency: dict[str | None, list[Any]] = {}
        for (k, cur), v in sorted(groups.items(), key=rank):
            per_currency.setdefault(cur, []).append((k, cur, v))
        items = [{"key": k, "currency": cur, "revenue": str(v[0]), "units": str(v[1]),
                  "orders": len(v[2])}
                 for cur in sorted(per_currency, key=lambda c: (c is None, c or ""))
                 for k, cur, v in per_currency[cur][:limit]]
        return {"by": by, "sort": sort, "from": start, "to": end, "currency": currency,
                "items": items}


def date_param(text: str, name: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise Invalid(f"{name} must be a date YYYY-MM-DD, not {text!r}", code="BAD_QUERY",
                      path=name) from None
