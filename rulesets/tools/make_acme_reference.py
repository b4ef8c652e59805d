"""Write the reference tables of the ACME rule sets (rulesets/acme and rulesets/acme-candidate).

    .venv/bin/python rulesets/tools/make_acme_reference.py

Deterministic: the same script gives the same bytes (one random.Random(SEED), no clock, no
global random). Real data comes from pycountry, babel and iso4217 (installed at the versions of
requirements.lock) and from the extracts in
rulesets/tools/sources/ (see extract_sources.py); everything about the company itself
(customers, products, prices, stock, locations, lanes, contract prices, planning FX rates) is
invented here, and SOURCES.md says so table by table.

The candidate rule set gets the same tables plus one more warehouse (WH-ES, Zaragoza) with its
stock and lanes: `--only acme` or `--only acme-candidate` writes just one of them.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import random
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import babel.numbers
import iso4217
import pycountry

ROOT = Path(__file__).resolve().parent.parent
SOURCES = Path(__file__).resolve().parent / "sources"
SEED = 20261125
AS_OF = datetime.date(2026, 11, 1)  # the date for which currencies are looked up

SALES_COUNTRIES = ["US", "CA", "GB", "DE", "FR", "NL", "IT", "ES", "PL", "SE", "CH", "JP"]
COUNTRY_WEIGHTS = [35, 7, 10, 12, 7, 5, 4, 4, 4, 3, 3, 6]
TRADE_CURRENCIES = ["USD", "EUR", "GBP", "CAD", "CHF", "SEK", "PLN", "JPY"]

# Planning rates set by ACME's finance team for list prices and margin checks (invented):
# units of the currency per US dollar.
FX = {"USD": "1", "EUR": "0.92", "GBP": "0.79", "CAD": "1.37", "CHF": "0.88",
      "SEK": "10.60", "PLN": "3.98", "JPY": "150"}
FX_DATE = "2026-11-01"  # the day finance set the planning rates (written into fx.csv)

REGION_OF_COUNTRY = {
    "GB": "uk", "IE": "eu-west", "FR": "eu-west", "BE": "eu-west", "NL": "eu-west", "LU": "eu-west",
    "DE": "eu-central", "AT": "eu-central", "CH": "eu-central", "LI": "eu-central", "CZ": "eu-central",
    "SE": "eu-north", "NO": "eu-north", "DK": "eu-north", "FI": "eu-north", "IS": "eu-north",
    "EE": "eu-north", "LV": "eu-north", "LT": "eu-north",
    "ES": "eu-south", "PT": "eu-south", "IT": "eu-south", "GR": "eu-south", "MT": "eu-south",
    "CY": "eu-south", "SI": "eu-south", "HR": "eu-south", "MC": "eu-south",
    "PL": "eu-east", "SK": "eu-east", "HU": "eu-east", "RO": "eu-east", "BG": "eu-east",
    "JP": "jp", "MX": "us-central",
}
US_EAST = ["CT", "DE", "DC", "FL", "GA", "ME", "MD", "MA", "NH", "NJ", "NY", "NC", "PA", "RI", "SC", "VT", "VA", "WV", "OH", "MI", "IN", "KY", "TN", "AL"]
US_WEST = ["WA", "OR", "CA", "NV", "ID", "UT", "AZ", "MT", "WY", "CO", "NM", "AK", "HI"]
# Canadian provinces by region; ON/QC and the Atlantic provinces east, the rest west.
CA_EAST = ["ON", "QC", "NB", "NS", "PE", "NL"]

# State base sales tax in percent, transcribed by hand (see SOURCES.md): only the states the
# invented customers live in; local rates are ignored.
US_STATE_TAX = {
    "CA": "7.25", "NY": "4", "TX": "6.25", "FL": "6", "IL": "6.25", "PA": "6", "OH": "5.75",
    "GA": "4", "NC": "4.75", "MI": "6", "NJ": "6.625", "WA": "6.5", "MA": "6.25", "CO": "2.9",
    "OR": "0", "DE": "0", "MT": "0", "NH": "0", "MN": "6.875", "AZ": "5.6",
}
US_STATE_WEIGHTS = {
    "CA": 14, "TX": 11, "NY": 9, "FL": 8, "IL": 6, "PA": 5, "OH": 5, "GA": 4, "NC": 4, "MI": 4,
    "NJ": 4, "WA": 3, "MA": 3, "CO": 3, "OR": 2, "DE": 1, "MT": 1, "NH": 1, "MN": 3, "AZ": 3,
}
CA_PROVINCES = {"ON": 50, "QC": 25, "BC": 15, "AB": 10}
# Provincial sales tax on top of (or harmonised with) the 5% GST, in percent.
CA_PROVINCE_TAX = {"ON": ("HST", "8"), "QC": ("QST", "9.975"), "BC": ("PST", "7"), "AB": ("none", "0")}

CITIES = {
    "US": {"CA": ["Los Angeles", "San Jose", "Fresno", "Sacramento"], "TX": ["Houston", "Dallas", "Austin"],
           "NY": ["New York", "Buffalo", "Albany"], "FL": ["Miami", "Tampa", "Orlando"],
           "IL": ["Chicago", "Peoria"], "PA": ["Philadelphia", "Pittsburgh"], "OH": ["Columbus", "Cleveland"],
           "GA": ["Atlanta", "Savannah"], "NC": ["Charlotte", "Raleigh"], "MI": ["Detroit", "Grand Rapids"],
           "NJ": ["Newark", "Edison"], "WA": ["Seattle", "Spokane"], "MA": ["Boston", "Worcester"],
           "CO": ["Denver", "Boulder"], "OR": ["Portland", "Eugene"], "DE": ["Wilmington"],
           "MT": ["Billings"], "NH": ["Manchester"], "MN": ["Minneapolis"], "AZ": ["Phoenix", "Tucson"]},
    "CA": {"ON": ["Toronto", "Ottawa", "Hamilton"], "QC": ["Montreal", "Quebec City"],
           "BC": ["Vancouver", "Victoria"], "AB": ["Calgary", "Edmonton"]},
    "GB": ["London", "Birmingham", "Manchester", "Leeds", "Glasgow", "Bristol"],
    "DE": ["Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt", "Stuttgart", "Leipzig"],
    "FR": ["Paris", "Lyon", "Marseille", "Toulouse", "Lille"],
    "NL": ["Amsterdam", "Rotterdam", "Utrecht", "Eindhoven"],
    "IT": ["Milan", "Rome", "Turin", "Bologna"],
    "ES": ["Madrid", "Barcelona", "Valencia", "Zaragoza"],
    "PL": ["Warsaw", "Krakow", "Poznan", "Wroclaw"],
    "SE": ["Stockholm", "Gothenburg", "Malmo"],
    "CH": ["Zurich", "Geneva", "Basel"],
    "JP": ["Tokyo", "Osaka", "Nagoya", "Yokohama"],
}
COMPANY_SUFFIX = {"US": ["Inc", "LLC", "Corp"], "CA": ["Inc", "Ltd"], "GB": ["Ltd", "plc"],
                  "DE": ["GmbH", "AG"], "FR": ["SAS", "SA"], "NL": ["BV"], "IT": ["Srl", "SpA"],
                  "ES": ["SL", "SA"], "PL": ["Sp. z o.o."], "SE": ["AB"], "CH": ["AG", "GmbH"],
                  "JP": ["K.K."]}
NAME_FIRST = ["Northfield", "Bayside", "Redwood", "Ironbridge", "Harborview", "Summitline", "Lakeshore", "Granitefall", "Pioneer", "Keystone", "Meridian", "Crescent", "Falconer", "Oakridge", "Riverbend", "Stonegate", "Bluewater", "Copperleaf", "Highmoor", "Westbrook", "Eastgate", "Silverpine", "Maplecrest", "Foxhollow", "Brightwater", "Elmstead", "Cedarline", "Hawthorne", "Kingsford", "Larkspur", "Millbrook", "Northstar", "Pinecrest", "Quarryside", "Rosewood", "Sandhurst", "Thornbury", "Valleyforge", "Whitmore", "Yellowstone"]
NAME_TRADE = {
    "wholesale": ["Industrial Supply", "Wholesale Distributors", "Trade Supply", "Building Products"],
    "contractor": ["Electrical Contractors", "Mechanical Services", "Construction", "Plumbing & Heating"],
    "retail": ["Hardware", "Home & Garden", "Tool Centre", "DIY Stores"],
    "education": ["Community College", "School District", "Technical Institute"],
    "government": ["Public Works Department", "County Facilities", "Transit Authority"],
    "manufacturing": ["Precision Manufacturing", "Fabrication Works", "Plastics", "Machining"],
}
SEGMENT_WEIGHTS = {"wholesale": 22, "contractor": 24, "retail": 16, "education": 8,
                   "government": 8, "manufacturing": 22}
TIERS = ["platinum", "gold", "silver", "bronze", "standard"]
TIER_WEIGHTS = [2, 8, 20, 30, 40]

# Product families: prefix, category, uom, pack size, (min, max) USD price, ECCN choices, names.
FAMILIES = [
    ("FAS", "fasteners", "BX", 100, (4, 60), ["EAR99"],
     ["Hex Bolt M{n}x{m} zinc", "Hex Nut M{n} A2", "Wood Screw {n}x{m}mm", "Concrete Anchor M{n}",
      "Washer M{n} DIN125", "Self-tapping Screw {n}x{m}"]),
    ("HTL", "hand-tools", "EA", 1, (8, 140), ["EAR99"],
     ["Combination Spanner {n}mm", "Claw Hammer {m}oz", "Screwdriver Set {n}pc", "Tape Measure {n}m",
      "Socket Set {m}pc", "Torque Wrench {m}Nm"]),
    ("PTL", "power-tools", "EA", 1, (60, 900), ["EAR99"],
     ["Cordless Drill {n}V", "Angle Grinder {m}mm", "Impact Driver {n}V", "Circular Saw {m}mm",
      "Rotary Hammer SDS {n}J"]),
    ("SAF", "safety", "PR", 1, (3, 90), ["EAR99", "EAR99", "EAR99", "EAR99", "1A004.a"],
     ["Nitrile Gloves size {n}", "Safety Glasses EN166 {n}", "Hard Hat class {n}",
      "Hi-Vis Vest class {n}", "Full-face CBRN Respirator model {m}"]),
    ("ELC", "electrical", "EA", 1, (2, 250), ["EAR99"],
     ["Circuit Breaker {n}A", "Cable NYM 3x{n} per m", "Junction Box IP{m}", "Terminal Block {n}-pole",
      "Cable Tie {m}mm"]),
    ("LGT", "lighting", "EA", 1, (10, 300), ["EAR99"],
     ["LED Panel {m}W", "High-bay LED {m}W", "Work Light {n}000lm", "Emergency Exit Sign {n}h"]),
    ("PLB", "plumbing", "EA", 1, (5, 600), ["EAR99", "2B350.g", "EAR99", "EAR99"],
     ["Ball Valve DN{m}", "PTFE-lined Valve DN{m}", "Press Fitting {m}mm", "Pipe Clamp {m}mm"]),
    ("JAN", "janitorial", "CS", 12, (12, 80), ["EAR99"],
     ["Paper Towel case {n}", "Floor Cleaner {n}L", "Trash Bags {m}L case", "Hand Soap {n}L"]),
    ("CHM", "chemicals", "EA", 1, (15, 400), ["EAR99", "EAR99", "1C350", "EAR99"],
     ["Isopropyl Alcohol {n}L", "Cutting Oil {n}L", "Triethanolamine 99% {n}L", "Degreaser {n}L"]),
    ("NET", "networking", "EA", 1, (40, 3500), ["5A992.c", "5A992.c", "5A992.c", "5A002.a"],
     ["Managed Switch {m}-port", "Wi-Fi 6 Access Point {n}", "VPN Router {n}",
      "Network Encryptor HA-{m}"]),
    ("INS", "instruments", "EA", 1, (80, 9000), ["3A992.a", "6A003.b.4.b", "7A994", "EAR99"],
     ["Oscilloscope {m}MHz", "Thermal Imaging Camera {n}", "GNSS Receiver {n}", "Multimeter {n}"]),
    ("CMP", "computing", "EA", 1, (600, 30000), ["5A992.c", "5A992.c", "3A090.a", "4A090.a"],
     ["Rugged Laptop {n}", "Industrial PC {n}", "Accelerator Card {m}GB", "AI Server {n}U"]),
    ("MCH", "machinery", "EA", 1, (900, 45000), ["EAR99", "2B991", "2B001.a", "EAR99"],
     ["Bench Drill {n}", "CNC Lathe {n}", "5-axis Machining Centre {n}", "Band Saw {m}mm"]),
    ("CON", "consumer", "EA", 1, (5, 250), ["EAR99", "EAR99", "EAR99", "5A992.c", "EAR99"],
     ["LED Flashlight {n}", "Bluetooth Speaker {n}", "Camping Lantern {n}", "Smart Plug {n}",
      "Coffee Maker {n}"]),
    ("SVC", "services", "EA", 1, (0, 0), ["EAR99", "EAR99", "5D992.c", "EAR99"],
     ["Extended Warranty plan {n}", "Maintenance Plan {n}", "Fleet Software Subscription {n}",
      "Calibration Service {n}"]),
]
FAMILY_COUNTS = {"FAS": 40, "HTL": 30, "PTL": 24, "SAF": 24, "ELC": 30, "LGT": 18, "PLB": 20,
                 "JAN": 16, "CHM": 12, "NET": 16, "INS": 16, "CMP": 12, "MCH": 10, "CON": 30,
                 "SVC": 12}
ECCN_TABLE = [
    # eccn, description, control reasons, licence policy (see packs/compliance/export.yaml)
    ("EAR99", "Items subject to the EAR not on the Commerce Control List", "", "none"),
    ("1A004.a", "Protective equipment: full-face masks for CBRN protection", "CB1 NS1 AT1", "strict"),
    ("1C350", "Chemicals usable as precursors for toxic chemical agents", "CB2 CW AT1", "strict"),
    ("2B001.a", "Machine tools for turning with high positioning accuracy", "NS2 NP1 AT1", "strict"),
    ("2B350.g", "Corrosion-resistant valves for chemical manufacturing", "CB2 AT1", "strict"),
    ("2B991", "Numerical control units and machine tools not in 2B001", "AT1", "anti-terror"),
    ("3A090.a", "Advanced computing integrated circuits", "NS2 RS AT1", "advanced-computing"),
    ("3A992.a", "General purpose electronic test equipment", "AT1", "anti-terror"),
    ("4A090.a", "Computers containing 3A090 integrated circuits", "NS2 RS AT1", "advanced-computing"),
    ("5A002.a", "Information security systems (non-mass-market encryption)", "NS1 AT1", "strict"),
    ("5A992.c", "Mass-market encryption items", "AT1", "anti-terror"),
    ("5D992.c", "Mass-market encryption software", "AT1", "anti-terror"),
    ("6A003.b.4.b", "Thermal imaging cameras (uncooled focal plane arrays)", "NS2 RS2 AT1", "strict"),
    ("7A994", "Other navigation equipment (GNSS receivers)", "AT1", "anti-terror"),
]

# Locations (invented): id, type, country, region, handling_days, city.
LOCATIONS = [
    ("WH-NJ", "warehouse", "US", "us-east", 1, "Edison"),
    ("WH-TX", "warehouse", "US", "us-central", 1, "Dallas"),
    ("WH-NV", "warehouse", "US", "us-west", 1, "Reno"),
    ("WH-ON", "warehouse", "CA", "ca-east", 1, "Mississauga"),
    ("WH-UK", "warehouse", "GB", "uk", 1, "Daventry"),
    ("WH-NL", "warehouse", "NL", "eu-west", 1, "Venlo"),
    ("WH-DE", "warehouse", "DE", "eu-central", 1, "Kassel"),
    ("WH-PL", "warehouse", "PL", "eu-east", 2, "Poznan"),
    ("WH-JP", "warehouse", "JP", "jp", 1, "Osaka"),
    ("ST-CHI", "store", "US", "us-central", 0, "Chicago"),
    ("ST-LDN", "store", "GB", "uk", 0, "London"),
    ("ST-BER", "store", "DE", "eu-central", 0, "Berlin"),
    ("DS-FASTCO", "dropship", "US", "us-central", 3, "Tulsa"),
    ("DS-ELEKTRA", "dropship", "DE", "eu-central", 2, "Nuremberg"),
    ("RS-NJ", "reserve", "US", "us-east", 1, "Edison"),
    ("RS-NL", "reserve", "NL", "eu-west", 1, "Venlo"),
]
CANDIDATE_LOCATIONS = [("WH-ES", "warehouse", "ES", "eu-south", 1, "Zaragoza")]

# Lanes (invented): from, to (region or location), transit_days, cost_per_unit in USD.
LANES = [
    ("WH-NJ", "us-east", 2, "0.60"), ("WH-NJ", "us-central", 3, "0.85"), ("WH-NJ", "us-west", 5, "1.20"),
    ("WH-NJ", "ca-east", 3, "1.10"), ("WH-NJ", "intl", 8, "3.50"),
    ("WH-TX", "us-central", 2, "0.55"), ("WH-TX", "us-east", 3, "0.80"), ("WH-TX", "us-west", 3, "0.80"),
    ("WH-NV", "us-west", 2, "0.60"), ("WH-NV", "us-central", 3, "0.85"), ("WH-NV", "us-east", 5, "1.20"),
    ("WH-NV", "jp", 9, "3.20"),
    ("WH-NV", "ca-west", 3, "1.10"),
    ("WH-ON", "ca-east", 2, "0.70"), ("WH-ON", "ca-west", 5, "1.40"),
    ("WH-UK", "uk", 1, "0.50"),
    ("WH-NL", "eu-west", 1, "0.45"), ("WH-NL", "eu-central", 2, "0.60"), ("WH-NL", "eu-north", 3, "0.90"),
    ("WH-NL", "eu-south", 4, "0.95"), ("WH-NL", "uk", 3, "1.30"), ("WH-NL", "intl", 9, "3.00"),
    ("WH-DE", "eu-central", 1, "0.45"), ("WH-DE", "eu-west", 2, "0.60"), ("WH-DE", "eu-east", 2, "0.55"),
    ("WH-DE", "eu-north", 3, "0.85"), ("WH-DE", "eu-south", 3, "0.85"),
    ("WH-PL", "eu-east", 1, "0.35"), ("WH-PL", "eu-central", 2, "0.50"), ("WH-PL", "eu-north", 3, "0.70"),
    ("WH-JP", "jp", 1, "0.50"),
    ("ST-CHI", "us-central", 1, "0.90"), ("ST-LDN", "uk", 1, "0.80"), ("ST-BER", "eu-central", 1, "0.80"),
    ("DS-FASTCO", "WH-TX", 1, "0.20"), ("DS-FASTCO", "us-central", 3, "0.70"),
    ("DS-ELEKTRA", "WH-DE", 1, "0.15"), ("DS-ELEKTRA", "eu-central", 2, "0.50"),
    # Reserve cages sit in the warehouse buildings: same transit times as their host, so on a tie
    # the network's order (reserve last) decides and reserve stock is the last drawn.
    ("RS-NJ", "us-east", 2, "0.60"), ("RS-NJ", "us-central", 3, "0.85"), ("RS-NJ", "us-west", 5, "1.20"),
    ("RS-NL", "eu-west", 1, "0.45"), ("RS-NL", "eu-central", 2, "0.60"), ("RS-NL", "eu-south", 4, "0.95"),
]
CANDIDATE_LANES = [("WH-ES", "eu-south", 1, "0.40"), ("WH-ES", "eu-west", 2, "0.55"),
                   ("WH-ES", "eu-central", 3, "0.75")]

# Sourcing networks per delivery region (invented): the locations that may serve it, and the
# same with the reserve locations whose stock is protected for top customers.
NETWORKS = {
    "us-east": ["WH-NJ", "WH-TX", "WH-NV"], "us-central": ["WH-TX", "WH-NJ", "WH-NV"],
    "us-west": ["WH-NV", "WH-TX", "WH-NJ"], "ca-east": ["WH-ON", "WH-NJ"], "ca-west": ["WH-ON", "WH-NV"],
    "uk": ["WH-UK", "WH-NL"], "eu-west": ["WH-NL", "WH-DE", "WH-PL"], "eu-central": ["WH-DE", "WH-NL", "WH-PL"],
    "eu-east": ["WH-PL", "WH-DE"], "eu-north": ["WH-DE", "WH-NL", "WH-PL"], "eu-south": ["WH-NL", "WH-DE"],
    "jp": ["WH-JP", "WH-NV"], "intl": ["WH-NJ", "WH-NL"],
}
RESERVES = {"us-east": "RS-NJ", "us-central": "RS-NJ", "us-west": "RS-NJ", "eu-west": "RS-NL",
            "eu-central": "RS-NL", "eu-south": "RS-NL"}
CANDIDATE_NETWORK_ADDITIONS = {"eu-south": "WH-ES", "eu-west": "WH-ES", "eu-central": "WH-ES"}

PROMOTIONS = [
    # code, description, from, until, percent, category (or "-"), min_subtotal in order currency
    ("SPRING26", "Spring tool event", "2026-03-01", "2026-04-30", "10", "hand-tools", "0"),
    ("SAFETY-MONTH", "National safety month", "2026-06-01", "2026-06-30", "12", "safety", "0"),
    ("BTS26", "Back to school: lighting and janitorial", "2026-08-01", "2026-09-15", "8", "janitorial", "0"),
    ("BF26", "Black Friday week", "2026-11-23", "2026-11-30", "15", "power-tools", "100"),
    ("CM26", "Cyber Monday", "2026-11-30", "2026-11-30", "10", "-", "250"),
    ("WINTER26", "Winter lighting", "2026-12-01", "2027-01-31", "10", "lighting", "0"),
    ("NEWYEAR27", "New year clearance", "2027-01-01", "2027-01-15", "20", "consumer", "50"),
]


def money(x: Decimal, currency: str) -> Decimal:
    places = 0 if currency == "JPY" else 2
    return x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def list_price(usd: Decimal, currency: str) -> Decimal:
    """A list price in another currency: the planning rate, rounded to a price point."""
    raw = usd * Decimal(FX[currency])
    if currency == "JPY":
        return (raw / 10).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 10
    if raw >= 100:
        return raw.quantize(Decimal(1), rounding=ROUND_HALF_UP) - Decimal("0.01")
    return money(raw, currency)


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(["" if v is None else v for v in row])


def vat_extract() -> list[dict[str, str]]:
    with open(SOURCES / "vat_rates.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def countries() -> list[list]:
    vat = {r["country"]: r for r in vat_extract()}
    rows = []
    for c in sorted(pycountry.countries, key=lambda c: c.alpha_2):
        cur = babel.numbers.get_territory_currencies(c.alpha_2, AS_OF)
        currency = cur[0] if cur else ""
        if c.alpha_2 == "BG":
            currency = "EUR"  # Bulgaria adopted the euro on 2026-01-01; CLDR in babel 2.18 lags
        region = REGION_OF_COUNTRY.get(c.alpha_2, "intl")
        v = vat.get(c.alpha_2)
        rows.append([c.alpha_2, c.name, c.alpha_3, currency, region,
                     "Y" if c.alpha_2 in SALES_COUNTRIES else "N",
                     v["eu_member"] if v else "N"])
    return rows


def currencies() -> list[list]:
    rows = []
    for c in sorted(pycountry.currencies, key=lambda c: c.alpha_3):
        # ISO 4217's own table (the iso4217 package), not CLDR: babel's precision is CLDR's
        # cash/accounting digits, which changed for COP, HUF, IDR and RSD between releases.
        # A code ISO 4217 gives no minor unit (N.A.: gold, SDR, ...) is left empty.
        try:
            exponent = iso4217.Currency(c.alpha_3).exponent
        except ValueError:
            exponent = None
        places = "" if exponent is None else exponent
        rows.append([c.alpha_3, c.name, places, "Y" if c.alpha_3 in TRADE_CURRENCIES else "N",
                     FX.get(c.alpha_3, "")])
    return rows


def tax_rates() -> list[list]:
    """One row per tax jurisdiction: VAT countries (real, from the extract), US states, Canada."""
    rows = []
    for r in vat_extract():
        rows.append([r["country"], "VAT", r["standard"], r["reduced"], r["eu_member"],
                     r["vat_id_pattern"], f"eu-vat-rates-data {r['data_version']}"])
    rows.append(["JP", "consumption", "10", "8", "N", "", "National Tax Agency (hand)"])
    rows.append(["CA", "GST", "5", "", "N", "", "Canada Revenue Agency (hand)"])
    for prov, (kind, rate) in sorted(CA_PROVINCE_TAX.items()):
        rows.append([f"CA-{prov}", kind, rate, "", "N", "", "provincial revenue agency (hand)"])
    for st, rate in sorted(US_STATE_TAX.items()):
        rows.append([f"US-{st}", "sales", rate, "", "N", "", "state department of revenue (hand)"])
    return rows


def subdivisions() -> list[list]:
    rows = []
    for st in sorted(US_STATE_WEIGHTS):
        sub = pycountry.subdivisions.get(code=f"US-{st}")
        region = "us-east" if st in US_EAST else "us-west" if st in US_WEST else "us-central"
        rows.append([f"US-{st}", "US", st, sub.name, region])
    for prov in sorted(CA_PROVINCES):
        sub = pycountry.subdivisions.get(code=f"CA-{prov}")
        rows.append([f"CA-{prov}", "CA", prov, sub.name, "ca-east" if prov in CA_EAST else "ca-west"])
    return rows


def products(rng: random.Random) -> tuple[list[list], list[list], list[list]]:
    prods, prices, plans = [], [], []
    suppliers = {"FAS": "DS-FASTCO", "ELC": "DS-ELEKTRA"}
    for prefix, category, uom, pack, (lo, hi), eccns, names in FAMILIES:
        for i in range(1, FAMILY_COUNTS[prefix] + 1):
            sku = f"{prefix}-{i:04d}"
            k = (i - 1) % len(names)
            name = names[k].format(n=rng.choice([3, 4, 5, 6, 8, 10, 12, 16, 18, 20, 24]),
                                   m=rng.choice([25, 32, 40, 50, 64, 100, 125, 150, 200, 300]))
            eccn = eccns[k] if len(eccns) == len(names) else eccns[0]
            status = "discontinued" if rng.random() < 0.03 else "active"
            hazmat = "Y" if category == "chemicals" or (category == "power-tools" and k == 0) else "N"
            supplier = suppliers.get(prefix, "") if i % 3 == 0 else ""
            protected = "Y" if eccn in ("3A090.a", "4A090.a", "6A003.b.4.b") or (category == "power-tools" and i <= 4) else "N"
            if category == "services":
                usd = Decimal(0)
                monthly = Decimal(rng.randrange(900, 25000)) / 100
                period = "year" if k in (0, 2) else "month"
                term = 1 if period == "year" else rng.choice([12, 24, 36])
                if period == "year":
                    monthly = money(monthly * 12, "USD")
                plans.append([sku, period, term, f"{monthly:.2f}"])
                usd = Decimal(rng.randrange(4900, 19900)) / 100  # set-up fee
            else:
                # log-uniform-ish list price
                u = Decimal(rng.randrange(10000)) / 10000
                usd = (Decimal(lo) * (Decimal(hi) / Decimal(lo)) ** u).quantize(Decimal("0.01"))
            cost = (usd * Decimal(rng.randrange(45, 78)) / 100).quantize(Decimal("0.01"))
            weight = Decimal(rng.randrange(1, 400)) / 10 if category not in ("services",) else Decimal(0)
            if category == "machinery":
                weight = Decimal(rng.randrange(800, 30000)) / 10
            prods.append([sku, name, category, uom, pack, eccn, hazmat, f"{cost:.2f}", f"{weight:.1f}",
                          status, supplier, protected])
            prices.append([sku] + [f"{list_price(usd, c)}" for c in TRADE_CURRENCIES])
    return prods, prices, plans


def customers(rng: random.Random) -> list[list]:
    rows = []
    used = set()
    for i in range(1, 421):
        country = rng.choices(SALES_COUNTRIES, COUNTRY_WEIGHTS)[0]
        segment = rng.choices(list(SEGMENT_WEIGHTS), list(SEGMENT_WEIGHTS.values()))[0]
        tier = rng.choices(TIERS, TIER_WEIGHTS)[0]
        state = ""
        if country == "US":
            state = rng.choices(list(US_STATE_WEIGHTS), list(US_STATE_WEIGHTS.values()))[0]
            city = rng.choice(CITIES["US"][state])
        elif country == "CA":
            state = rng.choices(list(CA_PROVINCES), list(CA_PROVINCES.values()))[0]
            city = rng.choice(CITIES["CA"][state])
        else:
            city = rng.choice(CITIES[country])
        while True:
            base = f"{rng.choice(NAME_FIRST)} {rng.choice(NAME_TRADE[segment])}"
            if base not in used:
                used.add(base)
                break
        if segment in ("education", "government"):
            name = f"{city} {base.split(' ', 1)[1]}" if rng.random() < 0.5 else base
            if name in used:
                name = base
            used.add(name)
        else:
            name = f"{base} {rng.choice(COMPANY_SUFFIX[country])}"
        street = f"{rng.randrange(1, 9800)} {rng.choice(['Industrial', 'Commerce', 'Harbor', 'Station', 'Mill', 'Market', 'Park'])} {rng.choice(['Way', 'Road', 'Street', 'Avenue', 'Drive'])}"
        postal = {"US": f"{rng.randrange(10000, 99999)}-{rng.randrange(1000, 9999)}", "CA": f"M{rng.randrange(1, 9)}A {rng.randrange(1, 9)}B{rng.randrange(1, 9)}",
                  "GB": f"NN{rng.randrange(1, 18)} {rng.randrange(1, 9)}AB", "JP": f"{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
                  "SE": f"{rng.randrange(100, 999)} {rng.randrange(10, 99)}", "PL": f"{rng.randrange(10, 99)}-{rng.randrange(100, 999)}",
                  "NL": f"{rng.randrange(1000, 9999)} AB"}.get(country, f"{rng.randrange(10000, 99999)}" if country in ("DE", "FR", "IT", "ES") else f"{rng.randrange(1000, 9999)}")
        base_limit = {"platinum": 500000, "gold": 200000, "silver": 75000, "bronze": 30000, "standard": 10000}[tier]
        if segment in ("government", "education"):
            base_limit *= 2
        currency = "EUR" if country == "CH" and rng.random() < 0.3 else ""
        # Credit limits are set in the account's billing currency, in round thousands.
        billing = currency or {"US": "USD", "CA": "CAD", "GB": "GBP", "CH": "CHF", "SE": "SEK",
                               "PL": "PLN", "JP": "JPY"}.get(country, "EUR")
        credit_limit = Decimal(base_limit) * Decimal(rng.randrange(50, 151)) / 100 * Decimal(FX[billing])
        credit_limit = (credit_limit / 1000).quantize(Decimal(1)) * 1000
        ratio = Decimal(rng.randrange(0, 60)) / 100
        if rng.random() < 0.1:
            ratio = Decimal(rng.randrange(60, 98)) / 100  # close to the limit
        if tier not in ("platinum", "gold") and rng.random() < 0.02:
            ratio = Decimal(rng.randrange(100, 120)) / 100  # already over the limit
        open_balance = (credit_limit * ratio).quantize(Decimal("0.01"))
        credit_status = "blocked" if rng.random() < 0.02 else "ok"
        terms = {"wholesale": "NET45", "manufacturing": "NET30", "contractor": "NET30", "retail": "NET30",
                 "education": "NET60", "government": "NET60"}[segment]
        if tier in ("platinum", "gold") and segment == "wholesale":
            terms = "NET60"
        if rng.random() < 0.1:
            terms = "2/10 NET30"
        if country in ("DE", "NL", "SE", "PL", "CH") and terms == "NET45":
            terms = "NET30"
        tax_exempt = "Y" if country in ("US", "CA") and segment in ("government", "education", "wholesale") and rng.random() < 0.8 else "N"
        vat_id = ""
        if country in ("DE", "FR", "NL", "IT", "ES", "PL", "SE") and rng.random() < 0.9:
            vat_id = {"DE": f"DE{rng.randrange(10**8, 10**9)}", "FR": f"FR{rng.randrange(10, 99)}{rng.randrange(10**8, 10**9)}",
                      "NL": f"NL{rng.randrange(10**8, 10**9)}B{rng.randrange(10, 99)}", "IT": f"IT{rng.randrange(10**10, 10**11)}",
                      "ES": f"ESB{rng.randrange(10**7, 10**8)}", "PL": f"PL{rng.randrange(10**9, 10**10)}",
                      "SE": f"SE{rng.randrange(10**9, 10**10)}01"}[country]
            if rng.random() < 0.05:
                vat_id = vat_id[:-1]  # a mistyped number, for the format check
        channel = rng.choices(["web", "call-centre", "edi", "field-sales", "store"],
                              [30, 20, 20, 20, 10] if segment != "retail" else [20, 10, 50, 15, 5])[0]
        since = f"{rng.randrange(2004, 2027)}-{rng.randrange(1, 13):02d}-01"
        if since > "2026-11-01":
            since = "2026-10-01"
        rows.append([f"C-{i:05d}", name, segment, tier, country, state, city, street, postal,
                     currency, terms, f"{credit_limit:.0f}", f"{open_balance:.2f}", credit_status,
                     tax_exempt, vat_id, channel, since])
    return rows


def contract_prices(rng: random.Random, custs: list[list], prices: list[list]) -> list[list]:
    """Negotiated prices for the platinum and some gold customers, on a few products each."""
    rows = []
    by_sku = {p[0]: p for p in prices}
    skus = [p[0] for p in prices if not p[0].startswith("SVC")]
    for c in custs:
        if c[3] == "platinum" or (c[3] == "gold" and rng.random() < 0.3):
            currency = c[9] or {"US": "USD", "CA": "CAD", "GB": "GBP", "CH": "CHF", "SE": "SEK",
                                "PL": "PLN", "JP": "JPY"}.get(c[4], "EUR")
            for sku in rng.sample(skus, 6):
                listp = Decimal(by_sku[sku][1 + TRADE_CURRENCIES.index(currency)])
                price = money(listp * Decimal(rng.randrange(75, 92)) / 100, currency)
                rows.append([f"{c[0]}|{sku}", c[0], sku, currency, f"{price}", "2026-01-01", "2027-06-30"])
    return rows


def inventory(rng: random.Random, prods: list[list], locations: list[tuple]) -> list[list]:
    rows = []
    for loc, typ, country, _region, _h, _city in locations:
        for p in prods:
            sku, category, supplier, protected, status = p[0], p[2], p[10], p[11], p[9]
            if category == "services":
                continue
            if typ == "dropship":
                if supplier == loc:
                    rows.append([loc, sku, rng.randrange(2000, 20000)])
                continue
            if typ == "reserve":
                if protected == "Y":
                    rows.append([loc, sku, rng.randrange(5, 40)])
                continue
            if typ == "store" and category not in ("hand-tools", "power-tools", "safety", "consumer", "lighting", "fasteners"):
                continue
            if country == "JP" and category in ("machinery",):
                continue
            if status == "discontinued" and rng.random() < 0.7:
                continue
            scale = {"store": 12, "warehouse": 400}[typ]
            if category in ("machinery", "computing"):
                scale = scale // 20 or 1
            if protected == "Y":
                scale = max(1, scale // 10)
            qty = int(scale * rng.paretovariate(1.6)) if rng.random() > 0.1 else 0
            rows.append([loc, sku, qty])
    return rows


SUPPLY_FIRST = datetime.date(2026, 11, 23)  # receipts fall in the 13 weeks from here
ATP_RULES = [  # reference/atp_rules.csv: the rule promising uses (docs/promising.md)
    ["name", "consumption", "accumulate", "accumulation_window_days", "past_due_supply_days",
     "past_due_demand_days", "infinite_fence_days", "atp_fence_days", "split", "min_split",
     "horizon_days", "supply_types"],
    ["default", "backward", "true", "", "7", "7", "", "", "true", "1", "182",
     "purchase_order;in_transit;work_order"],
]


def supply(rng: random.Random, prods: list[list], locations: list[tuple]) -> list[list]:
    """Purchase orders and in-transit transfers into the warehouses (invented): about a third
    of the stocked products have one, dated in the 13 weeks after SUPPLY_FIRST."""
    rows = []
    warehouses = [loc for loc, typ, *_ in locations if typ == "warehouse"]
    for loc in warehouses:
        for p in prods:
            sku, category, status = p[0], p[2], p[9]
            if category == "services" or status == "discontinued" or rng.random() > 0.35:
                continue
            scale = 2 if category in ("machinery", "computing") else 120
            day = SUPPLY_FIRST + datetime.timedelta(days=rng.randrange(91))
            if rng.random() < 0.2:
                src = rng.choice([w for w in warehouses if w != loc] or [loc])
                rows.append([loc, sku, "in_transit", day.isoformat(),
                             rng.randrange(1, 4) * scale, f"TR-{src}-{rng.randrange(10**5):05d}"])
            else:
                rows.append([loc, sku, "purchase_order", day.isoformat(),
                             rng.randrange(1, 6) * scale, f"PO-{rng.randrange(10**6):06d}"])
    return rows


def networks(extra_locations: bool) -> str:
    """reference/networks.yaml: {key: region, rows: [{region, locations, with_reserve}]}."""
    out = ["# Sourcing network per delivery region (invented; written by make_acme_reference.py)",
           "key: region", "rows:"]
    for region, locs in NETWORKS.items():
        locs = list(locs)
        if extra_locations and region in CANDIDATE_NETWORK_ADDITIONS:
            locs.insert(0 if region == "eu-south" else len(locs), CANDIDATE_NETWORK_ADDITIONS[region])
        reserve = locs + ([RESERVES[region]] if region in RESERVES else [])
        out.append(f"  - {{region: {region}, locations: [{', '.join(locs)}], with_reserve: [{', '.join(reserve)}]}}")
    return "\n".join(out) + "\n"


# orchestration (issue #6): suppliers, reorder points, rebate programmes, ship-and-debit
ORCHESTRATION_TABLES = ("suppliers.csv", "reorder_points.csv", "rebate_programmes.csv",
                        "rebate_products.csv", "ship_and_debit.csv", "return_policies.csv")


def write_ruleset(name: str, extra_locations: bool, root: Path = ROOT) -> None:
    rng = random.Random(SEED)  # same customers and products in both rule sets
    out = root / name / "reference"
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "countries.csv", ["code", "name", "alpha3", "currency", "region", "sales_country", "eu_member"], countries())
    write_csv(out / "currencies.csv", ["code", "name", "minor_unit", "traded", "per_usd"], currencies())
    write_csv(out / "fx.csv", ["currency", "per_usd", "date"],
              [[c, FX[c], FX_DATE] for c in TRADE_CURRENCIES])
    write_csv(out / "tax_rates.csv", ["jurisdiction", "kind", "rate", "reduced_rate", "eu_member", "vat_id_pattern", "source"], tax_rates())
    write_csv(out / "subdivisions.csv", ["code", "country", "short", "name", "region"], subdivisions())
    prods, prices, plans = products(rng)
    write_csv(out / "products.csv", ["sku", "name", "category", "uom", "pack_size", "eccn", "hazmat", "cost_usd",
                                     "weight_kg", "status", "supplier", "protected"], prods)
    write_csv(out / "prices.csv", ["sku"] + TRADE_CURRENCIES, prices)
    write_csv(out / "service_plans.csv", ["sku", "period", "term", "amount_usd"], plans)
    custs = customers(rng)
    write_csv(out / "customers.csv", ["id", "name", "segment", "tier", "country", "state", "city", "street", "postal",
                                      "currency", "payment_terms", "credit_limit", "open_balance", "credit_status",
                                      "tax_exempt", "vat_id", "channel", "since"], custs)
    write_csv(out / "contract_prices.csv", ["key", "customer", "sku", "currency", "unit_price", "from", "until"],
              contract_prices(rng, custs, prices))
    locs = LOCATIONS + (CANDIDATE_LOCATIONS if extra_locations else [])
    lanes = LANES + (CANDIDATE_LANES if extra_locations else [])
    write_csv(out / "locations.csv", ["id", "type", "country", "region", "handling_days", "city"], [list(x) for x in locs])
    write_csv(out / "lanes.csv", ["from", "to", "transit_days", "cost_per_unit"], [list(x) for x in lanes])
    inv = inventory(random.Random(SEED + 1), prods, LOCATIONS)
    if extra_locations:
        inv += inventory(random.Random(SEED + 2), prods, CANDIDATE_LOCATIONS)
    write_csv(out / "inventory.csv", ["location", "sku", "on_hand"], inv)
    sup = supply(random.Random(SEED + 3), prods, LOCATIONS)  # the candidate's WH-ES has none
    write_csv(out / "supply.csv", ["location", "sku", "kind", "date", "quantity", "ref"], sup)
    write_csv(out / "atp_rules.csv", ATP_RULES[0], ATP_RULES[1:])
    (out / "networks.yaml").write_text(networks(extra_locations), encoding="utf-8")
    write_csv(out / "promotions.csv", ["code", "description", "from", "until", "percent", "category", "min_subtotal"],
              [list(p) for p in PROMOTIONS])
    write_csv(out / "eccn.csv", ["eccn", "description", "controls", "policy"], [list(e) for e in ECCN_TABLE])
    shutil.copyfile(SOURCES / "denied_parties.csv", out / "denied_parties.csv")
    for fixed in ("embargoed.yaml", "embargoed_regions.csv", "export_groups.csv", "channels.csv",
                  "payment_methods.csv", "seller.csv", "substitutes.csv", "SOURCES.md",
                  *ORCHESTRATION_TABLES):
        src = SOURCES / fixed
        if src.exists():
            shutil.copyfile(src, out / fixed)


def main() -> None:
    ap = argparse.ArgumentParser(description="Write the ACME reference tables.")
    ap.add_argument("--only", choices=["acme", "acme-candidate"])
    ap.add_argument("--root", type=Path, default=ROOT,
                    help="write ROOT/acme/reference and ROOT/acme-candidate/reference (default: rulesets/)")
    args = ap.parse_args()
    if args.only in (None, "acme"):
        write_ruleset("acme", extra_locations=False, root=args.root)
    if args.only in (None, "acme-candidate"):
        write_ruleset("acme-candidate", extra_locations=True, root=args.root)


if __name__ == "__main__":
    main()
