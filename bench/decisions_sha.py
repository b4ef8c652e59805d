#!/usr/bin/env python3
"""Are the decisions byte-identical to before? sha256 of `ordinance eval --orders` over a
generated stream, per rule set (issue 16: every speed change must leave them unchanged).

Streams: 1,500 orders of rulesets/acme from the shipped generator (seed 1, with their 1 to
many lines), and 1,500 orders of bench/engine.py's synthetic rule set (1 to 20 lines). Each
stream is decided three times, compiled afresh, into an empty compiled-rule-set cache and
from it, and must give the same bytes. Prints one `NAME SHA256` line each; with --check it
compares them with bench/decisions.sha256 (written by --write at the start of the work) and
exits 1 on a difference.

usage: .venv/bin/python bench/decisions_sha.py [--orders 1500] [--check | --write]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
EXPECTED = ROOT / "bench/decisions.sha256"
AS_OF = "2026-11-20"


def stream_sha(ruleset: Path, orders: Path) -> str:
    """The sha256 of the decisions, the same compiled afresh (no cache), into an empty cache
    and from it (adapters/compiled_cache.py); SystemExit when the three differ."""
    ordinance = str(Path(sys.executable).parent / "ordinance")
    found = set()
    with tempfile.TemporaryDirectory() as cache:
        for env in ({"ORDINANCE_CACHE": "off"}, {"ORDINANCE_CACHE_DIR": cache},
                    {"ORDINANCE_CACHE_DIR": cache}):
            out = subprocess.run([ordinance, "eval", str(ruleset), "--orders", str(orders),
                                  "--as-of", AS_OF], capture_output=True, check=False,
                                 env=dict(os.environ, **env))
            if out.returncode not in (0, 2):
                raise SystemExit(f"ordinance eval failed: {out.stderr.decode()}")
            found.add(hashlib.sha256(out.stdout).hexdigest())
    if len(found) != 1:
        raise SystemExit(f"{ruleset}: the cached rule set decides otherwise: {found}")
    return found.pop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=1500)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--write", action="store_true")
    args = ap.parse_args()
    import engine as bench_engine

    from ordinance.engine import dumps
    from ordinance.simulator import generate
    found = {}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        acme = ROOT / "rulesets/acme"
        with open(tmp / "acme.jsonl", "w") as f:
            for o in generate.generate_orders(generate.load_catalogue(acme), count=args.orders,
                                              seed=1):
                f.write(json.dumps(o, default=str) + "\n")
        found[f"acme-{args.orders}"] = stream_sha(acme, tmp / "acme.jsonl")
        syn = bench_engine.synthetic_ruleset(tmp / "bench")
        with open(tmp / "syn.jsonl", "w") as f:
            for o in bench_engine.synthetic_orders(args.orders, None):
                f.write(dumps(o) + "\n")
        found[f"synthetic-{args.orders}"] = stream_sha(syn, tmp / "syn.jsonl")
    for name, digest in found.items():
        print(f"{name} {digest}")
    if args.write:
        EXPECTED.write_text("".join(f"{k} {v}\n" for k, v in found.items()))
    if args.check:
        expected = dict(line.split() for line in EXPECTED.read_text().splitlines() if line)
        bad = [k for k, v in found.items() if expected.get(k) != v]
        print("identical" if not bad else f"DIFFERENT: {', '.join(bad)}")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
