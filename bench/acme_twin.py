#!/usr/bin/env python3
"""The hand-written twin of rulesets/acme (issue 16, h16t).

ACME's policy (the packs under rulesets/acme/packs, six phases, 118 rules) written by hand in
plain Python, the way a careful engineer would without a rule engine: dicts, exact Decimal
money rounded half up to the currency's minor unit, the reference tables read once into
dicts, each product, customer and price looked up once per line or order, tables written as
`if`/dict dispatch, the order of work SPEC.md defines kept by writing the rules in that order.
Its output is meant to be byte-identical to `ordinance eval rulesets/acme --orders F --as-of D`;
bench/engine_vs_twin.py --ruleset acme checks it (sha256 of both streams) and
tests/bench/test_acme_twin.py checks it on generated orders.

What it borrows from the engine, as a hand-written program would call a library (none of it is
rule evaluation): the denied-party screening index (`engine.screening`, the rapidfuzz/rigour
matcher with its thresholds), the ATP library that dates a backorder from the supply to come
(`engine.promising`: build a table, promise against it), and the JSON encoder
(`engine.codec.dumpb`, msgspec with exact decimals, writing bytes as `ordinance eval` does).
Everything else (defaulting, validation, compliance, pricing, routes and allocation,
approvals, the texts) is written here.

What it does not do (the engine does): locate rule errors in the packs, check an order's shape
beyond what the generator writes, keep a budget. Rule errors the generated streams do not
reach are not reproduced (see the report in docs/design/engine.md, "ACME twin (h16t)").

usage: python bench/acme_twin.py RULESET_DIR IN.jsonl OUT.jsonl --as-of YYYY-MM-DD
"""
from __future__ import annotations

import csv
import datetime
import hashlib
import heapq
import json
import re
import sys
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import yaml


def _library_only() -> None:
    """Lets the engine's library modules (screening, promising, codec: each imports nothing
    of the engine's but its own package) load without `ordinance.engine`'s __init__, which
    imports the compiler and the evaluator a hand-written program does not run: a package
    object stands for it. In a process that already holds the engine, nothing is done."""
    if "ordinance.engine" in sys.modules:
        return
    import importlib.util
    import types
    spec = importlib.util.find_spec("ordinance.engine")
    if spec is None or not spec.submodule_search_locations:
        return
    package = types.ModuleType("ordinance.engine")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    sys.modules["ordinance.engine"] = package


_library_only()

from ordinance.engine import screening  # noqa: E402 - after the stand-in above
from ordinance.engine.codec import dumpb  # noqa: E402
from ordinance.engine.promising.atp import Supply, SupplyType, build  # noqa: E402
from ordinance.engine.promising.calendar import Buckets  # noqa: E402
from ordinance.engine.promising.promise import promise as atp_promise  # noqa: E402
from ordinance.engine.promising.reference import setup as atp_setup  # noqa: E402

D = Decimal
ZERO = D(0)
ONE = D(1)
HUNDRED = D(100)
CENT = D("0.01")
EXPONENTS = [D(1).scaleb(-p) for p in range(9)]
ZEROS = [D(0).scaleb(-p) for p in range(9)]
NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)$")
NO_TIME = datetime.timedelta(0)
WEIGHT = D(10) ** 12
US_ZIP = re.compile(r"^[0-9]{5}(-[0-9]{4})?$", re.ASCII)
ISO_4217 = Path(__file__).resolve().parent.parent / "engine/data/iso4217.csv"


# -- reference data ---------------------------------------------------------------------------

def cell(text: str) -> Any:
    if text == "":
        return None
    if NUMBER.match(text.strip()):
        return D(text.strip())
    return text


