"""Run a simulation: validate what was asked, store the job, start it; and read jobs back.

In: a `Start` (what a door was given: rule-set references, options, and the orders as a list,
`"stored"`, or an uploaded JSONL file), the service context and the key's name. Out: the job
as the REST API shows it (`job_json`), its summary and report, the list of jobs. Raises the
service errors (`Invalid` 422 with the JSON path or query parameter at fault, `NotFound` 404,
`Conflict` 409) before anything is stored; a failure after that is the job's `error`.

The non-obvious choice: both rule sets are fixed as stored versions `NAME@DIGEST` when the job
is accepted (`active` and `NAME@VERSION` resolved then), so whichever instance runs the job,
now or after a restart, replays the same two versions; the reference as given is kept beside
it for display. The job runs on a thread of the instance that accepted it
(simulator/jobs.py), and every instance answers for it from the database.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordinance import engine
from ordinance.adapters.clock import utc
from ordinance.adapters.store import Conflict, Invalid, NotFound
from ordinance.adapters.store_simulations import JobRecord, SimulationStore
from ordinance.simulator.jobs import JobRunner
from ordinance.simulator.promising import (SupplyChangeError, parse_change, parse_changes,
                                           picture_of)
from ordinance.simulator.rulesets import storage_resolver

# A rule-set name as the manifest schema allows it, then @ and a version or digest.
_STORED_REF = re.compile(r"[a-z0-9][a-z0-9._-]*@[^\x00-\x1f]{1,200}")
_RUNNER_LOCK = threading.Lock()
STATES = ("queued", "running", "done", "failed", "cancelled")


@dataclass(frozen=True)
class Start:
    """A simulation as a door was asked for it. `where` prefixes the names in errors: `$.`
    for a JSON body's fields, "" for query parameters."""
    baseline: Any
    candidate: Any
    orders: Any                    # a list of orders, "stored", or a Path (uploaded JSONL)
    as_of: Any = None
    consume_stock: Any = False
    sample: Any = 20
    blame: Any = True              # name the edits behind each changed order
    start: Any = None              # with stored orders: the first and last order date
    until: Any = None
    supply_changes: Any = None     # what-if supply edits (simulator/promising.py), a list
    where: str = "$."

    def check_refs(self) -> None:
        """Refuses a reference that cannot be a stored version, before any order is read."""
        _stored_ref(self.baseline, "baseline", self.where)
        _stored_ref(self.candidate, "candidate", self.where)


def runner(state: Any) -> JobRunner:
    """This service process's job runner (one per app, made on first use)."""
    with _RUNNER_LOCK:
        found = getattr(state, "simulations", None)
        if found is None:
            ctx = state.ctx
            found = state.simulations = JobRunner(SimulationStore(ctx.db), ctx.clock,
                                                  storage_resolver(ctx.rulesets))
        return found


def start(state: Any, ask: Start, key_name: str) -> dict[str, Any]:
    """Validates `ask`, stores the job with its orders, and starts it on this instance.
    An uploaded file (`ask.orders` a Path) is removed once stored, whatever happens."""
    upload = ask.orders if isinstance(ask.orders, Path) else None
    written: Path | None = None
    try:
        baseline = _stored_ref(ask.baseline, "baseline", ask.where)
        candidate = _stored_ref(ask.candidate, "candidate", ask.where)
        options = _options(ask)
        if upload is None and ask.orders != "stored":
            if not isinstance(ask.orders, list):
                raise Invalid('orders must be a list of orders, or "stored"',
                              code="BAD_REQUEST", path=f"{ask.where}orders")
            written = upload = _orders_file(ask.orders)
        rulesets = state.ctx.rulesets
        refs = {side: _pinned(rulesets, spec, f"{ask.where}{side}")
                for side, spec in (("baseline", baseline), ("candidate", candidate))}
        if options.get("supply_changes"):
            _changes_apply(rulesets, refs, options["supply_changes"], ask.where)
        total = _count_lines(upload) if upload is not None else None
        jobs = runner(state)
        lease, until = jobs.new_lease()   # renewed first thing once stored (run_accepted)
        now = state.ctx.clock.now()
        options["today"] = now.date().isoformat()   # a rerun decides as of the same day
        job = jobs.store.create(
            id=uuid.uuid4().hex, baseline=baseline, candidate=candidate,
            baseline_ref=refs["baseline"], candidate_ref=refs["candidate"], options=options,
            started_by=key_name, now=now, leased_by=lease, leased_until=until,
            orders=upload, orders_total=total)
        jobs.run_accepted(job.id, lease)
        return job_json(job)
    finally:
        for path in (upload, written):
            if path is not None:
                path.unlink(missing_ok=True)


