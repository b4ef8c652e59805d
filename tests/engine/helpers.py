"""Small rule sets written on the fly for unit tests."""
from __future__ import annotations

import datetime
import textwrap
from pathlib import Path
from typing import Any

from ordinance.engine import check, dumps, load, validate_order

# The "today" a door passes for an order without a date: fixed, so a test never depends on the
# day it runs (the engine reads no clock).
TODAY = datetime.date(2026, 12, 3)


def write_ruleset(root: Path, packs: dict[str, str], reference: dict[str, str] | None = None,
                  name: str = "t") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "ruleset.yaml").write_text(f'ruleset: {name}\nversion: "1"\n')
    for fname, text in packs.items():
        (root / "packs").mkdir(exist_ok=True)
        (root / "packs" / fname).write_text(textwrap.dedent(text).lstrip())
    for fname, text in (reference or {}).items():
        (root / "reference").mkdir(exist_ok=True)
        (root / "reference" / fname).write_text(textwrap.dedent(text).lstrip())
    return root


def decide(root: Path, order: dict[str, Any], as_of: str = "2026-11-20") -> dict[str, Any]:
    import datetime
    rs = load(root)
    return rs.evaluate(validate_order(order), as_of=datetime.date.fromisoformat(as_of)).to_json()


def rendered(root: Path) -> list[str]:
    return [d.render(with_source=False) for d in check(root)]


def decisions(root: Path, orders: list[dict[str, Any]], as_of: str = "2026-11-20") -> list[str]:
    """The rule set at `root`, compiled afresh (no cache here), deciding each order: the
    decisions as JSON text, for comparing two ways of running the same rules."""
    rs = load(root)
    day = datetime.date.fromisoformat(as_of)
    return [dumps(rs.evaluate(validate_order(o), as_of=day).to_json()) for o in orders]
