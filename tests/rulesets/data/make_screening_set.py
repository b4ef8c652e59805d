"""Write the screening test set: variants of listed names, and names that are not listed.

    .venv/bin/python tests/rulesets/data/make_screening_set.py

Deterministic (one random.Random(SEED), standard library only, nothing from the engine: the set
must not be made with the folding it tests). Reads the shipped list
(rulesets/acme/reference/denied_parties.csv) and writes, next to this file:

- screening_variants.csv (`variant, kind, list, source_id, listed`): 200 variants of each kind,
  each from a different entity drawn at random, of the listed name `listed`:
  `legal_form` (the legal form dropped, replaced or added: S.A., S.A. de C.V., LLC, GmbH,
  "Co., Ltd.", ...), `joined` (two neighbouring words written as one), `split` (a word of 8 or
  more letters written as two), `typo` (one letter of the longest word, of 6 or more letters,
  wrong, missing, added or swapped with its neighbour, in a name of 10 or more characters),
  `transliteration` (Cyrillic or Greek names in Latin letters by a passport-style table,
  diacritics dropped or written out as ae/oe/ue/ss, Spanish "-cion" written "-ción") and
  `word_order` (the first two words swapped). Letter case is varied at random too.
- screening_unlisted.csv (`name, kind`): 1,000 ordinary company names that are not on the list:
  `trade` (common English words and a line of business, such as "Blue River Logistics") and
  `invented` (an invented word and a line of business), each with a legal form half of the
  time, and `generic` (an invented word, a generic trade and a long legal form, the shape of
  many listed names: "Bofu General Trading Company Limited"). A name whose letters and digits
  equal a listed name's is skipped.

tests/rulesets/test_screening_quality.py checks this file reproduces the committed set, and
measures recall and false holds with it (figures in docs/design/screening.md).
"""
from __future__ import annotations

import csv
import random
import re
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIST = HERE.parents[2] / "rulesets" / "acme" / "reference" / "denied_parties.csv"
SEED = 20261202
PER_KIND = 200
UNLISTED = 1000

LEGAL_FORMS = ["S.A.", "S.A. de C.V.", "LLC", "L.L.C.", "GmbH", "Co., Ltd.", "Co. Ltd", "Ltd",
               "Ltd.", "Limited", "Inc.", "Corp.", "Corporation", "JSC", "OOO", "SARL", "S.R.L.",
               "B.V.", "AG", "PLC", "LLP", "FZE", "Pte. Ltd.", "Sdn. Bhd."]
_TRAILING_FORM = re.compile(
    r"[\s,]+(S\.?\s?A\.?(\s+DE\s+C\.?\s?V\.?)?|L\.?L\.?C\.?|CO\.?,?\s+LTD\.?|LTD\.?|LIMITED|"
    r"COMPANY\s+LIMITED|GMBH|INC\.?|CORP\.?|CORPORATION|COMPANY|CO\.?|O?J?P?C?JSC|OOO|E?OOD|"
    r"S\.?A\.?R\.?L\.?|S\.?R\.?L\.?|LTDA\.?|S\.A\.S\.|C\.A\.|FZE|FZCO|S\.?A\.?L\.?|PLC|AG|"
    r"B\.?V\.?|N\.?V\.?|LLP|PTE\.?\s+LTD\.?)$", re.IGNORECASE)

# Cyrillic and Greek in Latin letters as a passport or a business card might write them (not
# the transliteration the engine uses: х is "kh" here, ц "ts", щ "shch", θ "th")
LATIN = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяєіїґ",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
     "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "ye", "i",
     "yi", "g"]))
LATIN.update(zip(
    "αβγδεζηθικλμνξοπρσςτυφχψωάέήίόύώϊϋΐΰ",
    ["a", "v", "g", "d", "e", "z", "i", "th", "i", "k", "l", "m", "n", "x", "o", "p", "r", "s",
     "s", "t", "y", "f", "ch", "ps", "o", "a", "e", "i", "i", "o", "y", "o", "i", "y", "i", "y"]))
GERMAN = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "AE", "Ö": "OE", "Ü": "UE"}

