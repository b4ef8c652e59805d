"""Reference data checks (issue 15): a broken table at its real line and column, column types,
values that do not fit their column, duplicate keys of tables looked up by key, and the
coverage of reference/countries by embargo lists, export tables and country columns.

In: the checker (its model's tables, the rule set root) and, for a table that could not be
read, the exception. Out: diagnostics, and `column_types(table)` for engine/check_types.py.
Pure apart from reading the rule set's own reference files again (to find line and column).

The non-obvious choices:
- a table that cannot be read is still registered, empty, and remembered as broken: otherwise
  every `ref.NAME` reading it becomes an "unknown reference table" error of its own, sorted
  before the real one (packs/ comes before reference/);
- a column's type is what all its non-empty cells are (number, date, yes/no flag, text; a text
  column with few distinct values is an enum of them). A column whose cells are mostly numbers
  (or dates) with a few that are not is reported at those cells: `10,00` in a price column;
- duplicate keys are reported only for tables an expression looks up by key (`ref.T[k]`): a
  table read as a list (inventory by location, lanes, denied parties) repeats its first column
  on purpose.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .diagnostics import Code, Diagnostic, Diagnostics, Span
from .values import Table

_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)\s*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# what a mistyped number or date looks like (`10,00`, `$12`, `1'000`, `03/12/2026`)
_NUMBERISH = re.compile(r"^[-+]?(?=.*[,'$€£%])[$€£]?\s?\d[\d.,']*\s?[%$€£]?$")
_DATEISH = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")
_NUMBERISH_M = re.compile(_NUMBERISH.pattern, re.M)
_DATEISH_M = re.compile(_DATEISH.pattern, re.M)
_FLAGS = {"Y", "N", "y", "n", "true", "false", "TRUE", "FALSE", "yes", "no"}
ENUM_MAX = 12  # a text column with at most this many distinct values is an enum of them
MAX_REPORTS = 20  # per table: values that do not fit, duplicate keys
MAX_LISTED = 8  # countries named in one message
MAX_ROWS = 200_000  # rows scanned per table


@dataclass(frozen=True)
class ColType:
    kind: str  # number | date | flag | text | enum
    values: frozenset[str] = frozenset()  # an enum's values

    def describe(self) -> str:
        if self.kind == "enum":
            shown = ", ".join(sorted(self.values)[:8])
            return f"an enum of texts ({shown}{', ...' if len(self.values) > 8 else ''})"
        return {"number": "a number", "date": "a date (YYYY-MM-DD)", "flag": "a Y/N flag",
                "text": "a text"}[self.kind]


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "flag"
    if isinstance(v, (int, Decimal)):
        return "number"
    if isinstance(v, str):
        if _DATE.match(v):
            return "date"
        if _NUMBER.match(v):
            return "number"
        return "flag" if v in _FLAGS else "text"
    return "other"


def column_names(table: Table) -> set[str]:
    """The columns of a table of objects (the keys of its first rows)."""
    names: set[str] = set()
    for row in table.rows[:100]:
        if isinstance(row, dict):
            names.update(str(k) for k in row)
    return names


def column_type(table: Table, column: str) -> ColType:
    """A column's type, inferred from its non-empty values."""
    vals = [v for row in table.rows[:MAX_ROWS] if isinstance(row, dict)
            for v in (row.get(column),) if v is not None and v != ""]
    distinct = set(vals)
    kinds = {_kind(v) for v in distinct}
    if len(kinds) == 1 and kinds != {"text"} and kinds != {"other"}:
        return ColType(kinds.pop())
    if kinds <= {"text", "flag"} and vals:
        texts = frozenset(str(v) for v in distinct)
        many = len(texts) > ENUM_MAX or len(texts) >= len(vals)
        return ColType("text") if many else ColType("enum", texts)
    return ColType("text")


_CSV_HINT = ("quote a cell holding a comma or a quote (\"a, b\"; a quote inside is doubled: "
             "\"\"), and keep every row as wide as the header")


# --- a CSV that cannot be read -------------------------------------------------------------

def _cell_cols(line: str) -> list[int]:
    """The 1-based column where each cell of one CSV line starts."""
    starts, quoted, i = [1], False, 0
    while i < len(line):
        ch = line[i]
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            starts.append(i + 2)
        i += 1
    return starts


