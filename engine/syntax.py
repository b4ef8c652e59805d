"""The expression language's syntax (SPEC section 3): its grammar, its tree, and `parse`.

In: the text of one expression. Out: its syntax tree, `N` nodes (kind, offset of the node in
the text, children, value), each keeping its position so that every later diagnostic and
run-time error can point at the operator or name it is about. Raises `ExprSyntaxError(pos,
message, hint)` for text that is not an expression (too long, unexpected character or token,
too deeply nested); engine/expressions.py turns it into a located PARSE_ERROR diagnostic.

The non-obvious choice: lark's LALR parser (one table, built once, when the first expression
is parsed: engine/syntax_lark.py, so a rule set loaded from the cache never loads lark) rather than a
hand-written recursive descent: the grammar below is the whole syntax, readable in one place,
and lark reports the offending character or token with its offset and what was expected, which
become the hints (`compare with '==', not '='`). The tree is plain `N` nodes, not lark's: the
checker and code generator then depend on nothing of lark's.
"""
from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Any, NoReturn


from .parse_hints import unclosed

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
    from .syntax_lark import parse_text

    return parse_text(text)
