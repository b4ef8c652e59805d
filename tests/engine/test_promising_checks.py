"""`ordinance check` over the promising tables (engine/promising/checks.py): each mistake in
reference/atp_rules.csv or reference/supply.csv is one located diagnostic (FILE:LINE:COL of the
cell, or of the entry inside a list cell) with a hint; the shipped rule sets check clean."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ordinance.engine import RuleSetInvalid, check, load

ROOT = Path(__file__).resolve().parents[2]
RULES = "reference/atp_rules.csv"
SUPPLY = "reference/supply.csv"
HEADER = ("name,consumption,accumulate,accumulation_window_days,past_due_supply_days,"
          "past_due_demand_days,infinite_fence_days,atp_fence_days,split,min_split,horizon_days,"
          "supply_types")
GOOD_RULE = "default,backward,true,,7,7,,,true,1,182,purchase_order;in_transit"
GOOD_SUPPLY = ("location,sku,kind,date,quantity,ref\n"
               "WH-NJ,FAS-0001,purchase_order,2027-01-07,120,PO-1\n"
               "WH-TX,FAS-0002,in_transit,2027-01-08,60,TR-2\n")


def ruleset(tmp_path: Path, rules: str = HEADER + "\n" + GOOD_RULE + "\n",
            supply: str = GOOD_SUPPLY) -> Path:
    root = tmp_path / "rs"
    (root / "reference").mkdir(parents=True)
    (root / "ruleset.yaml").write_text("ruleset: promising-checks\nversion: '1'\n")
    (root / "reference/locations.csv").write_text("id,type,country,region,handling_days\n"
                                                  "WH-NJ,warehouse,US,us-east,1\n"
                                                  "WH-TX,warehouse,US,us-central,1\n")
    (root / "reference/products.csv").write_text("sku,name\nFAS-0001,Bolt\nFAS-0002,Nut\n")
    (root / RULES).write_text(rules)
    (root / SUPPLY).write_text(supply)
    return root


def found(root: Path) -> list[tuple[str, int, int, str, str, str | None]]:
    return [(d.span.file, d.span.line, d.span.col, d.severity, d.message, d.hint)
            for d in check(root)]


def one(root: Path) -> tuple[str, int, int, str, str, str | None]:
    diags = found(root)
    assert len(diags) == 1, diags
    return diags[0]


def rule_with(tmp_path: Path, column: str, value: str, extra: str = "") -> Path:
    header = HEADER.split(",") + ([extra] if extra else [])
    cells = GOOD_RULE.split(",") + ([""] if extra else [])
    cells[header.index(column)] = value
    return ruleset(tmp_path, ",".join(header) + "\n" + ",".join(cells) + "\n")


def col(root: Path, column: str) -> int:
    """The 1-based column of `column`'s cell on line 2 of the rule set's atp_rules.csv."""
    header, row = (root / RULES).read_text().splitlines()[:2]
    cells = row.split(",")
    return 1 + sum(len(c) + 1 for c in cells[:header.split(",").index(column)])


def test_the_shipped_rule_sets_and_a_good_table_check_clean(tmp_path):
    for name in ("acme", "acme-candidate"):
        assert [d for d in check(ROOT / "rulesets" / name)
                if d.span.file in (RULES, SUPPLY)] == []
    assert found(ruleset(tmp_path)) == []


def test_an_unknown_consumption_mode(tmp_path):
    root = rule_with(tmp_path, "consumption", "backwards")
    file, line, c, sev, msg, hint = one(root)
    assert (file, line, c, sev) == (RULES, 2, col(root, "consumption"), "error")
    assert "consumption 'backwards' is not one of none, backward, backward_forward" in msg
    assert hint == "did you mean 'backward'?"


def test_an_unknown_supply_type_points_at_the_entry(tmp_path):
    root = rule_with(tmp_path, "supply_types", "purchase_order;po_receipt")
    file, line, c, sev, msg, hint = one(root)
    assert (line, c) == (2, col(root, "supply_types") + len("purchase_order;"))
    assert "supply_types 'po_receipt' is not one of on_hand, purchase_order" in msg
    assert hint == "write one of on_hand, purchase_order, in_transit, work_order, planned_order"


def test_an_unknown_demand_type(tmp_path):
    root = rule_with(tmp_path, "demand_types", "order_line;backlog", extra="demand_types")
    file, line, c, sev, msg, hint = one(root)
    assert (line, c) == (2, col(root, "demand_types") + len("order_line;"))
    assert "demand_types 'backlog' is not one of order_line, reservation, transfer" in msg
    assert hint == "write one of order_line, reservation, transfer"


@pytest.mark.parametrize("column, value, says", [
    ("accumulate", "maybe", "accumulate: 'maybe' is not true or false"),
    ("split", "2", "split: '2' is not true or false"),
    ("past_due_supply_days", "-2", "past_due_supply_days: '-2' is not a whole number of days"),
    ("horizon_days", "a year", "horizon_days: 'a year' is not a whole number of days"),
    ("infinite_fence_days", "1.5", "infinite_fence_days: '1.5' is not a whole number of days"),
    ("min_split", "0", "min_split '0' is not a positive number"),
    ("min_split", "-1", "min_split '-1' is not a positive number"),
    ("horizon_days", "4000", "horizon_days 4000 is not from 1 to 3660"),
])
def test_cells_of_the_wrong_type_or_range(tmp_path, column, value, says):
    root = rule_with(tmp_path, column, value)
    file, line, c, sev, msg, hint = one(root)
    assert (file, line, c, sev) == (RULES, 2, col(root, column), "error")
    assert says in msg and hint


def test_fences_out_of_order(tmp_path):
    cells = GOOD_RULE.split(",")
    cells[6], cells[7] = "30", "40"        # infinite fence 30 days, ATP fence 40
    root = ruleset(tmp_path, HEADER + "\n" + ",".join(cells) + "\n")
    file, line, c, sev, msg, hint = one(root)
    assert (line, c, sev) == (2, col(root, "atp_fence_days"), "error")
    assert "the ATP time fence (40 days) is after the infinite-supply fence (30 days)" in msg
    cells[6], cells[7] = "400", ""         # past the 182-day horizon: never reached
    root = ruleset(tmp_path / "2", HEADER + "\n" + ",".join(cells) + "\n")
    file, line, c, sev, msg, hint = one(root)
    assert (line, c, sev) == (2, col(root, "infinite_fence_days"), "warning")
    assert "past the horizon (182 days)" in msg


def test_options_that_do_not_go_together(tmp_path):
    root = rule_with(tmp_path, "consumption", "none")
    file, line, c, sev, msg, hint = one(root)
    assert (line, c) == (2, col(root, "accumulate")) and "accumulation needs backward" in msg
    cells = GOOD_RULE.split(",")
    cells[1], cells[3] = "look_ahead", "30"
    root = ruleset(tmp_path / "2", HEADER + "\n" + ",".join(cells) + "\n")
    file, line, c, sev, msg, hint = one(root)
    assert (line, c) == (2, col(root, "accumulation_window_days"))
    assert "look-ahead has no accumulation window" in msg


@pytest.mark.parametrize("value", ["none", ";"])
def test_a_calendar_with_no_working_day(tmp_path, value):
    root = rule_with(tmp_path, "working_days", value, extra="working_days")
    file, line, c, sev, msg, hint = one(root)
    assert (line, c, sev) == (2, col(root, "working_days"), "error")
    assert "the working calendar has no working day" in msg
    assert hint and "mon;tue;wed;thu;fri" in hint


def test_calendar_entries_that_are_not_weekdays_or_dates(tmp_path):
    root = rule_with(tmp_path, "working_days", "mon;tues", extra="working_days")
    file, line, c, sev, msg, hint = one(root)
    assert c == col(root, "working_days") + len("mon;")
    assert "working_days 'tues' is not a weekday" in msg
    root = rule_with(tmp_path / "2", "holidays", "2026-12-25;2026-13-01", extra="holidays")
    file, line, c, sev, msg, hint = one(root)
    assert c == col(root, "holidays") + len("2026-12-25;")
    assert "holiday '2026-13-01' is not a date" in msg


def test_a_misspelt_column_and_a_missing_default_row(tmp_path):
    root = ruleset(tmp_path, HEADER.replace("consumption", "consumtion") + "\n"
                   + GOOD_RULE.replace("default", "standard") + "\n")
    diags = found(root)
    assert [(d[1], d[2], d[3]) for d in diags] == [(1, 1, "error"), (1, 6, "warning")]
    assert "no row named 'default'" in diags[0][4]
    assert "unknown column 'consumtion'" in diags[1][4] and diags[1][5] == \
        "did you mean 'consumption'?"


@pytest.mark.parametrize("row, column, says, hint", [
    ("WH-XX,FAS-0001,purchase_order,2027-01-07,120,PO-9", 1,
     "unknown location 'WH-XX' (not in reference/locations)", "did you mean"),
    ("WH-NJ,FAS-0009,purchase_order,2027-01-07,120,PO-9", 7,
     "unknown sku 'FAS-0009' (not in reference/products)", "did you mean"),
    ("WH-NJ,FAS-0001,purchase-order,2027-01-07,120,PO-9", 16,
     "kind 'purchase-order' is not one of purchase_order, in_transit, work_order, "
     "planned_order", "did you mean 'purchase_order'?"),
    ("WH-NJ,FAS-0001,on_hand,2027-01-07,120,PO-9", 16,
     "on_hand belongs in the inventory table", "reference/inventory.csv"),
    ("WH-NJ,FAS-0001,purchase_order,07/01/2027,120,PO-9", 31,
     "date '07/01/2027' is not a date", "YYYY-MM-DD"),
    ("WH-NJ,FAS-0001,purchase_order,2027-01-07,-120,PO-9", 42,
     "quantity -120 is negative", "positive"),
    ("WH-NJ,FAS-0001,purchase_order,2027-01-07,0,PO-9", 42, "quantity 0 is zero", "positive"),
    ("WH-NJ,FAS-0001,purchase_order,2027-01-07,lots,PO-9", 42,
     "quantity 'lots' is not a number", "decimal"),
    (",FAS-0001,purchase_order,2027-01-07,12,PO-9", 1, "location is empty", "names"),
])
def test_a_bad_supply_row(tmp_path, row, column, says, hint):
    root = ruleset(tmp_path, supply=GOOD_SUPPLY + row + "\n")
    file, line, c, sev, msg, h = one(root)
    assert (file, line, c, sev) == (SUPPLY, 4, column, "error")
    assert f"supply line 4: {says}" in msg and h and hint in h


def test_a_supply_table_without_a_column(tmp_path):
    root = ruleset(tmp_path, supply="location,sku,kind,quantity\nWH-NJ,FAS-0001,in_transit,5\n")
    file, line, c, sev, msg, hint = one(root)
    assert (file, line, c) == (SUPPLY, 1, 1) and "no column 'date'" in msg


def test_every_mistake_at_once_and_load_refuses(tmp_path):
    rows = [f"WH-NJ,FAS-0001,purchase_order,2027-01-07,-{i},X-{i}" for i in range(1, 300)]
    root = ruleset(tmp_path, supply=GOOD_SUPPLY + "\n".join(rows) + "\n")
    diags = found(root)
    assert len(diags) == 200               # one table's diagnostics stop at 200
    assert [d[1] for d in diags] == list(range(4, 204))
    with pytest.raises(RuleSetInvalid):
        load(root)


def test_ordinance_check_prints_the_place_the_line_and_the_hint(tmp_path):
    root = rule_with(tmp_path, "consumption", "sideways")
    run = subprocess.run([str(ROOT / ".venv/bin/ordinance"), "check", str(root)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert f"{RULES}:2:9: error: atp_rules row 'default': consumption 'sideways' is not one " \
           "of none, backward, backward_forward, look_ahead" in run.stdout
    assert "    default,sideways,true" in run.stdout
    assert "hint: write one of none, backward, backward_forward, look_ahead" in run.stdout


def test_a_ref_used_twice_is_a_warning(tmp_path):
    root = ruleset(tmp_path, supply=GOOD_SUPPLY + "WH-NJ,FAS-0002,purchase_order,2027-02-01,"
                   "10,PO-1\n")
    file, line, c, sev, msg, hint = one(root)
    assert (file, line, c, sev) == (SUPPLY, 4, 45, "warning")
    assert msg == "supply line 4: ref 'PO-1' is also on line 2"
    assert hint and "--supply-change" in hint
    load(root)                              # a warning: the rule set still loads
