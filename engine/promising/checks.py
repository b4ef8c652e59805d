"""Static checks of the promising tables, for `ordinance check` (engine/ruleset.py calls them).

In: the rule set's reference tables and the text of `reference/atp_rules.csv` and
`reference/supply.csv` (the checker hands a reader of its rule set directory: this package
does no I/O of its own).
Out: one located `Diagnostic` per mistake, at FILE:LINE:COL of the offending cell (for a list
cell such as `supply_types`, of the offending entry), each with a hint:
- atp_rules: unknown columns (a typo would silently leave an option at its default), no
  `default` row, a name missing, unknown consumption modes, supply and demand types and
  weekdays, flags that are not true/false, days that are not whole and non-negative, a
  `min_split` that is not a positive number, a horizon out of 1..3660 days, fences out of
  order (the ATP fence after the infinite-supply fence, a fence past the horizon),
  accumulation without backward consumption, a window with look-ahead, a working calendar with
  no working day, holidays that are not dates;
- supply: a missing column, unknown kinds (and on_hand, which belongs in inventory), dates
  that are not YYYY-MM-DD, quantities that are not numbers or not positive, locations not in
  `locations` and SKUs not in `products` (when the rule set has those tables); a `ref`
  used twice (a warning);
- allocation, boms, capacity (engine/promising/makeup.py): the first mistake `makeup` finds,
  at its row; allocation with an ATP rule that does not accumulate; a resource no location
  has (a warning).
The rules are the ones `reference.setup` applies when evaluating (engine/promising/
reference.py); these checks say where, and all of them at once. Each table's diagnostics
stop at `MAX_PER_TABLE`.
"""
from __future__ import annotations

import csv
import datetime
import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any

from ..diagnostics import Code, Diagnostic, Span
from ..loading import _cell
from .atp import Consumption, DemandType, SupplyType
from .makeup import makeup
from .reference import WEEKDAYS, ReferenceError, setup

MAX_PER_TABLE = 200
RULE_COLUMNS = ("name", "consumption", "accumulate", "accumulation_window_days",
                "past_due_supply_days", "past_due_demand_days", "infinite_fence_days",
                "atp_fence_days", "split", "min_split", "horizon_days", "supply_types",
                "demand_types", "working_days", "holidays")
DAY_COLUMNS = ("accumulation_window_days", "past_due_supply_days", "past_due_demand_days",
               "infinite_fence_days", "atp_fence_days", "horizon_days")
SUPPLY_COLUMNS = ("location", "sku", "kind", "date", "quantity")
RULES = "reference/atp_rules.csv"
SUPPLY = "reference/supply.csv"


class Cell:
    """One cell of a CSV row: its text and where it starts."""

    def __init__(self, text: str, span: Span):
        self.text = text
        self.span = span

    @property
    def value(self) -> str:
        return self.text.strip()

    def at(self, part: str) -> Span:
        """Where `part` starts inside the cell (its first occurrence), else the cell."""
        i = self.text.find(part)
        return self.span.shifted(i) if i >= 0 else self.span


Row = dict[str, Cell]


def check_promising(read: Callable[[str], str | None], tables: Mapping[str, Any],
                    sources: dict[str, list[str]]) -> list[Diagnostic]:
    """The diagnostics of the promising tables (none without an `atp_rules` table); `read`
    gives a file's text by its path in the rule set (None: no such file). The lines of the
    files read go into `sources` for the carets."""
    if "atp_rules" not in tables:
        return []
    out: list[Diagnostic] = []
    texts = {rel: _read(read, rel) for rel in (RULES, SUPPLY)}
    for rel, text in texts.items():
        if text is not None:
            sources.setdefault(rel, text.splitlines())
    if texts[RULES] is not None:
        out += check_rules(texts[RULES] or "")
    if texts[SUPPLY] is not None and "supply" in tables:
        out += check_supply(texts[SUPPLY] or "", _keys(tables.get("locations"), "id"),
                            _keys(tables.get("products"), "sku"))
    out += check_makeup(read, tables)
    return out


MAKEUP_HINTS = {
    "allocation": "one row per node: node, parent, target, rank, demand_classes (separated "
                  "by ;, * for the rest), kind (number, percentage or ratio), steal (true or "
                  "false)",
    "boms": "one row per component or resource of a make item: item, component, per_unit, "
            "resource, hours, lead_days",
    "capacity": "one row per location and resource: location, resource, hours_per_day",
}
_ROW = re.compile(r"^(allocation|boms|capacity): row (\d+)")


