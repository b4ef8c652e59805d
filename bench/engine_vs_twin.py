#!/usr/bin/env python3
"""The engine against its hand-written twin (issue 16), side by side in one run.

Writes bench/engine.py's synthetic rule set (104 rules, six phases) and a stream of generated
orders, then runs, alternately and --rounds times each, `ordinance eval RULESET --orders IN
--out OUT` and `python bench/twin_bench.py RULESET IN OUT` as child processes, and reads each
child's CPU time (user + system, start-up included) from the kernel (os.wait4). Prints the best
round of each, the ratio engine/twin, and whether the two outputs are byte-identical (sha256).
With --callgrind it also counts each child's instructions under valgrind (slow; use fewer
orders). Nothing is timed by the wall clock: the machine is shared.

`--against DIR` runs an older engine too, in the same rounds: DIR holds a checkout of it as
a package named `ordinance` (for example `mkdir -p /tmp/base/ordinance && git archive COMMIT
| tar -x -C /tmp/base/ordinance`), put first on its PYTHONPATH.

`--ruleset acme` runs rulesets/acme against its hand-written twin, bench/acme_twin.py,
instead: the orders come from the simulator's generator (simulator/generate.py, the stream
bench/decisions_sha.py decides), --seed 1 by default, with their 1 to many lines (--lines
does not apply).

`--startup` measures issue 16's start-up figure instead: `ordinance eval rulesets/acme
ORDER.json --compact` for one order, from a warm compiled cache, --rounds times (11 is the
documented figure): the median wall and CPU (user + system) time, the first (compiling) start,
the -X importtime top entries of one warm start, and with --callgrind its instructions. Two
orders: the one of issue 16 (no lines: validation rejects it, nothing is screened) and the
first US order of the generated stream (it screens two names and matches a postal code).
With --against DIR the older engine runs too, alternately in the same rounds.

usage: .venv/bin/python bench/engine_vs_twin.py [--ruleset synthetic|acme] [--orders 5000]
                                               [--lines 5] [--seed 1] [--rounds 3]
                                               [--callgrind] [--against DIR] [--startup]
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
AS_OF = "2026-11-20"


ENV = dict(os.environ)


def cpu_of(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """The CPU seconds (user + system) of one child process run to its end."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env or ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {err}")
    return usage.ru_utime + usage.ru_stime


