"""Importers: decision tables from DMN (`dmn.py`) and GoRules JDM (`jdm.py`) as rule packs.

In: a document's text, the name it is reported under, and a mapping of source names to order
paths (`--map`). Out: an `Imported` value, the pack's YAML text (None when something was
refused) and the located diagnostics. Pure functions: no file is read or written here; the
command `ordinance import` (api/cmd_import.py) does that. The importer modules are imported
when first called, so that building the command line (which registers `import`) stays as
quick as before.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Diagnostic


@dataclass(frozen=True)
class Imported:
    pack: str | None  # the pack's YAML text, or None when an error was reported
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return self.pack is not None


def import_dmn(text: str, source: str, mapping: dict[str, str] | None = None) -> Imported:
    from .dmn import import_dmn as run
    return run(text, source, mapping or {})


def import_jdm(text: str, source: str, mapping: dict[str, str] | None = None) -> Imported:
    from .jdm import import_jdm as run
    return run(text, source, mapping or {})


__all__ = ["Imported", "import_dmn", "import_jdm"]
