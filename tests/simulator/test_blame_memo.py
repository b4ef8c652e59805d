"""The blame's compiles share an engine LoadMemo with the loads of the two rule sets
(simulator/blame.py, engine/memo.py): a rule set with an edit reverted costs only its new files."""
from __future__ import annotations

from pathlib import Path

from ordinance.engine import LoadMemo, load
from ordinance.simulator.blame import Blamer
from ordinance.simulator.replay import Options, Replayer, Setup
from ordinance.simulator.rulesets import resolve

RULESETS = Path(__file__).resolve().parents[2] / "rulesets"
ACME, CANDIDATE = RULESETS / "acme", RULESETS / "acme-candidate"
EDIT = "rule:approvals/discount-depth"  # one of two edits of packs/60-approvals.yaml


def test_a_reverted_rule_set_compiles_only_its_new_file() -> None:
    memo = LoadMemo()
    plain = load(CANDIDATE)
    load(ACME, memo=memo)
    candidate = load(CANDIDATE, memo=memo)
    assert candidate.digest == plain.digest and candidate.rule_ids == plain.rule_ids
    before = memo.misses
    blamer = Blamer(str(ACME), str(CANDIDATE), None, memo)
    reverted = blamer.reverted(frozenset([EDIT]))
    assert reverted is not None and blamer.loads == 1
    # the pack file with the one rule put back is new bytes: read and compiled; the rest replayed
    assert memo.misses - before == 2
    assert blamer.reverted(frozenset([EDIT])) is reverted  # compiled once


def test_a_worker_blames_with_the_memo_it_loaded_both_rule_sets_with() -> None:
    setup = Setup(resolve(str(ACME)), resolve(str(CANDIDATE)), Options())
    replayer = Replayer(setup)
    assert replayer.blamer is not None and replayer.blamer.memo is not None
    assert replayer.blamer.memo.hits > 0  # the candidate's load replayed the baseline's files
    off = Replayer(Setup(setup.baseline, setup.candidate, Options(blame=False)))
    assert off.blamer is None
