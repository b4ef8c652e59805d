"""Stage 1 of an orchestration transaction: what an item does to its order.

In: an item (an event, a tick, a release, a sync to the hub) and its order's context, loaded by
the unit of work (adapters/orch_unit.py). Out: the order's context changed in memory (state,
holds, lines, timers), timeline entries, and stage-2 operations on the shared ledgers. The
decisions are the core's (engine/oms_lifecycle.py, oms_change.py, oms_holds.py, oms_stock.py,
engine/events.py); this mixin of `Orchestrator` applies them and translates their refusals
into 409s. The non-obvious choice: a change order is followed here only after the core agreed
to it (not below what shipped, not on a closed order), before any reservation moves.
"""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordinance.engine import oms_change, oms_holds, oms_stock
from ordinance.engine.events import EventRules
from ordinance.engine.processes import choose, plan_of
from ordinance.engine.values import RuleError, render

from . import billing, lifecycle, supply_reserve
from .eventstore import Event, iso_z
from .orch_run import InvoiceDue, Item, LedgerEvent, Run, StockOp, dumps
from .orch_unit import OrderCtx, Unit, Work
from .store import Conflict, NotFound
from .supply_reserve import SupplyOp


class Items:
    """Stage 1 of `Orchestrator` (adapters/orchestration.py): the items' handlers."""

    def _ctx(self, unit: Unit, order_id: str, rs: Any, rules: EventRules | None, at: datetime,
             cause: Event | None, work: Work, actor: str) -> OrderCtx:
        """The order's context; made (process chosen, allocations reserved) the first time
        orchestration sees the order."""
        hub = unit.hub.get(order_id)
        if hub is None:
            raise NotFound(f"no order {order_id!r} in the hub; capture it with POST /v1/orders",
                           code="ORDER_NOT_FOUND")
        ctx = unit.ctxs.get(order_id)
        if ctx is not None:
            return ctx
        decision_id, status, _ = hub
        order = self._decided_order(unit.s, decision_id)
        process, plan = None, []
        if rs is not None and getattr(rs.model, "processes", None):
            try:
                chosen = choose(rs.model.processes, order, rs.ref, at.date())
                if chosen is not None:
                    process, plan = chosen.id, plan_of(chosen, order, rs.ref, at.date())
            except RuleError:
                process, plan = None, []
        ctx = OrderCtx(order_id, lifecycle.initial_state(status),
                       self._decision_holds(decision_id, at) if status == "on_hold" else [],
                       process, json.loads(dumps(plan)),
                       self._lines_of(unit.s, decision_id, order),
                       str(getattr(rs, "digest", "")), decision_id, at, exists=False)
        unit.ctxs[order_id] = ctx
        run = Run(unit, ctx, order, rules, rs, actor, work)
        self._reserve(run, cause or Event("captured", "order_captured", at, {}, ""), +1)
        return ctx

    def _decision_holds(self, decision_id: str, at: datetime) -> list[dict[str, Any]]:
        """The holds a decision put the order on, as holds of orchestration: each released by a
        person with a reason like any other. Released, the order goes on as its decision
        would have had it without them: waiting for approval when it needs one, else captured."""
        _pricing, _sourcing, holds, approvals = self._extras.get(decision_id, ({}, {}, [], []))
        return oms_holds.decision_holds(holds, approvals, iso_z(at))

    def _lines_of(self, s: Any, decision_id: str, order: dict[str, Any]) -> dict[str, Any]:
        """Per line: ordered and shipped quantities, sku, net, and the sourcing allocations
        still reserved for it ({location: quantity})."""
        self._decided_order(s, decision_id)
        pricing, sourcing, _holds, _approvals = self._extras.get(decision_id, ({}, {}, [], []))
        nets = {str(p.get("line_id")): p.get("net") for p in pricing.get("lines") or []
                if isinstance(p, dict)}
        allocs: dict[str, dict[str, str]] = {}
        for sl in sourcing.get("lines") or []:
            if isinstance(sl, dict):
                allocs[str(sl.get("line_id"))] = {
                    str(a["location"]): render(a["quantity"]) for a in sl.get("allocations")
                    or [] if isinstance(a, dict) and a.get("location")}
        promised = supply_reserve.allocations(s, decision_id)  # reserved from stored supply
        if promised is not None:
            allocs = promised
        lines = {}
        for i, ln in enumerate(order.get("lines") or []):
            if isinstance(ln, dict):
                lid = render(ln.get("id")) or str(i + 1)
                lines[lid] = {"ordered": render(ln.get("quantity") or 0) or "0", "shipped": "0",
                              "sku": render(ln.get("sku")),
                              "net": render(nets.get(lid)) or None,
                              "allocations": allocs.get(lid, {})}
        return lines

    # ------------------------------------------------------------------ stage 1: items

    def _on_event(self, unit: Unit, it: Item, rs: Any, rules: EventRules | None,
                  work: Work) -> Any:
        event, order_id = it.event, it.order_id
        assert event is not None
        known = unit.records.get((order_id, event.id))
        if known is not None:
            if known[0] != event.digest:
                raise Conflict(f"event id {event.id!r} was already used for another event of "
                               "this order", code="EVENT_ID_REUSED", path="$.id")
            return ("duplicate", known[1])
        ctx = self._ctx(unit, order_id, rs, rules, event.at, event, work, it.actor)
        run = Run(unit, ctx, self._decided_order(unit.s, ctx.decision_id), rules, rs,
                   it.actor, work)
        before = ctx.state
        self._sync_hub(run, event.at)
        self._fire_due(run, event.at)
        self._lifecycle(run, event)
        run.timeline(event.at, "event", event.type, detail={"event_id": event.id,
                                                              "payload": event.payload})
        self._react(run, event)
        for derived in run.derived:
            self._react(run, derived)
        ctx.updated_at, ctx.dirty = event.at, True
        work.answer = {"order_id": order_id, "event_id": event.id, "type": event.type,
                       "at": iso_z(event.at), "previous_state": before, "state": ctx.state,
                       "holds": [dict(h) for h in ctx.holds], "effects": work.effects,
                       "errors": work.errors, "invoices": work.invoices, "duplicate": False}
        work.record = {"order_id": order_id, "event_id": event.id, "type": event.type,
                       "at": event.at, "payload_hash": event.digest}
        unit.records[(order_id, event.id)] = (event.digest, work.answer)
        return work.answer

    def _on_tick(self, unit: Unit, it: Item, rs: Any, rules: EventRules | None,
                 work: Work) -> Any:
        ctx = unit.ctxs.get(it.order_id)
        if ctx is None or it.order_id not in unit.hub or it.at is None:
            return {"fired": 0}
        run = Run(unit, ctx, self._decided_order(unit.s, ctx.decision_id), rules, rs,
                   "clock", work)
        fired = self._fire_due(run, it.at)
        ctx.dirty = ctx.dirty or fired > 0
        return {"fired": fired}

    def _on_release(self, unit: Unit, it: Item, rs: Any, rules: EventRules | None,
                    work: Work) -> Any:
        assert it.at is not None
        ctx = self._ctx(unit, it.order_id, rs, rules, it.at, None, work, it.actor)
        run = Run(unit, ctx, self._decided_order(unit.s, ctx.decision_id), rules, rs,
                   it.actor, work)
        self.release(run, it.code, it.reason, it.at, it.actor)
        ctx.updated_at, ctx.dirty = it.at, True
        return {"order_id": it.order_id, "state": ctx.state,
                "holds": [dict(h) for h in ctx.holds]}

    def _on_sync(self, unit: Unit, it: Item, rs: Any, rules: EventRules | None,
                 work: Work) -> Any:
        ctx = unit.ctxs.get(it.order_id)
        if ctx is None or it.order_id not in unit.hub or it.at is None:
            return None  # orchestration has not seen the order yet: its first event will
        run = Run(unit, ctx, self._decided_order(unit.s, ctx.decision_id), rules, rs,
                   it.actor, work)
        before = (ctx.state, ctx.decision_id)
        self._fire_due(run, it.at)
        self._sync_hub(run, it.at)
        for derived in run.derived:
            self._react(run, derived)
        ctx.dirty = True
        if (ctx.state, ctx.decision_id) != before:
            ctx.updated_at = it.at
        return {"order_id": it.order_id, "state": ctx.state,
                "holds": [dict(h) for h in ctx.holds]}

    def _sync_hub(self, run: Run, at: datetime) -> None:
        """An approval or a change order in the hub moves the orchestration state along."""
        ctx = run.ctx
        decision_id, status, version = run.unit.hub[ctx.order_id]
        if ctx.decision_id != decision_id:
            self._change(run, decision_id, status, version, at)
        if ctx.state == "pending_approval" and status == "accepted":
            run.move(at, "captured", "approved in the hub", actor="approvals")
        elif ctx.state == "pending_approval" and status == "rejected":
            run.move(at, "cancelled", "rejected in the hub", actor="approvals")

    def _change(self, run: Run, decision_id: str, status: str, version: int,
                at: datetime) -> None:
        """A change order decided again in the hub: what was shipped stays shipped; the
        outstanding fulfilment request is cancelled (its reservations given back, its step
        timers cancelled by a `fulfilment_cancelled` event); the new decision's allocations are
        reserved; the order is rescheduled, or waits for approval when the new decision needs
        it (or is cancelled when it is rejected)."""
        ctx = run.ctx
        if ctx.state in lifecycle.FINAL:
            raise Conflict(f"order {ctx.order_id!r} is {ctx.state}; a change order cannot "
                           "reopen it (capture a new order instead)", code="ORDER_CLOSED",
                           details={"state": ctx.state})
        order = self._decided_order(run.unit.s, decision_id)
        new_lines = self._lines_of(run.unit.s, decision_id, order)
        with lifecycle.conflict():  # 409 BELOW_SHIPPED, before anything moved
            oms_change.check_shipped(ctx.lines, new_lines, order)
        self._reserve(run, Event(f"change-v{version}", "order_changed", at, {}, ""), -1)
        run.order = order
        ctx.lines = oms_change.rebase(ctx.lines, new_lines)
        ctx.decision_id = decision_id
        self._reserve(run, Event(f"change-v{version}-new", "order_changed", at, {}, ""), +1)
        frm = ctx.state
        run.timeline(at, "change", f"order version {version} decided {status}",
                     detail={"version": version, "status": status})
        if frm in oms_change.CANCELS_FULFILMENT:
            system = run.ship_system()
            run.timeline(at, "fulfilment_cancelled", f"outstanding fulfilment request "
                         f"cancelled{' at ' + system if system else ''}",
                         detail={"system": system})
            run.derived.append(Event(f"change-v{version}-cancel", "fulfilment_cancelled",
                                     at, {"version": version}, ""))
        moved = oms_change.target(frm, status)
        if moved is not None:
            to, accepted = moved
            if status == "on_hold":  # the new decision's holds, releasable like any other
                for h in self._decision_holds(decision_id, at):
                    if all(o["code"] != h["code"] for o in ctx.holds):
                        ctx.holds = ctx.holds + [
                            {**h, "resume": accepted if h["resume"] == "captured"
                             else h["resume"]}]
            run.move(at, to, f"change order (version {version})"
                     + (": rescheduled" if to == "scheduled" else ""), actor="change")
            if frm == to == "scheduled":  # no move, but the request was cancelled above
                run.request_fulfilment(at)
        run.derived.append(Event(f"change-v{version}-changed", "order_changed", at,
                                 {"version": version, "status": status}, ""))

    def _lifecycle(self, run: Run, event: Event) -> None:
        ctx = run.ctx
        to = lifecycle.next_state(ctx.state, event.type)
        if event.type == "shipment_confirmed":
            self._ship(run, event)
        if event.type == "cancelled":
            self._reserve(run, event, -1)
            run.work.ledger.append(SupplyOp("release", ctx.order_id, event.at))
        if event.type == "delivered" and not lifecycle.fully_shipped(ctx.lines):
            raise Conflict("the order is not fully shipped; delivered needs every line shipped",
                           code="WRONG_STATE", details={"state": ctx.state})
        run.move(event.at, to, event.type)

    # ------------------------------------------------------------------ stock

    def _reserve(self, run: Run, event: Event, sign: int) -> None:
        """Reserves (sign +1) or gives back (-1) the allocations still held for the lines (the
        stock moves themselves are made in stage 2)."""
        lines = run.ctx.lines
        for n, m in enumerate(oms_stock.reservations(lines, sign), 1):
            run.work.ledger.append(StockOp(run, run.ctx.state, event.at, f"{event.id}#{n}",
                                           m.location, m.sku, m.on_hand, m.allocated))
            if sign < 0:
                lines[m.line_id]["allocations"][m.location] = "0"

    def _ship(self, run: Run, event: Event) -> None:
        """Per shipped line: the quantities, the stock it leaves, and a `line_shipped` event
        (sku, quantity, location, amount: the line's net share, exact to the cent); and the
        shipment's invoice (numbered in stage 2)."""
        ctx = run.ctx
        lines = ctx.lines
        shipped = [(str(ln["line_id"]), ln["quantity"], ln.get("location"))
                   for ln in event.payload.get("lines", [])]
        lifecycle.apply_shipment(lines, [(lid, q) for lid, q, _ in shipped])
        pricing = self._extras.get(ctx.decision_id, ({}, {}))[0]
        doc = billing.compose(ctx.order_id, event.id, event.at, pricing, lines,
                              [(lid, q) for lid, q, _ in shipped], run.reference,
                              run.order.get("customer"), first=ctx.invoices == 0,
                              order=run.order, billed=ctx.billed)
        if doc is not None:
            ctx.invoices += 1
            billing.add_billed(ctx.billed, doc)
            entry = run.timeline(event.at, "invoice", "")  # cause and detail once numbered
            run.work.ledger.append(InvoiceDue(run, doc, entry, event.at))
        n = 0
        for lid, qty, loc in shipped:
            line = lines[lid]
            allocs = line.setdefault("allocations", {})
            loc = oms_stock.ship_from(line, qty, loc)
            amount = oms_stock.shipped_amount(line, qty)
            n += 1
            run.work.ledger.append(LedgerEvent(run, ctx.state, Event(
                f"{event.id}#{n}", "line_shipped", event.at, {
                    "line_id": lid, "sku": line.get("sku"), "quantity": qty, "location": loc,
                    "amount": amount, "currency": run.order.get("currency"),
                    "order_id": ctx.order_id}, "")))
            if loc is None or not line.get("sku"):
                continue
            run.work.ledger.append(SupplyOp("ship", ctx.order_id, event.at, lid, str(loc),
                                            Decimal(qty)))
            m = oms_stock.shipment_move(lid, line, qty, str(loc))
            if m.allocated:
                allocs[m.location] = str(Decimal(allocs[m.location]) + m.allocated)
            n += 1
            run.work.ledger.append(StockOp(run, ctx.state, event.at, f"{event.id}#{n}",
                                           m.location, m.sku, m.on_hand, m.allocated))