ADJECTIVES = """Blue Green Red Silver Golden Northern Southern Eastern Western Pacific Atlantic Alpine
Coastal Central United Royal Prime Bright Rapid Smart Pioneer Summit Evergreen Oak Maple Cedar
Pine River Lake Harbor Valley Meadow Stone Iron Granite Crystal Sunrise Sunset Horizon Liberty
Heritage Legacy Frontier Canyon Prairie Highland Lakeside Riverside Hillside Bay Metro Urban
Rural Premier Sterling Copper Falcon Eagle Lion Bear Fox Wolf Orchard Willow Birch Aspen Ivy
Rose Lotus Anchor Beacon Compass Keystone Cornerstone Bridge Tower Castle Crown Star Moon Sun
Sky Cloud Rain Snow Ocean Island Coral Pearl Ruby Emerald Sapphire Amber Ivory Onyx Jade Cobalt
Crimson Scarlet Indigo Violet Azure Hazel Olive Sage Mint Lemon Cherry Apple Peach Plum Walnut
Chestnut Acorn Fern Clover Thistle Heather Juniper Laurel Magnolia Tulip Daisy Poppy Lily Iris
Orchid Violet Windmill Lighthouse Harbour Seaside Mountain Forest Desert Glacier Tundra Savanna
First Second Third Central Capital Metro Tri-State Bayside Westfield Eastgate Northgate Southport
Newport Fairview Greenfield Brookside Oakwood Elmwood Ashford Bradford Camden Dover Elgin Fulton
Hampton Kingston Lancaster Milford Norwood Oxford Preston Quincy Rockford Salem Trenton Warwick"""
ADJECTIVES_LIST = sorted(set(ADJECTIVES.split()))
LINES = """Logistics|Supply|Foods|Textiles|Tools|Hardware|Electric|Plumbing|Builders|Construction|
Engineering|Systems|Solutions|Software|Labs|Farms|Dairy|Bakery|Furniture|Printing|Packaging|
Plastics|Metals|Steel|Paper|Chemicals|Pharma|Medical|Dental|Optical|Motors|Auto Parts|Marine|
Energy|Solar|Water|Health|Apparel|Footwear|Jewelry|Books|Media|Studios|Consulting|Partners|
Associates|Distributors|Wholesale|Retail|Imports|Traders|Trading|Holdings|Group|Industries|
Manufacturing|Machinery|Equipment|Instruments|Electronics|Components|Devices|Robotics|Analytics|
Networks|Telecom|Freight|Shipping|Transport|Storage|Warehousing|Realty|Properties|Insurance|
Finance|Capital|Design|Interiors|Landscaping|Cleaning|Security|Staffing|Catering|Coffee|Brewing|
Winery|Outfitters|Garden Center|Pet Supplies|Office Supplies|Home Goods|Lighting|Flooring|Roofing"""
LINES_LIST = [x.strip() for x in LINES.split("|")]
GENERIC_TRADES = ["General Trading", "Trading", "Shipping", "Industrial", "Import Export",
                  "Engineering", "Petrochemical", "Investment", "Exchange", "Electronics"]
LONG_FORMS = ["Company Limited", "Limited Liability Company", "Co., Ltd.", "LLC", "Company",
              "Joint Stock Company", "S.A. de C.V.", "FZE", "L.L.C.", "Group"]
ONSETS = ["b", "br", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "st", "t",
          "tr", "v", "w", "z"]
VOWELS = ["a", "e", "i", "o", "u", "a", "e", "o"]
CODAS = ["", "", "n", "r", "l", "s", "x", "m", "nd", "rt", "st", "ck"]


def _case(rng: random.Random, name: str) -> str:
    return rng.choice([name, name, name.title(), name.upper(), name.lower()])


def _words(name: str) -> list[str]:
    return name.split()


def legal_form(rng: random.Random, name: str) -> str | None:
    m = _TRAILING_FORM.search(name)
    if m:
        base = name[:m.start()].rstrip(" ,")
        if not base:
            return None
        if rng.random() < 0.4:
            return base
        other = rng.choice([f for f in LEGAL_FORMS if f.upper() != m.group(1).upper()])
        return f"{base}{rng.choice([' ', ', '])}{other}"
    return f"{name}{rng.choice([' ', ', '])}{rng.choice(LEGAL_FORMS)}"


def joined(rng: random.Random, name: str) -> str | None:
    words = _words(name)
    pairs = [i for i in range(len(words) - 1)
             if words[i].isalpha() and words[i + 1].isalpha()
             and len(words[i]) >= 3 and len(words[i + 1]) >= 3
             and not _TRAILING_FORM.search(" " + words[i + 1])]
    if not pairs:
        return None
    i = rng.choice(pairs)
    return " ".join(words[:i] + [words[i] + words[i + 1]] + words[i + 2:])


def split(rng: random.Random, name: str) -> str | None:
    words = _words(name)
    long = [i for i, w in enumerate(words) if w.isalpha() and len(w) >= 8]
    if not long:
        return None
    i = rng.choice(long)
    w = words[i]
    at = rng.randrange(3, len(w) - 2)
    return " ".join(words[:i] + [w[:at], w[at:]] + words[i + 1:])


