"""engine/actions.py `inline` of the pricing and approval actions (issue 16): a per-line
discount or surcharge, list price and tax, and an approval whose fields are known, generated
into the pack's function, decide exactly what their `run` decides: the same adjustments in the
same order, the same floors, the same rule errors (a value that is not a number, out of range),
a null value doing nothing, reasons with and without {EXPR}."""
from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordinance.engine import actions, load
from tests.engine.helpers import decisions as _decisions, write_ruleset

PACKS = {
    "p.yaml": """
        pack: p
        phase: pricing
        rules:
          - id: list
            for_each: line
            then:
              - list_price: line.attributes.price
          - id: pct
            for_each: line
            when: line.attributes.pct != null
            then:
              - discount: {percent: line.attributes.pct, reason: "pct {line.sku}"}
          - id: fixed
            for_each: line
            when: line.quantity >= 3
            then:
              - discount: {percent: 10, reason: volume}
          - id: per-unit
            for_each: line
            when: line.sku == "B"
            then:
              - discount: {amount_per_unit: 0.75}
          - id: amount
            for_each: line
            when: line.attributes.off != null
            then:
              - discount: {amount: line.attributes.off, reason: off}
          - id: up
            for_each: line
            when: line.attributes.up != null
            then:
              - surcharge: {amount_per_unit: line.attributes.up, reason: "up {line.attributes.up}"}
          - id: vat
            for_each: line
            then:
              - tax: {rate: line.attributes.vat, jurisdiction: "{order.ship_to.country}"}
          - id: flat
            for_each: line
            then:
              - tax: {rate: 1.5}
          - id: order-vat
            for_each: line
            then:
              - tax: {rate: order.attributes.vat, jurisdiction: "{order.ship_to.country}-{customer.id}"}
          - id: order-pct
            for_each: line
            then:
              - discount: {percent: order.attributes.pct, reason: "order {order.id}"}
          - id: table
            for_each: line
            table:
              hit: collect
              inputs: [line.sku]
              outputs: [p]
              rows:
                - [A, 2]
                - [A, 3]
                - ["-", 0.5]
            then:
              - discount: {percent: p, reason: "table {p}"}
        """,
    "a.yaml": """
        pack: a
        phase: approval
        rules:
          - id: big
            when: pricing.total > 100
            then:
              - require_approval: {role: manager, level: 2, reason: big order}
              - require_approval: {role: director}
          - id: computed
            when: pricing.total > 1000
            then:
              - require_approval: {role: "{order.ship_to.country}-cfo", level: 3}
        """,
}

VALUES: list[Any] = [None, Decimal("0"), Decimal("5"), Decimal("12.5"), Decimal("99.999"),
                     Decimal("100"), Decimal("250"), Decimal("-3"), Decimal("1E+30"), "x"]


def _order(rnd: random.Random) -> dict[str, Any]:
    lines = []
    for n in range(rnd.randint(1, 4)):
        attrs = {k: rnd.choice(VALUES) for k in ("pct", "off", "up")
                 if rnd.random() < 0.5}
        attrs["price"] = rnd.choice(VALUES[1:7] + [Decimal("19.99"), Decimal("0.01")])
        attrs["vat"] = rnd.choice([Decimal("20"), Decimal("7.7"), None])
        lines.append({"id": str(n + 1), "sku": rnd.choice("ABC"),
                      "quantity": Decimal(rnd.randint(1, 6)), "attributes": attrs})
    return {"id": "O", "currency": rnd.choice(["EUR", "JPY"]),
            "ship_to": {"country": rnd.choice(["DE", "FR"])}, "lines": lines,
            "customer": {"id": rnd.choice(["C1", None])},
            "attributes": {"vat": rnd.choice(VALUES), "pct": rnd.choice(VALUES)}}


def test_inlined_actions_decide_as_their_run(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_ruleset(tmp_path / "r", PACKS)
    rnd = random.Random(11)
    orders = [_order(rnd) for _ in range(300)]
    inlined = _decisions(root, orders)
    monkeypatch.setattr(actions, "once_per_run", lambda code, var, bind: code)
    every_line = _decisions(root, orders)  # order-level values computed on every line
    for cls in (actions.ListPrice, actions._Adjust, actions.Tax, actions.RequireApproval):
        monkeypatch.setattr(cls, "inline", lambda self, name, bind: None)
    called = _decisions(root, orders)
    assert inlined == every_line == called
    # the stream reaches what the inline code must get right
    text = "\n".join(inlined)
    for reached in ('"code":"RULE_ERROR"', '"code":"PRICE_FLOOR"', '"kind":"surcharge"',
                    '"reason":"pct ', '"reason":"table ', '"role":"manager"',
                    '"role":"DE-cfo"', '"status":"rejected"', '"status":"pending_approval"'):
        assert reached in text, reached


def test_the_pack_function_has_the_actions_written_in(tmp_path: Path) -> None:
    """Not a call of `run` per firing: the statements are in the pack's own code."""
    root = write_ruleset(tmp_path / "r", PACKS)
    rs = load(root)
    names = set()
    for run in rs.runners.values():
        names.update(run.__code__.co_names)
    assert {"adjust_percent", "adjust", "add_tax", "set_list_price", "approvals"} <= names
    pricing = next(run for run in rs.runners.values() if "add_tax" in run.__code__.co_names)
    # kept once per run: the jurisdictions of `vat` and `order-vat`, the rate of `order-vat`
    # and the percent of `order-pct` (not `vat`'s rate, which reads the line)
    kept = sorted(v for v in pricing.__code__.co_varnames if v.endswith(("_h", "_jh")))
    assert len(kept) == 4 and sum(v.endswith("_jh") for v in kept) == 2
