"""FEEL (DMN) and ZEN (GoRules JDM) cells and expressions, translated to the rule language.

In: the text of one decision-table cell or expression, the dialect (`"feel"` or `"zen"`) and,
for expressions, a function that turns a name path (`Applicant.Age`) into an order path.
Out: the text of an Ordinance cell (SPEC section 2: `-`, literals, comparisons, ranges, lists,
`not(...)`) or expression (section 3); or `Refused(message, offset)` when the text says
something the language does not say the same way.

The translation is by tokens, never by regular-expression rewriting of the whole text, and it
only carries over what means the same on both sides: literals (numbers, strings, booleans,
null, `date("YYYY-MM-DD")`), comparisons, intervals, lists, `not(...)`, arithmetic and the
few functions with the same meaning (ZEN's `date`, `len`, `upper`, `lower`, `abs`). A name
inside a unary test (FEEL's input reference, ZEN's `$`) is refused: our cells are literal tests
and a bare word in them is text. Differences that remain (FEEL gives null where we raise a
rule error, for a string compared with a number) are documented in docs/importing.md.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Callable

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<num>\d[\d_]*(?:\.\d+)?|\.\d+)
  | (?P<range>\.\.)
  | (?P<op><=|>=|==|!=|<|>|=|\+|-|\*|/|%)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[()\[\],.])
""", re.X)

_FUNCTIONS = {"feel": {"date"}, "zen": {"date", "len", "upper", "lower", "abs"}}
_WORDS = {"true", "false", "null", "and", "or", "not"}
_KEYWORDS = {"if", "for", "some", "every", "function", "instance", "between"}
MAX_CELL = 2000  # characters: a cell longer than this is refused, not translated


