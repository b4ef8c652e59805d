"""Places and problems: `Span`, `Diagnostic`, the stable diagnostic codes, and their rendering.

Every static stage (load, schema, check, compile) reports the user's mistakes as `Diagnostic`
values collected in a list; none of them raises for a mistake. Rendering follows the compiler
convention `FILE:LINE:COL: severity: message`, then the source line, a caret and a hint.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Span:
    """A place in a rule set: file relative to the rule set, 1-based line and column."""

    file: str
    line: int = 1
    col: int = 1

    def shifted(self, chars: int) -> "Span":
        return Span(self.file, self.line, self.col + chars)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class Code(str, enum.Enum):
    """Stable diagnostic codes (part of the API: REST returns them, tools match on them)."""

    YAML_ERROR = "YAML_ERROR"
    DUPLICATE_KEY = "DUPLICATE_KEY"
    SCHEMA = "SCHEMA"
    MANIFEST = "MANIFEST"
    DUPLICATE_ID = "DUPLICATE_ID"
    PARSE_ERROR = "PARSE_ERROR"
    UNKNOWN_NAME = "UNKNOWN_NAME"
    UNKNOWN_FUNCTION = "UNKNOWN_FUNCTION"
    ARITY = "ARITY"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    WRONG_PHASE = "WRONG_PHASE"
    UNKNOWN_PACK = "UNKNOWN_PACK"
    PACK_CYCLE = "PACK_CYCLE"
    TABLE_SHAPE = "TABLE_SHAPE"
    BAD_CELL = "BAD_CELL"
    BAD_VALUE = "BAD_VALUE"
    REFERENCE = "REFERENCE"
    TABLE_OVERLAP = "TABLE_OVERLAP"
    TABLE_SHADOWED = "TABLE_SHADOWED"
    NEVER_FIRES = "NEVER_FIRES"
    DIVISION_BY_ZERO = "DIVISION_BY_ZERO"
    LIMIT = "LIMIT"
    UNSUPPORTED_REGEX = "UNSUPPORTED_REGEX"
    QUADRATIC = "QUADRATIC"


@dataclass(frozen=True)
class Diagnostic:
    code: Code
    severity: str  # "error" | "warning"
    message: str
    span: Span
    hint: str | None = None
    source_line: str | None = field(default=None, compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def render(self, with_source: bool = True) -> str:
        out = f"{self.span}: {self.severity}: {self.message}"
        if with_source and self.source_line is not None:
            out += "\n    " + self.source_line.rstrip("\n")
            out += "\n    " + " " * max(self.span.col - 1, 0) + "^"
        if self.hint:
            out += f"\n    hint: {self.hint}"
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code.value,
            "severity": self.severity,
            "message": self.message,
            "file": self.span.file,
            "line": self.span.line,
            "col": self.span.col,
            "hint": self.hint,
        }


class Diagnostics:
    """A collector: stages append, `check` sorts by place and caps the list."""

    CAP = 500

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, code: Code, span: Span, message: str, hint: str | None = None) -> None:
        self.items.append(Diagnostic(code, "error", message, span, hint))

    def warning(self, code: Code, span: Span, message: str, hint: str | None = None) -> None:
        self.items.append(Diagnostic(code, "warning", message, span, hint))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    def sorted(self, sources: dict[str, list[str]] | None = None) -> list[Diagnostic]:
        seen = set()
        out = []
        for d in sorted(self.items, key=lambda d: (d.span, d.severity != "error", d.message)):
            key = (d.span, d.severity, d.message)
            if key in seen:
                continue
            seen.add(key)
            if sources is not None:
                lines = sources.get(d.span.file)
                if lines and 1 <= d.span.line <= len(lines):
                    d = Diagnostic(d.code, d.severity, d.message, d.span, d.hint,
                                   lines[d.span.line - 1])
            out.append(d)
        return out[: self.CAP]


class RuleSetInvalid(Exception):
    """Raised by `load` when `check` found errors; carries every diagnostic."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.is_error]
        first = errors[0].render(with_source=False) if errors else "invalid rule set"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)
