"""Tables of orchestration (docs/orchestration.md): lifecycle state, timeline, events, windows,
timers, alerts. Same `Base` as adapters/models.py, so one metadata and one Alembic history
(revision 0100_orchestration).

Time columns hold the *event* time (from the event or the clock adapter), never the wall
clock, so tests and replays move time by hand. Amounts and quantities are decimal text.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base

_SEQ = BigInteger().with_variant(Integer, "sqlite")


class OrderState(Base):
    """An order's lifecycle state, its open holds, its process plan and its line quantities."""

    __tablename__ = "orch_orders"
    order_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str] = mapped_column(String(30), index=True)
    holds: Mapped[str] = mapped_column(Text, default="[]")  # [{code, reason, since, resume}]
    process: Mapped[str | None] = mapped_column(String(200), nullable=True)
    plan: Mapped[str] = mapped_column(Text, default="[]")  # the process's steps, rendered
    lines: Mapped[str] = mapped_column(Text, default="{}")  # {line_id: {ordered, shipped}}
    digest: Mapped[str] = mapped_column(String(80))
    decision_id: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TimelineEntry(Base):
    __tablename__ = "orch_timeline"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))  # event|transition|hold|release|alert|...
    from_state: Mapped[str | None] = mapped_column(String(30), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(30), nullable=True)
    cause: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")
    __table_args__ = (Index("ix_orch_timeline_order", "order_id", "id"),)


class EventRecord(Base):
    """Every event accepted, once: (order_id, event_id) is the idempotency key."""

    __tablename__ = "orch_events"
    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("order_id", "event_id", name="uq_orch_event"),)


class WindowEntry(Base):
    """One counted event of a windowed rule (rule, key): counts and sums are over these."""

    __tablename__ = "orch_windows"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(200))  # windows count per order
    rule: Mapped[str] = mapped_column(String(400))
    key: Mapped[str] = mapped_column(String(600))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    measure: Mapped[str] = mapped_column(String(60))
    __table_args__ = (Index("ix_orch_windows", "rule", "key", "at"),
                      Index("ix_orch_windows_order", "order_id", "at"))


class Timer(Base):
    __tablename__ = "orch_timers"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(String(400))
    key: Mapped[str] = mapped_column(String(600))
    first_due: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(20))  # armed | done | cancelled
    event: Mapped[str] = mapped_column(Text)  # the event that armed it (JSON)
    fired: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (Index("ix_orch_timers_due", "state", "due_at"),
                      Index("ix_orch_timers_order", "order_id", "rule", "key"))


class AlertRecord(Base):
    __tablename__ = "orch_alerts"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(600), default="")
    rule: Mapped[str] = mapped_column(String(400))
    priority: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10))  # open | cleared
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    clear_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (Index("ix_orch_alerts_state", "state", "priority"),
                      Index("ix_orch_alerts_order", "order_id", "code", "key"))


