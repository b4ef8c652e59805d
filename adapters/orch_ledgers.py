"""Stage 2 of an orchestration transaction: the shared ledgers, worked in the items' order.

In: the stage-2 operations the items left (stock moves, `line_shipped` events, reorder, rebate
and claim effects, invoices to number). Out: the ledger rows changed (stock levels, accruals,
locked in key order) and the rows to insert (reorders, rebate entries, claims, numbered
invoices). Rules on ledger events may only act on ledgers (engine/events.py LEDGER_ACTIONS), so
the result does not depend on how events were grouped into transactions.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ordinance.engine.events import Effect
from ordinance.engine.values import RuleError

from . import billing, inventory, rebates, supply_reserve
from .eventstore import Event
from .orch_run import (Books, InvoiceDue, LedgerEffect, LedgerEvent, Run,
                       StockOp, dumps, plain)
from .orch_unit import Unit, Work
from .store import Conflict
from .supply_reserve import SupplyOp


class Ledgers:
    """Stage 2 of `Orchestrator` (adapters/orchestration.py)."""

    # ------------------------------------------------------------------ stage 2: ledgers

    def _ledgers(self, unit: Unit, works: list[Work], rs: Any) -> Books:
        """Stock moves, ledger events and ledger effects of the transaction, in order."""
        books = Books(unit)
        ops = [op for work in works for op in work.ledger]
        if not ops:
            return books
        reference = getattr(rs, "reference", None) or {}
        moves = [op for op in ops if isinstance(op, StockOp)]
        if moves:
            keys = [(m.location, m.sku) for m in moves]
            books.stock = unit.stock(keys, reference.get("inventory"), moves[0].at)
            books.open_reorders = unit.open_reorders(keys)
            books.checked = set(books.stock)
        for op in ops:
            if isinstance(op, StockOp):
                row = books.stock[(op.location, op.sku)]
                row["_dirty"] = True
                payload = inventory.apply(row, op.at, op.on_hand, op.allocated)
                self._react_ledger(op.run, books, Event(op.event_id, "stock_changed", op.at, {
                    **payload, "order_id": op.run.ctx.order_id}, ""), op.state)
            elif isinstance(op, LedgerEvent):
                self._react_ledger(op.run, books, op.event, op.state)
            elif isinstance(op, LedgerEffect):
                self._ledger_effect(op.run, books, op.effect, op.at, answer=False)
            elif isinstance(op, SupplyOp):  # promising's reservations (issue 14)
                supply_reserve.apply(unit.s, op)
        self._accrue(unit, books, reference)
        invoices = [op for op in ops if isinstance(op, InvoiceDue)]
        if invoices:
            seq = unit.next_invoice_seq()
            for run, doc, entry, at in invoices:
                books.rows["invoices"].append(billing.numbered(doc, seq, at))
                seq += 1
                run.work.invoices.append(doc["number"])
                entry["cause"] = f"invoice {doc['number']}: {doc['total']} {doc['currency']}"
                entry["detail"] = dumps({"number": doc["number"], "total": doc["total"]})
        return books

    def _react_ledger(self, run: Run, books: Books, event: Event, state: str) -> None:
        """A ledger event's rules (only ledger actions: checked when the rule set loads)."""
        if run.rules is None:
            return
        scope = event.scope()
        for rule in run.rules.on(event.type):
            st = self._state(run, scope, event.at, state)
            try:
                st.key = rule.key_of(st)
                if not rule.matches(st):
                    continue
                for eff in rule.fire(st):
                    self._ledger_effect(run, books, eff, event.at, answer=True)
            except (RuleError, Conflict) as exc:
                self._error(run, rule.qid, exc, event.at)

    def _ledger_effect(self, run: Run, books: Books, eff: Effect, at: datetime,
                       answer: bool) -> None:
        """A ledger effect; `answer`: list it in the event's answer (an effect of a stage-1
        rule is listed there already)."""
        actor, oid = f"rule {eff.rule}", run.ctx.order_id
        try:
            if eff.kind == "reorder":
                row = inventory.proposal(eff.data, eff.rule, oid, at)
                key = (row["location"], row["sku"])
                if not books.has_open_reorder(key):
                    books.open_reorders.add(key)
                    books.rows["reorders"].append(row)
                    run.timeline(at, "reorder", f"proposed {eff.data.get('quantity')} of "
                                 f"{eff.data.get('sku')} for {eff.data.get('location')}",
                                 detail=eff.data, actor=actor)
            elif eff.kind == "claim":
                row = rebates.claim(eff.data, oid, at)
                books.rows["claims"].append(row)
                run.timeline(at, "claim", f"ship-and-debit claim {row['amount']} on "
                             f"{eff.data.get('agreement')}", detail=eff.data, actor=actor)
            elif eff.kind == "accrue":
                key = rebates.period_key(run.reference, eff.data, at)
                entry = run.timeline(at, "rebate", "", actor=actor)  # filled by _accrue
                if key is None:
                    entry["cause"], entry["detail"] = "no programme", dumps(
                        {"skipped": "no programme", "ruleset": run.judge})
                else:
                    books.accruals.append((key, run, eff, at, entry))
            else:
                run.timeline(at, eff.kind, f"{eff.rule}", detail=eff.data)
        except RuleError as exc:
            self._error(run, eff.rule, exc, at)
            return
        if answer:
            run.work.effects.append({"kind": eff.kind, "rule": eff.rule, **plain(eff.data)})

    def _accrue(self, unit: Unit, books: Books, reference: dict[str, Any]) -> None:
        """Rebate accruals, their period rows locked in key order, applied in order."""
        if not books.accruals:
            return
        rows = books.accrual_rows = unit.accruals([k for k, *_ in books.accruals],
                                                  books.accruals[0][3])
        for key, run, eff, at, entry in books.accruals:
            try:
                out, line = rebates.accrue(rows[key], reference, eff.data, run.ctx.order_id,
                                           at)
            except RuleError as exc:
                entry.update(kind="rule_error", cause=f"{eff.rule}: {exc}"[:4000],
                             detail=dumps({"rule": eff.rule, "code": "RULE_ERROR",
                                            "message": str(exc), "ruleset": run.judge}))
                run.work.errors.append({"rule": eff.rule, "code": "RULE_ERROR",
                                        "message": str(exc)})
                continue
            rows[key]["_dirty"] = True
            books.rows["rebate_entries"].append(line)
            entry["cause"] = (f"{out['programme']} {out['period']}: accrued {out['accrued']} "
                              f"at {out['rate']}%")
            entry["detail"] = dumps({**out, "ruleset": run.judge})
