"""The house plan's arrows (ARCHITECTURE.md): imports point down, engine imports nothing of ours."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_hold() -> None:
    exe = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(exe), "--no-cache"], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 1 kept, 0 broken" in proc.stdout


def test_engine_imports_no_io_library() -> None:
    """No HTTP, no database, no clock of its own: checked on the source, module by module."""
    banned = {"fastapi", "starlette", "sqlalchemy", "httpx", "requests", "psycopg", "dask",
              "distributed", "uvicorn", "alembic", "rich", "ordinance.adapters", "ordinance.api",
              "ordinance.simulator"}
    for path in sorted((ROOT / "engine").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert not any(name == b or name.startswith(b + ".") for b in banned), \
                    f"{path.name} imports {name}"


def test_the_command_starts_without_loading_the_service_stack() -> None:
    """`ordinance check` and `eval` stay quick: the heavy doors import their libraries lazily."""
    code = ("import sys; from ordinance.api.cli import build_parser; build_parser(); "
            "print(','.join(m for m in ('fastapi', 'sqlalchemy', 'dask', 'distributed', "
            "'uvicorn', 'playwright') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_the_tree_passes_ruff() -> None:
    """Syntax errors, undefined names, unused imports and bugbear's traps (pyproject.toml)."""
    exe = Path(sys.executable).with_name("ruff")
    proc = subprocess.run([str(exe), "check", "--output-format", "concise", "."],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
