"""Shared by the importer tests: load an imported pack as a rule set, evaluate an order, and
read an imported table's result back in the source's shape (scalar, object, or list of hits)."""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from ordinance.engine import load, validate_order
from ordinance.engine.importers.pack import identifier
from ordinance.engine.yamlload import load_text

DATA = Path(__file__).parent / "data"


def cases(kind: str) -> dict[str, Any]:
    path = DATA / kind / "cases.yaml"
    node = load_text(path.read_text(), str(path))
    assert node is not None
    plain: dict[str, Any] = node.plain()
    return plain


def ruleset(tmp_path: Path, pack: str) -> Any:
    (tmp_path / "ruleset.yaml").write_text('ruleset: imported\nversion: "1"\n')
    (tmp_path / "packs").mkdir()
    (tmp_path / "packs" / "imported.yaml").write_text(pack)
    return load(tmp_path)


def evaluate(rs: Any, fields: dict[str, Any]) -> dict[str, Any]:
    order = validate_order({"id": "case", "lines": [], **fields})
    decision = rs.evaluate(order, as_of=datetime.date(2026, 12, 3)).to_json()
    assert decision["errors"] == [], decision["errors"]
    out: dict[str, Any] = decision["order"]
    return out


def renamed(value: Any) -> Any:
    """The expected value with the source's names as the importer writes them."""
    if isinstance(value, dict):
        return {identifier(k): renamed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed(v) for v in value]
    return value


def hits(result: Any) -> list[Any]:
    """A multi-hit result {count: n, hit1: ..., hitn: ...} as the list it stands for (the
    slots past `count` are null, or objects of nulls for a table of several outputs)."""
    assert isinstance(result, dict), result
    n = int(result["count"])
    unused = [result.get(f"hit{k}") for k in range(n + 1, n + 50)]
    assert all(v is None or (isinstance(v, dict) and set(v.values()) == {None})
               for v in unused), unused
    return [result[f"hit{k}"] for k in range(1, n + 1)]


def same(a: Any, b: Any) -> bool:
    """Equal by value: decimals from JSON text against YAML decimals, recursively."""
    from decimal import Decimal
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, Decimal, str)) and isinstance(b, (int, Decimal)) and \
            not isinstance(a, bool) and not isinstance(b, bool):
        try:
            return Decimal(str(a)) == Decimal(str(b))
        except ArithmeticError:
            return False
    return type(a) is type(b) and a == b
