"""How well the shipped denied-party screening works: recall on variants of listed names and
false holds on names that are not listed, at the threshold the acme compliance pack uses, with
the test set of tests/rulesets/data/ (made by make_screening_set.py). The figures are the ones
docs/design/screening.md states."""
from __future__ import annotations

import collections
import csv
import filecmp
import functools
import importlib.util
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordinance.engine import load
from ordinance.engine.screening import best_match, fold

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
ACME = ROOT / "rulesets" / "acme"
DOC = ROOT / "docs" / "design" / "screening.md"


def _read(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@functools.cache
def _acme() -> tuple[list[dict[str, Any]], Decimal, list[str]]:
    """The list as the engine reads it, the hold threshold of the pack, the customers."""
    rs = load(ACME)
    pack = (ACME / "packs" / "30-trade-compliance.yaml").read_text(encoding="utf-8")
    m = re.search(r'when: screen\(customer\.name, "denied_parties"\) >= ([0-9.]+)\n', pack)
    assert m, "the denied-customer rule's threshold"
    return (rs.reference["denied_parties"], Decimal(m.group(1)),
            [r["name"] for r in rs.reference["customers"]])


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%"


def test_the_set_is_reproduced_by_its_generator(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_screening_set",
                                                  DATA / "make_screening_set.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in ("screening_variants.csv", "screening_unlisted.csv"):
        assert filecmp.cmp(DATA / name, tmp_path / name, shallow=False), name


def test_recall_on_variants_of_listed_names() -> None:
    rows, threshold, _ = _acme()
    by_id = {(r["list"], str(r["source_id"])): r for r in rows}
    cache: dict[str, Any] = {}
    variants = _read("screening_variants.csv")
    held: collections.Counter[str] = collections.Counter()
    named = 0  # the hold names the variant's entry, or an entry listed under the same name
    for v in variants:
        m = best_match(v["variant"], rows, cache)
        if m is None or m["score"] < threshold:
            continue
        held[v["kind"]] += 1
        own = by_id[(v["list"], v["source_id"])]
        own_names = {fold(n) for n in [own["name"], *(own["aliases"] or "").split(";")] if n}
        if (m["list"], str(m["source_id"])) == (v["list"], v["source_id"]) \
                or fold(m["matched"]) in own_names:
            named += 1
    total, hits = len(variants), sum(held.values())
    assert total == 1200 and hits / total >= 0.95, held
    assert named / total >= 0.95
    doc = DOC.read_text(encoding="utf-8")
    assert f"{hits} of {total} variants held ({_pct(hits, total)})" in doc
    assert f"{named} of them ({_pct(named, total)})" in doc
    for kind, n in held.items():
        assert f"| `{kind}` | {n} of 200 |" in doc, kind


def test_false_holds_on_names_that_are_not_listed() -> None:
    rows, threshold, customers = _acme()
    cache: dict[str, Any] = {}
    names = [r["name"] for r in _read("screening_unlisted.csv")] + customers
    held = []
    for name in names:
        m = best_match(name, rows, cache)
        if m is not None and m["score"] >= threshold:
            held.append(f'{name} ~ {m["matched"]} {m["score"]}')
    assert len(names) == 1420 and len(held) / len(names) <= 0.02, held
    assert not any(h.split(" ~ ")[0] in customers for h in held)  # as test_acme.py says
    doc = DOC.read_text(encoding="utf-8")
    assert f"{len(held)} of {len(names)} held ({_pct(len(held), len(names))})" in doc
    for h in held:
        assert f"`{h}`" in doc, h
