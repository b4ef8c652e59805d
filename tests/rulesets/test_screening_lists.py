"""Screening-list import: OFAC sdn.csv (+ alt.csv) and the EU consolidated XML."""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from ordinance.adapters.screening_lists import (
    ScreeningListError,
    read_eu_consolidated,
    read_ofac_sdn,
    table_text,
)
from ordinance.api.cli import main
from ordinance.engine import load, parse_order
from tests.engine.helpers import TODAY

DATA = Path(__file__).parent / "data"


def _sdn(alt: bool = False):  # type: ignore[no-untyped-def]
    with open(DATA / "sdn_sample.csv", encoding="cp1252", newline="") as sdn:
        if not alt:
            return read_ofac_sdn(sdn)
        with open(DATA / "alt_sample.csv", encoding="cp1252", newline="") as a:
            return read_ofac_sdn(sdn, a)


def test_sdn_rows_with_aliases_from_remarks() -> None:
    rows = {r.source_id: r for r in _sdn()}
    assert list(rows) == ["36", "306", "2110", "4635", "7157"]
    assert rows["306"].aliases == ["NATIONAL BANK OF CUBA", "BNC"]
    assert rows["4635"].aliases == ["BANK REFAH", "WORKERS' WELFARE BANK"]
    assert rows["4635"].program == "IRAN; IRAN-EO13902"
    assert rows["7157"].type == "individual" and rows["2110"].type == "entity"
    assert rows["2110"].aliases == []


def test_alt_file_adds_aliases_without_duplicates() -> None:
    rows = {r.source_id: r for r in _sdn(alt=True)}
    assert rows["2110"].aliases == ["TROPIC TOURS GMBH"]
    table = list(csv.DictReader(io.StringIO(table_text(rows.values()))))
    bnc = next(t for t in table if t["source_id"] == "306")
    assert bnc["aliases"] == "NATIONAL BANK OF CUBA;BNC"   # BNC once, from remarks and alt.csv
    assert list(table[0]) == ["name", "aliases", "program", "type", "list", "source_id"]


def test_sdn_with_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ScreeningListError, match="line 1"):
        read_ofac_sdn(io.StringIO('1,"NAME","-0- "\n'))


def test_eu_xml() -> None:
    with open(DATA / "eu_sample.xml", "rb") as f:
        rows = read_eu_consolidated(f)
    assert [r.name for r in rows] == ["Saddam Hussein Al-Tikriti", "Joint Stock Company Example Defence Works"]
    assert rows[0].aliases == ["Abu Ali"] and rows[0].program == "IRQ" and rows[0].type == "person"
    assert rows[1].source_id == "EU.3843.12" and rows[1].type == "enterprise"
    cells = rows[1].cells()
    assert cells[1] == "Example Defence Works, JSC;АО Пример"   # ';' inside a name is not a separator


def test_eu_xml_that_is_not_the_list_is_refused() -> None:
    with pytest.raises(ScreeningListError):
        read_eu_consolidated(io.BytesIO(b"<html><body/></html>"))
    with pytest.raises(ScreeningListError):
        read_eu_consolidated(io.BytesIO(b"<export><sanctionEntity>"))


def test_cli_import_and_screen_with_the_result(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "denied.csv"
    assert main(["reference", "import-sdn", str(DATA / "sdn_sample.csv"), "--alt",
                 str(DATA / "alt_sample.csv"), "--out", str(out)]) == 0
    assert main(["reference", "import-eu", str(DATA / "eu_sample.xml")]) == 0
    assert "Saddam Hussein Al-Tikriti" in capsys.readouterr().out
    # The table works with screen(): a rule set that holds orders for listed customers.
    rs = tmp_path / "rs"
    (rs / "reference").mkdir(parents=True)
    (rs / "packs").mkdir()
    (rs / "ruleset.yaml").write_text('ruleset: screening-check\nversion: "1"\n')
    shutil.copy(out, rs / "reference" / "denied_parties.csv")
    (rs / "packs" / "screen.yaml").write_text(
        "pack: screen\nphase: compliance\nrules:\n  - id: listed\n"
        '    when: screen(customer.name, "denied_parties") >= 0.85\n'
        "    then:\n      - hold: {code: DENIED_PARTY, reason: listed}\n")
    compiled = load(rs)
    def status(name: str) -> str:
        order = parse_order(json.dumps({"id": "1", "customer": {"name": name},
                                        "lines": [{"id": "1", "sku": "X", "quantity": 1, "unit_price": 1}]}))
        decision = compiled.evaluate(order, today=TODAY)
        assert decision.to_json()["errors"] == []
        return decision.status
    assert status("Tropic Tours GmbH") == "on_hold"            # an alias from alt.csv
    assert status("Workers' Welfare Bank") == "on_hold"        # an alias from the remarks
    assert status("Northwind Traders") == "accepted"


def test_cli_reports_unreadable_files(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["reference", "import-sdn", str(tmp_path / "nope.csv")]) == 2
    bad = tmp_path / "bad.xml"
    bad.write_text("<export><unclosed>")
    assert main(["reference", "import-eu", str(bad)]) == 2
    assert "import-eu" in capsys.readouterr().err


def test_the_shipped_tables_have_the_importers_columns() -> None:
    """The acme tables and an import are interchangeable: the same columns, in order."""
    from ordinance.adapters.screening_lists import COLUMNS
    root = Path(__file__).resolve().parents[2] / "rulesets"
    for rs in ("acme", "acme-candidate"):
        with open(root / rs / "reference" / "denied_parties.csv", newline="",
                  encoding="utf-8") as f:
            assert next(csv.reader(f)) == list(COLUMNS)
