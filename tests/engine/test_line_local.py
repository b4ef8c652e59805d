"""Two shortcuts of the pack's generated function (engine/packrun.py, issue 16), each deciding
exactly what the plain code decides:

- in a per-line rule's loop the expressions read the local `line` rather than the scope's
  `S['line']` (inline.LINE_LOCAL): conditions, guards, the values of `default`/`set` and of the
  pricing actions, and a `default` written into the line itself;
- a per-line table whose inputs are order-level paths (not reading pricing) is matched on the
  first line of a pack's run and its matched rows kept for the other lines: the outputs, which
  may read the line, are still computed per line, and an error or a test run's row count is
  still per line;
- another per-line table with hit policy first or unique is matched in the pack's function
  (its order-level inputs read once per run), not by a call of its matcher per line.
"""
from __future__ import annotations

import datetime
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordinance.engine import actions, load, packrun, validate_order
from tests.engine.helpers import decisions as _decisions, write_ruleset

PACKS = {
    "d.yaml": """
        pack: d
        phase: defaulting
        rules:
          - id: uom
            for_each: line
            then:
              - default: {line.uom: '"EA"', line.attributes.kind: 'coalesce(line.sku, "none")'}
          - id: heavy
            for_each: line
            when: line.quantity > 4
            then:
              - set: {line.attributes.heavy: line.quantity * 2}
        """,
    "v.yaml": """
        pack: v
        phase: validation
        rules:
          - id: odd
            for_each: line
            when: line.sku == "C" and line.attributes.heavy != null
            then:
              - warn: {code: ODD, message: "odd {line.id}"}
          - id: kind-a
            for_each: line
            when: line.attributes.kind == "A"
            then:
              - warn: {code: KIND, message: "a {line.id}"}
          - id: kind-b
            for_each: line
            when: line.attributes.kind == "B" and line.quantity >= 2
            then:
              - warn: {code: KIND, message: "b {line.id}"}
        """,
    "p.yaml": """
        pack: p
        phase: pricing
        rules:
          - id: list
            for_each: line
            table:
              hit: unique
              inputs: [order.currency]
              outputs: [price]
              rows:
                - [EUR, "=line.attributes.price"]
                - [JPY, "=line.attributes.price * 100"]
                - [XXX, 1]
                - [XXX, 2]
            then:
              - list_price: price
          - id: band
            for_each: line
            table:
              hit: collect
              inputs: [order.attributes.band]
              outputs: [pct]
              rows:
                - ["< 5", "=line.quantity"]
                - ["< 10", 1]
                - ["-", 0.5]
            then:
              - discount: {percent: pct, reason: "band {pct}"}
          - id: first
            for_each: line
            table:
              hit: first
              inputs: [customer.id]
              outputs: [off]
              rows:
                - [C1, 0.25]
              default: ["=line.attributes.price / 0"]
            then:
              - discount: {amount: off, reason: first}
          - id: per-line-input
            for_each: line
            table:
              hit: first
              inputs: [line.sku]
              outputs: [up]
              rows:
                - [B, 0.1]
            then:
              - surcharge: {amount_per_unit: up, reason: up}
          - id: mixed
            for_each: line
            table:
              hit: unique
              inputs: [line.attributes.price, order.currency, customer.id]
              outputs: [fee]
              rows:
                - [">= 10", EUR, "-", 2]
                - ["< 10", "-", C1, "=line.quantity"]
                - ["-", JPY, C2, 1]
            then:
              - surcharge: {amount: fee, reason: "fee {fee}"}
        """,
}


def _order(rnd: random.Random) -> dict[str, Any]:
    lines = []
    for n in range(rnd.randint(0, 5)):
        lines.append({"id": str(n + 1), "sku": rnd.choice(["A", "B", "C", None]),
                      "quantity": Decimal(rnd.randint(1, 8)),
                      "attributes": {"price": rnd.choice([Decimal("9.99"), Decimal("20"),
                                                          None, "x"])}})
    return {"id": "O", "currency": rnd.choice(["EUR", "JPY", "XXX", None]),
            "customer": {"id": rnd.choice(["C1", "C2"])},
            "attributes": {"band": rnd.choice([Decimal(1), Decimal(7), Decimal(12), None])},
            "lines": lines}


