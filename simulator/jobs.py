"""Simulations in the background, for the REST service.

In: `JobRunner.start(baseline, candidate, orders_path, ...)`: rule sets as `rulesets.resolve`
knows them (with `stored_only`, as the resolver knows them and nothing else: the service
never reads a directory a request names) and an order file the runner may read (and delete
when done, if told), or a function that writes the orders (stored orders,
`stored.export_orders`). Out: a `Job`
whose `to_json()` is what `GET /v1/simulations/{id}` answers: its state, its progress while it
runs, then its summary; `report_html(id)` gives the HTML report. Raises `RuleSetNotFound` and
`OSError` from `start` for a rule set or an order file that is not there; any failure after that
is the job's `error`, never an exception in the caller.

The non-obvious choices:
- A job runs on a thread of its own, and that thread fans the orders out to local processes
  (or runs them inline), exactly like the command line; so a running job never blocks the
  web server's event loop, and at most `max_running` jobs run at once (the rest wait, queued).
- A finished job's summary and report go to files in its directory (`workdir/ID/`), so a long
  -lived service holds only the small job records in memory.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ordinance.simulator import outputs, report
from ordinance.simulator.replay import Options, Progress, simulate
from ordinance.simulator.rulesets import Resolver, RuleSetNotFound, RuleSetRef, resolve
from ordinance.simulator.streams import open_orders

@dataclass
class Job:
    id: str
    baseline: str
    candidate: str
    directory: Path
    state: str = "queued"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    orders_done: int = 0
    bytes_read: int = 0
    total_bytes: int | None = None
    error: str | None = None

    @property
    def summary_path(self) -> Path:
        return self.directory / "summary.json"

    @property
    def report_path(self) -> Path:
        return self.directory / "report.html"

    def to_json(self) -> dict[str, Any]:
        fraction = (min(self.bytes_read / self.total_bytes, 1.0)
                    if self.total_bytes else (1.0 if self.state == "done" else 0.0))
        out: dict[str, Any] = {
            "id": self.id, "state": self.state, "baseline": self.baseline,
            "candidate": self.candidate,
            "progress": {"orders": self.orders_done, "fraction": round(fraction, 4)},
            "created": _iso(self.created), "started": _iso(self.started),
            "finished": _iso(self.finished),
        }
        if self.state == "failed":
            out["error"] = self.error
        if self.state == "done":
            out["report"] = f"/v1/simulations/{self.id}/report.html"
        return out


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


class JobRunner:
    def __init__(self, workdir: str | Path | None = None, *, executor: str = "processes",
                 workers: int | None = None, max_running: int = 1) -> None:
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="ordinance-simulations-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.executor, self.workers = executor, workers
        self.jobs: dict[str, Job] = {}
        self._slots = threading.Semaphore(max_running)
        self._lock = threading.Lock()

    def start(self, baseline: str, candidate: str, orders_path: str | Path, *,
              options: Options = Options(), format: str | None = None,
              delete_orders: bool = False, resolver: Resolver | None = None,
              export: Callable[[Path], object] | None = None,
              stored_only: bool = False) -> Job:
        """Queues a simulation and returns its job at once. `resolver` finds stored rule-set
        versions (rulesets.resolve); with `stored_only` it is the only way to a rule set (no
        directory is looked at). With `export`, the job first calls `export(path)` to
        write the order stream there (stored orders), in the background; `orders_path` is
        then ignored."""
        find = _stored if stored_only else resolve
        refs = (find(baseline, resolver), find(candidate, resolver))
        job_id = uuid.uuid4().hex
        job = Job(job_id, baseline, candidate, self.workdir / job_id)
        job.directory.mkdir()
        if export is not None:
            orders_path, format, delete_orders = job.directory / "orders.jsonl", "jsonl", True
        else:
            job.total_bytes = open_orders(str(orders_path), format).total_bytes
        with self._lock:
            self.jobs[job_id] = job
        thread = threading.Thread(target=self._run, name=f"simulation-{job_id[:8]}",
                                  args=(job, refs, Path(orders_path), format, options,
                                        delete_orders, export),
                                  daemon=True)
        thread.start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self.jobs.get(job_id)

    def summary(self, job_id: str) -> dict[str, Any] | None:
        """The finished job's summary; its numbers are Decimals (render with engine.dumps)."""
        import json
        from decimal import Decimal

        job = self.get(job_id)
        if job is None or job.state != "done":
            return None
        return json.loads(job.summary_path.read_text(encoding="utf-8"), parse_float=Decimal)

    def report_html(self, job_id: str) -> str | None:
        job = self.get(job_id)
        if job is None or job.state != "done":
            return None
        return job.report_path.read_text(encoding="utf-8")

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Blocks until the job has finished (for tests and scripts)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job is None:
                raise KeyError(job_id)
            if job.state in ("done", "failed"):
                return job
            if deadline is not None and time.monotonic() > deadline:
                return job
            time.sleep(0.05)

    def delete(self, job_id: str) -> bool:
        """Forgets a finished job and removes its files; False when there is no such finished
        job (a running job is left alone)."""
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None or job.state not in ("done", "failed"):
                return False
            del self.jobs[job_id]
        shutil.rmtree(job.directory, ignore_errors=True)
        return True

    def _run(self, job: Job, refs: tuple[Any, Any], orders: Path, format: str | None,
             options: Options, delete: bool, export: Callable[[Path], object] | None) -> None:
        def on_progress(p: Progress) -> None:
            job.orders_done, job.bytes_read = p.items, p.bytes_read

        with self._slots:
            job.state, job.started = "running", time.time()
            try:
                if export is not None:
                    export(orders)
                source = open_orders(str(orders), format)
                job.total_bytes = source.total_bytes
                summary = simulate(refs[0], refs[1], source, options, executor=self.executor,
                                   workers=self.workers, progress=on_progress)
                outputs.write_text(job.summary_path, outputs.summary_json(summary))
                outputs.write_text(job.report_path, report.render(summary))
                job.state = "done"
            except Exception as exc:  # noqa: BLE001 - a job's failure is its result, not a crash
                job.error = _describe(exc)
                job.state = "failed"
            finally:
                job.finished = time.time()
                if delete:
                    orders.unlink(missing_ok=True)


def _stored(spec: str, resolver: Resolver | None) -> RuleSetRef:
    """A rule set the resolver knows (a stored version), never a directory named `spec`."""
    from ordinance.engine import digest_of

    path = resolver(spec) if resolver is not None else None
    if path is None:
        raise RuleSetNotFound(f"{spec}: not a stored rule-set version")
    path = path.resolve()
    return RuleSetRef(spec, str(path), digest_of(str(path)))


def _describe(exc: Exception) -> str:
    diagnostics = getattr(exc, "diagnostics", None)
    if diagnostics:
        return "; ".join(
            f"{d.span.file}:{d.span.line}:{d.span.col}: {d.severity}: {d.message}"
            if getattr(d, "span", None) else f"{d.severity}: {d.message}" for d in diagnostics)
    return f"{type(exc).__name__}: {exc}"
