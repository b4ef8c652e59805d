"""Time per decision of the decision's own promise by demand class and by capable-to-promise
(issue 14): the rule set of tests/orchestration/test_decision_promise_makeup.py, 200 decisions
of each order after one warm-up pass. Run: .venv/bin/python bench/decision_promise_makeup.py"""
from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "api"))  # svc_helpers, imported by the test module
spec = importlib.util.spec_from_file_location(
    "decision_promise_makeup", ROOT / "tests/orchestration/test_decision_promise_makeup.py")
assert spec is not None and spec.loader is not None
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)

from ordinance.engine import load, parse_order  # noqa: E402

rs = load(m.ruleset(Path(tempfile.mkdtemp())))
ORDERS = [("low 30 (allocation)", m.order("X", (m.SKU, 30))),
          ("two low 30 (allocation)", m.order("X2", (m.SKU, 30), (m.SKU, 30))),
          ("bike 8 (CTP, two-level bill)", m.order("Y", (m.BIKE, 8))),
          ("FAS-0001 30 (allocation, on hand)", m.order("Z", ("FAS-0001", 30)))]
for _, body in ORDERS:
    for _ in range(20):
        rs.evaluate(parse_order(json.dumps(body)), m.AS_OF)
for name, body in ORDERS:
    n = 200
    t = time.perf_counter()
    for _ in range(n):
        rs.evaluate(parse_order(json.dumps(body)), m.AS_OF)
    print(f"{name}: {(time.perf_counter() - t) / n * 1000:.2f} ms/decision")
