"""Reading YAML with a position on every node, by the YAML 1.2 core schema.

In: the text of one file and its name relative to the rule set.
Out: a tree of `Node` (map, seq or scalar), each with its `Span`; scalars keep their resolved
value, their source text and whether they were quoted (an action parameter is an expression
written as YAML text, so `percent: 5` and `percent: "5"` both compile the text `5`).
Raises: `YamlError` with a span for a syntax error, a duplicate key or a structure too large.

Why our own resolution: PyYAML resolves YAML 1.1 (`NO`, `on`, `yes` become booleans, dates
become dates, and of two duplicate keys the last silently wins). We let libyaml compose the node
graph (fast, with marks) and resolve plain scalars ourselves by the 1.2 core schema.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml

from .diagnostics import Span
from .yamlhints import explain

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml is present on every supported platform
    _Loader = yaml.SafeLoader

MAX_NODES = 1_000_000

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")


class YamlError(Exception):
    def __init__(self, span: Span, message: str, code: str = "YAML_ERROR",
                 hint: str | None = None):
        self.span = span
        self.message = message
        self.code = code
        self.hint = hint
        super().__init__(f"{span}: {message}")


@dataclass(frozen=True)
class Node:
    kind: str  # "map" | "seq" | "scalar"
    span: Span
    value: Any = None  # dict[str, Node] | list[Node] | resolved scalar
    text: str = ""  # a scalar's source text (after YAML unquoting)
    quoted: bool = False
    key_spans: dict[str, Span] = field(default_factory=dict)

    def get(self, key: str) -> "Node | None":
        if self.kind != "map":
            return None
        node: Node | None = self.value.get(key)
        return node

    def plain(self) -> Any:
        """The node as plain Python data (for JSON Schema and reference tables)."""
        if self.kind == "map":
            return {k: v.plain() for k, v in self.value.items()}
        if self.kind == "seq":
            return [v.plain() for v in self.value]
        return self.value


def resolve_plain(text: str) -> Any:
    """YAML 1.2 core schema resolution of a plain (unquoted) scalar; numbers become Decimal."""
    if _NULL.match(text):
        return None
    if _BOOL.match(text):
        return text.lower() == "true"
    if _INT.match(text) or _FLOAT.match(text):
        return Decimal(text)
    if _OCT.match(text):
        return Decimal(int(text[2:], 8))
    if _HEX.match(text):
        return Decimal(int(text[2:], 16))
    return text


class _Converter:
    def __init__(self, file: str):
        self.file = file
        self.count = 0
        self.seen: dict[int, tuple[Node, int]] = {}  # aliases: a node converted once, sized

    def span(self, node: yaml.Node) -> Span:
        mark = node.start_mark
        return Span(self.file, mark.line + 1, mark.column + 1)

    def convert(self, node: yaml.Node) -> Node:
        known = self.seen.get(id(node))
        if known is not None:  # an alias: shared, but counted as expanded (alias bombs)
            self.count += known[1]
            self._limit(node)
            return known[0]
        start = self.count
        out = self._convert(node)
        self.seen[id(node)] = (out, self.count - start)
        return out

    def _limit(self, node: yaml.Node) -> None:
        if self.count > MAX_NODES:
            raise YamlError(self.span(node), f"more than {MAX_NODES} YAML nodes (aliases expanded)",
                            "LIMIT")

    def _convert(self, node: yaml.Node) -> Node:
        self.count += 1
        self._limit(node)
        if isinstance(node, yaml.ScalarNode):
            quoted = node.style in ("'", '"')
            block = node.style in ("|", ">")
            if quoted or block:
                value: Any = node.value
            else:
                value = resolve_plain(node.value)
            return Node("scalar", self.span(node), value, node.value, quoted or block)
        if isinstance(node, yaml.SequenceNode):
            return Node("seq", self.span(node), [self.convert(n) for n in node.value])
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Node] = {}
            key_spans: dict[str, Span] = {}
            for knode, vnode in node.value:
                if not isinstance(knode, yaml.ScalarNode):
                    raise YamlError(self.span(knode), "a mapping key must be a plain value")
                key = knode.value
                if key in out:
                    raise YamlError(self.span(knode), f"duplicate key '{key}' (first at line "
                                    f"{key_spans[key].line})", "DUPLICATE_KEY")
                key_spans[key] = self.span(knode)
                out[key] = self.convert(vnode)
            return Node("map", self.span(node), out, key_spans=key_spans)
        raise YamlError(self.span(node), "unsupported YAML node")  # pragma: no cover


def load_text(text: str, file: str) -> Node | None:
    """Parses one YAML document; None for an empty file."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = Span(file, mark.line + 1, mark.column + 1) if mark else Span(file)
        message, hint = explain(text, span.line, span.col,
                                f"{exc.problem or exc.context or 'invalid YAML'}")
        raise YamlError(span, message, hint=hint) from None
    except yaml.YAMLError as exc:
        raise YamlError(Span(file), f"invalid YAML: {exc}") from None
    if root is None:
        return None
    return _Converter(file).convert(root)
