"""The clock adapter: where orchestration takes the time from.

`SystemClock` reads the wall clock (UTC); `ManualClock` holds a time that only moves when told
(`set`, `advance`), so tests and replays drive timers and windows by hand. `clock_from_env()`
picks one from ORDINANCE_CLOCK: unset or `system`, or `manual:2026-11-20T09:00:00Z`.
Every time handed out is timezone-aware UTC.
"""
from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date-time with a zone (`Z` or an offset) as aware UTC; ValueError if not."""
    dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (write Z or an offset)")
    return dt.astimezone(UTC)


def utc(dt: datetime) -> datetime:
    """SQLite hands back naive datetimes; we only ever store UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    def __init__(self, start: datetime | str):
        self._lock = threading.Lock()
        self._now = parse_instant(start) if isinstance(start, str) else utc(start)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime | str) -> datetime:
        with self._lock:
            self._now = parse_instant(when) if isinstance(when, str) else utc(when)
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now = self._now + delta
            return self._now


def clock_from_env() -> Clock:
    spec = os.environ.get("ORDINANCE_CLOCK", "system").strip()
    if spec.startswith("manual:"):
        return ManualClock(spec[len("manual:"):])
    return SystemClock()