def locate_csv(text: str) -> tuple[int, int, str] | None:
    """Where a CSV breaks, as (line, col, message): the first record with more cells than the
    header, or the csv module's own error at the line it stopped on."""
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text), strict=True)
    width = None
    try:
        for rec in reader:
            if width is None:
                width = len(rec)
                if not rec or not any(c.strip() for c in rec):
                    return 1, 1, "no header row"
                continue
            if len(rec) > width:
                n = reader.line_num
                cols = _cell_cols(lines[n - 1]) if n <= len(lines) else [1]
                col = cols[width] if len(cols) > width else 1
                return n, col, (f"this row has {len(rec)} cells; the header has {width} "
                                f"(cell {width + 1} starts here)")
            if reader.line_num > MAX_ROWS:
                return None
    except csv.Error as exc:
        n = max(reader.line_num, 1)
        src = lines[n - 1] if n <= len(lines) else ""
        col = src.find('"') + 1 if '"' in src else 1
        return n, max(col, 1), f"{exc} (a quote opened here is not closed where it should be)"
    return None if width is not None else (1, 1, "no header row")


def unreadable(c: Any, name: str, rel: str, path: Path, exc: Exception) -> None:
    """Reports a reference table that cannot be read at its real place, and registers it empty
    so that the expressions reading it raise no follow-on errors."""
    where, message = Span(rel), f"cannot read reference table: {exc}"
    if rel.endswith(".csv"):
        try:
            found = locate_csv(path.read_text("utf-8-sig"))
        except (OSError, UnicodeDecodeError):
            found = None
        if found is not None:
            where = Span(rel, found[0], found[1])
            message = f"cannot read reference table: {found[2]}"
    c.diags.error(Code.REFERENCE, where, message, _CSV_HINT if rel.endswith(".csv") else None)
    c.model.tables[name] = Table(name, [], None)
    c.broken.add(name)


# --- a table that was read ------------------------------------------------------------------

def check_csv(c: Any, name: str, rel: str, keyed: bool) -> None:
    """Values that do not fit their column's type, and (when `keyed`) duplicate keys."""
    try:
        text = (c.root / rel).read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return
    records: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text), strict=True)
    header: list[str] = []
    try:
        for rec in reader:
            if not header:
                header = [h.strip() for h in rec]
                continue
            if rec:
                records.append((reader.line_num, rec))
            if len(records) > MAX_ROWS:
                break
    except csv.Error:  # read leniently by read_csv, but a quote swallowed part of the file
        found = locate_csv(text)
        if found is not None:
            c.diags.error(Code.REFERENCE, Span(rel, found[0], found[1]), "cannot read "
                          f"reference table: {found[2]}", _CSV_HINT)
        return
    lines = text.splitlines()
    _misfits(c, rel, header, records, lines)
    if keyed and header:
        _duplicates(c, rel, header[0], records)


def _misfits(c: Any, rel: str, header: list[str], records: list[tuple[int, list[str]]],
             lines: list[str]) -> None:
    reported = 0
    for j, col in enumerate(header):
        joined = "\n".join(rec[j].strip() for _, rec in records if j < len(rec))
        if not (_NUMBERISH_M.search(joined) or _DATEISH_M.search(joined)):
            continue  # one scan of the column in C: the common case
        cells = [(n, rec[j].strip()) for n, rec in records if j < len(rec) and rec[j].strip()]
        if len(cells) < 3:
            continue
        for kind, pattern, like, fix in (
                ("number", _NUMBER, _NUMBERISH, "write numbers with a '.' decimal point, no "
                 "thousands separator or currency sign (10.00)"),
                ("date", _DATE, _DATEISH, "write dates as YYYY-MM-DD")):
            marks = ",'$€£%" if kind == "number" else "./"
            odd = [(n, v) for n, v in cells if any(m in v for m in marks)
                   and not pattern.match(v) and like.match(v)]
            if not odd:
                continue
            fits = sum(1 for n, v in cells if pattern.match(v))
            if fits < 2 or fits < 4 * len(odd):
                continue
            for n, v in odd:
                if reported >= MAX_REPORTS:
                    return
                cols = _cell_cols(lines[n - 1]) if n <= len(lines) else [1]
                at = cols[j] if j < len(cols) else 1
                c.diags.warning(Code.REFERENCE, Span(rel, n, at),
                                f"{v!r} in column '{col}', whose other values are "
                                f"{kind}s: it is read as a text, and a comparison or sum "
                                "with it fails", fix)
                reported += 1


