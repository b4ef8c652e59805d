"""Blame by edit (simulator/blame.py) over the shipped acme rule set.

The issue's case: in a copy of acme the default shipping service changes from standard to
express. Most orders change (charges, dates, hazmat rejections); the old explanation said
"same rules fired with the same effects" for the defaulted order. The blame must name that
edit, and only it, for every order it changed; a second, unrelated edit (a price row) must be
named for the orders it alone moved.
"""
from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from ordinance.simulator.catalogue import load_catalogue
from ordinance.simulator.generate import generate_orders, write_jsonl
from ordinance.simulator.replay import Options, simulate
from ordinance.simulator.report import render
from ordinance.simulator.rulesets import resolve
from ordinance.simulator.streams import open_orders

ACME = Path(__file__).resolve().parents[2] / "rulesets" / "acme"
SHIPPING = "rule:fulfilment-defaults/shipping-service"


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("blame") / "orders.jsonl"
    with out.open("w") as f:
        write_jsonl(generate_orders(load_catalogue(ACME), 200, 7), f)
    return out


def candidate(tmp: Path, price_edit: bool = False) -> Path:
    target = tmp / "acme-express"
    shutil.copytree(ACME, target)
    pack = target / "packs" / "12-fulfilment-defaults.yaml"
    text = pack.read_text()
    assert """order.shipping.service: '"standard"'""" in text
    pack.write_text(text.replace("""order.shipping.service: '"standard"'""",
                                 """order.shipping.service: '"express"'"""))
    return target


def run(baseline: Path, cand: Path, orders: Path, **kw):  # type: ignore[no-untyped-def]
    return simulate(resolve(str(baseline)), resolve(str(cand)), open_orders(str(orders)),
                    Options(sample_size=500, **kw), executor="inline")


def test_shipping_default_edit_is_blamed_for_every_order_it_changed(tmp_path: Path,
                                                                     orders: Path) -> None:
    s = run(ACME, candidate(tmp_path), orders)
    changed = s["changed_orders"]
    assert changed > 120  # most orders: the issue saw 1,646 of 2,000
    blame = s["blame"]
    assert blame["unexplained_orders"] == 0
    top = blame["edits"][0]
    assert top["id"] == SHIPPING and top["kind"] == "rule_changed"
    assert top["place"] == "packs/12-fulfilment-defaults.yaml:22"
    assert '"standard"' in top["summary"] and '"express"' in top["summary"]
    assert top["orders"] == changed and len(blame["edits"]) == 1
    assert blame["sets"] == [{"edits": [SHIPPING], "orders": changed}]
    # every changed order names it, alone
    assert len(s["sample"]) == changed
    assert all(e["edits"] == {"edits": [SHIPPING], "how": "alone"} for e in s["sample"])
    # the HTML report lists it with the orders it moved
    html = render(s)
    assert "Edits behind the changes" in html and "fulfilment-defaults/shipping-service" in html
    assert f"<td class=\"n\">{changed}</td>" in html
    # the revenue it moves, per currency, is all the stream's change (its orders only)
    assert set(top["revenue"]) == set(s["changes"]["revenue"])
    for currency, figures in top["revenue"].items():
        assert figures["delta"] == s["changes"]["revenue"][currency]["delta"]
        assert Decimal(figures["delta"]) == (Decimal(figures["candidate"])
                                             - Decimal(figures["baseline"]))


def test_two_edits_each_blamed_for_their_own_orders(tmp_path: Path, orders: Path) -> None:
    cand = candidate(tmp_path)
    approvals = cand / "packs" / "60-approvals.yaml"
    text = approvals.read_text()
    assert '["> 25", sales-manager, 1]' in text
    approvals.write_text(text.replace('["> 25", sales-manager, 1]', '["> 5", sales-manager, 1]'))
    s = run(ACME, cand, orders)
    blame = s["blame"]
    ids = {e["id"]: e for e in blame["edits"]}
    assert set(ids) == {SHIPPING, "rule:approvals/discount-depth"}
    assert ids["rule:approvals/discount-depth"]["orders"] > 0
    assert blame["unexplained_orders"] == 0
    assert sum(n["orders"] for n in blame["sets"]) == s["changed_orders"]
    for entry in s["sample"]:
        roles_b = [a["role"] for a in entry["baseline"].get("approvals") or ()]
        roles_c = [a["role"] for a in entry["candidate"].get("approvals") or ()]
        if entry["edits"]["edits"] == ["rule:approvals/discount-depth"]:
            # only the approvals moved: the shipping edit did not change this order
            assert roles_b != roles_c and entry["moved"] == ["status", "approvals"] or \
                entry["moved"] == ["approvals"]
            assert entry["baseline"]["order"] == entry["candidate"]["order"]


def test_blame_off_and_same_rule_set(tmp_path: Path, orders: Path) -> None:
    assert "blame" not in run(ACME, candidate(tmp_path), orders, blame=False)
    assert "blame" not in run(ACME, ACME, orders)
