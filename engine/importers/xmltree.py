"""A small XML tree with the line and column of every element, read with the standard expat.

In: XML text and the name to report it under. Out: the root `El` (namespace, local name,
attributes, text, children, 1-based line and column), or `XmlRefused(message, line, col)`.

Why expat and not ElementTree: ElementTree keeps no positions, and every refusal of an
importer must name the element's place. Safety: a document type declaration is refused
outright (DMN needs none), so no entity is ever declared or expanded: a "billion laughs"
document stops at its `<!DOCTYPE` line, before any expansion (expat 2.5, the one here, also
caps entity amplification, and expat never loads external entities unless a handler asks,
which none does). Size, element count and nesting depth are capped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from xml.parsers import expat

MAX_BYTES = 20_000_000
MAX_ELEMENTS = 500_000
MAX_DEPTH = 64


class XmlRefused(Exception):
    def __init__(self, message: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message)
        self.message, self.line, self.col = message, line, col


@dataclass
class El:
    ns: str
    tag: str
    attrs: dict[str, str]
    line: int
    col: int
    children: list["El"] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> "El | None":
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list["El"]:
        return [c for c in self.children if c.tag == tag]

    def text_of(self, tag: str) -> str | None:
        """The text of child `tag`'s `<text>` element (DMN's way of holding an expression)."""
        c = self.find(tag)
        if c is None:
            return None
        t = c.find("text")
        return (t.text if t is not None else c.text).strip()


def parse(text: str) -> El:
    if len(text) > MAX_BYTES:
        raise XmlRefused(f"the document is larger than {MAX_BYTES} bytes")
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[El] = []
    root: list[El] = []
    count = [0]

    def where() -> tuple[int, int]:
        return parser.CurrentLineNumber, parser.CurrentColumnNumber + 1

    def doctype(*_: object) -> None:
        raise XmlRefused("a document type declaration (<!DOCTYPE ...>) is refused: DMN needs "
                         "none, and its entities could expand without bound", *where())

    def start(name: str, attrs: dict[str, str]) -> None:
        count[0] += 1
        if count[0] > MAX_ELEMENTS or len(stack) >= MAX_DEPTH:
            raise XmlRefused(f"more than {MAX_ELEMENTS} elements or deeper than {MAX_DEPTH}",
                             *where())
        ns, _, tag = name.rpartition(" ")
        el = El(ns, tag, {k.rpartition(" ")[2]: v for k, v in attrs.items()}, *where())
        (stack[-1].children if stack else root).append(el)
        stack.append(el)

    def end(_: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(text.encode("utf-8"), True)
    except expat.ExpatError as exc:
        raise XmlRefused(f"not well-formed XML: {expat.errors.messages[exc.code]}",
                         exc.lineno, exc.offset + 1) from None
    return root[0]
