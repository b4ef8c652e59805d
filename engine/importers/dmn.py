"""DMN 1.1-1.5 decision tables as a rule pack.

In: a DMN document's text, the name to report it under (its file name) and `--map` entries
(source name -> order path). Out: `Imported` (see `__init__`): the pack's YAML, or None and
the located refusals.

Each decision whose logic is a decision table becomes one rule of a defaulting pack. Inputs:
an input expression that is the name of an input data or a decision (`Age`, `Applicant.Age`,
`Approval Status`) reads `order.` + that name with every character outside `[A-Za-z0-9_]`
turned into `_` (`order.Age`, `order.Applicant.Age`, `order.Approval_Status`), unless `--map
NAME=PATH` says otherwise; other input expressions go through the FEEL translator
(`feel.py`). A decision's result is written to its own path the same way, so a decision that
requires another reads the other's result: rules are written in requirement order (a cycle is
refused). Everything else - literal expressions, contexts, invocations, business knowledge
models, decision services, imports, FEEL beyond `feel.py` - is refused at its element's
line and column. The XML is read by `xmltree.py` (expat; no DTD, no entities).
"""
from __future__ import annotations

import re
from typing import Any

from ..diagnostics import Code, Diagnostic, Span
from . import Imported
from .feel import NOT_LITERAL, Refused, expression, literal_list, literal_value, unary_test
from .pack import Expr, ImportedTable, Output, identifier, path_of, render, rule_id, segment
from .xmltree import El, XmlRefused, parse

NAMESPACES = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "1.1",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "1.2",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "1.3",
    "https://www.omg.org/spec/DMN/20211108/MODEL/": "1.4",
    "https://www.omg.org/spec/DMN/20230324/MODEL/": "1.5",
}
HIT = {"UNIQUE": "unique", "FIRST": "first", "PRIORITY": "priority", "ANY": "any",
       "RULE ORDER": "rule_order", "OUTPUT ORDER": "output_order", "COLLECT": "collect"}
AGGREGATION = {"SUM": "collect_sum", "MIN": "collect_min", "MAX": "collect_max",
               "COUNT": "collect_count"}
# elements of <definitions> that say nothing the tables depend on
IGNORED = {"itemDefinition", "knowledgeSource", "textAnnotation", "association", "group",
           "extensionElements", "description", "DMNDI", "elementCollection",
           "performanceIndicator", "organizationUnit"}
DECISION_PARTS = {"variable", "informationRequirement", "authorityRequirement", "question",
                  "allowedAnswers", "description", "extensionElements", "supportedObjective",
                  "impactedPerformanceIndicator", "decisionMaker", "decisionOwner",
                  "usingProcess", "usingTask"}
