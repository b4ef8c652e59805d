"""Reading a rule set directory: which files count, its digest, and its reference tables.

In: a rule set directory, or one reference table's text or data. Out: the files in path order
(`ruleset_files`), the rule set's `digest_of` (what a decision names its rule set by), and a
`Table` from CSV (`read_csv`) or from YAML/JSON data (`table_of`). Raises `ValueError` for a
table of the wrong shape; the checker turns it into a REFERENCE diagnostic at the file.

The non-obvious choices: the digest covers every file but the rule set's own `tests/` (and dot
files), each as path, length and bytes, so renaming or moving a file changes it and editing a
test case does not; a CSV cell that reads as a number becomes an exact `Decimal`, never a
float, and the raw text of the key column stays findable (`"001"` is not `1`).
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .values import Table

_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)$")
MAX_FILE = 20 * 1024 * 1024
EXCLUDED_DIRS = {"tests", "__pycache__"}


def ruleset_files(root: Path) -> list[tuple[str, Path]]:
    """Every file of the rule set that counts for its digest, in path order (tests excluded)."""
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        parts = rel.parts
        if any(part.startswith(".") for part in parts) or parts[0] in EXCLUDED_DIRS \
                or "__pycache__" in parts or p.is_symlink() or not p.is_file():
            continue
        out.append((rel.as_posix(), p))
    out.sort(key=lambda t: t[0])
    return out


def digest_of(path: str | Path) -> str:
    """`sha256:` + hex over each file's relative path, length and bytes, in path order."""
    h = hashlib.sha256()
    for rel, p in ruleset_files(Path(path)):
        data = p.read_bytes()
        h.update(rel.encode() + b"\n" + str(len(data)).encode() + b"\n" + data)
    return "sha256:" + h.hexdigest()


def _cell(text: str) -> Any:
    if text == "":
        return None
    if _NUMBER.match(text.strip()):
        try:
            return Decimal(text.strip())
        except InvalidOperation:  # pragma: no cover
            return text
    return text


def read_csv(name: str, text: str) -> Table:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise ValueError("no header row")
    header = [h.strip() for h in header]
    rows, raw_keys = [], []
    for n, rec in enumerate(reader, start=2):
        if not rec:
            continue
        if len(rec) > len(header):
            raise ValueError(f"line {n} has {len(rec)} cells; the header has {len(header)}")
        rows.append({h: _cell(rec[i]) if i < len(rec) else None for i, h in enumerate(header)})
        raw_keys.append(rec[0])
    table = Table(name, rows, header[0])
    for raw, row in zip(raw_keys, rows):  # "001" stays findable as text
        table.index.setdefault(raw, row)
    return table


def table_of(name: str, data: Any) -> Table:
    if isinstance(data, list):
        key = None
        if data and all(isinstance(r, dict) for r in data):
            key = next(iter(data[0]), None)
        return Table(name, data, key)
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        key = data.get("key")
        if key is not None and not isinstance(key, str):
            raise ValueError("key must name a column")
        return Table(name, data["rows"], key)
    raise ValueError("a YAML/JSON table is a list, or {key: COLUMN, rows: [...]}")
