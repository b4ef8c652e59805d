"""The laptop model of issue 17 (tests/configurator/data/laptop): the Done-when, exactly."""
from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ordinance.engine import load
from ordinance.engine.configurator import SelectionError, bom_of, configure, parse_selection, \
    price_of

LAPTOP = Path(__file__).parent / "data" / "laptop"
FULL = {"cpu": "i7", "ram_gb": 16, "disks": ["ssd_512"], "ports": ["usb_c"],
        "accessories": ["dock"]}


@pytest.fixture(scope="module")
def laptop():
    return load(LAPTOP).model.configs["laptop"]


def _value(answer, feature, value):
    f = next(f for f in answer["features"] if f["id"] == feature)
    return next(v for v in f["values"] if v["value"] == value)


def _option(answer, group, option):
    g = next(g for g in answer["groups"] if g["id"] == group)
    return next(o for o in g["options"] if o["id"] == option)


def test_exactly_90_valid_full_configurations(laptop) -> None:
    answer = configure(laptop, {}, count=True, list_limit=1000)
    assert answer["valid"] and answer["configurations"]["count"] == 90
    items = answer["configurations"]["items"]
    assert len(items) == 90
    assert len({repr(sorted(i["selection"].items())) for i in items}) == 90
    for item in items:  # every listed configuration is itself valid and complete
        again = configure(laptop, item["selection"], exact=False)
        assert again["valid"] and again["complete"], item
        assert again["price"]["total"] == item["price"]


def test_the_full_i7_selection_is_valid_at_1313(laptop) -> None:
    answer = configure(laptop, FULL)
    assert answer["valid"] and answer["complete"] and answer["violations"] == []
    price = answer["price"]
    assert price["total"] == Decimal("1313.00") and price["base"] == Decimal("899.00")
    assert {a["code"]: a["amount"] for a in price["adjustments"]} == {
        "cpu.i7": 180, "disks.ssd_512": 0, "ports.usb_c": 25, "accessories.dock": 149,
        "ram_gb=16": 60}
    assert {b["item"]: b["quantity"] for b in answer["bom"]} == {
        "LAPTOP-14-CHASSIS": 1, "CPU-I7": 1, "SSD-512": 1, "PORT-USBC": 1, "DOCK-USBC": 1,
        "RAM-16": 1}


def test_i7_with_8gb_is_invalid_naming_the_rule(laptop) -> None:
    answer = configure(laptop, {"cpu": "i7", "ram_gb": 8})
    assert not answer["valid"]
    (v,) = answer["violations"]
    assert v["rule"] == "i7_needs_16gb" and v["fields"] == ["cpu", "ram_gb"]
    assert v["message"] == "the i7 needs at least 16 GB of memory"
    assert v["at"] == "models/laptop.yaml:42:5"


def test_choosing_i7_removes_8gb_naming_the_rule(laptop) -> None:
    answer = configure(laptop, {"cpu": "i7"})
    assert answer["valid"] and not answer["complete"]
    ram8 = _value(answer, "ram_gb", 8)
    assert not ram8["possible"] and ram8["removed_by"]["rule"] == "i7_needs_16gb"
    assert _value(answer, "ram_gb", 16)["possible"] and _value(answer, "ram_gb", 32)["possible"]
    i5 = _option(answer, "cpu", "i5")
    assert not i5["possible"] and i5["removed_by"]["kind"] == "selection"


def test_choosing_8gb_removes_i7_and_the_dock_needs_usb_c(laptop) -> None:
    answer = configure(laptop, {"ram_gb": 8, "ports": []})
    assert _option(answer, "cpu", "i7")["removed_by"]["rule"] == "i7_needs_16gb"
    assert _option(answer, "accessories", "dock")["removed_by"]["rule"] == "dock_needs_usb_c"
    assert _option(answer, "cpu", "i5")["possible"]


def test_group_sizes_propagate(laptop) -> None:
    answer = configure(laptop, {"disks": ["ssd_512", "ssd_1tb", "hdd_2tb"]})
    assert not answer["valid"]
    assert answer["violations"][0]["rule"] == "disks"
    assert "1 to 2" in answer["violations"][0]["message"]


def test_completion_cheapest_and_by_defaults(laptop) -> None:
    cheap = configure(laptop, {"cpu": "i7"}, complete="cheapest")["completion"]
    assert cheap["price"]["total"] == Decimal("1139.00")
    assert cheap["selection"]["ram_gb"] == 16 and cheap["selection"]["disks"] == ["ssd_512"]
    dflt = configure(laptop, {}, complete="defaults")["completion"]
    assert dflt["selection"] == {"cpu": "i5", "disks": ["ssd_512"], "ports": None,
                                 "accessories": None, "ram_gb": 8}
    assert dflt["price"]["total"] == Decimal("899.00")
    # the cheapest really is the minimum over all 90
    items = configure(laptop, {"cpu": "i7"}, list_limit=1000)["configurations"]["items"]
    assert min(i["price"] for i in items) == cheap["price"]["total"]


def test_selection_mistakes_name_the_json_path(laptop) -> None:
    with pytest.raises(SelectionError) as exc:
        parse_selection(laptop, {"cpu": "i9"})
    assert exc.value.path == "$.selection.cpu" and "i5, i7" in exc.value.message
    with pytest.raises(SelectionError) as exc:
        parse_selection(laptop, {"disks": ["ssd_512", "floppy"]})
    assert exc.value.path == "$.selection.disks[1]"
    with pytest.raises(SelectionError) as exc:
        parse_selection(laptop, {"ram_gb": 12})
    assert exc.value.path == "$.selection.ram_gb" and "8, 16, 32" in exc.value.message
    with pytest.raises(SelectionError) as exc:
        parse_selection(laptop, {"colour": "red"})
    assert exc.value.path == "$.selection.colour"
    assert parse_selection(laptop, {"ram_gb": "16"}) == {"ram_gb": Decimal(16)}


def test_price_and_bom_of_a_full_assignment(laptop) -> None:
    fixed = parse_selection(laptop, {**FULL, "disks": {"ssd_1tb": 1, "hdd_2tb": 1}})
    assert price_of(laptop, fixed)["total"] == Decimal("1313.00") + 90 + 70
    assert sum(b["quantity"] for b in bom_of(laptop, fixed)) == 7


def test_effective_dates_switch_a_rule(tmp_path) -> None:
    import shutil
    shutil.copytree(LAPTOP, tmp_path / "rs")
    path = tmp_path / "rs" / "models" / "laptop.yaml"
    path.write_text(path.read_text().replace(
        "    message: the dock connects over USB-C\n",
        "    message: the dock connects over USB-C\n    effective: {from: '2027-01-01'}\n"))
    model = load(tmp_path / "rs").model.configs["laptop"]
    early = configure(model, {}, datetime.date(2026, 6, 1), count=True)
    late = configure(model, {}, datetime.date(2027, 6, 1), count=True)
    assert late["configurations"]["count"] == 90
    assert early["configurations"]["count"] == 5 * 6 * 4
