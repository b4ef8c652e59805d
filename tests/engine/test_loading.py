"""Loading rule sets (engine/yamlload.py, engine/loading.py): YAML 1.2, positions, duplicate
keys, schemas, every check error class, reference tables."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ordinance.engine import RuleSetInvalid, digest_of, load
from ordinance.engine.loading import read_csv, table_of
from ordinance.engine.yamlload import YamlError, load_text
from tests.engine.helpers import decide, rendered, write_ruleset


def test_yaml_12_core_schema() -> None:
    node = load_text("a: NO\nb: on\nc: yes\nd: True\ne: 1.50\nf: ~\ng: 2026-01-01\nh: '5'\n",
                     "x.yaml")
    assert node is not None
    assert node.plain() == {"a": "NO", "b": "on", "c": "yes", "d": True, "e": Decimal("1.50"),
                            "f": None, "g": "2026-01-01", "h": "5"}
    assert node.value["e"].span.line == 5 and node.value["e"].span.col == 4


def test_duplicate_keys_are_refused_with_both_places() -> None:
    with pytest.raises(YamlError) as exc:
        load_text("pack: a\nphase: pricing\npack: b\n", "packs/x.yaml")
    assert str(exc.value) == "packs/x.yaml:3:1: duplicate key 'pack' (first at line 1)"


def test_alias_bombs_are_bounded() -> None:
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 8):
        text += f"{chr(97 + i)}: &{chr(97 + i)} [*{chr(96 + i)}" + f", *{chr(96 + i)}" * 9 + "]\n"
    with pytest.raises(YamlError) as exc:
        load_text(text, "bomb.yaml")
    assert "more than" in exc.value.message


def test_digest_excludes_tests_and_changes_with_any_file(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path / "r", {"p.yaml": "pack: p\nphase: pricing\nrules: []\n"})
    first = digest_of(rs)
    assert first.startswith("sha256:") and len(first) == 71
    (rs / "tests").mkdir()
    (rs / "tests" / "t.yaml").write_text("[]\n")
    assert digest_of(rs) == first
    (rs / "packs" / "p.yaml").write_text("pack: p\nphase: pricing\nrules: []\n# changed\n")
    assert digest_of(rs) != first


@pytest.mark.parametrize("pack,expected", [
    ("pack: p\nphase: pricng\nrules: []\n",
     "packs/p.yaml:2:8: error: phase: 'pricng' is not one of defaulting, validation, compliance, "
     "pricing, sourcing, approval"),
    ("pack: p\nphase: pricing\nrules:\n  - id: r\n    whne: true\n",
     "packs/p.yaml:5:5: error: unknown key 'whne' (allowed: description, for_each, id, "
     "priority, stop, table, then, when)"),
    ("pack: p\nphase: pricing\nrules:\n  - id: r\n    then:\n      - discount: {percent: 5}\n",
     None),
    ("pack: p\nphase: approval\nrules:\n  - id: r\n  - id: r\n",
     "packs/p.yaml:5:9: error: rule id 'r' is used twice in pack 'p' (first at line 4)"),
    ("pack: p\nphase: pricing\nrules:\n  - id: r\n    then:\n      - list_price: 5\n",
     "packs/p.yaml:6:9: error: 'list_price' works on a line: add for_each: line to the rule"),
    ("pack: p\nphase: pricing\nafter: [q]\nrules: []\n",
     "packs/p.yaml:3:9: error: after names an unknown pack 'q'"),
    ("pack: p\nphase: validation\nrules:\n  - id: r\n    table:\n      inputs: [order.x]\n"
     "      outputs: [y]\n      rows:\n        - [1]\n",
     "packs/p.yaml:9:11: error: a row has 1 cells; this table needs 1 inputs + 1 outputs = 2"),
    ("pack: p\nphase: validation\nrules:\n  - id: r\n    table:\n      inputs: [order.x]\n"
     "      outputs: [y]\n      rows:\n        - ['[1..x)', 2]\n",
     "packs/p.yaml:9:12: error: bad cell: a range needs two numbers, dates or texts: '[1..x)'"),
    ("pack: p\nphase: defaulting\nrules:\n  - id: r\n    then:\n      - set: {order.x: ref.nope}\n",
     "packs/p.yaml:6:28: error: unknown reference table 'nope'"),
    ("pack: p\nphase: defaulting\nrules:\n  - id: r\n    then:\n      - set: {line.x: 1}\n",
     "packs/p.yaml:6:15: error: 'line.x' names the line, but the rule has no for_each: line"),
    ("pack: p\nphase: pricing\nrules:\n  - id: r\n    when: 5 > 'a'\n",
     "packs/p.yaml:5:13: error: '>' between a text and a number never holds"),
])
def test_each_error_class_has_its_message(tmp_path: Path, pack: str, expected: str | None) -> None:
    rs = write_ruleset(tmp_path / "r", {"p.yaml": pack})
    found = [line.splitlines()[0] for line in rendered(rs)]
    if expected is None:
        assert not [f for f in found if ": error:" in f]
    else:
        assert expected in found, found


def test_a_syntax_error_in_yaml_points_at_it(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path / "r", {"p.yaml": "pack: p\nphase: [pricing\nrules: []\n"})
    with pytest.raises(RuleSetInvalid) as exc:
        load(rs)
    assert exc.value.diagnostics[0].span.file == "packs/p.yaml"
    assert exc.value.diagnostics[0].span.line == 3


def test_missing_manifest(tmp_path: Path) -> None:
    tmp_path.joinpath("x").mkdir()
    assert rendered(tmp_path / "x")[0].startswith("ruleset.yaml:1:1: error: missing ruleset.yaml")


def test_table_analysis_warnings(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path / "r", {"p.yaml": """
        pack: p
        phase: approval
        rules:
          - id: u
            table:
              inputs: [order.x]
              outputs: [y]
              rows:
                - ["[0..50]", 1]
                - ["[50..100]", 2]
                - ["> 200", 3]
          - id: f
            table:
              hit: first
              inputs: [order.x, order.c]
              outputs: [y]
              rows:
                - [">= 10", "-", 1]
                - ["[20..30)", "DE, FR", 2]
                - ["< 10", "not(DE)", 3]
                - ["< 5", "US", 4]
          - id: never
            when: false
        """})
    warnings = [line.splitlines()[0] for line in rendered(rs)]
    assert "packs/p.yaml:10:11: warning: row 2 overlaps row 1: an input can match both, a rule " \
           "error under hit policy unique" in warnings
    assert "packs/p.yaml:19:11: warning: row 2 can never match: row 1 matches every input it " \
           "matches (hit policy first)" in warnings
    assert "packs/p.yaml:21:11: warning: row 4 can never match: row 3 matches every input it " \
           "matches (hit policy first)" in warnings
    assert "packs/p.yaml:23:11: warning: rule 'never' can never fire: its condition is always " \
           "false" in warnings
    assert not any("row 3" in w and "overlaps" in w for w in warnings)
    # the unique table leaves (100, 200] to no row (engine/check_domain.py)
    assert "packs/p.yaml:9:11: warning: the rows leave a gap in order.x: no row matches " \
           "order.x = 150 (between the bounds 100 and 200, other inputs as in row 1)" in warnings
    assert len(warnings) == 5


def test_yaml_booleans_do_not_eat_country_codes(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path / "r", {"p.yaml": """
        pack: p
        phase: compliance
        rules:
          - id: norway
            table:
              inputs: [order.ship_to.country]
              outputs: [code]
              rows:
                - [NO, NORWAY]
            then:
              - hold: {code: "{code}"}
        """})
    d = decide(rs, {"id": "1", "ship_to": {"country": "NO"},
                    "lines": [{"id": "1", "sku": "X", "quantity": 1, "unit_price": 1}]})
    assert d["holds"] == [{"rule": "p/norway", "code": "NORWAY", "reason": "NORWAY"}]


# --- engine/loading.py: reference tables ------------------------------------------------------

def test_a_csv_table_keeps_exact_numbers_and_finds_keys_as_written() -> None:
    table = read_csv("skus", "sku, price ,note\n001,1.10,\nB,2e3,x\n\n")
    assert table.key == "sku" and [r["sku"] for r in table.rows] == [Decimal(1), "B"]
    assert table.rows[0] == {"sku": Decimal(1), "price": Decimal("1.10"), "note": None}
    assert str(table.rows[0]["price"]) == "1.10"  # exact, the scale kept
    assert table.rows[1]["price"] == "2e3"  # only plain decimals are numbers
    assert table.index["001"] is table.rows[0]  # "001" stays findable as written


def test_bad_csv_and_table_shapes_are_value_errors() -> None:
    with pytest.raises(ValueError, match="no header row"):
        read_csv("t", "")
    with pytest.raises(ValueError, match="line 3 has 3 cells; the header has 2"):
        read_csv("t", "a,b\n1,2\n1,2,3\n")
    with pytest.raises(ValueError, match="key must name a column"):
        table_of("t", {"key": 1, "rows": []})
    with pytest.raises(ValueError, match="is a list, or"):
        table_of("t", "text")


def test_yaml_and_json_tables_key_on_the_first_column_or_the_given_one() -> None:
    assert table_of("t", [{"code": "DE", "vat": 19}]).key == "code"
    assert table_of("t", ["DE", "FR"]).key is None
    keyed = table_of("t", {"key": "vat", "rows": [{"code": "DE", "vat": 19}]})
    assert keyed.key == "vat"
