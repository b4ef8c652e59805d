"""The expression language's syntax (SPEC section 3): its grammar, its tree, and `parse`.

In: the text of one expression. Out: its syntax tree, `N` nodes (kind, offset of the node in
the text, children, value), each keeping its position so that every later diagnostic and
run-time error can point at the operator or name it is about. Raises `ExprSyntaxError(pos,
message, hint)` for text that is not an expression (too long, unexpected character or token,
too deeply nested); engine/expressions.py turns it into a located PARSE_ERROR diagnostic.

The non-obvious choice: lark's LALR parser (one table, built once at import) rather than a
hand-written recursive descent: the grammar below is the whole syntax, readable in one place,
and lark reports the offending character or token with its offset and what was expected, which
become the hints (`compare with '==', not '='`). The tree is plain `N` nodes, not lark's: the
checker and code generator then depend on nothing of lark's.
"""
from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NoReturn

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from .parse_hints import unclosed, word_hint

MAX_LENGTH = 4000

GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr | or_expr "or" and_expr -> or_
?and_expr: not_expr | and_expr "and" not_expr -> and_
?not_expr: comparison | "not" not_expr -> not_
?comparison: sum
    | sum COMP_OP sum -> compare
    | sum "in" sum -> in_
    | sum "not" "in" sum -> not_in
?sum: product | sum ADD_OP product -> binop
?product: unary | product MUL_OP unary -> binop
?unary: postfix | "-" unary -> neg
?postfix: atom
    | postfix "." NAME -> getattr
    | postfix "[" or_expr "]" -> getitem
?atom: NUMBER -> number
    | STRING -> string
    | "true" -> true
    | "false" -> false
    | "null" -> null
    | NAME -> name
    | NAME "(" [args] ")" -> call
    | "[" [args] "]" -> list
    | "(" or_expr ")"
args: or_expr ("," or_expr)*
COMP_OP: "==" | "!=" | "<=" | ">=" | "<" | ">"
ADD_OP: "+" | "-"
MUL_OP: "*" | "/" | "%"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /[0-9]+(\.[0-9]+)?/
STRING: /"(?:[^"\\\n]|\\.)*"/ | /'(?:[^'\\\n]|\\.)*'/
%ignore /[ \t\r\n]+/
"""

_PARSER = Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=True)

_TOKEN_NAMES = {
    "COMP_OP": "a comparison", "ADD_OP": "'+' or '-'", "MUL_OP": "'*', '/' or '%'",
    "NAME": "a name", "NUMBER": "a number", "STRING": "a text", "RPAR": "')'", "LPAR": "'('",
    "RSQB": "']'", "LSQB": "'['", "COMMA": "','", "DOT": "'.'", "$END": "the end",
    "MINUS": "'-'", "NOT": "'not'", "TRUE": "true", "FALSE": "false", "NULL": "null",
}


# --- syntax tree ---------------------------------------------------------------------------

@dataclass(frozen=True)
class N:
    kind: str  # lit list name get index call neg not and or cmp in notin arith
    pos: int
    args: list[Any] = field(default_factory=list)
    value: Any = None  # literal value, name, key, operator or function name


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def _unquote(tok: str) -> str:
    body = tok[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


# what lark hands each method: a rule's children (nodes, tokens, None for an absent optional);
# named here because the method `list` (the grammar's rule) hides the builtin in the class
_Children = list[Any]
_Tokens = list[Token]


def _at(tok: Token) -> int:
    """A token's offset (lark types it optional; tokens of a parsed text always have it)."""
    return tok.start_pos or 0


