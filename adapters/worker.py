"""The background worker: due work runs by itself, without anyone calling an admin route.

In: jobs, each a name and a function that does what is due now and returns a small summary
(fired timers, delivered webhooks). Out: a thread that runs every job every `interval` seconds
until `stop()`, logging what a round did and any failure (a failing job never stops the others
or the loop). `ordinance serve` starts one per service process; `ordinance worker` runs one on
its own, for more processes.

Why a loop in every process is safe with several processes on one PostgreSQL: each job claims
its work in the database, not in memory. Timers fire inside the orchestration transaction that
locks the order's row (FOR UPDATE), and a timer another process fired first is no longer armed
when the next process reads it under the lock; webhook messages are leased with
FOR UPDATE SKIP LOCKED (adapters/webhooks.py `deliver_due`), so two processes never post the
same message at the same time, and a process that dies mid-delivery leaves a lease that runs out.

The worker follows the system clock only: a manual clock (ORDINANCE_CLOCK=manual:...) means time
moves when a test or a replay says so, and then `POST /v1/orchestration/tick` and
`POST /v1/webhooks/deliver` remain the way to run due work.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

log = logging.getLogger("ordinance.worker")

Job = tuple[str, Callable[[], dict[str, Any]]]

DEFAULT_INTERVAL = 0.5  # seconds between rounds: a timer fires within about this much of due


class Worker:
    def __init__(self, jobs: list[Job], interval: float = DEFAULT_INTERVAL):
        if interval <= 0:
            raise ValueError("the worker's interval is a positive number of seconds")
        self.jobs = jobs
        self.interval = interval
        self.rounds = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> dict[str, Any]:
        """One round of every job; a job that fails is logged and reported, the others run."""
        out: dict[str, Any] = {}
        for name, job in self.jobs:
            try:
                out[name] = job()
            except Exception as exc:  # noqa: BLE001 - a background loop must outlive one failure
                log.warning("worker job %s failed: %s: %s", name, exc.__class__.__name__, exc)
                out[name] = {"error": exc.__class__.__name__}
        self.rounds += 1
        if any(v for summary in out.values() for v in summary.values()
               if isinstance(v, int) and not isinstance(v, bool)):
            log.info("worker round: %s", out)
        return out

    def run(self) -> None:
        """Rounds until `stop()`; the first round runs at once."""
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)

    def start(self) -> "Worker":
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="ordinance-worker",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
