#!/usr/bin/env python3
"""The hand-written twin of bench/engine.py's synthetic rule set (issue 16).

The same policy as the 104 rules `synthetic_ruleset()` writes (six phases: defaulting,
validation, compliance, pricing, sourcing, approval), written the way a careful engineer would
write it by hand in plain Python: dicts, exact Decimal money rounded half up to the currency's
minor unit, the reference CSVs read once, a dict dispatch where the rules test one field
against constants (volume tiers by segment, promotions by category, sourcing by country), the
product looked up once per line, and the decision written through msgspec (a C encoder). Its
output is meant to be byte-identical to `ordinance eval --orders` on the same rule set; the
check is bench/engine_vs_twin.py (sha256 of both streams).

What it does not do (the engine does): locate errors in rule packs, check an order's shape
beyond what JSON gives, keep a budget. Screening is a word-overlap filter with rapidfuzz on
the names that share a word (the engine's scorer differs in detail; no generated customer
shares a word with a denied name, so the stream never reaches it).

usage: python bench/twin_bench.py RULESET_DIR IN.jsonl OUT.jsonl --as-of YYYY-MM-DD
"""
from __future__ import annotations

import csv
import datetime
import hashlib
import json
import re
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import msgspec

D = Decimal
ZERO = D(0)
HUNDRED = D(100)
CENT = D("0.01")
PLACES = {"JPY": 0}  # ISO 4217 minor units of the currencies the rule set uses; else 2
EXPONENT = [D(1).scaleb(-p) for p in range(9)]
ZEROS = [D(0).scaleb(-p) for p in range(9)]
NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)$")
COUNTRIES = ["DE", "FR", "US", "GB", "JP", "NL", "IT", "ES"]

# the volume table (pricing/volume, hit first), by segment: (minimum quantity, percent) in row
# order; a segment in no row, or a quantity under every row, gets the last row's 0
VOLUME_ROWS = [(500, "wholesale", 12), (200, "wholesale", 9), (100, "wholesale", 6),
               (500, "distributor", 14), (200, "distributor", 10), (100, "distributor", 7),
               (500, "education", 8), (100, "education", 5), (500, "government", 6),
               (100, "government", 4), (1000, "retail", 5), (500, "retail", 3),
               (50, "wholesale", 3), (50, "distributor", 4), (50, "education", 2),
               (50, "government", 2), (200, "retail", 2), (100, "retail", 1),
               (20, "wholesale", 1)]
VOLUME: dict[str, list[tuple[Decimal, Decimal]]] = {}
for _q, _s, _p in VOLUME_ROWS:
    VOLUME.setdefault(_s, []).append((D(_q), D(_p)))
VOLUME_ZERO = D(0)

# promotions promo-0 .. promo-34: category cat{i % 12}, quantity >= 10 + i, 0.{i + 10} a unit
PROMOS: dict[str, list[tuple[int, Decimal, Decimal, str, str]]] = {}
for _i in range(35):
    PROMOS.setdefault(f"cat{_i % 12}", []).append(
        (_i, D(10 + _i), D(f"0.{_i + 10}"), f"promo {_i}", f"pricing/promo-{_i}"))
BIG = [(i, D(1000 + i * 100), f"cat{i}") for i in range(17)]
LICENCE = [(i, c) for i, c in enumerate(["JP", "GB"] * 4)]


def cell(text: str) -> Any:
    if text == "":
        return None
    if NUMBER.match(text.strip()):
        return D(text.strip())
    return text