def check_makeup(read: Callable[[str], str | None],
                 tables: Mapping[str, Any]) -> list[Diagnostic]:
    """The allocation rule, bills of material and capacity (engine/promising/makeup.py) as the
    service reads them: the first mistake, at its row (the tables are read whole, the way a
    capture would refuse them: 409 BAD_REFERENCE); allocation needs an accumulating rule."""
    if not any(name in tables for name in MAKEUP_HINTS):
        return []

    def where(name: str, line: int = 1) -> Span:
        rel = f"reference/{name}.csv"
        return Span(rel if _read(read, rel) is not None else f"reference/{name}", line, 1)
    try:
        made = makeup(tables.get("allocation"), tables.get("boms"), tables.get("capacity"))
    except ReferenceError as exc:
        text = str(exc)
        m = _ROW.match(text)
        name = m.group(1) if m else next((n for n in MAKEUP_HINTS if text.startswith(n)),
                                         "allocation")
        return [Diagnostic(Code.REFERENCE, "error", text,
                           where(name, int(m.group(2)) if m else 1), MAKEUP_HINTS[name])]
    out: list[Diagnostic] = []
    if made.allocation is not None:
        try:
            rules = tables.get("atp_rules")
            found = setup(getattr(rules, "rows", rules), None)
        except ReferenceError:
            found = None            # check_rules says what is wrong with it
        if found is not None and not found.rule.accumulate:
            out.append(Diagnostic(Code.REFERENCE, "error", "allocation: the ATP rule must "
                                  "accumulate (weekly shares pool earlier weeks)",
                                  where("allocation"), "set accumulate to true in the "
                                  "default row of reference/atp_rules.csv"))
    plants = {res for hours in made.capacity.values() for res in hours}
    for bom in made.boms.values():
        for res, _ in bom.hours:
            if res not in plants:
                out.append(Diagnostic(Code.REFERENCE, "warning", f"boms: {bom.item} needs "
                                      f"resource {res!r}, which no location has in capacity: "
                                      "it can never be made", where("boms"),
                                      MAKEUP_HINTS["capacity"]))
    return out[:MAX_PER_TABLE]


def check_rules(text: str) -> list[Diagnostic]:
    """Diagnostics of `reference/atp_rules.csv`."""
    out = _Out(RULES)
    header, rows = _rows(RULES, text)
    for name, cell in header.items():
        if name not in RULE_COLUMNS:
            close = difflib.get_close_matches(name, RULE_COLUMNS, 1)
            out.warning(Code.TABLE_SHAPE, cell.span, f"atp_rules: unknown column {name!r}: "
                        "it is not read, the option keeps its default",
                        f"did you mean {close[0]!r}?" if close else
                        "columns: " + ", ".join(RULE_COLUMNS))
    names = [r["name"].value for r in rows if "name" in r]
    if "default" not in names:
        out.error(Code.REFERENCE, Span(RULES, 1, 1), "atp_rules: no row named 'default' (the "
                  "rule promising uses)", "add a row whose name is default")
    for row in rows:
        if out.full:
            break
        _rule_row(row, out)
    return out.items


def check_supply(text: str, locations: set[str] | None,
                 products: set[str] | None) -> list[Diagnostic]:
    """Diagnostics of `reference/supply.csv`; `locations` and `products` are the known keys
    (None: the rule set has no such table, so anything goes)."""
    out = _Out(SUPPLY)
    header, rows = _rows(SUPPLY, text)
    missing = [c for c in SUPPLY_COLUMNS if c not in header]
    if missing:
        out.error(Code.TABLE_SHAPE, Span(SUPPLY, 1, 1), f"supply: no column {missing[0]!r}",
                  "the columns are location, sku, kind, date, quantity, ref")
        return out.items
    refs: dict[str, int] = {}
    for row in rows:
        if out.full:
            break
        line = row["location"].span.line
        ref = row.get("ref")
        if ref is not None and ref.value:
            if ref.value in refs:
                out.warning(Code.DUPLICATE_ID, ref.span, f"supply line {line}: ref "
                            f"{ref.value!r} is also on line {refs[ref.value]}",
                            "give each receipt its own ref: a what-if change by ref "
                            "(simulate --supply-change) moves every line that has it")
            else:
                refs[ref.value] = line
        for column, known, table in (("location", locations, "locations"),
                                     ("sku", products, "products")):
            cell = row[column]
            if not cell.value:
                out.error(Code.BAD_VALUE, cell.span, f"supply line {line}: {column} is empty",
                          "every receipt names its location and sku")
            elif known is not None and cell.value not in known:
                out.error(Code.REFERENCE, cell.span, f"supply line {line}: unknown {column} "
                          f"{cell.value!r} (not in reference/{table})", _near(cell.value, known))
        kind = row["kind"]
        if kind.value == SupplyType.ON_HAND.value:
            out.error(Code.BAD_VALUE, kind.span, f"supply line {line}: on_hand belongs in the "
                      "inventory table, not in supply", "put stock on hand in "
                      "reference/inventory.csv (location, sku, on_hand)")
        else:
            _choice(out, kind, SupplyType, f"supply line {line}: kind", exclude=("on_hand",))
        date = row["date"]
        if _date(date.value) is None:
            out.error(Code.BAD_VALUE, date.span, f"supply line {line}: date {date.value!r} is "
                      "not a date", "write dates as YYYY-MM-DD, e.g. 2027-01-07")
        qty = row["quantity"]
        number = _number(qty.value)
        if number is None:
            out.error(Code.BAD_VALUE, qty.span, f"supply line {line}: quantity {qty.value!r} "
                      "is not a number", "a quantity is a plain decimal number, e.g. 120")
        elif number <= 0:
            out.error(Code.BAD_VALUE, qty.span, f"supply line {line}: quantity {qty.value} is "
                      f"{'negative' if number < 0 else 'zero'}", "supply to come is a positive"
                      " quantity; a cancelled receipt is a removed line")
    return out.items


