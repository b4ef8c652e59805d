"""The product's JSON codec (engine/codec.py) against msgspec, on real payloads.

    .venv/bin/python bench/json_codec.py [--repeat 7] [--msgspec-path DIR]

Payloads: the ACME decision of a 3-line order (what POST /v1/decisions answers), the ACME
decision of a 500-line order, and the request body of that 500-line order. For each it times
(microseconds per call, the best of --repeat rounds):

- write a decision: the reference writer (`codec.dumps_reference`, pure Python: what
  `engine.dumps` was) against `msgspec.json.Encoder(decimal_format="number")` alone, and
  against `codec.dumps` (msgspec, its exponents repaired), and whether the bytes are the same;
- read a request: `codec.read` (every check: duplicate keys, lone surrogates, ranges, entries,
  lengths) against `msgspec.json.Decoder(float_hook=...)` followed by the walk msgspec would
  still need (integers to Decimal, the same checks but for duplicate keys, which msgspec cannot
  see: it keeps the last value);
- read back a stored decision: `codec.loads` against msgspec plus the integer walk.

Then it prints what each keeps: duplicate keys, lone surrogates with their path, `-0`, and how
`1E+2` and `1E-7` are written. msgspec is not a dependency: install it anywhere (`pip install
--target DIR msgspec`) and pass --msgspec-path DIR, or have it importable. Nothing is asserted
about time.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
ACME = ROOT / "rulesets" / "acme"


def _orders() -> tuple[dict[str, Any], dict[str, Any]]:
    skus = [r["sku"] for r in csv.DictReader(open(ACME / "reference" / "products.csv"))
            if r["status"] == "active"]
    small = {"id": "BENCH-1", "order_date": "2026-11-20T09:00:00Z",
             "customer": {"id": "C-00060"},
             "lines": [{"id": "1", "sku": skus[0], "quantity": 10},
                       {"id": "2", "sku": skus[1], "quantity": 3},
                       {"id": "3", "sku": skus[2], "quantity": "1.5"}]}
    big = {"id": "BENCH-500", "order_date": "2026-11-20T09:00:00Z", "channel": "edi",
           "customer": {"id": "C-00060"},
           "lines": [{"id": str(i + 1), "sku": skus[i % len(skus)], "quantity": 1 + i % 40,
                      **({"unit_price": f"{3 + i % 17}.{i % 100:02d}"} if i % 3 == 0 else {})}
                     for i in range(500)]}
    return small, big


def _best(fn: Callable[[], Any], repeat: int) -> float:
    n, t = 1, 0.0
    while True:  # calls per round: enough for about 0.2 s
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - t0
        if t > 0.2:
            break
        n *= 2
    best = t / n
    for _ in range(repeat - 1):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


def _ints_to_decimal(v: Any) -> Any:
    """What msgspec leaves as int (it has no int hook) made exact like the rest."""
    c = v.__class__
    if c is int:
        return Decimal(v)
    if c is dict:
        for k, x in v.items():
            if x.__class__ in (int, dict, list):
                v[k] = _ints_to_decimal(x)
    elif c is list:
        for i, x in enumerate(v):
            if x.__class__ in (int, dict, list):
                v[i] = _ints_to_decimal(x)
    return v


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--msgspec-path", help="a directory holding msgspec (pip install --target)")
    args = ap.parse_args()
    if args.msgspec_path:
        sys.path.insert(0, args.msgspec_path)
    sys.path.insert(0, str(ROOT.parent))
    from ordinance.adapters import store
    from ordinance.api.usecases.decide import evaluate
    from ordinance.engine import codec, load, parse_order

    try:
        import msgspec
    except ImportError:
        msgspec = None
    rs = load(ACME)
    today = datetime.date(2026, 11, 20)
    small, big = _orders()
    payloads = {}
    for name, order in (("ACME decision, 3 lines", small), ("ACME decision, 500 lines", big)):
        payloads[name] = evaluate(rs, parse_order(codec.dumps(order)), None, "decide",
                                  today).body
    request = codec.dumps({"order": big, "as_of": "2026-11-20"}).encode()
    read = lambda: codec.read(request, store.DECISION_REQUEST,  # noqa: E731
                              max_items=10_000, max_lines=2_000, max_bytes=16 << 20)
    rows: list[tuple[str, float, float | None, str]] = []
    enc = msgspec.json.Encoder(decimal_format="number") if msgspec else None
    for name, body in payloads.items():
        ref = codec.dumps_reference(body)
        ours = _best(lambda b=body: codec.dumps_reference(b), args.repeat)
        theirs = same = None
        if enc is not None:
            theirs = _best(lambda b=body: enc.encode(b), args.repeat)
            same = enc.encode(body) == ref.encode()
        rows.append((f"write {name} ({len(ref):,} bytes)", ours, theirs,
                     "n/a" if same is None else "same bytes" if same else "DIFFERENT bytes"))
        rows.append(("  the same with codec.dumps (msgspec, repaired)", ours,
                     _best(lambda b=body: codec.dumps(b), args.repeat),
                     "same bytes" if codec.dumps(body) == ref else "DIFFERENT bytes"))
    ours = _best(read, args.repeat)
    theirs = None
    if msgspec is not None:
        dec = msgspec.json.Decoder(float_hook=codec._number)

        def ms_read() -> Any:
            body = _ints_to_decimal(dec.decode(request))
            codec._walk(body, None, store.DECISION_REQUEST, 0, (10_000, 2_000))
            return body
        theirs = _best(ms_read, args.repeat)
        assert ms_read() == read()
    rows.append((f"read the 500-line request ({len(request):,} bytes)", ours, theirs,
                 "msgspec cannot refuse a duplicate key"))
    stored = codec.dumps(payloads["ACME decision, 500 lines"])
    ours = _best(lambda: codec.loads(stored), args.repeat)
    theirs = None
    if msgspec is not None:
        dec2 = msgspec.json.Decoder(float_hook=Decimal)
        theirs = _best(lambda: _ints_to_decimal(dec2.decode(stored)), args.repeat)
        assert _ints_to_decimal(dec2.decode(stored)) == codec.loads(stored)
    rows.append(("read back the stored 500-line decision", ours, theirs, ""))

    print(f"Python {sys.version.split()[0]}, msgspec "
          f"{msgspec.__version__ if msgspec else 'not installed'}; us per call, best of "
          f"{args.repeat}")
    print(f"{'':58} {'ours':>9} {'msgspec':>9} {'ratio':>6}  (ours: the reference writer, "
          "codec.read, codec.loads)")
    for what, a, b, note in rows:
        ratio = f"{a / b:5.1f}x" if b else "  -"
        print(f"{what:58} {a:9.1f} {b if b is not None else float('nan'):9.1f} {ratio}  {note}")
    if msgspec is None:
        return 0
    print("\nwhat each keeps")
    checks = [("duplicate key", b'{"order": {"id": "a", "id": "b"}}'),
              ("lone surrogate", b'{"order": {"id": "\\ud800"}}'),
              ("minus zero", b'{"order": {"q": -0}}'),
              ("NaN", b'{"order": {"q": NaN}}')]
    for what, raw in checks:
        try:
            a = repr(codec.read(raw, max_items=10, max_lines=10, max_bytes=1000))
        except codec.Refused as exc:
            a = f"refused {exc.code} at {exc.path}"
        try:
            b = repr(_ints_to_decimal(msgspec.json.Decoder(float_hook=Decimal).decode(raw)))
        except msgspec.DecodeError as exc:
            b = f"error without a path: {exc}"
        print(f"  read {what:16} ours: {a:44} msgspec: {b}")
    for d in (Decimal("1E+2"), Decimal("1E-7"), Decimal("2.50")):
        print(f"  write {str(d):15} ours: {codec.dumps(d):44} msgspec: "
              f"{enc.encode(d).decode()}")  # type: ignore[union-attr]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
