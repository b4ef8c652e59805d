"""Denied-party screening: `screen(text, TABLE)` of SPEC section 5, and `screen_match`.

In: a name and the rows of a reference table with `name` and `aliases` (separated by `;`).
Out: the best score from 0 to 1 as a Decimal (4 places; exactly 1 only for names equal after
folding), and which listed name gave it (`best_match`: the row, the name or alias, the score).
Raises nothing; the choices and their measurements are in docs/design/screening.md.

Folding uses OpenSanctions' `rigour`: the name is case-folded and split into words by rigour's
name tokenizer (punctuation separates words; dots and apostrophes inside a word are dropped, so
"S.A." is "sa"), each word is written in ASCII (accents dropped; other Latin letters such as ß
by ICU through `normality`; other scripts by `rigour.text.translit`, whose Cyrillic spellings
are the ones lists use: Яковлев is "yakovlev"), and legal forms are removed from both ends,
however many, using rigour's database of organisation types ("S.A. de C.V.", "Co., Ltd.",
GmbH, OOO, ...) plus the four words of SPEC section 5 that the database keeps as ordinary
words (co, corp, corporation, company; removed at the end only). A name of legal forms alone
keeps them.

Similarity is rapidfuzz's optimal string alignment (OSA) distance normalised by the longer
name, the best of these readings: the folded names, their words sorted (word order), their
letters without spaces (joined or split words: "Aerocaribbean", "Aero Caribbean"), and, when
only one of the two lost a legal form, the names as written before that (a misspelt legal form
is not recognised: "Leading Edge Sourcing Corporattion"). One wrong, missing, added or swapped
letter in a word of 8 or more letters keeps a name at 0.875 or above.

A name's *keys* are its words but stopwords (rigour's: the, of, al, de, ...), each pair of
neighbouring words written together ("aerocaribbean" is a key of "aero caribbean"), and the
sound (metaphone) of each word of 6 letters or more ("rosoboroneksport" sounds as
"rosoboronexport"). Two names share a word when they have a key in common or a word of one is
one letter (wrong, missing, added or swapped) from a word of the other, the longer having 5
letters or more. Names that share no word are capped at 0.59, so a long common substring of
unrelated words cannot raise an alert. A key held by 25 or more listed entries is common (bank,
trading, general, petrochemical, iran, ...): a listed name that has keys of its own but shares
only common ones with the query is capped at 0.7 ("Zigort Petrochemical" is not "Zagros
Petrochemical").

Only listed names that share a word with the query can reach 0.6, so a query is scored against
those alone: its keys are looked up in an index of the listed keys, and its words, less one
letter each, in an index of the listed words less one letter (a deletion neighbourhood), which
finds every word one edit away with a few dictionary look-ups however long the list. A name
that shares no word with any listed name scores 0; every threshold of 0.6 or more answers
exactly as a comparison against every listed name would (a property test checks it).

rigour's Rust core is imported on the first screening, not with the engine (about 17 ms with
its legal-form automaton), and its Python API with normality and ICU only for a name with
letters other than ASCII and accented Latin ones (about 80 ms more). A table is folded and
indexed once per process for every rule set that lists the same names (about a second for the
16,000 names of the shipped list). Their versions decide the folding; tests pin what they give
for the names we rely on.
"""
from __future__ import annotations

import pickle
import unicodedata
from decimal import Decimal
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Callable


class _OnFirstUse:
    """rapidfuzz's `process` or `OSA`, imported on the first attribute asked of it: the first
    screening of a process loads rapidfuzz and rebinds both names of this module to the real
    modules (no indirection after that); a decision that screens nothing, or a start from the
    compiled cache, never loads it (issue 16)."""

    def __init__(self, name: str):
        self.name = name

    def __getattr__(self, attr: str) -> Any:
        from rapidfuzz import process as real_process
        from rapidfuzz.distance import OSA as real_osa

        globals().update(process=real_process, OSA=real_osa)
        return getattr(real_process if self.name == "process" else real_osa, attr)


if TYPE_CHECKING:
    from rapidfuzz import process
    from rapidfuzz.distance import OSA
else:
    process = _OnFirstUse("process")
    OSA = _OnFirstUse("OSA")

