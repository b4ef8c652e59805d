"""Simulations in the background, for the REST service: jobs stored in the database, run on
threads of whichever instance holds their lease.

In: jobs stored by `SimulationStore.create` (adapters/store_simulations.py): two stored
rule-set versions (`NAME@DIGEST`), options, and their orders (an uploaded stream stored with
the job, or the order hub's stored orders between two dates). `JobRunner.run_accepted(id,
lease)` runs a job this instance has just stored; `JobRunner.pick_up()`, one task of the
background worker (adapters/worker.py) of every instance, takes over jobs whose holder
stopped renewing its lease. Out: the job's row, updated as it goes (state, progress at most
every PROGRESS_EVERY seconds, then the summary and report, or the error). Nothing is raised to
the caller: a job's failure is its `error`.

The non-obvious choices:
- A job runs on a thread of its own, and that thread fans the orders out to local processes
  (or runs them inline), exactly like the command line; so a running job never blocks the
  web server's event loop, and at most `max_running` jobs run at once in one instance (the
  rest wait, queued, their lease renewed while they wait).
- The instance that accepted a job runs it. While it holds a job (waiting or running) a
  heartbeat renews the job's lease (`lease_seconds`, renewed every third of that). If the
  process dies, the lease runs out and any instance's worker claims the job and runs it again
  from the start (a simulation is a pure function of its inputs, so a rerun gives the same
  summary); a job whose lease has run out `max_attempts` times (it may be what kills its
  process) is marked failed with that reason instead, so no job stays queued or running
  forever.
- Every write of a job is conditioned on its lease token: an instance that lost its lease
  (paused past it) stops at its next write and never overwrites the new holder's work. A
  cancelled job has no lease any more, so its holder stops the same way (within a third of a
  lease, or at its next progress write).
"""
from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ordinance.adapters.clock import Clock
from ordinance.adapters.store_simulations import JobRecord, SimulationStore
from ordinance.simulator import outputs, report
from ordinance.simulator.promising import stored_changes
from ordinance.simulator.replay import Options, Progress, simulate
from ordinance.simulator.rulesets import Resolver, RuleSetNotFound, RuleSetRef
from ordinance.simulator.stored import export_orders
from ordinance.simulator.streams import open_orders

log = logging.getLogger("ordinance.simulations")

LEASE_SECONDS = float(os.environ.get("ORDINANCE_SIMULATION_LEASE", "30"))
MAX_ATTEMPTS = 3        # runs of one job whose lease ran out before it is failed
PROGRESS_EVERY = 1.0    # seconds between progress writes of a running job


class LeaseLost(Exception):
    """This instance no longer holds the job: it was cancelled, or another instance holds
    it now (this one paused past its lease)."""


