"""The hub's rows from a decision: content hash, order id, the lines and approval tasks to store.

In: the order as sent, the decision (`Evaluated`) and the rule set that made it. Out: the
values the hub stores (an order's content hash, its lines with category, brand and net, the
approval tasks grouped by role and level), and a task's JSON. The non-obvious choice: reports
file an order as decided (after defaulting), never as it was sent; a product's category and
brand come from the rule set's `products` table when the line does not name them.
"""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ordinance.engine.segments import Segmenter

from .models import ApprovalTask
from .store import Invalid, iso
from .store_decisions import Evaluated

REPORT_DIMENSIONS = ("product", "customer", "channel", "country", "category", "brand",
                     "seller", "day")


def text_of(value: Any, limit: int = 200) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).replace("\x00", "")[:limit]


def decimal_of(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    return value


def content_hash(order: dict, as_of: date | None, ruleset: str | None) -> str:
    text = json.dumps({"order": _canonical(order), "as_of": str(as_of) if as_of else None,
                       "ruleset": ruleset}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def order_id_of(order: dict) -> str:
    oid = order.get("id")
    if oid is None:
        raise Invalid("the order hub needs an order id", code="BAD_ORDER", path="$.order.id")
    text = str(oid)
    if "\x00" in text:
        raise Invalid("order id must not hold NUL characters", code="BAD_ORDER",
                      path="$.order.id")
    if not text.strip() or len(text) > 200:
        raise Invalid("order id must be 1 to 200 characters", code="BAD_ORDER",
                      path="$.order.id")
    return text


def field_of(obj: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(p)
    return obj


def customer_of(order: dict) -> str | None:
    c = order.get("customer")
    if isinstance(c, dict):
        return text_of(c.get("id")) or text_of(c.get("name"))
    return text_of(order.get("customer_id")) or text_of(c)


class _RefIndex:
    """`ref.products[sku]` rows: the first row whose first column equals the sku."""

    def __init__(self) -> None:
        self._by_rs: dict[str, dict[str, dict]] = {}

    def products(self, rs: Any) -> dict[str, dict]:
        digest = str(getattr(rs, "digest", ""))
        idx = self._by_rs.get(digest)
        if idx is None:
            idx = {}
            rows = (getattr(rs, "reference", None) or {}).get("products") or []
            for row in rows if isinstance(rows, list) else []:
                if isinstance(row, dict) and row:
                    first = next(iter(row.values()))
                    idx.setdefault(str(first), row)
            self._by_rs[digest] = idx
        return idx


_REFS = _RefIndex()


class _Segmenters:
    """One `Segmenter` per rule-set digest (its channel codes)."""

    def __init__(self) -> None:
        self._by_rs: dict[str, Segmenter] = {}

    def of(self, rs: Any) -> Segmenter:
        digest = str(getattr(rs, "digest", ""))
        seg = self._by_rs.get(digest)
        if seg is None:
            reference = getattr(rs, "reference", None)
            seg = self._by_rs[digest] = Segmenter(reference if isinstance(reference, dict)
                                                  else None)
        return seg


SEGMENTERS = _Segmenters()


def lines_of(rs: Any, ev: Evaluated) -> list[dict[str, Any]]:
    decided = ev.body.get("order") or {}
    lines = decided.get("lines") if isinstance(decided, dict) else None
    pricing = ev.body.get("pricing") or {}
    priced = pricing.get("lines") if isinstance(pricing, dict) else None
    priced = priced if isinstance(priced, list) else []
    products = _REFS.products(rs)
    out = []
    for i, line in enumerate(lines if isinstance(lines, list) else []):
        if not isinstance(line, dict):
            continue
        sku = text_of(line.get("sku"))
        row = products.get(sku or "", {}) if sku else {}
        net = priced[i].get("net") if i < len(priced) and isinstance(priced[i], dict) else None
        out.append({
            "line_no": i, "sku": sku,
            "category": text_of(line.get("category")) or text_of(row.get("category")),
            "brand": text_of(line.get("brand")) or text_of(row.get("brand")),
            "quantity": str(decimal_of(line.get("quantity"))),
            "net": str(decimal_of(net)),
        })
    return out


def tasks_from(ev: Evaluated) -> list[dict[str, Any]]:
    grouped: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()
    for a in ev.body.get("approvals") or []:
        if not isinstance(a, dict):
            continue
        try:
            level = int(a.get("level", 1))
        except (TypeError, ValueError):
            level = 1
        key = (str(a.get("role")), level)
        g = grouped.setdefault(key, {"role": key[0], "level": level, "reasons": [],
                                     "rules": []})
        if a.get("reason") and str(a["reason"]) not in g["reasons"]:
            g["reasons"].append(str(a["reason"]))
        if a.get("rule") and str(a["rule"]) not in g["rules"]:
            g["rules"].append(str(a["rule"]))
    return list(grouped.values())


def task_json(t: ApprovalTask) -> dict[str, Any]:
    return {
        "id": t.id, "order_id": t.order_id, "order_version": t.order_version,
        "role": t.role, "level": t.level, "reason": t.reason,
        "rules": [r for r in t.rules.split(" ") if r], "state": t.state,
        "created_at": iso(t.created_at), "acted_by": t.acted_by, "acted_at": iso(t.acted_at),
        "comment": t.comment,
    }
