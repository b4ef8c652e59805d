"""Blame by edit: which edits between two rule sets changed an order's decision.

In: the two rule set directories (baseline, candidate); then, per changed order, the order as
read, its as-of inputs and the baseline's decision. Out: `Blamer.explain` gives a `Blame`: the
smallest set of edits (engine/edits.py) whose revert makes the candidate decide the order as
the baseline did, found by re-deciding the order with the full rule set (candidate with those
edits reverted), never by looking at one rule alone. `BlameStats` sums the blames of a stream
(orders and revenue per currency that each edit moves) and merges like the simulator's
`Summary`. Raises nothing for a rule set with some edits reverted that does not load: that set
explains nothing.

How the set is found, per order:
1. each edit alone: an edit whose revert alone restores the baseline's decision is named.
   When several are, each is needed (the change needs all of them), and all are named.
2. otherwise the edits together: starting from the edits whose revert alone moved the
   decision (when reverting them all restores it), else from all edits (the baseline itself),
   each edit in turn is kept in the candidate when the rest still restore the decision; what
   is left is a set none of whose edits can be dropped.
3. when not even all edits reverted give the baseline's decision (the order's as-of or stock
   differ, or an edit this diff does not see), the order is `unexplained`.
Rule sets with edits reverted are written to a temporary directory, compiled, and the
directory removed; each set is compiled once (the last `CACHE` kept), and the compiles share
one engine `LoadMemo` (the one the two rule sets were loaded with, when given), so only the
files whose bytes no earlier load saw, and the checks across files, cost anything; a diff with more than `MAX_EDITS` edits blames
only by single edits (step 1), so an order costs at most `3 * MAX_EDITS + 2` re-decisions;
edits of files that take no part in deciding (event packs, processes) are never tried. A
`Blamer` compiles at most `MAX_LOADS` rule sets; an order that needs another is
`unexplained` (the summary counts them).
"""
from __future__ import annotations

import shutil
import tempfile
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordinance.engine.edits import Edit, diff_files, revert
from ordinance.simulator import money
from ordinance.simulator.compare import moved_fields
from ordinance.simulator.money import Sums

MAX_EDITS = 40
MAX_LOADS = 400   # rule sets with edits reverted one Blamer compiles, at most
CACHE = 64
ZERO = Decimal(0)
Brought = tuple["str | None", Decimal, "Decimal | None"]


@dataclass(frozen=True)
class Blame:
    edits: tuple[str, ...]   # edit ids, in diff order
    how: str                 # "alone" | "each_needed" | "together" | "unexplained"


def read_files(path: str) -> dict[str, bytes]:
    """A rule set directory's files by relative path, its tests left out."""
    root = Path(path)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] != "tests"
            and not any(part.startswith(".") for part in p.relative_to(root).parts)}


def edits_between(baseline_path: str, candidate_path: str) -> list[Edit]:
    return diff_files(read_files(baseline_path), read_files(candidate_path))


class Blamer:
    """One per worker: the diff, and the rule sets with edits reverted, compiled on demand."""

    def __init__(self, baseline_path: str, candidate_path: str, max_steps: int | None = None,
                 memo: Any = None):
        """`memo`: an engine LoadMemo the two rule sets were loaded with (else a new one)."""
        self.files_b = read_files(baseline_path)
        self.files_c = read_files(candidate_path)
        self.edits = diff_files(self.files_b, self.files_c)
        self.by_id = {e.id: e for e in self.edits}
        self.max_steps = max_steps
        self._compiled: OrderedDict[frozenset[str], Any] = OrderedDict()
        self.memo: Any = memo  # engine LoadMemo: work on unchanged files shared by the loads
        self.loads = 0  # rule sets compiled so far (at most MAX_LOADS)

    def reverted(self, ids: frozenset[str]) -> Any:
        """The candidate with the edits `ids` reverted, compiled (None: it does not load)."""
        from ordinance.engine import DEFAULT_MAX_STEPS, LoadMemo, RuleSetInvalid, load

        if self.memo is None:
            self.memo = LoadMemo()
        if ids in self._compiled:
            self._compiled.move_to_end(ids)
            return self._compiled[ids]
        self.loads += 1
        target = Path(tempfile.mkdtemp(prefix="ordinance-blame-"))
        files = revert(self.files_c, self.files_b, [e for e in self.edits if e.id in ids])
        for rel, data in files.items():
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        try:
            rs = load(target, DEFAULT_MAX_STEPS if self.max_steps is None else self.max_steps,
                      memo=self.memo)
        except RuleSetInvalid:
            rs = None
        shutil.rmtree(target, ignore_errors=True)  # compiled: the files are not read again
        self._compiled[ids] = rs
        if len(self._compiled) > CACHE:
            self._compiled.popitem(last=False)
        return rs

    def _decide(self, ids: frozenset[str], order: dict[str, Any], as_of: Any, today: Any,
                stock: Any) -> dict[str, Any] | None:
        rs = self.reverted(ids)
        if rs is None:
            return None
        return rs.evaluate(order, as_of, stock=None if stock is None else dict(stock),
                           today=today).to_json()

    def explain(self, order: dict[str, Any], baseline: Mapping[str, Any],
                candidate: Mapping[str, Any], as_of: Any = None, today: Any = None,
                stock: Any = None) -> Blame:
        """The edits that explain why the candidate decided `order` otherwise than the
        baseline (both decisions as JSON). `order` is the order as read (not defaulted)."""
        ids = [e.id for e in self.edits if e.decides]
        alone, touching = [], []
        for i in ids:
            decision = self._decide(frozenset([i]), order, as_of, today, stock)
            if decision is None:
                continue
            if not moved_fields(baseline, decision):
                alone.append(i)
            elif moved_fields(candidate, decision):
                touching.append(i)
        if alone:
            return Blame(tuple(alone), "alone" if len(alone) == 1 else "each_needed")
        if len(ids) > MAX_EDITS:
            return Blame((), "unexplained")
        # the edits that each move the decision, when together they explain it; else all
        for start in ([touching, ids] if touching and len(touching) < len(ids) else [ids]):
            kept = set(start)
            if not self._restores(frozenset(kept), order, baseline, as_of, today, stock):
                continue
            for i in start:  # one pass: what is left cannot lose any one edit
                trial = frozenset(kept - {i})
                if trial and self._restores(trial, order, baseline, as_of, today, stock):
                    kept.discard(i)
            return Blame(tuple(i for i in ids if i in kept), "together")
        return Blame((), "unexplained")

    def _restores(self, ids: frozenset[str], order: dict[str, Any], baseline: Mapping[str, Any],
                  as_of: Any, today: Any, stock: Any) -> bool:
        if ids not in self._compiled and self.loads >= MAX_LOADS:
            return False  # out of budget: the order stays unexplained
        decision = self._decide(ids, order, as_of, today, stock)
        return decision is not None and not moved_fields(baseline, decision)


