"""The catalogue an order stream is drawn from: a rule set's reference tables, read once.

In: a rule-set directory whose reference tables follow the ACME layout (customers.csv,
products.csv, prices.csv, promotions.csv, locations.csv, denied_parties.csv, embargoed.yaml;
see docs/rulesets.md). Out: a frozen `Catalogue` (customers and orderable products in rank
order with their cumulative Zipf weights, prices, promotions, denied names, stores, pack sizes).
Raises `CatalogueError` for a directory without those tables.

The non-obvious choice: ranks come from the tier, then a stable hash of the id (never the
file's order or Python's `hash`), so the same seed draws the same customers on any machine.
"""
from __future__ import annotations

import csv
import hashlib
import itertools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml


class CatalogueError(Exception):
    """The rule set lacks a reference table the generator needs."""


@dataclass(frozen=True)
class Catalogue:
    """What the generator draws from, read once from a rule set's reference directory."""

    customers: tuple[dict[str, str], ...]      # in rank order (top accounts first)
    customer_cum: tuple[float, ...]             # cumulative Zipf weights over customers
    products: tuple[dict[str, str], ...]        # orderable products, in rank order
    product_cum: tuple[float, ...]
    usd_price: dict[str, Decimal]
    prices: dict[str, dict[str, str]]
    promotions: tuple[dict[str, str], ...]
    denied_names: tuple[str, ...]
    embargoed: tuple[str, ...]
    stores: dict[str, str]                      # country -> store location id
    discontinued: tuple[str, ...]
    pack_size: dict[str, int]
    hazmat: frozenset[str]


def _zipf_cum(n: int, s: float) -> tuple[float, ...]:
    # Weights are computed, never drawn: floats here only shape the skew and are the same
    # on every IEEE-754 machine, so determinism holds.
    return tuple(itertools.accumulate(1.0 / (rank ** s) for rank in range(1, n + 1)))


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise CatalogueError(f"{path} is missing: the generator needs the ACME reference tables")
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def load_catalogue(ruleset: str | Path) -> Catalogue:
    ref = Path(ruleset) / "reference"
    customers = _read_csv(ref / "customers.csv")
    tier_rank = {"platinum": 0, "gold": 1, "silver": 2, "bronze": 3, "standard": 4}
    # Top tiers first; within a tier a stable hash of the id mixes countries and segments.
    customers.sort(key=lambda c: (tier_rank.get(c["tier"], 5), _stable(c["id"])))
    products = _read_csv(ref / "products.csv")
    prices = {p["sku"]: p for p in _read_csv(ref / "prices.csv")}
    orderable = [p for p in products if p["status"] == "active" and p["sku"] in prices]
    orderable.sort(key=lambda p: _stable(p["sku"]))
    embargoed_path = ref / "embargoed.yaml"
    embargoed = tuple(yaml.safe_load(embargoed_path.read_text(encoding="utf-8")) or ()) \
        if embargoed_path.exists() else ("CU", "IR", "KP")
    stores = {}
    for loc in _read_csv(ref / "locations.csv"):
        if loc["type"] == "store":
            stores.setdefault(loc["country"], loc["id"])
    return Catalogue(
        customers=tuple(customers),
        customer_cum=_zipf_cum(len(customers), 0.95),
        products=tuple(orderable),
        product_cum=_zipf_cum(len(orderable), 0.9),
        usd_price={sku: Decimal(p["USD"]) for sku, p in prices.items() if p.get("USD")},
        prices=prices,
        promotions=tuple(_read_csv(ref / "promotions.csv")),
        denied_names=tuple(r["name"] for r in _read_csv(ref / "denied_parties.csv")),
        embargoed=embargoed,
        stores=stores,
        discontinued=tuple(p["sku"] for p in products if p["status"] != "active"),
        pack_size={p["sku"]: int(p["pack_size"] or 1) for p in products},
        hazmat=frozenset(p["sku"] for p in products if p.get("hazmat") == "Y"),
    )


def _stable(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
