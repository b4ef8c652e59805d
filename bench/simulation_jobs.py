"""Benchmark of stored simulation jobs: what keeping an uploaded order stream in the database
costs (its compressed size, the time to store it with the job and to read it back).

    .venv/bin/python bench/simulation_jobs.py                         # 100,000 orders, SQLite
    .venv/bin/python bench/simulation_jobs.py --orders 20000 \\
        --database-url postgresql://postgres@127.0.0.1/test

Generates N orders for `rulesets/acme` (simulator/generate.py, seed 7), writes them as JSONL,
then `SimulationStore.create` (the job row and its zlib pieces, one transaction) and
`SimulationStore.orders_to` (the stream written back to a file), and removes the job. On
PostgreSQL the tables are made in a schema of its own, dropped afterwards. Prints figures;
asserts nothing about time.
"""
from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from ordinance.adapters import db as dbmod
    from ordinance.adapters.store_simulations import SimulationStore
    from ordinance.simulator.generate import generate_orders, load_catalogue, write_jsonl

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--database-url", default=None, help="default: a SQLite file in a temp dir")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "orders.jsonl"
        with stream.open("w", encoding="utf-8") as out:
            write_jsonl(generate_orders(load_catalogue(ROOT / "rulesets" / "acme"),
                                        args.orders, seed=7), out)
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        schema = None
        if url.startswith("postgresql"):
            schema = "bench_" + uuid.uuid4().hex[:8]
            url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
            import psycopg

            with psycopg.connect(args.database_url, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
        db = dbmod.connect(url)
        try:
            dbmod.upgrade(db)
            store = SimulationStore(db)
            now = datetime.now(UTC)
            t0 = time.perf_counter()
            job = store.create(id=uuid.uuid4().hex, baseline="a@1", candidate="a@1",
                               baseline_ref="a@1", candidate_ref="a@1", options={},
                               started_by="bench", now=now, leased_by="bench#1",
                               leased_until=now + timedelta(seconds=30), orders=stream)
            stored_s = time.perf_counter() - t0
            with db.session() as s:
                from sqlalchemy import func, select

                from ordinance.adapters.models_simulations import SimulationOrderChunk

                packed = s.scalar(select(func.sum(func.length(SimulationOrderChunk.data)))
                                  .where(SimulationOrderChunk.job_id == job.id))
            t0 = time.perf_counter()
            size = store.orders_to(job.id, Path(tmp) / "back.jsonl")
            read_s = time.perf_counter() - t0
            store.fail(job.id, "bench#1", now, "bench")
            store.delete(job.id)
        finally:
            db.dispose()
            if schema:
                with psycopg.connect(args.database_url, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    mb = size / 1e6
    print(f"{args.orders:,} orders, {mb:.1f} MB of JSONL on {url.split(':')[0]}")
    print(f"stored: {packed / 1e6:.1f} MB compressed ({packed / size:.1%} of the stream)")
    print(f"store with the job: {stored_s:.2f} s ({mb / stored_s:.0f} MB/s)")
    print(f"read back: {read_s:.2f} s ({mb / read_s:.0f} MB/s)")


if __name__ == "__main__":
    main()
