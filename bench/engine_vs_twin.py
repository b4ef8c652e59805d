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

usage: .venv/bin/python bench/engine_vs_twin.py [--ruleset synthetic|acme] [--orders 5000]
                                               [--lines 5] [--seed 1] [--rounds 3]
                                               [--callgrind] [--against DIR]
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import os
import re
import subprocess
import sys
import tempfile
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
    args = ap.parse_args()
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


if __name__ == "__main__":
    sys.exit(main())
