"""Evaluation off the event loop, with a deadline per request.

Evaluating an order is CPU work of unbounded length (a large order, a slow rule set); run on
the event loop it would stall every other request, `/health` included, and the server's own
SIGTERM handling. `Evaluators.run(fn, ...)` runs it on a small pool of threads instead and
waits at most `ORDINANCE_EVAL_TIMEOUT` seconds: past that the request is answered 503
`EVALUATION_TIMEOUT`. A Python thread cannot be stopped from outside, so the work goes on
until it ends by itself (the line and item limits and the engine's step budget bound it),
but it stores nothing: a database session opened after the deadline raises
`DeadlinePassed` (adapters/db.py). The threads are daemons, so they never hold up shutdown,
and there are few of them, so at most that many run past their deadline at once.
"""
from __future__ import annotations

import asyncio
import queue
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable

from ordinance.adapters import db as dbmod
from ordinance.adapters.store import ServiceError


class EvaluationTimeout(ServiceError):
    code = "EVALUATION_TIMEOUT"


class Evaluators:
    def __init__(self, threads: int, timeout: float):
        self.timeout = timeout
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, daemon=True,
                                          name=f"ordinance-evaluator-{i}")
                         for i in range(max(1, threads))]
        for t in self._threads:
            t.start()

    def _late(self) -> EvaluationTimeout:
        return EvaluationTimeout(
            f"the evaluation took longer than {self.timeout:g} s (ORDINANCE_EVAL_TIMEOUT); "
            "nothing was stored. A smaller order, or a retry when the service is less busy, "
            "may pass")

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fut, deadline, fn, args = item
            if not fut.set_running_or_notify_cancel():
                continue  # the request was answered while this waited
            if time.monotonic() > deadline:
                fut.set_exception(self._late())
                continue
            dbmod.set_deadline(deadline)
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the request, raised there
                fut.set_exception(exc)
            finally:
                dbmod.set_deadline(None)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        fut: Future[Any] = Future()
        self._queue.put((fut, time.monotonic() + self.timeout, fn, args))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), self.timeout)
        except (asyncio.TimeoutError, dbmod.DeadlinePassed):  # late by the loop's or the
            raise self._late() from None                      # thread's clock

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