def read_csv(path: Path) -> list[dict[str, Any]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = [h.strip() for h in next(rows)]
        return [{h: cell(r[i]) if i < len(r) else None for i, h in enumerate(header)}
                for r in rows if r]


def by_key(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    out: dict[Any, dict[str, Any]] = {}
    for r in rows:
        k = r.get(key)
        out.setdefault(k if k.__class__ is not D else format(k, "f"), r)
    return out


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


def r(v: Any) -> str:
    """A value as a message writes it: plain numbers, ISO dates, null as nothing."""
    if v is None:
        return ""
    c = v.__class__
    if c is str:
        return v
    if c is D:
        return format(v, "f")
    if c is bool:
        return "true" if v else "false"
    if c is datetime.date:
        return v.isoformat()
    return str(v)


def plain(x: Decimal | None) -> str | None:
    if x is None:
        return None
    text = str(x)
    return format(x, "f") if "E" in text else text


def percent(part: Decimal, whole: Decimal) -> Decimal:
    if not whole or not part:
        return ZERO
    return (part * HUNDRED / whole).quantize(CENT, rounding=ROUND_HALF_UP).normalize() + ZERO


def as_date(v: Any) -> datetime.date | None:
    if v is None or v.__class__ is datetime.date:
        return v
    return datetime.date.fromisoformat(v[:10])


def lt(a: Any, b: Any) -> bool:  # an ordering comparison with null is false
    return a is not None and b is not None and a < b


def num(a: Any) -> bool:
    return a.__class__ is D


def mul(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a * b


class Route:
    __slots__ = ("days", "cost", "transit")

    def __init__(self, days: Decimal, cost: Decimal):
        self.days, self.cost = days, cost
        self.transit = datetime.timedelta(days=int(days))


# -- the policy ---------------------------------------------------------------------------------

def screen_index(path: Path, rows: list[Any]) -> dict[str, Any]:
    """The screening index of the denied-party list, kept on disk between runs as a program
    that screens would keep it (the engine's compiled cache carries its own, issue 16): the
    first run builds it (0.8 s for ACME's 16,000 names) and writes it, keyed by the list's
    bytes and the screening library's source; later runs hand the bytes to the library,
    which unpickles them on the first screening, as it does the engine's."""
    import os
    import pickle
    import tempfile

    key = hashlib.sha256(path.read_bytes()
                         + Path(screening.__file__).read_bytes()).hexdigest()[:24]
    folder = Path(os.environ.get("ORDINANCE_CACHE_DIR") or tempfile.gettempdir())
    cached = folder / f"acme-twin-screening-{key}.pickle"
    if cached.exists():
        return {"packed": cached.read_bytes()}
    cache: dict[str, Any] = {}
    packed = pickle.dumps(screening.prepare(rows, cache), protocol=pickle.HIGHEST_PROTOCOL)
    folder.mkdir(parents=True, exist_ok=True)
    part = cached.with_suffix(f".{os.getpid()}.part")
    part.write_bytes(packed)
    part.replace(cached)
    return cache


class Acme:
    def __init__(self, root: Path):
        ref = root / "reference"
        manifest = yaml.safe_load((root / "ruleset.yaml").read_text())
        self.ruleset = {"name": manifest["ruleset"], "version": str(manifest["version"]),
                        "digest": digest_of(root)}
        t = {p.stem: read_csv(p) for p in sorted(ref.glob("*.csv"))}
        self.customers = by_key(t["customers"], "id")
        self.products = by_key(t["products"], "sku")
        self.prices = by_key(t["prices"], "sku")
        self.countries = by_key(t["countries"], "code")
        self.subdivisions = by_key(t["subdivisions"], "code")
        self.channels = by_key(t["channels"], "code")
        self.tax_rates = by_key(t["tax_rates"], "jurisdiction")
        self.currencies = by_key(t["currencies"], "code")
        self.payment_methods = by_key(t["payment_methods"], "method")
        self.contracts = by_key(t["contract_prices"], "key")
        self.promotions = by_key(t["promotions"], "code")
        self.fx = by_key(t["fx"], "currency")
        self.eccn = by_key(t["eccn"], "eccn")
        self.export_groups = by_key(t["export_groups"], "country")
        self.embargoed_regions = by_key(t["embargoed_regions"], "code")
        self.service_plans = by_key(t["service_plans"], "sku")
        self.denied_rows = t["denied_parties"]
        self.screen_cache: dict[str, Any] = screen_index(ref / "denied_parties.csv",
                                                         self.denied_rows)
        self.embargoed = set(yaml.safe_load((ref / "embargoed.yaml").read_text()))
        nets = yaml.safe_load((ref / "networks.yaml").read_text())
        self.networks = {row[nets["key"]]: row for row in nets["rows"]}
        self.regex: dict[str, Any] = {}
        # minor units: ISO 4217, with the rule set's currencies table laid over it
        self.places: dict[str, int] = {}
        for line in ISO_4217.read_text().splitlines()[1:]:
            if line.strip():
                code, unit = line.split(",")
                self.places[code] = int(unit)
        for row in t["currencies"]:
            mu = row.get("minor_unit")
            if num(mu) and mu == mu.to_integral_value() and 0 <= mu <= 8 and row["code"]:
                self.places[row["code"].strip().upper()] = int(mu)
        # sourcing: locations, stock, routes
        self.handling: dict[str, datetime.timedelta] = {}
        locations = {}
        for row in t["locations"]:
            if row.get("id") is not None:
                locations.setdefault(r(row["id"]), row)
        for loc, row in locations.items():
            h = row.get("handling_days")
            self.handling[loc] = datetime.timedelta(days=int(h) if num(h) else 0)
        self.on_hand: dict[tuple[str, str], Decimal] = {}
        for row in t["inventory"]:
            key = (r(row["location"]), r(row["sku"]))
            self.on_hand[key] = self.on_hand.get(key, ZERO) + row["on_hand"]
        self.nearest: dict[str, dict[str, Route]] = {}
        self.cheapest: dict[str, dict[str, Route]] = {}
        self.routes(t["lanes"], locations)
        self.rankings: dict[tuple[Any, ...], list[tuple[str, Route]]] = {}
        self.atp = atp_setup(t.get("atp_rules"), t.get("supply"))
        self.atp_tables: dict[tuple[str, str, Decimal], Any] = {}
        self.buckets: Buckets | None = None

    # -- routes: Dijkstra over the lanes, by days then cost, and by cost then days ----------------
    def routes(self, lanes: list[dict[str, Any]], locations: dict[str, Any]) -> None:
        by_days: dict[tuple[str, str], dict[tuple[str, str], tuple[Decimal, ...]]] = {}
        by_cost: dict[tuple[str, str], dict[tuple[str, str], tuple[Decimal, ...]]] = {}
        for lane in lanes:
            src, dst = lane["from"], lane["to"]
            days = lane["transit_days"] if num(lane["transit_days"]) else ZERO
            cost = lane["cost_per_unit"] if num(lane["cost_per_unit"]) else ZERO
            a = ("loc", r(src))
            b = ("loc", r(dst)) if r(dst) in locations else ("region", r(dst))
            for graph, weight in ((by_days, days * WEIGHT + cost), (by_cost, cost * WEIGHT + days)):
                succ = graph.setdefault(a, {})
                graph.setdefault(b, {})
                old = succ.get(b)
                if old is None or weight < old[0]:
                    succ[b] = (weight, days, cost)
        for graph, table in ((by_days, self.nearest), (by_cost, self.cheapest)):
            for node in graph:
                if node[0] != "loc":
                    continue
                routes = {}
                # Dijkstra: (distance, count, node); the first path found on a tie
                dist: dict[Any, Decimal] = {}
                seen = {node: ZERO}
                paths = {node: [node]}
                fringe = [(ZERO, 0, node)]
                count = 1
                while fringe:
                    d, _, v = heapq.heappop(fringe)
                    if v in dist:
                        continue
                    dist[v] = d
                    for u, edge in graph[v].items():
                        vu = d + edge[0]
                        if u in dist:
                            continue
                        if u not in seen or vu < seen[u]:
                            seen[u] = vu
                            heapq.heappush(fringe, (vu, count, u))
                            count += 1
                            paths[u] = paths[v] + [u]
                for target, path in paths.items():
                    if target[0] != "region":
                        continue
                    edges = [graph[u][v] for u, v in zip(path, path[1:])]
                    routes[target[1]] = Route(sum((e[1] for e in edges), ZERO),
                                              sum((e[2] for e in edges), ZERO))
                table[node[1]] = routes

    def ranking(self, candidates: tuple[str, ...], region: str,
                prefer: str) -> list[tuple[str, Route]]:
        key = (candidates, region, prefer)
        found = self.rankings.get(key)
        if found is None:
            ranked = []
            for pos, loc in enumerate(candidates):
                fastest = self.nearest.get(loc, {}).get(region)
                if fastest is None:
                    continue
                if prefer == "cheapest":
                    route = self.cheapest[loc][region]
                    ranked.append(((route.cost, route.days, pos), loc, route))
                else:
                    ranked.append(((fastest.days, pos), loc, fastest))
            ranked.sort(key=lambda x: x[0])
            found = self.rankings[key] = [(loc, route) for _, loc, route in ranked]
        return found

    def screen(self, name: Any) -> Decimal:
        if name is None:
            return ZERO
        return screening.best_score(name, self.denied_rows, self.screen_cache)

    def screen_match(self, name: Any) -> dict[str, Any]:
        return screening.best_match(name, self.denied_rows, self.screen_cache) or {}

    def matches(self, s: Any, pattern: Any) -> bool:
        if s is None or pattern is None:
            return False
        rx = self.regex.get(pattern)
        if rx is None:
            rx = self.regex[pattern] = re.compile(pattern, re.ASCII)
        return rx.search(s) is not None

    # -- one decision ---------------------------------------------------------------------------
    def decide(self, order: dict[str, Any], as_of: datetime.date) -> dict[str, Any]:
        fired: list[str] = []
        violations: list[dict[str, Any]] = []
        holds: list[dict[str, Any]] = []
        approvals: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        d = Decision(self, order, as_of, fired, violations, holds, approvals, errors)
        d.defaulting()
        d.validation()
        d.compliance()
        blocked = bool(errors) or any(v["severity"] == "error" for v in violations)
        pricing = sourcing = None
        if not blocked:
            pricing = d.pricing()
            sourcing = d.sourcing()
            d.approval()
        if errors or any(v["severity"] == "error" for v in violations):
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
                "approvals": approvals, "fired": fired, "errors": errors}


class Decision:
    def __init__(self, acme: Acme, order: dict[str, Any], as_of: datetime.date,
                 fired: list[str], violations: list[dict[str, Any]],
                 holds: list[dict[str, Any]], approvals: list[dict[str, Any]],
                 errors: list[dict[str, Any]]):
        self.a = acme
        self.order = order
        self.as_of = as_of
        self.fired = fired
        self._fired: set[str] = set()
        self.violations = violations
        self.holds = holds
        self.approvals = approvals
        self.errors = errors
        lines = order.get("lines")
        self.lines: list[dict[str, Any]] = lines if lines.__class__ is list else []

    def fire(self, rule: str) -> None:
        if rule not in self._fired:
            self._fired.add(rule)
            self.fired.append(rule)

    def obj(self, *keys: str) -> dict[str, Any]:
        """order.KEY... as an object, created on the way (as `default` and `set` do)."""
        o = self.order
        for k in keys:
            nxt = o.get(k)
            if nxt is None:
                nxt = o[k] = {}
            o = nxt
        return o

    def sub(self, key: str) -> dict[str, Any]:
        v = self.order.get(key)
        return v if v.__class__ is dict else {}

    def customer(self) -> dict[str, Any]:
        return self.sub("customer")

    def reject(self, rule: str, phase: str, code: str, message: str, field: str | None,
               severity: str = "error") -> None:
        self.fire(rule)
        self.violations.append({"rule": rule, "phase": phase, "code": code,
                                "severity": severity, "message": message, "field": field})

    # -- defaulting ---------------------------------------------------------------------------
    def defaulting(self) -> None:
        a, order = self.a, self.order
        # customer-master
        st = self.sub("ship_to")
        if st.get("country") is not None:
            self.fire("customer-master/ship-to-country-upper")
            st["country"] = st["country"].upper()
        cust = self.customer()
        acct = a.customers.get(cust.get("id")) if cust.get("id") is not None else None
        self.acct = acct
        if acct is not None:
            self.fire("customer-master/known-customer")
            cust = self.obj("customer")
            for k in ("name", "segment", "tier", "country", "state", "tax_exempt", "vat_id",
                      "credit_limit", "open_balance", "credit_status", "since"):
                if cust.get(k) is None:
                    cust[k] = acct[k]
        else:
            self.fire("customer-master/walk-in")
            cust = self.obj("customer")
            for k, v in (("segment", "consumer"), ("tier", "standard"), ("tax_exempt", "N")):
                if cust.get(k) is None:
                    cust[k] = v
            if cust.get("country") is None:
                cust["country"] = self.sub("ship_to").get("country")
        if acct is not None:
            self.fire("customer-master/bill-to")
            bill = self.obj("bill_to")
            for k in ("name", "street", "city", "postal", "state", "country"):
                if bill.get(k) is None:
                    bill[k] = acct[k]
        if self.sub("ship_to").get("street") is None \
                and self.sub("bill_to").get("street") is not None:
            self.fire("customer-master/ship-to-from-bill-to")
            bill = self.order["bill_to"]
            st = self.obj("ship_to")
            for k in ("street", "city", "postal", "state", "country"):
                if st.get(k) is None:
                    st[k] = bill.get(k)
        self.fire("customer-master/ship-to-name")
        st = self.obj("ship_to")
        if st.get("name") is None:
            st["name"] = cust.get("name")
        if acct is not None:
            self.fire("customer-master/channel-from-account")
            if order.get("channel") is None:
                order["channel"] = acct["channel"]
        self.fire("customer-master/channel-normalise")
        ch = order.get("channel")
        order["channel"] = channel = (ch if ch is not None else "web").lower()

        # currency-and-terms
        if acct is not None and acct["currency"] is not None:
            self.fire("currency-and-terms/currency-from-account")
            if order.get("currency") is None:
                order["currency"] = acct["currency"]
        self.fire("currency-and-terms/currency-from-country")
        if order.get("currency") is None:
            c = cust.get("country")
            c = c if c is not None else st.get("country")
            crow = a.countries.get(c) if c is not None else None
            order["currency"] = crow["currency"] if crow else None
        if order.get("currency") is not None:
            self.fire("currency-and-terms/currency-upper")
            order["currency"] = order["currency"].upper()
        if acct is not None and channel in ("edi", "field-sales"):
            self.fire("currency-and-terms/payment-method-for-accounts")
            pay = self.obj("payment")
            if pay.get("method") is None:
                pay["method"] = "invoice"
        method = {"web": "card", "store": "card", "call-centre": "card", "edi": "invoice",
                  "field-sales": "invoice"}.get(channel)
        if method is not None:
            self.fire("currency-and-terms/payment-method-by-channel")
            pay = self.obj("payment")
            if pay.get("method") is None:
                pay["method"] = method
        pay = self.sub("payment")
        if pay.get("method") is not None:
            self.fire("currency-and-terms/payment-method-lower")
            pay["method"] = pay["method"].lower()
        method = pay.get("method")
        if method == "invoice" and acct is not None and acct["payment_terms"] is not None:
            self.fire("currency-and-terms/terms-from-account")
            pay = self.obj("payment")
            if pay.get("terms") is None:
                pay["terms"] = acct["payment_terms"]
        country = cust.get("country")
        country = country if country is not None else st.get("country")
        terms = None
        if method in ("card", "paypal", "bank-transfer"):
            terms = "PREPAID"
        elif method == "cod":
            terms = "COD"
        elif method == "invoice":
            terms = "EOM+30" if country == "JP" else "NET30" \
                if country in ("DE", "NL", "SE", "PL", "CH") else "NET45" \
                if country in ("FR", "IT", "ES") else "NET30"
        if terms is not None:
            self.fire("currency-and-terms/terms-by-method-and-country")
            pay = self.obj("payment")
            if pay.get("terms") is None:
                pay["terms"] = terms

        # fulfilment-defaults
        st = self.sub("ship_to")
        country = st.get("country")
        if country in ("US", "CA"):
            self.fire("fulfilment-defaults/region-by-state")
            st = self.obj("ship_to")
            if st.get("region") is None:
                state = st.get("state")
                sub = a.subdivisions.get(country + "-" + state) if state is not None else None
                st["region"] = sub["region"] if sub else None
        self.fire("fulfilment-defaults/region-by-country")
        st = self.obj("ship_to")
        if st.get("region") is None:
            crow = a.countries.get(country) if country is not None else None
            st["region"] = crow["region"] if crow else None
        if channel == "store" and order.get("store") is not None:
            self.fire("fulfilment-defaults/store-pickup")
            ship = self.obj("shipping")
            if ship.get("service") is None:
                ship["service"] = "pickup"
        self.fire("fulfilment-defaults/shipping-service")
        ship = self.obj("shipping")
        if ship.get("service") is None:
            ship["service"] = "standard"
        service = ship["service"]
        lead = 0 if service == "pickup" else 1 if service == "express" else 7 \
            if service == "economy" else 5 if channel == "edi" else 10 \
            if channel == "field-sales" else 3
        self.fire("fulfilment-defaults/requested-date")
        if order.get("requested_date") is None:
            order["requested_date"] = self.as_of + datetime.timedelta(days=lead)
        warehouse = WAREHOUSES.get(st.get("region"))
        if warehouse is not None:
            self.fire("fulfilment-defaults/home-warehouse")
            if order.get("warehouse") is None:
                order["warehouse"] = warehouse

        # line-defaults (rule by rule over the lines)
        lines = self.lines
        products = a.products
        for line in lines:
            if line.get("uom") is not None:
                self.fire("line-defaults/uom-upper")
                line["uom"] = line["uom"].upper()
        prods = [products.get(line.get("sku")) if line.get("sku") is not None else None
                 for line in lines]
        for line, p in zip(lines, prods):
            self.fire("line-defaults/uom-from-product")
            if line.get("uom") is None:
                line["uom"] = p["uom"] if p else None
        for line, p in zip(lines, prods):
            if line.get("uom") == "EA" and p is not None and p["uom"] in ("BX", "CS"):
                q, size = line.get("quantity"), p["pack_size"]
                if num(q) and num(size) and q % size == 0:
                    self.fire("line-defaults/eaches-to-packs")
                    line["quantity"] = q / size
                    line["uom"] = p["uom"]
        for line, p in zip(lines, prods):
            if p is not None:
                self.fire("line-defaults/product-data")
                line["category"] = p["category"]
                line["eccn"] = p["eccn"]
                if line.get("description") is None:
                    line["description"] = p["name"]
        self.prods = prods

        # tax-determination
        cust = self.customer()
        st = self.sub("ship_to")
        country = st.get("country")
        crow = a.countries.get(country) if country is not None else None
        eu = crow["eu_member"] if crow else None
        if cust.get("tax_exempt") == "Y":
            regime = "exempt"
        elif country == "DE":
            regime = "domestic-vat"
        elif eu == "Y" and cust.get("vat_id") is not None:
            regime = "reverse-charge"
        elif eu == "Y" or country in ("GB", "CH", "NO", "LI", "IS"):
            regime = "destination-vat"
        else:
            regime = {"US": "us-sales-tax", "CA": "ca-gst", "JP": "jp-consumption"}.get(
                country, "export")
        self.fire("tax-determination/tax-regime")
        tax = self.obj("tax")
        if tax.get("regime") is None:
            tax["regime"] = regime
        regime = tax["regime"]
        state = st.get("state")
        if regime in ("domestic-vat", "destination-vat"):
            self.fire("tax-determination/vat-rate")
            if tax.get("rate") is None:
                row = a.tax_rates.get(country) if country is not None else None
                tax["rate"] = row["rate"] if row else None
            if tax.get("jurisdiction") is None:
                tax["jurisdiction"] = country
        elif regime == "us-sales-tax":
            self.fire("tax-determination/us-state-rate")
            j = "US-" + state if state.__class__ is str else None
            if tax.get("rate") is None:
                row = a.tax_rates.get(j) if j is not None else None
                tax["rate"] = row["rate"] if row else None
            if tax.get("jurisdiction") is None:
                tax["jurisdiction"] = j
        elif regime == "ca-gst":
            self.fire("tax-determination/canada-rates")
            j = "CA-" + state if state.__class__ is str else None
            if tax.get("rate") is None:
                tax["rate"] = a.tax_rates["CA"]["rate"]
            if tax.get("jurisdiction") is None:
                tax["jurisdiction"] = "CA"
            if tax.get("provincial_rate") is None:
                row = a.tax_rates.get(j) if j is not None else None
                tax["provincial_rate"] = row["rate"] if row else None
            if tax.get("provincial_jurisdiction") is None:
                tax["provincial_jurisdiction"] = j
        elif regime == "jp-consumption":
            self.fire("tax-determination/japan-rate")
            if tax.get("rate") is None:
                tax["rate"] = a.tax_rates["JP"]["rate"]
            if tax.get("jurisdiction") is None:
                tax["jurisdiction"] = "JP"

    # -- validation ---------------------------------------------------------------------------
    def validation(self) -> None:
        a, order, lines = self.a, self.order, self.lines
        cust = self.customer()
        pay = self.sub("payment")
        st = self.sub("ship_to")
        method = pay.get("method")
        channel = order.get("channel")
        country = st.get("country")
        chan = a.channels.get(channel)
        acct = a.customers.get(cust.get("id")) if cust.get("id") is not None else None
        P = "validation"

        # credit-and-payment
        if cust.get("credit_status") == "blocked":
            self.reject("credit-and-payment/credit-blocked", P, "CREDIT_BLOCKED",
                        f"account {r(cust.get('id'))} is blocked by credit control",
                        "order.customer.id")
        if method == "invoice" and lt(cust.get("credit_limit"), cust.get("open_balance")) \
                or method == "invoice" and cust.get("open_balance") is not None \
                and cust.get("open_balance") == cust.get("credit_limit"):
            self.reject("credit-and-payment/over-credit-limit", P, "CREDIT_LIMIT",
                        f"open balance {r(cust.get('open_balance'))} is at or over the credit "
                        f"limit {r(cust.get('credit_limit'))}", "order.payment.method")
        if method is None:
            self.reject("credit-and-payment/payment-method-required", P,
                        "PAYMENT_METHOD_REQUIRED", "no payment method", "order.payment.method")
        why = None
        if not (method is None or a.payment_methods.get(method) is not None):
            why = "is not a payment method ACME accepts"
        elif method == "card" and channel in ("edi", "field-sales"):
            why = "is not taken on EDI or field-sales orders"
        elif method == "paypal" and channel != "web":
            why = "is offered in the web shop only"
        elif method == "paypal" and country in ("JP", "PL"):
            why = "is not offered in this country"
        elif method == "bank-transfer" and country in ("US", "CA", "JP"):
            why = "(prepayment by bank transfer) is offered in Europe only"
        elif method == "cod" and channel in ("edi", "field-sales", "store"):
            why = "is for web and call-centre orders"
        elif method == "cod" and country not in ("DE", "PL", "IT", "ES", "JP"):
            why = "is offered in DE, PL, IT, ES and JP only"
        elif method == "invoice" and channel == "store":
            why = "is not available in stores"
        if why is not None:
            self.reject("credit-and-payment/payment-method-restrictions", P,
                        "PAYMENT_METHOD_NOT_ALLOWED",
                        f"{r(method)} {why} ({r(channel)}, {r(country)})",
                        "order.payment.method")
        if method == "invoice" and acct is None:
            self.reject("credit-and-payment/invoice-needs-account", P, "INVOICE_NEEDS_ACCOUNT",
                        "payment on invoice needs a customer account", "order.payment.method")
        list_value = None
        if method == "cod":
            list_value = self.list_value()
            if list_value > 1000:
                self.reject("credit-and-payment/cod-ceiling", P, "COD_LIMIT",
                            "cash on delivery is limited to USD 1000 of list value",
                            "order.payment.method")
        if lines:
            if list_value is None:
                list_value = self.list_value()
            minimum = chan["min_order_usd"] if chan else None
            if lt(list_value, minimum):
                self.reject("credit-and-payment/minimum-order-value", P, "MIN_ORDER_VALUE",
                            f"the {r(channel)} channel has a minimum order value of USD "
                            f"{r(minimum)}", "order.lines")

        # order-dates
        if order.get("order_date") is None:
            self.reject("order-dates/order-date-missing", P, "ORDER_DATE_MISSING",
                        "no order date; the as-of date is used", "order.order_date", "warning")
        req = order.get("requested_date")
        day = as_date(req)
        today = self.as_of
        if day is not None and day < today:
            self.reject("order-dates/requested-in-past", P, "REQUESTED_DATE_PAST",
                        f"requested date {r(req)} is before {today.isoformat()}",
                        "order.requested_date")
        if day is not None and (day - today).days > 183:
            self.reject("order-dates/requested-far-ahead", P, "REQUESTED_DATE_FAR",
                        f"requested date {r(req)} is more than six months ahead",
                        "order.requested_date", "warning")
        service = self.sub("shipping").get("service")
        if service == "express" and day == today:
            self.reject("order-dates/express-too-soon", P, "EXPRESS_SAME_DAY",
                        "express delivery takes at least one day", "order.requested_date")

        # order-header
        if order.get("id") is None:
            self.reject("order-header/order-id", P, "ORDER_ID_REQUIRED", "the order has no id",
                        "order.id")
        if not lines:
            self.reject("order-header/has-lines", P, "NO_LINES",
                        f"order {r(order.get('id'))} has no lines", "order.lines")
        max_lines = chan["max_lines"] if chan else None
        if lt(max_lines, D(len(lines))):
            self.reject("order-header/too-many-lines", P, "TOO_MANY_LINES",
                        f"{len(lines)} lines; the {r(channel)} channel takes at most "
                        f"{r(max_lines)}", "order.lines")
        if cust.get("id") is None and cust.get("name") is None:
            self.reject("order-header/customer-required", P, "CUSTOMER_REQUIRED",
                        "the order names no customer", "order.customer")
        if cust.get("id") is not None and acct is None:
            self.reject("order-header/unknown-account", P, "UNKNOWN_CUSTOMER",
                        f"no customer account {r(cust.get('id'))}", "order.customer.id")
        if chan is None:
            self.reject("order-header/channel-known", P, "UNKNOWN_CHANNEL",
                        f"unknown channel {r(channel)}", "order.channel")
        if chan is not None and chan["requires_po"] == "Y" and order.get("customer_po") is None:
            self.reject("order-header/po-required", P, "PO_REQUIRED",
                        f"{r(channel)} orders need a purchase-order number", "order.customer_po")
        if channel == "web" and cust.get("id") is None and cust.get("email") is None:
            self.reject("order-header/guest-email", P, "EMAIL_REQUIRED",
                        "guest orders need an e-mail address", "order.customer.email")
        vat_id = cust.get("vat_id")
        if vat_id is not None:
            row = a.tax_rates.get(cust.get("country")) if cust.get("country") is not None \
                else None
            pattern = row["vat_id_pattern"] if row else None
            if pattern is not None and not a.matches(vat_id, pattern):
                self.reject("order-header/vat-id-format", P, "VAT_ID_FORMAT",
                            f"VAT number {r(vat_id)} does not look like a "
                            f"{r(cust.get('country'))} number", "order.customer.vat_id",
                            "warning")

        # order-lines (rule by rule over the lines)
        prods = self.prods
        rule = "order-lines/"
        for i, line in enumerate(lines):
            if line.get("sku") is None:
                self.reject(rule + "sku-required", P, "SKU_REQUIRED",
                            f"line {r(line.get('id'))} names no product",
                            f"order.lines[{i}].sku")
        for i, (line, p) in enumerate(zip(lines, prods)):
            if line.get("sku") is not None and p is None:
                self.reject(rule + "sku-known", P, "UNKNOWN_SKU",
                            f"line {r(line.get('id'))}: no product {r(line.get('sku'))}",
                            f"order.lines[{i}].sku")
        for i, (line, p) in enumerate(zip(lines, prods)):
            if p is not None and p["status"] == "discontinued":
                self.reject(rule + "sku-discontinued", P, "DISCONTINUED",
                            f"line {r(line.get('id'))}: {r(line.get('sku'))} is discontinued",
                            f"order.lines[{i}].sku")
        for i, line in enumerate(lines):
            q = line.get("quantity")
            if q is None or q <= 0:
                self.reject(rule + "quantity-positive", P, "QTY_POSITIVE",
                            f"line {r(line.get('id'))}: quantity must be positive",
                            f"order.lines[{i}].quantity")
        for i, line in enumerate(lines):
            q = line.get("quantity")
            if q is not None and q > 0 and q % 1 != 0:
                self.reject(rule + "quantity-whole", P, "QTY_WHOLE",
                            f"line {r(line.get('id'))}: {r(q)} is not a whole number of "
                            f"{r(line.get('uom'))}", f"order.lines[{i}].quantity")
        for i, line in enumerate(lines):
            q = line.get("quantity")
            if q is not None and q > 10000:
                self.reject(rule + "quantity-ceiling", P, "QTY_TOO_LARGE",
                            f"line {r(line.get('id'))}: {r(q)} is above the 10000 limit",
                            f"order.lines[{i}].quantity")
        for i, line in enumerate(lines):
            q = line.get("quantity")
            if q is not None and 1000 < q <= 10000:
                self.reject(rule + "quantity-large", P, "QTY_LARGE",
                            f"line {r(line.get('id'))} orders {r(q)}",
                            f"order.lines[{i}].quantity", "warning")
        for i, (line, p) in enumerate(zip(lines, prods)):
            if p is not None and line.get("uom") != p["uom"]:
                self.reject(rule + "uom-valid", P, "UOM_INVALID",
                            f"line {r(line.get('id'))}: {r(line.get('sku'))} is sold per "
                            f"{r(p['uom'])}, not {r(line.get('uom'))}", f"order.lines[{i}].uom")
        counts: dict[str, int] = {}
        for line in lines:
            sku = line.get("sku")
            if sku is not None:
                counts[r(sku)] = counts.get(r(sku), 0) + 1
        for i, line in enumerate(lines):
            sku = line.get("sku")
            if sku is not None and counts[r(sku)] > 1:
                self.reject(rule + "duplicate-sku", P, "DUPLICATE_SKU",
                            f"{r(sku)} appears on more than one line", f"order.lines[{i}].sku",
                            "warning")
        for line, p in zip(lines, prods):
            if p is not None and p["hazmat"] == "Y" and service == "express":
                self.reject(rule + "hazmat-not-express", P, "HAZMAT_EXPRESS",
                            f"line {r(line.get('id'))}: {r(line.get('sku'))} is dangerous goods "
                            "and cannot ship express", "order.shipping.service")

        # ship-to
        if country is None:
            self.reject("ship-to/country-required", P, "COUNTRY_REQUIRED",
                        "no destination country", "order.ship_to.country")
        if country is not None and a.countries.get(country) is None:
            self.reject("ship-to/country-valid", P, "BAD_COUNTRY",
                        f"{r(country)} is not an ISO 3166 country code", "order.ship_to.country")
        if service != "pickup" and (st.get("street") is None or st.get("city") is None):
            self.reject("ship-to/address-complete", P, "ADDRESS_INCOMPLETE",
                        "the delivery address needs a street and a city", "order.ship_to")
        state = st.get("state")
        if country in ("US", "CA") and (state is None
                                        or a.subdivisions.get(country + "-" + state) is None):
            self.reject("ship-to/state-required", P, "STATE_REQUIRED",
                        f"unknown state or province {r(state)}", "order.ship_to.state")
        if country == "US" and service != "pickup":
            postal = st.get("postal")
            if not US_ZIP.search(postal if postal is not None else ""):
                self.reject("ship-to/us-zip", P, "POSTAL_CODE",
                            f"ZIP code {r(postal)} is not valid", "order.ship_to.postal")
        currency = order.get("currency")
        cur = a.currencies.get(currency) if currency is not None else None
        if cur is None or cur["traded"] != "Y":
            self.reject("ship-to/currency-traded", P, "CURRENCY_NOT_SUPPORTED",
                        f"ACME does not invoice in {r(currency)}", "order.currency")
        ccountry = cust.get("country")
        if ccountry is not None:
            crow = a.countries.get(ccountry)
            if currency != (crow["currency"] if crow else None) \
                    and (acct is None or acct["currency"] is None):
                self.reject("ship-to/currency-unusual", P, "CURRENCY_MISMATCH",
                            f"{r(currency)} for a customer in {r(ccountry)}", "order.currency",
                            "warning")

    def list_value(self) -> Decimal:
        total = ZERO
        prices = self.a.prices
        for line in self.lines:
            q = line.get("quantity")
            row = prices.get(line.get("sku")) if line.get("sku") is not None else None
            usd = row["USD"] if row else None
            total += (q if q is not None else ZERO) * (usd if usd is not None else ZERO)
        return total

    # -- compliance ---------------------------------------------------------------------------
    def compliance(self) -> None:
        a, lines = self.a, self.lines
        cust = self.customer()
        st = self.sub("ship_to")
        country = st.get("country")
        P, R = "compliance", "trade-compliance/"
        if country in a.embargoed:
            self.reject(R + "embargoed-destination", P, "EMBARGO",
                        f"shipping to {r(country)} is embargoed", "order.ship_to.country")
        cc = cust.get("country")
        if cc in a.embargoed and cc != country:
            self.reject(R + "embargoed-customer-country", P, "EMBARGO",
                        f"the customer is based in {r(cc)}, which is embargoed",
                        "order.customer.country")
        sub = st.get("subdivision")
        region = a.embargoed_regions.get(sub) if sub is not None else None
        if region is not None:
            self.reject(R + "embargoed-region", P, "EMBARGO_REGION",
                        f"shipping to {r(region['name'])} is embargoed",
                        "order.ship_to.subdivision")
        if country in ("RU", "BY", "SY", "VE", "MM"):
            self.hold(R + "review-destination", "DESTINATION_REVIEW",
                      f"{r(country)} needs a trade-compliance review")
        name = cust.get("name")
        score = a.screen(name)
        if score >= D("0.85"):
            m = a.screen_match(name)
            self.hold(R + "denied-customer", "DENIED_PARTY",
                      f'customer {r(name)} resembles "{r(m.get("matched"))}" (score '
                      f'{r(score)}): {r(m.get("list"))} entry {r(m.get("source_id"))} '
                      f'"{r(m.get("name"))}", programme {r(m.get("program"))}')
        consignee = st.get("name")
        if consignee != name:
            cscore = a.screen(consignee)
            if cscore >= D("0.85"):
                m = a.screen_match(consignee)
                self.hold(R + "denied-consignee", "DENIED_PARTY",
                          f'consignee {r(consignee)} resembles "{r(m.get("matched"))}" (score '
                          f'{r(cscore)}): {r(m.get("list"))} entry {r(m.get("source_id"))} '
                          f'"{r(m.get("name"))}", programme {r(m.get("program"))}')
        if D("0.75") <= score < D("0.85"):
            m = a.screen_match(name)
            self.reject(R + "near-miss", P, "SCREENING_NEAR_MISS",
                        f'{r(name)} is close to "{r(m.get("matched"))}" (score {r(score)}): '
                        f'{r(m.get("list"))} entry {r(m.get("source_id"))}',
                        "order.customer.name", "warning")
        grow = a.export_groups.get(country) if country is not None else None
        group = grow["group"] if grow else None
        policies = []
        for line in lines:
            e = line.get("eccn")
            erow = a.eccn.get(e) if e is not None else None
            policies.append(erow["policy"] if erow else None)
        for line, policy in zip(lines, policies):
            why = None
            if policy == "strict" and group != "A5":
                why = "controlled for national security or CB reasons"
            elif policy == "advanced-computing" and group != "A5":
                why = "an advanced-computing item"
            elif policy == "anti-terror" and group == "E":
                why = "controlled for anti-terrorism reasons"
            if why is not None:
                self.hold(R + "licence-required", "LICENSE_REQUIRED",
                          f"{r(line.get('sku'))} ({r(line.get('eccn'))}) to {r(country)} needs "
                          f"an export licence: {why}")
        for i, (line, policy) in enumerate(zip(lines, policies)):
            if policy == "advanced-computing" and group == "D":
                self.reject(R + "licence-presumption-of-denial", P, "LICENSE_DENIED",
                            f"{r(line.get('sku'))} ({r(line.get('eccn'))}) cannot be exported "
                            f"to {r(country)}", f"order.lines[{i}].sku")
        attrs = self.sub("attributes")
        if attrs.get("end_use") == "military" \
                and any(p in ("strict", "advanced-computing") for p in policies):
            self.hold(R + "military-end-use", "END_USE_REVIEW",
                      "military end use declared for controlled items")
        for line in lines:
            if line.get("eccn") == "1C350" and attrs.get("end_user_statement") is not True:
                self.hold(R + "end-user-statement", "EUS_REQUIRED",
                          f"{r(line.get('sku'))} needs a signed end-user statement")
        for i, line in enumerate(lines):
            if line.get("eccn") == "5A002.a" and country != "US":
                self.reject(R + "encryption-reporting", P, "ENCRYPTION_REPORT",
                            f"{r(line.get('sku'))} goes on the semi-annual encryption report",
                            f"order.lines[{i}].sku", "warning")

    def hold(self, rule: str, code: str, reason: str) -> None:
        self.fire(rule)
        self.holds.append({"rule": rule, "code": code, "reason": reason})

    # -- pricing ------------------------------------------------------------------------------
    def pricing(self) -> dict[str, Any]:
        a, order, lines = self.a, self.order, self.lines
        currency = order.get("currency")
        currency = currency if currency.__class__ is str else None
        places = a.places.get(currency, 2) if currency is not None else 2
        exp, zero = EXPONENTS[places], ZEROS[places]
        self.places, self.zero = places, zero

        def money(x: Decimal) -> Decimal:
            q = x.quantize(exp, rounding=ROUND_HALF_UP)
            return q if q else zero
        self.money = money
        cust = self.customer()
        cid = cust.get("id")
        today = self.as_of
        fxrow = a.fx.get(currency) if currency is not None else None
        per_usd = fxrow["per_usd"] if fxrow else None
        # per line: [line, qty, list, extended, net, priced, discounted, adjustments, rates]
        P: list[list[Any]] = []
        for line in lines:
            q = line.get("quantity")
            lp = [line, q if num(q) else None, None, zero, zero, False, ZERO, [], []]
            unit = line.get("unit_price")
            if num(unit) and lp[1] is not None:
                lp[2], lp[3], lp[4], lp[5] = unit, money(unit * q), money(unit * q), True
            P.append(lp)
        self.P = P
        stopped = [False] * len(lines)
        contracts = []
        for line in lines:
            sku = line.get("sku")
            key = cid + "|" + sku if cid.__class__ is str and sku.__class__ is str else None
            contracts.append(a.contracts.get(key) if key is not None else None)

        def set_list(lp: list[Any], unit: Decimal) -> None:
            extended = money(unit * lp[1])
            adjusted = lp[4] - lp[3] if lp[5] else ZERO
            lp[2], lp[3], lp[4], lp[5] = unit, extended, extended + adjusted, True

        # list-prices
        for i, lp in enumerate(P):
            cp = contracts[i]
            if cp is not None and cp["currency"] == currency \
                    and as_date(cp["from"]) <= today <= as_date(cp["until"]):
                self.fire("list-prices/contract-price")
                set_list(lp, cp["unit_price"])
                stopped[i] = True
        if currency in LISTS:
            for i, lp in enumerate(P):
                if stopped[i]:
                    continue
                self.fire("list-prices/price-list")
                sku = lp[0].get("sku")
                row = a.prices.get(sku) if sku is not None else None
                price = row[currency] if row else None
                if price is not None:
                    set_list(lp, price)

        # volume-tiers
        for i, lp in enumerate(P):
            line = lp[0]
            q = lp[1]
            if line.get("category") == "fasteners" and q is not None and q >= 100 \
                    and contracts[i] is None:
                self.fire("volume-tiers/fasteners-graduated")
                unit = lp[2]
                total = min(q, D(100)) * unit
                if q > 100:
                    total += (min(q, D(500)) - 100) * (unit * D("0.92"))
                if q > 500:
                    total += (q - 500) * (unit * D("0.85"))
                extended = money(total)
                self.set_extended(lp, extended, money(extended / q))
        for i, lp in enumerate(P):
            line = lp[0]
            q = lp[1]
            if line.get("category") == "janitorial" and q is not None and q >= 20 \
                    and contracts[i] is None:
                self.fire("volume-tiers/janitorial-all-units")
                unit = lp[2]
                price = unit * D("0.90") if q >= 100 else unit * D("0.95")
                extended = money(price * q)
                self.set_extended(lp, extended, money(extended / q))

        # discounts
        stopped = [False] * len(lines)
        channel = order.get("channel")
        if channel == "field-sales":
            for i, lp in enumerate(P):
                line = lp[0]
                p = self.prods[i]
                if line.get("unit_price") is not None and p is not None:
                    self.fire("discounts/negotiated-price")
                    floor = mul(mul(p["cost_usd"], per_usd), D("1.05"))
                    unit = line["unit_price"] if floor is None else max(line["unit_price"], floor)
                    new_net = money(unit * lp[1])
                    self.adjust(lp, "discounts/negotiated-price", "override", new_net - lp[4],
                                "negotiated price", i)
                    stopped[i] = True
        segment, tier = cust.get("segment"), cust.get("tier")
        pct = SEGMENT_TIER.get((segment, tier))
        if pct is None and segment in ("education", "government"):
            pct = D(10)
        if pct is not None:
            for i, lp in enumerate(P):
                if stopped[i] or contracts[i] is not None \
                        or lp[0].get("category") == "services":
                    continue
                self.fire("discounts/segment-tier")
                self.adjust(lp, "discounts/segment-tier", "discount",
                            -self.percent_of(lp[4], pct), f"{r(segment)} {r(tier)} discount", i)
        attrs = self.sub("attributes")
        code = attrs.get("promo_code")
        promo = a.promotions.get(code) if code is not None else None
        if promo is not None and as_date(promo["from"]) <= today <= as_date(promo["until"]):
            for i, lp in enumerate(P):
                if stopped[i]:
                    continue
                if promo["category"] in ("-", lp[0].get("category")) \
                        and lt(promo["min_subtotal"], self.subtotal()) \
                        or promo["min_subtotal"] == self.subtotal():
                    self.fire("discounts/promotion-code")
                    self.adjust(lp, "discounts/promotion-code", "discount",
                                -self.percent_of(lp[4], promo["percent"]),
                                f"promotion {r(code)}", i)
        md = attrs.get("manual_discount")
        if num(md) and md > 0:
            self.fire("discounts/manual-adjustment")
            self.spread("discounts/manual-adjustment",
                        -self.percent_of(self.subtotal(), min(md, D(30))), "manual adjustment")
        if per_usd is not None:
            usd = self.subtotal() / per_usd
            rebate = D(3) if usd >= 100000 else D(2) if usd >= 50000 else D(1) \
                if usd >= 20000 else None
            if rebate is not None:
                self.fire("discounts/large-order-rebate")
                self.spread("discounts/large-order-rebate", -self.percent_of(self.subtotal(),
                                                                             rebate),
                            f"large order rebate {r(rebate)}%")

        # promo-black-friday, promo-spring
        if BLACK_FRIDAY[0] <= today <= BLACK_FRIDAY[1]:
            if channel == "web":
                for i, lp in enumerate(P):
                    if lp[0].get("category") == "power-tools":
                        self.fire("promo-black-friday/web-power-tools")
                        self.adjust(lp, "promo-black-friday/web-power-tools", "discount",
                                    -self.percent_of(lp[4], D(10)), "Black Friday power tools",
                                    i)
            for i, lp in enumerate(P):
                if lp[0].get("category") == "consumer" and lp[1] is not None and lp[1] <= 2:
                    self.fire("promo-black-friday/doorbuster")
                    self.adjust(lp, "promo-black-friday/doorbuster", "discount",
                                -self.percent_of(lp[4], D(20)), "Black Friday doorbuster", i)
        if SPRING[0] <= today <= SPRING[1] and segment == "contractor":
            for i, lp in enumerate(P):
                if lp[0].get("category") == "hand-tools":
                    self.fire("promo-spring/contractor-hand-tools")
                    self.adjust(lp, "promo-spring/contractor-hand-tools", "discount",
                                -self.percent_of(lp[4], D(5)), "spring contractor event", i)

        # charges
        charges: list[dict[str, Any]] = []
        tax = self.sub("tax")
        rate = tax.get("rate")
        charge_rate = rate if rate is not None else ZERO
        service = self.sub("shipping").get("service")
        region = self.sub("ship_to").get("region")
        usd_sub = self.subtotal() / per_usd if per_usd is not None else None
        ship_usd = None
        if service == "express":
            ship_usd = D(120) if region == "intl" else D(45)
        elif service in ("standard", "economy") and region == "intl":
            ship_usd = D(85)
        elif service == "economy":
            ship_usd = D(9)
        elif service == "standard" and lt(usd_sub, D(500)):
            ship_usd = D(15)
        if ship_usd is not None:
            self.fire("charges/shipping")
            if per_usd is not None:
                amount = money(ship_usd * per_usd)
                charges.append({"rule": "charges/shipping", "code": "shipping",
                                "amount": amount, "reason": f"{r(service)} shipping",
                                "tax": self.percent_of(amount, charge_rate)})
        if channel == "web" and lt(usd_sub, D(50)):
            self.fire("charges/small-order-fee")
            charges.append({"rule": "charges/small-order-fee", "code": "small-order",
                            "amount": money(D("4.95") * per_usd),
                            "reason": "order under USD 50"})
        if self.sub("payment").get("method") == "cod":
            self.fire("charges/cod-fee")
            if per_usd is not None:
                amount = money(5 * per_usd)
                charges.append({"rule": "charges/cod-fee", "code": "cod", "amount": amount,
                                "reason": "cash on delivery",
                                "tax": self.percent_of(amount, charge_rate)})
        prods = self.prods
        if any(p is not None and p["hazmat"] == "Y" for p in prods):
            self.fire("charges/hazmat-handling")
            if per_usd is not None:
                charges.append({"rule": "charges/hazmat-handling", "code": "hazmat",
                                "amount": money(25 * per_usd),
                                "reason": "dangerous goods handling"})
        weight = ZERO
        for line, p in zip(lines, prods):
            w = p["weight_kg"] if p is not None else None
            q = line.get("quantity")
            if q is not None:
                weight += q * (w if w is not None else ZERO)
        if weight > 1000:
            self.fire("charges/heavy-freight")
            if per_usd is not None:
                charges.append({"rule": "charges/heavy-freight", "code": "freight",
                                "amount": money(weight * D("0.15") * per_usd),
                                "reason": "heavy freight"})

        # taxes-and-recurring
        recurring: list[dict[str, Any]] = []
        if rate is not None:
            j = r(tax.get("jurisdiction")) or None
            for lp in P:
                self.fire("taxes-and-recurring/sales-tax")
                lp[8].append((rate, j, "taxes-and-recurring/sales-tax"))
        prate = tax.get("provincial_rate")
        if lt(ZERO, prate):
            j = r(tax.get("provincial_jurisdiction")) or None
            for lp in P:
                self.fire("taxes-and-recurring/provincial-tax")
                lp[8].append((prate, j, "taxes-and-recurring/provincial-tax"))
        for lp in P:
            sku = lp[0].get("sku")
            plan = a.service_plans.get(sku) if sku is not None else None
            if plan is not None:
                self.fire("taxes-and-recurring/service-recurring")
                amount = mul(mul(plan["amount_usd"], per_usd), lp[0].get("quantity"))
                if amount is not None:
                    term = plan["term"]
                    recurring.append({"rule": "taxes-and-recurring/service-recurring",
                                      "line_id": line_id(lp[0], P.index(lp)), "sku": sku,
                                      "amount": money(amount), "period": r(plan["period"]),
                                      "term": int(term) if num(term) else None})

        # the end of pricing: a price for every line, taxes on the final nets, the totals
        for i, lp in enumerate(P):
            if not lp[5]:
                self.errors.append({
                    "rule": None, "phase": "pricing", "code": "NO_PRICE",
                    "message": f"line {line_id(lp[0], i)} ({r(lp[0].get('sku'))}) has no "
                    "price: no rule gave a list price and the line carries no unit_price"})
        subtotal = extended_total = discount_total = tax_total = zero
        out_lines = []
        for i, lp in enumerate(P):
            line, qty, unit, extended, net, _priced, discounted, adjustments, rates = lp
            taxes = []
            tax_amount = zero
            if rates:
                total_rate = sum((x[0] for x in rates), ZERO)
                tax_amount = self.percent_of(net, total_rate) if total_rate else zero
                if len(rates) == 1:
                    taxes = [{"jurisdiction": rates[0][1], "rate": plain(rates[0][0]),
                              "amount": plain(tax_amount), "rule": rates[0][2]}]
                else:
                    taxes = self.breakdown(net, rates, tax_amount)
            subtotal += net
            extended_total += extended
            discount_total += discounted
            tax_total += tax_amount
            out_lines.append({
                "line_id": line_id(line, i), "sku": line.get("sku"), "quantity": plain(qty),
                "list_price": plain(unit), "extended": plain(extended),
                "adjustments": [dict(x, amount=plain(x["amount"])) for x in adjustments],
                "net": plain(net), "discount_percent": plain(percent(discounted, extended)),
                "tax": plain(tax_amount), "taxes": taxes, "total": plain(net + tax_amount)})
        charges_total = zero
        for c in charges:
            charges_total += c["amount"]
            if "tax" in c:
                tax_total += c["tax"]
        total = subtotal + charges_total + tax_total
        self.final = {"subtotal": subtotal, "discount_percent": percent(discount_total,
                                                                        extended_total),
                      "total": total, "per_usd": per_usd}
        return {"currency": currency, "lines": out_lines,
                "charges": [dict(c, amount=plain(c["amount"]),
                                 **({"tax": plain(c["tax"])} if "tax" in c else {}))
                            for c in charges],
                "recurring": [dict(x, amount=plain(x["amount"])) for x in recurring],
                "subtotal": plain(subtotal), "discount_total": plain(discount_total),
                "discount_percent": plain(self.final["discount_percent"]),
                "charges_total": plain(charges_total), "tax_total": plain(tax_total),
                "total": plain(total)}

    def percent_of(self, amount: Decimal, rate: Decimal) -> Decimal:
        with localcontext() as ctx:
            ctx.prec = 100
            return self.money((amount * rate).scaleb(-2))

    def subtotal(self) -> Decimal:
        return sum((lp[4] for lp in self.P), ZERO)

    def set_extended(self, lp: list[Any], extended: Decimal, unit: Decimal) -> None:
        adjusted = lp[4] - lp[3] if lp[5] else ZERO
        lp[2], lp[3], lp[4], lp[5] = unit, extended, extended + adjusted, True

    def adjust(self, lp: list[Any], rule: str, kind: str, amount: Decimal, reason: str,
               i: int | None) -> bool:
        capped = False
        net = lp[4]
        if amount < 0 and net + amount < 0:
            amount = -net if net > 0 else ZERO
            capped = True
        if not amount:
            amount = self.zero
        lp[4] = net + amount
        if kind == "discount" or (kind == "override" and amount < 0):
            lp[6] -= amount
        lp[7].append({"rule": rule, "kind": kind, "amount": amount, "reason": reason})
        if capped:
            self.violations.append({
                "rule": rule, "phase": "pricing", "code": "PRICE_FLOOR", "severity": "warning",
                "message": "a discount was capped: a net cannot go below zero",
                "field": None if i is None else f"order.lines[{i}]"})
        return not capped

    def spread(self, rule: str, amount: Decimal, reason: str) -> None:
        P = self.P
        if not P:
            return
        base = self.subtotal()
        shares = [self.money(amount * lp[4] / base) for lp in P] if base > 0 \
            else [self.zero for _ in P]
        remainder = amount - sum(shares, ZERO)
        if remainder:
            largest = max(range(len(P)), key=lambda i: (P[i][4], -i))
            shares[largest] += remainder
        for lp, share in zip(P, shares):
            self.adjust(lp, rule, "discount", share, reason, None)

    def breakdown(self, net: Decimal, rates: list[tuple[Any, ...]],
                  tax: Decimal) -> list[dict[str, Any]]:
        unit = EXPONENTS[self.places]
        exact = [(net * rate).scaleb(-2) for rate, _, _ in rates]
        amounts = [self.money(x) for x in exact]
        off = tax - sum(amounts, ZERO)
        if off:
            dropped = [x - y for x, y in zip(exact, amounts)]
            if off > 0:
                order = sorted(range(len(exact)), key=lambda i: (-dropped[i], i))
            else:
                order = sorted(range(len(exact)), key=lambda i: (dropped[i], i))
            step = unit.copy_sign(off)
            for i in order[:int(abs(off) / unit)]:
                amounts[i] += step
        return [{"jurisdiction": j, "rate": plain(rate), "amount": plain(amount), "rule": rule}
                for (rate, j, rule), amount in zip(rates, amounts)]

    # -- sourcing -----------------------------------------------------------------------------
    def sourcing(self) -> dict[str, Any]:
        a, order, lines = self.a, self.order, self.lines
        R = "sourcing-network/"
        service = self.sub("shipping").get("service")
        region = self.sub("ship_to").get("region")
        region = r(region) if region is not None else None
        net = a.networks.get(region) if region is not None else None
        tier = self.customer().get("tier")
        self.taken: dict[tuple[str, str], Decimal] = {}
        self.tables: dict[tuple[str, str], Any] = {}
        self.placed: dict[tuple[str, str], Decimal] = {}
        sourced: dict[int, dict[str, Any]] = {}
        done = [False] * len(lines)
        services = [line.get("category") != "services" for line in lines]
        us, eu = r(region).startswith("us-"), r(region).startswith("eu-")
        # (rule, applies to line i, from, prefer, split), by priority; every one but the last
        # stops the pack for its line
        def network(key: str) -> Any:
            return net[key] if net is not None else None
        plan = [
            ("store-pickup", lambda i: service == "pickup" and services[i],
             lambda: [order.get("store")], "nearest", False),
            ("drop-ship-us", lambda i: us and self.supplier(i) == "DS-FASTCO",
             lambda: ["DS-FASTCO"], "nearest", False),
            ("drop-ship-eu", lambda i: eu and self.supplier(i) == "DS-ELEKTRA",
             lambda: ["DS-ELEKTRA"], "nearest", False),
            ("protected-stock", lambda i: tier in ("platinum", "gold") and self.prods[i]
             is not None and self.prods[i]["protected"] == "Y",
             lambda: network("with_reserve"), "nearest", True),
            ("ship-complete", lambda i: order.get("ship_complete") is True and services[i],
             lambda: network("locations"), "nearest", False),
            ("economy", lambda i: service == "economy" and services[i],
             lambda: network("locations"), "cheapest", True),
            ("export", lambda i: region == "intl" and services[i],
             lambda: network("locations"), "cheapest", True),
            ("standard", lambda i: services[i], lambda: network("locations"), "nearest", True),
        ]
        for rule, applies, frm, prefer, split in plan:
            for i, line in enumerate(lines):
                if done[i] or not applies(i):
                    continue
                self.fire(R + rule)
                if rule != "standard":
                    done[i] = True
                if i in sourced:
                    continue
                candidates = frm()
                if candidates is None:
                    continue
                candidates = [c if c.__class__ is str else r(c) for c in candidates]
                sourced[i] = self.source_line(i, line, candidates, region, prefer, split)
        return {"lines": [sourced[i] for i in sorted(sourced)]}

    def supplier(self, i: int) -> Any:
        p = self.prods[i]
        return p["supplier"] if p is not None else None

    def source_line(self, i: int, line: dict[str, Any], candidates: list[str],
                    region: str | None, prefer: str, split: bool) -> dict[str, Any]:
        a = self.a
        qty = line["quantity"]
        sku = line.get("sku")
        sku = sku if sku.__class__ is str else r(sku)
        as_of = self.as_of
        allocations = []
        remaining = qty
        ranked = a.ranking(tuple(candidates), region, prefer) if region is not None else []
        taken = self.taken
        for loc, route in ranked:
            if remaining <= 0:
                break
            key = (loc, sku)
            have = a.on_hand.get(key, ZERO) - taken.get(key, ZERO)
            if have <= 0 or (not split and have < remaining):
                continue
            take = min(have, remaining)
            taken[key] = taken.get(key, ZERO) + take
            remaining -= take
            ship = as_of + a.handling.get(loc, NO_TIME)
            allocations.append({"location": loc, "quantity": plain(take),
                                "ship_date": ship.isoformat(),
                                "arrival_date": (ship + route.transit).isoformat()})
            if not split:
                break
        out = {"line_id": line_id(line, i), "sku": line.get("sku"),
               "backordered": plain(remaining), "allocations": allocations}
        if a.atp is not None:
            out["promise"] = self.promise(sku, allocations, remaining, ranked)
        return out

    def promise(self, sku: str, allocations: list[dict[str, Any]], backordered: Decimal,
                ranked: list[tuple[str, Route]]) -> dict[str, Any]:
        as_of = self.as_of.isoformat()
        parts = [dict(x, **{"from": "on_hand"}) for x in allocations]
        trace = [{"step": "on_hand", "location": x["location"], "date": as_of,
                  "quantity": x["quantity"], "note": ""} for x in allocations]
        short = backordered
        if backordered > 0 and ranked:
            ranked = list(ranked)
            while short > 0 and ranked:
                found = self.best(ranked, sku, short, trace)
                if found is None:
                    break
                pos, made, after = found
                loc, route = ranked.pop(pos)
                self.tables[(loc, sku)] = after
                handling = self.a.handling.get(loc, NO_TIME)
                for p in made.parts:
                    ship = p.ship_date + handling
                    parts.append({"location": loc, "quantity": plain(p.quantity),
                                  "ship_date": ship.isoformat(),
                                  "arrival_date": (ship + route.transit).isoformat(),
                                  "from": "atp" if p.bucket is not None else "infinite_fence"})
                trace += [{"step": s.what, "location": loc,
                           "date": s.date.isoformat() if s.date else None,
                           "quantity": plain(s.quantity), "note": s.note} for s in made.trace]
                short = made.short
        last = max(parts, key=lambda p: p["ship_date"], default=None)
        return {"ship_date": last["ship_date"] if last else None,
                "arrival_date": max(p["arrival_date"] for p in parts) if parts else None,
                "short": plain(short), "parts": parts, "trace": trace}

    def best(self, ranked: list[tuple[str, Route]], sku: str, qty: Decimal,
             trace: list[dict[str, Any]]) -> Any:
        a = self.a
        as_of = self.as_of
        best = None
        for pos, (loc, _route) in enumerate(ranked):
            key = (loc, sku)
            if a.atp.rule.infinite_fence_days is None and key not in a.atp.supply \
                    and a.on_hand.get(key, ZERO) - self.taken.get(key, ZERO) <= 0:
                continue
            made, after = atp_promise(self.table(loc, sku), qty, as_of, as_of, item=sku,
                                      location=loc)
            ship = made.ship_date + a.handling.get(loc, NO_TIME) if made.ship_date else None
            trace.append({"step": "location", "location": loc,
                          "date": ship.isoformat() if ship else None,
                          "quantity": plain(made.promised),
                          "note": f"short {plain(made.short)}" if made.short else ""})
            rank = (made.short, made.ship_date or datetime.date.max, pos)
            if made.parts and (best is None or rank < best[0]):
                best = (rank, pos, made, after)
        return None if best is None else best[1:]

    def table(self, loc: str, sku: str) -> Any:
        a = self.a
        key = (loc, sku)
        table = self.tables.get(key)
        if table is None:
            on_hand = a.on_hand.get(key, ZERO)
            cached = (loc, sku, on_hand)
            table = a.atp_tables.get(cached)
            if table is None:
                setup = a.atp
                if a.buckets is None or a.buckets.starts[0] != self.as_of:
                    a.buckets = Buckets.daily(self.as_of, setup.horizon_days, setup.calendar)
                supplies = [Supply(sku, loc, SupplyType.ON_HAND, self.as_of, on_hand)] \
                    if on_hand > 0 else []
                supplies += setup.supply.get(key, ())
                table = a.atp_tables[cached] = build(setup.rule, a.buckets, self.as_of,
                                                     supplies, ())
            self.placed[key] = ZERO
        missing = self.taken.get(key, ZERO) - self.placed[key]
        if missing > 0:
            table = table.with_demand(0, missing)
            self.placed[key] += missing
        self.tables[key] = table
        return table

    # -- approval -----------------------------------------------------------------------------
    def approval(self) -> None:
        a, order, lines = self.a, self.order, self.lines
        f = self.final
        R = "approvals/"
        per_usd = f["per_usd"]
        total, subtotal, depth = f["total"], f["subtotal"], f["discount_percent"]
        currency = order.get("currency")

        def need(rule: str, role: str, level: int, reason: str) -> None:
            self.fire(R + rule)
            self.approvals.append({"rule": R + rule, "role": role, "level": level,
                                   "reason": reason})
        for limit, role, level in ((25, "sales-manager", 1), (35, "sales-director", 2),
                                   (45, "cfo", 3)):
            if depth > limit:
                need("discount-depth", role, level, f"discount of {r(depth)}%")
        usd_total = total / per_usd if per_usd is not None else None
        if usd_total is not None:
            hit = ("cfo", 3) if usd_total >= 250000 else ("sales-director", 2) \
                if usd_total >= 100000 else ("sales-manager", 1) if usd_total >= 50000 else None
            if hit is not None:
                need("order-value", hit[0], hit[1],
                     f"order total {r(total)} {r(currency)}")
        if per_usd is not None:
            cost = ZERO
            for line, p in zip(lines, self.prods):
                q = line.get("quantity")
                c = p["cost_usd"] if p is not None else None
                if q is not None:
                    cost += q * (c if c is not None else ZERO)
            margin = (subtotal - cost * per_usd) / max(subtotal, CENT) * 100
            hit = ("cfo", 3) if margin < 0 else ("sales-director", 2) if margin < 5 else \
                ("sales-manager", 1) if margin < 12 else None
            if hit is not None:
                need("margin-floor", hit[0], hit[1], "margin below the floor")
        cust = self.customer()
        method = self.sub("payment").get("method")
        ob, limit = cust.get("open_balance"), cust.get("credit_limit")
        exposure = ob + total if ob is not None else None
        if method == "invoice" and lt(limit, exposure):
            need("credit-exception", "credit-controller", 2,
                 f"exposure {r(exposure)} over the limit {r(limit)}")
        if method == "invoice" and lt(mul(limit, D("1.5")), exposure):
            need("credit-exception-severe", "cfo", 3, "exposure far over the credit limit")
        md = self.sub("attributes").get("manual_discount")
        chan = a.channels.get(order.get("channel"))
        mlimit = chan["manual_discount_limit"] if chan else None
        if lt(mlimit, md):
            need("manual-discount-over-limit", "sales-manager", 1,
                 f"manual discount {r(md)}% above the {r(mlimit)}% limit")
        if order.get("channel") == "field-sales" \
                and any(line.get("unit_price") is not None for line in lines):
            need("negotiated-price", "sales-manager", 1, "negotiated line prices")
        since = as_date(cust.get("since"))
        if since is not None and (self.as_of - since).days < 90 \
                and lt(D(10000), usd_total):
            need("new-account-large-order", "credit-controller", 1,
                 "new account, large first orders")
        if cust.get("segment") == "government" and usd_total is not None \
                and usd_total >= 50000:
            need("government-tender", "contracts-office", 2, "public-sector order over USD 50000")
        if any(self.policy(line) in ("strict", "advanced-computing") for line in lines) \
                and lt(D(25000), usd_total):
            need("controlled-items-value", "trade-compliance", 1,
                 "controlled items over USD 25000")

    def policy(self, line: dict[str, Any]) -> Any:
        e = line.get("eccn")
        row = self.a.eccn.get(e) if e is not None else None
        return row["policy"] if row else None


def line_id(line: dict[str, Any], index: int) -> str:
    v = line.get("id")
    return r(v) if v is not None else str(index + 1)


WAREHOUSES = {"us-east": "WH-NJ", "us-central": "WH-TX", "us-west": "WH-NV",
              "ca-east": "WH-ON", "ca-west": "WH-ON", "uk": "WH-UK", "eu-west": "WH-NL",
              "eu-south": "WH-NL", "eu-central": "WH-DE", "eu-north": "WH-DE",
              "eu-east": "WH-PL", "jp": "WH-JP", "intl": "WH-NJ"}
LISTS = ("USD", "EUR", "GBP", "CAD", "CHF", "SEK", "PLN", "JPY")
SEGMENT_TIER = {}
for _seg, _rates in (("wholesale", (22, 18, 14, 10, 8)), ("contractor", (15, 12, 9, 6, 3)),
                     ("manufacturing", (15, 12, 9, 6, 3))):
    for _tier, _p in zip(("platinum", "gold", "silver", "bronze", "standard"), _rates):
        SEGMENT_TIER[(_seg, _tier)] = D(_p)
for _tier, _p in (("platinum", 10), ("gold", 10), ("silver", 6), ("bronze", 6)):
    SEGMENT_TIER[("retail", _tier)] = D(_p)
BLACK_FRIDAY = (datetime.date(2026, 11, 23), datetime.date(2026, 11, 30))
SPRING = (datetime.date(2026, 3, 1), datetime.date(2026, 4, 30))


def read_order(raw: bytes) -> dict[str, Any]:
    """One order of the stream: numbers exact, a quantity or price given as text read too."""
    order: dict[str, Any] = json.loads(raw, parse_float=D, parse_int=D)
    for line in order.get("lines") or ():
        for k in ("quantity", "unit_price"):
            v = line.get(k)
            if v.__class__ is str:
                line[k] = D(v)
    return order


def run(ruleset: Path, src: Any, out: Any, as_of: datetime.date) -> int:
    acme = Acme(ruleset)
    n = 0
    for raw in src:
        if not raw.strip():
            continue
        out.write(dumpb(acme.decide(read_order(raw), as_of)) + b"\n")
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
