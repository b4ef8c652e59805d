"""Shadow mode and KPI-gated rollouts on live decisions: the use cases.

In: the service's Context; per decision, the request and its answer. Out: `Live.route` tells
the decide use case (and the hub's capture and change, api/usecases/orders.py) which rule set
decides an order (the candidate for a rollout's share of its segments, by the hash of the
rollout id and the order id); `Live.tags` says what a shadow or a rollout must count of the
decision, carried on its decision record (`pending`, written by the record's own INSERT);
`Live.round` (a job of the background worker, adapters/worker.py) claims decisions with
pending work, decides shadow pairs with the candidate, stores the records, and checks each
running rollout against its thresholds: rolled back when one is crossed, promoted
(activated) once it has `promote_after` candidate decisions with none crossed. `start`,
`end`, `promote`, `read` back the REST routes (api/routes_rollout.py).

The non-obvious choices:
- Nothing here runs on the request path but `route` and `tags`: an attribute read, a hash,
  and a few tuples that become one more column of the decision record's INSERT (the
  decision log's batch, or the hub's transaction): no second statement, and the work is
  durable and exactly as complete as the log. The candidate of a shadow is evaluated in a
  worker's round, never in the request. The running rollouts are read from the database by
  the worker (and by the routes that change them), not per request.
- Several processes: any worker claims any process's decisions (adapters/rollouts.py
  `claim`, `finish`: a lease on the record, FOR UPDATE SKIP LOCKED on PostgreSQL), so each
  tag is counted once, and ending a rollout is one conditional UPDATE (`end`), so only one
  process rolls it back and writes the audit entry and the webhook.
- POST /v1/decisions (and validate, price) and the hub's POST /v1/orders and PUT
  /v1/orders/{id} take part: an order naming its rule set (`"ruleset"`) is never rerouted;
  an order without an id is not counted. A change order is routed like any order, by the
  hash: it stays on the candidate while the rollout runs and its segments still match, and
  after a rollback (or a stop) it is decided by the active set again.
"""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from ordinance.adapters import rollouts as store
from ordinance.adapters.store import Conflict, Invalid, NotFound
from ordinance.engine import answer
from ordinance.engine.rollout import Plan, PlanError, crossed, read_plan

log = logging.getLogger("ordinance.rollout")

CLAIM_BATCH = 500      # decisions with pending work one claim leases
MAX_CLAIMS = 4         # claims per round (so at most 2,000 decisions a round)


@dataclass(frozen=True)
class Running:
    id: str
    mode: str
    candidate_ref: str
    plan: Plan
    candidate: Any        # compiled


class Live:
    """One per service process (on the Context): the running plans, read each round."""

    def __init__(self) -> None:
        self.running: tuple[Running, ...] = ()
        self.segmenter: Any = None
        self.discarded = 0    # tags of rollouts no longer running, or unreadable
        self.failed = 0       # tags the candidate could not decide
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

    @staticmethod
    def tags(counted: list[tuple[Running, str]], today: date) -> list[store.Tag]:
        """What one decision's record carries for the worker (its `pending`, written by the
        record's own INSERT: adapters/rollouts.py), one (rollout id, side, today) each."""
        return [(r.id, side, today) for r, side in counted]

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
            before = (self.discarded, self.failed)
            self.refresh(ctx)  # a fresh process knows what runs before it claims rows
            stored = self.drain(ctx)
            ended = self._check(ctx)
            if ended:
                self.refresh(ctx)
            return {"records": stored, "ended": ended,
                    "discarded": self.discarded - before[0], "failed": self.failed - before[1]}

    def drain(self, ctx: Any) -> int:
        """Claims decisions with pending work (any process's), decides and stores what each
        tag counts; records stored."""
        stored, batch = 0, CLAIM_BATCH
        for _ in range(MAX_CLAIMS):
            token = "c_" + uuid.uuid4().hex[:30]
            claimed = store.claim(ctx.db, token, ctx.clock.now(), batch)
            if not claimed:
                break
            known = {r.id for r in self.running}
            if any(q.rollout_id not in known for q in claimed):
                self.refresh(ctx)  # started since this round's refresh (another process)
            results = {q.id: self._record(ctx, q) for q in claimed}
            stored += store.finish(ctx.db, token, results)[1]
            if len({q.seq for q in claimed}) < batch:
                break
        return stored

    def _record(self, ctx: Any, q: store.Claimed) -> dict[str, Any] | None:
        """The record of one claimed tag, None when there is none to store."""
        from ordinance.engine import loads
        from ordinance.simulator.compare import compare
        from ordinance.simulator.money import Costing

        r = next((x for x in self.running if x.id == q.rollout_id), None)
        if r is None or q.decision is None or q.request is None:
            self.discarded += 1  # ended meanwhile (its figures are final), or unreadable
            return None
        now = ctx.clock.now()
        try:
            body = loads(q.decision)
            if q.side == "shadow":  # the same kind of decision (decide, validate, price)
                assert q.today is not None  # a running rollout's tag always has its day
                order, as_of = request_of(q.request, q.order_id)
                kind = "decide" if q.kind == "order" else q.kind
                cand = answer.decide(r.candidate, order, as_of, kind, q.today).to_json()
                base = {k: v for k, v in body.items() if k != "decision_id"}
                diff = compare(base, cand)
                pair = {"order_id": q.order_id, "baseline": base, "candidate": cand}
                return store.record(r.id, "shadow", q.order_id, now, cand, pair=pair,
                                    changed=diff.changed, decision_id=q.decision_id)
            rs = r.candidate if q.side == "candidate" else ctx.rulesets.resolve(None)
            costing = Costing.of(rs.reference)
            margin = None
            if costing is not None and body.get("pricing"):
                _, margin, _ = costing.margin(body["pricing"])
            return store.record(r.id, q.side, q.order_id, now, body, margin,
                                decision_id=q.decision_id)
        except Exception as exc:  # noqa: BLE001 - one bad decision must not stop the rest
            self.failed += 1
            log.warning("rollout %s: decision %s not counted: %s: %s", q.rollout_id,
                        q.decision_id, exc.__class__.__name__, exc)
            return None

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


# --- the hub's hook (api/usecases/orders.py: capture and change orders) --------------------

def routed(live: Live | None, rs: Any, order: dict[str, Any], named: bool
           ) -> tuple[Any, list[tuple[Running, str]]]:
    """The rule set that decides a hub order (a rollout's candidate for its share, else
    `rs`) and the rollouts that count it."""
    if live is None or not live.running:
        return rs, []
    chosen, tags = live.route(order, named)
    return chosen or rs, tags


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


def request_of(text: str, order_id: str) -> tuple[dict[str, Any], date | None]:
    """The order and as-of of a logged request (`{"order": ..., "as_of": ...}`, as the door
    read it: numbers exact); a change order's id comes from its URL when the body has none."""
    from ordinance import engine
    from ordinance.adapters.store import DECISION_REQUEST, MAX_BYTES, MAX_ITEMS, MAX_LINES
    from ordinance.engine import codec

    body = codec.read(text.encode(), DECISION_REQUEST, max_items=MAX_ITEMS,
                      max_lines=MAX_LINES, max_bytes=MAX_BYTES)
    order = engine.validate_order(body["order"], max_lines=MAX_LINES, max_items=MAX_ITEMS)
    if order.get("id") is None:
        order["id"] = order_id
    as_of = body.get("as_of")
    return order, None if as_of is None else date.fromisoformat(as_of)


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
    live(ctx).round(ctx)  # what the decisions so far left is counted
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
