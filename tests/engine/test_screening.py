"""Screening (SPEC section 5): the folding rigour gives us (pinned), the promised bands, the
joined, split, reordered and transliterated names, the match a hold names, and the indexes
agreeing with a comparison against every listed name."""
from __future__ import annotations

import csv
import functools
import random
import subprocess
import sys
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinance.engine.screening import (
    Entry,
    Prepared,
    _prepared,
    _score,
    best_match,
    best_score,
    entry,
    fold,
    pair_score,
    shares_word,
)
from tests.conftest import ROOT

LISTED = ["Rosoboronexport", "Shenzhen Zhonghe Electronics Co Ltd", "Acme Trading LLC",
          "Islamic Revolutionary Guard Corps", "Banco Nacional de Cuba"]


@pytest.mark.parametrize("name,folded", [
    ("ACME TRADING, LLC", "acme trading"),
    ("Acme Co Ltd", "acme"),                        # every trailing legal form (SPEC)
    ("  Acme   Trading Company Inc. ", "acme trading"),
    ("Acme Trading GmbH Ltd", "acme trading"),
    ("COMERCIAL CIMEX, S.A.", "comercial cimex"),   # "S.A." is one word, "sa"
    ("Grupo Industrial S.A. de C.V.", "grupo industrial"),
    ("Beijing Hua Co., Ltd.", "beijing hua"),
    ("Acme GmbH & Co. KG", "acme"),
    ("OOO Romashka", "romashka"),                   # legal forms in front too
    ("Joint Stock Company Example", "example"),
    ("ООО «Ромашка»", "romashka"),                  # transliterated, then the form removed
    ("Рособоронэкспорт", "rosoboroneksport"),
    ("Яковлев", "yakovlev"),                        # rigour's spelling, not ICU's "akovlev"
    ("Müller Maschinenbau GmbH", "muller maschinenbau"),
    ("Straße", "strasse"),
    ("AERO-CARIBBEAN", "aero caribbean"),
    ("Workers' Welfare Bank", "workers welfare bank"),
    ("Limited", "limited"),                         # a name of legal forms alone keeps them
    ("Acme Tradings", "acme tradings"),
])
def test_folding(name: str, folded: str) -> None:
    assert fold(name) == folded


def test_the_promised_bands() -> None:
    assert pair_score("ACME TRADING, LLC", "Acme Trading LLC") == 1.0
    assert pair_score("Rosoboronexprot", "Rosoboronexport") >= 0.85  # swapped neighbours
    assert pair_score("Rosoboronxport", "Rosoboronexport") >= 0.85   # missing
    assert pair_score("Rosoboronexpoart", "Rosoboronexport") >= 0.85  # added
    assert pair_score("Rosoboreneport", "Rosoboronexport") < 0.95    # two letters off
    assert pair_score("Rosoborenexport", "Rosoboronexport") >= 0.85  # wrong
    assert pair_score("Northwind Traders", "Rosoboronexport") < 0.6
    assert pair_score("Acme Trading GmbH Ltd", "Acme Trading") == 1.0
    assert pair_score("Acme Tradings", "Acme Trading") < 1


def test_legal_forms_joined_and_split_words_order_and_scripts() -> None:
    assert pair_score("Comercial Cimex", "COMERCIAL CIMEX, S.A.") == 1.0
    assert pair_score("Aerocaribbean", "AERO-CARIBBEAN") == 0.9999    # joined: not equal
    assert pair_score("Rosoboron Export", "ROSOBORONEXPORT") == 0.9999  # split
    assert pair_score("Melli Bank", "Bank Melli") == 0.9999             # word order
    assert pair_score("Société Générale", "SOCIETE GENERALE") == 1.0
    assert pair_score("Рособоронэкспорт", "ROSOBORONEKSPORT OJSC") == 1.0
    assert pair_score("Rosoboroneksport", "Rosoboronexport") >= 0.85


def test_names_that_share_no_word_stay_below_0_6() -> None:
    # 10 letters of 13 agree, but no word is shared ("star"/"stat" are too short for a typo)
    assert pair_score("Northern Star", "Southern Stat") == 0.59
    # stopwords are not words a name shares
    assert not shares_word(Entry(fold("House of Cards")), Entry(fold("Bank of Iran")))
    assert shares_word(Entry(fold("Aero Caribbean")), Entry(fold("Aerocaribbean")))
    assert shares_word(Entry(fold("Bank Mellli")), Entry(fold("Melli Investment")))


