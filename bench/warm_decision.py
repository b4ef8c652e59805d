#!/usr/bin/env python3
"""A warm decision, engine against its hand-written twin (issue 16): instructions and CPU.

Decides and renders a stream of orders in one process after a warm-up (every cache filled,
`gc.freeze()` after it), once with the engine (`parse_order`, `CompiledRuleSet.evaluate`,
`to_json`, `dumps`) and once with the twin of the same rule set (bench/acme_twin.py for
rulesets/acme, bench/twin_bench.py for bench/engine.py's synthetic set), and prints for each
the CPU per decision (`time.process_time` over the measured orders) and, with --callgrind,
the instructions per decision (valgrind's callgrind, collecting only inside the measured loop:
the figure docs/design/engine.md compares commits with; it does not depend on the machine's
load). Start-up is not in these figures: bench/engine_vs_twin.py gives the whole run.

`--against DIR` measures an older engine too (DIR holds it as a package named `ordinance`,
as for bench/engine_vs_twin.py), by PYTHONPATH, in the same run.

usage: .venv/bin/python bench/warm_decision.py [--ruleset acme|synthetic] [--warm 300]
           [--orders 2000] [--callgrind] [--against DIR]
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-20"

# one child process per measurement: the harness below, run as `python -c`
_CHILD = r'''
import datetime, gc, itertools, json, sys, time
from decimal import Decimal
from pathlib import Path
side, ruleset, orders, warm, count = sys.argv[1:6]
warm, count = int(warm), int(count)
raws = open(orders, "rb").read().splitlines()[:warm + count]
as_of = datetime.date.fromisoformat("%s")
if side == "engine":
    from ordinance.engine import load
    from ordinance.engine.codec import dumps
    from ordinance.engine.orders import parse_order
    rs = load(ruleset)
    def one(raw):
        return dumps(rs.evaluate(parse_order(raw), as_of=as_of, owned=True).to_json())
else:
    sys.path.insert(0, "%s")
    if side == "acme-twin":  # each twin reads and writes as its own run() does
        import acme_twin
        twin = acme_twin.Acme(Path(ruleset))
        def one(raw):
            return acme_twin.dumpb(twin.decide(acme_twin.read_order(raw), as_of))
    else:
        import twin_bench
        twin = twin_bench.Twin(Path(ruleset))
        encode = twin.encoder.encode
        def one(raw):
            return encode(twin.decide(json.loads(raw, parse_float=Decimal,
                                                 parse_int=Decimal), as_of))
for raw in raws[:warm]:
    one(raw)
gc.collect()
gc.freeze()
t = time.process_time()
done = list(itertools.starmap(one, ((raw,) for raw in raws[warm:])))
print(f"cpu_us {(time.process_time() - t) * 1e6 / len(done):.1f}")
''' % (AS_OF, ROOT / "bench")


def measure(side: str, ruleset: Path, orders: Path, warm: int, count: int, callgrind: bool,
            env: dict[str, str], tmp: Path) -> tuple[float, float | None]:
    cmd = [sys.executable, "-c", _CHILD, side, str(ruleset), str(orders), str(warm),
           str(count)]
    cpu = float(re.search(r"cpu_us (\S+)", subprocess.run(
        cmd, env=env, capture_output=True, text=True, check=True).stdout).group(1))
    if not callgrind:
        return cpu, None
    out = tmp / f"cg-{side}.out"
    run = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                          "--collect-atstart=no", "--toggle-collect=starmap_next", *cmd],
                         env=dict(env, PYTHONHASHSEED="0"), capture_output=True, text=True,
                         check=True)
    collected = int(re.search(r"Collected : (\d+)", run.stderr).group(1))
    return cpu, collected / count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ruleset", choices=("acme", "synthetic"), default="acme")
    ap.add_argument("--warm", type=int, default=300)
    ap.add_argument("--orders", type=int, default=2000)
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--against", type=Path)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from ordinance.engine import dumps

    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        env["ORDINANCE_CACHE_DIR"] = str(tmp / "cache")
        orders = tmp / "orders.jsonl"
        total = args.warm + args.orders
        if args.ruleset == "acme":
            import engine_vs_twin
            ruleset = ROOT / "rulesets/acme"
            engine_vs_twin.acme_orders(ruleset, total, 1, orders)
            twin = "acme-twin"
        else:
            import engine as bench_engine
            ruleset = bench_engine.synthetic_ruleset(tmp / "bench")
            with open(orders, "w") as f:
                for o in bench_engine.synthetic_orders(total, 5):
                    f.write(dumps(o) + "\n")
            twin = "synthetic-twin"
        sides = [("engine", "engine", env), ("twin", twin, env)]
        if args.against:
            sides.append(("old", "engine", dict(env, PYTHONPATH=str(args.against.resolve()))))
        print(f"{args.ruleset}: {args.orders} orders decided and rendered after {args.warm} "
              f"warm-up orders, one process each; per decision:")
        results = {}
        for label, side, side_env in sides:
            cpu, instr = measure(side, ruleset, orders, args.warm, args.orders,
                                 args.callgrind, side_env, tmp)
            results[label] = (cpu, instr)
            shown = f", {instr / 1e6:.3f} M instructions" if instr else ""
            print(f"  {label:6s}: {cpu:7.1f} µs CPU{shown}")
        (ecpu, einstr), (tcpu, tinstr) = results["engine"], results["twin"]
        print(f"  engine/twin: {ecpu / tcpu:.2f}x CPU"
              + (f", {einstr / tinstr:.2f}x instructions" if einstr and tinstr else ""))
        if "old" in results:
            ocpu, oinstr = results["old"]
            print(f"  old/engine: {ocpu / ecpu:.2f}x CPU"
                  + (f", {oinstr / einstr:.2f}x instructions" if oinstr and einstr else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