def _rule_row(row: Row, out: _Out) -> None:
    name = row.get("name")
    if name is None or not name.value:
        first = next(iter(row.values()))
        out.error(Code.BAD_VALUE, first.span, "atp_rules: a row without a name",
                  "name the rule; promising uses the row named default")
    where = f"atp_rules row {name.value if name is not None else '?'!r}"
    consumption = Consumption.BACKWARD
    if "consumption" in row and row["consumption"].value:
        consumption = _choice(out, row["consumption"], Consumption, f"{where}: consumption") \
            or consumption
    flags = {c: _flag(out, row[c], f"{where}: {c}") for c in ("accumulate", "split")
             if c in row}
    days = {c: _days(out, row[c], f"{where}: {c}") for c in DAY_COLUMNS if c in row}
    if "min_split" in row and row["min_split"].value:
        v = _number(row["min_split"].value)
        if v is None or v <= 0:
            out.error(Code.BAD_VALUE, row["min_split"].span, f"{where}: min_split "
                      f"{row['min_split'].value!r} is not a positive number",
                      "the smallest part of a split line, e.g. 1")
    for column, enum in (("supply_types", SupplyType), ("demand_types", DemandType)):
        if column in row:
            for part in _parts(row[column].value):
                _choice(out, row[column], enum, f"{where}: {column}", part=part)
    horizon = days.get("horizon_days")
    if horizon is not None and not 1 <= horizon <= 3660:
        out.error(Code.BAD_VALUE, row["horizon_days"].span, f"{where}: horizon_days {horizon} "
                  "is not from 1 to 3660", "a horizon of a year is 365")
    infinite, atp = days.get("infinite_fence_days"), days.get("atp_fence_days")
    if infinite is not None and atp is not None and atp > infinite:
        out.error(Code.BAD_VALUE, row["atp_fence_days"].span, f"{where}: the ATP time fence "
                  f"({atp} days) is after the infinite-supply fence ({infinite} days)",
                  "fences come in order: ATP fence, then infinite-supply fence")
    if infinite is not None and infinite > (horizon or 365):
        out.warning(Code.BAD_VALUE, row["infinite_fence_days"].span, f"{where}: the "
                    f"infinite-supply fence ({infinite} days) is past the horizon "
                    f"({horizon or 365} days), so it is never reached",
                    "make the horizon longer than the fence, or the fence shorter")
    accumulate = flags.get("accumulate")
    if accumulate and consumption is Consumption.NONE:
        out.error(Code.BAD_VALUE, row["accumulate"].span, f"{where}: accumulation needs "
                  "backward consumption", "set consumption to backward, or accumulate false")
    if days.get("accumulation_window_days") is not None:
        cell = row["accumulation_window_days"]
        if days["accumulation_window_days"] == 0:
            out.error(Code.BAD_VALUE, cell.span, f"{where}: an accumulation window of 0 days",
                      "leave the cell empty for no window")
        elif consumption is Consumption.LOOK_AHEAD:
            out.error(Code.BAD_VALUE, cell.span, f"{where}: look-ahead has no accumulation "
                      "window", "leave the cell empty, or use backward consumption")
    _calendar(row, out, where)


def _calendar(row: Row, out: _Out, where: str) -> None:
    cell = row.get("working_days")
    if cell is not None and cell.value:
        names = [p.lower() for p in _parts(cell.value)]
        bad = [p for p in _parts(cell.value) if p.lower() not in WEEKDAYS]
        if cell.value.lower() != "none":
            for p in bad:
                out.error(Code.BAD_VALUE, cell.at(p), f"{where}: working_days {p!r} is not a "
                          "weekday", "weekdays are " + ";".join(WEEKDAYS))
        if not names or cell.value.lower() == "none":
            out.error(Code.BAD_VALUE, cell.span, f"{where}: the working calendar has no "
                      "working day, so no date could carry a bucket",
                      "name the working weekdays, e.g. mon;tue;wed;thu;fri, or leave the "
                      "cell empty for every day")
    cell = row.get("holidays")
    for p in _parts(cell.value if cell is not None else ""):
        if cell is not None and _date(p) is None:
            out.error(Code.BAD_VALUE, cell.at(p), f"{where}: holiday {p!r} is not a date",
                      "holidays are YYYY-MM-DD dates separated by ;")


