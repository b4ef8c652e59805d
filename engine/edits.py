"""The edits between two rule sets, and a rule set with some of them reverted (blame by edit).

In: the files of two rule sets (`{relative path: bytes}`, as simulator/rulesets.bundle gives
them), baseline and candidate. Out: `diff_files` gives the `Edit`s that turn the baseline into
the candidate: a rule added, removed or changed (by pack and rule id); a pack added or removed;
a pack's settings changed (phase, order, enabled, effective dates...); a reference table row
added, removed or changed (CSV tables with a unique first column, by that key); any other file
changed as a whole (a YAML or JSON table, the manifest, an event pack). `revert(candidate,
baseline, edits)` gives the candidate's files with those edits undone, which the caller loads
like any rule set: the re-decision then runs with the rule set's full precedence (priorities,
stops, pack order), not one rule in isolation. Pure: texts in, texts out. Raises nothing.

The non-obvious choices:
- Edits are cut at the text, not at the compiled model: a compiled expression holds the
  reference tables it reads as constants, so a reverted table row must be compiled again, and a
  text is what the checker compiles. Each edit is a list of line replacements on one candidate
  file (or a whole file put back or taken away); the edits of one diff never overlap, so any
  subset applies in any order.
- Rules are compared by their YAML as data (comments and layout do not count; a quoted and an
  unquoted scalar do); a rule's block is its lines from its `- id:` to the next rule (or the
  next key of the pack, or the end of the file). A pack whose rules cannot be cut this way (flow
  style, one line) is one whole-file edit.
- A rule that is back in the baseline is put back after the candidate rule that comes before
  it in the baseline (the file order breaks ties of priority); a table row likewise.
"""
from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .yamlload import Node, YamlError, load_text

Files = Mapping[str, bytes]
MAX_DETAIL = 160  # characters of a change's detail
MAX_ROW_EDITS = 12  # a table with more row edits than this has one edit per kind of change


@dataclass(frozen=True)
class Op:
    """One change to one candidate file: lines [start, end) (0-based) become `lines`; or, with
    `whole`, the file becomes `data` (None: the file goes)."""
    file: str
    start: int = 0
    end: int = 0
    lines: tuple[str, ...] = ()
    whole: bool = False
    data: bytes | None = None


@dataclass(frozen=True)
class Edit:
    id: str          # stable within a diff: "rule:PACK/RULE", "row:TABLE/KEY", "file:PATH"...
    kind: str        # rule_added | rule_removed | rule_changed | pack_added | pack_removed |
    #                  pack_settings | row_added | row_removed | row_changed | file_added |
    #                  file_removed | file_changed
    file: str        # the file it is in (the candidate's; the baseline's when removed)
    line: int        # 1-based line there (0: the whole file)
    summary: str     # one line for people
    ops: tuple[Op, ...]

    @property
    def decides(self) -> bool:
        """Whether the edit can change a decision: event packs and processes cannot."""
        return not self.file.startswith(("events/", "processes/"))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "place": f"{self.file}:{self.line}"
                if self.line else self.file, "summary": self.summary}


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _is_pack_file(rel: str) -> bool:
    return rel.endswith((".yaml", ".yml")) and rel != "ruleset.yaml" and not rel.startswith(
        ("reference/", "processes/", "tests/"))


def diff_files(baseline: Files, candidate: Files) -> list[Edit]:
    """The edits from the baseline's files to the candidate's, in file then line order."""
    edits: list[Edit] = []
    for rel in sorted(set(baseline) | set(candidate)):
        if rel.startswith("tests/"):
            continue
        old, new = baseline.get(rel), candidate.get(rel)
        if old == new:
            continue
        if old is None or new is None:
            edits.append(_whole(rel, old, new))
            continue
        told, tnew = _text(old), _text(new)
        fine: list[Edit] | None = None
        if told is not None and tnew is not None:
            if _is_pack_file(rel):
                fine = _pack_edits(rel, told, tnew)
            elif rel.startswith("reference/") and rel.endswith(".csv"):
                fine = _csv_edits(rel, told, tnew)
        edits.extend(fine if fine is not None else [_whole(rel, old, new)])
    return edits


