"""Analysts' tests (SPEC section 7): run a rule set's `tests/*.yaml` and explain failures.

In: a compiled rule set. Out: a `TestReport` with one `CaseResult` per case (its differences,
each with the JSON path that differs) and the rules that fired at least once across all cases.

`expect` matches a subset of the decision: a mapping matches when each key it names matches; a
list matches a list of the same length whose elements pair up in any order; numbers and
decimal strings compare by value ("5.00" = 5).

A failure explains itself: `failure_lines` gives the differences and, under them, what the
actual decision holds that decides its status (violations, holds, rule errors, each with its
code, message, rule and place), so "expected accepted, got rejected" says why without -v.

Coverage per table row, when the run asks for it (`run_tests(..., rows=True)`): which rows of
each decision table matched across the cases. The non-obvious choice: the record is kept
beside the evaluation, not in it, so the decision (and its JSON) is the one `evaluate` gives
and the evaluation path pays one test of an attribute per table evaluation. A case is then
evaluated in a `_RowState`, the engine's `State` whose `row_hits` (None in every other state)
is called by `CompiledTable.match` with the table and the row indices its matcher answered;
it holds them in the table's `TableRows`. The compiled rule
set is shared and never changed. A row is "hit" when it matched the table's inputs in some
evaluation (for hit policy `first` that is the first matching row; for `unique`, both rows of
an overlap count, though the rule then errs); `default` counts the evaluations no row matched
and the default answered.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .diagnostics import Span
from .evaluate import CompiledRuleSet, resolve_as_of
from .codec import dumps, loads
from .model import PHASES, Rule
from .state import State, copy_json
from .tables import CompiledTable
from .orders import BadOrder, validate_order
from .yamlload import Node, YamlError, load_text


@dataclass
class CaseResult:
    name: str
    span: Span
    passed: bool
    differences: list[str] = field(default_factory=list)
    decision: dict[str, Any] | None = None


@dataclass
class TableRows:
    """One decision table's rows across a test run: how many evaluations each row matched
    (index 0 is row 1), and how many the default answered."""
    rule: str
    span: Span  # the table's place
    hit_policy: str
    hits: list[int]
    default: int = 0
    has_default: bool = False
    evaluations: int = 0

    @property
    def rows_hit(self) -> list[int]:
        """1-based numbers of the rows that matched at least once."""
        return [i + 1 for i, n in enumerate(self.hits) if n]

    @property
    def never_hit(self) -> list[int]:
        return [i + 1 for i, n in enumerate(self.hits) if not n]


@dataclass
class TestReport:
    cases: list[CaseResult]
    fired: set[str]
    rule_ids: list[str]
    problems: list[str] = field(default_factory=list)  # files that could not be read
    tables: list[TableRows] | None = None  # per table rule, in plan order, when asked for

    @property
    def failed(self) -> list[CaseResult]:
        return [c for c in self.cases if not c.passed]

    @property
    def never_fired(self) -> list[str]:
        return [r for r in self.rule_ids if r not in self.fired]

    @property
    def coverage(self) -> Decimal:
        if not self.rule_ids:
            return Decimal(100)
        return Decimal(100 * (len(self.rule_ids) - len(self.never_fired))) / len(self.rule_ids)


def _decimal(v: Any) -> Decimal | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, Decimal):
        return v
    if isinstance(v, (int, float)):
        return Decimal(str(v))
    if isinstance(v, str):
        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    return None


def _show(v: Any) -> str:
    text = dumps(v) if not isinstance(v, (datetime.date,)) else v.isoformat()
    return text if len(text) <= 120 else text[:117] + "..."


def differences(exp: Any, act: Any, path: str = "$") -> list[str]:
    """Every difference between an expectation and a decision (empty when they match)."""
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            return [f"{path}: expected an object, got {_show(act)}"]
        out: list[str] = []
        for k, v in exp.items():
            out += differences(v, act.get(k), f"{path}.{k}")
        return out
    if isinstance(exp, list):
        if not isinstance(act, list):
            return [f"{path}: expected a list, got {_show(act)}"]
        if len(exp) != len(act):
            return [f"{path}: expected {len(exp)} items, got {len(act)}: {_show(act)}"]
        return _pair(exp, act, path)
    if exp is None:
        return [] if act is None else [f"{path}: expected null, got {_show(act)}"]
    if isinstance(exp, datetime.date):
        exp = exp.isoformat()
    de, da = _decimal(exp), _decimal(act)
    if de is not None and da is not None:
        return [] if de == da else [f"{path}: expected {_show(exp)}, got {_show(act)}"]
    if isinstance(exp, bool) or isinstance(act, bool):
        return [] if exp is act else [f"{path}: expected {_show(exp)}, got {_show(act)}"]
    if act is not None and str(exp) == str(act):
        return []
    return [f"{path}: expected {_show(exp)}, got {_show(act)}"]


def _pair(exp: list[Any], act: list[Any], path: str) -> list[str]:
    n = len(exp)
    ok = [[not differences(exp[i], act[j], f"{path}[{i}]") for j in range(n)] for i in range(n)]
    used = [False] * n

    def go(i: int) -> bool:
        if i == n:
            return True
        for j in range(n):
            if ok[i][j] and not used[j]:
                used[j] = True
                if go(i + 1):
                    return True
                used[j] = False
        return False

    if go(0):
        return []
    for i in range(n):
        if not any(ok[i]):
            j = min(i, n - 1)
            return [f"{path}[{i}] matches no item; against item {j}: "
                    + "; ".join(differences(exp[i], act[j], f"{path}[{i}]"))]
    return [f"{path}: the items match only in ways that leave one out"]


def explain(decision: dict[str, Any] | None) -> list[str]:
    """The actual decision's violations, holds and rule errors, one line each: code, message,
    rule and where (a violation's field, a rule error's FILE:LINE:COL and line)."""
    if decision is None:
        return []
    out = []
    for v in decision.get("violations") or ():
        where = f", field {v['field']}" if v.get("field") else ""
        out.append(f"{v.get('severity')} {v.get('code')}: {v.get('message')} "
                   f"(rule {v.get('rule')}{where})")
    for h in decision.get("holds") or ():
        out.append(f"hold {h.get('code')}: {h.get('reason')} (rule {h.get('rule')})")
    for e in decision.get("errors") or ():
        where = f", at {e['where']}" if e.get("where") else ""
        line = f", line {e['line_id']}" if e.get("line_id") is not None else ""
        out.append(f"rule error {e.get('code')}: {e.get('message')} "
                   f"(rule {e.get('rule') or 'none'}{where}{line})")
    head = f"the decision is {decision.get('status')}"
    if not out:
        return [head + ", with no violations, holds or rule errors"]
    return [head + ":"] + ["  " + line for line in out]


def failure_lines(case: CaseResult) -> list[str]:
    """A failed case as `ordinance test` prints it: its place and name, each difference, then
    the decision's own account (see explain)."""
    return [f"FAIL {case.span.file}:{case.span.line}: {case.name}"] + \
        [f"    {line}" for line in case.differences + explain(case.decision)]


