"""Synthetic order streams consistent with a rule set's reference data.

    catalogue = load_catalogue("rulesets/acme")
    for order in generate_orders(catalogue, count=1000, seed=7):
        ...
    write_jsonl(generate_orders(catalogue, 10**6, seed=7), sys.stdout, total=10**6)

In: a rule-set directory whose reference tables follow the ACME layout (customers.csv,
products.csv, prices.csv, promotions.csv, channels.csv, locations.csv, denied_parties.csv,
embargoed.yaml; see docs/rulesets.md), a count, a seed and the share of bad orders.
Out: an iterator of orders (plain dicts: text, ints, bools, money as decimal strings) in
order-date order, or JSONL bytes. Raises `CatalogueError` for a directory without those tables.

The choices that matter:
- One `random.Random(seed)` drives every draw, in a fixed order, so the same seed gives the
  same bytes on any machine; nothing reads the clock or the global `random`.
- Constant memory: orders are generated one day at a time. The count is first spread over the
  days by their weight (season, weekday, peak days) with largest-remainder rounding, then each
  day's orders get ascending times, so the stream is in date order without sorting it.
- Skew: customers and products are drawn with Zipf-like weights (rank ** -s): the top-tier
  accounts and a few best-selling products dominate, as they do in real order books.
- Money never passes through float: list prices are read as `Decimal` and written as text;
  quantities are ints (or a decimal string, for the bad orders that test fractional quantities).
"""
from __future__ import annotations

import bisect
import csv
import datetime
import hashlib
import itertools
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, TextIO

import yaml

CHANNELS = ("web", "store", "call-centre", "edi", "field-sales")
DEFECTS = ("missing_field", "bad_quantity", "unknown_sku", "embargoed_destination",
           "listed_party", "past_date", "bad_currency")

# Peak days (a multiplier of the day's weight): Black Friday, Cyber Monday, the days before
# Christmas, the last working days of each quarter when B2B buyers spend their budgets.
PEAKS = {(11, 27): 5.0, (11, 28): 2.5, (11, 30): 4.0, (12, 1): 1.8, (12, 14): 1.6,
         (12, 15): 1.6, (3, 30): 1.5, (6, 29): 1.5, (9, 29): 1.5, (12, 28): 1.3}
MONTH_WEIGHT = {1: 0.85, 2: 0.9, 3: 1.05, 4: 1.0, 5: 1.0, 6: 1.0, 7: 0.85, 8: 0.8, 9: 1.05,
                10: 1.1, 11: 1.35, 12: 1.2}
WEEKDAY_WEIGHT = (1.15, 1.15, 1.1, 1.1, 1.0, 0.45, 0.35)  # Monday .. Sunday

