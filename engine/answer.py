"""A decision as the service answers it: which phases each kind of request runs, and the
answer rendered with its id.

In: a compiled rule set, an order (already read: engine/orders.py), the as-of date or the
caller's today, the kind (`decide` every phase, `validate` defaulting, validation and
compliance, `price` defaulting and pricing); then the `Decision`, the id the caller drew and
the time the caller measured. Out: `Evaluated`, the JSON body (decision_id first) and its text
(engine/codec.py `dumps`) plus the fields the decision log indexes.

The non-obvious choice: the id and the elapsed time are arguments. Drawing an id reads the
OS's entropy and timing reads a clock, and the engine does neither, so the use case
(api/usecases/decide.py) draws, times and calls `decide` then `render`.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from .codec import dumps

KINDS: dict[str, frozenset[str] | None] = {
    "decide": None,
    "validate": frozenset({"defaulting", "validation", "compliance"}),
    "price": frozenset({"defaulting", "pricing"}),
}


@dataclass(frozen=True)
class Evaluated:
    """One answered decision: what the service sends and what its log row indexes."""
    decision_id: str
    body: dict[str, Any]      # the decision JSON with decision_id first
    text: str                 # body rendered by dumps
    status: str
    digest: str
    ruleset_name: str
    as_of: str
    fired: list[str]
    elapsed_us: int
    plans: tuple[Any, ...] = ()  # Decision.plans: where promised lines may come from, unrendered


def decide(rs: Any, order: dict[str, Any], as_of: datetime.date | None, kind: str,
           today: datetime.date, owned: bool = False) -> Any:
    """The `Decision` of one kind of request (an unknown kind decides every phase); `owned`:
    the order is the caller's to give away (CompiledRuleSet.evaluate)."""
    phases = KINDS.get(kind)
    return rs.evaluate(order, as_of=as_of, phases=set(phases) if phases else None, today=today,
                       owned=owned)


def render(rs: Any, decision: Any, decision_id: str, elapsed_us: int) -> Evaluated:
    dj = decision.to_json()
    body = {"decision_id": decision_id}
    body.update(dj)
    ruleset = dj.get("ruleset") or {}
    return Evaluated(
        decision_id=decision_id, body=body, text=dumps(body), status=str(decision.status),
        digest=str(ruleset.get("digest") or rs.digest),
        ruleset_name=str(ruleset.get("name") or rs.name),
        as_of=str(dj.get("as_of") or ""), fired=[str(f) for f in dj.get("fired") or []],
        elapsed_us=elapsed_us, plans=getattr(decision, "plans", ()))
