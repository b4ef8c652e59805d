#!/usr/bin/env python3
"""The console's decision search over a large log: 100,000 logged decisions, the searches the
Decisions screen makes (`GET /v1/decisions` with its filters), answered over HTTP by the
service (uvicorn in this process, one thread), median and worst of several rounds each: first
the searches by rule before the background worker's job has indexed anything (a page reads a
bounded tail), then the job's catch-up, then every search over the caught-up index beside the
log's plain query.

usage: .venv/bin/python bench/console_search.py [--decisions 100000] [--rounds 7]
           [--database-url postgresql://postgres@127.0.0.1/bench]

SQLite in a temporary directory unless --database-url is given (a database it may fill; its
`decisions` table is emptied first). The rows are written straight into the log's table
(the same columns `DecisionLog` writes, with a request and a decision of realistic size), so
the figures are the search's, not the writer's. Prints figures; asserts nothing about time.
"""
from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
ACME_ORDER = {"id": "X1", "order_date": "2026-11-20T09:00:00Z", "channel": "web",
              "currency": "USD", "customer": {"id": "C-00004"},
              "ship_to": {"street": "1 Main St", "city": "Tampa", "country": "US",
                          "state": "FL", "postal": "33636"},
              "payment": {"method": "card"}, "requested_date": "2026-11-25",
              "lines": [{"id": str(i), "sku": f"HTL-000{i}", "quantity": 10}
                        for i in range(1, 6)]}
RARE = "rare/one-in-a-thousand"
STATUSES = ["accepted"] * 80 + ["pending_approval"] * 10 + ["on_hold"] * 6 + ["rejected"] * 4


def real_decision() -> tuple[str, str, list[str]]:
    """An ACME order of five lines and its decision as the log stores them (6.5 kB): the
    size of a row decides how much a scan of the log reads."""
    from datetime import date

    from ordinance.api.usecases.decide import evaluate_order
    from ordinance.engine import dumps, load

    decision = evaluate_order(load(ROOT / "rulesets" / "acme"), dict(ACME_ORDER), None,
                              date(2026, 11, 20)).to_json()
    return (dumps({"order": ACME_ORDER, "as_of": "2026-11-20"}), dumps(decision),
            list(decision["fired"]))


