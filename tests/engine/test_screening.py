"""Screening (SPEC section 5): the promised bands, and the word index agreeing with a
comparison against every listed name."""
from __future__ import annotations

import csv
import random
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ordinance.engine.screening import Entry, _score, best_score, fold, pair_score
from tests.conftest import ROOT

LISTED = ["Rosoboronexport", "Shenzhen Zhonghe Electronics Co Ltd", "Acme Trading LLC",
          "Islamic Revolutionary Guard Corps", "Banco Nacional de Cuba"]


def test_folding() -> None:
    assert fold("ACME TRADING, LLC") == "acme trading"
    assert fold("Acme Co Ltd") == "acme"
    assert fold("  Acme   Trading Company Inc. ") == "acme trading"


def test_the_promised_bands() -> None:
    assert pair_score("ACME TRADING, LLC", "Acme Trading LLC") == 1.0
    assert pair_score("Rosoboronexprot", "Rosoboronexport") >= 0.85  # swapped neighbours
    assert pair_score("Rosoboronxport", "Rosoboronexport") >= 0.85   # missing
    assert pair_score("Rosoboronexpoart", "Rosoboronexport") >= 0.85  # added
    assert pair_score("Rosoborenexport", "Rosoboronexport") >= 0.85  # wrong
    assert pair_score("Northwind Traders", "Rosoboronexport") < 0.6
    assert pair_score("Acme Trading GmbH Ltd", "Acme Trading") == 1.0
    assert pair_score("Acme Tradings", "Acme Trading") < 1


def _table(n: int = 400) -> list[dict[str, str]]:
    path = ROOT / "rulesets" / "acme" / "reference" / "denied_parties.csv"
    if path.is_file():
        with open(path, newline="") as f:
            return list(csv.DictReader(f))[:n]
    return [{"name": name, "aliases": ""} for name in LISTED]


def _brute(text: str, rows: list[dict[str, str]]) -> float:
    q = Entry(fold(text))
    names = []
    for r in rows:
        names.append(r["name"])
        names += [a for a in (r.get("aliases") or "").split(";") if a]
    return max((_score(q, Entry(fold(n))) for n in names if fold(n)), default=0.0)


def _mutate(name: str, rnd: random.Random) -> str:
    chars = list(name)
    i = rnd.randrange(len(chars))
    op = rnd.choice(["drop", "swap", "sub", "add", "word"])
    if op == "drop":
        del chars[i]
    elif op == "swap" and i + 1 < len(chars):
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    elif op == "sub":
        chars[i] = rnd.choice("abcdefghij")
    elif op == "add":
        chars.insert(i, rnd.choice("xyz"))
    else:
        return name + " " + rnd.choice(["Holdings", "Group", "International", "Trading"])
    return "".join(chars)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**9), st.booleans())
def test_the_word_index_agrees_with_every_comparison(seed: int, from_list: bool) -> None:
    rows = _table()
    rnd = random.Random(seed)
    if from_list:
        text = _mutate(rnd.choice(rows)["name"], rnd)
    else:
        text = " ".join(rnd.choice(["Northwind", "Contoso", "Fabrikam", "Blue", "River",
                                    "Metals", "Supply", "Tools", "Global", "Trading"])
                        for _ in range(rnd.randint(1, 4)))
    got = float(best_score(text, rows, {}))
    expected = _brute(text, rows)
    if expected >= 0.6:
        assert got == round(expected, 4)
    else:
        assert got < 0.6


def test_scores_are_decimals_and_cached() -> None:
    cache: dict = {}
    rows = [{"name": n, "aliases": ""} for n in LISTED]
    first = best_score("Acme Tradng", rows, cache)
    assert isinstance(first, Decimal) and first >= Decimal("0.85")
    assert best_score("Acme Tradng", rows, cache) is first
