"""CompiledRuleSet.evaluate(owned=...): an order handed over is decided in place, any other is
copied first (issue 16: no deep copy of an order the CLI just parsed)."""
from __future__ import annotations

import datetime
from pathlib import Path

from ordinance.engine import dumps, load, parse_order

ACME = Path(__file__).resolve().parents[2] / "rulesets/acme"
TEXT = (b'{"id": "SO-1", "channel": "web", "customer": {"id": "C-00018"}, '
        b'"lines": [{"id": "1", "sku": "CON-0024", "quantity": 3}]}')
DAY = datetime.date(2026, 11, 20)


def test_an_owned_order_is_decided_in_place_and_decides_the_same():
    rs = load(ACME)
    mine = parse_order(TEXT)
    copied = rs.evaluate(mine, as_of=DAY)
    assert mine == parse_order(TEXT)  # not owned: the caller's order is left alone
    assert copied.order is not mine and copied.order["customer"].get("segment") is not None
    given = parse_order(TEXT)
    owned = rs.evaluate(given, as_of=DAY, owned=True)
    assert owned.order is given and given["customer"].get("segment") is not None
    assert dumps(owned.to_json()) == dumps(copied.to_json())