class BlameStats:
    """What each edit moved over a stretch of the stream: orders, revenue per currency and
    status transitions (an order blamed on several edits counts for each)."""

    __slots__ = ("by_edit", "sets", "unexplained")

    def __init__(self) -> None:
        self.by_edit: dict[str, _EditStats] = {}
        self.sets: Counter[tuple[str, ...]] = Counter()
        self.unexplained = 0

    def add(self, blame: Blame, status_b: str, status_c: str, brought_b: Brought,
            brought_c: Brought) -> None:
        if not blame.edits:
            self.unexplained += 1
            return
        self.sets[blame.edits] += 1
        for edit in blame.edits:
            stats = self.by_edit.get(edit)
            if stats is None:
                stats = self.by_edit[edit] = _EditStats()
            stats.add(status_b, status_c, brought_b, brought_c)

    def merge(self, other: BlameStats) -> None:
        self.unexplained += other.unexplained
        self.sets += other.sets
        for edit, stats in other.by_edit.items():
            if edit in self.by_edit:
                self.by_edit[edit].merge(stats)
            else:
                self.by_edit[edit] = stats

    def to_json(self, edits: list[Edit], places: Mapping[str, int]) -> dict[str, Any]:
        """Every edit of the diff, those that moved most orders first."""
        rows = []
        for position, edit in enumerate(edits):
            stats = self.by_edit.get(edit.id) or _EditStats()
            rows.append((-stats.orders, position, {**edit.to_json(), **stats.to_json(places)}))
        rows.sort(key=lambda r: (r[0], r[1]))
        return {"edits": [r[2] for r in rows],
                "sets": [{"edits": list(s), "orders": n}
                         for s, n in sorted(self.sets.items(), key=lambda t: (-t[1], t[0]))[:20]],
                "unexplained_orders": self.unexplained}


class _EditStats:
    __slots__ = ("orders", "revenue_b", "revenue_c", "transitions")

    def __init__(self) -> None:
        self.orders = 0
        self.revenue_b: Sums = {}
        self.revenue_c: Sums = {}
        self.transitions: Counter[str] = Counter()

    def add(self, status_b: str, status_c: str, brought_b: Brought, brought_c: Brought) -> None:
        self.orders += 1
        if brought_b[0] is not None:
            money.add(self.revenue_b, brought_b[0], brought_b[1])
        if brought_c[0] is not None:
            money.add(self.revenue_c, brought_c[0], brought_c[1])
        if status_b != status_c:
            self.transitions[f"{status_b}->{status_c}"] += 1

    def merge(self, other: _EditStats) -> None:
        self.orders += other.orders
        money.merge(self.revenue_b, other.revenue_b)
        money.merge(self.revenue_c, other.revenue_c)
        self.transitions += other.transitions

    def to_json(self, places: Mapping[str, int]) -> dict[str, Any]:
        return {"orders": self.orders,
                "revenue": money.compared(self.revenue_b, self.revenue_c, places),
                "transitions": dict(sorted(self.transitions.items()))}
