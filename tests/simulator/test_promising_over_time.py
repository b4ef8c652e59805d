"""`--consume-stock` replays promising over time (simulator/promising.py), and a simulation
changes supply (`--supply-change`). A stream of four orders worked out by hand.

The rule set is tests/simulator/data/base (W1 holds B 10, handling 0 days, transit 1 day) with
an ATP rule (backward consumption with accumulation, split) and two purchase orders of B at
W1: PO-1 30 on 25 Nov, PO-2 20 on 5 Dec. The orders (each one line of B, requested on its date):

  O1 web  silver 20 Nov  15: on hand 10 today; 5 placed on PO-1 (25 Nov): late 5 days
  O2 edi  gold   21 Nov  20: no stock left; PO-1 has 30 - 5 = 25: 20 on 25 Nov, late 4
  O3 web  gold   26 Nov  10: PO-1 was received (on hand 0 + 30) and O1's 5 and O2's 20
                             shipped on 25 Nov: 5 on hand today, 5 on PO-2 (5 Dec): late 9
  O4 edi  silver 27 Nov  30: PO-2 has 20 - 5 = 15: 15 on 5 Dec, 15 backordered (no date)
  baseline: 0 on time, 3 late (5 + 4 + 9 = 18 days, mean 6.0, max 9), 1 backordered (15)

With "PO-1 late 10 days" (the candidate's supply): PO-1 arrives 5 Dec with PO-2 (50 then):
  O1 5 on 5 Dec: late 15; O2 20 on 5 Dec: late 14; O3 (nothing received yet, no stock)
  10 on 5 Dec: late 9; O4 15 left on 5 Dec, 15 backordered.
  candidate: 0 on time, 3 late (15 + 14 + 9 = 38 days, mean 12.7, max 15), 1 backordered (15)

Without the picture (the reference supply for every order, as before) O2 would promise the
same 25 Nov units O1 took, and O4 would see PO-2's whole 20.
"""
from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from ordinance.api.cli import main
from ordinance.simulator.promising import SupplyChangeError, parse_change, read_changes
from ordinance.simulator.replay import Options, simulate
from ordinance.simulator.rulesets import resolve
from ordinance.simulator.streams import open_orders

ORDERS = [("O1", "2026-11-20", "web", "silver", 15), ("O2", "2026-11-21", "edi", "gold", 20),
          ("O3", "2026-11-26", "web", "gold", 10), ("O4", "2026-11-27", "edi", "silver", 30)]


@pytest.fixture()
def promising(data, tmp_path) -> Path:
    rs = tmp_path / "rs"
    shutil.copytree(data / "base", rs)
    (rs / "reference/atp_rules.csv").write_text(
        "name,consumption,accumulate,split,min_split,horizon_days\n"
        "default,backward,true,true,1,60\n")
    (rs / "reference/supply.csv").write_text(
        "location,sku,kind,date,quantity,ref\n"
        "W1,B,purchase_order,2026-11-25,30,PO-1\n"
        "W1,B,purchase_order,2026-12-05,20,PO-2\n")
    with (tmp_path / "orders.jsonl").open("w") as f:
        for oid, day, channel, tier, qty in ORDERS:
            f.write(json.dumps({"id": oid, "order_date": day, "channel": channel,
                                "customer": {"id": f"C-{oid}", "tier": tier},
                                "ship_to": {"country": "DE", "region": "eu"},
                                "currency": "EUR",
                                "lines": [{"id": "1", "sku": "B", "quantity": qty}]}) + "\n")
    return rs


def run(rs: Path, changes=(), consume=True):
    return simulate(resolve(str(rs)), resolve(str(rs)),
                    open_orders(str(rs.parent / "orders.jsonl")),
                    Options(consume_stock=consume, supply_changes=tuple(changes),
                            collect_changes=True, sample_size=10), executor="inline")


def tally(lines, on_time, late, backordered, delay, max_delay, mean, short):
    return {"lines": lines, "on_time": on_time, "late": late, "backordered": backordered,
            "delay_days": delay, "max_delay_days": max_delay, "mean_delay_days": mean,
            "short_units": short}


BASELINE = tally(4, 0, 3, 1, 18, 9, "6.0", "15")
LATE_PO1 = tally(4, 0, 3, 1, 38, 15, "12.7", "15")


def promises(summary, side):
    """Each sampled order's (promise ship date, short) on one side."""
    out = {}
    for entry in summary["sample"]:
        line = entry[side]["sourcing"]["lines"][0]
        out[entry["order_id"]] = (line["promise"]["ship_date"], line["promise"]["short"])
    return out


def test_the_stream_by_hand_and_a_late_purchase_order(promising):
    s = run(promising, [parse_change("PO-1 late 10 days", "[0]")])
    p = s["promising"]
    assert p["baseline"] == BASELINE
    assert p["candidate"] == LATE_PO1
    assert p["supply_changes"] == ["PO-1 late 10 days [candidate]"]
    assert p["segments"]["channel"]["web"]["baseline"] == tally(2, 0, 2, 0, 14, 9, "7.0", "0")
    assert p["segments"]["channel"]["edi"]["candidate"] == tally(2, 0, 1, 1, 14, 14, "14.0",
                                                                 "15")
    assert p["segments"]["tier"]["gold"]["candidate"] == tally(2, 0, 2, 0, 23, 14, "11.5", "0")
    # the sample holds the changed orders: O4 is promised alike on both sides
    assert promises(s, "baseline") == {"O1": ("2026-11-25", "0"), "O2": ("2026-11-25", "0"),
                                       "O3": ("2026-12-05", "0")}
    assert promises(s, "candidate") == {"O1": ("2026-12-05", "0"), "O2": ("2026-12-05", "0"),
                                        "O3": ("2026-12-05", "0")}


