"""Fixtures for the service tests: a real database (SQLite file, or a fresh PostgreSQL
database per test module), the app served by uvicorn on 127.0.0.1 in a thread, and one key
per role. The helpers live in svc_helpers.py (importable by the test modules under
--import-mode=importlib because this directory is put on sys.path here).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from svc_helpers import database_url  # noqa: E402,F401 - the shared fixture
from svc_helpers import Service, service_with_c07  # noqa: E402


@pytest.fixture(scope="module")
def service(database_url: str,  # noqa: F811 - the shared fixture
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A running service with c07-approval uploaded and active."""
    yield from service_with_c07(database_url, tmp_path_factory.mktemp("cache"))
