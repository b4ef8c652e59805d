"""Values of the order-management core (engine/oms_*.py): what a core function refuses.

In: nothing. Out: `Refusal` (frozen: code, message, JSON path, details) and `Refused`, the
exception that carries one out of a core function. The non-obvious choice: the core cannot
name the service's errors (they live in adapters/store.py, above it), so it refuses with a
value; the adapter that applies the core's changes turns a `Refused` into a 409 Conflict
(adapters/lifecycle.py `conflict`), keeping the code, message, path and details as they are.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Refusal:
    """Why an event, a hold or a change does not fit the order (a 409 at the doors)."""

    code: str
    message: str
    path: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


class Refused(Exception):
    """A core function's refusal; nothing of the refused step is to be applied."""

    def __init__(self, code: str, message: str, path: str | None = None,
                 details: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.refusal = Refusal(code, message, path, dict(details or {}))
