"""Shadow mode and KPI-gated rollouts on live decisions: the use cases.

In: the service's Context; per decision, the request and its answer. Out: `Live.route` tells
the decide use case which rule set decides an order (the candidate for a rollout's share of
its segments, by the hash of the order id); `Live.offer` queues what a shadow or a rollout
must count; `Live.round` (a job of the background worker, adapters/worker.py) drains the
queue, decides shadow pairs with the candidate, stores the records, and checks each running
rollout against its thresholds: rolled back when one is crossed, promoted (activated) once it
has `promote_after` candidate decisions with none crossed. `start`, `end`, `promote`, `read`
back the REST routes (api/routes_rollout.py).

The non-obvious choices:
- Nothing here runs on the request path but `route` and `offer`: an attribute read, a hash,
  and an append to a bounded deque (`MAX_QUEUE`; past it an item is dropped and counted).
  The candidate of a shadow is evaluated in the worker's round, never in the request. The
  running rollouts are read from the database by the worker (and by the routes that change
  them), not per request.
- Several processes: each counts its own decisions into the same tables, and ending a rollout
  is one conditional UPDATE (adapters/rollouts.py `end`), so only one process rolls it back and
  writes the audit entry and the webhook.
- Only POST /v1/decisions (and validate, price) takes part: an order naming its rule set
  (`"ruleset"`) is never rerouted; an order without an id is not counted.
"""
from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass
from typing import Any

from ordinance.adapters import rollouts as store
from ordinance.adapters.store import Conflict, Invalid, NotFound
from ordinance.engine import answer
from ordinance.engine.rollout import Plan, PlanError, crossed, read_plan

log = logging.getLogger("ordinance.rollout")

MAX_QUEUE = 10_000     # queued items per process
MAX_DRAIN = 2_000      # items one round stores


@dataclass(frozen=True)
class Running:
    id: str
    mode: str
    candidate_ref: str
    plan: Plan
    candidate: Any        # compiled


class Live:
    """One per service process (on the Context): the running plans and the queue."""

    def __init__(self) -> None:
        self.running: tuple[Running, ...] = ()
        self.segmenter: Any = None
        self.queue: collections.deque[tuple[Any, ...]] = collections.deque()
        self.dropped = 0
        self._lock = threading.Lock()

    # --- the request path ---------------------------------------------------------------
    def route(self, order: dict[str, Any], named: bool) -> tuple[Any, list[tuple[Running, str]]]:
        """(the candidate when it decides this order else None, [(running, side)] to count)."""
        running = self.running
        if not running or named or self.segmenter is None:
            return None, []
        oid = order.get("id")
        if oid is None:
            return None, []
        oid, segments = str(oid), self.segmenter.of(order)
        chosen, tags = None, []
        for r in running:
            if r.mode == "rollout":
                if r.plan.in_segments(segments):
                    take = r.plan.takes(oid, segments)
                    tags.append((r, "candidate" if take else "active"))
                    if take:
                        chosen = r.candidate
            elif r.plan.samples(oid, segments):
                tags.append((r, "shadow"))
        return chosen, tags

    def offer(self, tags: list[tuple[Running, str]], order: dict[str, Any], as_of: Any,
              today: Any, body: dict[str, Any], kind: str = "decide") -> None:
        for r, side in tags:
            if len(self.queue) >= MAX_QUEUE:
                self.dropped += 1
                continue
            self.queue.append((r, side, order, as_of, today, body, kind))

    # --- the worker's round -------------------------------------------------------------
    def refresh(self, ctx: Any) -> None:
        from ordinance.engine.segments import Segmenter

        found = []
        for rid, mode, ref, plan in store.running(ctx.db):
            try:
                found.append(Running(rid, mode, ref, plan, ctx.rulesets.resolve(ref)))
            except Exception as exc:  # noqa: BLE001 - a rule set gone: log, keep the others
                log.warning("rollout %s: candidate %s does not load: %s", rid, ref, exc)
        try:
            active = ctx.rulesets.resolve(None)
            self.segmenter = Segmenter(active.reference)
        except Exception:  # noqa: BLE001 - no active set: nothing to route
            self.segmenter = None
        self.running = tuple(found)

    def round(self, ctx: Any) -> dict[str, Any]:
        with self._lock:  # one round at a time in a process (the worker; a route's nudge)
            stored = self._drain(ctx)
            ended = self._check(ctx)
            self.refresh(ctx)
        return {"records": stored, "ended": ended, "dropped": self.dropped}

    def _drain(self, ctx: Any) -> int:
        from ordinance.simulator.compare import compare
        from ordinance.simulator.money import Costing

        now = ctx.clock.now()
        rows = []
        for _ in range(min(len(self.queue), MAX_DRAIN)):
            r, side, order, as_of, today, body, kind = self.queue.popleft()
            oid = str(order.get("id"))
            if side == "shadow":  # the same kind of decision (decide, validate, price)
                cand = answer.decide(r.candidate, order, as_of, kind, today).to_json()
                base = {k: v for k, v in body.items() if k != "decision_id"}
                diff = compare(base, cand)
                pair = {"order_id": oid, "baseline": base, "candidate": cand}
                rows.append(store.record(r.id, "shadow", oid, now, cand, pair=pair,
                                         changed=diff.changed))
                continue
            rs = r.candidate if side == "candidate" else None
            reference = (rs or ctx.rulesets.resolve(None)).reference
            costing = Costing.of(reference)
            margin = None
            if costing is not None and body.get("pricing"):
                _, margin, _ = costing.margin(body["pricing"])
            rows.append(store.record(r.id, side, oid, now, body, margin))
        return store.add_records(ctx.db, rows)

    def _check(self, ctx: Any) -> int:
        ended = 0
        for r in self.running:
            if r.mode != "rollout":
                continue
            t = store.tallies(ctx.db, r.id)
            over = crossed(t["active"], t["candidate"], r.plan)
            if over:
                if store.end(ctx.db, r.id, "rolled_back", "worker", None,
                             {"crossed": over, "kpis": kpis_json(t)}, ctx.clock.now()):
                    ended += 1
                    log.warning("rollout %s rolled back: %s", r.id, over)
            elif r.plan.promote_after is not None and \
                    t["candidate"].orders >= r.plan.promote_after and \
                    t["active"].orders >= r.plan.min_orders:
                if _promote(ctx, r.id, "worker", None, {"rule": "promote_after",
                                                        "kpis": kpis_json(t)}):
                    ended += 1
        return ended


