"""The pack an importer writes: imported tables as values, rendered as pack YAML text.

In: `ImportedTable` values (one per source decision table, in the order they must run) and the
pack's id, phase and source comment lines.
Out: the text of a rule pack (SPEC section 2) in the defaulting phase, each table a rule whose
`then` writes the table's outputs onto the order.

The non-obvious choice is how a table's result lands on the order, so that `ordinance eval`
shows it and a later rule (or a later imported table) can read it:
- a table that gives one row (unique, first, any, priority, collect_sum|min|max|count):
  `set: {RESULT: OUT}` for one output, `set: {RESULT.OUT: OUT, ...}` for several;
- a table that gives every matching row (rule_order, output_order, collect): the language has
  no list append, so each run of `then` counts the rows in `RESULT.count` and writes row k to
  `RESULT.hitK` (`[OUT][RESULT.count - k]` is OUT on the k-th run and null on the others, and
  `default` writes only a missing or null field), giving `{count: 2, hit1: ..., hit2: ...}`.
Every scalar is written as a JSON string or number, which YAML reads back unchanged.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MULTI_HIT = ("rule_order", "output_order", "collect")
_IDENT = re.compile(r"[^A-Za-z0-9_]+")
_RESERVED = {"order", "customer", "line", "ref", "pricing", "it", "and", "or", "not", "in",
             "true", "false", "null"}


def identifier(name: str, fallback: str = "out") -> str:
    """A rule-language name for a source name: other characters become `_`."""
    s = _IDENT.sub("_", name.strip()).strip("_") or fallback
    if s[0].isdigit():
        s = "_" + s
    return s + "_" if s in _RESERVED else s


def segment(name: str) -> str:
    """A field name in a path (`order.SEGMENT`): other characters become `_`."""
    s = _IDENT.sub("_", name.strip()).strip("_") or "_"
    return "_" + s if s[0].isdigit() else s


def path_of(name: str) -> str:
    """The order path for a dotted source name: `Applicant.Age` -> `order.Applicant.Age`."""
    return "order." + ".".join(segment(p) for p in name.split("."))


def rule_id(name: str, fallback: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-._")
    return s or fallback


@dataclass(frozen=True)
class Output:
    column: str  # the table's output name (an identifier)
    path: str  # where a one-row result writes it: order.X or order.X.Y
    source: str  # the name in the source, for the comment


@dataclass(frozen=True)
class ImportedTable:
    rule: str
    description: str
    hit: str
    inputs: tuple[str, ...]  # rule-language expressions
    outputs: tuple[Output, ...]
    result: str  # the order path of the whole result (multi-hit: the slots' parent)
    rows: tuple[tuple[Any, ...], ...]  # input cells (cell text), then output values
    default: tuple[Any, ...] | None = None
    output_values: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    comments: tuple[str, ...] = ()


def quote(s: str) -> str:
    """A YAML double-quoted scalar: JSON's escapes, and every character YAML would not take
    as is (controls, U+0085, U+2028, ...) as a \\u or \\U escape."""
    out = json.dumps(s, ensure_ascii=False)
    return "".join(ch if ch.isprintable() else
                   (f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
                   for ch in out)


def _comment(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def scalar(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, Expr):
        return quote("=" + v.text)
    return quote(str(v))


@dataclass(frozen=True)
class Expr:
    """An output cell that is an expression (rendered after `=`)."""
    text: str


def _flow(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _then(t: ImportedTable) -> list[str]:
    if t.hit not in MULTI_HIT:
        out = ["      - set:"]
        out += [f"          {o.path}: {o.column}" for o in t.outputs]
        return out
    count = f"{t.result}.count"
    out = ["      - set:", f"          {count}: {json.dumps(f'coalesce({count}, 0) + 1')}",
           "      - default:"]
    for k in range(1, max(len(t.rows), 1) + 1):  # at most one hit per row
        for o in t.outputs:
            target = f"{t.result}.hit{k}" + (f".{o.column}" if len(t.outputs) > 1 else "")
            expr = f"[{o.column}][{count} - {k}]"
            out.append(f"          {target}: {json.dumps(expr)}")
    return out


def render(pack: str, source_comments: list[str], description: str,
           tables: list[ImportedTable]) -> str:
    lines = [f"# {_comment(c)}" if c else "#" for c in source_comments]
    lines += ["# yaml-language-server: $schema=https://ordinance.dev/schemas/pack.schema.json",
              f"pack: {pack}", "phase: defaulting", f"description: {quote(description)}",
              "rules:"]
    seen: set[str] = set()
    for t in tables:
        rid, n = t.rule, 1
        while rid in seen:  # two source names that read the same as rule ids
            n += 1
            rid = f"{t.rule}-{n}"
        seen.add(rid)
        lines += [f"  # {_comment(c)}" for c in t.comments]
        lines += [f"  - id: {quote(rid)}", f"    description: {quote(t.description)}",
                  "    table:", f"      hit: {t.hit}",
                  f"      inputs: {_flow([quote(i) for i in t.inputs])}",
                  f"      outputs: {_flow([o.column for o in t.outputs])}"]
        if t.output_values:
            lines.append("      output_values:")
            for name, vals in t.output_values:
                lines.append(f"        {name}: {_flow([scalar(v) for v in vals])}")
        lines.append("      rows:")
        ncols = len(t.inputs)
        for row in t.rows:
            cells = [quote(c) for c in row[:ncols]] + [scalar(v) for v in row[ncols:]]
            lines.append(f"        - {_flow(cells)}")
        if not t.rows:
            lines[-1] = "      rows: []"
        if t.default is not None:
            lines.append(f"      default: {_flow([scalar(v) for v in t.default])}")
        lines.append("    then:")
        lines += _then(t)
    return "\n".join(lines) + "\n"
