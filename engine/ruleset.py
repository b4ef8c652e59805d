"""Checking and compiling a rule set directory (SPEC sections 1, 2 and 4).

In: a directory. Out: `check_dir(path)` gives the `Model`, every diagnostic sorted by place, and
whether any is an error (`check` and `load` in engine/__init__.py build on it). One pass reads
the files (keeping positions: engine/yamlload.py, engine/loading.py), validates each against
its published JSON Schema (engine/schema.py), checks names, phases, actions and every
expression, orders the packs (engine/plan.py), and compiles as it goes: checking an expression
is compiling it, so nothing is parsed twice and evaluation never parses. Raises nothing for the
rule set's mistakes: they are diagnostics.

The non-obvious choice: the `Checker` is also the compiler's context that every action's
constructor gets (its `c`): `c.expr`, `c.condition`, `c.template` and `c.need` compile and
report at once, so a new action checks its own parameters where it reads them.
"""
from __future__ import annotations

import csv
import datetime
import hashlib
import json
import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from .actions import ACTIONS
from .diagnostics import Code, Diagnostic, Diagnostics, Span
from .expressions import Expr, Scope, compile_expr
from .promising.checks import check_promising
from .loading import MAX_FILE, digest_of, read_csv, ruleset_files, table_of
from .model import PHASES, PRICED_PHASES, ROOT_NAMES, Model, Pack, Rule
from .output_values import output_ranks
from .plan import plan
from .pricing import MAX_PLACES, minor_unit
from .schema import schema, validate
from .tables import AGGREGATES, CellError, CompiledTable, analyse, build_fast, column_kinds, \
    parse_cell
from .values import render
from .yamlload import Node, YamlError, load_text
from .checks import run_checks
from .check_refdata import unreadable

__all__ = ["PHASES", "Checker", "Model", "Pack", "Rule", "check_dir", "digest_of", "read_csv",
           "ruleset_files", "schema", "table_of"]


# --- the checker/compiler ------------------------------------------------------------------------

