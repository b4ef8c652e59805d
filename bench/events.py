"""Benchmark of orchestration: events per second with persistence on (PostgreSQL by default).

    .venv/bin/python bench/events.py [--orders 600] [--processes 2] [--batch 100]
        [--database-url postgresql://postgres@127.0.0.1:5432/DB] [--http --workers 2]

Creates a scratch PostgreSQL database (dropped afterwards) unless --database-url is given,
captures the orders of `sample_stream` through the order hub with rulesets/acme, then drives
the orchestrator in-process (no HTTP) from N worker processes, each owning a disjoint set of
orders and posting their events in time order: every event is one transaction (idempotency
record, lifecycle, windows, timers, effects, timeline, stock, rebates, invoices), or with
--batch N one transaction per N events (`post_batch`, as POST /v1/events/batch does).
With --http the events go over real HTTP to `ordinance serve --workers W` on the same
database: each sender process posts its batches to POST /v1/events/batch (one request at a
time, as a fulfilment system would), so the figure includes HTTP, the service and the senders,
all on this machine. Prints events/s and checks that the database holds one event record per
applied event. Asserts nothing about time.
"""
from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import os
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class _Fixed:
    def __init__(self, rs: Any):
        self.rs = rs

    def resolve(self, ref: Any) -> Any:
        return self.rs


def _worker(url: str, events: list[tuple[str, dict[str, Any]]], q: Any, batch: int) -> None:
    from ordinance.adapters import db as dbmod
    from ordinance.adapters.clock import ManualClock
    from ordinance.adapters.orchestration import Orchestrator
    from ordinance.engine import load

    rs = load(ROOT / "rulesets" / "acme")
    gc.collect()  # as the service does once a rule set is compiled (store_rulesets.py)
    gc.freeze()
    orch = Orchestrator(dbmod.connect(url, pool_size=2), _Fixed(rs),
                        ManualClock("2026-11-20T09:00:00Z"))
    conflicts = 0
    for oid, body in events[:5]:  # warm the caches
        try:
            orch.post_event(oid, json.dumps(body))
        except Exception as exc:  # noqa: BLE001
            if exc.__class__.__name__ != "Conflict":
                raise
            conflicts += 1
    start = time.perf_counter()
    bodies = [(oid, json.dumps(body)) for oid, body in events[5:]]  # as they arrive by HTTP
    if batch > 1:  # group commit: one transaction per batch, a savepoint per event
        for i in range(0, len(bodies), batch):
            for answer in orch.post_batch(bodies[i:i + batch]):
                if answer["status"] == 409:
                    conflicts += 1
                elif answer["status"] != 200:
                    raise RuntimeError(answer)
    for oid, text in bodies if batch <= 1 else []:
        try:
            orch.post_event(oid, text)
        except Exception as exc:  # noqa: BLE001 - counted, reported
            if exc.__class__.__name__ != "Conflict":
                raise
            conflicts += 1
    q.put((len(events) - 5, time.perf_counter() - start, conflicts))


def _single_sender(url: str, key: str, events: list[tuple[str, dict[str, Any]]], q: Any,
                   threads: int) -> None:
    """POST /v1/orders/{id}/events, one event per request, from `threads` threads (each owning
    some orders, so an order's events keep their order)."""
    import threading

    import httpx

    parts: list[list[tuple[str, str]]] = [[] for _ in range(threads)]
    owners: dict[str, int] = {}
    for oid, body in events:
        parts[owners.setdefault(oid, len(owners) % threads)].append((oid, json.dumps(body)))
    counts = {"conflicts": 0, "timed": 0}
    lock = threading.Lock()
    failures: list[str] = []
    barrier = threading.Barrier(threads + 1)

    def run(part: list[tuple[str, str]]) -> None:
        with httpx.Client(base_url=url, timeout=120,
                          headers={"Authorization": f"Bearer {key}",
                                   "Content-Type": "application/json"}) as http:
            http.post(f"/v1/orders/{part[0][0]}/events", content=part[0][1])  # warm-up
            barrier.wait()
            for oid, body in part[1:]:
                r = http.post(f"/v1/orders/{oid}/events", content=body)
                with lock:
                    counts["timed"] += 1
                    if r.status_code == 409:
                        counts["conflicts"] += 1
                    elif r.status_code != 200:
                        failures.append(r.text[:300])

    workers = [threading.Thread(target=run, args=(p,)) for p in parts if p]
    barrier = threading.Barrier(len(workers) + 1)
    for w in workers:
        w.start()
    barrier.wait()
    start = time.perf_counter()
    for w in workers:
        w.join()
    if failures:
        raise RuntimeError(failures[0])
    q.put((counts["timed"], time.perf_counter() - start, counts["conflicts"]))


