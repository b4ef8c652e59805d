"""Order streams: JSONL or CSV in, one item per order out, read lazily.

In: a path (or `-` for stdin) to JSONL (one order per line) or CSV (one row per order line,
rows of one order next to each other). Out: `OrderSource.items()`, an iterator of
`(line, payload, bytes_read)`: the 1-based line where the order starts, the order (the raw
bytes of a JSONL line, which the worker parses, or a dict built from CSV rows), and how far the
file has been read, for the progress bar. Raises `OSError` for a file that cannot be opened;
a bad line is the worker's to report, never the reader's.

CSV columns (docs/simulator.md has the table): `order_id` -> `id`; `order_date`, `channel`,
`currency` -> the same order field; `customer_id`, `customer_tier` and any `customer_X` ->
`customer.X`; `ship_to_country`, `ship_to_region` and any `ship_to_X` -> `ship_to.X`;
`payment_X` -> `payment.X`; `attr_X` -> `attributes.X`; `line_id` -> the line's `id`; `sku`,
`quantity`, `unit_price` and any `line_X` -> the line's fields. Any other column becomes an
order field of that name. Order fields are read from the first row of the order. An empty cell
is left out. `quantity`, `unit_price`, and the `attr_X` and `line_X` cells that parse as decimals
become decimals, and `true`/`false` there become booleans; every other cell stays text (an id
such as `00123` keeps its zeros).

The non-obvious choice: the reader never parses JSON. Parsing happens in the workers, which
is where the time goes; the reader only splits lines, so it keeps up with many workers.
"""
from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO

Item = tuple[int, "bytes | dict[str, Any]", int]

_ORDER_COLUMNS = {"order_id": "id"}
_PREFIXES = (("customer_", "customer"), ("ship_to_", "ship_to"), ("payment_", "payment"),
             ("attr_", "attributes"))
_LINE_COLUMNS = {"line_id": "id", "sku": "sku", "quantity": "quantity", "unit_price": "unit_price"}


@dataclass(frozen=True)
class OrderSource:
    path: str               # "-" for stdin
    format: str             # "jsonl" | "csv"

    @property
    def total_bytes(self) -> int | None:
        if self.path == "-":
            return None
        return Path(self.path).stat().st_size

    def items(self) -> Iterator[Item]:
        with _open(self.path) as raw:
            if self.format == "csv":
                yield from _csv_items(raw)
            else:
                yield from _jsonl_items(raw)


def open_orders(path: str, format: str | None = None) -> OrderSource:
    """An order stream; the format is `csv` for a `.csv` name, else JSONL, unless given."""
    if format is None:
        format = "csv" if str(path).lower().endswith(".csv") else "jsonl"
    if format not in ("jsonl", "csv"):
        raise ValueError(f"unknown order format {format!r}: use jsonl or csv")
    if path != "-":
        with open(path, "rb"):
            pass          # fail now, with the OS's reason, rather than inside a worker
    return OrderSource(str(path), format)


def _open(path: str) -> BinaryIO:
    if path == "-":
        return open(sys.stdin.fileno(), "rb", closefd=False)
    return open(path, "rb")


def _jsonl_items(raw: BinaryIO) -> Iterator[Item]:
    read = 0
    for number, line in enumerate(raw, start=1):
        read += len(line)
        if line.strip():
            yield number, line, read


class _Lines:
    """Decoded lines for csv.reader, counting the bytes read."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.read = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.raw:
            self.read += len(line)
            yield line.decode("utf-8-sig" if self.read == len(line) else "utf-8")


def _typed(cell: str) -> Any:
    low = cell.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        value = Decimal(cell.strip())
    except InvalidOperation:
        return cell
    return value if value.is_finite() else cell


def _place(column: str) -> tuple[str, str | None, str, bool]:
    """Where a CSV column goes: (level "order" | "line", object or None, field, typed)."""
    if column in _LINE_COLUMNS:
        return "line", None, _LINE_COLUMNS[column], column in ("quantity", "unit_price")
    if column.startswith("line_"):
        return "line", None, column[5:], True
    if column in _ORDER_COLUMNS:
        return "order", None, _ORDER_COLUMNS[column], False
    for prefix, obj in _PREFIXES:
        if column.startswith(prefix) and len(column) > len(prefix):
            return "order", obj, column[len(prefix):], obj == "attributes"
    return "order", None, column, False


def _csv_items(raw: BinaryIO) -> Iterator[Item]:
    lines = _Lines(raw)
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return
    places = [_place(c.strip()) for c in header]
    id_index = header.index("order_id") if "order_id" in header else None
    order: dict[str, Any] | None = None
    order_key: str | None = None
    start = 0
    row_start = reader.line_num + 1
    for row in reader:
        if not any(cell.strip() for cell in row):
            row_start = reader.line_num + 1
            continue
        key = row[id_index] if id_index is not None and id_index < len(row) else None
        if order is None or key != order_key or id_index is None:
            if order is not None:
                yield start, order, lines.read
            order, order_key, start = _order_from(row, places), key, row_start
        _add_line(order, row, places)
        row_start = reader.line_num + 1
    if order is not None:
        yield start, order, lines.read


def _order_from(row: list[str], places: list[tuple[str, str | None, str, bool]]) -> dict[str, Any]:
    order: dict[str, Any] = {}
    for cell, (level, obj, field, typed) in zip(row, places):
        if level != "order" or cell == "":
            continue
        target = order if obj is None else order.setdefault(obj, {})
        target[field] = _typed(cell) if typed else cell
    order["lines"] = []
    return order


def _add_line(order: dict[str, Any], row: list[str],
              places: list[tuple[str, str | None, str, bool]]) -> None:
    line = {field: (_typed(cell) if typed else cell)
            for cell, (level, _obj, field, typed) in zip(row, places)
            if level == "line" and cell != ""}
    if line:
        order["lines"].append(line)