class _Out:
    def __init__(self, rel: str):
        self.rel = rel
        self.items: list[Diagnostic] = []

    @property
    def full(self) -> bool:
        return len(self.items) >= MAX_PER_TABLE

    def error(self, code: Code, span: Span, message: str, hint: str | None = None) -> None:
        self.items.append(Diagnostic(code, "error", message, span, hint))

    def warning(self, code: Code, span: Span, message: str, hint: str | None = None) -> None:
        self.items.append(Diagnostic(code, "warning", message, span, hint))


def _read(read: Callable[[str], str | None], rel: str) -> str | None:
    try:
        return read(rel)
    except (OSError, UnicodeDecodeError):
        return None       # the loader reports what it cannot read


def _rows(rel: str, text: str) -> tuple[Row, list[Row]]:
    """The header's cells by name and each row's cells by column name."""
    records = list(_records(rel, text))
    if not records:
        return {}, []
    header = {c.value: c for c in records[0]}
    names = [c.value for c in records[0]]
    rows = []
    for cells in records[1:]:
        row = {n: c for n, c in zip(names, cells)}
        last = cells[-1].span
        for n in names[len(cells):]:       # a short row: its missing cells are empty
            row[n] = Cell("", last.shifted(len(cells[-1].text) + 1))
        rows.append(row)
    return header, rows


def _records(rel: str, text: str) -> Iterator[list[Cell]]:
    lines = text.splitlines()
    reader = csv.reader(text.splitlines(keepends=True))
    start = 1
    try:
        for rec in reader:
            if rec:
                raw = lines[start - 1] if start - 1 < len(lines) else ""
                cols = _starts(raw)
                yield [Cell(t, Span(rel, start, cols[i] if i < len(cols) else 1))
                       for i, t in enumerate(rec)]
            start = reader.line_num + 1
    except csv.Error:
        return            # the loader reports a file it cannot read


def _starts(line: str) -> list[int]:
    """The 1-based column where each cell of a CSV line starts."""
    cols = [1]
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            cols.append(i + 2)
    return cols


def _keys(table: Any, column: str) -> set[str] | None:
    if table is None:
        return None
    return {str(r[column]).strip() for r in table.rows
            if isinstance(r, dict) and r.get(column) is not None}


def _parts(text: str) -> list[str]:
    return [p.strip() for p in text.split(";") if p.strip()]


def _near(value: str, known: set[str]) -> str:
    close = difflib.get_close_matches(value, sorted(known), 1) if len(known) < 10_000 else []
    return f"did you mean {close[0]!r}?" if close else "add it to that table, or fix the name"


def _choice(out: _Out, cell: Cell, enum: type[Enum], what: str, part: str | None = None,
            exclude: tuple[str, ...] = ()) -> Any:
    value = cell.value if part is None else part
    try:
        return enum(value)
    except ValueError:
        names = [e.value for e in enum if e.value not in exclude]
        close = difflib.get_close_matches(value, names, 1)
        out.error(Code.BAD_VALUE, cell.at(value) if value else cell.span,
                  f"{what} {value!r} is not one of {', '.join(names)}",
                  f"did you mean {close[0]!r}?" if close else "write one of " + ", ".join(names))
        return None


def _flag(out: _Out, cell: Cell, where: str) -> bool | None:
    v = cell.value.lower()
    if not v:
        return None
    if v in ("true", "yes", "1"):
        return True
    if v in ("false", "no", "0"):
        return False
    out.error(Code.BAD_VALUE, cell.span, f"{where}: {cell.value!r} is not true or false",
              "write true or false, or leave the cell empty for the default")
    return None


def _days(out: _Out, cell: Cell, where: str) -> int | None:
    if not cell.value:
        return None
    v = _number(cell.value)
    if v is None or v != v.to_integral_value() or v < 0:
        out.error(Code.BAD_VALUE, cell.span, f"{where}: {cell.value!r} is not a whole "
                  "number of days", "days are whole numbers from 0, or an empty cell for none")
        return None
    return int(v)


def _number(text: str) -> Decimal | None:
    """The number the loader reads from a cell, or None (it keeps the text)."""
    v = _cell(text)
    return v if isinstance(v, Decimal) and v.is_finite() else None


def _date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None