def test_without_changes_both_sides_agree(promising):
    s = run(promising)
    assert s["promising"]["baseline"] == s["promising"]["candidate"] == BASELINE
    assert s["changed_orders"] == 0 and s["promising"]["supply_changes"] == []


def test_added_supply_and_a_cancelled_order(promising):
    # 40 more of B on 22 Nov: O1's 5 and O2's 20 are promised on 22 Nov (late 2 and 1 days);
    # by O3's day it and PO-1 were received and both shipped: 0 + 40 + 30 - 25 = 45 on hand,
    # so O3 (10) and O4 (30) are on time: 2 on time, 2 late (3 days, mean 1.5, max 2).
    s = run(promising, [parse_change({"add": 40, "sku": "B", "location": "W1",
                                      "date": "2026-11-22"}, "[0]")])
    assert s["promising"]["candidate"] == tally(4, 2, 2, 0, 3, 2, "1.5", "0")
    # Cancelling PO-1 on the baseline only: O1 and O2 wait for PO-2 (5 Dec): 15 and 14 days;
    # PO-2 then has 20 - 5 - 20 < 0: O2 gets 15 and 5 short; O3 and O4 find nothing at all
    s = run(promising, [parse_change({"ref": "PO-1", "quantity": 0, "side": "baseline"},
                                     "[0]")])
    assert s["promising"]["candidate"] == BASELINE
    assert s["promising"]["baseline"] == tally(4, 0, 1, 3, 15, 15, "15.0", "45")


def test_without_consume_stock_there_is_no_promising_entry(promising):
    assert "promising" not in run(promising, consume=False)


def test_the_cli_prints_the_promising_lines_and_checks_the_change_file(promising, tmp_path,
                                                                      capsys):
    changes = tmp_path / "late.yaml"
    changes.write_text("- PO-1 late 10 days\n")
    args = ["simulate", "--baseline", str(promising), "--candidate", str(promising),
            "--orders", str(tmp_path / "orders.jsonl"), "--quiet"]
    assert main(args + ["--consume-stock", "--supply-change", str(changes)]) == 0
    out = capsys.readouterr().out
    assert ("promising: 4 lines: 0 on time, 3 late (mean 6.0 days, max 9), 1 backordered "
            "(15 units) -> 0 on time, 3 late (mean 12.7 days, max 15), 1 backordered "
            "(15 units)") in out
    assert "  supply change: PO-1 late 10 days [candidate]" in out
    assert "  channel web: 0 on time, 2 late (mean 7.0 days, max 9)" in out
    assert main(args + ["--supply-change", str(changes)]) == 2
    assert "--supply-change needs --consume-stock" in capsys.readouterr().err
    changes.write_text("- PO-9 late 10 days\n")
    assert main(args + ["--consume-stock", "--supply-change", str(changes)]) == 2
    assert "[0].ref: no supply with ref 'PO-9' in the candidate's reference/supply" in \
        capsys.readouterr().err


@pytest.mark.parametrize("item, says", [
    ("PO-1 early", "[3]: 'PO-1 early' is not a change; write 'PO-1 late 10 days'"),
    (7, "[3]: a change is a phrase or a mapping, not 7"),
    ({"ref": "PO-1", "late": 3}, "[3].late: unknown field"),
    ({"ref": "PO-1", "late_days": 1.5}, "[3].late_days: Decimal('1.5') is not a whole number"),
    ({"ref": "PO-1"}, "[3]: says nothing to change"),
    ({"ref": "PO-1", "quantity": -4}, "[3].quantity: -4 is not a non-negative quantity"),
    ({"add": 0, "sku": "B", "location": "W1", "date": "2026-12-01"},
     "[3].add: 0 is not a positive quantity"),
    ({"add": 5, "sku": "B", "date": "2026-12-01"}, "[3].location: needed to add supply"),
    ({"add": 5, "sku": "B", "location": "W1", "date": "1 Dec"},
     "[3].date: '1 Dec' is not a YYYY-MM-DD date"),
    ({"add": 5, "sku": "B", "location": "W1", "date": "2026-12-01", "kind": "on_hand"},
     "[3].kind: 'on_hand' is not one of purchase_order"),
    ({"ref": "PO-1", "late_days": 2, "side": "left"}, "[3].side: 'left' is not one of"),
])
def test_bad_changes_say_where(tmp_path, item, says):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"changes": ["PO-1 late 1 day", "cancel PO-2",
                                            "add 5 of B at W1 on 2026-12-01", item]}))
    with pytest.raises(SupplyChangeError) as exc:
        read_changes(path)
    assert says in str(exc.value)
    path.write_text(json.dumps(["PO-1 late 1 day", "cancel PO-2",
                                "add 5.5 of B at W1 on 2026-12-01"]))
    late, cancel, add = read_changes(path)
    assert (late.ref, late.late_days, cancel.quantity) == ("PO-1", 1, Decimal(0))
    assert add.add is not None and add.add.quantity == Decimal("5.5")
