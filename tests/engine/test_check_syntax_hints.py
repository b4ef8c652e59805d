"""Friendlier YAML and expression syntax errors (issue 15): each common mistake is reported at
its FILE:LINE with a hint, and `ordinance check` prints paths relative to where it runs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinance.engine import check
from ordinance.engine.parse_hints import unclosed
from ordinance.engine.yamlhints import explain
from ordinance.engine.syntax import ExprSyntaxError, parse
from tests.engine.helpers import write_ruleset

EXE = str(Path(sys.executable).with_name("ordinance"))

HEAD = "pack: p\nphase: validation\nrules:\n"


def _only_error(root: Path) -> tuple[str, str]:
    errors = [d for d in check(root) if d.is_error]
    assert len(errors) == 1, [d.render() for d in errors]
    d = errors[0]
    return f"{d.span.file}:{d.span.line}:{d.span.col}: {d.message}", d.hint or ""


def test_an_expression_starting_with_a_quoted_text_says_to_quote_it_whole(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, {"p.yaml": HEAD + '  - id: a\n    when: "gold" in customer.tags\n'
                                  "    then: [{reject: {code: X, message: m}}]\n"})
    where, hint = _only_error(rs)
    assert where.startswith("packs/p.yaml:5:") and "starts with a quoted text" in where
    assert hint == "quote the whole expression: when: '\"gold\" in customer.tags'"


def test_a_tab_in_the_indentation_is_named(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, {"p.yaml": HEAD + "\t- id: a\n"})
    where, hint = _only_error(rs)
    assert where.startswith("packs/p.yaml:4:1: a tab in the indentation")
    assert "spaces" in hint and "column 1" in hint


def test_a_key_out_of_line_names_its_sibling(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, {"p.yaml": HEAD + "  - id: a\n    when: true\n     then: []\n"})
    where, hint = _only_error(rs)
    assert where.startswith("packs/p.yaml:6:")
    assert "indentation: this key is at column 6, the key above it (line 5) at column 5" in where
    assert "mapping values are not allowed" in where  # the raw message is kept
    assert "same column" in hint


def test_a_colon_inside_a_plain_value_says_to_quote_it(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, {"p.yaml": HEAD + '  - id: a\n    when: order.x == "a: b"\n'})
    where, hint = _only_error(rs)
    assert where.startswith("packs/p.yaml:5:") and "': '" in where
    assert hint == "quote the whole value: when: 'order.x == \"a: b\"'"


def test_upper_case_and_or_suggest_the_language_words(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, {"p.yaml": HEAD + "  - id: a\n"
                                  "    when: order.x == 1 AND order.y == 2\n"})
    where, hint = _only_error(rs)
    assert where == "packs/p.yaml:5:24: syntax error: unexpected 'AND'"
    assert hint == "write 'and' in lower case: the language has no 'AND'"
    with pytest.raises(ExprSyntaxError) as caught:
        parse("a OR b")
    assert caught.value.hint is not None and "'or'" in caught.value.hint


def test_an_unclosed_bracket_is_pointed_at(tmp_path: Path) -> None:
    rs = write_ruleset(tmp_path, {"p.yaml": HEAD + "  - id: a\n"
                                  "    when: max(order.x, 1 > 0\n"})
    where, hint = _only_error(rs)
    assert where == "packs/p.yaml:5:14: syntax error: this '(' is never closed"
    assert hint == "add ')' where it should end"
    with pytest.raises(ExprSyntaxError) as caught:
        parse("f(a, [1, 2)")
    assert caught.value.pos == 10
    assert caught.value.hint == "the '[' at character 6 is still open: close it with ']' first"


@pytest.mark.command
def test_check_prints_paths_relative_to_where_it_runs(tmp_path: Path) -> None:
    write_ruleset(tmp_path / "sets" / "r", {"p.yaml": HEAD + "  - id: a\n    when: order.x ==\n"})
    p = subprocess.run([EXE, "check", "sets/r"], capture_output=True, text=True, cwd=tmp_path,
                       timeout=120)
    assert p.returncode == 1
    assert p.stdout.startswith("sets/r/packs/p.yaml:5:21: error:"), p.stdout
    j = subprocess.run([EXE, "check", "sets/r", "--format", "json"], capture_output=True,
                       text=True, cwd=tmp_path, timeout=120)
    assert '"file": "packs/p.yaml"' in j.stdout  # JSON stays relative to the rule set


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t\n-:'\"[]{}#abc12", max_size=80), st.integers(-1, 8),
       st.integers(-1, 40), st.sampled_from([
           "mapping values are not allowed in this context", "did not find expected key",
           "did not find expected '-' indicator", "found character that cannot start any token",
           "did not find expected ',' or '}'", "something else"]))
def test_yaml_hints_never_fail(text: str, line: int, col: int, raw: str) -> None:
    message, hint = explain(text, line, col, raw)
    assert raw in message and (hint is None or isinstance(hint, str))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="()[]\"'\\ab", max_size=40))
def test_unclosed_names_an_open_bracket(text: str) -> None:
    at = unclosed(text)
    assert at is None or text[at] in "(["
