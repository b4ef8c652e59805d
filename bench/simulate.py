"""Benchmark of `ordinance simulate`: orders per second, wall time and peak memory.

    .venv/bin/python bench/simulate.py                       # 100,000 and 1,000,000 orders
    .venv/bin/python bench/simulate.py --sizes 20000 --workers 2
    .venv/bin/python bench/simulate.py --sizes 2000 --workers 1 --blame both   # blame's cost

Replays N generated orders against `rulesets/acme` and `rulesets/acme-candidate` (when they
load; else two conformance rule sets, the candidate a copy with one threshold moved). Orders
come from `ordinance orders generate` when that command exists, else from a small generator
here that draws customers, SKUs and regions from the baseline's reference tables. Each run is
`ordinance simulate` in a subprocess; its memory is sampled every 50 ms as the sum of the RSS
of its whole process tree (the command and its workers), and `getrusage(RUSAGE_CHILDREN)`
gives the largest single process. `--blame` runs each size with the edits behind each change
named (the command's default), without (`--no-blame`), or both, and then prints the CPU
ratio. Prints figures; asserts nothing about time.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "ordinance"
CONFORMANCE = ROOT.parent / "shared" / "conformance"


def loads(path: Path) -> bool:
    from ordinance.engine import RuleSetInvalid, load

    if not (path / "ruleset.yaml").exists():
        return False
    try:
        load(str(path))
    except (RuleSetInvalid, OSError):
        return False
    return True


def rule_sets(work: Path) -> tuple[Path, Path, str]:
    acme, candidate = ROOT / "rulesets" / "acme", ROOT / "rulesets" / "acme-candidate"
    if loads(acme):
        if loads(candidate):
            return acme, candidate, "rulesets/acme vs rulesets/acme-candidate"
        return acme, acme, "rulesets/acme against itself (rulesets/acme-candidate does not load)"
    base = CONFORMANCE / "c07-approval"
    moved = work / "c07-candidate"
    shutil.rmtree(moved, ignore_errors=True)
    shutil.copytree(base, moved)
    packs = moved / "packs" / "approvals.yaml"
    packs.write_text(packs.read_text().replace("pricing.total >= 10000", "pricing.total >= 5000"))
    return base, moved, "conformance c07-approval vs a copy with the big-order threshold at 5000"


def generate_with_command(baseline: Path, n: int, out: Path, seed: int) -> bool:
    probe = subprocess.run([str(BIN), "orders", "generate", "--help"], capture_output=True,
                           text=True, check=False)
    if probe.returncode != 0:
        return False
    help_text = probe.stdout
    args = [str(BIN), "orders", "generate"]
    args += ["--count", str(n)] if "--count" in help_text else ["-n", str(n)]
    if "--seed" in help_text:
        args += ["--seed", str(seed)]
    if "--ruleset" in help_text:
        args += ["--ruleset", str(baseline)]
    if "--out" in help_text:
        args += ["--out", str(out)]
        return subprocess.run(args, check=False).returncode == 0
    with out.open("wb") as f:
        return subprocess.run(args, stdout=f, check=False).returncode == 0


def generate_here(baseline: Path, n: int, out: Path, seed: int) -> None:
    """Orders drawn from the rule set's reference tables (customers, prices, lanes)."""
    from ordinance.engine import load

    ref = load(str(baseline)).reference
    rng = random.Random(seed)
    skus = [str(next(iter(r.values()))) for r in ref.get("prices") or []] or ["A-1"]
    customers = ref.get("customers") or [{"id": f"C{i}", "tier": t}
                                         for i, t in enumerate(["gold", "silver", "standard"])]
    regions = sorted({str(r.get("to")) for r in ref.get("lanes") or []}) or ["us-east"]
    channels = ["web", "edi", "store", "phone", "field"]
    with out.open("w") as f:
        for i in range(n):
            c = rng.choice(customers)
            day = 1 + (i * 365) // n
            lines = [{"id": str(k + 1), "sku": rng.choice(skus),
                      "quantity": rng.choice([1, 2, 5, 10, 20, 50, 120]),
                      "unit_price": str(Decimal(rng.randint(100, 50000)) / 100)}
                     for k in range(rng.choice([1, 1, 2, 3, 5]))]
            order = {"id": f"B{i:07d}", "order_date": f"2026-{(day - 1) // 31 % 12 + 1:02d}-"
                                                       f"{(day - 1) % 28 + 1:02d}",
                     "channel": rng.choice(channels),
                     "customer": {"id": c.get("id"), "tier": c.get("tier")},
                     "ship_to": {"country": c.get("country") or "US",
                                 "region": rng.choice(regions)},
                     "currency": c.get("currency") or "USD",
                     "attributes": {"manual_discount": rng.choice([None, None, 5, 15, 30])},
                     "lines": lines}
            f.write(json.dumps(order, default=str) + "\n")