class Refused(Exception):
    """A cell or expression that cannot be carried over; `offset` is 0-based in its text."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Tok:
    kind: str  # str | num | range | op | name | punct | bad | end
    text: str
    at: int
    value: object = None


def tokens(text: str, dialect: str) -> list[Tok]:
    if len(text) > MAX_CELL:
        raise Refused(f"longer than {MAX_CELL} characters")
    out, i = [], 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            ch = text[i]
            what = {"$": "a reference to the input ($)", "#": "a closure variable (#)",
                    "?": "a reference to the input (?)", "{": "a context",
                    "@": "a temporal literal (@)"}.get(ch, f"{ch!r}")
            # reported when the parser reaches it, so that what comes first is named first
            out.append(Tok("bad", ch, i, f"{what} has no equivalent in the rule language"))
            i += 1
            continue
        kind = m.lastgroup or ""
        if kind != "ws":
            t = m.group()
            value: object = None
            if kind == "str":
                if t[0] == "'" and dialect == "feel":
                    raise Refused("FEEL strings are written in double quotes", i)
                if "\\" in t:
                    raise Refused("escapes inside strings are not carried over", i)
                value = t[1:-1]
            elif kind == "num":
                if "_" in t and dialect == "feel":
                    raise Refused(f"{t!r} is not a FEEL number", i)
                try:
                    value = Decimal(t.replace("_", ""))
                except InvalidOperation:  # pragma: no cover - the pattern admits numbers only
                    raise Refused(f"{t!r} is not a number", i) from None
            out.append(Tok(kind, t, i, value))
        i = m.end()
    out.append(Tok("end", "", len(text)))
    return out


def _quote(s: str, at: int) -> str:
    if '"' not in s:
        return f'"{s}"'
    if "'" not in s:
        return f"'{s}'"
    raise Refused("a string holding both quote characters is not carried over", at)


def _number(d: Decimal) -> str:
    return format(d, "f")


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Reader:
    def __init__(self, text: str, dialect: str) -> None:
        self.toks = tokens(text, dialect)
        self.i = 0
        self.dialect = dialect

    @property
    def tok(self) -> Tok:
        t = self.toks[self.i]
        if t.kind == "bad":  # whatever the parser wanted here, this is why it cannot have it
            raise Refused(str(t.value), t.at)
        return t

    def called(self) -> str | None:
        """The function name when the names from here on are followed by '(' (FEEL names may
        hold spaces: `string length(x)`), else None."""
        j = self.i
        while self.toks[j].kind == "name" and self.toks[j].text not in _WORDS:
            j += 1
        if j > self.i and self.toks[j].text == "(" and self.toks[j].kind == "punct":
            return " ".join(t.text for t in self.toks[self.i:j])
        return None

    def take(self) -> Tok:
        t = self.toks[self.i]
        if t.kind == "bad":
            raise Refused(str(t.value), t.at)
        self.i += 1
        return t

    def done(self) -> None:
        t = self.tok  # a bad token explains itself
        if t.kind != "end":
            raise Refused(f"unexpected {t.text!r}", t.at)

    def expect(self, text: str) -> Tok:
        t = self.take()
        if t.text != text:
            raise Refused(f"expected {text!r}, found {t.text or 'the end'!r}", t.at)
        return t

    def is_(self, text: str) -> bool:
        return self.tok.text == text and self.tok.kind != "str"


# --- unary tests -----------------------------------------------------------------------------

def unary_test(text: str, dialect: str = "feel") -> str:
    """The Ordinance cell for a FEEL/ZEN unary-test cell, or Refused."""
    if not text.strip() or text.strip() == "-":
        return "-"
    r = _Reader(text, dialect)
    out = _tests(r)
    r.done()
    return out


def _tests(r: _Reader) -> str:
    items = [_test(r)]
    while r.is_(","):
        r.take()
        items.append(_test(r))
    return ", ".join(items)


def _test(r: _Reader) -> str:
    t = r.tok
    if t.kind == "name" and t.text == "not" and r.toks[r.i + 1].text == "(":
        r.take()
        r.take()
        inner = _tests(r)
        r.expect(")")
        return f"not({inner})"
    if t.kind == "op" and t.text in ("<", "<=", ">", ">=", "=", "==", "!="):
        first = _comparison(r)
        if r.is_("and") and r.dialect == "zen":
            and_at = r.take().at
            second = _comparison(r)
            return _conjunction(first, second, and_at)
        op, value = first
        return f"{'==' if op == '=' else op} {value}"
    if t.text in ("[", "(", "]") and t.kind == "punct":
        return _interval(r)
    return _literal(r)


def _comparison(r: _Reader) -> tuple[str, str]:
    op = r.take().text
    at = r.tok.at
    value = _literal(r)
    if op not in ("=", "==", "!=") and value in ("true", "false", "null"):
        raise Refused(f"'{op}' compares numbers, dates or strings, not {value}", at)
    return op, value


def _conjunction(a: tuple[str, str], b: tuple[str, str], at: int) -> str:
    lows = {">": "(", ">=": "["}
    highs = {"<": ")", "<=": "]"}
    if a[0] in highs and b[0] in lows:
        a, b = b, a
    if a[0] in lows and b[0] in highs:
        return f"{lows[a[0]]}{a[1]}..{b[1]}{highs[b[0]]}"
    raise Refused("'and' joins a lower and an upper bound only (it becomes a range)", at)


def _interval(r: _Reader) -> str:
    open_ = r.take().text
    lo = _literal(r)
    r.expect("..")
    hi = _literal(r)
    close = r.take()
    if close.text not in ("]", ")", "["):
        raise Refused("an interval ends with ], ) or [", close.at)
    left = "[" if open_ == "[" else "("
    right = "]" if close.text == "]" else ")"
    return f"{left}{lo}..{hi}{right}"


def _literal(r: _Reader) -> str:
    t = r.take()
    if t.kind == "str":
        return _quote(str(t.value), t.at)
    if t.kind == "num":
        return _number(t.value)  # type: ignore[arg-type]
    if t.kind == "op" and t.text == "-" and r.tok.kind == "num":
        return _number(-r.take().value)  # type: ignore[operator]
    if t.kind == "name" and t.text in ("true", "false", "null"):
        return t.text
    if t.kind == "name" and t.text == "date" and r.is_("("):
        r.take()
        s = r.take()
        if s.kind != "str" or not _DATE.match(str(s.value)):
            raise Refused("date(...) is carried over with a literal \"YYYY-MM-DD\" only", s.at)
        r.expect(")")
        return str(s.value)
    called = _called_at(r, r.i - 1) if t.kind == "name" else None
    if called is not None:
        raise Refused(f"the function {called}(...) is not carried over into a cell", t.at)
    if t.kind == "name":
        raise Refused(f"the name {t.text!r} refers to a value; a rule-language cell tests "
                      "literals only", t.at)
    raise Refused(f"unexpected {t.text or 'end'!r}", t.at)


# --- literals and expressions (output entries, input expressions) -----------------------------

NOT_LITERAL = object()


def literal_value(text: str, dialect: str = "feel") -> object:
    """The value of a literal (number, string, boolean, null, -number), or NOT_LITERAL."""
    try:
        toks = tokens(text, dialect)
    except Refused:
        return NOT_LITERAL
    if any(t.kind == "bad" for t in toks):
        return NOT_LITERAL
    neg = len(toks) == 3 and toks[0].text == "-" and toks[0].kind == "op"
    body = toks[1:] if neg else toks
    if len(body) != 2:
        return NOT_LITERAL
    t = body[0]
    if t.kind == "num":
        return -t.value if neg else t.value  # type: ignore[operator]
    if neg:
        return NOT_LITERAL
    if t.kind == "str" and "\\" not in t.text:
        return t.value
    if t.kind == "name" and t.text in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[t.text]
    return NOT_LITERAL


def literal_list(text: str, dialect: str = "feel") -> list[object] | None:
    """The values of a comma-separated list of literals (DMN outputValues), or None."""
    values = []
    for part in _split_top(text):
        v = literal_value(part, dialect)
        if v is NOT_LITERAL:
            return None
        values.append(v)
    return values


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    quote = ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == ",":
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return parts


Resolve = Callable[[str], "str | None"]


def expression(text: str, resolve: Resolve, dialect: str = "feel") -> str:
    """The Ordinance expression for a FEEL/ZEN expression, or Refused. `resolve` maps a name
    path to an order path (None: unknown name)."""
    if not text.strip():
        raise Refused("an empty expression")
    r = _Reader(text, dialect)
    out = _expr(r, resolve)
    r.done()
    return out


_BINARY = {"+", "-", "*", "/", "%", "<", "<=", ">", ">=", "=", "==", "!=", "and", "or"}


def _expr(r: _Reader, resolve: Resolve) -> str:
    parts = [_operand(r, resolve)]
    while (r.tok.kind == "op" and r.tok.text in _BINARY) or \
            (r.tok.kind == "name" and r.tok.text in ("and", "or")):
        op = r.take().text
        parts.append("==" if op == "=" else op)
        parts.append(_operand(r, resolve))
    return " ".join(parts)


def _operand(r: _Reader, resolve: Resolve) -> str:
    t = r.tok
    if t.kind == "op" and t.text == "-":
        r.take()
        return "-" + _operand(r, resolve)
    if t.kind == "name" and t.text == "not" and r.dialect == "zen":
        r.take()
        return "not " + _operand(r, resolve)
    if t.kind == "punct" and t.text == "(":
        r.take()
        inner = _expr(r, resolve)
        r.expect(")")
        return f"({inner})"
    if t.kind == "punct" and t.text == "[":
        r.take()
        items = []
        if not r.is_("]"):
            items.append(_expr(r, resolve))
            while r.is_(","):
                r.take()
                items.append(_expr(r, resolve))
        r.expect("]")
        return "[" + ", ".join(items) + "]"
    if t.kind in ("str", "num") or (t.kind == "name" and t.text in ("true", "false", "null")):
        return _literal(r)
    if t.kind == "name" and t.text in _KEYWORDS:
        raise Refused(f"FEEL '{t.text}' expressions are not carried over", t.at)
    called = r.called() if t.kind == "name" else None
    if called is not None:
        if called not in _FUNCTIONS[r.dialect]:
            raise Refused(f"the function {called}(...) is not carried over", t.at)
        if t.text == "date" and r.toks[r.i + 2].kind == "str":
            lit = _literal(r)
            return f'date("{lit}")'
        r.take()
        r.take()
        arg = _expr(r, resolve)
        r.expect(")")
        return f"{t.text}({arg})"
    if t.kind == "name" and t.text not in _WORDS:
        return _path(r, resolve)
    raise Refused(f"unexpected {t.text or 'end'!r}", t.at)


def _called_at(r: _Reader, i: int) -> str | None:
    saved, r.i = r.i, i
    try:
        return r.called()
    finally:
        r.i = saved


def _path(r: _Reader, resolve: Resolve) -> str:
    """A name path. FEEL names may hold spaces (`Order Total`): the longest run of words that
    names something known is the name."""
    first = r.tok
    words = []
    j = r.i
    while r.toks[j].kind == "name" and r.toks[j].text not in _WORDS:
        words.append(r.toks[j].text)
        j += 1
    for k in range(len(words), 0, -1):
        if k == 1 or resolve(" ".join(words[:k])) is not None:
            break
    r.i += k
    names = [" ".join(words[:k])]
    while r.is_(".") and r.toks[r.i + 1].kind == "name":
        r.take()
        names.append(r.take().text)
    if r.is_("[") or r.is_("."):
        raise Refused("indexing and filters are not carried over", r.tok.at)
    if r.tok.kind == "name" and r.tok.text not in _WORDS:
        raise Refused(f"unknown name {' '.join(words)!r} (a name with spaces must be an input "
                      "or decision of the model, or be given with --map)", first.at)
    path = resolve(".".join(names))
    if path is None:
        raise Refused(f"unknown name {'.'.join(names)!r}", first.at)
    return path
