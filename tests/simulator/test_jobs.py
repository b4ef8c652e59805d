"""The job runner behind REST: jobs stored in the database, run under a lease.

A manual clock moves the leases here, so a lease runs out exactly when a test says; the REST
tests with two instances (tests/api/test_service_simulations.py) do it with the system clock.
"""
from __future__ import annotations

import json
import shutil
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from ordinance.adapters import db as dbmod
from ordinance.adapters.clock import ManualClock
from ordinance.adapters.store_simulations import SimulationStore
from ordinance.engine import digest_of
from ordinance.simulator.jobs import JobRunner

T0 = "2026-12-03T09:00:00Z"


@pytest.fixture()
def store(tmp_path):
    db = dbmod.connect(f"sqlite:///{tmp_path / 'jobs.db'}")
    dbmod.upgrade(db)
    yield SimulationStore(db)
    db.dispose()


def _ref(directory: Path) -> str:
    return f"sim@{digest_of(str(directory))}"


def _resolver(*directories: Path):
    known = {_ref(d): d for d in directories}
    return known.get


def _create(store, clock, baseline: Path, candidate: Path, orders: Path | None, *,
            lease: str = "here#1", seconds: float = 30, options=None):
    job_id = uuid.uuid4().hex
    store.create(id=job_id, baseline="active", candidate=_ref(candidate),
                 baseline_ref=_ref(baseline), candidate_ref=_ref(candidate),
                 options=options or {"as_of": None, "consume_stock": False, "sample": 20,
                                     "orders": "upload"},
                 started_by="analyst-1", now=clock.now(), leased_by=lease,
                 leased_until=clock.now() + timedelta(seconds=seconds), orders=orders,
                 orders_total=7)
    return job_id


def test_a_job_runs_and_keeps_its_summary_and_report_in_the_database(data, store):
    clock = ManualClock(T0)
    runner = JobRunner(store, clock, _resolver(data / "base", data / "candidate-rules"),
                       executor="inline")
    job_id = _create(store, clock, data / "base", data / "candidate-rules",
                     data / "orders.jsonl")
    runner.run_accepted(job_id, "here#1")
    job = runner.wait(job_id, timeout=60)
    assert job.state == "done", job.error
    assert (job.orders_done, job.orders_total, job.attempts) == (7, 7, 1)
    assert job.bytes_done == job.bytes_total == (data / "orders.jsonl").stat().st_size
    assert job.leased_by is None and job.finished_at == clock.now()
    summary = json.loads(store.result(job_id, "summary"))
    assert summary["changed_orders"] == 2
    assert summary["candidate"]["revenue"] == {"EUR": "2374.00"}
    assert b"<svg" in store.result(job_id, "report")
    with store.db.session() as s:   # the uploaded orders go once the job is done
        from ordinance.adapters.models_simulations import SimulationOrderChunk

        assert s.query(SimulationOrderChunk).filter_by(job_id=job_id).count() == 0


def test_the_order_stream_comes_back_byte_for_byte_across_pieces(data, store, tmp_path,
                                                                  monkeypatch):
    from ordinance.adapters import store_simulations

    monkeypatch.setattr(store_simulations, "CHUNK_BYTES", 100)
    clock = ManualClock(T0)
    job_id = _create(store, clock, data / "base", data / "base", data / "orders.jsonl")
    back = tmp_path / "back.jsonl"
    assert store.orders_to(job_id, back) == (data / "orders.jsonl").stat().st_size
    assert back.read_bytes() == (data / "orders.jsonl").read_bytes()


def test_a_failing_job_reports_why(data, store, tmp_path):
    clock = ManualClock(T0)
    broken = tmp_path / "broken"
    shutil.copytree(data / "base", broken)
    (broken / "packs" / "bad.yaml").write_text("pack: bad\nphase: pricing\nrules:\n"
                                               "  - id: r\n    when: lenght(order.lines)\n")
    runner = JobRunner(store, clock, _resolver(data / "base", broken), executor="inline")
    job_id = _create(store, clock, data / "base", broken, data / "orders.jsonl")
    runner.run_accepted(job_id, "here#1")
    job = runner.wait(job_id, timeout=60)
    assert job.state == "failed"
    # located inside the rule set: never a directory of the instance that ran it
    assert job.error == "packs/bad.yaml:5:11: error: unknown function 'lenght'", job.error
    assert store.result(job_id, "summary") is None and store.result(job_id, "report") is None