class Checker:
    def __init__(self, root: Path):
        self.root = root
        self.pack_reads: set[str] = set()  # tables read by the pack being checked
        self.diags = Diagnostics()
        self.model = Model()
        # the rule being checked: the names it sees, whether it works per line, reads pricing
        self.scope = Scope(frozenset(ROOT_NAMES), frozenset())
        self.for_each = False
        self.reads_pricing = False
        self.nodes: dict[str, Node] = {}  # each file's YAML, and every expression compiled
        self.seen: list[tuple[str, Span, int, Scope]] = []  # for engine/checks.py
        self.broken: set[str] = set()  # reference tables that could not be read

    # helpers the actions call (their `c`)
    def need(self, node: Node, key: str) -> Node | None:
        child = node.get(key) if node.kind == "map" else None
        if child is None:
            self.diags.error(Code.SCHEMA, node.span, f"missing '{key}'")
        return child

    def expr(self, node: Node | None, allow_it: bool = False, condition: bool = False) -> Expr:
        fallback = Expr("", lambda S, X: None)
        if node is None:
            return fallback
        if node.kind != "scalar":
            self.diags.error(Code.SCHEMA, node.span, "expects an expression, not a "
                             f"{'list' if node.kind == 'seq' else 'mapping'}",
                             "quote an expression holding [, ], {, } or a comma")
            return fallback
        scope = self.scope if not allow_it else Scope(self.scope.names | {"it"},
                                                         self.scope.tables)
        self.seen.append((node.text, node.span, 1 if node.quoted else 0, scope))
        e = compile_expr(node.text, node.span, scope, self.diags, 1 if node.quoted else 0,
                         allow_it=allow_it, condition=condition, tables=self.model.tables)
        if e is not None:
            self.reads_pricing = self.reads_pricing or e.reads_pricing
            self.pack_reads |= e.tables
        return e or fallback

    def condition(self, node: Node, what: str | None = None) -> Expr:
        """A `when`: a YAML boolean or an expression compiled as a condition; a condition that
        is always false is a warning naming `what` (a rule) when given."""
        if node.value is True or node.value is False:
            const = node.value
            when = Expr(node.text, lambda S, X: const, True, const)
        else:
            when = self.expr(node, condition=True)
        if what and when.constant and not when.value and when.text:
            self.diags.warning(Code.NEVER_FIRES, node.span, f"{what} can never fire: its "
                               "condition is always false")
        return when

    def template(self, node: Node | None) -> Callable[[Any], str]:
        if node is None or node.kind != "scalar":
            if node is not None:
                self.diags.error(Code.SCHEMA, node.span, "expects a text")
            return lambda st: ""
        text = render(node.value) if not node.quoted else node.text
        offset = 1 if node.quoted else 0
        parts: list[Any] = []
        pos = 0
        for m in re.finditer(r"\{([^{}]*)\}", text):
            if m.start() > pos:
                parts.append(text[pos:m.start()])
            self.seen.append((m.group(1), node.span, offset + m.start(1), self.scope))
            e = compile_expr(m.group(1), node.span, self.scope, self.diags,
                             offset + m.start(1), tables=self.model.tables)
            if e is not None:
                self.reads_pricing = self.reads_pricing or e.reads_pricing
                self.pack_reads |= e.tables
                parts.append(e)
            pos = m.end()
        if pos < len(text):
            parts.append(text[pos:])
        return _template_fn(parts)

    # reading
    def read(self, rel: str, path: Path) -> Node | None:
        try:
            data = path.read_bytes()
            if len(data) > MAX_FILE:
                self.diags.error(Code.LIMIT, Span(rel), f"file larger than {MAX_FILE} bytes")
                return None
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.diags.error(Code.YAML_ERROR, Span(rel), f"not UTF-8: {exc.reason} at byte "
                             f"{exc.start}")
            return None
        self.model.sources[rel] = text.splitlines()
        try:
            node = load_text(text, rel)
            if node is not None:
                self.nodes[rel] = node
            return node
        except YamlError as exc:
            self.diags.error(Code(exc.code), exc.span, exc.message, exc.hint)
            return None

    def validate(self, node: Node, name: str) -> bool:
        return validate(node, name, self.diags)

    # the rule set
    def run(self) -> Model:
        root = self.root
        manifest = root / "ruleset.yaml"
        if not root.is_dir():
            self.diags.error(Code.MANIFEST, Span(str(root)), "not a directory")
            return self.model
        if not manifest.is_file():
            self.diags.error(Code.MANIFEST, Span("ruleset.yaml"), "missing ruleset.yaml",
                             "a rule set is a directory with a ruleset.yaml manifest")
            return self.model
        node = self.read("ruleset.yaml", manifest)
        if node is not None and self.validate(node, "ruleset"):
            self.model.name = node.value["ruleset"].value
            v = node.get("version")
            self.model.version = render(v.value) if v is not None else ""
            d = node.get("description")
            self.model.description = render(d.value) if d is not None else ""
        elif node is None and "ruleset.yaml" in self.model.sources:
            self.diags.error(Code.MANIFEST, Span("ruleset.yaml"), "ruleset.yaml is empty")
        files = ruleset_files(root)
        for rel, path in files:
            if rel.startswith("reference/"):
                self.reference(rel, path)
        self.currencies()
        self.diags.items += check_promising(lambda rel: (root / rel).read_text("utf-8-sig") if (
            root / rel).is_file() else None, self.model.tables, self.model.sources)
        self.scope = Scope(frozenset(ROOT_NAMES), frozenset(self.model.tables))
        for rel, path in files:
            if rel.endswith((".yaml", ".yml")) and rel != "ruleset.yaml" \
                    and not rel.startswith("reference/"):
                if rel.startswith("processes/"):  # a kind of its own (docs/orchestration.md)
                    from .processes import check_process
                    proc = check_process(self, rel, self.read(rel, path))
                    if proc is not None:
                        self.model.processes.append(proc)
                    continue
                if rel.startswith("models/"):  # configuration models (docs/configurator.md)
                    from .configurator import check_model
                    self.config_model(check_model(self, rel, self.read(rel, path)))
                    continue
                self.pack(rel, path)
        self.model.plan = plan(self.model.packs, self.diags)
        return self.model

    def config_model(self, cm: Any) -> None:
        if cm is not None and cm.id in self.model.configs:
            self.diags.error(Code.DUPLICATE_ID, cm.span, f"a second model '{cm.id}' (first in "
                             f"{self.model.configs[cm.id].file})")
        elif cm is not None:
            self.model.configs[cm.id] = cm

    def reference(self, rel: str, path: Path) -> None:
        name = Path(rel).stem
        if "/" in rel[len("reference/"):] or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            if rel.endswith((".csv", ".yaml", ".yml", ".json")):
                self.diags.warning(Code.REFERENCE, Span(rel), "not read as a reference table: "
                                   "tables are reference/NAME.csv|yaml|json with NAME a name")
            return
        if name in self.model.tables:
            self.diags.error(Code.DUPLICATE_ID, Span(rel), f"a second reference table '{name}'")
            return
        try:
            if rel.endswith(".csv"):
                table = read_csv(name, path.read_text("utf-8-sig"))
            elif rel.endswith((".yaml", ".yml")):
                node = self.read(rel, path)
                if node is None:
                    return
                table = table_of(name, node.plain())
            elif rel.endswith(".json"):
                table = table_of(name, json.loads(path.read_text("utf-8"),
                                                  parse_float=Decimal, parse_int=Decimal))
            else:
                return
        except (ValueError, UnicodeDecodeError, csv.Error) as exc:
            unreadable(self, name, rel, path, exc)  # located; no follow-on errors
            return
        self.model.tables[name] = table
        self.model.table_digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()

    def currencies(self) -> None:
        """The `currencies` table overrides ISO 4217 minor units (pricing.minor_unit_table):
        a `minor_unit` it gives must be a whole number of places."""
        table = self.model.tables.get("currencies")
        if table is None:
            return
        rel = next((f"reference/currencies.{ext}" for ext in ("csv", "yaml", "yml", "json")
                    if (self.root / f"reference/currencies.{ext}").is_file()),
                   "reference/currencies.csv")
        lines = (self.root / rel).read_text("utf-8-sig").splitlines()
        for row in table.rows:
            v = row.get("minor_unit") if isinstance(row, dict) else None
            if v is None or minor_unit(row) is not None:
                continue
            code = render(row.get("code"))
            line = next((n for n, text in enumerate(lines, 1)
                         if text.startswith(code + ",")), 1)
            self.diags.error(Code.REFERENCE, Span(rel, line), f"minor_unit of {code!r} must "
                             f"be a whole number from 0 to {MAX_PLACES}, not {render(v)!r}",
                             "leave the cell empty for ISO 4217's minor unit (2 when it has "
                             "none)")

    def pack(self, rel: str, path: Path) -> None:
        self.pack_reads = set()
        node = self.read(rel, path)
        if node is None:
            if not "".join(self.model.sources.get(rel, ["x"])).strip():
                self.diags.warning(Code.SCHEMA, Span(rel), "empty file: no pack")
            return
        phase_node = node.get("phase")
        if phase_node is not None and phase_node.value == "events":  # engine/events.py
            from .events import check_event_pack
            epack = check_event_pack(self, rel, node)
            if epack is not None:
                self.model.event_packs.append(epack)
            return
        if not self.validate(node, "pack"):
            return
        v = node.value
        pid, phase = v["pack"].value, v["phase"].value
        if any(p.id == pid for p in self.model.packs):
            other = next(p for p in self.model.packs if p.id == pid)
            self.diags.error(Code.DUPLICATE_ID, v["pack"].span, f"pack id '{pid}' is also "
                             f"used by {other.file}")
            return
        eff = node.get("effective")
        dates = {}
        for key in ("from", "until"):
            dn = eff.get(key) if eff is not None else None
            if dn is not None:
                try:
                    dates[key] = datetime.date.fromisoformat(dn.value)
                except ValueError:
                    self.diags.error(Code.BAD_VALUE, dn.span, f"{dn.value!r} is not a date")
        if eff is not None and "from" in dates and "until" in dates \
                and dates["from"] > dates["until"]:
            self.diags.warning(Code.NEVER_FIRES, eff.span, "the effective window is empty: "
                               "'from' is after 'until'")
        after = [n.value for n in v["after"].value] if "after" in v else []
        enabled = v["enabled"].value if "enabled" in v else True
        pack = Pack(pid, phase, rel, node.span, after, enabled, dates.get("from"),
                    dates.get("until"), [], render(v["description"].value)
                    if "description" in v else "",
                    [n.span for n in v["after"].value] if "after" in v else [])
        ids: dict[str, Span] = {}
        rules: list[Rule] = []
        for i, rnode in enumerate(v["rules"].value):
            rule = self.rule(pack, rnode, i)
            if rule is None:
                continue
            rid = rule.qid.split("/", 1)[1]
            if rid in ids:
                self.diags.error(Code.DUPLICATE_ID, rnode.value["id"].span, f"rule id '{rid}' is "
                                 f"used twice in pack '{pid}' (first at line {ids[rid].line})")
            ids[rid] = rnode.span
            rules.append(rule)
        rules.sort(key=lambda r: -r.priority)  # stable: equal priorities keep file order
        self.model.packs.append(replace(pack, rules=rules,
                                        digest=hashlib.sha256(path.read_bytes()).hexdigest(),
                                        tables_read=frozenset(self.pack_reads)))

    def rule(self, pack: Pack, node: Node, index: int) -> Rule | None:
        v = node.value
        rid = v["id"].value
        for_each = "for_each" in v
        names = set(ROOT_NAMES)
        if pack.phase in PRICED_PHASES:
            names.add("pricing")
        if for_each:
            names.add("line")
        self.scope = Scope(frozenset(names), frozenset(self.model.tables))
        self.for_each = for_each
        self.reads_pricing = False
        when = table = None
        if "when" in v and "table" in v:
            self.diags.error(Code.SCHEMA, v["table"].span, "a rule has a when or a table, "
                             "not both")
        if "when" in v:
            when = self.condition(v["when"], f"rule '{rid}'")
        if "table" in v:
            table = self.table(v["table"])
            if table is not None and table.outputs:
                self.scope = Scope(self.scope.names | frozenset(table.outputs),
                                   self.scope.tables)
        actions = []
        for anode in (v["then"].value if "then" in v else []):
            (name, pnode), = anode.value.items()
            kind = ACTIONS[name]
            if pack.phase not in kind.phases:
                self.diags.error(Code.WRONG_PHASE, anode.span, f"'{name}' is not an action of "
                                 f"the {pack.phase} phase (it belongs to "
                                 f"{' and '.join(kind.phases)})",
                                 f"actions of {pack.phase}: " + ", ".join(
                                     n for n, k in ACTIONS.items() if pack.phase in k.phases))
                continue
            if kind.per_line is True and not for_each:
                self.diags.error(Code.SCHEMA, anode.span, f"'{name}' works on a line: add "
                                 "for_each: line to the rule")
                continue
            actions.append(kind.cls(pnode, self))
        priority = v["priority"].value if "priority" in v else Decimal(0)
        return Rule(f"{pack.id}/{rid}", node.span, for_each, Decimal(priority),
                    bool(v["stop"].value) if "stop" in v else False, when, table, actions,
                    self.reads_pricing, render(v["description"].value)
                    if "description" in v else "")

    def table(self, node: Node) -> CompiledTable | None:
        v = node.value
        hit = v["hit"].value if "hit" in v else "unique"
        inputs = [self.expr(n) for n in v["inputs"].value]
        outputs = [n.value for n in v["outputs"].value]
        ncols, nout = len(inputs), len(outputs)
        if hit in AGGREGATES and nout != 1:
            self.diags.error(Code.TABLE_SHAPE, v["outputs"].span, f"hit policy {hit} needs "
                             f"exactly one output, not {nout}")
        for o in outputs:
            if o in self.scope.names or o == "it":
                self.diags.error(Code.TABLE_SHAPE, v["outputs"].span, f"output name '{o}' "
                                 "hides a name of the language; choose another")
        rows, spans, ok = [], [], True
        for rnode in v["rows"].value:
            cells = rnode.value
            if len(cells) != ncols + nout:
                self.diags.error(Code.TABLE_SHAPE, rnode.span, f"a row has {len(cells)} cells; "
                                 f"this table needs {ncols} inputs + {nout} outputs = "
                                 f"{ncols + nout}")
                ok = False
                continue
            tests = []
            for c in cells[:ncols]:
                try:
                    tests.append(parse_cell(c.value if not c.quoted else c.text))
                except CellError as exc:
                    self.diags.error(Code.BAD_CELL, c.span, f"bad cell: {exc}",
                                     "cells are -, a value, < 10, [1..10), a list A, B or "
                                     "not(...)")
                    ok = False
            rows.append((tests, [self.output(c) for c in cells[ncols:]]))
            spans.append(rnode.span)
        default = None
        if "default" in v:
            dn = v["default"]
            if len(dn.value) != nout:
                self.diags.error(Code.TABLE_SHAPE, dn.span, f"default has {len(dn.value)} "
                                 f"values; the table has {nout} outputs")
            default = [self.output(c) for c in dn.value]
        ranks = output_ranks(v, hit, outputs, ncols, self.diags)
        if not ok:
            return None
        table = CompiledTable(hit, inputs, outputs, rows, default,
                              column_kinds([r[0] for r in rows], ncols),
                              build_fast([r[0] for r in rows], ncols, hit), node.span, ranks)
        analyse(table, spans, self.diags)
        if not rows and default is None:
            self.diags.warning(Code.NEVER_FIRES, node.span, "a table with no rows and no "
                               "default never fires")
        return table

    def output(self, cell: Node) -> Any:
        """An output cell: a literal YAML value, or an expression after '='."""
        value = cell.value
        if not (isinstance(value, str) and value.startswith("=")):
            return value
        self.seen.append((value[1:], cell.span, (1 if cell.quoted else 0) + 1, self.scope))
        e = compile_expr(value[1:], cell.span, self.scope, self.diags,
                         (1 if cell.quoted else 0) + 1, tables=self.model.tables)
        if e is None:
            return Expr("", lambda S, X: None)
        self.reads_pricing = self.reads_pricing or e.reads_pricing
        self.pack_reads |= e.tables
        return e

