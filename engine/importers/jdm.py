"""GoRules JDM (JSON Decision Model) decision tables as a rule pack.

In: a JDM document's text (`{"nodes": [...], "edges": [...]}` as GoRules ZEN reads it), the
name to report it under and `--map` entries (column field -> order path). Out: `Imported`.

Each `decisionTableNode` becomes one rule of a defaulting pack, in edge order (a table runs
after the tables it is wired from; a cycle is refused). A column's `field` is a path in the
request, read from the order (`customer.tier` -> `order.customer.tier`, `--map` overrides);
an output column's `field` is where its value goes (`discount.amount` -> `set:
{order.discount.amount: ...}`), so a table that reads another's output finds it there.
Hit policies: `first` and `collect` (whose rows land in `RESULT.hitK`, RESULT named after the
node, see pack.py). Cells and output expressions go through `feel.py` in its ZEN dialect. An
empty output cell gives null where ZEN leaves the field out. Refused, with the JSON path of
the node and the `file:line:col` of its `"id"` (or the rule's `"_id"`) in the text: every other
node kind (expression, function, switch, decision, custom), loop mode (`executionMode`,
`inputField`, `outputPath`), `field[]` collection outputs, and cells outside `feel.py`.
"""
from __future__ import annotations

import json
from typing import Any

from ..diagnostics import Code, Diagnostic, Span
from . import Imported
from .dmn import _PATH
from .feel import NOT_LITERAL, Refused, expression, literal_value, unary_test
from .pack import Expr, ImportedTable, Output, identifier, path_of, render, rule_id, \
    segment

HIT = {"first": "first", "collect": "collect"}


def _str(v: Any) -> str:
    """A text field of the document: other JSON values (numbers, lists, ...) read as their
    JSON text, so an odd document is refused with a message, never a crash."""
    if v is None:
        return ""
    return v if isinstance(v, str) else json.dumps(v)


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []
PASSIVE = {"inputNode", "outputNode"}
MAX_BYTES = 20_000_000


class _Importer:
    def __init__(self, text: str, source: str, mapping: dict[str, str]) -> None:
        self.text, self.source, self.mapping = text, source, mapping
        self.diags: list[Diagnostic] = []
        self.used: set[str] = set()  # the --map entries that applied

    def span(self, anchor: str | None, key: str | None = None) -> Span:
        """Where `"id": "<anchor>"` (or `"_id"`) first appears, then the key `"<key>"` after
        it (a rule's cell); 1:1 when it cannot be found."""
        at = -1
        for pattern in (f'"id": {json.dumps(anchor)}', f'"id":{json.dumps(anchor)}',
                        f'"_id": {json.dumps(anchor)}', f'"_id":{json.dumps(anchor)}'):
            at = self.text.find(pattern) if anchor else -1
            if at >= 0:
                break
        if at >= 0 and key:
            cell = self.text.find(json.dumps(key) + ":", at)
            at = cell if cell >= 0 else at
        if at < 0:
            return Span(self.source, 1, 1)
        line = self.text.count("\n", 0, at) + 1
        return Span(self.source, line, at - (self.text.rfind("\n", 0, at) + 1) + 1)

    def refuse(self, where: str, anchor: str | None, message: str,
               hint: str | None = None, key: str | None = None) -> None:
        self.diags.append(Diagnostic(Code.SCHEMA, "error", f"{where}: {message}",
                                     self.span(anchor, key), hint))

    def path(self, dotted: str) -> str:
        if dotted in self.mapping:
            self.used.add(dotted)
            return self.mapping[dotted]
        return path_of(dotted)