def test_only_the_resolver_is_asked_never_a_directory_named_like_the_version(data, store,
                                                                           tmp_path,
                                                                           monkeypatch):
    """The stored reference is looked up in storage only: a directory named like it in the
    working directory is never read, and the resolver's answer must hash to its digest."""
    clock = ManualClock(T0)
    ref = _ref(data / "base")
    shutil.copytree(data / "base", tmp_path / ref)
    monkeypatch.chdir(tmp_path)
    asked = []

    def resolver(spec):
        asked.append(spec)
        return data / "candidate-rules" if spec == ref else None   # the wrong files

    runner = JobRunner(store, clock, resolver, executor="inline")
    job_id = _create(store, clock, data / "base", data / "base", data / "orders.jsonl")
    runner.run_accepted(job_id, "here#1")
    job = runner.wait(job_id, timeout=60)
    assert job.state == "failed"
    assert job.error == (f"RuleSetNotFound: baseline {ref}: the stored files hash to "
                         f"{digest_of(str(data / 'candidate-rules'))}")
    assert asked == [ref]


def test_a_job_whose_holder_stopped_is_run_again_by_another_runner(data, store):
    clock = ManualClock(T0)
    job_id = _create(store, clock, data / "base", data / "candidate-rules",
                     data / "orders.jsonl", lease="dead-instance#1", seconds=30)
    other = JobRunner(store, clock, _resolver(data / "base", data / "candidate-rules"),
                      executor="inline", instance="other")
    assert other.pick_up() == {"restarted": 0, "failed": 0}     # the lease still holds
    clock.advance(timedelta(seconds=31))
    assert other.pick_up() == {"restarted": 1, "failed": 0}
    job = other.wait(job_id, timeout=60)
    assert job.state == "done", job.error
    assert job.attempts == 2
    assert json.loads(store.result(job_id, "summary"))["changed_orders"] == 2
    assert other.pick_up() == {"restarted": 0, "failed": 0}


def test_a_job_that_keeps_losing_its_holder_is_failed_with_the_reason(data, store):
    clock = ManualClock(T0)
    job_id = _create(store, clock, data / "base", data / "base", data / "orders.jsonl",
                     lease="dead#1", seconds=30)
    claimer = JobRunner(store, clock, _resolver(data / "base"), executor="inline",
                        instance="b", max_attempts=3)
    claimer._run = lambda job_id, lease: None        # each holder "dies" after claiming
    for attempt in (2, 3):
        clock.advance(timedelta(seconds=31))
        assert claimer.pick_up() == {"restarted": 1, "failed": 0}
        assert store.get(job_id).attempts == attempt
    clock.advance(timedelta(seconds=31))
    assert claimer.pick_up() == {"restarted": 0, "failed": 1}
    job = store.get(job_id)
    assert job.state == "failed" and job.leased_by is None
    assert job.error.startswith("the instance running it stopped without finishing, 3 times "
                                "(its lease of the job ran out; the last holder was b#")


def test_a_holder_that_lost_its_lease_writes_nothing_more(data, store):
    clock = ManualClock(T0)
    job_id = _create(store, clock, data / "base", data / "base", data / "orders.jsonl",
                     lease="slow#1", seconds=30)
    assert store.start(job_id, "slow#1", clock.now(), clock.now() + timedelta(seconds=30))
    clock.advance(timedelta(seconds=31))
    claimed = store.claim(clock.now(), "fast#1", clock.now() + timedelta(seconds=30), 3)
    assert claimed is not None and claimed.leased_by == "fast#1"
    later = clock.now() + timedelta(seconds=60)
    assert not store.renew(job_id, "slow#1", later)
    assert not store.progress(job_id, "slow#1", later, orders_done=5, bytes_done=10)
    assert not store.finish(job_id, "slow#1", clock.now(), b"{}", b"", orders_done=7,
                            bytes_done=10)
    assert not store.fail(job_id, "slow#1", clock.now(), "late")
    job = store.get(job_id)
    assert (job.state, job.leased_by, job.orders_done, job.error) == ("queued", "fast#1", 0,
                                                                       None)


def test_a_job_waiting_for_a_slot_keeps_its_lease_and_runs_when_the_slot_frees(data, store):
    import threading
    import time

    clock = ManualClock(T0)
    runner = JobRunner(store, clock, _resolver(data / "base"), executor="inline",
                       lease_seconds=0.3, max_running=1)
    release = threading.Event()
    real_run = runner._run
    ran = []

    def run(job_id, lease):
        ran.append(job_id)
        if len(ran) == 1:
            release.wait(30)          # the first job holds the only slot
        real_run(job_id, lease)

    runner._run = run
    first = _create(store, clock, data / "base", data / "base", data / "orders.jsonl",
                    lease="here#1", seconds=0.3)
    second = _create(store, clock, data / "base", data / "base", data / "orders.jsonl",
                     lease="here#2", seconds=0.3)
    runner.run_accepted(first, "here#1")
    runner.run_accepted(second, "here#2")
    clock.advance(timedelta(seconds=60))
    deadline = time.monotonic() + 10
    while store.get(second).leased_until != clock.now() + timedelta(seconds=0.3):
        assert time.monotonic() < deadline, store.get(second)
        time.sleep(0.02)
    assert ran == [first] and store.get(second).state == "queued"
    release.set()
    assert runner.wait(second, timeout=60).state == "done"
    assert ran == [first, second]