def typo(rng: random.Random, name: str) -> str | None:
    words = _words(name)
    if len(name) < 10:
        return None
    i = max(range(len(words)), key=lambda k: (len(words[k]), -k))
    w = words[i]
    if len(w) < 6 or not w.isalpha():
        return None
    p = rng.randrange(1, len(w) - 1)
    op = rng.choice(["wrong", "missing", "added", "swapped"])
    letters = "abcdefghijklmnopqrstuvwxyz"
    if w.isupper():
        letters = letters.upper()
    if op == "wrong":
        new = w[:p] + rng.choice([c for c in letters if c.lower() != w[p].lower()]) + w[p + 1:]
    elif op == "missing":
        new = w[:p] + w[p + 1:]
    elif op == "added":
        new = w[:p] + rng.choice(letters) + w[p:]
    else:
        if w[p].lower() == w[p + 1].lower():
            return None
        new = w[:p] + w[p + 1] + w[p] + w[p + 2:]
    return " ".join(words[:i] + [new] + words[i + 1:])


def transliteration(rng: random.Random, name: str) -> str | None:
    if any(c.lower() in LATIN for c in name):
        out = []
        for c in name:
            t = LATIN.get(c.lower())
            out.append(c if t is None else (t.capitalize() if c.isupper() else t))
        return "".join(out)
    if not name.isascii():
        if any(c in GERMAN for c in name) and rng.random() < 0.5:
            name = "".join(GERMAN.get(c, c) for c in name)
        plain = "".join(c for c in unicodedata.normalize("NFKD", name)
                        if not unicodedata.combining(c))
        return plain if plain.isascii() and plain != name else None
    m = re.search(r"(?i)\b(\w+)CION\b", name)
    if m:
        o = "Ó" if name[m.end() - 2].isupper() else "ó"
        return name[:m.end() - 2] + o + name[m.end() - 1:]
    return None


def word_order(rng: random.Random, name: str) -> str | None:
    words = _words(name)
    if len(words) < 2 or words[0].lower() == words[1].lower():
        return None
    if not all(w.isalpha() and len(w) >= 3 and w.lower() not in ("the", "and", "for")
               for w in words[:2]):
        return None
    return " ".join([words[1], words[0]] + words[2:])


KINDS = {"legal_form": legal_form, "joined": joined, "split": split, "typo": typo,
         "transliteration": transliteration, "word_order": word_order}


def _listed() -> list[dict[str, str]]:
    with open(LIST, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def variants(rng: random.Random, rows: list[dict[str, str]]) -> list[list[str]]:
    out = []
    for kind, make in KINDS.items():
        order = list(range(len(rows)))
        rng.shuffle(order)
        made = 0
        for r in order:
            row = rows[r]
            names = [row["name"]] + [a for a in row["aliases"].split(";") if a]
            if kind == "transliteration":  # prefer the names that have something to write
                names = [n for n in names if not n.isascii() or re.search(r"(?i)CION\b", n)]
                if not names:
                    continue
            listed = rng.choice(names)
            v = make(rng, listed)
            if v is None or v == listed:
                continue
            out.append([_case(rng, v) if kind != "transliteration" else v, kind, row["list"],
                        row["source_id"], listed])
            made += 1
            if made == PER_KIND:
                break
    return out


def _letters(name: str) -> str:
    return "".join(c for c in name.upper() if c.isalnum())


def unlisted(rng: random.Random, rows: list[dict[str, str]]) -> list[list[str]]:
    listed = set()
    for row in rows:
        for n in [row["name"]] + row["aliases"].split(";"):
            listed.add(_letters(n))
    out: list[list[str]] = []
    seen = set()
    while len(out) < UNLISTED:
        word = ("".join(rng.choice(ONSETS) + rng.choice(VOWELS)
                        for _ in range(rng.randint(2, 3))) + rng.choice(CODAS)).capitalize()
        draw = rng.random()
        if draw < 0.35:
            kind = "trade"
            base = f"{rng.choice(ADJECTIVES_LIST)} {rng.choice(ADJECTIVES_LIST + [''])} " \
                   f"{rng.choice(LINES_LIST)}"
        elif draw < 0.7:
            kind = "invented"
            base = f"{word} {rng.choice(LINES_LIST)}"
        else:  # the shape of many listed names: a short name, a generic trade, a long form
            kind = "generic"
            base = f"{word} {rng.choice(GENERIC_TRADES)} {rng.choice(LONG_FORMS)}"
        name = " ".join(base.split())
        if kind != "generic" and rng.random() < 0.5:
            name += rng.choice([" ", ", "]) + rng.choice(LEGAL_FORMS)
        if name in seen or _letters(name) in listed:
            continue
        seen.add(name)
        out.append([name, kind])
    return out


def write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main(out: Path = HERE) -> None:
    rng = random.Random(SEED)
    rows = _listed()
    write(out / "screening_variants.csv", ["variant", "kind", "list", "source_id", "listed"],
          variants(rng, rows))
    write(out / "screening_unlisted.csv", ["name", "kind"], unlisted(rng, rows))


if __name__ == "__main__":
    main()
