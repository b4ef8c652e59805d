"""Denied-party screening: `screen(text, TABLE)` of SPEC section 5.

In: a name and the rows of a reference table with `name` and `aliases` (separated by `;`).
Out: the best score from 0 to 1 as a Decimal (4 places; exactly 1 only for names equal after
folding).

Folding lowers case, turns punctuation into spaces, collapses spacing and removes every
trailing company suffix. Similarity is rapidfuzz's optimal string alignment (OSA) distance,
normalised by the longer name: one wrong, missing, added or swapped letter in a word of 8 or
more letters keeps a name at 0.875 or above. Reordered words are compared sorted too. Names
that share no word (no pair of words at OSA similarity 0.8 or more) are capped below 0.6, so a
long common substring of unrelated words cannot raise an alert.

Only listed names that share a word with the query can reach 0.6, so a query is scored against
those alone, found through an index from words to names (similar words by length bucket): a
list of thousands of names costs a few short-word comparisons per query word. A name that
shares no word with any listed name scores 0; every threshold of 0.6 or more answers exactly as
a comparison against every listed name would.
"""
from __future__ import annotations

import bisect
import re
import unicodedata
from decimal import Decimal
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

SUFFIXES = frozenset(
    "inc incorporated ltd limited llc co corp corporation company gmbh ag sa plc bv".split()
)
_PUNCT = re.compile(r"[^\w]+", re.UNICODE)
WORD_MATCH = 0.8
NO_SHARED_WORD_CAP = 0.59
ONE = Decimal(1)


def fold(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).casefold()
    text = _PUNCT.sub(" ", text).replace("_", " ")
    words = text.split()
    while len(words) > 1 and words[-1] in SUFFIXES:
        words.pop()
    return " ".join(words)


class Entry:
    __slots__ = ("folded", "words", "sorted")

    def __init__(self, folded: str):
        self.folded = folded
        self.words = folded.split()
        self.sorted = " ".join(sorted(self.words))


class Prepared:
    """A table's names folded once, with an index from each word to the names holding it."""

    def __init__(self, rows: list[Any]):
        self.exact: dict[str, Entry] = {}
        self.entries: list[Entry] = []
        by_word: dict[str, set[int]] = {}
        for row in rows:
            if not isinstance(row, dict):
                continue
            names = [row.get("name")]
            aliases = row.get("aliases")
            if isinstance(aliases, str):
                names += aliases.split(";")
            for n in names:
                if not isinstance(n, str):
                    continue
                f = fold(n)
                if f and f not in self.exact:
                    e = Entry(f)
                    self.exact[f] = e
                    for w in e.words:
                        by_word.setdefault(w, set()).add(len(self.entries))
                    self.entries.append(e)
        self.by_word = by_word
        self.words = sorted(by_word, key=len)  # one slice holds every length in a range
        self.starts = [0] * (max((len(w) for w in self.words), default=0) + 2)
        for length in range(len(self.starts)):
            self.starts[length] = bisect.bisect_left(self.words, length, key=len)

    def similar_words(self, word: str) -> list[str]:
        """Words of the table at OSA similarity 0.8 or more (so of nearly the same length)."""
        n = len(word)
        span = int(n * (1 - WORD_MATCH) / WORD_MATCH) + 1
        top = len(self.starts) - 1
        lo = self.starts[min(max(1, n - span), top)]
        hi = self.starts[min(n + span + 1, top)]
        if lo >= hi:
            return []
        # rapidfuzz turns a cutoff into a whole distance (0.8 of 5 letters rounds down):
        # ask a hair lower, then judge exactly as _shares_word does
        return [w for w, score, _ in process.extract(word, self.words[lo:hi],
                                                     scorer=OSA.normalized_similarity,
                                                     score_cutoff=WORD_MATCH - 0.01,
                                                     limit=None)
                if w == word or score >= WORD_MATCH]


def _shares_word(a: list[str], b: list[str]) -> bool:
    for x in a:
        for y in b:
            if x == y or OSA.normalized_similarity(x, y) >= WORD_MATCH:
                return True
    return False


def pair_score(a: str, b: str) -> float:
    """The score of two names (not a Decimal: used for ranking and in tests)."""
    return _score(Entry(fold(a)), Entry(fold(b)))


def _score(q: Entry, e: Entry) -> float:
    if q.folded == e.folded:
        return 1.0
    s = max(OSA.normalized_similarity(q.folded, e.folded),
            OSA.normalized_similarity(q.sorted, e.sorted))
    if not _shares_word(q.words, e.words):
        s = min(s, NO_SHARED_WORD_CAP)
    return min(s, 0.9999)


def best_score(text: str, rows: list[Any], cache: dict[str, Any]) -> Decimal:
    prepared = cache.get("prepared")
    if prepared is None:
        prepared = cache["prepared"] = Prepared(rows)
    scores = cache.setdefault("scores", {})
    known = scores.get(text)
    if known is not None:
        return known
    score = _best(Entry(fold(text)), prepared)
    if len(scores) < 50_000:  # names repeat across orders; the function is pure
        scores[text] = score
    return score


def _best(q: Entry, table: Prepared) -> Decimal:
    """Only names that share a word with the query can reach 0.6, so only they are scored
    (found through the word index); a name sharing no word with any listed name scores 0."""
    if not q.folded or not table.entries:
        return Decimal(0)
    if q.folded in table.exact:
        return ONE
    candidates: set[int] = set()
    for word in set(q.words):
        for w in table.similar_words(word):
            candidates |= table.by_word[w]
    if not candidates:
        return Decimal(0)
    # every candidate shares a word with the query, so no cap applies: the best raw
    # similarity, of the names as written and with their words sorted
    chosen = [table.entries[i] for i in candidates]
    best = max(process.extractOne(q.folded, [e.folded for e in chosen],
                                  scorer=OSA.normalized_similarity)[1],
               process.extractOne(q.sorted, [e.sorted for e in chosen],
                                  scorer=OSA.normalized_similarity)[1])
    return Decimal(str(round(min(best, 0.9999), 4)))