def instructions(cmd: list[str], tmp: Path, name: str, env: dict[str, str] | None = None) -> int:
    out = tmp / f"callgrind.{name}"
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env=env or ENV)
    text = out.read_text(errors="replace")
    m = re.search(r"^summary:\s+(\d+)", text, re.M) or re.search(r"^totals:\s+(\d+)", text, re.M)
    if not m:
        raise SystemExit(f"no instruction count in {out}")
    return int(m.group(1))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def acme_orders(ruleset: Path, count: int, seed: int, out: Path) -> None:
    """The simulator's generated ACME stream, as bench/decisions_sha.py writes it."""
    import json

    from ordinance.simulator import generate
    with open(out, "w") as f:
        for o in generate.generate_orders(generate.load_catalogue(ruleset), count=count,
                                          seed=seed):
            f.write(json.dumps(o, default=str) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ruleset", choices=("synthetic", "acme"), default="synthetic")
    ap.add_argument("--seed", type=int, default=1, help="the generator's seed (acme)")
    ap.add_argument("--orders", type=int, default=5000)
    ap.add_argument("--lines", type=int, default=5, help="lines per order (0: 1 to 20)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--against", type=Path, help="a directory holding an older `ordinance`")
    ap.add_argument("--startup", action="store_true", help="issue 16's start-up figure alone")
    args = ap.parse_args()
    if args.startup:
        return startup(args.rounds, args.callgrind, args.against)
    import engine as bench_engine  # bench/engine.py: the synthetic rule set and orders

    from ordinance.engine import dumps
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        # both run as an installed program does: Python's bytecode cached (this machine sets
        # PYTHONDONTWRITEBYTECODE), the engine's compiled rule set cached after the first
        # start (adapters/compiled_cache.py); the first start is reported apart
        ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        ENV["PYTHONPYCACHEPREFIX"] = str(tmp / "pyc")
        ENV["ORDINANCE_CACHE_DIR"] = str(tmp / "cache")
        orders = tmp / "orders.jsonl"
        if args.ruleset == "acme":
            ruleset = ROOT / "rulesets/acme"
            twin_py = ROOT / "bench/acme_twin.py"
            acme_orders(ruleset, args.orders, args.seed, orders)
        else:
            ruleset = bench_engine.synthetic_ruleset(tmp / "bench")
            twin_py = ROOT / "bench/twin_bench.py"
            with open(orders, "w") as f:
                for o in bench_engine.synthetic_orders(args.orders, args.lines or None):
                    f.write(dumps(o) + "\n")
        py = sys.executable
        ordinance = str(Path(py).parent / "ordinance")
        engine_cmd = [ordinance, "eval", str(ruleset), "--orders", str(orders),
                      "--out", str(tmp / "engine.jsonl"), "--as-of", AS_OF]
        empty = tmp / "empty.jsonl"
        old_env = dict(ENV, PYTHONPATH=str(args.against.resolve())) if args.against else None
        old_cmd = [py, "-m", "ordinance.api.cli", "eval", str(ruleset), "--orders",
                   str(orders), "--out", str(tmp / "old.jsonl"), "--as-of", AS_OF]
        old_start = [*old_cmd[:6], str(empty), "--out", os.devnull,
                     "--as-of", AS_OF]
        twin_cmd = [py, str(twin_py), str(ruleset), str(orders),
                    str(tmp / "twin.jsonl"), "--as-of", AS_OF]
        empty.write_text("")
        engine_start = [ordinance, "eval", str(ruleset), "--orders", str(empty),
                        "--out", os.devnull, "--as-of", AS_OF]
        twin_start = [py, str(twin_py), str(ruleset), str(empty),
                      os.devnull, "--as-of", AS_OF]
        cpu_of(twin_start)  # the bytecode of both written
        if old_env:
            cpu_of(old_start, old_env)
        cold = cpu_of(engine_start)  # compiles the rule set and caches it
        best = {"engine": 1e9, "twin": 1e9, "engine start": 1e9, "twin start": 1e9}
        for _ in range(args.rounds):
            best["engine"] = min(best["engine"], cpu_of(engine_cmd))
            best["twin"] = min(best["twin"], cpu_of(twin_cmd))
            best["engine start"] = min(best["engine start"], cpu_of(engine_start))
            best["twin start"] = min(best["twin start"], cpu_of(twin_start))
            if old_env:
                best["old"] = min(best.get("old", 1e9), cpu_of(old_cmd, old_env))
                best["old start"] = min(best.get("old start", 1e9), cpu_of(old_start, old_env))
        same = sha(tmp / "engine.jsonl") == sha(tmp / "twin.jsonl")
        n = args.orders
        if args.ruleset == "acme":
            print(f"{n} generated orders (simulator/generate.py, seed {args.seed}), rule set "
                  f"rulesets/acme (118 rules, six phases) against bench/acme_twin.py; "
                  f"CPU seconds (user+system), best of {args.rounds}")
        else:
            lines = f"{args.lines}-line" if args.lines else "1- to 20-line"
            print(f"{n} {lines} orders, rule set bench/engine.py --synthetic "
                  f"(104 rules, six phases); CPU seconds (user+system), best of {args.rounds}")
        for who in ("engine", "twin") + (("old",) if old_env else ()):
            total, start = best[who], best[f"{who} start"]
            print(f"  {who:6}: {total:6.3f} s with start-up ({total / n * 1e6:6.1f} µs/order); "
                  f"start-up {start:5.3f} s; after it {(total - start) / n * 1e6:6.1f} µs/order")
        print(f"  engine's first start (compiling the rule set into its cache): {cold:5.3f} s")
        print(f"  ratio engine/twin: {best['engine'] / best['twin']:.2f}x with start-up, "
              f"{(best['engine'] - best['engine start']) / max(best['twin'] - best['twin start'], 1e-9):.2f}x"
              " after it")
        if old_env:
            print(f"  ratio old engine/twin: {best['old'] / best['twin']:.2f}x with start-up; "
                  f"old/new {best['old'] / best['engine']:.2f}x")
            same = same and sha(tmp / "old.jsonl") == sha(tmp / "twin.jsonl")
        print(f"  outputs byte-identical: {same} (sha256 {sha(tmp / 'engine.jsonl')[:16]}…)")
        if args.callgrind:
            ie = instructions(engine_cmd, tmp, "engine")
            it = instructions(twin_cmd, tmp, "twin")
            print(f"  instructions: engine {ie / n / 1e6:.2f} M/order, twin {it / n / 1e6:.2f} "
                  f"M/order (start-up included), ratio {ie / it:.2f}x")
            if old_env:
                io_ = instructions(old_cmd, tmp, "old", old_env)
                print(f"  instructions: old engine {io_ / n / 1e6:.2f} M/order, ratio "
                      f"{io_ / it:.2f}x")
        for p in glob.glob(str(tmp / "callgrind.*")):
            os.unlink(p)
        return 0 if same else 1


def run_timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds user + system) of one child run to its end."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env or ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_utime + usage.ru_stime