# The words of SPEC section 5's suffix list that rigour's database treats as ordinary words.
GENERIC_SUFFIXES = frozenset(("co", "corp", "corporation", "company"))
NO_SHARED_WORD_CAP = 0.59
COMMON_ONLY_CAP = 0.7
COMMON_ENTRIES = 25  # a key held by this many listed entries (rows) or more is common
TYPO_MIN_LENGTH = 5  # a one-letter difference counts between words this long (the longer one)
PHONETIC_MIN_LENGTH = 6  # words this long are also keyed by their sound
ONE = Decimal(1)
ZERO = Decimal(0)
MAX_CACHED = 50_000
MAX_SHARED_TABLES = 4

_Folding = tuple[Callable[[str], str], Callable[[str], list[tuple[str, str]]],
                 Callable[[str], bool], Callable[[str], str]]
_FOLDING: _Folding | None = None
_ASCII_WORDS: dict[str, str] = {}
_STOPWORDS: dict[str, bool] = {}
# Prepared tables by their names, shared by rule sets that list the same names (two rule sets
# of one deployment, or the same rule set loaded again): the work depends on the names alone.
_SHARED: dict[tuple[Any, ...], Prepared] = {}


# rigour's flags as the ints its Rust core takes (Normalize.CASEFOLD | Normalize.NAME,
# Normalize.CASEFOLD, Cleanup.Noop): rigour.text.normalize, where they are named, imports
# normality (tests/engine/test_screening.py checks the values against it)
_NAME_FLAGS, _CASEFOLD, _NO_CLEANUP = 68, 4, 0


def _folding() -> _Folding:
    """rigour's tokenizer, its legal-form finder, stopwords and metaphone (imported once).

    The functions are taken from rigour's Rust core (`rigour._core`), which its Python API
    wraps: importing that API (`rigour.names`, `rigour.text`) imports normality and ICU, 80 ms
    of CPU on a process's first screening (issue 16), for what an ASCII name never uses. Those
    are imported on the first word that needs them (other Latin letters such as ß, other
    scripts). The answers are the API's: tests/engine/test_screening.py compares the two on
    every listed name of rulesets/acme and on generated names. A rigour without that core falls
    back to the API."""
    global _FOLDING
    if _FOLDING is None:
        try:
            from rigour import _core

            normalize_raw = _core._normalize
            legal_forms_raw = _core.extract_org_types
            metaphone = _core.metaphone
            stopwords = frozenset(w for w in _core.stopwords_list()
                                  if w.isascii() and w.isalnum() and w == w.casefold())

            def normalize(text: str) -> str:
                return normalize_raw(text, _NAME_FLAGS, _NO_CLEANUP) or ""

            def legal_forms(text: str) -> list[tuple[str, str]]:
                return legal_forms_raw(text, _CASEFOLD, _NO_CLEANUP, False)

            def is_stopword(word: str) -> bool:
                # an ASCII word (every word folding makes) is one of the list's ASCII words,
                # which rigour's normalizer leaves as they are
                return word in stopwords if word.isascii() else _api_is_stopword(word)
        except (ImportError, AttributeError):  # a rigour without its core
            from rigour.names import extract_org_types
            from rigour.text.normalize import Normalize, normalize as api_normalize
            from rigour.text.phonetics import metaphone

            flags = Normalize.CASEFOLD | Normalize.NAME

            def normalize(text: str) -> str:
                return api_normalize(text, flags) or ""

            def legal_forms(text: str) -> list[tuple[str, str]]:
                return extract_org_types(text)

            is_stopword = _api_is_stopword

        def ascii_word(word: str) -> str:
            known = _ASCII_WORDS.get(word)
            if known is None:
                # Letters that decompose into a base letter and accents (é, ñ, ü, č) lose the
                # accents, as every transliterator writes them, in a microsecond; other Latin
                # letters (ß, ø, ł) go through ICU (~100 µs a word), other scripts through
                # rigour (~15 µs a letter), whose spellings are the ones lists use.
                known = "".join(c for c in unicodedata.normalize("NFKD", word)
                                if not unicodedata.combining(c))
                if not known.isascii():
                    from normality import ascii_text as latin_ascii
                    from rigour.text.translit import ascii_text

                    latin = all(ord(c) < 0x250 or 0x1E00 <= ord(c) <= 0x1EFF for c in word)
                    known = latin_ascii(word) if latin else ascii_text(word)
                if len(_ASCII_WORDS) < 200_000:
                    _ASCII_WORDS[word] = known
            return known

        def words_of(name: str) -> str:
            text = normalize(name)
            if text.isascii():
                return text
            return normalize(" ".join(ascii_word(w) for w in text.split()))

        _FOLDING = (words_of, legal_forms, is_stopword, metaphone)
    return _FOLDING


