"""Payments: a ledger per order behind a provider adapter, and the local provider.

The ledger (orch_payments) holds every authorisation, capture and refund of an order with its
exact amount, the provider's reference and the caller's idempotency key. It always reconciles:
captures never exceed what was authorised (card, PayPal) nor the order total, refunds never
exceed what was captured, and `balance()` gives authorised, captured, refunded, paid (captured
minus refunded) and outstanding (total minus paid) from the entries alone.

Providers plug in through `PaymentProvider` (authorise, capture, refund; each with an
idempotency key; `ProviderTimeout` when the answer is unknown). The providers of record cannot
be reached from here, so `LocalProvider` behaves like one for tests and demos: the token
`tok_decline` is declined, `tok_timeout` authorises but times out (a retry with the same key gets
the approval), partial captures and refunds are bounded by what it holds, and a repeated key
gets the same answer. Its memory is a table, so it survives a restart like a remote one would.

Outcomes become order events (payment_declined, payment_authorised, payment_captured,
payment_refunded) through the orchestrator, so three declines within an hour hold the order.

The payment methods are the rule set's words, defined once in its reference table
`payment_methods` (method, name, settlement): the decision packs check an order's method against
it and the ledger takes the same table from the rule set that decided the order. `settlement`
`authorise` (card, PayPal) is authorised then captured; `on_receipt` (bank transfer, cash on
delivery, invoice) is recorded as captures when the money arrives. A method the table does not
name is refused with 422 UNKNOWN_PAYMENT_METHOD naming the accepted ones.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .db import Database
from .models import Order
from .models_orchestration import PaymentEntry, ProviderOperation, ReturnAuthorisation
from .store import Conflict, Invalid, NotFound, loads_exact

ACTIONS = ("authorise", "capture", "refund")

# The longest idempotency key the ledger takes: the local provider keeps each operation under
# "capture:ORDER_ID:KEY" in a String(300) column (orch_local_provider.key) and an order id has
# up to 200 characters (orders.id), so a longer key could not be stored there (PostgreSQL
# refuses it) whatever the order. One fixed limit, the same for every order: 300 - 8 - 200 - 1.
PROVIDER_KEY_COLUMN = ProviderOperation.__table__.c.key.type.length
ORDER_ID_MAX = Order.__table__.c.id.type.length
IDEMPOTENCY_KEY_MAX = PROVIDER_KEY_COLUMN - len("capture:") - ORDER_ID_MAX - 1


def derived_key(prefix: str, text: str) -> str:
    """An idempotency key the service makes itself (a return's refund: `return:ID`), within
    IDEMPOTENCY_KEY_MAX: the text as it is when it fits, else its SHA-256 (the same text
    always gives the same key)."""
    key = prefix + text
    if len(key) <= IDEMPOTENCY_KEY_MAX:
        return key
    return prefix + "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ProviderResult:
    status: str  # approved | declined
    reference: str
    message: str = ""


class ProviderTimeout(Exception):
    """The provider did not answer in time: the outcome is unknown; retry with the same key."""


class PaymentProvider(Protocol):
    name: str

    def authorise(self, key: str, amount: Decimal, currency: str, method: str,
                  token: str | None) -> ProviderResult: ...

    def capture(self, key: str, reference: str, amount: Decimal) -> ProviderResult: ...

    def refund(self, key: str, reference: str, amount: Decimal) -> ProviderResult: ...


class LocalProvider:
    name = "local"

    def __init__(self, db: Database):
        self.db = db

    def _op(self, key: str, operation: str, run: Any) -> ProviderResult:
        with self.db.session(write=True) as s:
            op = s.get(ProviderOperation, key)
            if op is not None:
                if op.status == "timeout":  # the retry sees what really happened
                    op.status = "approved"
                return ProviderResult(op.status, op.reference)
            status, reference, timeout, extra = run(s)
            s.add(ProviderOperation(key=key, operation=operation, reference=reference,
                                    status=status if not timeout else "timeout", **extra))
        if timeout:
            raise ProviderTimeout(f"the provider did not answer in time ({operation})")
        return ProviderResult(status, reference)

    def authorise(self, key: str, amount: Decimal, currency: str, method: str,
                  token: str | None) -> ProviderResult:
        def run(s: Any) -> tuple[str, str, bool, dict[str, str]]:
            ref = "auth_" + uuid.uuid5(uuid.NAMESPACE_URL, key).hex[:16]
            if token == "tok_decline":
                return "declined", ref, False, {"amount": str(amount)}
            return "approved", ref, token == "tok_timeout", {
                "amount": str(amount), "authorised": str(amount)}
        return self._op("auth:" + key, "authorise", run)

    def _bounded(self, key: str, operation: str, reference: str, amount: Decimal,
                 field: str, limit_of: Any) -> ProviderResult:
        def run(s: Any) -> tuple[str, str, bool, dict[str, str]]:
            auth = s.scalars(select(ProviderOperation).where(
                ProviderOperation.reference == reference,
                ProviderOperation.operation == "authorise")).first()
            if auth is None or auth.status == "declined":
                return "declined", reference, False, {"amount": str(amount)}
            done = Decimal(getattr(auth, field))
            if done + amount > limit_of(auth):
                return "declined", reference, False, {"amount": str(amount)}
            setattr(auth, field, str(done + amount))
            return "approved", f"{operation}_{uuid.uuid5(uuid.NAMESPACE_URL, key).hex[:16]}", \
                False, {"amount": str(amount)}
        return self._op(f"{operation}:{key}", operation, run)

    def capture(self, key: str, reference: str, amount: Decimal) -> ProviderResult:
        return self._bounded(key, "capture", reference, amount, "captured",
                             lambda a: Decimal(a.authorised))

    def refund(self, key: str, reference: str, amount: Decimal) -> ProviderResult:
        return self._bounded(key, "refund", reference, amount, "refunded",
                             lambda a: Decimal(a.captured))


def methods_of(reference: dict[str, Any] | None) -> dict[str, str]:
    """The rule set's payment methods ({method: settlement}) from its reference table
    `payment_methods`; a settlement other than `authorise` is paid on receipt."""
    out: dict[str, str] = {}
    for row in (reference or {}).get("payment_methods") or []:
        if isinstance(row, dict) and isinstance(row.get("method"), str) and row["method"]:
            out[row["method"]] = "authorise" if row.get("settlement") == "authorise" \
                else "on_receipt"
    return out


def _money(value: Any, path: str) -> Decimal:
    if isinstance(value, str):
        try:
            value = Decimal(value)
        except ArithmeticError:
            value = None
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise Invalid("amount is a number above zero (text or JSON number)", code="BAD_PAYMENT",
                      path=path)
    if value != value.quantize(Decimal("0.01")):
        raise Invalid("amount has at most 2 decimal places", code="BAD_PAYMENT", path=path)
    return value


class Ledger:
    def __init__(self, db: Database, provider: PaymentProvider, orchestrator: Any = None):
        self.db = db
        self.provider = provider
        self.orchestrator = orchestrator

    def _order(self, s: Any, order_id: str) -> tuple[dict[str, Any], Decimal, str, str]:
        """The decided order, its total and currency, and NAME@DIGEST of the rule set that
        decided it."""
        hub = s.get(Order, order_id)
        if hub is None:
            raise NotFound(f"no order {order_id!r}", code="ORDER_NOT_FOUND")
        from .models import DecisionRecord

        row = s.execute(select(DecisionRecord.decision, DecisionRecord.ruleset_name,
                               DecisionRecord.digest).where(
            DecisionRecord.id == hub.decision_id)).first()
        decision = loads_exact(row[0]) if row and row[0] else {}
        pricing = decision.get("pricing") or {}
        if hub.status == "rejected" or not pricing:
            raise Conflict("the order was rejected; it takes no payments", code="ORDER_REJECTED")
        return decision.get("order") or {}, Decimal(str(pricing.get("total"))), str(
            pricing.get("currency") or ""), f"{row[1]}@{row[2]}" if row else ""

    def methods(self, ruleset: str) -> dict[str, str]:
        """The payment methods of the rule set NAME@DIGEST that decided the order; the active
        rule set's when that one is no longer stored or has no payment_methods table (an order
        decided before the table existed); none without rule sets."""
        rulesets = getattr(self.orchestrator, "rulesets", None)
        if rulesets is None:
            return {}
        out: dict[str, str] = {}
        try:
            out = methods_of(getattr(rulesets.resolve(ruleset), "reference", None))
        except (NotFound, Invalid):
            pass
        if not out:
            try:
                out = methods_of(getattr(rulesets.resolve(None), "reference", None))
            except Conflict:
                pass
        return out

    def balance(self, order_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            _, total, currency, _ = self._order(s, order_id)
            entries = s.scalars(select(PaymentEntry).where(PaymentEntry.order_id == order_id)
                                .order_by(PaymentEntry.id)).all()
            return _balance(order_id, total, currency, entries, _returned(s, order_id))

    def act(self, order_id: str, body: dict[str, Any], actor: str) -> dict[str, Any]:
        action = body.get("action")
        if action not in ACTIONS:
            raise Invalid("action is authorise, capture or refund", code="BAD_PAYMENT",
                          path="$.action")
        amount = _money(body.get("amount"), "$.amount")
        key = body.get("idempotency_key")
        if not isinstance(key, str) or not key.strip() or len(key) > IDEMPOTENCY_KEY_MAX:
            raise Invalid(f"idempotency_key is a text of 1 to {IDEMPOTENCY_KEY_MAX} characters "
                          "(not only spaces)", code="BAD_PAYMENT", path="$.idempotency_key")
        token = body.get("token")
        if token is not None and not isinstance(token, str):
            raise Invalid("token is a text", code="BAD_PAYMENT", path="$.token")
        rhash = hashlib.sha256(json.dumps([action, str(amount), token]).encode()).hexdigest()
        with self.db.session() as s:
            order, total, currency, ruleset = self._order(s, order_id)
            old = s.scalars(select(PaymentEntry).where(
                PaymentEntry.order_id == order_id, PaymentEntry.idempotency_key == key)).first()
            if old is not None and old.status != "timeout":
                if old.request_hash != rhash:
                    raise Conflict("idempotency key already used for another payment request",
                                   code="PAYMENT_KEY_REUSED", path="$.idempotency_key")
                return {**_entry(old), "duplicate": True}
            entries = s.scalars(select(PaymentEntry).where(
                PaymentEntry.order_id == order_id)).all()
        method = str((order.get("payment") or {}).get("method") or "")
        methods = self.methods(ruleset)
        if method not in methods:
            accepted = ", ".join(methods) or "none (the rule set has no payment_methods table)"
            raise Conflict(f"the order's payment method {method!r} is not one the rule set "
                          f"accepts: {accepted}", code="UNKNOWN_PAYMENT_METHOD",
                          path="order.payment.method",
                          details={"method": method, "accepted": list(methods)})
        authorised = methods[method] == "authorise"
        bal = _balance(order_id, total, currency, entries)
        auth_ref = self._check(action, method, authorised, amount, bal, entries)
        try:
            if action == "authorise":
                res = self.provider.authorise(f"{order_id}:{key}", amount, currency, method,
                                              token)
            elif action == "capture" and not authorised:
                res = ProviderResult("approved", f"receipt_{uuid.uuid4().hex[:12]}")
            elif action == "capture":
                res = self.provider.capture(f"{order_id}:{key}", auth_ref, amount)
            elif not authorised:
                res = ProviderResult("approved", f"refund_{uuid.uuid4().hex[:12]}")
            else:
                res = self.provider.refund(f"{order_id}:{key}", auth_ref, amount)
            status, reference = res.status, res.reference
        except ProviderTimeout:
            status, reference = "timeout", None
        from .clock import utc

        now = self.orchestrator.clock.now() if self.orchestrator else None
        from datetime import datetime, timezone

        at = utc(now) if now else datetime.now(timezone.utc)
        try:
            with self.db.session(write=True) as s:
                old = s.scalars(select(PaymentEntry).where(
                    PaymentEntry.order_id == order_id,
                    PaymentEntry.idempotency_key == key)).first()
                if old is not None:  # a timeout retried: the entry takes the real outcome
                    old.status, old.reference, old.at = status, reference, at
                    entry = old
                else:
                    entry = PaymentEntry(order_id=order_id, kind=action, status=status,
                                         amount=str(amount), currency=currency, method=method,
                                         provider=self.provider.name, reference=reference,
                                         idempotency_key=key, request_hash=rhash,
                                         detail=actor, at=at)
                    s.add(entry)
                s.flush()
                out = _entry(entry)
        except IntegrityError:
            raise Conflict("the same payment request is being handled; retry",
                           code="CONCURRENT_PAYMENT") from None
        self._report(order_id, key, action, status, amount, reference, at)
        if status == "timeout":
            raise Conflict("the payment provider did not answer in time; retry with the same "
                           "idempotency_key", code="PROVIDER_TIMEOUT", details=out)
        out["duplicate"] = False
        return out

    def _check(self, action: str, method: str, authorised: bool, amount: Decimal,
               bal: dict[str, Any], entries: list[PaymentEntry]) -> str:
        if action == "authorise":
            if not authorised:
                raise Conflict(f"{method} is paid on receipt: record a capture",
                               code="NOT_AUTHORISABLE")
            if Decimal(bal["authorised"]) + amount > Decimal(bal["total"]):
                raise Conflict("authorisations would exceed the order total", code="OVER_TOTAL",
                               path="$.amount")
            return ""
        auths = [e for e in entries if e.kind == "authorise" and e.status == "approved"]
        if action == "capture":
            if Decimal(bal["captured"]) + amount > Decimal(bal["total"]):
                raise Conflict("captures would exceed the order total", code="OVER_TOTAL",
                               path="$.amount")
            if authorised:
                if not auths:
                    raise Conflict("nothing is authorised to capture", code="NOT_AUTHORISED")
                if Decimal(bal["captured"]) + amount > Decimal(bal["authorised"]):
                    raise Conflict("captures would exceed what was authorised",
                                   code="OVER_AUTHORISED", path="$.amount")
                return str(auths[-1].reference)
            return ""
        if Decimal(bal["refunded"]) + amount > Decimal(bal["captured"]):
            raise Conflict("refunds would exceed what was captured", code="OVER_CAPTURED",
                           path="$.amount")
        return str(auths[-1].reference) if auths else ""

    def _report(self, order_id: str, key: str, action: str, status: str, amount: Decimal,
                reference: str | None, at: Any) -> None:
        if self.orchestrator is None or status == "timeout":
            return
        etype = {("authorise", "approved"): "payment_authorised",
                 ("authorise", "declined"): "payment_declined",
                 ("capture", "approved"): "payment_captured",
                 ("refund", "approved"): "payment_refunded"}.get((action, status))
        if etype is None:
            return
        try:
            self.orchestrator.post_event(order_id, {
                "id": f"payment:{key}", "type": etype, "amount": amount,
                "reference": reference, "at": at.isoformat()}, actor="payments")
        except Conflict:
            pass  # e.g. a closed order: the ledger entry stands; the event does not fit


def _entry(e: PaymentEntry) -> dict[str, Any]:
    return {"id": e.id, "order_id": e.order_id, "kind": e.kind, "status": e.status,
            "amount": e.amount, "currency": e.currency, "method": e.method,
            "provider": e.provider, "reference": e.reference,
            "idempotency_key": e.idempotency_key, "at": e.at.isoformat()}


def _returned(s: Any, order_id: str) -> Decimal:
    """What the order's returns credit the buyer (their refunds: the goods' share less the
    restocking fees), whether refunded through the provider yet or still due."""
    return sum((Decimal(r) for r in s.scalars(select(ReturnAuthorisation.refund).where(
        ReturnAuthorisation.order_id == order_id))), Decimal("0.00"))


def _balance(order_id: str, total: Decimal, currency: str,
             entries: list[PaymentEntry], returned: Decimal = Decimal(0)) -> dict[str, Any]:
    """The ledger's figures: `outstanding` is what the buyer still owes, the total less what
    returns credited less what was paid (captured less refunded), so a return's refund
    reconciles to zero instead of being asked for again."""
    def sum_of(kind: str) -> Decimal:
        return sum((Decimal(e.amount) for e in entries if e.kind == kind
                    and e.status == "approved"), Decimal("0.00"))
    auth, cap, ref = sum_of("authorise"), sum_of("capture"), sum_of("refund")
    q = Decimal("0.01")
    return {"order_id": order_id, "currency": currency, "total": str(total.quantize(q)),
            "authorised": str(auth.quantize(q)), "captured": str(cap.quantize(q)),
            "refunded": str(ref.quantize(q)), "paid": str((cap - ref).quantize(q)),
            "returned": str(returned.quantize(q)),
            "outstanding": str((total - returned - cap + ref).quantize(q, ROUND_HALF_UP)),
            "entries": [_entry(e) for e in entries]}
