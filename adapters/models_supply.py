"""Tables of order promising in the service (migration 0107, docs/promising.md): supply to
come, reservations against it, each order's stored promise, and the seeding marker.

On hand is not here: it is `orch_stock.on_hand` (adapters/models_orchestration.py), the one
stock ledger that goods receipts, shipments and returns already move, so the two cannot
disagree. Quantities are decimal text; dates are calendar days.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base

_SEQ = BigInteger().with_variant(Integer, "sqlite")


class SupplyEvent(Base):
    """Supply to come at a location: a purchase-order receipt, an in-transit transfer, a
    work-order completion or a planned order; one per (location, sku, kind, ref)."""

    __tablename__ = "supply_events"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    location: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str] = mapped_column(String(200))
    date: Mapped[date] = mapped_column(Date)
    quantity: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(200))
    __table_args__ = (UniqueConstraint("location", "sku", "kind", "ref",
                                       name="uq_supply_events_ref"),
                      Index("ix_supply_events_sku", "sku", "location"))


class SupplyReservation(Base):
    """Demand: a part of an order line's promise, placed in the ATP bucket of `date`
    (`source` on_hand: shipping now from stock; atp: from supply to come)."""

    __tablename__ = "supply_reservations"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(200))
    decision_id: Mapped[str] = mapped_column(String(80))
    line_id: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(200))
    date: Mapped[date] = mapped_column(Date)
    quantity: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_supply_reservations_pair", "location", "sku"),
                      Index("ix_supply_reservations_order", "order_id"))


class SupplyPromise(Base):
    """The promise answered for an order's current version (JSON: lines, parts, trace)."""

    __tablename__ = "supply_promises"
    order_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    decision_id: Mapped[str] = mapped_column(String(80))
    as_of: Mapped[date] = mapped_column(Date)
    promise: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SupplySeed(Base):
    """One row once the supply of a fresh service was seeded from a rule set's reference."""

    __tablename__ = "supply_seeds"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    ruleset: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
