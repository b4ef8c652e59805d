"""SQLAlchemy model of shadows and staged rollouts (migration 0108).

`rollouts`: one row per shadow or rollout: the candidate and the active set it is compared
with (`NAME@DIGEST` each), its plan as JSON (engine/rollout.py), its state and why it ended.
`rollout_records`: one row per live decision it counted: the side (`active`, `candidate`, or
`shadow` for a pair), the order, its status, currency, revenue and margin as exact decimal
text, and for a shadow pair both decisions (zlib JSON) so the summary is the simulator's.
The work a live decision leaves for the worker rides on its decision record
(`decisions.pending`, `claim`, `claimed_until`: migration 0111, adapters/models.py), which
replaced 0110's `rollout_queue`.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base

_SEQ = BigInteger().with_variant(Integer, "sqlite")


class Rollout(Base):
    __tablename__ = "rollouts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    mode: Mapped[str] = mapped_column(String(20))     # shadow | rollout
    state: Mapped[str] = mapped_column(String(20))    # running | stopped | rolled_back | promoted
    candidate_ref: Mapped[str] = mapped_column(String(300))   # NAME@DIGEST
    active_ref: Mapped[str] = mapped_column(String(300))      # NAME@DIGEST at the start
    plan: Mapped[str] = mapped_column(Text)                   # JSON, engine/rollout.plan_json
    started_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)   # JSON: what ended it
    __table_args__ = (Index("ix_rollouts_state", "state"),)


class RolloutRecord(Base):
    __tablename__ = "rollout_records"
    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    rollout_id: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(20))     # active | candidate | shadow
    order_id: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    revenue: Mapped[str | None] = mapped_column(String(60), nullable=True)
    margin: Mapped[str | None] = mapped_column(String(60), nullable=True)
    changed: Mapped[int] = mapped_column(Integer, default=0)   # shadow: the pair differs
    pair: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # shadow: zlib JSON
    # the live decision counted (migration 0110; records of before it have none)
    decision_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    __table_args__ = (Index("ix_rollout_records_rollout", "rollout_id", "side", "id"),)