@functools.cache
def _table(step: int = 8) -> list[dict[str, str]]:
    path = ROOT / "rulesets" / "acme" / "reference" / "denied_parties.csv"
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))[::step]  # SDN and EU rows alike


@functools.cache
def _listed_entries() -> list[Entry]:
    names = []
    for r in _table():
        names.append(r["name"])
        names += [a for a in (r.get("aliases") or "").split(";") if a]
    return [entry(n) for n in names if fold(n)]


def _brute(text: str) -> float:
    q = entry(text)
    common = _prepared(_table(), {}).common
    return max((_score(q, e, common) for e in _listed_entries()), default=0.0)


def _mutate(name: str, rnd: random.Random) -> str:
    chars = list(name)
    i = rnd.randrange(len(chars))
    op = rnd.choice(["drop", "swap", "sub", "add", "word", "join", "split", "order"])
    words = name.split()
    if op == "drop":
        del chars[i]
    elif op == "swap" and i + 1 < len(chars):
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    elif op == "sub":
        chars[i] = rnd.choice("abcdefghij")
    elif op == "add":
        chars.insert(i, rnd.choice("xyz"))
    elif op == "join" and len(words) > 1:
        j = rnd.randrange(len(words) - 1)
        return " ".join(words[:j] + [words[j] + words[j + 1]] + words[j + 2:])
    elif op == "split" and len(words[0]) > 4:
        return words[0][:3] + " " + " ".join([words[0][3:]] + words[1:])
    elif op == "order" and len(words) > 1:
        return " ".join(words[1:] + words[:1])
    else:
        return name + " " + rnd.choice(["Holdings", "Group", "International", "Trading"])
    return "".join(chars)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**9), st.booleans())
def test_the_indexes_agree_with_every_comparison(seed: int, from_list: bool) -> None:
    rows = _table()
    rnd = random.Random(seed)
    if from_list:
        row = rnd.choice(rows)
        names = [row["name"]] + [a for a in row["aliases"].split(";") if a]
        text = _mutate(rnd.choice(names), rnd)
    else:
        text = " ".join(rnd.choice(["Northwind", "Contoso", "Fabrikam", "Blue", "River",
                                    "Metals", "Supply", "Tools", "Global", "Trading", "Bank",
                                    "of", "Al", "Company", "Industrial", "Export"])
                        for _ in range(rnd.randint(1, 4)))
    got = float(best_score(text, rows, {}))
    expected = _brute(text)
    if expected >= 0.6:
        assert got == round(expected, 4)
    else:
        assert got < 0.6


def test_names_that_share_only_common_words_stay_below_0_7() -> None:
    # "trading" is held by 30 listed entries: common; "bofu" and "sakan" are names of their own
    rows = [{"name": f"{w} Trading", "aliases": ""} for w in
            ["Sakan", "Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Theta", "Iota",
             "Kappa", "Lambda", "Omicron", "Sigma", "Upsilon", "Omega", "Orion", "Vega",
             "Rigel", "Deneb", "Altair", "Sirius", "Castor", "Pollux", "Mira", "Lyra",
             "Draco", "Hydra", "Cetus", "Pavo", "Grus"]]
    rows.append({"name": "General Trading Company", "aliases": ""})
    cache: dict = {}
    assert "trading" in _prepared(rows, cache).common
    assert pair_score("Sakin Trading", "Sakan Trading") >= 0.85
    assert best_score("Sakin Trading", rows, cache) == best_score("Sakan Tradng", rows, cache) \
        == Decimal("0.9231")                                       # "sakan" is shared
    assert best_score("Bofu Trading", rows, cache) == Decimal("0.7")  # only "trading" is
    assert best_score("General Tradng", rows, cache) == Decimal("0.9333")  # common words alone


def test_scores_are_decimals_and_cached() -> None:
    cache: dict = {}
    rows = [{"name": n, "aliases": ""} for n in LISTED]
    first = best_score("Acme Tradng", rows, cache)
    assert isinstance(first, Decimal) and first >= Decimal("0.85")
    assert best_score("Acme Tradng", rows, cache) is first


