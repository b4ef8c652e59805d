"""Checking models/*.yaml: located mistakes and the static analysis (FILE:LINE:COL)."""
from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

from ordinance.engine import check, digest_of

LAPTOP = Path(__file__).parent / "data" / "laptop"


def _with(tmp_path: Path, text: str) -> list[str]:
    root = tmp_path / "rs"
    shutil.copytree(LAPTOP, root)
    (root / "models" / "laptop.yaml").write_text(text)
    return [d.render(with_source=False) for d in check(root)]


def _laptop_plus(extra: str) -> str:
    return (LAPTOP / "models" / "laptop.yaml").read_text() + extra


def test_the_fixture_is_clean() -> None:
    assert check(LAPTOP) == []


def test_model_files_are_in_the_digest(tmp_path: Path) -> None:
    root = tmp_path / "rs"
    shutil.copytree(LAPTOP, root)
    before = digest_of(root)
    path = root / "models" / "laptop.yaml"
    path.write_text(path.read_text().replace("base_price: 899.00", "base_price: 899.50"))
    assert digest_of(root) != before


def test_schema_mistakes_are_located(tmp_path: Path) -> None:
    out = _with(tmp_path, "model: x\ncurrency: EUR\nbase_price: 1\ngroups:\n"
                "  - id: g\n    options: [{id: a, colour: red}]\n")
    assert out == ["models/laptop.yaml:6:23: error: unknown key 'colour' (allowed: bom, "
                   "description, id, max_quantity, price)"]


def test_expression_mistakes_are_located(tmp_path: Path) -> None:
    out = _with(tmp_path, _laptop_plus(
        "  - id: bad\n    constraint: \"ram_gb >= 16 and cpux == 'i7'\"\n"))
    assert len(out) == 1 and out[0].startswith("models/laptop.yaml:49:35: error: unknown name "
                                               "'cpux'"), out


def test_unknown_option_in_a_shorthand(tmp_path: Path) -> None:
    out = _with(tmp_path, _laptop_plus("  - id: bad\n    excludes: [cpu.i9, ports.usb_c]\n"))
    assert out == ["models/laptop.yaml:49:16: error: group 'cpu' has no option 'i9'\n"
                   "    hint: options: i5, i7"]


def test_an_option_no_configuration_can_select(tmp_path: Path) -> None:
    out = _with(tmp_path, _laptop_plus(
        "  - id: no_hdd\n    constraint: \"not ('hdd_2tb' in disks)\"\n"))
    assert out == ["models/laptop.yaml:23:9: warning: option 'disks.hdd_2tb' is in no valid "
                   "configuration: 'no_hdd' removes it\n    hint: see models/laptop.yaml:48:5"]


def test_a_rule_that_can_never_apply(tmp_path: Path) -> None:
    out = _with(tmp_path, _laptop_plus(
        "  - id: useless\n    constraint: \"ram_gb >= 8\"\n"
        "  - id: no_32_with_i5\n    excludes: [\"ram_gb == 32\", \"ram_gb < 16\"]\n"))
    assert out == [
        "models/laptop.yaml:48:5: warning: rule 'useless' can never apply: it holds for every "
        "combination of its values",
        "models/laptop.yaml:50:5: warning: rule 'no_32_with_i5' can never apply: it holds for "
        "every combination of its values"]


def test_a_premise_never_true(tmp_path: Path) -> None:
    out = _with(tmp_path, _laptop_plus(
        "  - id: never_i7\n    excludes: [cpu.i7, cpu.i7]\n"
        "  - id: i7_fast\n    implies: [cpu.i7, \"ram_gb == 32\"]\n"))
    assert "models/laptop.yaml:50:5: warning: rule 'i7_fast' can never apply: its premise is " \
        "true in no valid configuration" in out
    assert any(o.startswith("models/laptop.yaml:15:9: warning: option 'i7' of group 'cpu' is in "
                            "no valid configuration: 'never_i7' removes it") for o in out), out


def test_a_model_with_no_valid_configuration(tmp_path: Path) -> None:
    out = _with(tmp_path, _laptop_plus(
        "  - id: need_dock\n    constraint: \"accessories == 'dock'\"\n"
        "  - id: no_usb\n    constraint: \"ports == null\"\n"))
    assert out[0].startswith("models/laptop.yaml:2:1: error: model 'laptop' has no valid "
                             "configuration"), out


def test_a_table_of_allowed_tuples(tmp_path: Path) -> None:
    out = _with(tmp_path, _laptop_plus(
        "tables:\n  - id: cpu_ram\n    columns: [cpu, ram_gb]\n"
        "    rows: [[i5, 8], [i5, 16], [i7, 32], [i7, 64]]\n"))
    assert out == ["models/laptop.yaml:51:46: error: '64' is not a value of 'ram_gb'"]


def test_prices_from_the_reference_tables(tmp_path: Path) -> None:
    from ordinance.engine import load

    root = tmp_path / "rs"
    shutil.copytree(LAPTOP, root)
    (root / "reference").mkdir()
    (root / "reference" / "prices.csv").write_text("sku,EUR\nDOCK-USBC,149.00\n")
    path = root / "models" / "laptop.yaml"
    path.write_text(path.read_text().replace("{id: dock, price: 149,",
                                             "{id: dock, price: 'ref.prices[\"DOCK-USBC\"].EUR',"))
    assert check(root) == []
    model = load(root).model.configs["laptop"]
    assert model.var("accessories").prices[0] == Decimal("149.00")
    path.write_text(path.read_text().replace('"DOCK-USBC"].EUR', '"DOCK-X"].EUR'))
    assert [d.render(with_source=False) for d in check(root)] == [
        "models/laptop.yaml:31:27: error: price 'ref.prices[\"DOCK-X\"].EUR' is not a number here "
        "(null)\n    hint: a price is a number, or an expression over ref giving one"]
