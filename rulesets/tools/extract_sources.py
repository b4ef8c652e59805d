"""Extract the real reference data that the ACME rule sets ship, from the packages that carry it.

Run once when the sources are refreshed (the output is committed; nothing here runs at build time):

    pip download --no-deps eu-vat-rates-data==2026.9.29 SanctionToolkit==0.1 -d /tmp/dl
    (unzip both wheels)
    python rulesets/tools/extract_sources.py \
        --vat-json /tmp/dl/vat/eu_vat_rates_data/eu_vat_rates_data.json \
        --sanctions-csv /tmp/dl/sank/SanctionToolkit/reflist/combined_sanction_lists_20220505_main.csv

Writes rulesets/tools/sources/vat_rates.csv and rulesets/tools/sources/denied_parties.csv, which
make_acme_reference.py copies into every rule set. The rates are copied from the JSON's digits
(parsed as Decimal, never through float). The denied-party subset is documented in SOURCES.md:
OFAC SDN entries of type Entity, grouped by OFAC's entity number, every 10th number in ascending
order; the first name of each entity is its name and the others are its aliases.
"""
from __future__ import annotations

import argparse
import csv
import json
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent / "sources"
SDN_LIST = "Specially Designated Nationals (SDN) - Treasury Department"


def extract_vat(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    with open(HERE / "vat_rates.csv", "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["country", "name", "standard", "reduced", "eu_member", "vat_id_pattern", "data_version"])
        for code, r in sorted(data["rates"].items()):
            reduced = min(r["reduced"]) if r["reduced"] else ""
            w.writerow([code, r["country"], f"{Decimal(r['standard']):f}", f"{Decimal(reduced):f}" if reduced != "" else "",
                        "Y" if r["eu_member"] else "N", r.get("pattern") or "", data["version"]])


def extract_sdn(path: Path, every: int = 10) -> None:
    entities: dict[int, dict] = {}
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        for row in csv.DictReader(f):
            if row["sanction_list"] != SDN_LIST or row["entity_type"] != "Entity":
                continue
            if not row["list_internal_id"].isdigit():
                continue
            ent = entities.setdefault(int(row["list_internal_id"]), {"names": [], "program": row["regime"].strip()})
            name = " ".join(row["full_name"].split())
            if name and name not in ent["names"]:
                ent["names"].append(name)
    with open(HERE / "denied_parties.csv", "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["name", "aliases", "program", "list", "source_id"])
        for num in sorted(entities)[::every]:
            ent = entities[num]
            names = [n.replace(";", ",") for n in ent["names"]]
            w.writerow([names[0], ";".join(names[1:]), ent["program"], "OFAC-SDN", num])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vat-json", type=Path, required=True)
    ap.add_argument("--sanctions-csv", type=Path, required=True)
    args = ap.parse_args()
    HERE.mkdir(parents=True, exist_ok=True)
    extract_vat(args.vat_json)
    extract_sdn(args.sanctions_csv)


if __name__ == "__main__":
    main()
