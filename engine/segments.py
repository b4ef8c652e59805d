"""The segments reports file an order under: channel, ship-to country, customer tier.

In: the order *as decided* (a decision's `order`, after defaulting) and the rule set's
reference data. Out: `Segmenter(reference).of(order)` -> {"channel", "country", "tier"}, each a
text or None. Raises nothing.

The non-obvious choice: a report reads the decided order, never the order as sent, so an order
whose country was defaulted is filed under that country, and the channel is the rule set's own
spelling of it: the code of the `channels` reference table that matches it case-insensitively
(`WEB`, ` Web ` and `web` are all `web`), or, for a channel the table does not list (or a rule
set without the table), the decided value as the defaulting packs left it. The simulator and
the order hub's reports both segment through here, so they cannot file an order differently.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SEGMENTS = ("channel", "country", "tier")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text or None


class Segmenter:
    __slots__ = ("codes",)

    def __init__(self, reference: Mapping[str, Any] | None = None) -> None:
        self.codes: dict[str, str] = {}
        for row in (reference or {}).get("channels") or ():
            code = _text(row.get("code")) if isinstance(row, dict) else None
            if code is not None:
                self.codes.setdefault(code.casefold(), code)

    def channel(self, value: Any) -> str | None:
        text = _text(value)
        if text is None:
            return None
        return self.codes.get(text.casefold(), text)

    def of(self, order: Mapping[str, Any]) -> dict[str, str | None]:
        """channel, ship_to.country and customer.tier of a decided order (None when absent)."""
        ship_to = order.get("ship_to")
        customer = order.get("customer")
        return {"channel": self.channel(order.get("channel")),
                "country": _text(ship_to.get("country")) if isinstance(ship_to, dict) else None,
                "tier": _text(customer.get("tier")) if isinstance(customer, dict) else None}


__all__ = ["SEGMENTS", "Segmenter"]