def test_shortcuts_decide_as_the_plain_code(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_ruleset(tmp_path / "r", PACKS)
    rnd = random.Random(5)
    orders = [_order(rnd) for _ in range(300)]
    fast = _decisions(root, orders)
    monkeypatch.setattr(packrun, "_same_hits", lambda rule, stable: False)

    def called(out: list[str], bind: Any, k: int, table: Any, ind: str, stable: bool) -> None:
        out.append(f"{ind}rows = tm{k}(S, st)")  # the table's own matcher, as before

    monkeypatch.setattr(packrun, "_emit_table_match", called)
    every_line = _decisions(root, orders)
    plain = packrun.expr_code

    def scope(fn: Any, name: str, bind: dict[str, Any], line: bool | None = None) -> str:
        return plain(fn, name, bind, line=False)

    monkeypatch.setattr(packrun, "expr_code", scope)
    monkeypatch.setattr(actions, "expr_code", scope)
    monkeypatch.setattr(actions, "LINE_LOCAL", "_not_set")
    from_scope = _decisions(root, orders)
    assert fast == every_line == from_scope
    text = "\n".join(fast)
    for reached in ('"code":"ODD"', '"code":"KIND"', '"message":"b ', '"reason":"band 0.5"',
                    '"reason":"band 3"', '"code":"RULE_ERROR"', '"reason":"first"',
                    '"kind":"surcharge"', 'both match', '"uom":"EA"', '"heavy":',
                    '"reason":"fee 2"', '"reason":"fee 1"', '"reason":"fee 3"'):
        assert reached in text, reached


def test_the_code_reads_the_local_line(tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "r", PACKS)
    rs = load(root)
    pack = next(p for _, packs in rs.plan for p in packs if p.id == "v")
    text = packrun._source(pack, {})
    # no condition of a per-line rule reads the line from the scope
    assert "S[w" not in text and "S[rest" not in text and "S[gf" not in text


def test_a_table_of_order_level_inputs_is_matched_once_per_run(tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "r", PACKS)
    rs = load(root)
    run = next(r for pid, r in rs.runners.items() if pid == "p")
    calls = []
    for name in [n for n in run.__globals__ if n.startswith("tx")]:
        matcher = run.__globals__[name]

        def counted(S: Any, X: Any, matcher: Any = matcher, name: str = name) -> Any:
            calls.append(name)
            return matcher(S, X)

        run.__globals__[name] = counted
    assert len([n for n in run.__globals__ if n.startswith("tx")]) == 3  # not line.sku's
    order = {"id": "O", "currency": "EUR", "customer": {"id": "C1"},
             "attributes": {"band": Decimal(1)},
             "lines": [{"id": str(i), "sku": "A", "quantity": Decimal(1),
                        "attributes": {"price": Decimal(10)}} for i in range(4)]}
    d = rs.evaluate(validate_order(order), as_of=datetime.date(2026, 11, 20)).to_json()
    assert len(calls) == 3  # three tables, one match each, for four lines
    assert [a["reason"] for a in d["pricing"]["lines"][3]["adjustments"]] == \
        ["band 1", "band 1", "band 0.5", "first", "fee 2"]


def test_the_scope_line_is_set_only_for_statements_that_may_read_it() -> None:
    reads = packrun._reads_scope
    assert not reads(["if ((t1 >= c0 if (t1 := line.get(c1)).__class__ is _D else _ge(t1, c0))):",
                      "lp = st.pricing.lines[i]", "if not lp.discount(q5, -am, r): ",
                      "    st.floor_at(q5, i)", "st.pricing_dirty = True",
                      "except _ERRORS as e:", "    st.rule = q5; st.line_index = i",
                      "    st.rule_error(e)"])
    for text in ("a5_0(st)", "rs = a5_0_t(st)", "st.source_line(a0_0)", "w3(S, X)",
                 "f0(X, line.get(c0))", "x = S[c1]", "st.refresh_pricing(i)"):
        assert reads([text]), text


def test_a_pack_sets_the_scope_line_only_where_read(tmp_path: Path) -> None:
    root = write_ruleset(tmp_path / "r", PACKS)
    rs = load(root)
    pricing = next(p for _, packs in rs.plan for p in packs if p.id == "p")
    validation = next(p for _, packs in rs.plan for p in packs if p.id == "v")
    # the per-line tables' actions are written in but read the table's outputs from the scope
    assert "S['line'] = line" in packrun._source(pricing, {})
    # each rule of `v` warns through a call (a template reads the scope): each of its five
    # loops over lines (two for each guarded rule) sets the scope's line; the loop computing
    # the guard values, written in, does not
    text = packrun._source(validation, {})
    assert text.count("S['line'] = line") == 5
    assert text.count("for i, line in enumerate(lines):") + text.count("for i in gi0[") == 5
    uom = next(p for _, packs in rs.plan for p in packs if p.id == "d")
    assert "S['line'] = line" not in packrun._source(uom, {}).split("for i, line")[1]