def read_table(path: Path) -> list[dict[str, Any]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = [h.strip() for h in next(rows)]
        return [{h: cell(r[i]) if i < len(r) else None for i, h in enumerate(header)}
                for r in rows if r]


def digest_of(root: Path) -> str:
    h = hashlib.sha256()
    files = sorted((p.relative_to(root).as_posix(), p) for p in root.rglob("*")
                   if p.is_file() and not any(part.startswith(".") for part in
                                              p.relative_to(root).parts)
                   and p.relative_to(root).parts[0] not in ("tests", "__pycache__"))
    for rel, p in files:
        data = p.read_bytes()
        h.update(rel.encode() + b"\n" + str(len(data)).encode() + b"\n" + data)
    return "sha256:" + h.hexdigest()


def fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


class Twin:
    def __init__(self, root: Path):
        ref = root / "reference"
        self.ruleset = {"name": "bench", "version": "1", "digest": digest_of(root)}
        self.products = {r["sku"]: r for r in read_table(ref / "products.csv")}
        self.customers = {r["id"]: r for r in read_table(ref / "customers.csv")}
        self.countries = {r["code"]: r for r in read_table(ref / "countries.csv")}
        self.embargoed = {"CU", "IR", "KP", "SY"}
        self.denied: list[str] = []
        for r in read_table(ref / "denied.csv"):
            self.denied += [fold(str(r["name"]))] + [fold(a) for a in
                                                      str(r["aliases"] or "").split(";") if a]
        self.denied_words = {w for n in self.denied for w in n.split()}
        self.screened: dict[str, Decimal] = {}
        self.handling = {r["id"]: datetime.timedelta(days=int(r["handling_days"]))
                         for r in read_table(ref / "locations.csv")}
        lanes = {(r["from"], r["to"]): r["transit_days"] for r in read_table(ref / "lanes.csv")}
        self.on_hand: dict[tuple[str, str], Decimal] = {}
        for r in read_table(ref / "inventory.csv"):
            key = (r["location"], r["sku"])
            self.on_hand[key] = self.on_hand.get(key, ZERO) + r["on_hand"]
        # sourcing/src-{c}: from WH-c then the others, nearest first (ties: the listed order)
        self.routes: dict[str, list[tuple[str, datetime.timedelta, datetime.timedelta]]] = {}
        for c in COUNTRIES:
            region = self.countries[c]["region"]
            cands = [f"WH-{c}"] + [f"WH-{x}" for x in COUNTRIES if x != c]
            ranked = sorted(((lanes[(loc, region)], pos, loc) for pos, loc in enumerate(cands)
                             if (loc, region) in lanes))
            self.routes[c] = [(loc, self.handling.get(loc, datetime.timedelta(0)),
                               datetime.timedelta(days=int(days))) for days, _, loc in ranked]
        self.encoder = msgspec.json.Encoder(decimal_format="number")

    def screen(self, name: Any) -> Decimal:
        if name is None:
            return ZERO
        score = self.screened.get(name)
        if score is None:
            q = fold(str(name))
            if q in self.denied:
                score = D(1)
            elif not set(q.split()) & self.denied_words:
                score = ZERO
            else:
                from rapidfuzz import fuzz
                best = max(fuzz.token_sort_ratio(q, n) for n in self.denied) / 100
                score = D(str(round(min(best, 0.9999), 4)))
            self.screened[name] = score
        return score

    def decide(self, order: dict[str, Any], as_of: datetime.date) -> dict[str, Any]:
        fired: list[str] = []
        violations: list[dict[str, Any]] = []
        holds: list[dict[str, Any]] = []
        approvals: list[dict[str, Any]] = []
        lines = order.get("lines") or []
        # -- defaulting
        customer = order.get("customer")
        if customer is None:
            customer = order["customer"] = {}
        acct = self.customers.get(customer.get("id"))
        if acct is not None:
            fired.append("defaulting/customer")
            for k in ("segment", "tier", "country"):
                if customer.get(k) is None:
                    customer[k] = acct[k]
        fired.append("defaulting/ship-to")
        ship_to = order.get("ship_to")
        if ship_to is None:
            ship_to = order["ship_to"] = {}
        if ship_to.get("country") is None:
            ship_to["country"] = customer.get("country")
        country = ship_to["country"]
        crow = self.countries.get(country)
        fired.append("defaulting/region")
        if ship_to.get("region") is None:
            ship_to["region"] = crow["region"] if crow else None
        fired.append("defaulting/currency")
        if order.get("currency") is None:
            order["currency"] = crow["currency"] if crow else None
        fired.append("defaulting/channel")
        channel = order.get("channel")
        order["channel"] = channel = (channel if channel is not None else "web").lower()
        if lines:
            fired.append("defaulting/uom")
            for line in lines:
                if line.get("uom") is None:
                    line["uom"] = "EA"
        if channel in ("c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"):
            fired.append("defaulting/attr-" + channel[1])
            attrs = order.get("attributes")
            if attrs is None:
                attrs = order["attributes"] = {}
            attrs["route"] = "r" + channel[1]
        products = [self.products.get(line.get("sku")) for line in lines]
        # -- validation
        if not lines:
            fired.append("validation/has-lines")
            violations.append({"rule": "validation/has-lines", "phase": "validation",
                               "code": "NO_LINES", "severity": "error",
                               "message": "no lines", "field": "order.lines"})
        bad_qty = [i for i, line in enumerate(lines)
                   if line.get("quantity") is None or line["quantity"] <= 0]
        if bad_qty:
            fired.append("validation/qty")
            for i in bad_qty:
                violations.append({"rule": "validation/qty", "phase": "validation",
                                   "code": "QTY", "severity": "error",
                                   "message": f"line {lines[i].get('id')}",
                                   "field": f"order.lines[{i}].quantity"})
        unknown = [i for i, p in enumerate(products) if p is None]
        if unknown:
            fired.append("validation/sku-known")
            for i in unknown:
                violations.append({"rule": "validation/sku-known", "phase": "validation",
                                   "code": "SKU", "severity": "error",
                                   "message": str(lines[i].get("sku")),
                                   "field": f"order.lines[{i}].sku"})
        for k, limit, cat in BIG:
            hit = False
            for line, p in zip(lines, products):
                q = line.get("quantity")
                if q is not None and q > limit and p is not None and p["category"] == cat:
                    hit = True
                    violations.append({"rule": f"validation/big-{k}", "phase": "validation",
                                       "code": "BIG", "severity": "warning",
                                       "message": "big", "field": None})
            if hit:
                fired.append(f"validation/big-{k}")
        # -- compliance
        if country in self.embargoed:
            fired.append("compliance/embargo")
            violations.append({"rule": "compliance/embargo", "phase": "compliance",
                               "code": "EMBARGO", "severity": "error", "message": "embargo",
                               "field": None})
        if self.screen(customer.get("name")) >= D("0.85"):
            fired.append("compliance/denied")
            holds.append({"rule": "compliance/denied", "code": "DENIED",
                          "reason": str(customer.get("name"))})
        if country in ("JP", "GB"):
            controlled = [line for line, p in zip(lines, products)
                          if p is not None and p["eccn"] == "3A090"]
            if controlled:
                for k, c in LICENCE:
                    if c == country:
                        rule = f"compliance/licence-{k}"
                        fired.append(rule)
                        for line in controlled:
                            holds.append({"rule": rule, "code": "LICENCE",
                                          "reason": str(line.get("sku"))})
        blocked = any(v["severity"] == "error" for v in violations)
        pricing = sourcing = None
        if not blocked:
            pricing, final = self.price(order, lines, products, customer, fired)
            sourcing = self.source(lines, country, as_of, fired)
            self.approve(final, approvals, fired)
        if blocked:
            status = "rejected"
        elif holds:
            status = "on_hold"
        elif approvals:
            status = "pending_approval"
        else:
            status = "accepted"
        return {"order_id": order.get("id"), "status": status, "as_of": as_of.isoformat(),
                "ruleset": self.ruleset, "order": order, "violations": violations,
                "holds": holds, "pricing": pricing, "sourcing": sourcing,
                "approvals": approvals, "fired": fired, "errors": []}

    def price(self, order: dict[str, Any], lines: list[dict[str, Any]], products: list[Any],
              customer: dict[str, Any], fired: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        currency = order.get("currency")
        places = PLACES.get(currency, 2)
        exp, zero = EXPONENT[places], ZEROS[places]

        def money(x: Decimal) -> Decimal:
            q = x.quantize(exp, rounding=ROUND_HALF_UP)
            return q if q else zero

        segment = customer.get("segment")
        tiers = VOLUME.get(segment, ())
        crow = self.countries.get(order["ship_to"]["country"])
        vat = crow["vat"] if crow else None
        jurisdiction = str(order["ship_to"]["country"])
        priced = []  # per line: [line, qty, list, extended, net, discounted, adjustments]
        for line, p in zip(lines, products):
            qty = line["quantity"]
            unit = p["unit_price"]
            extended = money(unit * qty)
            pct = VOLUME_ZERO
            for minimum, rate in tiers:
                if qty >= minimum:
                    pct = rate
                    break
            amount = money((extended * pct).scaleb(-2))
            adjustments = [{"rule": "pricing/volume", "kind": "discount",
                            "amount": -amount if amount else zero, "reason": "volume"}]
            priced.append([line, qty, unit, extended, extended - amount, amount, adjustments])
        if lines:
            fired += ("pricing/list", "pricing/volume")
        if lines:
            fired.append("pricing/vat")
        charges = []
        subtotal = sum((lp[4] for lp in priced), ZERO)
        if subtotal < 250:
            fired.append("pricing/shipping")
            charges.append({"rule": "pricing/shipping", "code": "shipping",
                            "amount": money(D("9.95"))})
        if customer.get("tier") == "gold" and subtotal > 5000:
            fired.append("pricing/gold")
            self.spread(priced, -money((subtotal * 2).scaleb(-2)), money, zero)
        promos: set[int] = set()
        for lp, p in zip(priced, products):
            qty = lp[1]
            for i, minimum, per_unit, reason, rule in PROMOS.get(p["category"], ()):
                if qty >= minimum:
                    promos.add(i)
                    amount = money(per_unit * qty)
                    net = lp[4]
                    if net - amount < 0:  # a net never goes below zero
                        amount = net if net > 0 else zero
                    lp[4] = net - amount
                    lp[5] += amount
                    lp[6].append({"rule": rule, "kind": "discount",
                                  "amount": -amount if amount else zero, "reason": reason})
        fired += [f"pricing/promo-{i}" for i in sorted(promos)]
        out_lines = []
        subtotal = extended_total = discount_total = tax_total = zero
        for lp in priced:
            line, qty, unit, extended, net, discounted, adjustments = lp
            tax = money((net * vat).scaleb(-2)) if vat else zero
            subtotal += net
            extended_total += extended
            discount_total += discounted
            tax_total += tax
            for a in adjustments:
                a["amount"] = plain(a["amount"])
            out_lines.append({
                "line_id": str(line.get("id")), "sku": line.get("sku"), "quantity": plain(qty),
                "list_price": plain(unit), "extended": plain(extended),
                "adjustments": adjustments, "net": plain(net),
                "discount_percent": plain(percent(discounted, extended)), "tax": plain(tax),
                "taxes": [{"jurisdiction": jurisdiction, "rate": plain(vat),
                           "amount": plain(tax), "rule": "pricing/vat"}],
                "total": plain(net + tax)})
        charges_total = zero
        for c in charges:
            charges_total += c["amount"]
        total = subtotal + charges_total + tax_total
        final = {"discount_percent": percent(discount_total, extended_total), "total": total}
        for c in charges:
            c["amount"] = plain(c["amount"])
        return ({"currency": currency, "lines": out_lines, "charges": charges, "recurring": [],
                 "subtotal": plain(subtotal), "discount_total": plain(discount_total),
                 "discount_percent": plain(final["discount_percent"]),
                 "charges_total": plain(charges_total), "tax_total": plain(tax_total),
                 "total": plain(total)}, final)

    @staticmethod
    def spread(priced: list[list[Any]], amount: Decimal, money: Any, zero: Decimal) -> None:
        """An order-level discount over the lines in proportion to their nets; the rounding
        remainder goes to the line with the largest net (the first of equals)."""
        base = sum((lp[4] for lp in priced), ZERO)
        shares = [money(amount * lp[4] / base) for lp in priced] if base > 0 \
            else [zero for _ in priced]
        remainder = amount - sum(shares, ZERO)
        if remainder:
            largest = max(range(len(priced)), key=lambda i: (priced[i][4], -i))
            shares[largest] += remainder
        for lp, share in zip(priced, shares):
            net = lp[4]
            if share < 0 and net + share < 0:
                share = -net if net > 0 else ZERO
            if not share:
                share = zero
            lp[4] = net + share
            lp[5] -= share
            lp[6].append({"rule": "pricing/gold", "kind": "discount", "amount": share,
                          "reason": "gold"})

    def source(self, lines: list[dict[str, Any]], country: Any, as_of: datetime.date,
               fired: list[str]) -> dict[str, Any]:
        routes = self.routes.get(country)
        if routes is None or not lines:
            return {"lines": []}
        fired.append(f"sourcing/src-{country}")
        taken: dict[tuple[str, str], Decimal] = {}
        on_hand = self.on_hand
        out = []
        for line in lines:
            sku, remaining = line.get("sku"), line["quantity"]
            allocations = []
            for loc, handling, transit in routes:
                if remaining <= 0:
                    break
                key = (loc, sku)
                have = on_hand.get(key, ZERO) - taken.get(key, ZERO)
                if have <= 0:
                    continue
                take = min(have, remaining)
                taken[key] = taken.get(key, ZERO) + take
                remaining -= take
                ship = as_of + handling
                allocations.append({"location": loc, "quantity": plain(take),
                                    "ship_date": ship.isoformat(),
                                    "arrival_date": (ship + transit).isoformat()})
            out.append({"line_id": str(line.get("id")), "sku": sku,
                        "backordered": plain(remaining), "allocations": allocations})
        return {"lines": out}

    @staticmethod
    def approve(final: dict[str, Any], approvals: list[dict[str, Any]],
                fired: list[str]) -> None:
        depth = final["discount_percent"]
        if depth > 10:
            fired.append("approval/depth")
            approvals.append({"rule": "approval/depth", "role": "sales-manager", "level": 1,
                              "reason": None})
            if depth > 20:
                approvals.append({"rule": "approval/depth", "role": "sales-director",
                                  "level": 2, "reason": None})
        total = final["total"]
        for i in range(10):
            if total >= 20000 * (i + 1):
                rule = f"approval/value-{i}"
                fired.append(rule)
                approvals.append({"rule": rule, "role": "finance", "level": i + 1,
                                  "reason": None})


def plain(x: Decimal) -> str:
    text = str(x)
    return format(x, "f") if "E" in text else text


def percent(part: Decimal, whole: Decimal) -> Decimal:
    if not whole or not part:
        return ZERO
    return (part * HUNDRED / whole).quantize(CENT, rounding=ROUND_HALF_UP).normalize() + ZERO


def run(ruleset: Path, src: Any, out: Any, as_of: datetime.date | None) -> int:
    twin = Twin(ruleset)
    encode = twin.encoder.encode
    n = 0
    for raw in src:
        if not raw.strip():
            continue
        order = json.loads(raw, parse_float=D, parse_int=D)
        day = as_of or datetime.date.fromisoformat(str(order.get("order_date"))[:10])
        out.write(encode(twin.decide(order, day)) + b"\n")
        n += 1
    return n


def main(argv: list[str]) -> int:
    if len(argv) != 5 or argv[3] != "--as-of":
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    with open(argv[1], "rb") as src, open(argv[2], "wb") as out:
        run(Path(argv[0]), src, out, datetime.date.fromisoformat(argv[4]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