_PATH = re.compile(r"^(order|customer)(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class _Importer:
    def __init__(self, source: str, mapping: dict[str, str]) -> None:
        self.source = source
        self.mapping = mapping
        self.diags: list[Diagnostic] = []
        self.names: dict[str, str] = {}  # input data and decision names -> order paths
        self.used: set[str] = set()  # the --map entries that applied

    def refuse(self, el: El | None, message: str, hint: str | None = None) -> None:
        line, col = (el.line, el.col) if el is not None else (1, 1)
        self.diags.append(Diagnostic(Code.SCHEMA, "error", message, Span(self.source, line, col),
                                     hint))

    def name_path(self, name: str) -> str:
        if name in self.mapping:
            self.used.add(name)
            return self.mapping[name]
        return path_of(name)

    def resolve(self, dotted: str) -> str | None:
        if dotted in self.names:
            return self.names[dotted]
        head, _, rest = dotted.partition(".")
        while True:
            if head in self.names:
                return self.names[head] + "." + ".".join(segment(p) for p in rest.split("."))
            if not rest:
                return None
            nxt, _, rest = rest.partition(".")
            head = head + "." + nxt

    def input_expr(self, text: str, type_ref: str | None, el: El, what: str) -> str | None:
        text = " ".join(text.split())
        if text in self.mapping:
            self.used.add(text)
        path = self.mapping.get(text) or self.resolve(text)
        if path is None:
            try:
                path = expression(text, self.resolve, "feel")
            except Refused as exc:
                self.refuse(el, f"{what}: {exc.message}: {text!r}",
                            "map the input to an order path with --map 'NAME=order.PATH'")
                return None
        return f"date({path})" if type_ref == "date" else path


def import_dmn(text: str, source: str, mapping: dict[str, str]) -> Imported:
    imp = _Importer(source, mapping)
    for name, path in mapping.items():
        if not _PATH.match(path):
            imp.refuse(None, f"--map {name}={path}: the path must start with order. or "
                       "customer. and name fields (letters, digits, _)")
    try:
        root = parse(text)
    except XmlRefused as exc:
        imp.diags.append(Diagnostic(Code.PARSE_ERROR, "error", exc.message,
                                    Span(source, exc.line, exc.col)))
        return Imported(None, tuple(imp.diags))
    version = NAMESPACES.get(root.ns)
    if root.tag != "definitions" or version is None:
        imp.refuse(root, f"not a DMN 1.1-1.5 document: the root is {root.tag!r} in namespace "
                   f"{root.ns!r}", "the root must be <definitions> of a DMN namespace")
        return Imported(None, tuple(imp.diags))
    decisions: list[El] = []
    for el in root.children:
        if el.tag == "inputData" and el.attrs.get("name"):
            imp.names[el.attrs["name"]] = imp.name_path(el.attrs["name"])
        elif el.tag == "decision":
            decisions.append(el)
            if not el.attrs.get("name"):
                imp.refuse(el, "a decision without a name: its result would have no path")
            imp.names[el.attrs.get("name", "")] = imp.name_path(el.attrs.get("name", ""))
        elif el.tag in ("businessKnowledgeModel", "decisionService", "import"):
            imp.refuse(el, f"<{el.tag}> {el.attrs.get('name', '')!r} is not carried over: a "
                       "pack holds decision tables over the order, not functions or other "
                       "models")
        elif el.tag not in IGNORED:
            imp.refuse(el, f"<{el.tag}> is not carried over")
    tables = [t for d in _ordered(decisions, imp) if (t := _decision(d, imp)) is not None]
    if not decisions:
        imp.refuse(root, "no decision: nothing to import")
    for unused in sorted(set(mapping) - imp.used):
        imp.diags.append(Diagnostic(Code.UNKNOWN_NAME, "warning", f"--map {unused}: no input "
                                    "data, decision or input expression of that name",
                                    Span(source, 1, 1), "names: " + ", ".join(imp.names)))
    if any(d.is_error for d in imp.diags):
        return Imported(None, tuple(sorted(imp.diags, key=lambda d: d.span)))
    name = root.attrs.get("name", "")
    decided = {d.attrs.get("name", "") for d in decisions}
    comments = [f"Imported by `ordinance import dmn` from {source} (DMN {version}, definitions "
                f"{name!r}, namespace {root.attrs.get('namespace', '')}).",
                "Input data: " + ", ".join(f"{k} -> {v}" for k, v in imp.names.items()
                                           if k not in decided) + ".",
                "Decision results: " + ", ".join(f"{k} -> {v}" for k, v in imp.names.items()
                                                 if k in decided) + "."]
    pack = render(rule_id(source.rsplit("/", 1)[-1].rsplit(".", 1)[0], "dmn"), comments,
                  f"Decision tables of DMN model {name!r} ({source})", tables)
    return Imported(pack, tuple(imp.diags))


def _ordered(decisions: list[El], imp: _Importer) -> list[El]:
    """Decisions in requirement order (a required decision first); a cycle is refused."""
    by_id = {d.attrs.get("id", ""): d for d in decisions}
    out: list[El] = []
    state: dict[int, str] = {}

    def visit(d: El) -> None:
        if state.get(id(d)) == "done":
            return
        if state.get(id(d)) == "visiting":
            imp.refuse(d, f"decision {d.attrs.get('name', '')!r} requires itself through "
                       "other decisions: the tables cannot be put in an order")
            return
        state[id(d)] = "visiting"
        for req in d.findall("informationRequirement"):
            r = req.find("requiredDecision")
            if r is not None:
                other = by_id.get(r.attrs.get("href", "").rpartition("#")[2])
                if other is None:
                    imp.refuse(r, f"requiredDecision {r.attrs.get('href', '')!r} names no "
                               "decision of this document")
                else:
                    visit(other)
        state[id(d)] = "done"
        out.append(d)

    for d in decisions:
        visit(d)
    return out


def _decision(d: El, imp: _Importer) -> ImportedTable | None:
    name = d.attrs.get("name", "")
    table = None
    for el in d.children:
        if el.tag == "decisionTable":
            table = el
        elif el.tag == "knowledgeRequirement":
            imp.refuse(el, f"decision {name!r} invokes a business knowledge model: not "
                       "carried over")
        elif el.tag not in DECISION_PARTS:
            imp.refuse(el, f"decision {name!r}: a <{el.tag}> is not carried over; only "
                       "decision tables are")
    if table is None:
        if not any(el.tag not in DECISION_PARTS for el in d.children):
            imp.refuse(d, f"decision {name!r} has no decision logic")
        return None
    return _table(d, name, table, imp)


def _output_value(text: str, el: El, imp: _Importer, what: str) -> Any:
    v = literal_value(text, "feel") if text.strip() else None
    if v is NOT_LITERAL:
        try:
            return Expr(expression(text, imp.resolve, "feel"))
        except Refused as exc:
            imp.refuse(el, f"{what}: {exc.message}: {text!r}")
            return None
    if isinstance(v, str) and v.startswith("="):
        imp.refuse(el, f"{what}: a text output starting with '=' would read as an expression")
    return v


def _same(a: Any, b: Any) -> bool:
    """Equal as the engine compares output values: by value, and of one kind."""
    return type(a) is type(b) and a == b


def _entry(el: El) -> tuple[El, str]:
    """An entry's <text> element (where a refusal points) and its text."""
    t = el.find("text")
    return (t, t.text.strip()) if t is not None else (el, el.text.strip())


def _table(d: El, name: str, t: El, imp: _Importer) -> ImportedTable | None:
    before = len(imp.diags)
    policy = " ".join(t.attrs.get("hitPolicy", "UNIQUE").split())
    hit = HIT.get(policy)
    if hit is None:
        imp.refuse(t, f"hit policy {policy!r} is not a DMN hit policy")
        return None
    outs = t.findall("output")
    if hit == "collect" and "aggregation" in t.attrs:
        hit = AGGREGATION.get(t.attrs["aggregation"], "")
        if not hit or len(outs) != 1:
            imp.refuse(t, f"COLLECT {t.attrs['aggregation']} over {len(outs)} outputs is not "
                       "carried over (one output, SUM, MIN, MAX or COUNT)")
            return None
    inputs = []
    for k, i in enumerate(t.findall("input"), 1):
        ie = i.find("inputExpression")
        text = i.text_of("inputExpression") or ""
        expr = imp.input_expr(text, ie.attrs.get("typeRef") if ie is not None else None,
                              ie or i, f"decision {name!r}, input {k}")
        inputs.append(expr or "")
    result = imp.names.get(name) or path_of(name)
    outputs: list[Output] = []
    values: list[tuple[str, tuple[Any, ...]]] = []
    default: list[Any] = []
    for k, o in enumerate(outs, 1):
        oname = o.attrs.get("name") or (name if len(outs) == 1 else f"output{k}")
        col = identifier(oname)
        while col in (x.column for x in outputs):
            col += "_"
        outputs.append(Output(col, result if len(outs) == 1 else f"{result}.{col}", oname))
        ov = o.text_of("outputValues")
        if ov:
            listed = literal_list(ov, "feel")
            if listed is not None:
                values.append((col, tuple(listed)))
            elif hit in ("priority", "output_order"):
                imp.refuse(o.find("outputValues") or o, f"decision {name!r}, output {oname!r}: "
                           f"output values {ov!r} are not a list of literals")
        dflt = o.find("defaultOutputEntry")
        if dflt is None:
            default.append(None)
        else:
            where, cell = _entry(dflt)
            default.append(_output_value(cell, where, imp,
                                         f"decision {name!r}, default of {oname!r}"))
    if not inputs or not outs:
        imp.refuse(t, f"decision {name!r}: a decision table with no "
                   f"{'inputs' if not inputs else 'outputs'}")
    rows = []
    for r, rule in enumerate(t.findall("rule"), 1):
        cells: list[Any] = []
        entries, results = rule.findall("inputEntry"), rule.findall("outputEntry")
        if len(entries) != len(inputs) or len(results) != len(outs):
            imp.refuse(rule, f"decision {name!r}, rule {r}: {len(entries)} input entries and "
                       f"{len(results)} output entries for {len(inputs)} inputs and "
                       f"{len(outs)} outputs")
            continue
        for k, entry in enumerate(entries, 1):
            where, cell = _entry(entry)
            try:
                cells.append(unary_test(cell, "feel"))
            except Refused as exc:
                imp.refuse(where, f"decision {name!r}, rule {r}, input {k}: {exc.message}: "
                           f"{cell!r}",
                           "cells are -, literals, comparisons, intervals, lists and not(...)")
        ranked = dict(values)
        for k, entry in enumerate(results, 1):
            where, cell = _entry(entry)
            value = _output_value(cell, where, imp, f"decision {name!r}, rule {r}, output {k}")
            allowed = ranked.get(outputs[k - 1].column)
            if allowed is not None and not any(_same(value, x) for x in allowed):
                imp.refuse(where, f"decision {name!r}, rule {r}, output {k}: {cell!r} is not "
                           f"one of the output values of {outputs[k - 1].source!r}",
                           "output values: " + ", ".join(map(repr, allowed)))
            cells.append(value)
        rows.append(tuple(cells))
    if len(imp.diags) > before:
        return None
    return ImportedTable(
        rule=rule_id(name, "decision"), description=f"DMN decision {name!r} "
        f"({imp.source}:{d.line}:{d.col}), hit policy {policy}"
        + (f" {t.attrs['aggregation']}" if "aggregation" in t.attrs else ""),
        hit=hit, inputs=tuple(inputs), outputs=tuple(outputs), result=result,
        rows=tuple(rows), default=tuple(default) if any(x is not None for x in default)
        else None, output_values=tuple(values),
        comments=(f"DMN decision {name!r} -> {result}",))
