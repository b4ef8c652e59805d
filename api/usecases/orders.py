"""Use cases of the order hub: capture an order, and the two orchestration must follow at once,
a change order and an approval.

In: the parsed request (the door translated it), the service's hub, orchestrator and rule sets.
Out: the order's version and view (JSON text), or a service error (Invalid 422, NotFound 404,
Conflict 409).

The non-obvious choice: the hub's new version and orchestration's sync to it are ONE
transaction. Two (the hub's, then the orchestrator's) left a window in which an event was
judged against the old version, or a cancellation committed between them and the sync then
reserved stock for a cancelled order that nothing would release. Now the hub's row is
updated first (locked until the commit), then orchestration's row is locked and brought to
the new version; when orchestration cannot follow (a cancelled or closed order: 409
ORDER_CLOSED; a line cut below what shipped: 409 BELOW_SHIPPED) the whole change rolls back.
Deciding (the costly part) happens before the transaction, against the version read; the
UPDATE holds that version, so a change that lost a race is a 409 CONCURRENT_CHANGE.
A transaction PostgreSQL aborted as a deadlock is run again (the decision still holds).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError

from ordinance.adapters.db import DatabaseUnavailable
from ordinance.adapters.hub import Hub, concurrent_change, order_id_of
from ordinance.adapters.orchestration import ATTEMPTS, Orchestrator, retryable
from ordinance.adapters.clock import Clock
from ordinance.adapters.store_keys import KeyInfo

from . import decide, rollout
from .supply import promise_in


def capture_order(hub: Hub, rulesets: Any, order: dict[str, Any], as_of: date | None,
                  ruleset_ref: str | None, order_text: str, request_text: str,
                  key: KeyInfo, clock: Clock, live: Any = None) -> tuple[bool, str]:
    """Capture an order: decided, then stored with its decision and its promise (reserved
    from stored supply) in one transaction, idempotent on the order id (the same content
    again is the stored answer, decided once). The door's `clock` gives today, the as-of of
    an order without one, and the reservations' time. `live`: the process's shadows and
    rollouts (api/usecases/rollout.py), which may route the order to a candidate and count
    it: their tags ride on the decision record (`pending`), written with it. Returns (created, view JSON text)."""
    order_id_of(order)  # a missing id is a 422 before any rule set is needed
    view = hub.captured(order, as_of, ruleset_ref, key)
    if view is not None:
        return False, view
    rs = rulesets.resolve(ruleset_ref)
    rs, tags = rollout.routed(live, rs, order, ruleset_ref is not None)  # shadow, rollout
    today = clock.now().date()
    ev = decide.evaluate(rs, order, as_of, "decide", today)
    return hub.store_capture(rs, order, as_of, ruleset_ref, ev, order_text, request_text, key,
                             then=promise_in(clock), tags=rollout.Live.tags(tags, today))


def change_order(hub: Hub, orch: Orchestrator, rs: Any, order_id: str, order: dict[str, Any],
                 as_of: date | None, ruleset_ref: str | None, order_text: str,
                 request_text: str, key: KeyInfo, clock: Clock,
                 if_match: tuple[int, ...] | None = None, live: Any = None
                 ) -> tuple[int, str]:
    """A change order: decided again, stored as the next version with its promise (the old
    reservations given back) and followed by orchestration (cancel the outstanding
    fulfilment request, re-reserve, reschedule or wait for approval) in one transaction.
    Returns (version, view JSON text); the same content as the current version changes
    nothing."""
    prepared = hub.read_change(rs, order_id, order, as_of, ruleset_ref, order_text,
                               request_text, key, if_match)
    if prepared.view is not None:
        return prepared.base, prepared.view
    rs, tags = rollout.routed(live, rs, order, ruleset_ref is not None)  # as a capture
    today = clock.now().date()
    evaluated = decide.evaluate(rs, order, as_of, "decide", today)
    prepared = replace(prepared, rs=rs, evaluated=evaluated,
                       tags=rollout.Live.tags(tags, today))  # on the decision record
    for attempt in range(ATTEMPTS):
        try:
            with hub.db.session(write=True) as s:
                view = hub.write_change(s, prepared)
                promise_in(clock)(s, rs, order_id, evaluated)  # before the sync
                orch.sync_in(s, order_id, key.name)  # reads the new reservations
                return prepared.base + 1, view
        except IntegrityError:
            raise concurrent_change(order_id) from None
        except DatabaseUnavailable as exc:
            if not retryable(exc) or attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def act_on_task(hub: Hub, orch: Orchestrator, task_id: int, action: str,
                comment: str | None, key: KeyInfo) -> dict[str, Any]:
    """Approve or reject an approval task; when that decides the order (every task approved,
    or one rejected) orchestration follows in the same transaction."""
    for attempt in range(ATTEMPTS):
        try:
            with hub.db.session(write=True) as s:
                out = hub.act_in(s, task_id, action, comment, key)
                if out.get("order_id") and out.get("order_status") in ("accepted", "rejected"):
                    orch.sync_in(s, out["order_id"], key.name)
                return out
        except DatabaseUnavailable as exc:
            if not retryable(exc) or attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