_LIVE_LOCK = threading.Lock()


def live(ctx: Any) -> Live:
    """The process's `Live`, made on first use (kept on the Context)."""
    found = getattr(ctx, "rollout_live", None)
    if found is None:
        with _LIVE_LOCK:
            found = getattr(ctx, "rollout_live", None)
            if found is None:
                found = Live()
                ctx.rollout_live = found
    return found


def kpis_json(t: dict[str, Any]) -> dict[str, Any]:
    return {side: tally.to_json() for side, tally in t.items()}


def _promote(ctx: Any, rid: str, by: str, key_id: int | None, reason: dict[str, Any]) -> bool:
    """Activates the candidate and ends the rollout `promoted`, once (see store.end)."""
    if store.end(ctx.db, rid, "promoted", by, key_id, reason, ctx.clock.now()) is None:
        return False
    ctx.rulesets.invalidate_active()
    return True


# --- the routes' use cases -----------------------------------------------------------------

def start(ctx: Any, body: dict[str, Any], key: Any) -> dict[str, Any]:
    mode = body.get("mode")
    if mode not in ("shadow", "rollout"):
        raise Invalid("mode is shadow or rollout", code="BAD_ROLLOUT", path="$.mode")
    ref = body.get("candidate")
    if not isinstance(ref, str) or not 0 < len(ref) <= 300:
        raise Invalid("candidate is a stored rule set, NAME@DIGEST or NAME@VERSION",
                      code="BAD_ROLLOUT", path="$.candidate")
    rid = store.new_id()
    try:
        plan = read_plan(rid, body)
    except PlanError as exc:
        raise Invalid(exc.message, code="BAD_ROLLOUT", path=exc.path) from None
    candidate = ctx.rulesets.resolve(ref)
    active = ctx.rulesets.resolve(None)
    if candidate.digest == active.digest:
        raise Conflict("the candidate is the active rule set", code="CANDIDATE_IS_ACTIVE",
                       path="$.candidate")
    out = store.start(ctx.db, rid, mode, f"{candidate.name}@{candidate.digest}",
                      f"{active.name}@{active.digest}", plan, key.name, ctx.clock.now())
    live(ctx).refresh(ctx)
    return out


def stop(ctx: Any, rid: str, key: Any) -> dict[str, Any]:
    live(ctx).round(ctx)  # what this process queued counts
    out = store.end(ctx.db, rid, "stopped", key.name, key.id, {"by": "hand"}, ctx.clock.now())
    if out is None:
        raise Conflict(f"{rid} is not running: {store.get(ctx.db, rid)['state']}",
                       code="ROLLOUT_NOT_RUNNING")
    live(ctx).refresh(ctx)
    return out


def promote(ctx: Any, rid: str, key: Any) -> dict[str, Any]:
    info = store.get(ctx.db, rid)
    if info["mode"] != "rollout":
        raise Conflict("only a rollout is promoted; a shadow is stopped", code="NOT_A_ROLLOUT")
    live(ctx).round(ctx)
    if not _promote(ctx, rid, key.name, key.id, {"by": "hand"}):
        raise Conflict(f"{rid} is not running: {store.get(ctx.db, rid)['state']}",
                       code="ROLLOUT_NOT_RUNNING")
    live(ctx).refresh(ctx)
    return store.get(ctx.db, rid)


def read(ctx: Any, rid: str) -> dict[str, Any]:
    """The rollout with its figures: each side's tally and the thresholds crossed now; for a
    shadow, the simulator's summary of its stored pairs."""
    from ordinance.engine.rollout import plan_of

    out = store.get(ctx.db, rid)
    if out["mode"] == "rollout":
        t = store.tallies(ctx.db, rid)
        out["kpis"] = kpis_json(t)
        out["crossed"] = crossed(t["active"], t["candidate"], plan_of(rid, out["plan"]))
        return out
    out["shadow"] = shadow_summary(ctx, rid)
    return out


def shadow_summary(ctx: Any, rid: str) -> dict[str, Any]:
    from ordinance.simulator.compare import compare
    from ordinance.simulator.summary import Summary

    total, changed, pairs = store.pairs(ctx.db, rid)
    summary = Summary(20)
    for n, pair in enumerate(pairs, start=1):
        base, cand = pair["baseline"], pair["candidate"]
        summary.add(n, base.get("order") or {}, base, cand, compare(base, cand))
    out = summary.to_json()
    out.update({"pairs": total, "pairs_changed": changed, "summarised": len(pairs)})
    return out


def not_found(rid: str) -> NotFound:
    return NotFound(f"no rollout {rid}", code="NOT_FOUND")