def _api_is_stopword(word: str) -> bool:
    from rigour.text.stopwords import is_stopword

    return is_stopword(word)


def fold(name: str) -> str:
    """The name as compared: ASCII, case-folded words, legal forms removed at both ends."""
    return _readings(name)[1]


def _readings(name: str) -> tuple[str, str]:
    """The name's words (ASCII, case-folded), and its folded form."""
    words_of, legal_forms, _, _ = _folding()
    text = words_of(name)
    words = text.split()
    if len(words) < 2:
        return text, text
    forms = sorted({tuple(m.split()) for m, _ in legal_forms(text)}, key=len, reverse=True)
    while len(words) > 1:
        n = len(words)
        for form in forms:
            k = len(form)
            if k >= len(words):
                continue
            if tuple(words[-k:]) == form:
                del words[-k:]
                break
            if tuple(words[:k]) == form:
                del words[:k]
                break
        else:
            if words[-1] in GENERIC_SUFFIXES:
                words.pop()
        if len(words) == n:
            break
    return text, " ".join(words)


def keys_of(words: list[str], significant: list[str]) -> set[str]:
    """The words but stopwords, each pair of neighbouring words written together, and the
    sound (metaphone, marked with a leading "~") of each word of PHONETIC_MIN_LENGTH letters
    or more."""
    keys = set(significant)
    keys.update(a + b for a, b in zip(words, words[1:]))
    sound = _folding()[3]
    for w in significant:
        if len(w) >= PHONETIC_MIN_LENGTH:
            code = sound(w)
            if len(code) >= 3:
                keys.add("~" + code)
    return keys


def _significant(words: list[str]) -> list[str]:
    """The words that are not stopwords (rigour's list: "the", "of", "al", "de", ...)."""
    out = []
    for w in words:
        stop = _STOPWORDS.get(w)
        if stop is None:
            stop = _folding()[2](w)
            if len(_STOPWORDS) < 200_000:
                _STOPWORDS[w] = stop
        if not stop:
            out.append(w)
    return out


def one_letter_apart(a: str, b: str) -> bool:
    return max(len(a), len(b)) >= TYPO_MIN_LENGTH and OSA.distance(a, b, score_cutoff=1) == 1


class Entry:
    """A folded name in the three readings that are compared, with its keys."""

    __slots__ = ("folded", "words", "sorted", "compact", "keys", "significant", "whole")

    def __init__(self, folded: str, whole: str | None = None):
        self.folded = folded
        self.whole = folded if whole is None else whole
        self.words = folded.split()
        self.sorted = " ".join(sorted(self.words))
        self.compact = "".join(self.words)
        self.significant = _significant(self.words)
        self.keys = keys_of(self.words, self.significant)


def shares_word(a: Entry, b: Entry) -> bool:
    return bool(shared_keys(a, b))


def shared_keys(q: Entry, e: Entry) -> set[str]:
    """The keys of `e` that `q` shares: held by both, or words one letter apart."""
    shared = q.keys & e.keys
    shared.update(y for y in e.significant if any(one_letter_apart(x, y) for x in q.significant))
    return shared