def run(baseline: Path, candidate: Path, orders: Path, workers: int, out: Path,
        blame: bool = True) -> dict:
    args = [str(BIN), "simulate", "--baseline", str(baseline), "--candidate", str(candidate),
            "--orders", str(orders), "--workers", str(workers), "--json", str(out), "--quiet"]
    args += [] if blame else ["--no-blame"]
    peak_tree = peak_main = 0
    cpu_main = cpu_workers = 0.0
    start = time.perf_counter()
    proc = psutil.Popen(args, stdout=subprocess.DEVNULL)
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_tree, peak_main, cpu_main, cpu_workers
        workers: dict[int, float] = {}
        while not stop.is_set():
            try:
                main = proc.memory_info().rss
                tree = main
                for c in proc.children(recursive=True):
                    tree += c.memory_info().rss
                    t = c.cpu_times()
                    workers[c.pid] = t.user + t.system
                t = proc.cpu_times()
                cpu_main, cpu_workers = t.user + t.system, sum(workers.values())
            except psutil.Error:
                tree = main = 0
            peak_tree, peak_main = max(peak_tree, tree), max(peak_main, main)
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = proc.wait()
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"ordinance simulate exited {code}")
    summary = json.loads(out.read_text())
    return {"blame": blame, "orders": summary["orders"],
            "changed_orders": summary["changed_orders"],
            "wall_s": round(wall, 1), "orders_per_s": round(summary["orders"] / wall),
            "cpu_main_s": round(cpu_main, 1), "cpu_workers_s": round(cpu_workers, 1),
            "peak_tree_rss_mb": round(peak_tree / 2 ** 20),
            "peak_main_rss_mb": round(peak_main / 2 ** 20),
            "largest_process_so_far_mb": round(
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "ordinance-bench"),
                   help="where generated orders are kept between runs")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--blame", choices=("on", "off", "both"), default="on",
                   help="name the edits behind the changes (on: the command's default)")
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    baseline, candidate, which = rule_sets(work)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{psutil.virtual_memory().total / 2 ** 30:.0f} GiB, Python "
          f"{platform.python_version()}; workers {args.workers}")
    print(f"rule sets: {which}; load average before: {os.getloadavg()}")
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        orders = work / f"orders-{n}-{args.seed}-{baseline.name}.jsonl"
        if not orders.exists():
            t = time.perf_counter()
            how = "ordinance orders generate"
            if not generate_with_command(baseline, n, orders, args.seed):
                how = "bench/simulate.py's generator"
                generate_here(baseline, n, orders, args.seed)
            print(f"generated {n:,} orders with {how} in {time.perf_counter() - t:.0f} s "
                  f"({orders.stat().st_size / 2 ** 20:.0f} MiB)")
        sides = {"on": [True], "off": [False], "both": [False, True]}[args.blame]
        for blame in sides:
            result = {"size": n, **run(baseline, candidate, orders, args.workers,
                                       work / f"summary-{n}.json", blame)}
            result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
            results.append(result)
            print(json.dumps(result), flush=True)
        if len(sides) == 2:
            off, on = results[-2:]
            cpu = [r["cpu_main_s"] + r["cpu_workers_s"] for r in (off, on)]
            print(f"blame at {n:,}: CPU {cpu[1]} s against {cpu[0]} s without "
                  f"({cpu[1] / max(cpu[0], 0.1):.2f}x), wall {on['wall_s']} s against "
                  f"{off['wall_s']} s", flush=True)
    if len(results) > 1 and args.blame != "both":
        first, last = results[0], results[-1]
        print(f"peak tree RSS at {last['size']:,} / at {first['size']:,}: "
              f"{last['peak_tree_rss_mb'] / max(first['peak_tree_rss_mb'], 1):.2f}")


if __name__ == "__main__":
    main()
