"""Load benchmark of the REST service: requests/s and p50/p99 latency for /v1/price and
/v1/decisions with the decision log on, against `ordinance serve`.

    .venv/bin/python bench/service.py [--workers 2] [--duration 15] [--connections 32]
        [--database-url postgresql://postgres@127.0.0.1/bench] [--ruleset rulesets/acme]
        [--against /tmp/base --rounds 3]

It starts `ordinance serve --bootstrap` in a temporary directory (SQLite there unless
--database-url is given), warms it up, drives it with `wrk` (apt package `wrk`) when
installed, else with a small multi-process Python client, then checks that the decision
log holds one row per 2xx answer. It prints figures and asserts nothing about time.

`--against DIR` measures another checkout too (an older commit in a worktree, with its own
`.venv`): the two servers take turns, `--rounds` times each, in one run, and the medians are
printed side by side, so both meet the same machine (other load on it included).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

ACME_ORDER = {
    "id": "BENCH-1", "order_date": "2026-11-20T09:00:00Z", "customer": {"id": "C-00060"},
    "lines": [{"id": "1", "sku": "HTL-0001", "quantity": 10},
              {"id": "2", "sku": "HTL-0002", "quantity": 3},
              {"id": "3", "sku": "HTL-0003", "quantity": 1}],
}
C07_ORDER = {"id": "BENCH-1", "attributes": {"manual_discount": 12},
             "lines": [{"id": "1", "sku": "X-1", "quantity": 10}]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: argparse.Namespace, workdir: Path, ruleset: Path,
          bin_dir: Path = BIN) -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    env = dict(os.environ)
    if args.database_url:
        env["ORDINANCE_DATABASE_URL"] = args.database_url
    else:
        env["ORDINANCE_DATABASE_URL"] = f"sqlite:///{workdir}/bench.db"
    env["ORDINANCE_CACHE_DIR"] = str(workdir / "cache")
    key = subprocess.run([str(bin_dir / "ordinance"), "keys", "create", "--role", "evaluator",
                          "--name", f"bench-{time.time_ns()}"], cwd=workdir, env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    proc = subprocess.Popen(
        [str(bin_dir / "ordinance"), "serve", "--ruleset", str(ruleset),
         "--port", str(port), "--workers", str(args.workers)],
        cwd=workdir, env=env, stdout=subprocess.DEVNULL, text=True,
        # to a file: a pipe nobody reads fills with the access log (64 KB, some 600 requests)
        # and then every request of the server waits on its write
        stderr=open(workdir / "serve.log", "w"))
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve stopped: {(workdir / 'serve.log').read_text()[-4000:]}")
        try:
            if httpx.get(url + "/health").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    time.sleep(1.0)  # let every worker finish starting
    return proc, url, key


LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
wrk.body = [[%s]]
"""


def run_wrk(url: str, path: str, key: str, body: str, args: argparse.Namespace,
            workdir: Path) -> dict:
    script = workdir / "post.lua"
    script.write_text(LUA % (key, body))
    out = subprocess.run(
        ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
         "--latency", "-s", str(script), url + path],
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    lat = {}
    for pct in ("50", "90", "99"):
        m = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out)
        if m:
            v, unit = float(m.group(1)), m.group(2)
            lat[pct] = v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    return {"rps": rps, "requests": total, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "p50_ms": lat.get("50"), "p90_ms": lat.get("90"), "p99_ms": lat.get("99")}


