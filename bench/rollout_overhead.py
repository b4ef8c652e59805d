"""What a running shadow and rollout add to a live decision's request path (issue 18).

Two parts, each printed with its figures:

1. CPU: `Live.route` (segments of the order, a hash of the rollout id and its id) and
   `Live.tags` with the record's `pending` text (`record_row`), over acme's generated orders,
   in CPU time (the machine is shared: wall time is noise), mean and 99th percentile per
   decision.
2. The work on the record (migration 0111): the decision log's commit of a decision with
   and without its two tags (a shadow's and a rollout's) in its `pending` column: the same
   one INSERT either way. Wall time from submit to commit, and the process's CPU time, one
   decision at a time (each its own batch: the worst case) and then 16 at a time (batches as
   a busy service makes them), on SQLite (a temporary file) and PostgreSQL (a fresh database
   at 127.0.0.1:5432, user postgres, dropped after; skipped when unreachable). With and
   without alternate decision by decision, so the machine's drift hits both alike.

    .venv/bin/python bench/rollout_overhead.py [ORDERS] [--commits N]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from ordinance.api.usecases.rollout import Live, Running
from ordinance.engine import load
from ordinance.engine.rollout import read_plan
from ordinance.engine.segments import Segmenter
from ordinance.simulator.catalogue import load_catalogue
from ordinance.simulator.generate import generate_orders

ACME = Path(__file__).resolve().parents[1] / "rulesets" / "acme"
TODAY = date(2026, 11, 20)


def live_with(rs: Any) -> Live:
    live = Live()
    live.segmenter = Segmenter(rs.reference)
    live.running = (
        Running("ro_shadow", "shadow", "x", read_plan("ro_shadow", {
            "sample": 50, "segments": {"channel": ["web", "edi"]}}), rs),
        Running("ro_rollout", "rollout", "y", read_plan("ro_rollout", {
            "share": 20, "segments": {"country": ["DE", "US", "GB"]}}), rs))
    return live


def cpu(rs: Any, orders: list[dict[str, Any]]) -> None:
    from ordinance.adapters.rollouts import pending_text

    live = live_with(rs)
    samples = []
    for order in orders:
        t0 = time.process_time_ns()
        _, tags = live.route(order, False)
        if tags:
            pending_text(live.tags(tags, TODAY))  # what record_row adds to the row
        samples.append(time.process_time_ns() - t0)
    samples.sort()
    mean = sum(samples) / len(samples) / 1000
    p99 = samples[int(len(samples) * 0.99)] / 1000
    print(f"{len(orders)} decisions: route+tags mean {mean:.1f} us, p99 {p99:.1f} us "
          "(CPU time)")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def commits(label: str, url: str, rs: Any, orders: list[dict[str, Any]], n: int) -> None:
    from ordinance.adapters.db import Database, upgrade
    from ordinance.adapters.rollouts import queue_depth
    from ordinance.adapters.store_decisions import DecisionLog
    from ordinance.api.usecases.decide import evaluate
    from ordinance.engine import dumps

    db = Database(url)
    upgrade(db)
    log = DecisionLog(db)
    live = live_with(rs)
    tags = [(live.running[0], "shadow"), (live.running[1], "active")]

    def one(i: int) -> tuple[bool, float, float]:
        o = orders[i % len(orders)]  # decided here, not timed: a fresh decision id each
        ev, text, oid = evaluate(rs, o, None, "decide", TODAY), dumps({"order": o}), str(o["id"])
        c0, t0 = time.process_time(), time.perf_counter()
        pending = live.tags(tags, TODAY) if i % 2 else None  # timed: the request's part
        log.submit_decision(ev, "decide", "bench", oid, text, pending).result(timeout=60)
        return (pending is not None, (time.perf_counter() - t0) * 1000,
                (time.process_time() - c0) * 1000)

    try:
        for i in range(20):  # warm the pool and the tables
            one(i)
        for mode, workers in (("one at a time", 1), ("16 at a time", 16)):
            with ThreadPoolExecutor(workers) as pool:
                got = list(pool.map(one, range(20, 2 * n)))
            for what, k in (("wall", 1), ("CPU", 2)):
                if what == "CPU" and workers > 1:
                    continue  # the process's CPU time is shared by the 16 in flight
                plain = [x[k] for x in got if not x[0]]
                queued = [x[k] for x in got if x[0]]
                print(f"{label} {mode}, {what}: {len(got)} commits; without tags p50 "
                      f"{statistics.median(plain):.3f} ms p99 {pct(plain, 0.99):.3f} ms; "
                      f"with 2 tags p50 {statistics.median(queued):.3f} ms p99 "
                      f"{pct(queued, 0.99):.3f} ms; added: p50 "
                      f"{statistics.median(queued) - statistics.median(plain):+.3f} ms, p99 "
                      f"{pct(queued, 0.99) - pct(plain, 0.99):+.3f} ms")
        print(f"{label}: {queue_depth(db)} tags pending on the records")
    finally:
        log.close()


def pg_database() -> tuple[str, Any] | None:
    try:
        import psycopg

        admin = psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test",
                                autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: say so, bench SQLite
        print(f"PostgreSQL unreachable ({exc.__class__.__name__}): skipped")
        return None
    name = "ordinance_bench_" + uuid.uuid4().hex[:10]
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s", (name,))
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()

    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("orders", nargs="?", type=int, default=20000)
    ap.add_argument("--commits", type=int, default=1000,
                    help="decisions committed with and without tags, each")
    args = ap.parse_args()
    rs = load(ACME)
    orders = list(generate_orders(load_catalogue(ACME), args.orders, 11, bad_share="0"))
    cpu(rs, orders)
    with tempfile.TemporaryDirectory() as tmp:
        commits("SQLite", f"sqlite:///{tmp}/bench.db", rs, orders, args.commits)
    pg = pg_database()
    if pg is not None:
        url, drop = pg
        try:
            commits("PostgreSQL", url, rs, orders, args.commits)
        finally:
            drop()


if __name__ == "__main__":
    main()
