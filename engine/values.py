"""The value semantics of the expression language, as small functions the compiled code calls.

Values are `None` (null), `bool`, `Decimal` (every number), `str`, `datetime.date`, `list` and
`dict` (objects), plus reference tables (`Table`). Arithmetic on null gives null; an ordering
comparison with null is false; a comparison or operation between values of different kinds is
a `RuleError` (fail closed), except `==`/`!=`, which compare kinds too (a number never equals a
text), and `in`, which is membership and never an error.

Numbers are exact. `+`, `-`, `*`, `%` and unary `-` run in `EXACT`, a decimal context of
EXACT_DIGITS significant digits that traps Inexact: a result that would need more digits is a
located `RuleError`, never a silently rounded value (the default context rounds at 28 digits).
Only `/` rounds: its quotient is correct to DIVISION_DIGITS significant digits, which is why the
exact context is wider than that: a quotient times a rate stays exact. Checking is the trap
itself, so the happy path pays one C call per operation and no test of its own.
"""
from __future__ import annotations

import datetime
from decimal import (ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, DecimalException,
                     DivisionByZero, Inexact, InvalidOperation, Overflow)
from typing import Any

D = Decimal
DATE = datetime.date


EXACT_DIGITS = 100
DIVISION_DIGITS = 28
EXACT = Context(prec=EXACT_DIGITS, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999,
                traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
DIVISION = Context(prec=DIVISION_DIGITS, rounding=ROUND_HALF_EVEN, Emax=999_999,
                   Emin=-999_999, traps=[InvalidOperation, DivisionByZero, Overflow])
# rounding half up to a number of places (`HALF_UP.quantize(x, exp)`): the default context
# (28 digits, its traps) with ROUND_HALF_UP, so a result is what `x.quantize(exp,
# rounding=ROUND_HALF_UP)` gives there; a context's method takes its arguments by position,
# which costs half the keyword's parsing (issue 16: a decision rounds some thirty amounts)
HALF_UP = Context(prec=28, rounding=ROUND_HALF_UP, Emax=999_999, Emin=-999_999,
                  traps=[InvalidOperation, DivisionByZero, Overflow])
# the default context itself, for its methods by position (`DEFAULT.normalize(x)` is
# `x.normalize()`, which parses an optional keyword argument)
DEFAULT = Context(prec=28, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999,
                  traps=[InvalidOperation, DivisionByZero, Overflow])
_EXACT_ADD, _EXACT_SUB, _EXACT_MUL = EXACT.add, EXACT.subtract, EXACT.multiply
_EXACT_MINUS, _EXACT_REM = EXACT.minus, EXACT.remainder
_DIVIDE = DIVISION.divide


# the largest amount, price or rate a pricing action takes (engine/pricing.py `number`)
AMOUNT_LIMIT = Decimal("1e15")


class RuleError(Exception):
    """An error while evaluating a rule; becomes an entry of the decision's `errors`.
    `where` (FILE:LINE:COL) is the place in the rule set when it is more precise than the
    rule itself (an operator of an expression)."""

    def __init__(self, message: str, code: str = "RULE_ERROR", where: str | None = None):
        self.code = code
        self.message = message
        self.where = where
        super().__init__(message)


def _inexact(op: str, a: Any, b: Any, exc: DecimalException, where: str | None) -> RuleError:
    what = f"{show(a)} {op} {show(b)}" if b is not None else f"{op}{show(a)}"
    if isinstance(exc, Inexact):
        return RuleError(f"{what} needs more than {EXACT_DIGITS} significant digits: it cannot "
                         "be computed exactly", where=where)
    return RuleError(f"{what} is out of range ({exc.__class__.__name__})", where=where)


class Table:
    """A reference table: rows in file order, indexed by the key column (first by default)."""

    __slots__ = ("name", "rows", "key", "index", "values")

    def __init__(self, name: str, rows: list[Any], key: str | None):
        self.name = name
        self.rows = rows
        self.key = key
        self.index: dict[Any, Any] = {}
        if key is not None:
            for row in rows:
                if isinstance(row, dict):
                    k = row.get(key)
                    for form in _key_forms(k):
                        self.index.setdefault(form, row)
        # a plain list of values (`ref.embargoed`) is also usable with `in`
        self.values = rows

    def lookup(self, k: Any) -> Any:
        if k.__class__ is str:
            return self.index.get(k)
        for form in _key_forms(k):
            row = self.index.get(form)
            if row is not None:
                return row
        return None

    def __len__(self) -> int:
        return len(self.rows)


def _key_forms(k: Any) -> tuple[Any, ...]:
    if k is None or k.__class__ is bool:
        return ()
    if k.__class__ is D:
        return (("n", k), format(k, "f"))
    if k.__class__ is str:
        return (k,)
    return (str(k),)


def kind(v: Any) -> str:
    if v is None:
        return "null"
    c: type = v.__class__
    if c is bool:
        return "boolean"
    if c is D:
        return "number"
    if c is str:
        return "text"
    if c is DATE:
        return "date"
    if c is list or isinstance(v, Table):
        return "list"
    if c is dict or isinstance(v, LazyObject):
        return "object"
    return c.__name__


def _mismatch(op: str, a: Any, b: Any, where: str | None = None) -> RuleError:
    return RuleError(f"cannot apply '{op}' to {kind(a)} {show(a)} and {kind(b)} {show(b)}",
                     where=where)


def show(v: Any) -> str:
    if v is None:
        return "null"
    if v.__class__ is str:
        return repr(v) if len(v) < 40 else repr(v[:37] + "...")
    if v.__class__ is D:
        return format(v, "f")
    if v.__class__ is bool:
        return "true" if v else "false"
    if v.__class__ is DATE:
        return v.isoformat()
    return kind(v)


# --- paths -------------------------------------------------------------------------------

class LazyObject:
    """An object of the language whose fields are computed when first read (the running
    `pricing` views: a rule that may read them need not pay for them when it does not)."""

    __slots__ = ()

    def get(self, key: str) -> Any:  # pragma: no cover - every subclass defines it
        raise NotImplementedError


def get(o: Any, k: str) -> Any:
    if o.__class__ is dict:
        return o.get(k)
    if isinstance(o, RefTables):
        return o.tables.get(k)
    if isinstance(o, LazyObject):
        return o.get(k)
    return None


def index(o: Any, k: Any) -> Any:
    c = o.__class__
    if c is list:
        if k.__class__ is D and k == k.to_integral_value() and 0 <= k < len(o):
            return o[int(k)]
        return None
    if c is dict:
        return o.get(k) if k.__class__ is str else None
    if c is Table:
        return o.lookup(k)
    if c is RefTables:
        return o.tables.get(k) if k.__class__ is str else None
    if isinstance(o, LazyObject):
        return o.get(k) if k.__class__ is str else None
    return None


class RefTables:
    """`ref`: the reference tables by name."""

    __slots__ = ("tables",)

    def __init__(self, tables: dict[str, Table]):
        self.tables = tables


# --- arithmetic ----------------------------------------------------------------------------

# Each operation takes `where`, the operator's FILE:LINE:COL, for the error it may raise.

def add(a: Any, b: Any, where: str | None = None) -> Any:
    ca, cb = a.__class__, b.__class__
    if ca is D and cb is D:
        try:
            return _EXACT_ADD(a, b)
        except DecimalException as exc:
            raise _inexact("+", a, b, exc, where) from None
    if a is None or b is None:
        return None
    if ca is str and cb is str:
        return a + b
    raise _mismatch("+", a, b, where)


def _num(op: str, a: Any, b: Any, where: str | None) -> None:
    if a.__class__ is not D or b.__class__ is not D:
        raise _mismatch(op, a, b, where)


def sub(a: Any, b: Any, where: str | None = None) -> Any:
    if a.__class__ is D and b.__class__ is D:
        try:
            return _EXACT_SUB(a, b)
        except DecimalException as exc:
            raise _inexact("-", a, b, exc, where) from None
    if a is None or b is None:
        return None
    raise _mismatch("-", a, b, where)


def mul(a: Any, b: Any, where: str | None = None) -> Any:
    if a.__class__ is D and b.__class__ is D:
        try:
            return _EXACT_MUL(a, b)
        except DecimalException as exc:
            raise _inexact("*", a, b, exc, where) from None
    if a is None or b is None:
        return None
    raise _mismatch("*", a, b, where)


def div(a: Any, b: Any, where: str | None = None) -> Any:
    """The quotient, correct to DIVISION_DIGITS significant digits (the one rounding
    operation of the language)."""
    if a is None or b is None:
        return None
    _num("/", a, b, where)
    if not b:
        raise RuleError(f"division by zero: {show(a)} / 0", where=where)
    try:
        return _DIVIDE(a, b)
    except DecimalException as exc:
        raise _inexact("/", a, b, exc, where) from None


def mod(a: Any, b: Any, where: str | None = None) -> Any:
    if a is None or b is None:
        return None
    _num("%", a, b, where)
    if not b:
        raise RuleError(f"division by zero: {show(a)} % 0", where=where)
    try:
        return _EXACT_REM(a, b)
    except DecimalException as exc:
        raise _inexact("%", a, b, exc, where) from None


def neg(a: Any, where: str | None = None) -> Any:
    if a is None:
        return None
    if a.__class__ is not D:
        raise RuleError(f"cannot negate {kind(a)} {show(a)}", where=where)
    try:
        return _EXACT_MINUS(a)
    except DecimalException as exc:
        raise _inexact("-", a, None, exc, where) from None


# --- comparison ----------------------------------------------------------------------------

_ORDERED = (D, str, DATE)


def _ordered(op: str, a: Any, b: Any) -> bool:
    ca = a.__class__
    if ca is not b.__class__ or ca not in _ORDERED:
        raise _mismatch(op, a, b)
    return True


def lt(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    return _ordered("<", a, b) and a < b


def le(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    return _ordered("<=", a, b) and a <= b


def gt(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    return _ordered(">", a, b) and a > b


def ge(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    return _ordered(">=", a, b) and a >= b


def eq(a: Any, b: Any) -> bool:
    ca, cb = a.__class__, b.__class__
    if ca is cb:
        if ca is list:
            return len(a) == len(b) and all(eq(x, y) for x, y in zip(a, b))
        return bool(a == b)
    if (ca is DATE and cb is str) or (ca is str and cb is DATE):
        raise RuleError(f"cannot compare date {show(a)} with text {show(b)}: convert the text "
                        "with date(...)")
    return False


def ne(a: Any, b: Any) -> bool:
    return not eq(a, b)


def member(a: Any, b: Any) -> bool:
    c = b.__class__
    if c is list:
        ca = a.__class__
        for x in b:
            if x.__class__ is ca and x == a:
                return True
        return False
    if c is Table:
        if b.key is None:
            return member(a, b.rows)
        return b.lookup(a) is not None
    if c is str:
        return a.__class__ is str and a in b
    if c is dict:
        return a.__class__ is str and a in b
    return False


def not_member(a: Any, b: Any) -> bool:
    return not member(a, b)


def truthy(v: Any) -> bool:
    return bool(v) if v is not None else False


# --- rendering inside texts ---------------------------------------------------------------

def render(v: Any) -> str:
    """A value as written in the decision JSON: plain numbers, ISO dates, true/false, null empty."""
    if v is None:
        return ""
    c = v.__class__
    if c is str:
        text: str = v  # the class was checked by identity (faster than isinstance here)
        return text
    if c is D:
        return format(v, "f")
    if c is bool:
        return "true" if v else "false"
    if c is DATE:
        day: datetime.date = v
        return day.isoformat()
    if c is list:
        return ", ".join(render(x) for x in v)
    if c is Table:
        table: Table = v
        return table.name
    return str(v)


# --- aggregates over lists (sum, count, any, all compile to comprehensions over these) ------

def items(v: Any, fn: str) -> list[Any]:
    if v is None:
        return []
    if v.__class__ is list:
        return v
    if v.__class__ is Table:
        rows: list[Any] = v.rows
        return rows
    raise RuleError(f"{fn}() needs a list, got {kind(v)} {show(v)}")


def sum_of(values: list[Any]) -> Decimal:
    total = D(0)
    for v in values:
        if v is None:
            continue
        if v.__class__ is not D:
            raise RuleError(f"sum() needs numbers, got {kind(v)} {show(v)}")
        try:
            total = _EXACT_ADD(total, v)
        except DecimalException as exc:
            raise _inexact("+", total, v, exc, None) from None
    return total


def count_of(values: list[Any]) -> Decimal:
    """How many are true: truthy(v) is bool(v) (None is falsy), so `filter` tests them in C
    (as the builtins any and all do for those functions)."""
    return D(len(list(filter(None, values))))


def written_alike(a: Any, b: Any) -> bool:
    """Whether two values equal by `==` are also written alike: Decimal 0.10 == 0.1, true == 1
    and dicts with the same entries in another order are equal, yet each pair renders
    differently (in a decision, in a message). Parts that are the same object are skipped: a
    copy shares its texts and numbers with the original."""
    c = a.__class__
    if c is not b.__class__:
        return False
    if c is dict:
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            if ka != kb or (va is not vb and not written_alike(va, vb)):
                return False
        return True
    if c is list:
        for va, vb in zip(a, b):
            if va is not vb and not written_alike(va, vb):
                return False
        return True
    if c is D:
        return str(a) == str(b)  # the digits and the exponent, as rendered
    return True