def _duplicates(c: Any, rel: str, key: str, records: list[tuple[int, list[str]]]) -> None:
    first: dict[str, int] = {}
    reported = 0
    for n, rec in records:
        k = rec[0] if rec else ""
        if k in first and reported < MAX_REPORTS:
            c.diags.warning(Code.REFERENCE, Span(rel, n), f"key {k!r} of column '{key}' "
                            f"appears again (first at line {first[k]}); a lookup finds only "
                            "the first row", "remove or merge the duplicate row, or key the "
                            "table on a column that is unique")
            reported += 1
        first.setdefault(k, n)


# --- countries: embargo and export coverage --------------------------------------------------

def check_countries(c: Any) -> None:
    countries = c.model.tables.get("countries")
    if countries is None or not countries.rows or countries.key is None:
        return
    known = {str(r.get(countries.key)) for r in countries.rows if isinstance(r, dict)}
    for name, table in sorted(c.model.tables.items()):
        if name == "countries" or name in c.broken:
            continue
        rel = _file_of(c, name)
        if table.rows and all(isinstance(v, str) and len(v) == 2 and v.isupper()
                              for v in table.rows):
            odd = [v for v in table.rows if v not in known]
            if odd:
                c.diags.warning(Code.REFERENCE, Span(rel), f"{name} lists "
                                f"{', '.join(odd[:MAX_LISTED])}, not countries of "
                                "reference/countries: a typo here lets the country through",
                                "use ISO 3166-1 alpha-2 codes that countries lists")
            continue
        key = table.key
        if key in ("country", "country_code") and any(w in name for w in (
                "export", "embargo", "screen", "sanction", "group")):
            have = {str(r.get(key)) for r in table.rows if isinstance(r, dict)}
            missing = sorted(known - have)
            if missing:
                c.diags.warning(Code.REFERENCE, Span(rel), f"{name} has no row for "
                                f"{len(missing)} countr{'y' if len(missing) == 1 else 'ies'} of "
                                f"reference/countries ({', '.join(missing[:MAX_LISTED])}"
                                f"{', ...' if len(missing) > MAX_LISTED else ''}): an order "
                                "to them is not classified", "add a row for every country")
            continue
        memo = getattr(c, "memo", None)
        if memo is None:
            _country_column(c, name, rel, table, known)
        else:  # engine/memo.py: the same table against the same countries, the same warnings
            c.diags.items += memo.shared((table, countries), ("country_column", name, rel),
                                         partial(_collected, name, rel, table, known))


def _collected(name: str, rel: str, table: Any, known: set[str]) -> list[Diagnostic]:
    diags = Diagnostics()
    _country_column(SimpleNamespace(diags=diags), name, rel, table, known)
    return diags.items


def _country_column(c: Any, name: str, rel: str, table: Any, known: set[str]) -> None:
    """A `country` column naming a code that reference/countries does not know (a customer or
    a warehouse in a country no embargo or export rule has heard of)."""
    reported = 0
    for i, row in enumerate(table.rows[:200_000]):
        v = row.get("country") if isinstance(row, dict) else None
        if isinstance(v, str) and v and v not in known and reported < MAX_LISTED:
            line = i + 2 if rel.endswith(".csv") else 1  # a CSV row per line after the header
            c.diags.warning(Code.REFERENCE, Span(rel, line), f"country {v!r} of {name} is not "
                            "in reference/countries: embargo and export checks do not know it",
                            "use an ISO 3166-1 alpha-2 code that countries lists, or add it")
            reported += 1


def _file_of(c: Any, name: str) -> str:
    for ext in ("csv", "yaml", "yml", "json"):
        if (c.root / f"reference/{name}.{ext}").is_file():
            return f"reference/{name}.{ext}"
    return f"reference/{name}.csv"