@v_args(meta=True)
class _Build(Transformer[Token, N]):
    def _pos(self, meta: Any) -> int:
        return int(getattr(meta, "start_pos", 0) or 0)

    def number(self, meta: Any, c: _Tokens) -> N:
        return N("lit", _at(c[0]), value=Decimal(str(c[0])))

    def string(self, meta: Any, c: _Tokens) -> N:
        return N("lit", _at(c[0]), value=_unquote(str(c[0])))

    def true(self, meta: Any, c: _Children) -> N:
        return N("lit", self._pos(meta), value=True)

    def false(self, meta: Any, c: _Children) -> N:
        return N("lit", self._pos(meta), value=False)

    def null(self, meta: Any, c: _Children) -> N:
        return N("lit", self._pos(meta), value=None)

    def name(self, meta: Any, c: _Tokens) -> N:
        return N("name", _at(c[0]), value=str(c[0]))

    def getattr(self, meta: Any, c: _Children) -> N:
        return N("get", _at(c[1]), [c[0]], value=str(c[1]))

    def getitem(self, meta: Any, c: _Children) -> N:
        return N("index", self._pos(meta), [c[0], c[1]])

    def call(self, meta: Any, c: _Children) -> N:
        return N("call", _at(c[0]), list(c[1] or []), value=str(c[0]))

    def list(self, meta: Any, c: _Children) -> N:
        return N("list", self._pos(meta), list(c[0] or []))

    def args(self, meta: Any, c: _Children) -> _Children:
        return list(c)

    def neg(self, meta: Any, c: _Children) -> N:
        if c[0].kind == "lit" and isinstance(c[0].value, Decimal):
            return N("lit", self._pos(meta), value=-c[0].value)
        return N("neg", self._pos(meta), [c[0]])

    def not_(self, meta: Any, c: _Children) -> N:
        return N("not", self._pos(meta), [c[0]])

    def and_(self, meta: Any, c: _Children) -> N:
        return N("and", self._pos(meta), [c[0], c[1]])

    def or_(self, meta: Any, c: _Children) -> N:
        return N("or", self._pos(meta), [c[0], c[1]])

    def compare(self, meta: Any, c: _Children) -> N:
        return N("cmp", _at(c[1]), [c[0], c[2]], value=str(c[1]))

    def in_(self, meta: Any, c: _Children) -> N:
        return N("in", self._pos(meta), [c[0], c[1]])

    def not_in(self, meta: Any, c: _Children) -> N:
        return N("notin", self._pos(meta), [c[0], c[1]])

    def binop(self, meta: Any, c: _Children) -> N:
        return N("arith", _at(c[1]), [c[0], c[2]], value=str(c[1]))


_BUILD = _Build()


class ExprSyntaxError(Exception):
    def __init__(self, pos: int, message: str, hint: str | None = None):
        self.pos, self.message, self.hint = pos, message, hint
        super().__init__(message)


def _too_early(text: str) -> NoReturn:
    """Raises the error of a text that ends too early: at its unclosed bracket, if any."""
    at = unclosed(text)
    if at is not None:
        close = ")" if text[at] == "(" else "]"
        raise ExprSyntaxError(at, f"this {text[at]!r} is never closed",
                              f"add {close!r} where it should end")
    raise ExprSyntaxError(len(text), "the expression ends too early")


@lru_cache(maxsize=4096)  # pure; the checks of engine/checks.py parse each text again
def parse(text: str) -> N:
    if len(text) > MAX_LENGTH:
        raise ExprSyntaxError(0, f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = _PARSER.parse(text)
        return _BUILD.transform(tree)
    except UnexpectedCharacters as exc:
        at = exc.pos_in_stream or 0  # typed optional; the lexer always sets it
        ch = text[at] if at < len(text) else ""
        hint = None
        if ch in "{}":
            hint = "braces are for texts with {EXPR} inside (code, message, reason), not here"
        elif ch == "=":
            hint = "compare with '==', not '='"
        elif ch in "&|":
            hint = "write 'and' / 'or'"
        elif ch in ")]" and unclosed(text[:at]) is None:
            hint = "no bracket is open here: remove it, or open one before"
        raise ExprSyntaxError(at, f"unexpected character {ch!r}", hint) from None
    except UnexpectedEOF:
        _too_early(text)
    except UnexpectedInput as exc:
        tok = getattr(exc, "token", None)
        pos = getattr(tok, "start_pos", None)
        if pos is None:
            pos = getattr(exc, "pos_in_stream", 0) or 0
        if tok is not None and tok.type == "$END":
            _too_early(text)
        expected = sorted({_TOKEN_NAMES.get(e, repr(e.lower()) if e.isupper() else e)
                           for e in (getattr(exc, "expected", None) or [])})
        hint = word_hint(str(tok)) or (("expected " + ", ".join(expected[:6])) if expected
                                       else None)
        opened = unclosed(text[:int(pos)]) if str(tok) in (")", "]") else None
        if opened is not None and text[opened] + str(tok) not in ("()", "[]"):
            hint = (f"the {text[opened]!r} at character {opened + 1} is still open: close it "
                    f"with {')' if text[opened] == '(' else ']'!r} first")
        raise ExprSyntaxError(int(pos), f"unexpected {str(tok)!r}", hint) from None
    except (RecursionError, LarkError) as exc:
        raise ExprSyntaxError(0, f"expression too deeply nested or invalid: "
                              f"{exc.__class__.__name__}") from None