def get(state: Any, job_id: str) -> dict[str, Any]:
    """The job; once done, with its summary (numbers as Decimals: render with engine.dumps)."""
    store = runner(state).store
    job = _job(store, job_id)
    out = job_json(job)
    if job.state == "done":
        summary = store.result(job_id, "summary")
        out["summary"] = json.loads(summary, parse_float=Decimal) if summary else None
    return out


def report_html(state: Any, job_id: str) -> str:
    store = runner(state).store
    job = _job(store, job_id)
    html = store.result(job_id, "report") if job.state == "done" else None
    if html is None:
        raise Conflict(f"simulation {job_id} is {job.state}; the report comes when it is done",
                       code="SIMULATION_NOT_DONE")
    return html.decode("utf-8")


def listing(state: Any, status: str | None, limit: int) -> dict[str, Any]:
    if status is not None and status not in STATES:
        raise Invalid(f"state is one of {', '.join(STATES)}", code="BAD_REQUEST", path="state")
    if not 1 <= limit <= 1000:
        raise Invalid("limit is from 1 to 1000", code="BAD_REQUEST", path="limit")
    return {"items": [job_json(j) for j in runner(state).store.listing(limit, status)]}


def cancel(state: Any, job_id: str) -> dict[str, Any]:
    """Cancels a queued or running job (the instance running it stops within seconds);
    cancelling a cancelled job again changes nothing."""
    store = runner(state).store
    _job(store, job_id)
    found = store.cancel(job_id, state.ctx.clock.now())
    if found in ("done", "failed"):
        raise Conflict(f"simulation {job_id} is {found}; only a queued or running one can be "
                       "cancelled", code="SIMULATION_FINISHED")
    return job_json(_job(store, job_id))


def forget(state: Any, job_id: str) -> None:
    """Removes a finished job, its summary and report."""
    found = runner(state).store.delete(job_id)
    if found is None:
        raise NotFound(f"no simulation {job_id}", code="SIMULATION_NOT_FOUND")
    if found not in ("done", "failed", "cancelled"):
        raise Conflict(f"simulation {job_id} is {found}; it can be removed when it has "
                       "finished (or cancel it first: POST /v1/simulations/{id}/cancel)",
                       code="SIMULATION_NOT_DONE")


def job_json(job: JobRecord) -> dict[str, Any]:
    if job.bytes_total:
        fraction = min(job.bytes_done / job.bytes_total, 1.0)
    else:
        fraction = 1.0 if job.state == "done" else 0.0
    if job.state == "done":
        fraction = 1.0
    out: dict[str, Any] = {
        "id": job.id, "state": job.state, "baseline": job.baseline,
        "candidate": job.candidate,
        "rulesets": {"baseline": job.baseline_ref, "candidate": job.candidate_ref},
        "progress": {"orders": job.orders_done, "total": job.orders_total,
                     "fraction": round(fraction, 4)},
        "started_by": job.started_by, "attempts": job.attempts,
        "created": _iso(job.created_at), "started": _iso(job.started_at),
        "finished": _iso(job.finished_at),
    }
    if job.state == "failed":
        out["error"] = job.error
    if job.state == "done":
        out["report"] = f"/v1/simulations/{job.id}/report.html"
    return out


def _iso(moment: datetime | None) -> str | None:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def _job(store: SimulationStore, job_id: str) -> JobRecord:
    job = store.get(job_id) if len(job_id) <= 40 else None
    if job is None:
        raise NotFound(f"no simulation {job_id}", code="SIMULATION_NOT_FOUND")
    return job


def _stored_ref(value: Any, name: str, where: str) -> str:
    """The reference as given, if it can only mean a stored version; never looks at a path."""
    if isinstance(value, str) and (value == "active" or _STORED_REF.fullmatch(value)):
        return value
    if not isinstance(value, str) or not value:
        problem = f"{name} is required"
    else:
        problem = f"{name} is not a stored rule-set version"
    raise Invalid(f"{problem}: NAME@VERSION, NAME@DIGEST or active (upload a rule set with "
                  "POST /v1/rulesets; paths on the server are not accepted)",
                  code="BAD_RULESET_REF", path=f"{where}{name}")