def _numbers(rows: list[int]) -> str:
    return ", ".join(str(n) for n in rows)


def table_row_lines(report: TestReport) -> list[str]:
    """Coverage per table row as `ordinance test` prints it: the share of rows hit, then one
    line per table (its rule and place, rows hit, rows never hit, the default's answers)."""
    if not report.tables:
        return []
    rows = sum(len(t.hits) for t in report.tables)
    hit = sum(len(t.rows_hit) for t in report.tables)
    share = f"{(Decimal(100 * hit) / rows).quantize(1)}%" if rows else "100%"
    out = [f"table rows hit: {hit}/{rows} ({share})"]
    for t in report.tables:
        line = f"    {t.rule} ({t.span.file}:{t.span.line}): {len(t.rows_hit)}/{len(t.hits)} rows"
        if t.never_hit:
            line += f"; never hit: row{'s' if len(t.never_hit) > 1 else ''} " + \
                _numbers(t.never_hit)
        if t.has_default:
            line += f"; default answered {t.default} of {t.evaluations}"
        out.append(line)
    return out


def _as_of(node: Node | None) -> datetime.date | None:
    if node is None or node.value is None:
        return None
    return datetime.date.fromisoformat(str(node.value))


def _to_json_data(node: Node) -> Any:
    """A test's order as JSON data: YAML numbers stay exact decimals."""
    return node.plain()


