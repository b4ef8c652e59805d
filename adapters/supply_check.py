"""Check availability's alternatives from stored supply (POST /v1/availability): read only.

In: a reading session, the rule set, a decision body, one line of its promise (from
adapters/supply_reserve.py with reserve=False). Out: the line's ranked alternatives as JSON
(engine/promising/alternatives.py ranks them): the whole line from another location, a split,
the whole line on a later date, a substitute item from the rule set's `substitutes` table
(`sku, substitute, quantity, note`: `quantity` of the substitute replace one of the SKU).
Other locations are every location of the rule set with a route to the customer's region,
nearest first (at most MAX_SITES).
"""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from ordinance.engine.promising.alternatives import alternatives
from ordinance.engine.promising.reference import ReferenceError
from ordinance.engine.promising.reserve import LinePromise, Placed
from ordinance.engine.promising.substitutes import substitutes

from .store import Conflict

from .supply_reserve import build_tables, candidates, region_of, sites_of

MAX_SITES = 20
MAX_SUBSTITUTES = 5


def substitutes_of(rs: Any, sku: str) -> list[tuple[str, Decimal]]:
    """The SKU's substitutes; a bad `substitutes` table is a 409 naming its row."""
    ref = getattr(rs, "reference", None) or {}
    products = {str(r.get("sku")) for r in ref.get("products") or [] if isinstance(r, dict)}
    try:
        table = substitutes(ref.get("substitutes"), products or None)
    except ReferenceError as exc:
        raise Conflict(f"reference/{exc}", code="BAD_REFERENCE") from None
    return list(table.get(sku, ()))[:MAX_SUBSTITUTES]


def _as_promise(line: dict[str, Any]) -> LinePromise:
    parts = tuple(Placed(p["location"], Decimal(p["quantity"]), None,
                         datetime.date.fromisoformat(p["ship_date"]),
                         datetime.date.fromisoformat(p["arrival_date"])
                         if p["arrival_date"] else None, p["from"]) for p in line["parts"])
    return LinePromise(line["sku"], Decimal(line["quantity"]), parts, Decimal(line["short"]))


def line_alternatives(s: Any, is_sqlite: bool, rs: Any, decision: dict[str, Any],
                      line: dict[str, Any], as_of: datetime.date,
                      at: datetime.datetime) -> list[dict[str, Any]]:
    network = rs.network
    region = region_of(decision)
    src = decision.get("sourcing") if isinstance(decision.get("sourcing"), dict) else {}
    sl = next((x for x in src.get("lines") or [] if isinstance(x, dict)
               and str(x.get("line_id")) == line["line_id"]), {})
    cands = line.get("candidates") or candidates(sl)  # the source action's, ranked
    others = [loc for loc, _ in network.ranking(tuple(network.locations), region, "nearest")
              ][:MAX_SITES] if region is not None else []
    sku = line["sku"]
    subs = substitutes_of(rs, sku)
    locs = list(dict.fromkeys([*cands, *others]))
    pairs = [(loc, k) for loc in locs for k in (sku, *(x for x, _ in subs))]
    built = build_tables(s, is_sqlite, rs, pairs, as_of, at, lock=False)
    tables: dict[str, dict[str, Any]] = {}
    for (loc, k), t in built.items():
        tables.setdefault(k, {})[loc] = t
    alts = alternatives(tables, sku, Decimal(line["quantity"]), _as_promise(line),
                        sites_of(network, cands, region), sites_of(network, others, region),
                        subs, as_of, rs.network.promising.rule.split)
    return [{"kind": a.kind, "sku": a.sku, "quantity": format(a.quantity, "f"),
             "note": a.note, "promised": format(a.quantity - a.promise.short, "f"),
             "short": format(a.promise.short, "f"),
             "ship_date": a.promise.ship_date.isoformat() if a.promise.ship_date else None,
             "arrival_date": a.promise.arrival_date.isoformat()
             if a.promise.arrival_date else None,
             "parts": [{"location": p.location, "quantity": format(p.quantity, "f"),
                        "ship_date": p.ship_date.isoformat(), "from": p.source}
                       for p in a.promise.parts]} for a in alts]