def _py_worker(url: str, path: str, key: str, body: str, seconds: float, conns: int,
               q) -> None:  # type: ignore[no-untyped-def]
    import threading

    import httpx

    lat: list[float] = []
    bad = [0]
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def loop() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}",
                                                 "Content-Type": "application/json"},
                          timeout=60) as c:
            while time.monotonic() < end:
                t0 = time.perf_counter()
                try:
                    status = c.post(path, content=body).status_code
                except httpx.TransportError:  # counted, not the end of this connection
                    status = 599
                dt = (time.perf_counter() - t0) * 1000
                with lock:
                    lat.append(dt)
                    if status >= 300:
                        bad[0] += 1

    ts = [threading.Thread(target=loop) for _ in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    q.put((lat, bad[0]))


def run_python(url: str, path: str, key: str, body: str, args: argparse.Namespace,
               _workdir: Path) -> dict:
    import multiprocessing as mp

    q = mp.Queue()
    procs = [mp.Process(target=_py_worker, args=(url, path, key, body, args.duration,
                                                 max(1, args.connections // args.threads), q))
             for _ in range(args.threads)]
    for p in procs:
        p.start()
    lat, bad = [], 0
    for _ in procs:
        lt, b = q.get()
        lat += lt
        bad += b
    for p in procs:
        p.join()
    lat.sort()

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(len(lat) * p))] if lat else float("nan")

    return {"rps": len(lat) / args.duration, "requests": len(lat), "non2xx": bad,
            "p50_ms": pct(0.5), "p90_ms": pct(0.9), "p99_ms": pct(0.99)}


def count_log(url: str) -> int:
    from sqlalchemy import create_engine, text

    from ordinance.adapters.db import normalise_url

    eng = create_engine(normalise_url(url))
    with eng.connect() as c:
        n = c.execute(text("SELECT count(*) FROM decisions")).scalar_one()
    eng.dispose()
    return int(n)


def measure(args: argparse.Namespace, ruleset: Path, order: dict, bin_dir: Path,
            label: str) -> dict[str, dict]:
    """One server (`bin_dir`'s ordinance) started, warmed up, measured, stopped."""
    client = args.client or ("wrk" if shutil.which("wrk") else "python")
    runner = run_wrk if client == "wrk" else run_python
    body = json.dumps({"order": order})
    workdir = Path(tempfile.mkdtemp(prefix="ordinance-bench-"))
    if args.database_url:
        print("note: the decision log in the given database is appended to", file=sys.stderr)
    proc, url, key = start(args, workdir, ruleset, bin_dir)
    try:
        import httpx

        for _ in range(30):  # the first decision loads the rule set: on a busy machine it
            r = httpx.post(url + "/v1/decisions", content=body, timeout=120,  # may pass the
                           headers={"Authorization": f"Bearer {key}",  # evaluation deadline
                                    "Content-Type": "application/json"})
            if r.status_code != 503:
                break
            time.sleep(1)
        r.raise_for_status()
        print(f"[{label}] machine: {os.cpu_count()} cores, {sys.platform}, load "
              f"{os.getloadavg()[0]:.1f}; server: {bin_dir.parent.parent.name}'s ordinance "
              f"serve --workers {args.workers}; database: "
              f"{'SQLite (WAL)' if not args.database_url else args.database_url.split('@')[-1]}; "
              f"rule set: {ruleset.name} ({len(r.json().get('fired', []))} rules fired on "
              f"the order, status {r.json()['status']}); client: {client} "
              f"-t{args.threads} -c{args.connections} -d{args.duration}s")
        db_url = args.database_url or f"sqlite:///{workdir}/bench.db"
        results = {}
        for path in ("/v1/price", "/v1/decisions"):
            runner(url, path, key, body, argparse.Namespace(**{**vars(args), "duration": 3}),
                   workdir)  # warm-up
        before = count_log(db_url)
        for path in ("/v1/price", "/v1/decisions"):
            res = runner(url, path, key, body, args, workdir)
            results[path] = res
            print(f"[{label}] {path:15s} {res['rps']:8.0f} req/s   p50 {res['p50_ms']:.2f} ms   "
                  f"p90 {res['p90_ms']:.2f} ms   p99 {res['p99_ms']:.2f} ms   "
                  f"({res['requests']} requests, {res['non2xx']} non-2xx)")
        after = count_log(db_url)
        print(f"[{label}] decision log: {after - before} rows written during the measured runs "
              f"({sum(r['requests'] - r['non2xx'] for r in results.values())} answered 2xx; "
              "wrk may count a few in-flight requests at its deadline differently)")
        return results
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--ruleset", default=None)
    ap.add_argument("--client", choices=["wrk", "python"], default=None)
    ap.add_argument("--against", metavar="DIR", default=None,
                    help="another checkout with its own .venv, measured in turn with this one")
    ap.add_argument("--rounds", type=int, default=1, help="turns per server (with --against)")
    args = ap.parse_args()

    ruleset = Path(args.ruleset) if args.ruleset else ROOT / "rulesets" / "acme"
    order = ACME_ORDER if ruleset.name == "acme" else C07_ORDER
    if not (ruleset / "ruleset.yaml").is_file():
        ruleset = ROOT.parent / "shared" / "conformance" / "c07-approval"
        order = C07_ORDER
    sides = [("this", BIN)]
    if args.against:
        sides.append(("against", Path(args.against).resolve() / ".venv" / "bin"))
    runs: dict[str, list[dict[str, dict]]] = {label: [] for label, _ in sides}
    for _ in range(args.rounds if args.against else 1):
        for label, bin_dir in (sides if _ % 2 == 0 else sides[::-1]):
            runs[label].append(measure(args, ruleset, order, bin_dir, label))
    if args.against:
        print(f"\nmedian of {args.rounds} turns each, req/s "
              f"(this: {ROOT}, against: {Path(args.against).resolve()})")
        for path in ("/v1/price", "/v1/decisions"):
            med = {label: statistics.median(r[path]["rps"] for r in rs)
                   for label, rs in runs.items()}
            each = {label: " ".join(f"{r[path]['rps']:.0f}" for r in rs)
                    for label, rs in runs.items()}
            print(f"{path:15s} this {med['this']:8.0f} ({each['this']})   against "
                  f"{med['against']:8.0f} ({each['against']})   "
                  f"{(med['this'] / med['against'] - 1) * 100 if med['against'] else 0:+.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
