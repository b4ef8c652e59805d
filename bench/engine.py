#!/usr/bin/env python3
"""Engine benchmark: compile a rule set of 100+ rules over all six phases, evaluate generated
orders on one core, and compare one 20-row decision table with GoRules' zen-engine.

usage: .venv/bin/python bench/engine.py [--ruleset DIR] [--orders N] [--lines 5]

Without --ruleset it uses rulesets/acme and its order generator when they exist, else a
synthetic rule set written to a temporary directory (deterministic). Prints figures; asserts
nothing about time (ARCHITECTURE.md: benchmarks live in bench/).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from ordinance.engine import load, validate_order

ROOT = Path(__file__).resolve().parent.parent
SEGMENTS = ["retail", "wholesale", "education", "government", "distributor"]
COUNTRIES = ["DE", "FR", "US", "GB", "JP", "NL", "IT", "ES"]


def synthetic_ruleset(root: Path) -> Path:
    """A rule set of 120 rules shaped like a distributor's, spread over the six phases."""
    (root / "packs").mkdir(parents=True)
    (root / "reference").mkdir()
    (root / "ruleset.yaml").write_text('ruleset: bench\nversion: "1"\n')
    rnd = random.Random(7)
    with open(root / "reference/products.csv", "w") as f:
        f.write("sku,unit_price,category,eccn\n")
        for i in range(500):
            f.write(f"P-{i},{rnd.randint(100, 99999) / 100:.2f},cat{i % 12},"
                    f"{'3A090' if i % 97 == 0 else 'EAR99'}\n")
    with open(root / "reference/customers.csv", "w") as f:
        f.write("id,name,segment,tier,country,credit_limit\n")
        for i in range(300):
            f.write(f"C-{i},Customer {i},{SEGMENTS[i % 5]},{['gold', 'silver', 'bronze'][i % 3]},"
                    f"{COUNTRIES[i % 8]},{rnd.randint(5, 200) * 1000}\n")
    with open(root / "reference/countries.csv", "w") as f:
        f.write("code,currency,vat,region\n")
        for c, cur, vat in [("DE", "EUR", 19), ("FR", "EUR", 20), ("US", "USD", 0),
                            ("GB", "GBP", 20), ("JP", "JPY", 10), ("NL", "EUR", 21),
                            ("IT", "EUR", 22), ("ES", "EUR", 21)]:
            f.write(f"{c},{cur},{vat},{c.lower()}\n")
    (root / "reference/embargoed.yaml").write_text("[CU, IR, KP, SY]\n")
    (root / "reference/denied.csv").write_text("name,aliases\nRosoboronexport,ROE\n"
                                               "Acme Trading LLC,ATC International\n")
    with open(root / "reference/locations.csv", "w") as f:
        f.write("id,type,country,region,handling_days\n")
        for i, c in enumerate(COUNTRIES):
            f.write(f"WH-{c},warehouse,{c},{c.lower()},{i % 2}\n")
    with open(root / "reference/lanes.csv", "w") as f:
        f.write("from,to,transit_days,cost_per_unit\n")
        for a in COUNTRIES:
            for b in COUNTRIES:
                f.write(f"WH-{a},{b.lower()},{0 if a == b else 2 + (ord(a[0]) + ord(b[0])) % 5},"
                        f"{'0.10' if a == b else '0.55'}\n")
    with open(root / "reference/inventory.csv", "w") as f:
        f.write("location,sku,on_hand\n")
        for c in COUNTRIES:
            for i in range(0, 500, 2):
                f.write(f"WH-{c},P-{i},{rnd.randint(0, 400)}\n")
    packs = {
        "defaulting": ["  - id: customer\n    when: ref.customers[customer.id] != null\n    then:\n"
                       "      - default:\n          customer.segment: ref.customers[customer.id].segment\n"
                       "          customer.tier: ref.customers[customer.id].tier\n"
                       "          customer.country: ref.customers[customer.id].country\n",
                       "  - id: ship-to\n    then:\n      - default: {order.ship_to.country: "
                       "customer.country}\n",
                       "  - id: region\n    then:\n      - default:\n          order.ship_to.region: "
                       "ref.countries[order.ship_to.country].region\n",
                       "  - id: currency\n    then:\n      - default:\n          order.currency: "
                       "ref.countries[order.ship_to.country].currency\n",
                       "  - id: channel\n    then:\n      - set:\n          order.channel: "
                       "lower(coalesce(order.channel, \"web\"))\n",
                       "  - id: uom\n    for_each: line\n    then:\n      - default: "
                       "{line.uom: '\"EA\"'}\n"]
        + [f"  - id: attr-{i}\n    when: order.channel == \"c{i}\"\n    then:\n      - set: "
           f"{{order.attributes.route: '\"r{i}\"'}}\n" for i in range(9)],
        "validation": ["  - id: has-lines\n    when: len(order.lines) == 0\n    then:\n"
                       "      - reject: {code: NO_LINES, message: no lines, field: order.lines}\n",
                       "  - id: qty\n    for_each: line\n    when: line.quantity == null or "
                       "line.quantity <= 0\n    then:\n      - reject: {code: QTY, message: "
                       "\"line {line.id}\", field: line.quantity}\n",
                       "  - id: sku-known\n    for_each: line\n    when: ref.products[line.sku] "
                       "== null\n    then:\n      - reject: {code: SKU, message: \"{line.sku}\", "
                       "field: line.sku}\n"]
        + [f"  - id: big-{i}\n    for_each: line\n    when: line.quantity > {1000 + i * 100} "
           f"and ref.products[line.sku].category == \"cat{i}\"\n    then:\n      - warn: "
           f"{{code: BIG, message: big}}\n" for i in range(17)],
        "compliance": ["  - id: embargo\n    when: order.ship_to.country in ref.embargoed\n"
                       "    then:\n      - reject: {code: EMBARGO, message: embargo}\n",
                       "  - id: denied\n    when: screen(customer.name, \"denied\") >= 0.85\n"
                       "    then:\n      - hold: {code: DENIED, reason: \"{customer.name}\"}\n"]
        + [f"  - id: licence-{i}\n    for_each: line\n    when: ref.products[line.sku].eccn == "
           f"\"3A090\" and order.ship_to.country == \"{c}\"\n    then:\n      - hold: "
           f"{{code: LICENCE, reason: \"{{line.sku}}\"}}\n" for i, c in enumerate(["JP", "GB"] * 4)],
        "pricing": ["  - id: list\n    for_each: line\n    then:\n      - list_price: "
                    "ref.products[line.sku].unit_price\n",
                    "  - id: volume\n    for_each: line\n    table:\n      hit: first\n"
                    "      inputs: [line.quantity, customer.segment]\n      outputs: [percent]\n"
                    "      rows:\n" + "".join(
                        f"        - [\">= {q}\", \"{s}\", {p}]\n" for q, s, p in
                        [(500, "wholesale", 12), (200, "wholesale", 9), (100, "wholesale", 6),
                         (500, "distributor", 14), (200, "distributor", 10),
                         (100, "distributor", 7), (500, "education", 8), (100, "education", 5),
                         (500, "government", 6), (100, "government", 4), (1000, "retail", 5),
                         (500, "retail", 3), (50, "wholesale", 3), (50, "distributor", 4),
                         (50, "education", 2), (50, "government", 2), (200, "retail", 2),
                         (100, "retail", 1), (20, "wholesale", 1)])
                    + "        - [\"-\", \"-\", 0]\n    then:\n      - discount: {percent: "
                    "percent, reason: volume}\n",
                    "  - id: vat\n    for_each: line\n    then:\n      - tax:\n          rate: "
                    "ref.countries[order.ship_to.country].vat\n          jurisdiction: "
                    "\"{order.ship_to.country}\"\n",
                    "  - id: shipping\n    when: pricing.subtotal < 250\n    then:\n      - "
                    "charge: {code: shipping, amount: 9.95}\n",
                    "  - id: gold\n    when: customer.tier == \"gold\" and pricing.subtotal > 5000"
                    "\n    then:\n      - discount: {percent: 2, reason: gold}\n"]
        + [f"  - id: promo-{i}\n    for_each: line\n    when: ref.products[line.sku].category "
           f"== \"cat{i % 12}\" and line.quantity >= {10 + i}\n    then:\n      - discount: "
           f"{{amount_per_unit: 0.{i + 10}, reason: promo {i}}}\n" for i in range(35)],
        "sourcing": [f"  - id: src-{c}\n    for_each: line\n    when: order.ship_to.country == "
                     f"\"{c}\"\n    stop: true\n    then:\n      - source: {{from: [WH-{c}, "
                     f"{', '.join('WH-' + x for x in COUNTRIES if x != c)}], prefer: nearest, "
                     f"split: true}}\n" for c in COUNTRIES],
        "approval": ["  - id: depth\n    table:\n      hit: rule_order\n      inputs: "
                     "[pricing.discount_percent]\n      outputs: [role, level]\n      rows:\n"
                     "        - [\"> 10\", sales-manager, 1]\n        - [\"> 20\", sales-director,"
                     " 2]\n    then:\n      - require_approval: {role: \"{role}\", level: level}\n"]
        + [f"  - id: value-{i}\n    when: pricing.total >= {20000 * (i + 1)}\n    then:\n"
           f"      - require_approval: {{role: finance, level: {i + 1}}}\n" for i in range(10)],
    }
    for phase, rules in packs.items():
        (root / "packs" / f"{phase}.yaml").write_text(
            f"pack: {phase}\nphase: {phase}\nrules:\n" + "".join(rules))
    return root


