"""Use cases of payments and returns: authorise, capture or refund; authorise a return.

In: the parsed request and the service's payment ledger (adapters/payments.py, behind its
provider) and orchestrator. Out: the ledger entry, the balance, or the return authorisation,
as JSON-ready dicts. The non-obvious choice: a payment talks to an outside system, so it is
not one database transaction: the ledger records the provider's answer (idempotent on the
caller's key, a timeout retried with the same key takes the real outcome) and then reports it
to orchestration as an order event (payment_authorised, payment_declined, ...). A return is
stored in its own transaction, then refunded through the provider.
"""
from __future__ import annotations

from typing import Any

from ordinance.adapters import returns
from ordinance.adapters.orchestration import Orchestrator
from ordinance.adapters.payments import Ledger


def pay(ledger: Ledger, order_id: str, body: dict[str, Any], actor: str) -> dict[str, Any]:
    return ledger.act(order_id, body, actor)


def balance(ledger: Ledger, order_id: str) -> dict[str, Any]:
    """Authorised, captured, refunded, paid, returned and outstanding, from the entries."""
    return ledger.balance(order_id)


def return_goods(orch: Orchestrator, ledger: Ledger, order_id: str, body: dict[str, Any],
                 actor: str) -> dict[str, Any]:
    """A return under the rule set's policy: refund from what was paid, stock put back."""
    return returns.authorise(orch, ledger, order_id, body, actor)


def list_returns(db: Any, *, status: str | None, order_id: str | None, customer: str | None,
                 cursor: str | None, limit: int) -> dict[str, Any]:
    """A page of return authorisations, newest first (`GET /v1/returns`)."""
    from ordinance.adapters.store_decisions import cursor_seq

    return returns.listing(db, status=status, order_id=order_id, customer=customer,
                           cursor=cursor_seq(cursor), limit=limit)