FIRST_NAMES = ["Anna", "Ben", "Carla", "David", "Elena", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Klara", "Liam", "Maria", "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Samuel", "Tara", "Umar", "Vera", "William", "Yuki", "Zofia", "Hiro", "Lena", "Mateo", "Sofia", "Lukas", "Emma", "Oskar", "Chloe", "Ravi", "Aiko", "Marta", "Tomasz", "Ingrid", "Pierre"]
LAST_NAMES = ["Smith", "Johnson", "Garcia", "Miller", "Schmidt", "Muller", "Dubois", "Martin", "Rossi", "Bianchi", "Lopez", "Fernandez", "Kowalski", "Nowak", "Andersson", "Nilsson", "Tanaka", "Suzuki", "Brown", "Wilson", "Taylor", "Fischer", "Weber", "Moreau", "Laurent", "Romano", "Sanchez", "Wisniewski", "Lindberg", "Sato", "Clarke", "Walker", "Hughes", "Becker", "Petit", "Ricci", "Torres", "Lewandowski", "Berg", "Kato"]
STREETS = ("Main Street", "High Street", "Station Road", "Church Lane", "Park Avenue",
           "Mill Road", "Bahnhofstrasse", "Rue de la Gare", "Via Roma", "Calle Mayor",
           "Ulica Polna", "Storgatan", "Kirchweg", "Chuo-dori")
GUEST_PLACES = {  # country: [(city, state, postal prefix)] for guests
    "US": [("Chicago", "IL", "606"), ("Houston", "TX", "770"), ("Phoenix", "AZ", "850"),
           ("Brooklyn", "NY", "112"), ("San Diego", "CA", "921"), ("Seattle", "WA", "981"),
           ("Miami", "FL", "331"), ("Denver", "CO", "802"), ("Columbus", "OH", "432")],
    "CA": [("Toronto", "ON", "M5V"), ("Montreal", "QC", "H2X"), ("Vancouver", "BC", "V6B"),
           ("Calgary", "AB", "T2P")],
    "GB": [("London", None, "SW1A"), ("Leeds", None, "LS1"), ("Bristol", None, "BS1")],
    "DE": [("Berlin", None, "10"), ("Munich", None, "80"), ("Hamburg", None, "20")],
    "FR": [("Paris", None, "75"), ("Lyon", None, "69")],
    "NL": [("Utrecht", None, "35"), ("Rotterdam", None, "30")],
    "IT": [("Milan", None, "20"), ("Rome", None, "00")],
    "ES": [("Madrid", None, "28"), ("Seville", None, "41")],
    "PL": [("Warsaw", None, "00"), ("Gdansk", None, "80")],
    "SE": [("Stockholm", None, "11"), ("Uppsala", None, "75")],
    "CH": [("Zurich", None, "80"), ("Bern", None, "30")],
    "JP": [("Tokyo", None, "100"), ("Sapporo", None, "060")],
}
GUEST_COUNTRY_WEIGHTS = {"US": 40, "GB": 12, "DE": 14, "FR": 7, "NL": 4, "IT": 4, "ES": 4,
                         "PL": 3, "SE": 2, "CH": 2, "CA": 5, "JP": 3}
STORE_COUNTRY = {"US": ("IL", "Chicago", "60607"), "GB": (None, "London", "EC1A 1BB"),
                 "DE": (None, "Berlin", "10115")}
# Payment methods a well-behaved web guest picks, by country (what the rule set offers there).
GUEST_METHODS = {
    "default": (("card", 70), ("paypal", 30)),
    "DE": (("card", 45), ("paypal", 30), ("bank-transfer", 15), ("cod", 10)),
    "PL": (("card", 60), ("bank-transfer", 25), ("cod", 15)),
    "IT": (("card", 60), ("paypal", 25), ("cod", 15)),
    "ES": (("card", 60), ("paypal", 25), ("cod", 15)),
    "FR": (("card", 70), ("paypal", 20), ("bank-transfer", 10)),
    "NL": (("card", 50), ("paypal", 20), ("bank-transfer", 30)),
    "JP": (("card", 80), ("cod", 20)),
    "US": (("card", 75), ("paypal", 25)),
    "CA": (("card", 75), ("paypal", 25)),
}
MIN_ORDER_USD = {"web": 25, "store": 0, "call-centre": 50, "edi": 250, "field-sales": 500}
COD_CEILING_USD = 1000
CURRENCY_OF = {"US": "USD", "CA": "CAD", "GB": "GBP", "CH": "CHF", "SE": "SEK", "PL": "PLN",
               "JP": "JPY"}


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


def day_counts(count: int, start: datetime.date, days: int) -> list[int]:
    """Spreads `count` orders over `days` days by season, weekday and peak-day weights."""
    weights = []
    for i in range(days):
        d = start + datetime.timedelta(days=i)
        w = MONTH_WEIGHT[d.month] * WEEKDAY_WEIGHT[d.weekday()] * PEAKS.get((d.month, d.day), 1.0)
        weights.append(Decimal(str(w)))
    total = sum(weights)
    exact = [count * w / total for w in weights]
    counts = [int(x) for x in exact]
    remainders = sorted(range(days), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in remainders[: count - sum(counts)]:
        counts[i] += 1
    return counts


def generate_orders(catalogue: Catalogue, count: int, seed: int,
                    bad_share: Decimal | float | str = Decimal("0.05"),
                    start: datetime.date = datetime.date(2026, 1, 1),
                    days: int = 365) -> Iterator[dict[str, Any]]:
    """Yields `count` orders in order-date order. See `generate_labelled` for the defects."""
    for order, _defect in generate_labelled(catalogue, count, seed, bad_share, start, days):
        yield order


def generate_labelled(catalogue: Catalogue, count: int, seed: int,
                      bad_share: Decimal | float | str = Decimal("0.05"),
                      start: datetime.date = datetime.date(2026, 1, 1),
                      days: int = 365) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Yields (order, defect): defect is None for a well-formed order, else one of DEFECTS."""
    if count < 0:
        raise ValueError("count must not be negative")
    share = Decimal(str(bad_share))
    if not Decimal(0) <= share <= Decimal(1):
        raise ValueError("bad share must be between 0 and 1")
    rng = random.Random(seed)
    maker = _OrderMaker(catalogue, rng)
    bad_per_million = int(share * 1_000_000)
    n = 0
    for day_index, k in enumerate(day_counts(count, start, days)):
        day = start + datetime.timedelta(days=day_index)
        for j in range(k):
            n += 1
            seconds = int((j + rng.random()) * 86400 / k)
            stamp = datetime.datetime.combine(day, datetime.time()) + datetime.timedelta(seconds=seconds)
            order = maker.order(f"SO-{n:08d}", stamp)
            defect = None
            if rng.randrange(1_000_000) < bad_per_million:
                defect = rng.choice(DEFECTS)
                maker.spoil(order, defect)
            yield order, defect


class _OrderMaker:
    """Builds one order at a time from the catalogue; holds only the random generator."""

    def __init__(self, cat: Catalogue, rng: random.Random) -> None:
        self.cat = cat
        self.rng = rng

    # -- picks ---------------------------------------------------------------------------------
    def _customer(self) -> dict[str, str]:
        x = self.rng.random() * self.cat.customer_cum[-1]
        return self.cat.customers[bisect.bisect_left(self.cat.customer_cum, x)]

    def _product(self) -> dict[str, str]:
        x = self.rng.random() * self.cat.product_cum[-1]
        return self.cat.products[bisect.bisect_left(self.cat.product_cum, x)]

    def _weighted(self, pairs: Iterable[tuple[str, int]]) -> str:
        items = list(pairs)
        return self.rng.choices([a for a, _ in items], [w for _, w in items])[0]

    def _quantity(self, product: dict[str, str], b2b: bool) -> int:
        r = self.rng
        cat = product["category"]
        if cat in ("machinery",):
            return 1
        if cat in ("computing", "instruments"):
            return r.randint(1, 4 if b2b else 1)
        if cat == "services":
            return r.randint(1, 5) if b2b else 1
        if cat in ("fasteners", "janitorial"):
            if b2b and r.random() < 0.15:
                return r.randint(100, 600) if cat == "fasteners" else r.randint(20, 150)
            return r.randint(1, 40 if b2b else 4)
        if cat in ("consumer", "power-tools", "hand-tools"):
            return r.randint(1, 12 if b2b else 3)
        return r.randint(1, 50 if b2b else 3)

    # -- an order ------------------------------------------------------------------------------
    def order(self, order_id: str, stamp: datetime.datetime) -> dict[str, Any]:
        r = self.rng
        guest = r.random() < 0.22
        order: dict[str, Any] = {"id": order_id, "order_date": stamp.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if guest:
            country = self._weighted(GUEST_COUNTRY_WEIGHTS.items())
            channel = "store" if country in self.cat.stores and r.random() < 0.35 else "web"
            name = f"{r.choice(FIRST_NAMES)} {r.choice(LAST_NAMES)}"
            order["channel"] = channel
            order["customer"] = {"name": name}
            if channel == "web":
                order["customer"]["email"] = f"{name.lower().replace(' ', '.')}{r.randint(1, 999)}@example.com"
            order["ship_to"] = self._guest_address(country, name)
            b2b = False
            account = None
        else:
            account = self._customer()
            country = account["country"]
            channel = account["channel"] if r.random() < 0.75 else r.choice(("web", "call-centre", "edi", "field-sales"))
            if channel == "store" and country not in self.cat.stores:
                channel = "call-centre"
            order["channel"] = channel if r.random() < 0.9 else channel.upper()
            order["customer"] = {"id": account["id"]}
            b2b = True
            if r.random() < 0.15:
                order["ship_to"] = {"name": f"{account['name']} - site {r.randint(2, 9)}",
                                    "street": f"{r.randint(1, 400)} {r.choice(STREETS)}",
                                    "city": account["city"], "postal": account["postal"],
                                    "country": country}
                if account["state"]:
                    order["ship_to"]["state"] = account["state"]
        if channel == "store":
            store = self.cat.stores[country]
            state, city, postal = STORE_COUNTRY.get(country, (None, "", ""))
            order["store"] = store
            buyer = account["name"] if account else order["customer"]["name"]
            order["ship_to"] = {"name": buyer, "street": "Store pick-up", "city": city, "postal": postal, "country": country}
            if state:
                order["ship_to"]["state"] = state
        if channel == "edi" or b2b and r.random() < 0.4:
            order["customer_po"] = f"PO{r.randint(100000, 999999)}"
        currency = (account["currency"] if account and account["currency"] else CURRENCY_OF.get(country, "EUR"))
        order["lines"] = self._lines(b2b, channel, country, currency, account)
        self._payment(order, channel, country, guest, account)
        self._extras(order, channel, b2b, stamp.date())
        return order

    def _guest_address(self, country: str, name: str) -> dict[str, Any]:
        r = self.rng
        city, state, prefix = r.choice(GUEST_PLACES[country])
        if country == "US":
            postal = f"{prefix}{r.randint(0, 99):02d}"
        elif country == "CA":
            postal = f"{prefix} {r.randint(1, 9)}A{r.randint(1, 9)}"
        elif country == "GB":
            postal = f"{prefix} {r.randint(1, 9)}AA"
        elif country == "JP":
            postal = f"{prefix}-{r.randint(1000, 9999)}"
        else:
            postal = f"{prefix}{r.randint(100, 999)}"
        addr: dict[str, Any] = {"name": name, "street": f"{r.randint(1, 250)} {r.choice(STREETS)}",
                                "city": city, "postal": postal, "country": country}
        if state:
            addr["state"] = state
        return addr

    def _lines(self, b2b: bool, channel: str, country: str, currency: str,
               account: dict[str, str] | None) -> list[dict[str, Any]]:
        r = self.rng
        if channel == "edi":
            n = min(20, 1 + int(r.expovariate(1 / 5)))
        elif b2b:
            n = min(20, 1 + int(r.expovariate(1 / 3)))
        else:
            n = min(20, 1 + int(r.expovariate(1 / 1.2)))
        lines: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(n * 3):
            if len(lines) == n:
                break
            p = self._product()
            if p["sku"] in seen or (p["category"] == "services" and not b2b):
                continue
            if channel == "store" and p["category"] not in ("hand-tools", "power-tools", "safety", "consumer", "lighting", "fasteners"):
                continue
            if p["category"] in ("machinery", "computing") and not b2b:
                continue
            if p["eccn"] not in ("EAR99", "5A992.c", "5D992.c") and r.random() < 0.7:
                continue  # controlled goods are rarer in real order books than in the catalogue
            seen.add(p["sku"])
            line: dict[str, Any] = {"id": str(len(lines) + 1), "sku": p["sku"], "quantity": self._quantity(p, b2b)}
            if r.random() < 0.1:
                line["uom"] = p["uom"].lower() if r.random() < 0.3 else p["uom"]
            if p["uom"] in ("BX", "CS") and r.random() < 0.05:
                line["uom"] = "EA"
                line["quantity"] = line["quantity"] * int(p["pack_size"])
            if channel == "field-sales" and r.random() < 0.03 and currency in self.cat.prices.get(p["sku"], {}):
                # A rep's quoted net unit price, in the order's currency, as a decimal string.
                listp = Decimal(self.cat.prices[p["sku"]][currency])
                places = Decimal(1) if currency == "JPY" else Decimal("0.01")
                line["unit_price"] = str((listp * Decimal(r.randint(80, 95)) / 100).quantize(places, ROUND_HALF_UP))
            lines.append(line)
        if not lines:  # every draw was filtered: fall back to the best seller
            p = self.cat.products[0]
            lines.append({"id": "1", "sku": p["sku"], "quantity": 1})
        # Reach the channel's minimum order value (list value in USD), as buyers do.
        need = Decimal(MIN_ORDER_USD.get(channel, 0))
        value = self._usd_value(lines)
        first = lines[0]
        unit = self.cat.usd_price.get(first["sku"], Decimal(0)) / (Decimal(_pack(self.cat, first)) if first.get("uom") == "EA" else 1)
        if value < need and unit > 0:
            extra = int((need - value) / unit) + 1
            first["quantity"] = first["quantity"] + extra * (_pack(self.cat, first) if first.get("uom") == "EA" else 1)
        return lines

    def _usd_value(self, lines: list[dict[str, Any]]) -> Decimal:
        total = Decimal(0)
        for line in lines:
            q = Decimal(line["quantity"])
            if line.get("uom") == "EA":
                q = q / _pack(self.cat, line)
            total += q * self.cat.usd_price.get(line["sku"], Decimal(0))
        return total

    def _payment(self, order: dict[str, Any], channel: str, country: str, guest: bool,
                 account: dict[str, str] | None) -> None:
        r = self.rng
        if channel == "store":
            method = "card"
        elif guest:
            method = self._weighted(GUEST_METHODS.get(country, GUEST_METHODS["default"]))
            if method == "cod" and self._usd_value(order["lines"]) > COD_CEILING_USD:
                method = "card"
        elif channel in ("edi", "field-sales"):
            method = None if r.random() < 0.8 else "invoice"
        elif channel == "web":
            method = r.choice(("card", "invoice", "invoice")) if country != "JP" else "invoice"
        else:
            method = r.choice(("card", "invoice"))
        if method:
            order["payment"] = {"method": method}

    def _extras(self, order: dict[str, Any], channel: str, b2b: bool, day: datetime.date) -> None:
        r = self.rng
        attributes: dict[str, Any] = {}
        hazmat_or_store = channel == "store"
        if not hazmat_or_store:
            x = r.random()
            if x < 0.06 and not self._has_hazmat(order):
                order["shipping"] = {"service": "express"}
            elif x < 0.11:
                order["shipping"] = {"service": "economy"}
        if r.random() < 0.12:
            order["requested_date"] = (day + datetime.timedelta(days=r.randint(2, 40))).isoformat()
        if b2b and r.random() < 0.05:
            order["ship_complete"] = True
        if channel == "web" and r.random() < 0.08:
            live = [p for p in self.cat.promotions if p["from"] <= day.isoformat() <= p["until"]]
            pool = live or list(self.cat.promotions)
            if pool:
                attributes["promo_code"] = r.choice(pool)["code"]
        if channel == "field-sales" and r.random() < 0.15:
            attributes["manual_discount"] = r.randint(2, 20)
        elif channel == "call-centre" and r.random() < 0.05:
            attributes["manual_discount"] = r.randint(2, 8)
        if any(ln["sku"].startswith("CHM") for ln in order["lines"]) and r.random() < 0.9:
            attributes["end_user_statement"] = True
        if b2b and r.random() < 0.01:
            attributes["end_use"] = "military"
        if attributes:
            order["attributes"] = attributes

    def _has_hazmat(self, order: dict[str, Any]) -> bool:
        return any(ln["sku"] in self.cat.hazmat for ln in order["lines"])

    # -- defects -------------------------------------------------------------------------------
    def spoil(self, order: dict[str, Any], defect: str) -> None:
        r = self.rng
        lines = order["lines"]
        line = lines[r.randrange(len(lines))]
        if defect == "missing_field":
            what = r.choice(("customer", "sku", "lines", "country"))
            if what == "customer":
                order.pop("customer", None)
            elif what == "sku":
                line.pop("sku", None)
            elif what == "lines":
                order["lines"] = []
            else:
                order["customer"] = {"name": order.get("ship_to", {}).get("name") or "Guest Buyer",
                                     "email": "guest@example.com"}
                order["ship_to"] = {k: v for k, v in order.get("ship_to", {"street": "1 Main Street", "city": "Springfield"}).items()
                                    if k != "country"}
                order["channel"] = "web"
        elif defect == "bad_quantity":
            line["quantity"] = r.choice((0, -1, -5, "2.5", 50000))
        elif defect == "unknown_sku":
            line["sku"] = r.choice(("XXX-9999", "FAS-9999", "WIDGET")) if r.random() < 0.7 or not self.cat.discontinued \
                else r.choice(self.cat.discontinued)
        elif defect == "embargoed_destination":
            country = r.choice(self.cat.embargoed)
            order["ship_to"] = {"name": order.get("ship_to", {}).get("name", "Consignee"),
                                "street": "1 Harbour Road", "city": {"CU": "Havana", "IR": "Tehran", "KP": "Pyongyang"}.get(country, "Capital"),
                                "postal": "", "country": country}
            if r.random() < 0.3:
                order["ship_to"].update({"country": "UA", "city": "Simferopol", "subdivision": "UA-43"})
        elif defect == "listed_party":
            name = r.choice(self.cat.denied_names)
            if r.random() < 0.5:
                name = name.title()
            if "id" in order.get("customer", {}) and r.random() < 0.7:
                order.setdefault("ship_to", {})
                order["ship_to"] = dict(order["ship_to"], name=name, street="12 Free Zone Road", city="Dubai")
                order["ship_to"].setdefault("country", "AE")
                order["ship_to"]["country"] = "AE"
                order["ship_to"].pop("state", None)
            else:
                order["customer"] = {"name": name, "email": "buyer@example.net"}
                order["channel"] = "web"
        elif defect == "past_date":
            when = datetime.date.fromisoformat(order["order_date"][:10])
            order["requested_date"] = (when - datetime.timedelta(days=r.randint(1, 60))).isoformat()
        elif defect == "bad_currency":
            order["currency"] = r.choice(("XYZ", "BRL", "eur4", "RUB"))


def _pack(cat: Catalogue, line: dict[str, Any]) -> int:
    return cat.pack_size.get(line["sku"], 1)


def dumps_order(order: dict[str, Any]) -> str:
    """One JSONL line: compact, keys in insertion order, money already text."""
    return json.dumps(order, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # never a float
    raise TypeError(f"cannot write {type(value).__name__} in an order")


def write_jsonl(orders: Iterable[dict[str, Any]], out: TextIO, total: int | None = None,
                progress: bool = False, progress_file: TextIO | None = None) -> int:
    """Writes one order per line; returns how many. A rich progress bar goes to
    `progress_file` (stderr) when `progress` is true."""
    n = 0
    if not progress:
        for order in orders:
            out.write(dumps_order(order))
            out.write("\n")
            n += 1
        return n
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(file=progress_file, stderr=progress_file is None)
    with Progress(TextColumn("generating orders"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=False) as bar:
        task = bar.add_task("orders", total=total)
        for order in orders:
            out.write(dumps_order(order))
            out.write("\n")
            n += 1
            if n % 1000 == 0:
                bar.update(task, completed=n)
        bar.update(task, completed=n)
    return n
