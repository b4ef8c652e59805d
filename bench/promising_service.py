"""Benchmark of promising in the service: how long a capture holds a SKU's stock rows locked.

    .venv/bin/python bench/promising_service.py                     # SQLite in a temp dir
    .venv/bin/python bench/promising_service.py --orders 500 \\
        --database-url postgresql://postgres@127.0.0.1/test

Captures serialise per SKU on its stock rows (adapters/supply_reserve.py), so the figure that
bounds how many orders of one SKU a service takes per second is the time from the lock to the
commit: read the pair's supply and reservations, promise, write the reservations, the promise
and its alerts. This runs that step (`promise_order` in its own writing transaction, commit
included) for N one-line orders of FAS-0005 against `rulesets/acme`, with the decision made
once beforehand (its ranked candidates, `plans`, handed over as the service does: WH-NJ,
WH-TX and WH-NV for us-east; `--decision-locations-only` promises at the locations the
decision JSON names, as before the candidates were recorded), and prints the median and best
wall time and the process CPU time per order,
at the start and at the end (the pair's reservations grow with every order). On PostgreSQL
the tables are made in a database of its own (dropped afterwards). Asserts nothing about time.
"""
from __future__ import annotations

import argparse
import datetime
import statistics
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from ordinance.adapters import db as dbmod
    from ordinance.adapters import supply_reserve
    from ordinance.api.usecases.decide import evaluate
    from ordinance.engine import load

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--database-url", default=None, help="default: a SQLite file in a temp dir")
    ap.add_argument("--decision-locations-only", action="store_true",
                    help="do not hand over the decision's ranked candidates")
    args = ap.parse_args()
    rs = load(str(ROOT / "rulesets" / "acme"))
    as_of = datetime.date(2026, 11, 20)
    order = {"id": "B", "customer": {"id": "C-00004"}, "channel": "web", "currency": "USD",
             "ship_to": {"street": "1 Main St", "city": "Tampa", "country": "US", "state": "FL",
                         "postal": "33636"},
             "payment": {"method": "card"}, "requested_date": "2026-11-25",
             "lines": [{"id": "1", "sku": "FAS-0005", "quantity": 4}]}
    ev = evaluate(rs, order, as_of, "decide", as_of)
    plans = () if args.decision_locations_only else ev.plans
    at = datetime.datetime(2026, 11, 20, 9, tzinfo=datetime.timezone.utc)
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = args.database_url or f"sqlite:///{tmp}/bench.db", None
        if args.database_url and "postgresql" in args.database_url:
            import psycopg

            name = "ordinance_bench_" + uuid.uuid4().hex[:8]
            admin = args.database_url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'CREATE DATABASE "{name}"')
            url, drop = admin.rsplit("/", 1)[0] + "/" + name, (admin, name)
        db = dbmod.connect(url)
        try:
            dbmod.upgrade(db)
            walls, cpus = [], []
            for n in range(args.orders):
                w, c = time.perf_counter(), time.process_time()
                with db.session(write=True) as s:
                    supply_reserve.promise_order(s, db.is_sqlite, rs, f"B{n}", f"dec{n}",
                                                 ev.body, as_of, at, plans=plans)
                walls.append(time.perf_counter() - w)
                cpus.append(time.process_time() - c)
            tenth = max(args.orders // 10, 1)
            for label, part in (("first", slice(0, tenth)), ("last", slice(-tenth, None))):
                print(f"{label} {tenth} orders: wall median {statistics.median(walls[part]) * 1e3:.2f} ms"
                      f" best {min(walls[part]) * 1e3:.2f} ms; CPU median "
                      f"{statistics.median(cpus[part]) * 1e3:.2f} ms")
            print(f"{args.orders} orders on {'SQLite' if db.is_sqlite else 'PostgreSQL'}")
        finally:
            db.dispose()
            if drop is not None:
                import psycopg

                with psycopg.connect(drop[0], autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{drop[1]}"')


if __name__ == "__main__":
    main()