def _template_fn(parts: list[Any]) -> Callable[[Any], str]:
    """A text with `{EXPR}` parts as one function (the common shapes without a loop)."""
    if all(isinstance(p, str) for p in parts):
        const = "".join(parts)
        return lambda st: const
    if len(parts) == 1:
        (e,) = parts
        return lambda st: render(e.fn(st.S, st))
    if len(parts) == 2 and isinstance(parts[0], str):
        head, e = parts
        return lambda st: head + render(e.fn(st.S, st))
    if len(parts) == 2:
        e, tail = parts
        if isinstance(tail, str):
            return lambda st: render(e.fn(st.S, st)) + tail
    if len(parts) == 3 and isinstance(parts[0], str) and isinstance(parts[2], str):
        head, e, tail = parts
        return lambda st: head + render(e.fn(st.S, st)) + tail
    if len(parts) == 5 and all(isinstance(p, str) for p in parts[::2]):
        a, e1, b, e2, c = parts
        return lambda st: a + render(e1.fn(st.S, st)) + b + render(e2.fn(st.S, st)) + c
    return lambda st: "".join([p if p.__class__ is str else render(p.fn(st.S, st))
                               for p in parts])


def check_dir(path: str | Path) -> tuple[Model, list[Diagnostic], bool]:
    checker = Checker(Path(path))
    model = checker.run()
    run_checks(checker)
    return model, checker.diags.sorted(model.sources), checker.diags.has_errors