class _RowState(State):
    """A decision state that records the rows each table matched (see the module docstring)."""

    def __init__(self, rs: CompiledRuleSet, order: dict[str, Any], as_of: datetime.date,
                 records: dict[int, TableRows]):
        super().__init__(rs, order, as_of, None)
        self.records = records
        self.row_hits = self._row_hits

    def _row_hits(self, table: CompiledTable, found: list[int]) -> None:
        record = self.records.get(id(table))
        if record is None:
            return
        record.evaluations += 1
        hits = record.hits
        for i in found:
            hits[i] += 1
        if not found and table.default is not None:
            record.default += 1


def _table_rules(rs: CompiledRuleSet) -> list[tuple[Rule, CompiledTable]]:
    return [(r, r.table) for _, packs in rs.plan for p in packs for r in p.rules
            if r.table is not None]


def run_tests(rs: CompiledRuleSet, root: str | Path,
              today: datetime.date | None = None, rows: bool = False) -> TestReport:
    """Runs the rule set's `tests/*.yaml` cases. `today`: the as-of date of a case that gives
    neither `as_of` nor an `order_date` (the door's clock; the engine reads none). `rows`:
    also record which rows of each decision table matched (`TestReport.tables`)."""
    report = TestReport([], set(), list(rs.rule_ids))
    records: dict[int, TableRows] | None = None
    if rows:
        report.tables, records = [], {}
        for rule, table in _table_rules(rs):
            record = TableRows(rule.qid, table.span, table.hit, [0] * len(table.rows),
                               has_default=table.default is not None)
            report.tables.append(record)
            records[id(table)] = record
    tests_dir = Path(root) / "tests"
    files = sorted(p for p in tests_dir.glob("*.y*ml")) if tests_dir.is_dir() else []
    for path in files:
        rel = path.relative_to(root).as_posix()
        try:
            node = load_text(path.read_text("utf-8"), rel)
        except (YamlError, UnicodeDecodeError) as exc:
            report.problems.append(str(exc))
            continue
        if node is None:
            continue
        if node.kind != "seq":
            report.problems.append(f"{rel}:1:1: a test file is a list of cases")
            continue
        for case in node.value:
            report.cases.append(_run_case(rs, case, report, today, records))
    return report


def _evaluate(rs: CompiledRuleSet, order: dict[str, Any], as_of: datetime.date | None,
              today: datetime.date | None, records: dict[int, TableRows] | None) -> Any:
    if records is None:
        return rs.evaluate(order, as_of=as_of, today=today)
    # CompiledRuleSet.evaluate's three steps, in the state that records rows
    state = _RowState(rs, copy_json(order), resolve_as_of(order, as_of, today), records)
    state.run(set(PHASES))
    return state.decision()


def _run_case(rs: CompiledRuleSet, case: Node, report: TestReport,
              today: datetime.date | None, records: dict[int, TableRows] | None) -> CaseResult:
    name_node = case.get("name") if case.kind == "map" else None
    name = str(name_node.value) if name_node is not None else f"line {case.span.line}"
    if case.kind != "map" or case.get("order") is None:
        return CaseResult(name, case.span, False, ["a case needs name, order and expect"])
    try:
        as_of = _as_of(case.get("as_of"))
    except ValueError:
        return CaseResult(name, case.span, False, ["as_of is not a date YYYY-MM-DD"])
    try:
        order = validate_order(_to_json_data(case.value["order"]))
    except BadOrder as exc:
        return CaseResult(name, case.span, False, [f"the order is not valid: {exc}"])
    decision = _evaluate(rs, order, as_of, today, records)
    report.fired.update(decision.fired)
    actual = loads(dumps(decision.to_json()))
    expect = case.get("expect")
    diffs = differences(expect.plain() if expect is not None else {}, actual)
    return CaseResult(name, case.span, not diffs, diffs, actual)