def fill(db, n: int) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import delete, insert

    from ordinance.adapters.models import DecisionRecord

    rnd = random.Random(19)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    request, decision, rules = real_decision()
    print(f"a logged row: request {len(request)} B, decision {len(decision)} B, "
          f"{len(rules)} rules fired")
    with db.session(write=True) as s:
        s.execute(delete(DecisionRecord))
    batch = []
    for i in range(n):
        fired = [r for r in rules if rnd.random() < 0.8]
        if i % 1000 == 0:
            fired.append(RARE)  # a rare rule: one decision in a thousand
        batch.append({
            "id": f"dec_{uuid.UUID(int=rnd.getrandbits(128)).hex}",
            "created_at": start + timedelta(seconds=i * 26),  # 100,000 over a month
            "kind": "order", "key_name": "bench", "order_id": f"SO-{i:06d}",
            "status": rnd.choice(STATUSES), "ruleset_name": "acme",
            "digest": "sha256:" + ("a" if i < n // 2 else "b") * 64, "as_of": "2026-11-20",
            "fired": " " + " ".join(fired) + " ", "elapsed_us": 400,
            "request": request, "decision": decision})
        if len(batch) == 5000:
            with db.session(write=True) as s:
                s.execute(insert(DecisionRecord), batch)
            batch = []
    if batch:
        with db.session(write=True) as s:
            s.execute(insert(DecisionRecord), batch)


SEARCHES = [
    ("newest 50", {}),
    ("status=on_hold", {"status": "on_hold"}),
    ("status=rejected, a week", {"status": "rejected", "from": "2026-11-10", "to": "2026-11-16"}),
    ("order_id", {"order_id": "SO-054321"}),
    ("one day", {"from": "2026-11-20", "to": "2026-11-20"}),
    ("rule (common)", {"rule": "customer-master/known-customer"}),
    ("rule (1 in 1000)", {"rule": RARE}),
    ("rule (never fired)", {"rule": "nobody/fires-this"}),
    ("digest + status", {"digest": "sha256:" + "a" * 64, "status": "pending_approval"}),
    ("next page", {"cursor": "50000"}),
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--decisions", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--database-url")
    args = ap.parse_args()

    import uvicorn

    from ordinance.adapters import store_keys
    from ordinance.api.app import create_app
    from ordinance.api.settings import Settings

    tmp = tempfile.TemporaryDirectory(prefix="ordinance-bench-")
    url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    app = create_app(Settings(database_url=url, cache_dir=f"{tmp.name}/cache"))
    db = app.state.ctx.db
    t0 = time.perf_counter()
    fill(db, args.decisions)
    print(f"filled {args.decisions} decisions in {time.perf_counter() - t0:.1f} s ({url.split(':')[0]})")
    secret, _ = store_keys.create_key(db, "analyst", f"bench-{uuid.uuid4().hex[:6]}", ())

    sock_port = 0
    config = uvicorn.Config(app, host="127.0.0.1", port=sock_port, log_level="warning",
                            access_log=False)
    server = uvicorn.Server(config)
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}",
                          headers={"Authorization": f"Bearer {secret}"}, timeout=60)
    print(f"python {platform.python_version()}, {platform.machine()}; "
          f"milliseconds per search over HTTP, {args.rounds} rounds")
    from ordinance.adapters import decision_index

    # before the background worker has indexed anything: a search by rule reads at most
    # MAX_TAIL decisions of the tail a page and answers with a cursor (never catches up)
    for name, params in SEARCHES:
        if "rule" not in params:
            continue
        times, items = [], 0
        for _ in range(args.rounds):
            t = time.perf_counter()
            r = client.get("/v1/decisions", params={**params, "limit": 50})
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
            items = len(r.json()["items"])
        print(f"index {args.decisions} behind, {name:20} median {statistics.median(times):7.1f} "
              f"ms, worst {max(times):7.1f} ms, {items} items on the first page")
    assert decision_index.mark(db) == 0, "a search caught up"
    t = time.perf_counter()
    rounds = 0
    while decision_index.catch_up(db)["indexed"]:  # the worker's job, round after round
        rounds += 1
    print(f"the worker's job indexed {args.decisions} decisions in {rounds} rounds, "
          f"{time.perf_counter() - t:.1f} s")
    from ordinance.adapters import store_decisions

    def indexed(params: dict) -> list[str]:  # GET /v1/decisions: by rule through the index
        r = client.get("/v1/decisions", params={**params, "limit": 50})
        assert r.status_code == 200, r.text
        return [d["decision_id"] for d in r.json()["items"]]

    def plain(params: dict) -> list[str]:  # the log's LIKE over every row, in this process
        p = {"start": params.get("from"), "end": params.get("to"), "status": params.get("status"),
             "rule": params.get("rule"), "digest": params.get("digest"),
             "order_id": params.get("order_id"), "cursor": params.get("cursor")}
        return [d["decision_id"] for d in store_decisions.query(db, **p, limit=50)["items"]]

    searches = {"GET /v1/decisions (index)": indexed, "plain query (no HTTP)": plain}
    print(f"{'search':28} {'GET /v1/decisions':>22} {'plain query':>22} {'items':>6}")
    print(f"{'':28} {'median':>10} {'worst':>11} {'median':>10} {'worst':>11}")
    worst = dict.fromkeys(searches, 0.0)
    for name, params in SEARCHES:
        cells, answers = [], []
        for label, run in searches.items():
            times = []
            for _ in range(args.rounds):
                t = time.perf_counter()
                found = run(params)
                times.append((time.perf_counter() - t) * 1000)
            answers.append(found)
            worst[label] = max(worst[label], statistics.median(times))
            cells.append(f"{statistics.median(times):10.1f} {max(times):11.1f}")
        assert answers[0] == answers[1], f"{name}: the two searches differ"
        print(f"{name:28} {cells[0]} {cells[1]} {len(answers[0]):6d}")
    for label, ms in worst.items():
        print(f"slowest median, {label}: {ms:.1f} ms")
    client.close()
    server.should_exit = True
    thread.join(timeout=20)
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