class Prepared:
    """A table's names folded once (parallel lists, one place per distinct name as written),
    with an index from each key to the names holding it, the common keys, and the deletion
    neighbourhood of the words."""

    def __init__(self, rows: list[Any]):
        self.names: list[str] = []  # as listed
        self.row_of: list[int] = []
        self.folded: list[str] = []
        self.sorted: list[str] = []
        self.compact: list[str] = []
        self.whole: list[str] = []
        self.stripped: list[bool] = []
        self.exact: dict[str, int] = {}
        self.by_key: dict[str, list[int]] = {}
        keys_of_entry: list[set[str]] = []
        words: set[str] = set()
        seen: set[str] = set()  # names as written (folded alike, "X Ltd" and "X OOD" differ)
        for r, names in enumerate(_names_of(rows)):
            for n in names:
                whole, f = _readings(n)
                if not f or whole in seen:  # the first row that lists a name keeps it
                    continue
                seen.add(whole)
                e = Entry(f, whole)
                at = len(self.folded)
                self.exact.setdefault(f, at)
                self.names.append(n.strip())
                self.row_of.append(r)
                self.folded.append(f)
                self.sorted.append(e.sorted)
                self.compact.append(e.compact)
                self.whole.append(whole)
                self.stripped.append(whole != f)
                for k in e.keys:
                    self.by_key.setdefault(k, []).append(at)
                keys_of_entry.append(e.keys)
                words.update(e.significant)
        # keys held by many listed entries (bank, trading, general, petrochemical, iran...),
        # and the names that have a key of their own
        self.common = frozenset(k for k, held in self.by_key.items()
                                if len({self.row_of[i] for i in held}) >= COMMON_ENTRIES)
        self.distinct = [not keys <= self.common for keys in keys_of_entry]
        # a listed word under itself and under each of its forms less one letter (one word,
        # or a tuple of words when several meet: most forms belong to one word)
        self.typos: dict[str, tuple[str, ...]] = {}  # query words seen, and their answer
        self.near: dict[str, str | tuple[str, ...]] = {}
        near = self.near
        for w in sorted(words):
            forms = {w[:p] + w[p + 1:] for p in range(len(w))} \
                if len(w) >= TYPO_MIN_LENGTH else set()
            if len(w) >= TYPO_MIN_LENGTH - 1:
                forms.add(w)
            for v in forms:
                held = near.get(v)
                near[v] = w if held is None else (held, w) if isinstance(held, str) \
                    else held + (w,)

    def typo_words(self, word: str) -> tuple[str, ...]:
        """Listed words one letter from `word` (wrong, missing, added or swapped)."""
        known = self.typos.get(word)
        if known is not None:
            return known
        forms = {word[:p] + word[p + 1:] for p in range(len(word))} \
            if len(word) >= TYPO_MIN_LENGTH else set()
        if len(word) >= TYPO_MIN_LENGTH - 1:
            forms.add(word)  # listed words one letter longer
        found: set[str] = set()
        for v in forms:
            held = self.near.get(v)
            if held is not None:
                if isinstance(held, str):
                    found.add(held)
                else:
                    found.update(held)
        near = tuple(sorted(w for w in found if w != word and one_letter_apart(word, w)))
        if len(self.typos) < MAX_CACHED:
            self.typos[word] = near
        return near

    def candidates(self, q: Entry) -> tuple[set[int], set[int]]:
        """The names that share a word with `q`: those that share one of their own (not
        common) keys, and the others."""
        strong: set[int] = set()
        weak: set[int] = set()
        common = self.common
        for k in q.keys:
            hit = self.by_key.get(k)
            if hit is not None:
                (weak if k in common else strong).update(hit)
        for w in q.significant:
            for near in self.typo_words(w):
                (weak if near in common else strong).update(self.by_key[near])
        return strong, weak - strong


def _names_of(rows: list[Any]) -> list[list[str]]:
    out = []
    for row in rows:
        names: list[str] = []
        if isinstance(row, dict):
            name, aliases = row.get("name"), row.get("aliases")
            if isinstance(name, str):
                names.append(name)
            if isinstance(aliases, str):
                names += aliases.split(";")
        out.append(names)
    return out


def pair_score(a: str, b: str) -> float:
    """The score of two names (not a Decimal: used for ranking and in tests)."""
    return _score(entry(a), entry(b))


def entry(name: str) -> Entry:
    whole, folded = _readings(name)
    return Entry(folded, whole)


def _score(q: Entry, e: Entry, common: frozenset[str] = frozenset()) -> float:
    """The score of a query against a listed name; `common` are the list's common keys."""
    if q.folded == e.folded:
        return 1.0
    s = max(OSA.normalized_similarity(q.folded, e.folded),
            OSA.normalized_similarity(q.sorted, e.sorted),
            OSA.normalized_similarity(q.compact, e.compact))
    if (q.whole != q.folded) != (e.whole != e.folded):  # a legal form only one lost
        s = max(s, OSA.normalized_similarity(q.whole, e.whole))
    shared = shared_keys(q, e)
    if not shared:
        s = min(s, NO_SHARED_WORD_CAP)
    elif shared <= common and not e.keys <= common:
        s = min(s, COMMON_ONLY_CAP)
    return min(s, 0.9999)


def prepare(rows: list[Any], cache: dict[str, Any]) -> Prepared:
    """The table's index, kept in `cache` (a rule set's cache for the table): unpickled from
    `cache["packed"]` when the rule set came from the compiled cache with it (engine/compiled.py
    `to_bytes` builds and packs it), else built (or shared with a rule set listing the same
    names)."""
    return _prepared(rows, cache)