def import_jdm(text: str, source: str, mapping: dict[str, str]) -> Imported:
    imp = _Importer(text, source, mapping)
    for name, p in mapping.items():
        if not _PATH.match(p):
            imp.refuse("--map", None, f"{name}={p}: the path must start with order. or "
                       "customer. and name fields (letters, digits, _)")
    if len(text) > MAX_BYTES:
        imp.refuse("$", None, f"the document is larger than {MAX_BYTES} bytes")
        return Imported(None, tuple(imp.diags))
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return Imported(None, (Diagnostic(Code.PARSE_ERROR, "error", f"not JSON: {exc.msg}",
                                          Span(source, exc.lineno, exc.colno)),))
    except RecursionError:
        return Imported(None, (Diagnostic(Code.PARSE_ERROR, "error", "nested too deeply",
                                          Span(source, 1, 1)),))
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    if not isinstance(nodes, list):
        imp.refuse("$", None, "not a JDM document: no \"nodes\" list",
                   "a JDM file is {\"nodes\": [...], \"edges\": [...]}")
        return Imported(None, tuple(imp.diags))
    tables: list[Any] = []
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            imp.refuse(f"$.nodes[{i}]", None, "a node is an object")
            continue
        kind, name = _str(node.get("type")), _str(node.get("name"))
        if kind == "decisionTableNode":
            if any(_str(n.get("id")) == _str(node.get("id")) for _, n in tables):
                imp.refuse(f"$.nodes[{i}].id", _str(node.get("id")), f"node id "
                           f"{_str(node.get('id'))!r} is used twice: edges cannot tell the "
                           "tables apart")
                continue
            tables.append((i, node))
        elif kind not in PASSIVE:
            imp.refuse(f"$.nodes[{i}]", _str(node.get("id")), f"{kind or 'a node'} {name!r} "
                       "is not carried over: only decision tables are",
                       "rewrite its logic as a decision table, or in the pack by hand")
    out = [t for i, node in _ordered(tables, _list(doc.get("edges")), imp)
           if (t := _table(i, node, imp)) is not None]
    if not tables:
        imp.refuse("$.nodes", None, "no decisionTableNode: nothing to import")
    for unused in sorted(set(mapping) - imp.used):
        imp.diags.append(Diagnostic(Code.UNKNOWN_NAME, "warning", f"--map {unused}: no column "
                                    "field of that name", Span(source, 1, 1)))
    if any(d.is_error for d in imp.diags):
        return Imported(None, tuple(sorted(imp.diags, key=lambda d: d.span)))
    stem = source.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    comments = [f"Imported by `ordinance import jdm` from {source} (GoRules JDM, "
                f"{len(out)} decision table{'s' if len(out) != 1 else ''}).",
                "A column's field is read from and written to the order: field -> order.field."]
    return Imported(render(rule_id(stem, "jdm"), comments, f"Decision tables of {source}", out),
                    tuple(imp.diags))


def _ordered(tables: list[tuple[int, dict[str, Any]]], edges: list[Any],
             imp: _Importer) -> list[tuple[int, dict[str, Any]]]:
    """Tables in edge order (upstream first, else document order); a cycle is refused."""
    by_id = {_str(n.get("id")): (i, n) for i, n in tables}
    upstream: dict[Any, list[Any]] = {k: [] for k in by_id}
    for e in edges:
        if isinstance(e, dict) and _str(e.get("targetId")) in by_id:
            upstream[_str(e.get("targetId"))].append(_str(e.get("sourceId")))
    # a table fed through a passive node still runs after what feeds that node
    out: list[tuple[int, dict[str, Any]]] = []
    state: dict[Any, str] = {}

    def visit(k: Any) -> None:
        if state.get(k) == "done":
            return
        if state.get(k) == "visiting":
            i, n = by_id[k]
            imp.refuse(f"$.nodes[{i}]", k, f"decision table {n.get('name', '')!r} is wired "
                       "to itself through other tables: the tables cannot be put in an order")
            return
        state[k] = "visiting"
        for s in upstream.get(k, []):
            if s in by_id:
                visit(s)
        state[k] = "done"
        out.append(by_id[k])

    for _, n in tables:
        visit(_str(n.get("id")))
    return out


def _cell_output(text: str, where: str, anchor: str | None, imp: _Importer,
                 key: str | None = None) -> Any:
    if not text.strip():
        return None
    v = literal_value(text, "zen")
    if v is not NOT_LITERAL:
        if isinstance(v, str) and v.startswith("="):
            imp.refuse(where, anchor, "a text output starting with '=' would read as an "
                       "expression", key=key)
        return v
    try:
        return Expr(expression(text, imp.path, "zen"))
    except Refused as exc:
        imp.refuse(where, anchor, f"{exc.message}: {text!r}", key=key)
        return None