def synthetic_orders(n: int, lines: int | None, seed: int = 1) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for k in range(n):
        nl = lines or rnd.randint(1, 20)
        cid = rnd.randint(0, 299)
        out.append({"id": f"B-{k}", "customer": {"id": f"C-{cid}", "name": f"Customer {cid}"},
                    "channel": rnd.choice(["web", "EDI", "store", "c3"]),
                    "order_date": "2026-11-20",
                    "lines": [{"id": str(j + 1), "sku": f"P-{rnd.randint(0, 499)}",
                               "quantity": Decimal(rnd.choice([1, 2, 5, 10, 25, 60, 120, 300,
                                                               700]))}
                              for j in range(nl)]})
    return [validate_order(o) for o in out]


def generated_orders(ruleset: Path, n: int, lines: int | None) -> list[dict] | None:
    try:
        from ordinance.simulator import generate  # the shipped generator, when present
    except ImportError:
        return None
    fn = getattr(generate, "generate_orders", None)
    if fn is None:
        return None
    out = []
    catalogue = generate.load_catalogue(ruleset)
    for o in fn(catalogue, count=n * 3 if lines else n, seed=1):
        if len(out) >= n:
            break
        if lines:
            o["lines"] = (o.get("lines") or [])[:lines]
            if len(o["lines"]) < lines:
                continue
        out.append(validate_order(json.loads(json.dumps(o, default=str))))
    return out