def _prepared(rows: list[Any], cache: dict[str, Any]) -> Prepared:
    prepared = cache.get("prepared")
    if prepared is None and "packed" in cache:
        prepared = pickle.loads(cache["packed"])  # noqa: S301 - the compiled cache's own bytes
        cache["prepared"] = prepared
        cache.pop("packed", None)
    if prepared is None:
        names = tuple(r.get("name") if isinstance(r, dict) else None for r in rows) + \
            tuple(r.get("aliases") if isinstance(r, dict) else None for r in rows)
        prepared = _SHARED.get(names)
        if prepared is None:
            prepared = Prepared(rows)
            if len(_SHARED) >= MAX_SHARED_TABLES:
                del _SHARED[next(iter(_SHARED))]
            _SHARED[names] = prepared
        cache["prepared"] = prepared
    return prepared


def _lookup(text: str, rows: list[Any], cache: dict[str, Any]) -> tuple[Decimal, int]:
    """(score, place of the best name or -1), cached per text: names repeat across orders and
    the answer is a pure function of the table."""
    results: dict[str, tuple[Decimal, int]] = cache.setdefault("results", {})
    known = results.get(text)
    if known is not None:
        return known
    found = _best(entry(text), _prepared(rows, cache))
    if len(results) < MAX_CACHED:
        results[text] = found
    return found


def best_score(text: str, rows: list[Any], cache: dict[str, Any]) -> Decimal:
    return _lookup(text, rows, cache)[0]


def best_match(text: str, rows: list[Any], cache: dict[str, Any]) -> dict[str, Any] | None:
    """The listed row that gave `best_score`'s score, as a new object: the row's columns plus
    `matched` (the name or alias as listed) and `score`; None when no listed name shares a
    word with the text (score 0)."""
    score, at = _lookup(text, rows, cache)
    if at < 0:
        return None
    prepared = _prepared(rows, cache)
    found = dict(rows[prepared.row_of[at]])
    found["matched"] = prepared.names[at]
    found["score"] = score
    return found


def _best(q: Entry, table: Prepared) -> tuple[Decimal, int]:
    """Only names that share a word with the query can reach 0.6, so only they are scored
    (found through the indexes); a name sharing no word with any listed name scores 0. On a
    tie the name listed first wins (among names capped at 0.7, the most similar)."""
    if not q.folded or not table.folded:
        return ZERO, -1
    exact = table.exact.get(q.folded)
    if exact is not None:
        return ONE, exact
    strong, weak = table.candidates(q)
    if not strong and not weak:
        return ZERO, -1
    # every candidate shares a word with the query, so the first cap does not apply; names
    # that have words of their own but share only common ones with the query are capped
    distinct = table.distinct
    capped = sorted(i for i in weak if distinct[i])
    free = sorted(strong.union(i for i in weak if not distinct[i]))
    best, at = _best_of(q, table, free, 0.0, -1, 1.0)
    if capped and best <= COMMON_ONLY_CAP:
        best, at = _best_of(q, table, capped, best, at, COMMON_ONLY_CAP)
    return Decimal(str(round(min(best, 0.9999), 4))), at


def _best_of(q: Entry, table: Prepared, chosen: list[int], best: float, at: int,
             cap: float) -> tuple[float, int]:
    """The best similarity of the readings over `chosen`, each capped at `cap`, if it beats
    (or ties with a name listed earlier) `best` at `at`. A reading after the first is asked
    only for what beats or ties the best so far, which rapidfuzz rules out quickly."""
    for query, listed, among in _passes(q, table, chosen):
        if not among:
            continue
        names = itemgetter(*among)(listed) if len(among) > 1 else (listed[among[0]],)
        hit = process.extractOne(query, names, scorer=OSA.normalized_similarity,
                                 score_cutoff=best)
        if hit is None:
            continue
        score, i = min(hit[1], cap), among[hit[2]]
        if score > best or at < 0 or (score == best and i < at):
            best, at = score, i
    return best, at


def _passes(q: Entry, table: Prepared,
            chosen: list[int]) -> list[tuple[str, list[str], list[int]]]:
    """(query's reading, the table's, the candidates it is compared with): the names as
    folded, with their words sorted, without spaces, and, for the names where only one of the
    two lost a legal form, as written (a misspelt legal form is not recognised: "Leading Edge
    Sourcing Corporattion" against the listed "... Corporation")."""
    stripped = q.whole != q.folded
    flags = table.stripped
    return [(q.folded, table.folded, chosen), (q.sorted, table.sorted, chosen),
            (q.compact, table.compact, chosen),
            (q.whole, table.whole, [i for i in chosen if flags[i] != stripped])]
