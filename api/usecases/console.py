"""What the console (api/routes_console_api.py) asks that the rest of the API does not answer:
a stored version's packs and rules as data, `check` over edited files, saving edited files as
a new version, and the analysts' tests of a stored version.

In: a stored version (`name`, `digest`) and, for the editor, the files the analyst changed
(`[{"path", "content"}]`, overlaid on the version's files). Out: JSON-ready dicts; the
diagnostics as `store_rulesets.diagnostic_json` gives them (file relative to the rule set,
line, col). Raises `Invalid` (422, with the JSON path of the bad file) or `NotFound` (404).

The non-obvious choice: the engine checks and loads rule sets from a directory, so the
version's files and the edits are written to a temporary directory first (the same way an
uploaded archive is, adapters/store_rulesets.py), and saving goes through the same
`store_directory` as an upload: one place decides what a valid stored version is.
"""
from __future__ import annotations

import base64
import json
import re
import datetime
import tempfile
import threading
from collections import OrderedDict
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

import yaml

from ordinance import engine
from ordinance.adapters import store_rulesets
from ordinance.adapters.db import Database
from ordinance.adapters.store import Invalid, NotFound
from ordinance.engine.model import PHASES
from ordinance.engine.testing import TableRows, run_tests

MAX_FILES = 200            # edited files in one request
MAX_FILE_CHARS = 1 << 18   # one edited file (at most 1 MiB in UTF-8)
MAX_RULES = 5000           # rules listed for one version
MAX_CASES = 2000           # test cases reported
MAX_ROWS = 2000            # rows reported per decision table


# a path inside the rule set: parts of letters, digits, _ - . not starting with a dot (so no
# `..`, no hidden file), of the kinds a rule set holds; the OpenAPI document says the same
PATH = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*\.(yaml|yml|csv|json|md)(?!\n)$"
MAX_PATH = 200


def _safe_path(path: Any, where: str) -> PurePosixPath:
    if not isinstance(path, str) or not 0 < len(path) <= MAX_PATH \
            or re.search(PATH, path) is None:
        raise Invalid("a path inside the rule set (letters, digits, _ - . and /; no part "
                      "starting with a dot) of a .yaml, .yml, .csv, .json or .md file, at most "
                      f"{MAX_PATH} characters", path=where, code="BAD_PATH")
    return PurePosixPath(path)


def edits_of(files: Any) -> list[tuple[PurePosixPath, str]]:
    """The edited files of a request body's `files`, checked (path inside, size, count)."""
    if files is None:
        return []
    if not isinstance(files, list):
        raise Invalid("files is a list of {path, content}", path="$.files", code="BAD_REQUEST")
    if len(files) > MAX_FILES:
        raise Invalid(f"at most {MAX_FILES} files", path="$.files", code="TOO_MANY_FILES")
    out = []
    for i, f in enumerate(files):
        where = f"$.files[{i}]"
        if not isinstance(f, dict) or not isinstance(f.get("content"), str):
            raise Invalid("each file is {path, content} with text content", path=where,
                          code="BAD_REQUEST")
        if len(f["content"]) > MAX_FILE_CHARS:
            raise Invalid(f"a file over {MAX_FILE_CHARS} characters", path=where + ".content",
                          code="FILE_TOO_LARGE")
        if "\x00" in f["content"]:
            raise Invalid("a NUL character in a file", path=where + ".content",
                          code="BAD_REQUEST")
        out.append((_safe_path(f.get("path"), where + ".path"), f["content"]))
    return out