def _pinned(rulesets: Any, spec: str, path: str) -> str:
    """`NAME@DIGEST` of the stored version `spec` names now."""
    try:
        found = rulesets.resolve(None if spec == "active" else spec)
    except (NotFound, Conflict) as exc:
        raise type(exc)(exc.message, code=exc.code, path=path) from None
    return f"{found.name}@{found.digest}"


def _options(ask: Start) -> dict[str, Any]:
    where, sample = ask.where, ask.sample
    try:
        as_of = date.fromisoformat(ask.as_of).isoformat() if ask.as_of is not None else None
    except (TypeError, ValueError):
        raise Invalid(f"as_of must be a date YYYY-MM-DD, not {ask.as_of!r}",
                      code="BAD_REQUEST", path=f"{where}as_of") from None
    if not isinstance(ask.consume_stock, bool):
        raise Invalid("consume_stock must be true or false", code="BAD_REQUEST",
                      path=f"{where}consume_stock")
    if not isinstance(ask.blame, bool):
        raise Invalid("blame must be true or false", code="BAD_REQUEST", path=f"{where}blame")
    if isinstance(sample, Decimal) and sample == sample.to_integral_value():
        sample = int(sample)
    if not isinstance(sample, int) or isinstance(sample, bool) or not 0 <= sample <= 1000:
        raise Invalid("sample must be a whole number from 0 to 1000", code="BAD_REQUEST",
                      path=f"{where}sample")
    options: dict[str, Any] = {"as_of": as_of, "consume_stock": ask.consume_stock,
                               "sample": sample, "orders": "upload"}
    if not ask.blame:  # absent: blamed, as jobs stored before the option
        options["blame"] = False
    if ask.supply_changes is not None:
        options["supply_changes"] = _supply_changes(ask)
    if ask.orders == "stored":
        options["orders"] = "stored"
        for name, value in (("from", ask.start), ("until", ask.until)):
            try:
                options[name] = date.fromisoformat(value).isoformat() if value is not None \
                    else None
            except (TypeError, ValueError):
                raise Invalid(f"{name} must be a date YYYY-MM-DD, not {value!r}",
                              code="BAD_REQUEST", path=f"{where}{name}") from None
    return options


def _orders_file(orders: list[Any]) -> Path:
    fd, name = tempfile.mkstemp(prefix="ordinance-orders-", suffix=".jsonl")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for order in orders:
            out.write(engine.dumps(order) + "\n")
    return Path(name)


def _count_lines(path: Path) -> int:
    """Orders in a JSONL file: its lines that are not blank (as the replay counts them)."""
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def _supply_changes(ask: Start) -> list[dict[str, Any]]:
    """The supply changes, checked (a 422 at the JSON path or query parameter of the bad one)
    and stored as mappings the job reads back (simulator/jobs.py)."""
    where = f"{ask.where}supply_change{'s' if ask.where else ''}"
    try:
        changes = parse_changes(ask.supply_changes, where)
    except SupplyChangeError as exc:
        raise _change_error(exc, where) from None
    if changes and ask.consume_stock is not True:
        raise Invalid("supply changes need consume_stock: true (supply over time)",
                      code="BAD_REQUEST", path=where)
    return [c.to_json() for c in changes]


def _changes_apply(rulesets: Any, refs: dict[str, str], stored: list[dict[str, Any]],
                   where: str) -> None:
    """Every change finds what it changes in its side's rule set (a purchase order's ref in
    `reference/supply`, an `atp_rules` table), before the job is stored."""
    base = f"{where}supply_change{'s' if where else ''}"
    changes = tuple(parse_change(c, f"{base}[{i}]") for i, c in enumerate(stored))
    for side, ref in refs.items():
        rs = rulesets.resolve(ref)
        try:
            picture_of(rs, {}, changes, side)
        except SupplyChangeError as exc:
            raise _change_error(exc, base) from None


def _change_error(exc: SupplyChangeError, where: str) -> Invalid:
    """The 422 of a supply change: the message starts with the path at fault."""
    text = str(exc)
    path, sep, message = text.partition(": ")
    if not sep or not path.startswith(where):
        path, message = where, text
    return Invalid(message, code="BAD_SUPPLY_CHANGE", path=path)
