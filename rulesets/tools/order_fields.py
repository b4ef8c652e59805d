"""Regenerates engine/data/order_fields.csv: every order field seen in the shipped tests and
examples (rulesets/*/tests, docs/examples/*/tests, the shared conformance cases), with the kind
of value it held. `ordinance check` knows these fields in a rule set without an order schema
(engine/check_types.py). Run from the repository root: python rulesets/tools/order_fields.py
"""
from __future__ import annotations

import glob
from decimal import Decimal
from pathlib import Path

import yaml

PATTERNS = ["rulesets/*/tests/*.yaml", "docs/examples/*/tests/*.yaml",
            "../shared/conformance/*/tests/*.yaml"]


def kind(v: object) -> str:
    if isinstance(v, bool):
        return "flag"
    if isinstance(v, (int, float, Decimal)):
        return "number"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "list"
    return "text" if isinstance(v, str) else "null"


def walk(v: object, pre: str, out: dict[str, set[str]]) -> None:
    if isinstance(v, dict):
        for k, x in v.items():
            p = f"{pre}.{k}"
            out.setdefault(p, set()).add(kind(x))
            walk(x, p, out)
    elif isinstance(v, list):
        for x in v:
            walk(x, pre + "[]", out)


def main() -> None:
    out: dict[str, set[str]] = {}
    for pattern in PATTERNS:
        for f in sorted(glob.glob(pattern)):
            cases = yaml.safe_load(Path(f).read_text("utf-8"))
            for case in cases if isinstance(cases, list) else []:
                if isinstance(case, dict) and isinstance(case.get("order"), dict):
                    walk(case["order"], "order", out)
    lines = ["path,kinds"] + [f"{p},{' '.join(sorted(k - {'null'}) or ['null'])}"
                              for p, k in sorted(out.items())]
    Path("engine/data/order_fields.csv").write_text("\n".join(lines) + "\n", "utf-8")
    print(f"{len(out)} fields")


if __name__ == "__main__":
    main()
