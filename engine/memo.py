"""Work on a rule set's files kept across loads of rule sets that share files (issue 18).

In: a `LoadMemo` the caller makes and hands to `load(path, memo=...)` or `check_dir(path,
memo=...)`, the same one for every load that may share files (the simulator's blame compiles
dozens of rule sets, each the candidate with a few edits reverted). Out: the same model and
the same diagnostics as a load without it, sooner: what the checker did for a file whose bytes
it has seen (parsed YAML and CSV, schema validation, a pack's compiled rules, the reference
data checks of a CSV, the promising checks) is replayed instead of done again.

The non-obvious choices:
- a step is keyed by content: the file's path and the sha256 of its bytes, plus what else of
  the rule set it reads (a pack: the reference tables' names, the ids of the packs before it,
  and, checked after the fact, the digests of the tables its expressions read, since a
  compiled expression holds a table as a constant; the promising checks: their two files and
  the tables they read). Two steps with equal keys give equal results, so replaying is exact;
- a step's result is what it did to the checker (diagnostics, expressions seen, file lines,
  YAML trees, tables, packs, broken tables, the transient scope), recorded as the difference
  before/after and appended again on a hit. What is replayed is shared, not copied: the
  model's packs, rules and tables are frozen or never written after the load;
- values computed from those shared objects alone (a pack's compiled runner, the sourcing
  network of a set of tables, a column's inferred type, the country warnings of a table) are
  kept by the objects' identity (`shared`);
- the cross-file work (currencies, the plan, the type, reachability, domain and country
  coverage checks, duplicate ids, the digest) runs on every load, so a combination of files
  that does not fit together is still refused;
- no module-level cache: the engine stays pure and the caller owns the memo's lifetime (it
  keeps every version it saw; `MAX_STEPS` bounds it by clearing it when full).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

MAX_STEPS = 20_000  # recorded steps kept; past it the memo starts again empty
_MISSING = object()
T = TypeVar("T")


def sha_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Effect:
    __slots__ = ("lists", "dicts", "broken", "after", "result", "deps")

    def __init__(self, lists: list[list[Any]], dicts: list[dict[str, Any]], broken: set[str],
                 after: tuple[Any, ...], result: Any,
                 deps: tuple[tuple[str, str | None], ...] | None):
        self.lists = lists
        self.dicts = dicts
        self.broken = broken
        self.after = after
        self.result = result
        self.deps = deps


def _lists(c: Any) -> tuple[list[Any], ...]:
    return c.diags.items, c.seen, c.model.packs, c.model.event_packs


def _dicts(c: Any) -> tuple[dict[str, Any], ...]:
    return c.model.sources, c.nodes, c.model.tables, c.model.table_digests


def _transient(c: Any) -> tuple[Any, ...]:
    return c.scope, c.for_each, c.reads_pricing, frozenset(c.pack_reads)


class LoadMemo:
    """Steps of the checker by content key; see the module docstring."""

    def __init__(self) -> None:
        self._steps: dict[Hashable, list[_Effect]] = {}
        self._shared: dict[Hashable, tuple[tuple[Any, ...], Any]] = {}
        self.hits = 0
        self.misses = 0

    def step(self, c: Any, key: Hashable, fn: Callable[[], T], reads: bool = False) -> T:
        """`fn()` on the checker `c`, or the replay of a recorded call with the same key.
        `reads`: the call also depends on the digests of the tables in `c.pack_reads` after
        it ("*": every table), checked on each replay."""
        for effect in self._steps.get(key, ()):
            if effect.deps is None or all(c.model.table_digests.get(name, None) == digest
                                          for name, digest in effect.deps):
                self.hits += 1
                self._replay(c, effect)
                return effect.result  # type: ignore[no-any-return]
        self.misses += 1
        lists, dicts = _lists(c), _dicts(c)
        lengths = [len(x) for x in lists]
        before = [dict(d) for d in dicts]
        broken = set(c.broken)
        result = fn()
        deps = None
        if reads:
            names = c.model.table_digests if "*" in c.pack_reads else c.pack_reads
            deps = tuple((n, c.model.table_digests.get(n, None)) for n in sorted(names))
        effect = _Effect([x[n:] for x, n in zip(lists, lengths)],
                         [{k: v for k, v in d.items() if b.get(k, _MISSING) is not v}
                          for d, b in zip(dicts, before)],
                         c.broken - broken, _transient(c), result, deps)
        if sum(len(v) for v in self._steps.values()) >= MAX_STEPS:
            self._steps.clear()
        self._steps.setdefault(key, []).append(effect)
        return result

    def shared(self, objects: tuple[Any, ...], extra: Hashable, fn: Callable[[], T]) -> T:
        """`fn()`, a pure function of `objects` (the very objects: tables and packs a step
        above made, shared by the loads) and `extra`, computed once: a compiled pack's runner,
        the sourcing network of a set of tables, a column's inferred type. Kept only with its
        objects, so an id is never reused while its entry lives."""
        key = (tuple(id(o) for o in objects), extra)
        found = self._shared.get(key)
        if found is not None and all(a is b for a, b in zip(found[0], objects)):
            return found[1]  # type: ignore[no-any-return]
        if len(self._shared) >= MAX_STEPS:
            self._shared.clear()
        value = fn()
        self._shared[key] = (objects, value)
        return value

    @staticmethod
    def _replay(c: Any, effect: _Effect) -> None:
        for target, added in zip(_lists(c), effect.lists):
            target.extend(added)
        for dtarget, changed in zip(_dicts(c), effect.dicts):
            dtarget.update(changed)
        c.broken |= effect.broken
        c.scope, c.for_each, c.reads_pricing, reads = effect.after
        c.pack_reads = set(reads)
