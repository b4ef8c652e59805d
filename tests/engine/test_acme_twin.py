"""bench/acme_twin.py, rulesets/acme written by hand (issue 16), decides generated orders byte
for byte as `ordinance eval rulesets/acme --orders` does, so the engine/twin ratio that
bench/engine_vs_twin.py --ruleset acme reports compares the same work."""
from __future__ import annotations

import datetime
import importlib.util
import io
import json
import os
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from ordinance.simulator import generate

ROOT = Path(__file__).resolve().parents[2]
ACME = ROOT / "rulesets/acme"


def _twin():
    spec = importlib.util.spec_from_file_location("acme_twin", ROOT / "bench/acme_twin.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stream(tmp_path: Path) -> Path:
    """About 100 orders of three seeds, a third of them spoilt (every defect the generator
    has: missing fields, bad quantities, unknown SKUs, embargoes, listed parties, past dates,
    bad currencies)."""
    catalogue = generate.load_catalogue(ACME)
    path = tmp_path / "orders.jsonl"
    with open(path, "w") as f:
        for seed in (3, 11, 29):
            for order in generate.generate_orders(catalogue, count=34, seed=seed,
                                                  bad_share=Decimal("0.35")):
                f.write(json.dumps(order, default=str) + "\n")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("as_of", ["2026-11-20", "2026-11-25"])  # the second in Black Friday week
def test_twin_decides_as_the_engine_does(tmp_path: Path, as_of: str) -> None:
    orders = _stream(tmp_path)
    env = dict(os.environ, ORDINANCE_CACHE_DIR=str(tmp_path / "cache"))
    engine = subprocess.run([sys.executable, "-m", "ordinance.api.cli", "eval", str(ACME),
                             "--orders", str(orders), "--as-of", as_of],
                            capture_output=True, env=env, check=False)
    assert engine.returncode == 0, engine.stderr.decode()
    out = io.BytesIO()
    with open(orders, "rb") as src:
        n = _twin().run(ACME, src, out, datetime.date.fromisoformat(as_of))
    assert n == 102
    mine, theirs = out.getvalue().splitlines(), engine.stdout.splitlines()
    assert len(mine) == len(theirs) == n
    for i, (a, b) in enumerate(zip(theirs, mine)):
        assert a == b, f"order {i + 1} differs:\nengine {a.decode()}\ntwin   {b.decode()}"
    # the stream reaches every outcome, so the identity covers every phase
    decisions = [json.loads(line) for line in theirs]
    statuses = Counter(d["status"] for d in decisions)
    assert set(statuses) == {"accepted", "rejected", "on_hold", "pending_approval"}, statuses
    fired = {rule for d in decisions for rule in d["fired"]}
    assert {"trade-compliance/denied-customer", "discounts/segment-tier",
            "sourcing-network/standard", "approvals/margin-floor"} <= fired
    assert any(line["promise"]["trace"][-1]["step"] != "on_hand"
               for d in decisions for line in (d["sourcing"] or {"lines": []})["lines"]
               if line["promise"]["trace"]), "no backorder was promised from supply to come"