def _whole(rel: str, old: bytes | None, new: bytes | None) -> Edit:
    pack = _is_pack_file(rel)
    what = "pack file" if pack else "reference table" if rel.startswith("reference/") else \
        "manifest" if rel == "ruleset.yaml" else "file"
    if old is None:
        kind, summary = ("pack_added" if pack else "file_added"), f"{what} {rel} added"
    elif new is None:
        kind, summary = ("pack_removed" if pack else "file_removed"), f"{what} {rel} removed"
    else:
        kind, summary = "file_changed", f"{what} {rel} changed"
    return Edit(f"file:{rel}", kind, rel, 0, summary, (Op(rel, whole=True, data=old),))


def revert(candidate: Files, baseline: Files, edits: Iterable[Edit]) -> dict[str, bytes]:
    """The candidate's files with `edits` (from `diff_files(baseline, candidate)`) undone."""
    out = dict(candidate)
    by_file: dict[str, list[tuple[int, Op]]] = {}
    for seq, edit in enumerate(edits):
        for op in edit.ops:
            if op.whole:
                if op.data is None:
                    out.pop(op.file, None)
                else:
                    out[op.file] = op.data
            else:
                by_file.setdefault(op.file, []).append((seq, op))
    for rel, ops in by_file.items():
        text = _text(out.get(rel)) or ""
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        # bottom up, so earlier line numbers stay true; inserts at one place keep edit order
        for _, op in sorted(ops, key=lambda t: (t[1].start, t[1].end, t[0]), reverse=True):
            lines[op.start:op.end] = [x if x.endswith("\n") else x + "\n" for x in op.lines]
        out[rel] = "".join(lines).encode()
    return out


# --- packs ---------------------------------------------------------------------------------------

def _canon(node: Node) -> Any:
    """A YAML node as comparable data: layout and comments left out, quoting kept."""
    if node.kind == "map":
        return tuple((k, _canon(v)) for k, v in node.value.items())
    if node.kind == "seq":
        return tuple(_canon(v) for v in node.value)
    return (node.value.__class__.__name__, str(node.value), node.quoted)


def _plain_text(node: Node) -> str:
    if node.kind == "map":
        return "{" + ", ".join(f"{k}: {_plain_text(v)}" for k, v in node.value.items()) + "}"
    if node.kind == "seq":
        return "[" + ", ".join(_plain_text(v) for v in node.value) + "]"
    return node.text if node.quoted else str(node.value)


@dataclass
class _PackText:
    root: Node
    lines: list[str]
    rules_at: int                   # 0-based line of the `rules:` key
    rules_end: int                  # 0-based line after the last rule's block
    blocks: dict[str, tuple[int, int, Node]]  # rule id -> [start, end) lines, node
    order: list[str]                # rule ids in file order


def _pack_text(rel: str, text: str) -> _PackText | None:
    try:
        root = load_text(text, rel)
    except YamlError:
        return None
    if root is None or root.kind != "map" or "rules" not in root.value:
        return None
    rules = root.value["rules"]
    if rules.kind != "seq" or "rules" not in root.key_spans:
        return None
    lines = text.splitlines(keepends=True)
    rules_at = root.key_spans["rules"].line - 1
    later = [s.line - 1 for k, s in root.key_spans.items() if s.line - 1 > rules_at]
    rules_end = min(later) if later else len(lines)
    starts: list[tuple[int, str, Node]] = []
    for rnode in rules.value:
        rid = rnode.value.get("id") if rnode.kind == "map" else None
        if rid is None or rid.kind != "scalar":
            return None
        starts.append((rnode.span.line - 1, str(rid.value), rnode))
    blocks: dict[str, tuple[int, int, Node]] = {}
    for i, (start, rid, rnode) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else rules_end
        if start <= rules_at or end <= start or rid in blocks:
            return None  # flow style, two rules on a line, a duplicate id: cut the file whole
        blocks[rid] = (start, end, rnode)
    return _PackText(root, lines, rules_at, rules_end, blocks, [s[1] for s in starts])


def _header(p: _PackText) -> Any:
    return tuple((k, _canon(v)) for k, v in p.root.value.items() if k != "rules")


def _pack_id(p: _PackText) -> str:
    node = p.root.value.get("pack")
    return str(node.value) if node is not None and node.kind == "scalar" else "?"