def _sender(url: str, key: str, events: list[tuple[str, dict[str, Any]]], q: Any,
            batch: int) -> None:
    import httpx

    conflicts = 0
    with httpx.Client(base_url=url, timeout=120,
                      headers={"Authorization": f"Bearer {key}"}) as http:
        bodies = [json.dumps({"events": [{"order_id": oid, "event": body}
                                         for oid, body in events[i:i + batch]]})
                  for i in range(0, len(events), batch)]
        start = time.perf_counter()
        for n, body in enumerate(bodies):
            if n == 1:  # the first batch warms the service up (rule set compiled): untimed
                start = time.perf_counter()
            r = http.post("/v1/events/batch", content=body,
                          headers={"Content-Type": "application/json"})
            if r.status_code != 200:
                raise RuntimeError(r.text[:500])
            for answer in r.json()["results"]:
                if answer["status"] == 409:
                    conflicts += 1
                elif answer["status"] != 200:
                    raise RuntimeError(answer)
    timed = len(events) - min(batch, len(events)) if len(bodies) > 1 else len(events)
    q.put((timed, time.perf_counter() - start, conflicts))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=600)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--batch", type=int, default=1,
                    help="events per transaction (POST /v1/events/batch); 1: one each")
    ap.add_argument("--http", action="store_true",
                    help="through `ordinance serve` and POST /v1/events/batch")
    ap.add_argument("--workers", type=int, default=2, help="with --http: service processes")
    ap.add_argument("--concurrency", type=int, default=16,
                    help="with --http and --batch 1: requests in flight per sending process")
    args = ap.parse_args()

    from ordinance.adapters import db as dbmod
    from ordinance.adapters.eventstore import sample_stream
    from ordinance.adapters.hub import Hub
    from ordinance.adapters.clock import ManualClock
    from ordinance.api.usecases.orders import capture_order
    from ordinance.adapters.store_keys import KeyInfo
    from ordinance.engine import dumps, load, parse_order

    url, admin, name = args.database_url, None, None
    if url is None:
        import psycopg

        name = "ordinance_bench_" + uuid.uuid4().hex[:10]
        admin = psycopg.connect(host="127.0.0.1", user="postgres", dbname="test",
                                autocommit=True)
        admin.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        db = dbmod.connect(url)
        dbmod.upgrade(db)
        rs = load(ROOT / "rulesets" / "acme")
        hub = Hub(db)
        key = KeyInfo(0, "bench", "admin", ())
        orders, events = sample_stream(args.orders, seed=3, prefix="B")
        t0 = time.perf_counter()
        for raw in orders:
            o = parse_order(json.dumps(raw))
            text = dumps(o)
            capture_order(hub, _Fixed(rs), o, date(2026, 11, 20), None, text, text, key,
                          ManualClock("2026-11-20T09:00:00Z"))
        print(f"captured {len(orders)} orders in {time.perf_counter() - t0:.1f} s")
        db.dispose()
        parts: list[list[tuple[str, dict[str, Any]]]] = [[] for _ in range(args.processes)]
        owner = {o["id"]: i % args.processes for i, o in enumerate(orders)}
        for oid, body in events:
            parts[owner[oid]].append((oid, body))
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        server = None
        if args.http:
            import tempfile

            sys.path.insert(0, str(ROOT / "bench"))
            import service as svc_bench  # bench/service.py: starts `ordinance serve`

            workdir = Path(tempfile.mkdtemp(prefix="ordinance-events-"))
            server, base, key_secret = svc_bench.start(
                argparse.Namespace(database_url=url, workers=args.workers), workdir,
                ROOT / "rulesets" / "acme")
            if args.batch > 1:
                procs = [ctx.Process(target=_sender, args=(base, key_secret, p, q, args.batch))
                         for p in parts]
            else:
                procs = [ctx.Process(target=_single_sender, args=(
                    base, key_secret, p, q, args.concurrency)) for p in parts]
        else:
            procs = [ctx.Process(target=_worker, args=(url, p, q, args.batch)) for p in parts]
        wall = time.perf_counter()
        for p in procs:
            p.start()
        results = [q.get(timeout=180) for _ in procs]
        for p in procs:
            p.join()
        wall = time.perf_counter() - wall
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        n = sum(r[0] for r in results)
        slowest = max(r[1] for r in results)
        db = dbmod.connect(url)
        from sqlalchemy import func, select

        from ordinance.adapters.models_orchestration import EventRecord
        with db.session() as s:
            stored = s.scalar(select(func.count()).select_from(EventRecord))
        db.dispose()
        print(f"events: {len(events)} ({n} timed, {sum(r[2] for r in results)} answered 409), "
              f"stored event records: {stored}")
        print(f"{args.processes} sending process(es), cores available: {os.cpu_count()}, "
              f"events per transaction: {args.batch}"
              + (f", over HTTP to {args.workers} service workers" if args.http else
                 ", in-process orchestrators")
              + (f", {args.concurrency} requests in flight per sender"
                 if args.http and args.batch <= 1 else ""))
        print(f"events/s (timed part, slowest process): {n / slowest:,.0f}")
        print(f"events/s (wall clock incl. process start): {len(events) / wall:,.0f}")
        if stored != len(events) - sum(r[2] for r in results):
            print("WARNING: stored event records do not match the events applied",
                  file=sys.stderr)
            return 1
    finally:
        if admin is not None:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          f"WHERE datname = '{name}'")
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
