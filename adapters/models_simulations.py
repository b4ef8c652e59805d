"""SQLAlchemy model of simulation jobs (migration 0106): the job, and its uploaded orders.

A job row is everything any service instance needs to answer for a simulation and to run it:
its state, the two rule sets as stored versions (`NAME@DIGEST`, fixed when it was accepted,
so a later activation changes nothing), its options as JSON, the lease of the instance running
it, its progress, then its summary JSON and HTML report (zlib-compressed) or its error.
An uploaded order stream is kept in `simulation_order_chunks` (zlib-compressed pieces of a few
MB, so no single value nears a database's limit) until the job ends.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class SimulationJob(Base):
    __tablename__ = "simulation_jobs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))  # queued | running | done | failed | cancelled
    baseline: Mapped[str] = mapped_column(String(300))      # as asked (e.g. `active`)
    candidate: Mapped[str] = mapped_column(String(300))
    baseline_ref: Mapped[str] = mapped_column(String(300))  # NAME@DIGEST
    candidate_ref: Mapped[str] = mapped_column(String(300))
    options: Mapped[str] = mapped_column(Text)              # JSON: as_of, sample, orders, ...
    started_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    leased_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    leased_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                          nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    orders_done: Mapped[int] = mapped_column(Integer, default=0)
    orders_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    summary: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # zlib JSON
    report: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)   # zlib HTML
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (Index("ix_simulation_jobs_state_lease", "state", "leased_until"),
                      Index("ix_simulation_jobs_created", "created_at"))


class SimulationOrderChunk(Base):
    __tablename__ = "simulation_order_chunks"
    job_id: Mapped[str] = mapped_column(
        ForeignKey("simulation_jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # zlib-compressed JSONL