def _table(i: int, node: dict[str, Any], imp: _Importer) -> ImportedTable | None:
    before = len(imp.diags)
    at, nid, name = f"$.nodes[{i}].content", _str(node.get("id")), _str(node.get("name"))
    c = node.get("content")
    if not isinstance(c, dict):
        imp.refuse(at, nid, "a decision table node has a content object")
        return None
    policy = _str(c.get("hitPolicy")) or "first"
    hit = HIT.get(policy)
    if hit is None:
        imp.refuse(f"{at}.hitPolicy", nid, f"hit policy {policy!r} is not first or collect")
    for key in ("inputField", "outputPath"):
        if c.get(key):
            imp.refuse(f"{at}.{key}", nid, f"{key} (a table run per item of a list) is not "
                       "carried over")
    if _str(c.get("executionMode")) not in ("", "single"):
        imp.refuse(f"{at}.executionMode", nid, f"executionMode {c.get('executionMode')!r} is "
                   "not carried over")
    columns_in = [x for x in _list(c.get("inputs")) if isinstance(x, dict)]
    columns_out = [x for x in _list(c.get("outputs")) if isinstance(x, dict)]
    for x in columns_in + columns_out:
        x["id"] = _str(x.get("id"))
    inputs = []
    for k, col in enumerate(columns_in):
        field = _str(col.get("field")).strip()
        where = f"{at}.inputs[{k}].field"
        if not field:
            imp.refuse(where, col["id"] or nid, f"input {_str(col.get('name')) or k!r} has "
                       "no field: its cells would test the whole request")
            continue
        try:
            inputs.append(imp.path(field) if field in imp.mapping else
                          expression(field, imp.path, "zen"))
        except Refused as exc:
            imp.refuse(where, col["id"] or nid, f"{exc.message}: {field!r}",
                       "map the column to an order path with --map 'FIELD=order.PATH'")
    outputs: list[Output] = []
    for k, col in enumerate(columns_out):
        field = _str(col.get("field")).strip()
        if not field or not all(p.isidentifier() for p in field.split(".")):
            imp.refuse(f"{at}.outputs[{k}].field", col["id"] or nid, f"output field "
                       f"{field!r} is not a path of names (a.b.c)")
            continue
        column = identifier(field.replace(".", "_"))
        while column in (o.column for o in outputs):
            column += "_"
        outputs.append(Output(column, imp.path(field), field))
    result = path_of(segment(name or f"table{i}"))
    rows = []
    for r, rule in enumerate(_list(c.get("rules"))):
        if not isinstance(rule, dict):
            continue
        rid, cells = _str(rule.get("_id")), []
        for col in columns_in:
            text = _str(rule.get(col["id"]))
            try:
                cells.append(unary_test(text, "zen"))
            except Refused as exc:
                imp.refuse(f"{at}.rules[{r}][{json.dumps(col.get('id'))}]", rid,
                           f"{exc.message}: {text!r}",
                           "cells are literals, comparisons, intervals, lists and not(...)",
                           key=col.get("id"))
        for col in columns_out:
            cells.append(_cell_output(_str(rule.get(col["id"])),
                                      f"{at}.rules[{r}][{json.dumps(col.get('id'))}]", rid,
                                      imp, col.get("id")))
        rows.append(tuple(cells))
    if not columns_in or not columns_out:
        imp.refuse(at, nid, f"decision table {name!r} has no "
                   f"{'inputs' if not columns_in else 'outputs'}")
    if len(imp.diags) > before or hit is None:
        return None
    return ImportedTable(rule=rule_id(name, f"table{i}"),
                         description=f"JDM decision table {name!r} ($.nodes[{i}] of "
                         f"{imp.source}), hit policy {policy}",
                         hit=hit, inputs=tuple(inputs), outputs=tuple(outputs), result=result,
                         rows=tuple(rows), comments=(f"JDM node {name!r} (id {nid})",))