def import_top(cmd: list[str], n: int = 12) -> list[str]:
    """The -X importtime entries of one run with the largest cumulative time, nested ones
    included (microseconds, as Python prints them)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ordinance.api.cli",
                           *cmd[1:]], capture_output=True, text=True, env=ENV, check=True)
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (.*)$", line)
        if m:
            rows.append((int(m.group(2)), int(m.group(1)), m.group(3).rstrip()))
    total = sum(self for _, self, _ in rows)
    top = [f"{cum:8d} {self:7d}  {name}" for cum, self, name in sorted(rows, reverse=True)[:n]]
    return [f"  imports: {total / 1e3:.0f} ms self time in all ({len(rows)} modules); "
            "cumulative, self (µs), module:", *top]


def startup(rounds: int, callgrind: bool, against: Path | None) -> int:
    """Issue 16's start-up figure (see the module doc)."""
    import json

    from ordinance.simulator import generate
    ruleset = ROOT / "rulesets/acme"
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        ENV.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached
        ENV["PYTHONPYCACHEPREFIX"] = str(tmp / "pyc")
        ENV["ORDINANCE_CACHE_DIR"] = str(tmp / "cache")
        bare = tmp / "o1.json"
        bare.write_text(json.dumps({"id": "o1", "order_date": "2026-11-20",
                                    "customer": {"id": "C1"}, "lines": []}))
        screened = tmp / "us.json"
        us = next(o for o in generate.generate_orders(generate.load_catalogue(ruleset),
                                                      count=20, seed=1)
                  if (o.get("ship_to") or {}).get("country") == "US")
        screened.write_text(json.dumps(us, default=str))
        ordinance = str(Path(sys.executable).parent / "ordinance")
        print(f"start-up of `ordinance eval rulesets/acme ORDER.json --compact`, {rounds} "
              "warm starts each (median; bytecode and compiled rule set cached):")
        engines = {"engine": dict(ENV)}
        if against is not None:  # the older engine, in the same rounds (alternately)
            engines["old"] = dict(ENV, PYTHONPATH=str(against.resolve()))
        for who, env in engines.items():
            first_wall, first_cpu = run_timed([ordinance, "eval", str(ruleset), str(bare)], env)
            print(f"  {who}'s first start (compiles, writes bytecode and the compiled cache): "
                  f"{first_wall:.3f} s wall, {first_cpu:.3f} s CPU")
        for label, order in (("issue 16's order (no lines)", bare),
                             ("a US order (screens, matches)", screened)):
            cmd = [ordinance, "eval", str(ruleset), str(order), "--compact"]
            runs: dict[str, list[tuple[float, float]]] = {who: [] for who in engines}
            for _ in range(rounds):
                for who, env in engines.items():
                    runs[who].append(run_timed(cmd, env))
            for who, got in runs.items():
                wall = statistics.median(w for w, _ in got)
                cpu = statistics.median(c for _, c in got)
                print(f"  {label}, {who}: wall {wall:.3f} s, CPU {cpu:.3f} s (min wall "
                      f"{min(w for w, _ in got):.3f} s, min CPU {min(c for _, c in got):.3f} s)")
            if order is bare:
                print("\n".join(import_top(cmd)))
            if callgrind:
                print(f"  instructions: {instructions(cmd, tmp, 'start') / 1e6:.1f} M")
        for p in glob.glob(str(tmp / "callgrind.*")):
            os.unlink(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