class JobRunner:
    def __init__(self, store: SimulationStore, clock: Clock, resolver: Resolver, *,
                 executor: str = "processes", workers: int | None = None,
                 max_running: int = 1, lease_seconds: float = LEASE_SECONDS,
                 max_attempts: int = MAX_ATTEMPTS, workdir: str | Path | None = None,
                 instance: str | None = None) -> None:
        self.store, self.clock, self.resolver = store, clock, resolver
        self.executor, self.workers = executor, workers
        self.lease_seconds, self.max_attempts = lease_seconds, max_attempts
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="ordinance-simulations-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}"
        self._slots = threading.Semaphore(max_running)

    def new_lease(self) -> tuple[str, datetime]:
        """A lease token of this instance (unique per claim) and the time it lasts until."""
        return f"{self.instance}#{uuid.uuid4().hex[:8]}", self.lease_end()

    def lease_end(self) -> datetime:
        return self.clock.now() + timedelta(seconds=self.lease_seconds)

    def run_accepted(self, job_id: str, lease: str) -> None:
        """Runs a job this instance stored holding `lease`, on a thread of its own: it waits
        for a free slot (renewing the lease), then runs."""
        threading.Thread(target=self._accepted, args=(job_id, lease),
                         name=f"simulation-{job_id[:8]}", daemon=True).start()

    def pick_up(self) -> dict[str, int]:
        """The worker's task: fails the jobs whose lease ran out `max_attempts` times, then,
        while this instance has a free slot, claims a job nobody holds and runs it."""
        now = self.clock.now()
        failed = restarted = 0
        if not self.store.any_due(now):
            return {"restarted": 0, "failed": 0}
        for job in self.store.exhausted(now, self.max_attempts):
            if self.store.fail(job.id, None, now, _abandoned(job)):
                failed += 1
        while self._slots.acquire(blocking=False):
            lease, until = self.new_lease()
            try:
                job = self.store.claim(now, lease, until, self.max_attempts)
            except BaseException:
                self._slots.release()
                raise
            if job is None:
                self._slots.release()
                break
            threading.Thread(target=self._claimed, args=(job.id, lease),
                             name=f"simulation-{job.id[:8]}", daemon=True).start()
            restarted += 1
        return {"restarted": restarted, "failed": failed}

    def wait(self, job_id: str, timeout: float | None = None) -> JobRecord:
        """Polls until the job has finished (for tests and scripts); KeyError if it is gone."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.store.get(job_id)
            if job is None:
                raise KeyError(job_id)
            if job.state in ("done", "failed", "cancelled"):
                return job
            if deadline is not None and time.monotonic() > deadline:
                return job
            time.sleep(0.05)

    def _accepted(self, job_id: str, lease: str) -> None:
        # renewed at once: storing a large upload may have taken most of the first lease
        if not self._renew(job_id, lease):
            return
        while not self._slots.acquire(timeout=self.lease_seconds / 3):
            if not self._renew(job_id, lease):
                return  # another instance took it over, or it was removed
        self._claimed(job_id, lease)

    def _renew(self, job_id: str, lease: str) -> bool:
        """False when the lease is lost; a database that does not answer is tried again at
        the next beat (if the lease runs out meanwhile, the lease-conditioned writes stop
        this holder)."""
        try:
            return self.store.renew(job_id, lease, self.lease_end())
        except Exception as exc:  # noqa: BLE001 - a heartbeat must outlive one failure
            log.warning("simulation %s: lease not renewed: %s: %s", job_id,
                        exc.__class__.__name__, exc)
            return True

    def _claimed(self, job_id: str, lease: str) -> None:
        """Runs the job, this instance's slot held; releases the slot."""
        try:
            self._run(job_id, lease)
        finally:
            self._slots.release()

    def _run(self, job_id: str, lease: str) -> None:
        job = self.store.get(job_id)
        if job is None or job.leased_by != lease:
            return
        lost = threading.Event()
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job_id, lease, stop, lost),
                                name=f"lease-{job_id[:8]}", daemon=True)
        path = self.workdir / f"{job_id}-{uuid.uuid4().hex[:6]}.jsonl"
        try:
            if not self.store.start(job_id, lease, self.clock.now(), self.lease_end()):
                return
            beat.start()
            summary, read = self._simulate(job, lease, path, lost)
            self.store.finish(job_id, lease, self.clock.now(),
                              outputs.summary_json(summary).encode("utf-8"),
                              report.render(summary).encode("utf-8"),
                              orders_done=summary["orders"] + summary["bad_lines"],
                              bytes_done=read)
        except LeaseLost:
            log.warning("simulation %s: this instance no longer holds it (cancelled, or its "
                        "lease ran out and another instance took it over); this run stops",
                        job_id)
        except Exception as exc:  # noqa: BLE001 - a job's failure is its result, not a crash
            try:
                self.store.fail(job_id, lease, self.clock.now(), _describe(exc))
            except Exception as again:  # noqa: BLE001 - the lease runs out; another retries
                log.warning("simulation %s failed (%s) and could not be marked failed: "
                            "%s: %s", job_id, _describe(exc), again.__class__.__name__, again)
        finally:
            stop.set()
            path.unlink(missing_ok=True)

    def _simulate(self, job: JobRecord, lease: str, path: Path,
                  lost: threading.Event) -> tuple[dict[str, Any], int]:
        """The summary, and the bytes of the order stream read."""
        opts = job.options
        orders_total = None
        if opts.get("orders") == "stored":
            orders_total = export_orders(self.store.db, path, start=opts.get("from"),
                                         end=opts.get("until"))
        else:
            self.store.orders_to(job.id, path)
        refs = (self._ref(job.baseline_ref, "baseline"),
                self._ref(job.candidate_ref, "candidate"))
        source = open_orders(str(path), "jsonl")
        if not self.store.progress(job.id, lease, self.lease_end(), orders_done=0,
                                   bytes_done=0, bytes_total=source.total_bytes,
                                   orders_total=orders_total):
            raise LeaseLost(job.id)
        last = [time.monotonic()]

        def on_progress(p: Progress) -> None:
            if lost.is_set():
                raise LeaseLost(job.id)
            if time.monotonic() - last[0] >= PROGRESS_EVERY:
                last[0] = time.monotonic()
                if not self.store.progress(job.id, lease, self.lease_end(),
                                           orders_done=p.items, bytes_done=p.bytes_read):
                    raise LeaseLost(job.id)

        as_of, today = opts.get("as_of"), opts.get("today")
        options = Options(as_of=date.fromisoformat(as_of) if as_of else None,
                          today=(date.fromisoformat(today) if today
                                 else self.clock.now().date()),
                          consume_stock=bool(opts.get("consume_stock", False)),
                          sample_size=int(opts.get("sample", 20)),
                          blame=bool(opts.get("blame", True)),
                          supply_changes=stored_changes(opts.get("supply_changes")))
        summary = simulate(refs[0], refs[1], source, options, executor=self.executor,
                           workers=self.workers, progress=on_progress)
        if lost.is_set():
            raise LeaseLost(job.id)
        return summary, source.total_bytes or 0

    def _heartbeat(self, job_id: str, lease: str, stop: threading.Event,
                   lost: threading.Event) -> None:
        while not stop.wait(self.lease_seconds / 3):
            if not self._renew(job_id, lease):
                lost.set()
                return

    def _ref(self, spec: str, side: str) -> RuleSetRef:
        """The stored version `NAME@DIGEST` on this instance's disk, its digest checked."""
        from ordinance.engine import digest_of

        path = self.resolver(spec)
        if path is None:
            raise RuleSetNotFound(f"{side} {spec}: not a stored rule-set version")
        path = path.resolve()
        ref = RuleSetRef(spec, str(path), digest_of(str(path)))
        wanted = spec.partition("@")[2]
        if wanted.startswith("sha256:") and ref.digest != wanted:
            raise RuleSetNotFound(f"{side} {spec}: the stored files hash to {ref.digest}")
        return ref


def _abandoned(job: JobRecord) -> str:
    return (f"the instance running it stopped without finishing, {job.attempts} times (its "
            f"lease of the job ran out; the last holder was {job.leased_by or 'unknown'}); "
            "it is not tried again")


def _describe(exc: Exception) -> str:
    diagnostics = getattr(exc, "diagnostics", None)
    if diagnostics:
        return "; ".join(
            f"{d.span.file}:{d.span.line}:{d.span.col}: {d.severity}: {d.message}"
            if getattr(d, "span", None) else f"{d.severity}: {d.message}" for d in diagnostics)
    message = getattr(exc, "message", None) or str(exc)
    return f"{type(exc).__name__}: {message}"
