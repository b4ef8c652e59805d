"""Official screening lists in, reference-table CSV out (SPEC section 5's `name`/`aliases` shape).

    rows = read_ofac_sdn(open("sdn.csv", encoding="latin-1"), alt=open("alt.csv", encoding="latin-1"))
    rows = read_eu_consolidated(open("eu.xml", "rb"))
    write_table(rows, sys.stdout)

In: OFAC's `sdn.csv` (the legacy SDN data file: no header, twelve columns `ent_num, SDN_Name,
SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks`,
`-0- ` for an empty cell), optionally its `alt.csv` (`ent_num, alt_num, alt_type, alt_name,
alt_remarks`); or the EU Financial Sanctions Files consolidated list XML (`<export>` of
`<sanctionEntity>` with `<nameAlias wholeName=...>`, `<subjectType code=...>` and
`<regulation programme=...>`, in the FSF namespace or none).
Out: `ScreeningRow`s and a CSV with the columns `name, aliases, program, type, list, source_id`;
aliases are joined with ';' (a ';' inside a name becomes ',').
Raises `ScreeningListError` with the line or element that could not be read.

The non-obvious choices: OFAC's sdn.csv carries no aliases of its own, but its Remarks column
lists them as `a.k.a. 'NAME'` (and `f.k.a.`, `n.k.a.`); we take those as well as alt.csv, so one
file alone gives a usable table. XML is parsed with `iterparse` and elements are cleared as we
go, so the EU list (tens of MB) is read in bounded memory; entity expansion is not a risk with
the standard library parser (no external entities are fetched).
"""
from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, TextIO

COLUMNS = ("name", "aliases", "program", "type", "list", "source_id")
SDN_COLUMNS = 12
_NULL = "-0-"
_AKA = re.compile(r"^[afn]\.k\.a\.,?\s*'(.*)'\.?$", re.IGNORECASE)


class ScreeningListError(ValueError):
    """A screening list that does not have the expected format."""


@dataclass
class ScreeningRow:
    name: str
    aliases: list[str] = field(default_factory=list)
    program: str = ""
    type: str = ""
    list: str = ""
    source_id: str = ""

    def cells(self) -> list[str]:
        names = [a.replace(";", ",") for a in self.aliases if a and a != self.name]
        seen: list[str] = []
        for a in names:
            if a not in seen:
                seen.append(a)
        return [self.name.replace(";", ","), ";".join(seen), self.program, self.type, self.list,
                self.source_id]


def _cell(value: str) -> str:
    value = value.strip()
    return "" if value == _NULL else " ".join(value.split())


def _aliases_in_remarks(remarks: str) -> list[str]:
    """`a.k.a. 'X'; f.k.a. 'Y'; Website ...` -> [X, Y]. Parts are split on '; ' and each alias
    runs from its first quote to its last, so a name holding an apostrophe (WORKERS' WELFARE
    BANK) stays whole."""
    found = []
    for part in remarks.split("; "):
        m = _AKA.match(part.strip())
        if m:
            name = " ".join(m.group(1).split())
            if name:
                found.append(name)
    return found


def read_ofac_sdn(sdn: TextIO, alt: TextIO | None = None) -> list[ScreeningRow]:
    """Reads OFAC's sdn.csv (and alt.csv when given) into rows, in file order."""
    rows: dict[str, ScreeningRow] = {}
    for number, rec in enumerate(csv.reader(sdn), start=1):
        if not rec or (len(rec) == 1 and not rec[0].strip()) or rec[0].strip() == "\x1a":
            continue  # blank lines and the DOS end-of-file mark OFAC files end with
        if len(rec) != SDN_COLUMNS:
            raise ScreeningListError(
                f"sdn.csv line {number}: expected {SDN_COLUMNS} columns, got {len(rec)}")
        ent_num, name, sdn_type, program = (_cell(x) for x in rec[:4])
        if not ent_num.isdigit() or not name:
            raise ScreeningListError(f"sdn.csv line {number}: no entity number or name")
        remarks = _cell(rec[11])
        aliases = _aliases_in_remarks(remarks)
        rows[ent_num] = ScreeningRow(name=name, aliases=aliases,
                                     program=program.replace("] [", "; ").strip("[]"),
                                     type=sdn_type or "entity", list="OFAC-SDN", source_id=ent_num)
    if alt is not None:
        for number, rec in enumerate(csv.reader(alt), start=1):
            if not rec or (len(rec) == 1 and not rec[0].strip()) or rec[0].strip() == "\x1a":
                continue
            if len(rec) < 4:
                raise ScreeningListError(f"alt.csv line {number}: expected 5 columns, got {len(rec)}")
            ent_num, alt_name = _cell(rec[0]), _cell(rec[3])
            if ent_num in rows and alt_name:
                rows[ent_num].aliases.append(alt_name)
    return list(rows.values())


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_eu_consolidated(xml: IO[bytes]) -> list[ScreeningRow]:
    """Reads the EU consolidated financial sanctions list (FSF XML, version 1.1 layout)."""
    rows: list[ScreeningRow] = []
    saw_root = False
    try:
        for event, elem in ET.iterparse(xml, events=("start", "end")):
            tag = _local(elem.tag)
            if event == "start":
                if not saw_root:
                    if tag != "export":
                        raise ScreeningListError(f"EU list: the root element is <{tag}>, not <export>")
                    saw_root = True
                continue
            if tag != "sanctionEntity":
                continue
            names: list[str] = []
            strong: list[str] = []
            programs: list[str] = []
            kind = ""
            for child in elem:
                ctag = _local(child.tag)
                if ctag == "nameAlias":
                    whole = " ".join((child.get("wholeName") or "").split())
                    if not whole:
                        parts = [child.get(k) or "" for k in ("firstName", "middleName", "lastName")]
                        whole = " ".join(" ".join(parts).split())
                    if whole and whole not in names:
                        names.append(whole)
                        if (child.get("strong") or "").lower() == "true":
                            strong.append(whole)
                elif ctag == "subjectType":
                    code = child.get("code") or child.get("classificationCode") or ""
                    kind = {"P": "person", "E": "enterprise"}.get(code, code)
                elif ctag == "regulation":
                    prog = child.get("programme") or ""
                    if prog and prog not in programs:
                        programs.append(prog)
            if names:
                primary = strong[0] if strong else names[0]
                rows.append(ScreeningRow(
                    name=primary, aliases=[n for n in names if n != primary],
                    program="; ".join(programs), type=kind, list="EU-FSF",
                    source_id=elem.get("euReferenceNumber") or elem.get("logicalId") or ""))
            elem.clear()
    except ET.ParseError as exc:
        raise ScreeningListError(f"EU list: not well-formed XML ({exc})") from None
    if not saw_root:
        raise ScreeningListError("EU list: empty document")
    return rows


def write_table(rows: Iterable[ScreeningRow], out: TextIO) -> int:
    """Writes the reference-table CSV; returns the number of rows."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    n = 0
    for row in rows:
        w.writerow(row.cells())
        n += 1
    return n


def table_text(rows: Iterable[ScreeningRow]) -> str:
    buf = io.StringIO()
    write_table(rows, buf)
    return buf.getvalue()


def iter_names(rows: Iterable[ScreeningRow]) -> Iterator[str]:
    """Every name and alias, for callers that screen outside the engine."""
    for row in rows:
        yield row.name
        yield from row.aliases
