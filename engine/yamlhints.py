"""Friendlier YAML errors: libyaml's raw message turned into what the analyst did, with a hint.

In: the text of the file, the place libyaml stopped (1-based line and column) and its raw
message. Out: `(message, hint)`; the raw message stays at the end of the message in brackets,
so nothing libyaml said is lost. Pure: no I/O.

The mistakes recognised, most specific first (each looks only at the line the error is on and
the lines just above it):
- a tab in the indentation (YAML indents with spaces only);
- an expression that starts with a quoted text (`when: "gold" in customer.tags`): YAML reads the
  quoted part as the whole value and then meets the rest; the fix is to quote the whole
  expression, which the hint writes out;
- `: ` inside a plain value (`message: note: this`): quote the value;
- a key indented more or less than its siblings (mapping values not allowed, did not find
  expected key / '-' indicator, expected <block end>): the hint names the sibling's line and
  column;
- an unclosed `[` or `{` of a flow collection.
"""
from __future__ import annotations

import re

_KEY_QUOTED = re.compile(r"""^(\s*(?:-\s+)?)([A-Za-z_][\w.-]*)(:\s+)(["'])""")
_KEY = re.compile(r"^(\s*(?:-\s+)?)([A-Za-z_][\w.-]*|'[^']*'|\"[^\"]*\")\s*:(\s|$)")
_INDENT_MESSAGES = ("mapping values are not allowed", "did not find expected key",
                    "did not find expected '-' indicator", "expected <block end>")


def _quoted_whole(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quoted_expression(line: str) -> str | None:
    """`KEY: "text" rest` -> the line with the whole value single-quoted, or None."""
    m = _KEY_QUOTED.match(line)
    if m is None:
        return None
    quote = m.group(4)
    start = m.end(3)
    end = line.find(quote, start + 1)
    while end != -1 and quote == '"' and line[end - 1] == "\\":
        end = line.find(quote, end + 1)
    if end == -1 or not line[end + 1:].strip() or line[end + 1:].lstrip().startswith("#"):
        return None
    value = line[start:].rstrip()
    return f"{m.group(2)}: {_quoted_whole(value)}"


def _key_col(line: str) -> int | None:
    """The 1-based column of the line's key, when it starts with `KEY:` (after an optional
    `- `)."""
    m = _KEY.match(line)
    return len(m.group(1)) + 1 if m else None


def _sibling(lines: list[str], lineno: int) -> tuple[int, int] | None:
    """The nearest line above `lineno` (1-based) that holds a key: (line, key column)."""
    for n in range(min(lineno - 1, len(lines)), max(0, lineno - 40), -1):
        text = lines[n - 1]
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        col = _key_col(text)
        if col is not None:
            return n, col
    return None


def explain(text: str, line: int, col: int, raw: str) -> tuple[str, str | None]:
    """The message and hint for a YAML error libyaml reported at `line:col` as `raw`."""
    lines = text.splitlines()
    here = lines[line - 1] if 1 <= line <= len(lines) else ""
    tail = f" (YAML: {raw})"
    if "\t" in here[: len(here) - len(here.lstrip())] or (
            "cannot start any token" in raw and "\t" in here):
        at = here.index("\t") + 1
        return ("a tab in the indentation" + tail,
                f"YAML indents with spaces only: replace the tab at column {at} with spaces")
    for n in (line, line - 1):  # libyaml may stop at the start of the next line
        src = lines[n - 1] if 1 <= n <= len(lines) else ""
        fixed = _quoted_expression(src)
        if fixed is not None:
            return (f"line {n}: the value starts with a quoted text and goes on after it; YAML "
                    "reads only the quoted part" + tail,
                    f"quote the whole expression: {fixed.strip()}")
    if "mapping values are not allowed" in raw:
        key = _key_col(here)
        if key is not None and col > key + 1 and ": " in here[col - 2:] + " " \
                and _KEY.match(here) and here.count(": ") > 1:
            m = _KEY.match(here)
            assert m is not None
            value = here[m.end():].strip()
            return ("a value holding ': ' is read as a new key" + tail,
                    f"quote the whole value: {m.group(2)}: {_quoted_whole(value)}")
    if any(raw.startswith(m) for m in _INDENT_MESSAGES):
        key = _key_col(here)
        sib = _sibling(lines, line)
        if key is not None and sib is not None and sib[1] != key:
            return (f"indentation: this key is at column {key}, the key above it (line "
                    f"{sib[0]}) at column {sib[1]}" + tail,
                    "keys of one mapping start at the same column; indent with spaces to "
                    "line it up with its siblings, or under its parent key by two more")
        return ("the YAML structure breaks here" + tail,
                "check the indentation of this line against the lines above it, and quote "
                "values holding ': ', ' #', or starting with a quote, [, {, * or &")
    if "expected ',' or ']'" in raw or "expected ',' or '}'" in raw:
        return ("a [ or { list is not closed, or holds a value that needs quotes" + tail,
                "close the bracket, and quote items holding ': ', ',' or brackets")
    return raw, None
