from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data() -> Path:
    return DATA


@pytest.fixture(scope="session")
def many_orders(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return lambda copies: _many_orders(tmp_path_factory.mktemp("orders"), copies)


def _many_orders(tmp_path: Path, copies: int) -> Path:
    """The test stream `copies` times over, each copy's ids made unique, as one JSONL file."""
    lines = (DATA / "orders.jsonl").read_text().splitlines()
    out = tmp_path / "many.jsonl"
    with out.open("w") as f:
        for n in range(copies):
            for line in lines:
                f.write(line.replace('"id": "O', f'"id": "N{n}-O') + "\n")
    return out
