"""Hints for expression syntax errors (engine/syntax.py calls these on its error path only).

`unclosed(text)` finds the bracket an expression that ends too early leaves open, so the error
points at it rather than at the end; `word_hint(word)` names the language's spelling of a word
from other languages (`AND`, `OR`, `NOT`, `=`-less `is`). Pure, no I/O.
"""
from __future__ import annotations

_PAIRS = {"(": ")", "[": "]"}
_WORDS = {"and": "and", "or": "or", "not": "not", "&&": "and", "||": "or",
          "true": "true", "false": "false", "null": "null", "none": "null", "nil": "null"}


def unclosed(text: str) -> int | None:
    """The offset of the innermost bracket still open at the end of `text` (quoted texts
    skipped), or None when every bracket is closed."""
    stack: list[int] = []
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in _PAIRS:
            stack.append(i)
        elif ch in ")]" and stack and _PAIRS[text[stack[-1]]] == ch:
            stack.pop()
        i += 1
    return stack[-1] if stack else None


def word_hint(word: str) -> str | None:
    """A hint for a name met where an operator was expected (`a == 1 AND b == 2`)."""
    low = word.lower()
    if word != low and low in _WORDS:
        return f"write '{_WORDS[low]}' in lower case: the language has no '{word}'"
    if low in ("is", "equals"):
        return "compare with '==' (or '!=')"
    return None