def bench_orders(rs, orders: list[dict], label: str) -> None:
    gc.collect()
    t0 = time.perf_counter()
    statuses: dict[str, int] = {}
    for o in orders:
        d = rs.evaluate(o)
        statuses[d.status] = statuses.get(d.status, 0) + 1
    dt = time.perf_counter() - t0
    print(f"  {label}: {len(orders)} orders in {dt:.2f} s = {len(orders) / dt:,.0f} orders/s, "
          f"{dt / len(orders) * 1e6:,.1f} µs/order  statuses {statuses}")


TABLE_ROWS = [(">= 500", "wholesale", "12"), ("[100..500)", "wholesale", "8"),
              (">= 500", "distributor", "14"), ("[200..500)", "distributor", "10"),
              ("[100..200)", "distributor", "7"), (">= 500", "education", "8"),
              ("[100..500)", "education", "5"), (">= 500", "government", "6"),
              ("[100..500)", "government", "4"), (">= 1000", "retail", "5"),
              ("[500..1000)", "retail", "3"), ("[50..100)", "wholesale", "3"),
              ("[50..100)", "distributor", "4"), ("[50..100)", "education", "2"),
              ("[50..100)", "government", "2"), ("[200..500)", "retail", "2"),
              ("[100..200)", "retail", "1"), ("[20..50)", "wholesale", "1"),
              ("[20..50)", "distributor", "1"), ("-", "-", "0")]


