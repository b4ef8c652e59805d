"""SQLAlchemy 2 models: the service's tables.

Money and quantities are stored as decimal *text* (never REAL/float): SQLite has no exact
decimal type, and the report aggregation sums them as `Decimal` in Python. JSON documents
(requests, decisions, orders) are stored as the exact text the engine rendered, so a logged
decision reads back byte for byte.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    approves: Mapped[str] = mapped_column(Text, default="")  # comma-separated business roles
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # names are unique among active keys (migration 0102)
    __table_args__ = (Index("uq_api_keys_active_name", "name", unique=True,
                            sqlite_where=text("revoked_at IS NULL"),
                            postgresql_where=text("revoked_at IS NULL")),)


class RuleSetVersion(Base):
    __tablename__ = "ruleset_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(80))
    version: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    uploaded_by: Mapped[str] = mapped_column(String(200))
    __table_args__ = (UniqueConstraint("name", "digest", name="uq_ruleset_name_digest"),)


class RuleSetFile(Base):
    __tablename__ = "ruleset_files"
    ruleset_id: Mapped[int] = mapped_column(
        ForeignKey("ruleset_versions.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ActiveRuleSet(Base):
    """One row (id = 1): the active version. Swapped in one UPDATE, so activation is atomic."""

    __tablename__ = "active_ruleset"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ruleset_id: Mapped[int] = mapped_column(ForeignKey("ruleset_versions.id"))
    activated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    activated_by: Mapped[str] = mapped_column(String(200))


class Activation(Base):
    """Every activation ever made, for the record and for rolling back."""

    __tablename__ = "ruleset_activations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ruleset_id: Mapped[int] = mapped_column(ForeignKey("ruleset_versions.id"))
    previous_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    activated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    activated_by: Mapped[str] = mapped_column(String(200))


class DecisionRecord(Base):
    __tablename__ = "decisions"
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # decide | validate | price | order
    key_name: Mapped[str] = mapped_column(String(200))
    order_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    ruleset_name: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(80), index=True)
    as_of: Mapped[str] = mapped_column(String(10))
    fired: Mapped[str] = mapped_column(Text)  # " pack/a pack/b " for LIKE '% rule %'
    elapsed_us: Mapped[int] = mapped_column(Integer)
    request: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(Text)
    # the shadow/rollout work this decision left (migration 0111, adapters/rollouts.py):
    # compact JSON [[rollout_id, side, today], ...] written with the record, NULL when none
    # or once a worker counted it; the worker's lease while it does
    pending: Mapped[str | None] = mapped_column(Text, nullable=True)
    claim: Mapped[str | None] = mapped_column(String(40), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                           nullable=True)
    __table_args__ = (Index("ix_decisions_pending", "seq",
                            postgresql_where=text("pending IS NOT NULL"),
                            sqlite_where=text("pending IS NOT NULL")),)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30), index=True)
    customer: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    channel: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    country: Mapped[str | None] = mapped_column(String(20), nullable=True)
    seller: Mapped[str | None] = mapped_column(String(200), nullable=True)
    order_date: Mapped[str] = mapped_column(String(10), index=True)
    currency: Mapped[str | None] = mapped_column(String(10), nullable=True)
    total: Mapped[str | None] = mapped_column(String(40), nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    decision_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrderVersion(Base):
    __tablename__ = "order_versions"
    order_id: Mapped[str] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    order: Mapped[str] = mapped_column(Text)
    decision_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))


class OrderLine(Base):
    """The current version's lines, flattened for search and reports."""

    __tablename__ = "order_lines"
    order_id: Mapped[str] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    category: Mapped[str | None] = mapped_column(String(200), nullable=True)
    brand: Mapped[str | None] = mapped_column(String(200), nullable=True)
    quantity: Mapped[str] = mapped_column(String(40))
    net: Mapped[str] = mapped_column(String(40))


class ApprovalTask(Base):
    __tablename__ = "approval_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    order_version: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    rules: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), index=True)  # open|approved|rejected|cancelled
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acted_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    acted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (Index("ix_approval_order", "order_id", "order_version"),)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    key_name: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    order_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    decision_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
