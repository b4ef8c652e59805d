"""Extract the real reference data that the ACME rule sets ship, from the packages that carry it.

Run once when the sources are refreshed (the output is committed; nothing here runs at build time):

    pip download --no-deps eu-vat-rates-data==2026.9.29 SanctionToolkit==0.1 -d /tmp/dl
    (unzip both wheels)
    python rulesets/tools/extract_sources.py \
        --vat-json /tmp/dl/vat/eu_vat_rates_data/eu_vat_rates_data.json \
        --sanctions-csv /tmp/dl/sank/SanctionToolkit/reflist/combined_sanction_lists_20220505_main.csv

Writes rulesets/tools/sources/vat_rates.csv and rulesets/tools/sources/denied_parties.csv, which
make_acme_reference.py copies into every rule set (either option alone refreshes its own file).
The rates are copied from the JSON's digits (parsed as Decimal, never through float).

The denied-party table (documented in SOURCES.md) holds every entity of two lists in the
package's combined file, dated 2022-05-05: OFAC's SDN list (rows of type Entity, grouped by
OFAC's entity number, in ascending order) and the EU consolidated financial sanctions list (rows
of type enterprise, grouped by EU reference number, in ascending numeric order). Individuals,
vessels and aircraft are left out: the rule sets screen company names. The first name of an
entity in the file is its `name`, the others its `aliases`. Rows are written by the same code as
`ordinance reference import-sdn|import-eu` (adapters/screening_lists.py), so the columns are
`name, aliases, program, type, list, source_id` either way.
"""
from __future__ import annotations

import argparse
import csv
import json
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent / "sources"
SDN_LIST = "Specially Designated Nationals (SDN) - Treasury Department"
EU_LIST = "EU"


def extract_vat(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    with open(HERE / "vat_rates.csv", "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["country", "name", "standard", "reduced", "eu_member", "vat_id_pattern", "data_version"])
        for code, r in sorted(data["rates"].items()):
            reduced = min(r["reduced"]) if r["reduced"] else ""
            w.writerow([code, r["country"], f"{Decimal(r['standard']):f}", f"{Decimal(reduced):f}" if reduced != "" else "",
                        "Y" if r["eu_member"] else "N", r.get("pattern") or "", data["version"]])


def _eu_number(ref: str) -> tuple[int, ...]:
    """EU.3502.46 -> (3502, 46): the EU reference number's parts in numeric order."""
    return tuple(int(p) if p.isdigit() else 0 for p in ref.split(".")[1:])


def extract_denied_parties(path: Path) -> int:
    """Every SDN entity and every EU enterprise of the combined file; returns the row count."""
    from ordinance.adapters.screening_lists import ScreeningRow, write_table

    sdn: dict[int, ScreeningRow] = {}
    eu: dict[str, ScreeningRow] = {}
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        for row in csv.DictReader(f):
            name = " ".join(row["full_name"].split())
            ident = row["list_internal_id"].strip()
            if not name or not ident:
                continue
            if row["sanction_list"] == SDN_LIST and row["entity_type"] == "Entity" and ident.isdigit():
                ent = sdn.setdefault(int(ident), ScreeningRow(
                    name=name, program=row["regime"].strip(), type="entity", list="OFAC-SDN",
                    source_id=ident))
            elif row["sanction_list"] == EU_LIST and row["entity_type"] == "enterprise":
                ent = eu.setdefault(ident, ScreeningRow(
                    name=name, program=row["regime"].strip(), type="enterprise", list="EU-FSF",
                    source_id=ident))
            else:
                continue
            if name != ent.name and name not in ent.aliases:
                ent.aliases.append(name)
    rows = [sdn[k] for k in sorted(sdn)] + [eu[k] for k in sorted(eu, key=_eu_number)]
    with open(HERE / "denied_parties.csv", "w", newline="", encoding="utf-8") as out:
        return write_table(rows, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vat-json", type=Path)
    ap.add_argument("--sanctions-csv", type=Path)
    args = ap.parse_args()
    if args.vat_json is None and args.sanctions_csv is None:
        ap.error("give --vat-json, --sanctions-csv or both")
    HERE.mkdir(parents=True, exist_ok=True)
    if args.vat_json is not None:
        extract_vat(args.vat_json)
    if args.sanctions_csv is not None:
        print(f"denied_parties.csv: {extract_denied_parties(args.sanctions_csv)} entities")


if __name__ == "__main__":
    main()
