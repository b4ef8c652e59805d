"""Decide an order: the use case behind POST /v1/decisions, /v1/validate, /v1/price and
`ordinance eval`.

In: a `DecisionRequest` (the order already read and checked, the as-of date, the rule-set
reference, the request's text for the log), the kind of decision (decide, validate, price),
and the caller's key name. Out: `Evaluated` (engine/answer.py), the answer rendered with its
decision_id, once its record is committed to the decision log. Raises the rule-set look-up's
NotFound or Conflict, EvaluationTimeout past the deadline, Unavailable when the log does not
commit.

The walk goes one way: the door (api/routes_decisions.py) translates HTTP; this module
resolves the rule set (adapter), has the engine decide and render (core), and hands the
record to the decision log (adapter). The non-obvious choice: the door hands over its reading
as a function, `read`, that runs here on an evaluator thread with the evaluation, so a large
body is read off the event loop and inside the deadline (api/evaluation.py) with one thread
hop per request; waiting for the log's commit holds no thread. Nothing here imports a
database library at load time, so `ordinance eval` stays quick.
"""
from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from typing import Any, Callable

from ordinance.adapters.ids import new_decision_id
from ordinance.engine import answer
from ordinance.engine.answer import Evaluated
from ordinance.engine.codec import dumps
from ordinance.engine.values import RuleError

__all__ = ["DecisionRequest", "Evaluated", "decide", "evaluate", "evaluate_order"]


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    """`{"order": {...}, "as_of": "YYYY-MM-DD"?, "ruleset": "NAME@REF"?}`, read."""
    order: dict[str, Any]
    as_of: datetime.date | None
    ruleset: str | None
    request_text: str

    @property
    def order_text(self) -> str:
        """The order as JSON (rendered only where it is stored: the order hub)."""
        return dumps(self.order)


def evaluate_order(rs: Any, order: dict[str, Any], as_of: datetime.date | None,
                   today: datetime.date, kind: str = "decide", owned: bool = False) -> Any:
    """The engine's `Decision` for one order, nothing stored (`ordinance eval`); `owned`: the
    order was parsed for this decision only, so it is decided in place, not copied."""
    return answer.decide(rs, order, as_of, kind, today, owned)


def evaluate(rs: Any, order: dict[str, Any], as_of: datetime.date | None, kind: str,
             today: datetime.date) -> Evaluated:
    """One order decided and rendered with a fresh decision_id; the time the engine took is
    measured here (the log's elapsed_ms). Pure but for the id and the timing; stores nothing.
    `today`: the clock's date, the as-of of an order that gives none."""
    t0 = time.perf_counter()
    try:
        decision = answer.decide(rs, order, as_of, kind, today)
    except RuleError as exc:  # outside any rule (a line's quantity x price past the engine's
        # 28 digits, met when pricing starts): the order cannot be decided, and says why
        from ordinance.adapters.store import Invalid  # the service's error (ordinance eval
        # imports this module and must not load the database stack)

        raise Invalid(f"the order cannot be evaluated: {exc.message}", code="BAD_ORDER",
                      path="$.order") from None
    elapsed = int((time.perf_counter() - t0) * 1_000_000)
    return answer.render(rs, decision, new_decision_id(), elapsed)


def _evaluate(ctx: Any, read: Callable[[], DecisionRequest],
              kind: str) -> tuple[DecisionRequest, Evaluated, list[Any] | None]:
    request = read()
    rs = ctx.rulesets.active_if_cached() if request.ruleset is None else None
    if rs is None:
        rs = ctx.rulesets.resolve(request.ruleset)
    today, tags = ctx.clock.now().date(), ()
    live = getattr(ctx, "rollout_live", None)  # a shadow or rollout (usecases/rollout.py)
    if live is not None and live.running:
        chosen, tags = live.route(request.order, request.ruleset is not None)
        rs = chosen or rs
    ev = evaluate(rs, request.order, request.as_of, kind, today)
    pending = live.tags(tags, today) if tags else None  # durable: on the record itself
    return request, ev, pending


async def decide(ctx: Any, read: Callable[[], DecisionRequest], kind: str,
                 key_name: str) -> Evaluated:
    """Reads, resolves and evaluates on the evaluators (`ctx.evaluators`, with the deadline),
    then logs (`ctx.log`) and returns once the record is committed: nothing is answered that
    is not in the log. `ctx` is the service's Context (api/app.py): rulesets, clock,
    evaluators, log. What a running shadow or rollout counts is a column of the record."""
    request, ev, pending = await ctx.evaluators.run(_evaluate, ctx, read, kind)
    oid = request.order.get("id")
    await ctx.log.committed(ctx.log.submit_decision(
        ev, kind, key_name, None if oid is None else str(oid), request.request_text, pending))
    return ev
