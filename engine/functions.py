"""The functions of the expression language: one registry entry each.

An entry (name, arity, whether its second argument is evaluated per element with `it`, doc,
example, implementation) drives the checker (unknown names, arity), the compiler, and the
generated reference page `docs/reference-generated.md`. A new function is one `@function` here.
Implementations receive evaluated values (and, for `it` functions, a callable) plus the
evaluation context as first argument, and raise `RuleError` for a misuse.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Callable

from . import screening
from . import values as V
from .budget import spend
from .values import DATE, D, RuleError, Table, kind, render, show

MAX_REGEX = 300  # characters of a pattern
MAX_REGEX_PROGRAM = 5000  # instructions of its compiled RE2 program
MAX_REGEX_MEMORY = 8 << 20  # bytes RE2 may use for one pattern (its DFA falls back past it)
MAX_MATCHED = 10_000  # characters of a text that `matches` reads


@dataclass(frozen=True)
class Function:
    name: str
    min_args: int
    max_args: int | None  # None: any number
    impl: Callable[..., Any]
    doc: str
    example: str  # an expression
    result: str  # the example's value rendered as in a decision
    lambda_arg: int | None = None  # index of the argument evaluated per element with `it`
    table_arg: int | None = None  # index of an argument that must name a reference table


FUNCTIONS: dict[str, Function] = {}


def function(name: str, min_args: int, max_args: int | None, doc: str, example: str,
             result: str, lambda_arg: int | None = None,
             table_arg: int | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        FUNCTIONS[name] = Function(name, min_args, max_args, impl, doc, example, result,
                                   lambda_arg, table_arg)
        return impl
    return register


def _text(fn: str, v: Any) -> str:
    if v.__class__ is not str:
        raise RuleError(f"{fn}() needs a text, got {kind(v)} {show(v)}")
    return v


def _number(fn: str, v: Any) -> Decimal:
    if v.__class__ is not D:
        raise RuleError(f"{fn}() needs a number, got {kind(v)} {show(v)}")
    return v


def _date(fn: str, v: Any) -> datetime.date:
    if v.__class__ is DATE:
        return v
    raise RuleError(f"{fn}() needs a date, got {kind(v)} {show(v)}; convert text with date(...)")


@function("len", 1, 1, "Number of characters of a text, items of a list or keys of an object; "
          "0 for null.", 'len("abc")', "3")
def _len(ctx: Any, x: Any) -> Decimal:
    if x is None:
        return D(0)
    if x.__class__ in (str, list, dict) or x.__class__ is Table:
        return D(len(x))
    raise RuleError(f"len() needs a text or a list, got {kind(x)} {show(x)}")


@function("lower", 1, 1, "The text in lower case; null stays null.", 'lower("EDI")', "edi")
def _lower(ctx: Any, s: Any) -> Any:
    return None if s is None else _text("lower", s).lower()


@function("upper", 1, 1, "The text in upper case; null stays null.", 'upper("de")', "DE")
def _upper(ctx: Any, s: Any) -> Any:
    return None if s is None else _text("upper", s).upper()


@function("trim", 1, 1, "The text without leading and trailing spaces.", 'trim("  A-1 ")', "A-1")
def _trim(ctx: Any, s: Any) -> Any:
    return None if s is None else _text("trim", s).strip()


@function("contains", 2, 2, "Whether the text contains the part (false for null).",
          'contains("Acme Trading", "Trad")', "true")
def _contains(ctx: Any, s: Any, part: Any) -> bool:
    if s is None or part is None:
        return False
    return _text("contains", part) in _text("contains", s)


@function("startswith", 2, 2, "Whether the text starts with the prefix (false for null).",
          'startswith("SVC-100", "SVC-")', "true")
def _startswith(ctx: Any, s: Any, p: Any) -> bool:
    if s is None or p is None:
        return False
    return _text("startswith", s).startswith(_text("startswith", p))


@function("endswith", 2, 2, "Whether the text ends with the suffix (false for null).",
          'endswith("report.pdf", ".pdf")', "true")
def _endswith(ctx: Any, s: Any, p: Any) -> bool:
    if s is None or p is None:
        return False
    return _text("endswith", s).endswith(_text("endswith", p))


class RegexRefused(ValueError):
    """A pattern `matches` will not run: `code` is a diagnostic code (BAD_VALUE, LIMIT,
    UNSUPPORTED_REGEX) and `hint` says what to write instead."""

    def __init__(self, message: str, code: str, hint: str | None = None):
        super().__init__(message)
        self.code, self.hint = code, hint


# RE2 matches in time linear in the text, whatever the pattern (no backtracking); it has no
# backreferences, lookaround, atomic groups or possessive quantifiers. Patterns that Python's
# `re` accepts but RE2 does not are refused with a hint instead of running in another dialect.
# re2 is imported on the first pattern compiled (a decision that matches nothing, or a start
# from the compiled cache, does not load it: issue 16).
_UNSUPPORTED = (
    (re.compile(r"\\[1-9]|\(\?P="), "a backreference (\\1, (?P=name))",
     "RE2 runs in linear time and has no backreferences: compare the two parts with == in "
     "the expression instead"),
    (re.compile(r"\(\?<?[=!]"), "a lookahead or lookbehind ((?=...), (?!...), (?<=...), (?<!...))",
     "RE2 has no lookaround: match the text with one pattern and test the other condition "
     "with a second matches(...) or not matches(...)"),
    (re.compile(r"\(\?>|[*+?}]\+"), "an atomic group or a possessive quantifier",
     "RE2 never backtracks, so (?>...) and *+ ++ ?+ are not needed: drop them"),
    (re.compile(r"\\Z"), "\\Z", "write \\z (end of text) instead of \\Z"),
)
_REGEX_CACHE: dict[str, Any] = {}
# `matches` answers by (pattern, text) for a short text: a pure function of the two, and
# pyre2's search is mostly Python (the text encoded, a match object built), several times the
# cost of a dict look-up; postal codes, VAT numbers and ids repeat across orders. Only a
# pattern RE2 accepted is ever answered (a refused one raises before), and the cache is
# bounded like the others.
_MATCHED: dict[tuple[str, str], bool] = {}
_MATCHED_MAX = 50_000
_MATCHED_TEXT = 100


def _refusal(pattern: str, re2_message: str) -> tuple[str, str, str | None]:
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"invalid regular expression: {exc}", "BAD_VALUE", None
    for probe, what, hint in _UNSUPPORTED:
        if probe.search(pattern):
            return (f"regular expression uses {what}, which RE2 does not support",
                    "UNSUPPORTED_REGEX", hint)
    if "repetition size" in re2_message:
        return (f"regular expression repeats more than 1000 times ({re2_message})",
                "UNSUPPORTED_REGEX", "RE2 allows counts up to {1000}, nested counts "
                "multiplied: match a shorter piece, or test len(...)")
    return (f"regular expression not supported by RE2: {re2_message}", "UNSUPPORTED_REGEX",
            "the dialect is RE2's: see docs/rule-language.md, 'Regular expressions'")


def compile_regex(pattern: str) -> Any:
    """Compiles a pattern once with RE2; raises RegexRefused for a pattern that is invalid,
    unsupported by RE2, longer than MAX_REGEX characters or compiles to more than
    MAX_REGEX_PROGRAM instructions. Refusals are kept too: a computed pattern that fails
    fails fast on the next line."""
    cached = _REGEX_CACHE.get(pattern)
    if cached is None:
        cached = _compile_regex(pattern)
        if len(_REGEX_CACHE) < 1000:
            _REGEX_CACHE[pattern] = cached
    if cached.__class__ is tuple:
        raise RegexRefused(*cached)  # a fresh exception: a raised one keeps its traceback
    return cached


def _compile_regex(pattern: str) -> Any:
    """The compiled pattern, or why it is refused: (message, code, hint)."""
    if len(pattern) > MAX_REGEX:
        return (f"regular expression longer than {MAX_REGEX} characters", "LIMIT",
                "test a shorter pattern, or split the test in two")
    import re2  # type: ignore[import-untyped]  # google-re2 ships no type hints

    options = re2.Options()
    options.log_errors = False  # the engine prints nothing: the error is returned
    options.max_mem = MAX_REGEX_MEMORY
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as exc:
        message = exc.args[0] if exc.args else ""
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        return _refusal(pattern, str(message))
    if compiled.programsize > MAX_REGEX_PROGRAM:
        return (f"regular expression too large: it compiles to {compiled.programsize} RE2 "
                f"instructions (at most {MAX_REGEX_PROGRAM})", "LIMIT",
                "large counted repetitions and Unicode classes (\\p{L}) make a program "
                "large: simplify the pattern")
    return compiled


@function("matches", 2, 2, "Whether the text matches the regular expression anywhere (RE2 "
          "syntax, linear time: no backreferences or lookaround; `\\d`, `\\w`, `\\s` are "
          "ASCII; false for null).", 'matches("SO-1001", "^SO-[0-9]+$")', "true")
def _matches(ctx: Any, s: Any, pattern: Any) -> bool:
    if s is None or pattern is None:
        return False
    key = (pattern, s) if s.__class__ is str and pattern.__class__ is str \
        and len(s) <= _MATCHED_TEXT else None
    if key is not None:
        known = _MATCHED.get(key)
        if known is not None:
            return known
    try:
        rx = compile_regex(_text("matches", pattern))
    except RegexRefused as exc:
        raise RuleError(f"matches(): {exc}" + (f"; {exc.hint}" if exc.hint else ""),
                        code="RULE_ERROR" if exc.code == "BAD_VALUE" else "UNSUPPORTED_REGEX") \
            from None
    found = rx.search(_text("matches", s)[:MAX_MATCHED]) is not None
    if key is not None and len(_MATCHED) < _MATCHED_MAX:
        _MATCHED[key] = found
    return found


def quantize(x: Decimal, places: int) -> Decimal:
    try:
        return x.quantize(D(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise RuleError(f"cannot round {show(x)} to {places} places") from None


def _places(fn: str, p: Any) -> int:
    p = _number(fn, p)
    if p != p.to_integral_value() or not -20 <= p <= 20:
        raise RuleError(f"{fn}() needs a whole number of places from -20 to 20, got {show(p)}")
    return int(p)


@function("round", 1, 2, "Rounds half up to the given decimal places (0 by default).",
          "round(2.345, 2)", "2.35")
def _round(ctx: Any, x: Any, places: Any = D(0)) -> Any:
    if x is None:
        return None
    return quantize(_number("round", x), _places("round", places))


@function("floor", 1, 1, "The largest whole number not above x.", "floor(2.7)", "2")
def _floor(ctx: Any, x: Any) -> Any:
    return None if x is None else _number("floor", x).to_integral_value(ROUND_FLOOR)


@function("ceil", 1, 1, "The smallest whole number not below x.", "ceil(2.1)", "3")
def _ceil(ctx: Any, x: Any) -> Any:
    return None if x is None else _number("ceil", x).to_integral_value(ROUND_CEILING)


def _extreme(ctx: Any, fn: str, args: tuple[Any, ...], pick: Callable[..., Any]) -> Any:
    if len(args) == 1 and args[0].__class__ is list:
        spend(ctx, len(args[0]))
        values = list(args[0])
    else:
        values = list(args)
    values = [v for v in values if v is not None]
    if not values:
        return None
    kinds = {v.__class__ for v in values}
    if len(kinds) > 1 or not kinds <= {D, str, DATE}:
        raise RuleError(f"{fn}() needs values of one kind (numbers, texts or dates)")
    return pick(values)


@function("min", 1, None, "The smallest of its arguments (or of one list); nulls are skipped.",
          "min(3, 1, 2)", "1")
def _min(ctx: Any, *args: Any) -> Any:
    return _extreme(ctx, "min", args, min)


@function("max", 1, None, "The largest of its arguments (or of one list); nulls are skipped.",
          "max(3, 1, 2)", "3")
def _max(ctx: Any, *args: Any) -> Any:
    return _extreme(ctx, "max", args, max)


@function("abs", 1, 1, "The absolute value.", "abs(-4.5)", "4.5")
def _abs(ctx: Any, x: Any) -> Any:
    return None if x is None else abs(_number("abs", x))


@function("coalesce", 1, None, "The first argument that is not null.",
          'coalesce(null, "NET15")', "NET15")
def _coalesce(ctx: Any, *args: Any) -> Any:
    for a in args:
        if a is not None:
            return a
    return None


def parse_date(s: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(s[:10])
    except ValueError:
        return None


@function("date", 1, 1, "A date from a text `YYYY-MM-DD` (a longer timestamp keeps its date "
          "part) or a date; null stays null.", 'date("2026-01-31")', "2026-01-31")
def _date_fn(ctx: Any, x: Any) -> Any:
    if x is None or x.__class__ is DATE:
        return x
    if x.__class__ is str:
        d = parse_date(x)
        if d is None:
            raise RuleError(f"date() cannot read {show(x)}: write YYYY-MM-DD")
        return d
    raise RuleError(f"date() needs a text or a date, got {kind(x)} {show(x)}")


@function("today", 0, 0, "The decision's as-of date.", "today()", "the as-of date")
def _today(ctx: Any) -> datetime.date:
    as_of: datetime.date = ctx.as_of
    return as_of


@function("days_between", 2, 2, "Days from a to b (b - a); null if either is null.",
          'days_between(date("2026-11-01"), date("2026-11-20"))', "19")
def _days_between(ctx: Any, a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    return D((_date("days_between", b) - _date("days_between", a)).days)


@function("add_days", 2, 2, "The date n days after d (n may be negative).",
          'add_days(date("2026-11-20"), 10)', "2026-11-30")
def _add_days(ctx: Any, d: Any, n: Any) -> Any:
    if d is None or n is None:
        return None
    n = _number("add_days", n)
    if n != n.to_integral_value() or abs(n) > 1_000_000:
        raise RuleError(f"add_days() needs a whole number of days, got {show(n)}")
    try:
        return _date("add_days", d) + datetime.timedelta(days=int(n))
    except OverflowError:
        raise RuleError("add_days() went past the calendar") from None


@function("year", 1, 1, "The year of a date.", 'year(date("2026-11-20"))', "2026")
def _year(ctx: Any, d: Any) -> Any:
    return None if d is None else D(_date("year", d).year)


@function("month", 1, 1, "The month (1-12) of a date.", 'month(date("2026-11-20"))', "11")
def _month(ctx: Any, d: Any) -> Any:
    return None if d is None else D(_date("month", d).month)


@function("weekday", 1, 1, "The ISO weekday of a date: 1 Monday ... 7 Sunday.",
          'weekday(date("2026-11-20"))', "5")
def _weekday(ctx: Any, d: Any) -> Any:
    return None if d is None else D(_date("weekday", d).isoweekday())


@function("number", 1, 1, "A number from a decimal text or a number; null stays null.",
          'number("12.50")', "12.50")
def _number_fn(ctx: Any, x: Any) -> Any:
    if x is None or x.__class__ is D:
        return x
    if x.__class__ is str:
        try:
            v = D(x.strip())
        except InvalidOperation:
            v = None
        if v is not None and v.is_finite() and len(x) <= 60:
            return v
        raise RuleError(f"number() cannot read {show(x)}")
    raise RuleError(f"number() needs a text, got {kind(x)} {show(x)}")


@function("text", 1, 1, "A value as text, written as in the decision JSON.", "text(12.50)",
          "12.50")
def _text_fn(ctx: Any, x: Any) -> Any:
    return None if x is None else render(x)


# sum, count, any and all compile to comprehensions over values.items (see
# expressions._INLINE_AGGREGATES); these entries drive the checker, the docs and any caller
# that holds a Python callable.
@function("sum", 2, 2, "The sum of `expr` over the list, with `it` the element; nulls skipped.",
          "sum([1, 2, 3], it * 2)", "12", lambda_arg=1)
def _sum(ctx: Any, items: Any, f: Callable[[Any], Any]) -> Decimal:
    return V.sum_of([f(it) for it in V.items(items, "sum")])


@function("count", 2, 2, "How many elements satisfy the condition, with `it` the element.",
          "count([1, 5, 10], it > 2)", "2", lambda_arg=1)
def _count(ctx: Any, items: Any, f: Callable[[Any], Any]) -> Decimal:
    return V.count_of([f(it) for it in V.items(items, "count")])


@function("any", 2, 2, "Whether some element satisfies the condition, with `it` the element.",
          "any([1, 5], it > 2)", "true", lambda_arg=1)
def _any(ctx: Any, items: Any, f: Callable[[Any], Any]) -> bool:
    return any(f(it) for it in V.items(items, "any"))  # truthy(v) is bool(v)


@function("all", 2, 2, "Whether every element satisfies the condition (true for an empty list).",
          "all([1, 5], it > 0)", "true", lambda_arg=1)
def _all(ctx: Any, items: Any, f: Callable[[Any], Any]) -> bool:
    return all(f(it) for it in V.items(items, "all"))


_MEMO_PHASES = frozenset({"validation", "compliance", "pricing", "sourcing", "approval"})


@function("count_by", 2, 2, "An object from each value of `expr` (with `it` the element), "
          "written as text, to how many elements have it; nulls are skipped. Over a list of "
          "the order (`order.lines`), with `expr` reading only `it`, `order`, `customer` and "
          "`ref`, it is computed once per decision after defaulting, so a per-line rule may "
          "look a line up in it: `count_by(order.lines, it.sku)[text(line.sku)] > 1`.",
          'count_by(["A-1", "B-2", "A-1"], it)["A-1"]', "2", lambda_arg=1)
def _count_by(ctx: Any, items: Any, f: Callable[[Any], Any], site: Any = None) -> Any:
    """`site` (from the compiler) marks a call whose result depends only on the list: it is
    kept per decision, keyed by the call and the list (held, so its id is not reused). Only
    defaulting writes the order, so outside it a list the order holds does not change."""
    lst = V.items(items, "count_by")
    memo = getattr(ctx, "memo", None) if site is not None else None
    if memo is not None and getattr(ctx, "phase", "") in _MEMO_PHASES:
        kept = memo.get((site, id(lst)))
        if kept is not None and kept[0] is lst:
            return kept[1]
    else:
        memo = None
    spend(ctx, len(lst))
    counts: dict[str, int] = {}
    for it in lst:
        k = f(it)
        if k is None:
            continue
        k = k if k.__class__ is str else V.render(k)
        counts[k] = counts.get(k, 0) + 1
    out = {k: D(n) for k, n in counts.items()}
    if memo is not None:
        memo[(site, id(lst))] = (lst, out)
    return out


@function("screen", 2, 2, "The best match score (0 to 1) of a name against the `name` and "
          "`aliases` of a reference table (SPEC section 5; docs/design/screening.md).",
          'screen("ACME TRADING, LLC", "denied_parties")', "1", table_arg=1)
def _screen(ctx: Any, text: Any, table: Any) -> Decimal:
    if text is None:
        return D(0)
    return screening.best_score(_text("screen", text), _screened("screen", ctx, table),
                                ctx.screen_cache(table))


@function("screen_match", 2, 2, "The listed row that gives `screen`'s score, as an object: the "
          "row's columns (`name`, `aliases`, `list`, `program`, `source_id`, ...) plus `matched` "
          "(the listed name or alias that matched) and `score`; null when no listed name shares "
          "a word with the text, or for null.",
          'screen_match("ACME TRADING, LLC", "denied_parties").matched', "Acme Trading LLC",
          table_arg=1)
def _screen_match(ctx: Any, text: Any, table: Any) -> Any:
    if text is None:
        return None
    return screening.best_match(_text("screen_match", text),
                                _screened("screen_match", ctx, table), ctx.screen_cache(table))


def _screened(fn: str, ctx: Any, table: Any) -> list[Any]:
    rows = ctx.ref.tables.get(table) if table.__class__ is str else None
    if rows is None:
        raise RuleError(f"{fn}() needs the name of a reference table, got {show(table)}")
    table_rows: list[Any] = rows.rows  # a Table's (ctx.ref is untyped: the State)
    return table_rows
