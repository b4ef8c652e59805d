"""engine/edits.py: the edits between two rule sets, and reverting any of them."""
from __future__ import annotations

from pathlib import Path

from ordinance.engine.edits import diff_files, revert

ACME = Path(__file__).resolve().parents[2] / "rulesets"


def files(name: str) -> dict[str, bytes]:
    root = ACME / name
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] != "tests"}


def test_acme_candidate_edits_and_full_revert_is_the_baseline() -> None:
    b, c = files("acme"), files("acme-candidate")
    edits = diff_files(b, c)
    ids = [e.id for e in edits]
    assert "rule:approvals/discount-depth" in ids and "row:locations/WH-ES" in ids
    assert "rows:inventory/added" in ids  # 290 rows of one table: one edit
    depth = next(e for e in edits if e.id == "rule:approvals/discount-depth")
    assert depth.kind == "rule_changed" and depth.file == "packs/60-approvals.yaml"
    assert "row [> 25, sales-manager, 1] removed" in depth.summary
    assert not next(e for e in edits if e.file.startswith("events/")).decides
    assert diff_files(b, revert(c, b, edits)) == []
    # any one edit reverted leaves exactly the others
    for edit in edits:
        assert [e.id for e in diff_files(b, revert(c, b, [edit]))] == \
            [i for i in ids if i != edit.id]


def test_rule_added_removed_changed_and_rows() -> None:
    pack = (b"pack: p\nphase: pricing\nrules:\n"
            b"  - id: a\n    when: true\n    then:\n      - hold: {code: A}\n"
            b"  - id: b\n    when: true\n    then:\n      - hold: {code: B}\n"
            b"  - id: c\n    when: true\n    then:\n      - hold: {code: C}\n")
    new_pack = (b"pack: p\nphase: pricing\nenabled: false\nrules:\n"
                b"  - id: a\n    when: false  # changed\n    then:\n      - hold: {code: A}\n"
                b"  - id: c\n    when: true\n    then:\n      - hold: {code: C}\n"
                b"  - id: d\n    when: true\n    then:\n      - hold: {code: D}\n")
    table = b"code,rate\nX,1\nY,2\nZ,3\n"
    new_table = b"code,rate\nX,1\nY,5\nW,4\n"
    b = {"packs/p.yaml": pack, "reference/t.csv": table}
    c = {"packs/p.yaml": new_pack, "reference/t.csv": new_table}
    edits = {e.id: e for e in diff_files(b, c)}
    assert {i: e.kind for i, e in edits.items()} == {
        "pack:p": "pack_settings", "rule:p/a": "rule_changed", "rule:p/b": "rule_removed",
        "rule:p/d": "rule_added", "row:t/Y": "row_changed", "row:t/W": "row_added",
        "row:t/Z": "row_removed"}
    assert edits["rule:p/a"].summary == "rule p/a changed: when: True -> False"
    assert edits["row:t/Y"].summary == "reference t row Y changed: rate: 2 -> 5"
    assert edits["pack:p"].summary == "pack p settings changed: enabled"
    back = revert(c, b, [edits["rule:p/b"]])  # b goes back after a, before c
    text = back["packs/p.yaml"].decode()
    assert text.index("id: a") < text.index("id: b") < text.index("id: c") < text.index("id: d")
    assert revert(c, b, [edits["row:t/Z"], edits["row:t/Y"]])["reference/t.csv"] == \
        b"code,rate\nX,1\nY,2\nZ,3\nW,4\n"
    assert revert(c, b, edits.values()) == {"packs/p.yaml": pack, "reference/t.csv": table}


def test_whole_file_edits() -> None:
    b = {"reference/n.yaml": b"- a\n", "packs/gone.yaml": b"pack: g\n"}
    c = {"reference/n.yaml": b"- b\n", "packs/new.yaml": b"pack: n\n"}
    edits = diff_files(b, c)
    assert [(e.id, e.kind) for e in edits] == [
        ("file:packs/gone.yaml", "pack_removed"), ("file:packs/new.yaml", "pack_added"),
        ("file:reference/n.yaml", "file_changed")]
    assert revert(c, b, edits) == b