def bench_table(n: int) -> None:
    print("\nOne 20-row first-hit table, ours vs zen-engine, same inputs:")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "ruleset.yaml").write_text("ruleset: table\n")
        rows = "".join(f"        - [\"{q}\", \"{s}\", {p}]\n" for q, s, p in TABLE_ROWS)
        (root / "t.yaml").write_text(
            "pack: t\nphase: pricing\nrules:\n  - id: t\n    for_each: line\n    table:\n"
            "      hit: first\n      inputs: [line.quantity, customer.segment]\n"
            f"      outputs: [percent]\n      rows:\n{rows}")
        table = load(root).model.packs[0].rules[0].table
    rnd = random.Random(3)
    inputs = [(Decimal(rnd.choice([1, 5, 20, 49, 50, 99, 100, 150, 199, 200, 350, 499, 500,
                                   750, 999, 1000, 5000])),
               rnd.choice(SEGMENTS + ["other"])) for _ in range(n)]
    scopes = [{"line": {"quantity": q}, "customer": {"segment": s}} for q, s in inputs]
    ours = []
    t0 = time.perf_counter()
    for S in scopes:
        ours.append(table.match(S, None)[0]["percent"])
    t_ours = (time.perf_counter() - t0) / n
    try:
        import zen
    except ImportError:
        print("  zen-engine is not installed (pip install zen-engine); ours only: "
              f"{t_ours * 1e6:.2f} µs per evaluation")
        return

    def zen_cell(q: str) -> str:
        if q == "-":
            return ""
        if q.startswith("["):
            return q.replace("[", "[").replace(")", ")")
        return q
    jdm = {"nodes": [{"id": "in", "type": "inputNode", "name": "in", "position": {"x": 0, "y": 0}},
                     {"id": "t", "type": "decisionTableNode", "name": "t",
                      "position": {"x": 0, "y": 0},
                      "content": {"hitPolicy": "first",
                                  "inputs": [{"id": "q", "name": "q", "field": "quantity"},
                                             {"id": "s", "name": "s", "field": "segment"}],
                                  "outputs": [{"id": "p", "name": "p", "field": "percent"}],
                                  "rules": [{"_id": f"r{i}", "q": zen_cell(q),
                                             "s": "" if s == "-" else json.dumps(s), "p": p}
                                            for i, (q, s, p) in enumerate(TABLE_ROWS)]}},
                     {"id": "out", "type": "outputNode", "name": "out",
                      "position": {"x": 0, "y": 0}}],
           "edges": [{"id": "e1", "type": "edge", "sourceId": "in", "targetId": "t"},
                     {"id": "e2", "type": "edge", "sourceId": "t", "targetId": "out"}]}
    decision = zen.ZenEngine().create_decision(zen.ZenDecisionContent(json.dumps(jdm)))
    contexts = [{"quantity": int(q), "segment": s} for q, s in inputs]
    theirs = []
    t0 = time.perf_counter()
    for ctx in contexts:
        theirs.append(decision.evaluate(ctx)["result"]["percent"])
    t_dict = (time.perf_counter() - t0) / n
    texts = [json.dumps(c) for c in contexts]
    t0 = time.perf_counter()
    for t in texts:
        decision.evaluate(t)
    t_text = (time.perf_counter() - t0) / n
    t_zen = min(t_dict, t_text)
    same = all(Decimal(str(b)) == a for a, b in zip(ours, theirs))
    print(f"  {n} inputs; outputs identical: {same}")
    print(f"  ours:        {t_ours * 1e6:8.2f} µs per evaluation (exact decimals)")
    print(f"  zen-engine:  {t_zen * 1e6:8.2f} µs per evaluation (fastest of dict/JSON context;"
          f" floats)")
    print(f"  ratio ours/zen = {t_ours / t_zen:.3f}  (target <= 0.25)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ruleset", type=Path)
    ap.add_argument("--orders", type=int, default=50_000)
    ap.add_argument("--table-inputs", type=int, default=20_000)
    ap.add_argument("--synthetic", action="store_true", help="use the synthetic rule set")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; pinned to one core")
    tmp = None
    ruleset = args.ruleset
    if ruleset is None and not args.synthetic and (ROOT / "rulesets/acme/ruleset.yaml").is_file():
        ruleset = ROOT / "rulesets/acme"
    if ruleset is None:
        tmp = tempfile.TemporaryDirectory()
        ruleset = synthetic_ruleset(Path(tmp.name) / "bench")
    t0 = time.perf_counter()
    rs = load(ruleset)
    phases = {p.phase for p in rs.model.packs}
    print(f"rule set {rs.name} ({ruleset}): {len(rs.rule_ids)} rules over {len(phases)} phases, "
          f"compiled in {time.perf_counter() - t0:.2f} s")
    for lines, label in ((5, "5-line orders"), (None, "1 to 20 lines")):
        orders = None if ruleset.name.startswith("bench") else \
            generated_orders(ruleset, args.orders, lines)
        if orders is None:
            orders = synthetic_orders(args.orders, lines)
        bench_orders(rs, orders, label)
    bench_table(args.table_inputs)
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