def _rows_detail(a: Node, b: Node) -> str:
    """What changed in a decision table's rows: added, removed, changed (the first shown)."""
    ra, rb = a.value.get("rows"), b.value.get("rows")
    rows_a = list(ra.value) if ra is not None and ra.kind == "seq" else []
    rows_b = list(rb.value) if rb is not None and rb.kind == "seq" else []
    ca, cb = [_canon(r) for r in rows_a], [_canon(r) for r in rows_b]
    parts = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=ca, b=cb, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if tag in ("replace", "delete"):
            parts += [f"row {_plain_text(r)} removed" for r in rows_a[i1:i2]]
        if tag in ("replace", "insert"):
            parts += [f"row {_plain_text(r)} added" for r in rows_b[j1:j2]]
    other = [k for k in dict.fromkeys([*a.value, *b.value]) if k != "rows" and (
        k not in a.value or k not in b.value or _canon(a.value[k]) != _canon(b.value[k]))]
    if other:
        parts.append("table " + ", ".join(other) + " changed")
    return "; ".join(parts) or "table changed"


def _rule_detail(old: Node, new: Node) -> str:
    """The rule's changed keys, what decides first (the description last)."""
    keys = sorted(dict.fromkeys([*old.value, *new.value]), key=lambda k: k == "description")
    parts = []
    for k in keys:
        a, b = old.value.get(k), new.value.get(k)
        if a is not None and b is not None and _canon(a) == _canon(b):
            continue
        if k == "table" and a is not None and b is not None and a.kind == b.kind == "map":
            parts.append(_rows_detail(a, b))
            continue
        before = "none" if a is None else _plain_text(a)
        after = "none" if b is None else _plain_text(b)
        parts.append(f"{k}: {before} -> {after}")
    detail = "; ".join(parts)
    return detail if len(detail) <= MAX_DETAIL else detail[:MAX_DETAIL - 3] + "..."


def _pack_edits(rel: str, old_text: str, new_text: str) -> list[Edit] | None:
    old, new = _pack_text(rel, old_text), _pack_text(rel, new_text)
    if old is None or new is None or _pack_id(old) != _pack_id(new):
        return None
    pid = _pack_id(new)
    edits: list[Edit] = []
    if _header(old) != _header(new):
        keys = [k for k in dict.fromkeys([*old.root.value, *new.root.value]) if k != "rules"
                and (k not in old.root.value or k not in new.root.value
                     or _canon(old.root.value[k]) != _canon(new.root.value[k]))]
        ops = (Op(rel, 0, new.rules_at, tuple(old.lines[:old.rules_at])),
               Op(rel, new.rules_end, len(new.lines), tuple(old.lines[old.rules_end:])))
        edits.append(Edit(f"pack:{pid}", "pack_settings", rel, 1,
                          f"pack {pid} settings changed: {', '.join(keys)}", ops))
    for rid in new.order:
        start, end, node = new.blocks[rid]
        if rid not in old.blocks:
            edits.append(Edit(f"rule:{pid}/{rid}", "rule_added", rel, start + 1,
                              f"rule {pid}/{rid} added", (Op(rel, start, end, ()),)))
            continue
        ostart, oend, onode = old.blocks[rid]
        if _canon(onode) != _canon(node):
            edits.append(Edit(f"rule:{pid}/{rid}", "rule_changed", rel, start + 1,
                              f"rule {pid}/{rid} changed: {_rule_detail(onode, node)}",
                              (Op(rel, start, end, tuple(_reindent(
                                  old.lines[ostart:oend], onode.span.col, node.span.col))),)))
    for i, rid in enumerate(old.order):
        if rid in new.blocks:
            continue
        ostart, oend, onode = old.blocks[rid]
        before = next((r for r in reversed(old.order[:i]) if r in new.blocks), None)
        at = new.blocks[before][1] if before is not None else (
            new.blocks[new.order[0]][0] if new.order else new.rules_end)
        col = next(iter(new.blocks.values()))[2].span.col if new.blocks else onode.span.col
        edits.append(Edit(f"rule:{pid}/{rid}", "rule_removed", rel, ostart + 1,
                          f"rule {pid}/{rid} removed",
                          (Op(rel, at, at, tuple(_reindent(old.lines[ostart:oend],
                                                           onode.span.col, col))),)))
    return edits


