"""Why this decision, and what would change it: the use case behind
POST /v1/decisions/{id}/redecide and `ordinance why`.

In: a logged decision's id, the rule set to decide it again under (`original`: the one that
decided it; `active`; a stored `NAME@DIGEST` / `NAME@VERSION`, such as a candidate uploaded
with POST /v1/rulesets and not activated; or, from the command line, a compiled rule set of a
local directory), the caller's date and whether to look for remedies. Out: a JSON-ready
dict: the original decision as logged, the new one under the ORIGINAL as-of date, whether
they are the same, their difference field by field (simulator/compare.py's moved fields,
rules and explanation, plus each path that changed with both values), and the new decision's
verified remedies (engine/remedies.py). Raises NotFound (no such decision or rule set),
Conflict (the log holds no request for it: nothing to decide again), the rule-set
resolver's errors.

The walk: adapters read the log and resolve or store the rule set; the engine decides and
finds remedies; simulator/compare.py says what moved. Nothing is written to the decision log:
deciding again is a question, not a decision.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Callable

from ordinance import engine
from ordinance.engine import answer, codec
from ordinance.engine.remedies import why_not
from ordinance.engine.values import RuleError
from ordinance.simulator.compare import OUTCOME_FIELDS, compare

MAX_FIELDS = 200       # changed paths listed in a difference
DEFAULT_BUDGET = 48    # re-decisions spent on remedies (engine/remedies.py)


@dataclass(frozen=True)
class Logged:
    """A logged decision as the log keeps it: the request, its answer, its rule set."""
    decision_id: str
    kind: str
    order: dict[str, Any]
    as_of: datetime.date
    ruleset: str       # its name
    digest: str
    decision: dict[str, Any]


def logged(db: Any, decision_id: str) -> Logged:
    from ordinance.adapters import store_decisions
    from ordinance.adapters.store import Conflict, Invalid

    record = codec.loads(store_decisions.get(db, decision_id))
    request = record.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("order"), dict):
        raise Conflict(f"the log holds no request for decision {decision_id!r}: nothing to "
                       "decide again", code="NO_REQUEST")
    try:
        order = engine.validate_order(request["order"])
        as_of = datetime.date.fromisoformat(str(record.get("as_of")))
    except (engine.BadOrder, ValueError) as exc:
        raise Invalid(f"the logged request cannot be read again: {exc}",
                      code="BAD_LOGGED_REQUEST") from None
    return Logged(str(record["decision_id"]), str(record.get("kind") or "decide"), order, as_of,
                  str(record.get("ruleset")), str(record.get("digest")), record["decision"])


def resolve(rulesets: Any, log: Logged, against: str | None) -> Any:
    """`original` (the default of the command line), `active`, a stored `NAME@REF`, or a
    bare version or digest of the logged decision's own rule set (`2026.12.0`)."""
    if against in (None, "active"):
        return rulesets.resolve(None)
    if against == "original":
        return rulesets.resolve(f"{log.ruleset}@{log.digest}")
    if "@" not in str(against):
        return rulesets.resolve(f"{log.ruleset}@{against}")
    return rulesets.resolve(against)


def answer_for(log: Logged, rs: Any, today: datetime.date, remedies: bool = True,
               budget: int = DEFAULT_BUDGET) -> dict[str, Any]:
    """The logged decision beside the same request decided again by `rs` with the original
    as-of, their difference, and (`remedies`) what would change the new one."""
    try:
        decision = answer.decide(rs, log.order, log.as_of, log.kind, today)
    except RuleError as exc:
        from ordinance.adapters.store import Invalid

        raise Invalid(f"the order cannot be evaluated: {exc.message}", code="BAD_ORDER",
                      path="$.order") from None
    again = codec.loads(codec.dumps(decision.to_json()))  # as the log writes it
    before = {k: v for k, v in log.decision.items() if k != "decision_id"}
    diff = compare(before, again)
    out: dict[str, Any] = {
        "decision_id": log.decision_id, "order_id": log.order.get("id"), "kind": log.kind,
        "as_of": log.as_of.isoformat(),
        "original": {"ruleset": before.get("ruleset"), "status": before.get("status"),
                     "decision": before},
        "redecided": {"ruleset": again.get("ruleset"), "status": again.get("status"),
                      "decision": again},
        "same": not diff.changed,
        "difference": {
            "moved": list(diff.moved),
            "rules": [{"rule": r.rule, "how": r.how} for r in diff.rules],
            "explanation": diff.explanation,
            "fields": field_changes(before, again),
        },
    }
    if remedies:  # remedies re-decide every phase: only a full decision has them
        out["why"] = why_not(rs, log.order, log.as_of, decision, budget).to_json() \
            if log.kind == "decide" else None
    return out


def field_changes(a: dict[str, Any], b: dict[str, Any],
                  limit: int = MAX_FIELDS) -> list[dict[str, Any]]:
    """Each outcome path whose value differs, with both values (depth first, key order)."""
    out: list[dict[str, Any]] = []
    for key in OUTCOME_FIELDS:
        _walk(a.get(key), b.get(key), key, out, limit)
    return out


def _walk(x: Any, y: Any, path: str, out: list[dict[str, Any]], limit: int) -> None:
    if len(out) >= limit or x == y:
        return
    if isinstance(x, dict) and isinstance(y, dict):
        for k in dict.fromkeys([*x, *y]):
            _walk(x.get(k), y.get(k), f"{path}.{k}", out, limit)
        return
    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (p, q) in enumerate(zip(x, y)):
            _walk(p, q, f"{path}[{i}]", out, limit)
        return
    out.append({"path": path, "before": x, "after": y})


def redecide(ctx: Any, decision_id: str, against: str | None,
             remedies: bool) -> dict[str, Any]:
    """The service's walk (on an evaluator thread, inside the deadline)."""
    log = logged(ctx.db, decision_id)
    rs = resolve(ctx.rulesets, log, against)
    return answer_for(log, rs, ctx.clock.now().date(), remedies)


async def redecide_async(ctx: Any, decision_id: str, against: str | None,
                         remedies: bool) -> dict[str, Any]:
    run: Callable[..., Any] = ctx.evaluators.run
    result: dict[str, Any] = await run(redecide, ctx, decision_id, against, remedies)
    return result
