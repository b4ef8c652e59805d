"""engine/memo.py: loads that share a `LoadMemo` give what loads without it give, cross-file
checks still run on every combination, and a pack is recompiled when a table it reads changes."""
from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest

from ordinance.engine import LoadMemo, RuleSetInvalid, load, validate_order
from ordinance.engine.edits import diff_files, revert
from ordinance.engine.ruleset import check_dir
from ordinance.simulator.generate import generate_orders, load_catalogue
from tests.engine.helpers import write_ruleset

ROOT = Path(__file__).resolve().parents[2] / "rulesets"
DAY = datetime.date(2026, 11, 20)
PACKS = {
    "d.yaml": """
        pack: d
        phase: defaulting
        rules:
          - id: seg
            then: [{default: {customer.segment: "ref.customers[customer.id].segment"}}]
        """,
    "v.yaml": """
        pack: v
        phase: validation
        rules:
          - id: qty
            for_each: line
            when: line.quantity > 100
            then: [{warn: {code: BIG, message: big}}]
        """,
}
ORDER = {"id": "O", "customer": {"id": "C1"}, "lines": [{"id": "1", "sku": "A", "quantity": 5}]}


def rendered(path: Path, memo: LoadMemo | None) -> list[str]:
    return [d.render() for d in check_dir(path, memo)[1]]


def segment(path: Path, memo: LoadMemo) -> str:
    decision = load(path, memo=memo).evaluate(validate_order(ORDER), DAY)
    return str(decision.order["customer"]["segment"])


def test_a_pack_is_compiled_again_when_a_table_it_reads_changes(tmp_path: Path) -> None:
    retail = write_ruleset(tmp_path / "a", PACKS, {"customers.csv": "id,segment\nC1,retail\n"})
    gov = write_ruleset(tmp_path / "b", PACKS, {"customers.csv": "id,segment\nC1,gov\n"})
    memo = LoadMemo()
    assert segment(retail, memo) == "retail"
    misses = memo.misses
    assert segment(gov, memo) == "gov"  # pack d holds the table: compiled again
    assert segment(retail, memo) == "retail"  # every step replayed
    # the new table, its CSV checks, and pack d with it; the rest replayed (pack v too)
    assert memo.misses == misses + 3
    assert memo.hits > 0


def test_a_combination_that_does_not_fit_is_still_refused(tmp_path: Path) -> None:
    good = write_ruleset(tmp_path / "a", PACKS, {"customers.csv": "id,segment\nC1,retail\n"})
    no_table = write_ruleset(tmp_path / "b", PACKS, {"other.csv": "id\n1\n"})
    memo = LoadMemo()
    load(good, memo=memo)
    with pytest.raises(RuleSetInvalid) as exc:
        load(no_table, memo=memo)
    assert "unknown reference table 'customers'" in str(exc.value)
    assert rendered(no_table, memo) == rendered(no_table, None)


def test_a_pack_id_taken_by_another_file_is_still_refused(tmp_path: Path) -> None:
    table = {"customers.csv": "id,segment\nC1,retail\n"}
    first = write_ruleset(tmp_path / "a", {**PACKS, "w.yaml": "pack: w\nphase: pricing\n"
                                           "rules: []\n"}, table)
    clash = write_ruleset(tmp_path / "b", {**PACKS, "w.yaml": "pack: d\nphase: pricing\n"
                                           "rules: []\n"}, table)
    memo = LoadMemo()
    assert not check_dir(first, memo)[2]
    with_memo = rendered(clash, memo)
    assert any("pack id 'd' is also used by packs/d.yaml" in d for d in with_memo)
    assert with_memo == rendered(clash, None)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] != "tests"}


def test_acme_with_edits_reverted_checks_and_decides_as_without_a_memo(tmp_path: Path) -> None:
    """The blame's use: the candidate with some edits reverted, loaded again and again."""
    base, cand = _files(ROOT / "acme"), _files(ROOT / "acme-candidate")
    edits = {e.id: e for e in diff_files(base, cand)}
    orders = [validate_order(o) for o in generate_orders(load_catalogue(ROOT / "acme"), 12, 3)]
    memo = LoadMemo()
    trials = [[], ["rule:discounts/segment-tier"], ["file:reference/networks.yaml"],
              ["row:locations/WH-ES"], list(edits), []]
    for n, ids in enumerate(trials):
        target = tmp_path / f"r{n}"
        for rel, data in revert(cand, base, [edits[i] for i in ids]).items():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            (target / rel).write_bytes(data)
        assert rendered(target, memo) == rendered(target, None), ids
        try:
            plain = load(target)
        except RuleSetInvalid:
            with pytest.raises(RuleSetInvalid):
                load(target, memo=memo)
            continue
        kept = load(target, memo=memo)
        assert kept.digest == plain.digest
        assert [kept.evaluate(o, DAY).to_json() for o in orders] \
            == [plain.evaluate(o, DAY).to_json() for o in orders], ids
        shutil.rmtree(target)
    assert memo.hits > memo.misses
