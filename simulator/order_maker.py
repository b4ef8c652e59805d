"""One synthetic order at a time: what a customer of the catalogue would plausibly send.

In: a `Catalogue` (simulator/catalogue.py), the stream's `random.Random`, an order id and time.
Out: an order as a plain dict (text, ints, bools, money as decimal strings); `spoil` turns it
into one of the DEFECTS a real order book sees. Raises nothing for a well-formed catalogue.

The non-obvious choice: every draw goes through the one generator handed in, in a fixed order,
so the same seed gives the same orders on any machine; nothing reads the clock or the global
`random`.
"""
from __future__ import annotations

import bisect
import datetime
import random
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .catalogue import Catalogue

CHANNELS = ("web", "store", "call-centre", "edi", "field-sales")
DEFECTS = ("missing_field", "bad_quantity", "unknown_sku", "embargoed_destination",
           "listed_party", "past_date", "bad_currency")

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