class _Tree:
    """A stored version's files, with the edits over them, in a temporary directory."""

    def __init__(self, db: Database, name: str, digest: str,
                 edits: list[tuple[PurePosixPath, str]]):
        self.version = store_rulesets.get_version(db, name, digest)
        self.edits = edits
        self._tmp = tempfile.TemporaryDirectory(prefix="ordinance-console-")
        self.root = Path(self._tmp.name) / "ruleset"

    def __enter__(self) -> "_Tree":
        self.root.mkdir()
        for f in self.version["files"]:
            dest = self.root.joinpath(*PurePosixPath(f["path"]).parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if f["encoding"] == "base64":
                dest.write_bytes(base64.b64decode(f["content"]))
            else:
                dest.write_text(f["content"], encoding="utf-8")
        for path, content in self.edits:
            dest = self.root.joinpath(*path.parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(content, encoding="utf-8")
        return self

    def __exit__(self, *exc: Any) -> None:
        self._tmp.cleanup()


def check(db: Database, name: str, digest: str, files: Any) -> dict[str, Any]:
    with _Tree(db, name, digest, edits_of(files)) as tree:
        diags = [store_rulesets.diagnostic_json(d, tree.root) for d in engine.check(tree.root)]
    errors = sum(1 for d in diags if d["severity"] == "error")
    return {"clean": errors == 0, "errors": errors, "diagnostics": diags}


def save(db: Database, name: str, digest: str, files: Any, by: str) -> tuple[bool, dict]:
    """A new stored version: the version's files with the edits, checked like an upload."""
    with _Tree(db, name, digest, edits_of(files)) as tree:
        return store_rulesets.store_directory(db, tree.root, by)


def tests(db: Database, name: str, digest: str, today: datetime.date) -> dict[str, Any]:
    """The analysts' tests of a stored version: each case, its differences, which rules
    fired across the cases (coverage per pack and rule) and which rows of each decision
    table matched (coverage per table row)."""
    with _Tree(db, name, digest, []) as tree:
        rs = engine.load(tree.root)
        report = run_tests(rs, tree.root, today, rows=True)
        files = tree.version["files"]
    cases = [{"name": c.name, "file": _rel(c.span.file, tree.root), "line": c.span.line,
              "passed": c.passed, "differences": c.differences[:50],
              "messages": _messages(c.decision) if not c.passed else []}
             for c in report.cases[:MAX_CASES]]
    packs: dict[str, dict[str, Any]] = {}
    for rid in report.rule_ids[:MAX_RULES]:
        pack = rid.split("/", 1)[0]
        entry = packs.setdefault(pack, {"pack": pack, "rules": [], "fired": 0})
        fired = rid in report.fired
        entry["rules"].append({"rule": rid, "fired": fired})
        entry["fired"] += fired
    tables = _table_rows(report.tables or [], files)
    rows = sum(len(t["rows"]) for t in tables)
    hit = sum(t["hit"] for t in tables)
    return {"cases": cases, "passed": sum(c["passed"] for c in cases),
            "failed": sum(not c["passed"] for c in cases), "problems": report.problems,
            "coverage": str(report.coverage.quantize(Decimal("0.1"))),
            "packs": list(packs.values()),
            "row_coverage": str((Decimal(100 * hit) / rows if rows else Decimal(100))
                                .quantize(Decimal("0.1"))),
            "tables": tables}


def _table_rows(tables: list[TableRows], files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Coverage per table row for the REST answer: per table rule, each row with its cells
    (as the pack's YAML writes them) and how many evaluations it matched."""
    cells: dict[str, list[Any]] = {}
    for pack in _packs_of(files):
        for rule in pack["rules"]:
            table = rule.get("table")
            if isinstance(table, dict) and isinstance(table.get("rows"), list):
                cells[f"{pack['pack']}/{rule['id']}"] = table["rows"]
    out = []
    for t in tables[:MAX_RULES]:
        written = cells.get(t.rule) or []
        out.append({
            "rule": t.rule, "file": str(t.span.file), "line": t.span.line,
            "hit_policy": t.hit_policy, "evaluations": t.evaluations,
            "default": t.default if t.has_default else None,
            "hit": len(t.rows_hit), "never_hit": t.never_hit,
            "rows": [{"row": i + 1, "hits": n,
                      "cells": written[i] if i < len(written) else None}
                     for i, n in enumerate(t.hits[:MAX_ROWS])]})
    return out


def _rel(file: Any, root: Path) -> str:
    try:
        return str(Path(str(file)).resolve().relative_to(root.resolve()))
    except (ValueError, OSError):
        return str(file)


def _messages(decision: Any) -> list[dict[str, Any]]:
    """What the decision says about itself: its violations, holds and rule errors."""
    if not isinstance(decision, dict):
        return []
    out = []
    for kind in ("violations", "holds", "errors"):
        for item in (decision.get(kind) or [])[:20]:
            if isinstance(item, dict):
                out.append({"kind": kind, "code": item.get("code"),
                            "message": item.get("message") or item.get("reason"),
                            "rule": item.get("rule")})
    return out


MAX_GENERATED = 5000  # orders generated for one simulation from the console


def generate(db: Database, name: str, digest: str, count: int, seed: int) -> list[dict]:
    """`count` synthetic orders consistent with the version's reference data
    (simulator/generate.py), for a simulation's "generated" orders."""
    from ordinance.simulator.generate import CatalogueError, generate_orders, load_catalogue

    with _Tree(db, name, digest, []) as tree:
        try:
            catalogue = load_catalogue(tree.root)
        except CatalogueError as exc:
            why = str(exc).replace(f"{tree.root}/", "")
            raise Invalid(f"{name}@{digest} has no order catalogue to generate from: {why}",
                          code="NO_CATALOGUE") from None
        return list(generate_orders(catalogue, count, seed))


SCHEMAS = ("ruleset", "pack", "tests", "events", "process")


def schemas() -> dict[str, Any]:
    """The published JSON Schemas of a rule set's files (engine/schemas/), by kind."""
    from importlib import resources

    folder = resources.files("ordinance.engine") / "schemas"
    return {kind: json.loads((folder / f"{kind}.schema.json").read_text("utf-8"))
            for kind in SCHEMAS}


def _packs(files: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for f in files:
        path = f["path"]
        if not path.startswith("packs/") or not path.endswith((".yaml", ".yml")):
            continue
        if f["encoding"] != "utf-8":
            continue
        try:
            doc = yaml.load(f["content"], Loader=_LOADER)
        except yaml.YAMLError:
            continue
        if isinstance(doc, dict) and "pack" in doc:
            yield {"file": path, "doc": doc}


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster
_RULES: OrderedDict[tuple[str, str], list[dict[str, Any]]] = OrderedDict()
_RULES_LOCK = threading.Lock()
_RULES_KEPT = 16  # versions whose packs are kept (a stored version never changes)


def rules(db: Database, name: str, digest: str) -> dict[str, Any]:
    """The version's packs in the order of work (phase, then file), each rule with its
    description, condition, actions and table, as the YAML says them."""
    version = next((v for v in store_rulesets.list_versions(db, name)
                    if v["digest"] == digest), None)
    if version is None:
        raise NotFound(f"no stored rule set {name}@{digest}", code="RULESET_NOT_FOUND")
    with _RULES_LOCK:
        packs = _RULES.get((name, digest))
    if packs is None:
        packs = _packs_of(store_rulesets.get_version(db, name, digest)["files"])
        with _RULES_LOCK:
            _RULES[(name, digest)] = packs
            while len(_RULES) > _RULES_KEPT:
                _RULES.popitem(last=False)
    return {"version": version, "phases": list(PHASES), "packs": packs}


def _packs_of(files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    packs: list[dict[str, Any]] = []
    count = 0
    for item in _packs(files):
        doc = item["doc"]
        out_rules = []
        for r in doc.get("rules") or []:
            if not isinstance(r, dict) or count >= MAX_RULES:
                continue
            count += 1
            out_rules.append({
                "id": str(r.get("id", "")), "description": str(r.get("description") or ""),
                "priority": r.get("priority"), "when": _text(r.get("when")),
                "then": _jsonable(r.get("then")), "table": _jsonable(r.get("table"))})
        phase = str(doc.get("phase", ""))
        packs.append({"pack": str(doc.get("pack")), "phase": phase, "file": item["file"],
                      "description": str(doc.get("description") or ""),
                      "enabled": doc.get("enabled", True) is not False, "rules": out_rules})
    order = {p: i for i, p in enumerate(PHASES)}
    packs.sort(key=lambda p: (order.get(p["phase"], len(order)), p["file"]))
    return packs


def _text(v: Any) -> str | None:
    return None if v is None else str(v) if not isinstance(v, (dict, list)) else yaml.safe_dump(
        _jsonable(v), sort_keys=False, default_flow_style=True).strip()


def _jsonable(v: Any, depth: int = 0) -> Any:
    """YAML values as JSON can carry them (dates and numbers as text)."""
    if depth > 30:
        return "..."
    if isinstance(v, dict):
        return {str(k): _jsonable(x, depth + 1) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x, depth + 1) for x in v]
    if v is None or isinstance(v, (str, bool)):
        return v
    return str(v)
