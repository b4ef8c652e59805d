"""The event rules applied to an order: timers armed and fired, windows counted, effects applied.

In: a `Run` (an item's work on its order) and an event. Out: the order's context changed (holds,
state, timers, alerts), timeline entries, ledger operations for stage 2. The rules are pure
(engine/events.py returns effects); holds and releases are the core's (engine/oms_holds.py).
The non-obvious choice: a rule that fails (a bad value, an effect that does not fit the state)
becomes a `rule_error` entry and the event still applies: one bad rule never blocks an order.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ordinance.engine import oms_holds
from ordinance.engine.events import Effect, EventState
from ordinance.engine.values import RuleError

from . import lifecycle
from .eventstore import Event, iso_z
from .orch_run import LEDGER_EFFECTS, LedgerEffect, Run, dumps, plain
from .orch_unit import OrderCtx, count_window
from .store import Conflict

MAX_FIRINGS = 1000  # per timer and tick: a repeating timer far behind catches up in bounds


class Rules:
    """The rules part of `Orchestrator` (adapters/orchestration.py)."""

    # ------------------------------------------------------------------ rules

    def _state(self, run: Run, event: dict[str, Any], at: datetime,
               state: str | None = None) -> EventState:
        return EventState(run.ref, event, run.order, state or run.ctx.state, run.step(event),
                          at.date())

    def _react(self, run: Run, event: Event) -> None:
        rules = run.rules
        if rules is None:
            return
        scope = event.scope()
        ctx, oid = run.ctx, run.ctx.order_id
        for rule in rules.cancelled_by(event.type):
            st = self._state(run, scope, event.at)
            try:
                key = rule.key_of(st)
            except RuleError as exc:
                self._error(run, rule.qid, exc, event.at)
                continue
            # an event that names no key (a cancellation of the whole order) cancels them all
            self._cancel_timers(ctx, rule.qid, key or None)
        for rule in rules.on(event.type):
            st = self._state(run, scope, event.at)
            try:
                st.key = rule.key_of(st)
                if not rule.matches(st):
                    continue
                if rule.is_timer:
                    due = event.at + rule.delay(st)
                    self._cancel_timers(ctx, rule.qid, st.key)
                    run.unit.timer_seq = n = run.unit.timer_seq + 1
                    ctx.timers.append({"id": None, "n": 10 ** 18 + n, "order_id": oid,
                                       "rule": rule.qid, "key": st.key, "first_due": due,
                                       "due_at": due, "state": "armed", "event": dumps(scope),
                                       "fired": 0, "dirty": True})
                    run.timeline(event.at, "timer", f"{rule.qid} armed for {iso_z(due)}",
                                 detail={"rule": rule.qid, "key": st.key, "due": iso_z(due)})
                    continue
                if rule.within is not None:
                    wkey = f"{oid}\x1f{st.key}"
                    measure = format(rule.measure_of(st), "f")
                    entries = ctx.windows.setdefault((rule.qid, wkey), [])
                    entries.append((event.at, measure))
                    run.work.windows.append({"order_id": oid, "rule": rule.qid, "key": wkey,
                                             "at": event.at, "measure": measure})
                    st.S["count"], st.S["sum"] = count_window(entries, event.at, rule.within)
                    if not rule.passes(st):
                        continue
                self._apply(run, rule.fire(st), event.at)
            except (RuleError, Conflict) as exc:
                self._error(run, rule.qid, exc, event.at)

    @staticmethod
    def _cancel_timers(ctx: OrderCtx, rule: str, key: str | None) -> None:
        for t in ctx.timers:
            if t["rule"] == rule and t["state"] == "armed" and (key is None or t["key"] == key):
                t["state"], t["dirty"] = "cancelled", True

    def _error(self, run: Run, rule: str, exc: Exception, at: datetime) -> None:
        err = {"rule": rule, "code": getattr(exc, "code", "RULE_ERROR"),
               "message": getattr(exc, "message", str(exc))}
        where = getattr(exc, "where", None)
        if where:  # the operator's FILE:LINE:COL, else the rule's (engine/events.py `located`)
            err["where"] = str(where)
        run.work.errors.append(err)
        run.timeline(at, "rule_error", f"{rule}: {err['message']}", detail=err)

    def _apply(self, run: Run, effects: list[Effect], at: datetime) -> None:
        for eff in effects:
            if eff.kind in LEDGER_EFFECTS:  # applied to the ledgers in stage 2
                run.work.ledger.append(LedgerEffect(run, eff, at))
            else:
                handler = _EFFECTS.get(eff.kind)
                if handler is None:
                    run.timeline(at, eff.kind, f"{eff.rule}", detail=eff.data)
                else:
                    handler(self, run, eff, at)
            run.work.effects.append({"kind": eff.kind, "rule": eff.rule, **plain(eff.data)})

    # effect handlers -------------------------------------------------------------

    def _hold(self, run: Run, eff: Effect, at: datetime) -> None:
        self.hold(run, eff.data["code"], eff.data["reason"], at, f"rule {eff.rule}")

    def hold(self, run: Run, code: str, reason: str, at: datetime, actor: str) -> None:
        ctx = run.ctx
        with lifecycle.conflict():
            held = oms_holds.hold(ctx.state, ctx.holds, code, reason, iso_z(at), actor)
        if held is None:
            return
        run.timeline(at, "hold", reason, ctx.state, "on_hold", {"code": code}, actor=actor)
        ctx.state, ctx.holds = held

    def _release(self, run: Run, eff: Effect, at: datetime) -> None:
        self.release(run, eff.data["code"], eff.data["reason"], at, f"rule {eff.rule}",
                     quiet=True)

    def release(self, run: Run, code: str | None, reason: str, at: datetime, actor: str,
                quiet: bool = False) -> None:
        ctx = run.ctx
        released = oms_holds.release(ctx.state, ctx.holds, code)
        if released is None:
            if quiet:
                return
            raise Conflict(f"the order has no hold{' ' + code if code else ''} to release",
                           code="NOT_ON_HOLD", details={"state": ctx.state,
                                                        "holds": [h["code"] for h in ctx.holds]})
        to, ctx.holds, gone = released
        run.timeline(at, "release", reason, ctx.state, to,
                     {"codes": [h["code"] for h in gone]}, actor=actor)
        ctx.state = to

    def _transition(self, run: Run, eff: Effect, at: datetime) -> None:
        lifecycle.check_transition(run.ctx.state, eff.data["to"])
        run.move(at, eff.data["to"], eff.data.get("reason") or eff.rule,
                 actor=f"rule {eff.rule}")

    def _alert(self, run: Run, eff: Effect, at: datetime) -> None:
        d, ctx = eff.data, run.ctx
        open_ = next((a for a in ctx.alerts if a["code"] == d["code"] and a["key"] == d["key"]
                      and a["state"] == "open"), None)
        if open_ is None:
            ctx.alerts.append({"id": None, "order_id": ctx.order_id, "code": d["code"],
                               "key": d["key"], "rule": eff.rule, "priority": d["priority"],
                               "message": d["message"], "state": "open", "raised_at": at,
                               "updated_at": at, "cleared_at": None, "clear_reason": None,
                               "dirty": True})
            run.timeline(at, "alert", d["message"], detail=d, actor=f"rule {eff.rule}")
        elif open_["priority"] != d["priority"] or open_["message"] != d["message"]:
            run.timeline(at, "alert", f"{open_['priority']} -> {d['priority']}: "
                         f"{d['message']}", detail=d, actor=f"rule {eff.rule}")
            open_.update(priority=d["priority"], message=d["message"], updated_at=at,
                         dirty=True)

    def _clear(self, run: Run, eff: Effect, at: datetime) -> None:
        d = eff.data
        for a in run.ctx.alerts:
            if a["code"] == d["code"] and a["key"] == d["key"] and a["state"] == "open":
                a.update(state="cleared", cleared_at=at, clear_reason=d["reason"],
                         updated_at=at, dirty=True)
                run.timeline(at, "alert_cleared", d["reason"],
                             detail={"code": a["code"], "key": a["key"]},
                             actor=f"rule {eff.rule}")

    # ------------------------------------------------------------------ timers

    def _fire_due(self, run: Run, until: datetime) -> int:
        if run.rules is None:
            return 0
        due_now = sorted((t for t in run.ctx.timers
                          if t["state"] == "armed" and t["due_at"] <= until),
                         key=lambda t: (t["due_at"], t["n"]))
        fired = 0
        for t in due_now:
            t["dirty"] = True
            rule = run.rules.by_id.get(t["rule"])
            if rule is None:  # the active rule set no longer has the rule
                t["state"] = "cancelled"
                continue
            scope = json.loads(t["event"], parse_float=Decimal, parse_int=Decimal)
            first, due = t["first_due"], t["due_at"]
            for _ in range(MAX_FIRINGS):
                if due > until or t["state"] != "armed":
                    break
                st = self._state(run, scope, due)
                st.key = t["key"]
                st.S["late_days"] = Decimal((due - first) // timedelta(days=1))
                try:
                    self._apply(run, rule.fire(st), due)
                except (RuleError, Conflict) as exc:
                    self._error(run, rule.qid, exc, due)
                fired += 1
                t["fired"] += 1
                if rule.repeat is None:
                    t["state"] = "done"
                    break
                due = due + rule.repeat
            t["due_at"] = due
        return fired


_EFFECTS = {
    "hold": Rules._hold,
    "release_hold": Rules._release,
    "transition": Rules._transition,
    "alert": Rules._alert,
    "clear_alert": Rules._clear,
}