def test_the_match_names_the_row_and_the_name_that_matched() -> None:
    rows = [{"name": "AERO-CARIBBEAN", "aliases": "AEROCARIBBEAN AIRLINES", "program": "CUBA",
             "list": "OFAC-SDN", "source_id": Decimal(36)},
            {"name": "Acme Trading LLC", "aliases": "", "program": "X", "list": "EU-FSF",
             "source_id": "EU.1.2"},
            {"name": "ACME TRADING", "aliases": "", "program": "Y", "list": "OFAC-SDN",
             "source_id": Decimal(7)}]
    cache: dict = {}
    m = best_match("Aerocaribbean Airlines", rows, cache)
    assert m == {**rows[0], "matched": "AEROCARIBBEAN AIRLINES", "score": Decimal(1)}
    m = best_match("Aero Caribean", rows, cache)                # split and a typo
    assert m is not None and m["source_id"] == 36 and m["matched"] == "AERO-CARIBBEAN"
    assert m["score"] == best_score("Aero Caribean", rows, cache)
    # two rows list names that fold alike: the first listed is named
    assert best_match("Acme Trading Inc.", rows, cache)["source_id"] == "EU.1.2"  # type: ignore[index]
    assert best_match("Northwind Traders", rows, cache) is None
    # a new object each time: a rule that stores it cannot change the cached answer
    a, b = best_match("Aerocaribbean", rows, cache), best_match("Aerocaribbean", rows, cache)
    assert a == b and a is not b


def test_rule_sets_that_list_the_same_names_share_the_prepared_table() -> None:
    rows = [{"name": n, "aliases": ""} for n in LISTED]
    copy = [dict(r) for r in rows]
    first, second = _prepared(rows, {}), _prepared(copy, {})
    assert first is second and isinstance(first, Prepared)
    assert _prepared([{"name": "Other", "aliases": ""}], {}) is not first


def test_rigour_is_not_imported_with_the_engine() -> None:
    code = ("import sys, ordinance.engine\n"
            "print(sorted(m for m in ('rigour', 'normality') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_folding_from_rigours_core_answers_as_rigours_api() -> None:
    """engine/screening.py takes rigour's Rust core directly (no normality import on a
    process's first screening, issue 16): on every name and alias listed in rulesets/acme,
    reordered, in capitals and with accents, each function answers as rigour's Python API."""
    from rigour.names import extract_org_types
    from rigour.text.normalize import Cleanup, Normalize, normalize
    from rigour.text.phonetics import metaphone
    from rigour.text.stopwords import _load_stopwords, is_stopword, normalize_text

    from ordinance.engine import screening

    assert (screening._NAME_FLAGS, screening._CASEFOLD, screening._NO_CLEANUP) == (
        int(Normalize.CASEFOLD | Normalize.NAME), int(Normalize.CASEFOLD), int(Cleanup.Noop))
    words_of, legal_forms, stopword, sound = screening._folding()
    with open(ROOT / "rulesets/acme/reference/denied_parties.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    names = [n for r in rows for n in [r["name"], *(r.get("aliases") or "").split(";")] if n]
    rnd = random.Random(5)
    names += [" ".join(rnd.sample(n.split(), len(n.split()))).upper() for n in names[::7]]
    names += ["Société Générale S.A.", "Ärzte & Söhne GmbH", "Łódź Trading Sp. z o.o.",
              "ООО «Ромашка»", "The Bank of the Al Nur", "DE LA RUE", "Customer 17"]
    assert len(names) > 10_000
    words: set[str] = set()
    for n in names:
        text = words_of(n)
        if n.isascii():
            assert text == (normalize(n, Normalize.CASEFOLD | Normalize.NAME) or "")
        assert legal_forms(text) == extract_org_types(text)
        words.update(text.split())
    assert len(words) > 5_000
    for w in words:
        assert stopword(w) == is_stopword(w), w
        assert sound(w) == metaphone(w), w
    stopwords = _load_stopwords(normalize_text)
    assert {w for w in stopwords if w.isascii()} == {w for w in words | stopwords
                                                    if w.isascii() and stopword(w)}


def test_a_rigour_without_its_core_folds_through_its_api(monkeypatch: pytest.MonkeyPatch) -> None:
    from rigour import _core

    from ordinance.engine import screening

    names = ["ACME TRADING, LLC", "Grupo Industrial S.A. de C.V.", "The Bank of the Al Nur",
             "Рособоронэкспорт", "Müller Maschinenbau GmbH"]
    monkeypatch.setattr(screening, "_FOLDING", None)
    from_core = [screening._readings(n) for n in names]
    keys_core = [entry(n).keys for n in names]
    monkeypatch.setattr(screening, "_FOLDING", None)
    monkeypatch.setattr(screening, "_STOPWORDS", {})
    monkeypatch.delattr(_core, "_normalize")
    assert [screening._readings(n) for n in names] == from_core
    assert [entry(n).keys for n in names] == keys_core
    assert screening._folding()[0]("ACME TRADING, LLC") == "acme trading llc"
