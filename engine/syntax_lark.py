"""The lark half of engine/syntax.py: the LALR parser of its grammar and the transformer to `N`
nodes, imported on the first parse (a rule set loaded from the cache parses nothing, and its
start does not pay for lark). `parse_text` raises `ExprSyntaxError` as syntax.parse documents.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from .parse_hints import unclosed, word_hint
from .syntax import GRAMMAR, ExprSyntaxError, N, _too_early, _unquote

_PARSER = Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=True)

_TOKEN_NAMES = {
    "COMP_OP": "a comparison", "ADD_OP": "'+' or '-'", "MUL_OP": "'*', '/' or '%'",
    "NAME": "a name", "NUMBER": "a number", "STRING": "a text", "RPAR": "')'", "LPAR": "'('",
    "RSQB": "']'", "LSQB": "'['", "COMMA": "','", "DOT": "'.'", "$END": "the end",
    "MINUS": "'-'", "NOT": "'not'", "TRUE": "true", "FALSE": "false", "NULL": "null",
}


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


def parse_text(text: str) -> N:
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