class StockLevel(Base):
    """On hand and allocated per location and SKU, seeded from the rule set's inventory table
    the first time orchestration touches the pair; moved by allocations and shipments."""

    __tablename__ = "orch_stock"
    location: Mapped[str] = mapped_column(String(100), primary_key=True)
    sku: Mapped[str] = mapped_column(String(200), primary_key=True)
    on_hand: Mapped[str] = mapped_column(String(40))
    allocated: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReorderProposal(Base):
    """A purchase proposal of the reorder rules: proposed -> ordered -> received, or dismissed
    (adapters/inventory.py); proposed and ordered ones are open (one per location and SKU)."""

    __tablename__ = "orch_reorders"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    location: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[str] = mapped_column(String(40))
    supplier: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    rule: Mapped[str] = mapped_column(String(400))
    order_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    state: Mapped[str] = mapped_column(String(20))  # proposed | ordered | received | dismissed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    purchase_order: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ordered_quantity: Mapped[str | None] = mapped_column(String(40), nullable=True)
    ordered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    received_quantity: Mapped[str | None] = mapped_column(String(40), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # why it was dismissed
    updated_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    __table_args__ = (Index("ix_orch_reorders", "state", "location", "sku"),)


class GoodsReceipt(Base):
    """Goods received against an ordered proposal: the stock move that raised the location's
    on hand (idempotent on the receipt id per proposal)."""

    __tablename__ = "orch_goods_receipts"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    reorder_id: Mapped[int] = mapped_column(_SEQ)
    receipt_id: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[str] = mapped_column(String(40))
    on_hand_after: Mapped[str] = mapped_column(String(40))
    request_hash: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (UniqueConstraint("reorder_id", "receipt_id", name="uq_orch_receipt"),
                      Index("ix_orch_goods_receipts_pair", "location", "sku"))


class RebateAccrual(Base):
    """A supplier rebate programme's accrual for one period, re-rated at each tier crossed."""

    __tablename__ = "orch_rebate_accruals"
    programme: Mapped[str] = mapped_column(String(200), primary_key=True)
    period: Mapped[str] = mapped_column(String(20), primary_key=True)
    quantity: Mapped[str] = mapped_column(String(40))
    amount: Mapped[str] = mapped_column(String(40))
    rate: Mapped[str] = mapped_column(String(20))
    accrued: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RebateEntry(Base):
    """Each shipment's contribution to an accrual (what it added and how the period re-rated)."""

    __tablename__ = "orch_rebate_entries"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    programme: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(20))
    order_id: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str | None] = mapped_column(String(200), nullable=True)
    quantity: Mapped[str] = mapped_column(String(40))
    amount: Mapped[str] = mapped_column(String(40))
    rate_after: Mapped[str] = mapped_column(String(20))
    accrued_delta: Mapped[str] = mapped_column(String(40))
    # A shipment in another currency than its programme's: what it was, and the dated rate that
    # converted it into `amount` (all null when no conversion was made).
    shipped_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    shipped_amount: Mapped[str | None] = mapped_column(String(40), nullable=True)
    fx_rate: Mapped[str | None] = mapped_column(String(80), nullable=True)
    fx_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_orch_rebate_entries", "programme", "period"),)


class DebitClaim(Base):
    __tablename__ = "orch_debit_claims"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    agreement: Mapped[str] = mapped_column(String(200))
    supplier: Mapped[str | None] = mapped_column(String(200), nullable=True)
    order_id: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str | None] = mapped_column(String(200), nullable=True)
    quantity: Mapped[str] = mapped_column(String(40))
    amount: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str | None] = mapped_column(String(10), nullable=True)
    state: Mapped[str] = mapped_column(String(20))  # open | submitted | paid
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_orch_debit_claims", "agreement", "order_id"),)


class PaymentEntry(Base):
    """The payment ledger of an order: authorise, capture, refund (and declines), exact text."""

    __tablename__ = "orch_payments"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # authorise | capture | refund
    status: Mapped[str] = mapped_column(String(20))  # approved | declined | timeout
    amount: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(10))
    method: Mapped[str] = mapped_column(String(40))
    provider: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (UniqueConstraint("order_id", "idempotency_key", name="uq_orch_payment"),)


class ProviderOperation(Base):
    """The local payment provider's own memory (it behaves like a remote one: an idempotency
    key answers the same way twice; captures and refunds are bounded by what it authorised)."""

    __tablename__ = "orch_local_provider"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    operation: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    amount: Mapped[str] = mapped_column(String(40))
    authorised: Mapped[str] = mapped_column(String(40), default="0")
    captured: Mapped[str] = mapped_column(String(40), default="0")
    refunded: Mapped[str] = mapped_column(String(40), default="0")


class Invoice(Base):
    __tablename__ = "orch_invoices"
    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    order_id: Mapped[str] = mapped_column(String(200), index=True)
    event_id: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(10))
    total: Mapped[str] = mapped_column(String(40))
    document: Mapped[str] = mapped_column(Text)  # the invoice as JSON (lines, taxes, totals)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReturnAuthorisation(Base):
    """A return authorisation (RMA): its lines, fees, refund and where the stock went."""

    __tablename__ = "orch_returns"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(200), index=True)
    rma: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    refund: Mapped[str] = mapped_column(String(40))
    refund_status: Mapped[str] = mapped_column(String(20))  # refunded | due | none
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (UniqueConstraint("order_id", "rma", name="uq_orch_return"),)


class WebhookSubscription(Base):
    __tablename__ = "orch_webhooks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    topics: Mapped[str] = mapped_column(String(400))  # comma-separated: alert,status
    active: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxMessage(Base):
    """A notification to deliver, written in the transaction of what it reports: never lost."""

    __tablename__ = "orch_outbox"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(Integer)
    topic: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                          nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (Index("ix_orch_outbox_due", "state", "next_attempt_at"),)