def _reindent(lines: list[str], col_from: int, col_to: int) -> list[str]:
    """A rule's block moved to another indentation (the files indent their rules alike, as a
    rule: this is for the odd one that does not)."""
    shift = col_to - col_from
    if shift == 0:
        return list(lines)
    out = []
    for line in lines:
        if shift > 0:
            out.append(" " * shift + line if line.strip() else line)
        else:
            lead = len(line) - len(line.lstrip(" "))
            out.append(line[min(lead, -shift):])
    return out


# --- CSV reference tables ------------------------------------------------------------------------

@dataclass
class _CsvText:
    lines: list[str]
    header: list[str]
    rows: dict[str, tuple[int, list[str]]]   # key -> 0-based line, cells
    order: list[str]


def _csv_text(text: str, width: int = 1) -> _CsvText | None:
    """The table's rows by their first `width` cells (None: not unique, or not one row a
    line)."""
    lines = text.splitlines(keepends=True)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or reader.line_num != 1:
        return None
    rows: dict[str, tuple[int, list[str]]] = {}
    order: list[str] = []
    last = reader.line_num
    for rec in reader:
        if reader.line_num != last + 1 and rec:
            return None  # a cell over several lines: the table is one edit
        last = reader.line_num
        if not rec:
            continue
        key = "/".join(rec[:width])
        if key in rows:
            return None  # no unique key: the table is one edit
        rows[key] = (last - 1, rec)
        order.append(key)
    return _CsvText(lines, [h.strip() for h in header], rows, order)


def _csv_edits(rel: str, old_text: str, new_text: str) -> list[Edit] | None:
    for width in (1, 2):  # the first column, else the first two (location and sku)
        old, new = _csv_text(old_text, width), _csv_text(new_text, width)
        if old is not None and new is not None:
            break
    if old is None or new is None or old.header != new.header:
        return None
    name = rel[len("reference/"):-len(".csv")]
    edits: list[Edit] = []

    def line_of(t: _CsvText, at: int) -> str:
        line = t.lines[at]
        return line if line.endswith("\n") else line + "\n"

    for key in new.order:
        at, cells = new.rows[key]
        if key not in old.rows:
            edits.append(Edit(f"row:{name}/{key}", "row_added", rel, at + 1,
                              f"reference {name} row {key} added", (Op(rel, at, at + 1, ()),)))
            continue
        oat, ocells = old.rows[key]
        if [c.strip() for c in ocells] != [c.strip() for c in cells]:
            changed = [f"{h}: {a or 'empty'} -> {b or 'empty'}" for h, a, b in zip(
                old.header, ocells + [""] * len(old.header), cells + [""] * len(old.header))
                if a.strip() != b.strip()]
            detail = "; ".join(changed)
            if len(detail) > MAX_DETAIL:
                detail = detail[:MAX_DETAIL - 3] + "..."
            edits.append(Edit(f"row:{name}/{key}", "row_changed", rel, at + 1,
                              f"reference {name} row {key} changed: {detail}",
                              (Op(rel, at, at + 1, (line_of(old, oat),)),)))
    for i, key in enumerate(old.order):
        if key in new.rows:
            continue
        oat, _ = old.rows[key]
        before = next((k for k in reversed(old.order[:i]) if k in new.rows), None)
        at = new.rows[before][0] + 1 if before is not None else 1
        edits.append(Edit(f"row:{name}/{key}", "row_removed", rel, oat + 1,
                          f"reference {name} row {key} removed",
                          (Op(rel, at, at, (line_of(old, oat),)),)))
    return edits if len(edits) <= MAX_ROW_EDITS else _grouped(name, edits)


def _grouped(name: str, edits: list[Edit]) -> list[Edit]:
    """Many row edits of one table (a warehouse's stock added, say) as one edit per kind."""
    out = []
    for kind in ("row_added", "row_removed", "row_changed"):
        group = [e for e in edits if e.kind == kind]
        if not group:
            continue
        keys = [e.id.split("/", 1)[1] for e in group]
        shown = ", ".join(keys[:3]) + (f" +{len(keys) - 3} more" if len(keys) > 3 else "")
        verb = kind.split("_")[1]
        out.append(Edit(f"rows:{name}/{verb}", kind, group[0].file, group[0].line,
                        f"reference {name}: {len(keys)} rows {verb} ({shown})",
                        tuple(op for e in group for op in e.ops)))
    return out
