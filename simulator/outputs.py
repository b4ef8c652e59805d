"""Writing a simulation's results: the summary JSON, the changed-orders CSV, the HTML report.

In: the summary (a dict, money as strings) and the CSV rows as `simulate()` hands them over.
Out: files. Raises `OSError` when a file cannot be written.

The CSV is written while the simulation runs, one chunk's rows at a time in stream order, so
every changed order is in it without ever being held in memory together.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Any

from ordinance.simulator.summary import CHANGE_COLUMNS


def summary_json(summary: dict[str, Any]) -> str:
    from ordinance.engine import dumps

    return dumps(summary, indent=2) + "\n"


def write_text(path: str | Path, text: str) -> None:
    Path(path).write_text(text, encoding="utf-8")


class ChangesCsv:
    """The changed orders, one row each (columns in summary.CHANGE_COLUMNS)."""

    def __init__(self, target: str | Path | IO[str]) -> None:
        if isinstance(target, (str, Path)):
            self.file: IO[str] = open(target, "w", encoding="utf-8", newline="")
            self.own = True
        else:
            self.file, self.own = target, False
        self.writer = csv.writer(self.file)
        self.writer.writerow(CHANGE_COLUMNS)

    def write(self, rows: list[tuple[str, ...]]) -> None:
        self.writer.writerows(rows)

    def close(self) -> None:
        if self.own:
            self.file.close()
        else:
            self.file.flush()

    def __enter__(self) -> ChangesCsv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

