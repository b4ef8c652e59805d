"""Configure a product: the use case behind POST /v1/configure and `ordinance configure`.

In: a `ConfigureRequest` (model name, partial selection, as-of, rule-set reference, what to
add: a completion, a count, a list). Out: the engine's answer (engine/configurator/configure.py)
as a JSON-ready dict, with the rule set it was computed under. Raises the rule-set look-up's
NotFound/Conflict, NotFound for an unknown model, Invalid with the JSON path for a selection
that names an unknown group, option or value.

Stateless: every step of an interactive configuration is one call carrying the whole
selection so far; nothing is stored. The as-of date is the request's, else the clock's (the
engine has no clock).
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Callable

from ordinance.engine.configurator import SearchLimit, SelectionError, configure as engine_configure

__all__ = ["ConfigureRequest", "answer", "configure"]


@dataclass(frozen=True)
class ConfigureRequest:
    model: str
    selection: dict[str, Any]
    as_of: datetime.date | None = None
    ruleset: str | None = None
    complete: str | None = None  # "defaults" | "cheapest"
    count: bool = False
    list_limit: int = 0


def answer(rs: Any, request: ConfigureRequest, today: datetime.date) -> dict[str, Any]:
    """The configure answer under compiled rule set `rs` (no I/O)."""
    from ordinance.adapters.store import Invalid, NotFound  # the service's errors

    model = rs.model.configs.get(request.model)
    if model is None:
        known = ", ".join(sorted(rs.model.configs)) or "none"
        raise NotFound(f"rule set {rs.name} has no model {request.model!r} (models: {known})",
                       code="UNKNOWN_MODEL")
    as_of = request.as_of or today
    try:
        out = engine_configure(model, request.selection, as_of, complete=request.complete,
                               count=request.count, list_limit=request.list_limit)
    except SelectionError as exc:
        raise Invalid(exc.message, code="BAD_SELECTION", path=exc.path) from None
    except SearchLimit as exc:
        raise Invalid(f"the model is too large to answer this: {exc}", code="TOO_COMPLEX",
                      path="$") from None
    return {"ruleset": {"name": rs.name, "version": rs.version, "digest": rs.digest},
            "as_of": as_of, **out}


def _run(ctx: Any, read: Callable[[], ConfigureRequest]) -> dict[str, Any]:
    request = read()
    rs = ctx.rulesets.active_if_cached() if request.ruleset is None else None
    if rs is None:
        rs = ctx.rulesets.resolve(request.ruleset)
    return answer(rs, request, ctx.clock.now().date())


async def configure(ctx: Any, read: Callable[[], ConfigureRequest]) -> dict[str, Any]:
    """Reads, resolves and answers on the evaluators (with the service's deadline)."""
    result: dict[str, Any] = await ctx.evaluators.run(_run, ctx, read)
    return result
