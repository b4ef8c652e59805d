"""`ordinance simulate-events`: replay orders and their events (with their times) against two
rule sets and report how alerts, holds, reorders and accruals differ. Each side runs on its own
scratch SQLite database (api/usecases/events.py `replay_compare`)."""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate-events", help="replay an order/event stream against two rule sets",
        description="Replay orders plus fulfilment events against a baseline and a candidate "
                    "rule set; report alerts, holds, reorders and accruals that differ.")
    p.add_argument("baseline", help="rule set directory")
    p.add_argument("candidate", help="rule set directory")
    p.add_argument("--stream", metavar="FILE.jsonl", default=None,
                   help='lines {"order": {...}} and {"order_id": ID, "event": {...}}; '
                        "without it, a sample stream")
    p.add_argument("--sample", type=int, default=40, metavar="N",
                   help="orders in the sample stream (default 40)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=cmd_simulate_events)


def read_stream(path: Path) -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    orders, events = [], []
    for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{n}: not JSON: {exc}") from None
        if isinstance(item, dict) and isinstance(item.get("order"), dict):
            orders.append(item["order"])
        elif isinstance(item, dict) and isinstance(item.get("event"), dict) \
                and item.get("order_id") is not None:
            events.append((str(item["order_id"]), item["event"]))
        else:
            raise ValueError(f'{path}:{n}: expected {{"order": ...}} or '
                             f'{{"order_id": ..., "event": ...}}')
    return orders, events


def cmd_simulate_events(args: argparse.Namespace) -> int:
    from ordinance.adapters.eventstore import sample_stream
    from ordinance.api.usecases import events as events_uc
    from ordinance.engine import RuleSetInvalid, load

    try:
        if args.stream:
            orders, events = read_stream(Path(args.stream))
        else:
            orders, events = sample_stream(args.sample)
        sides = [load(args.baseline), load(args.candidate)]
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RuleSetInvalid as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="ordinance-replay-") as tmp:
        diff = events_uc.replay_compare(sides[0], sides[1], orders, events, tmp)
    if args.json:
        print(json.dumps(diff, indent=2, default=str))
        return 0
    print(f"replayed {len(orders)} orders, {len(events)} events: {args.baseline} -> "
          f"{args.candidate}")
    for k in ("alerts", "holds", "reorders"):
        d = diff[k]
        print(f"{k:9} baseline {d['baseline']:5}  candidate {d['candidate']:5}  "
              f"only baseline {len(d['only_baseline'])}  only candidate "
              f"{len(d['only_candidate'])}")
        for row in d["only_candidate"][:5]:
            print(f"    + {' '.join(map(str, row))}")
        for row in d["only_baseline"][:5]:
            print(f"    - {' '.join(map(str, row))}")
    for key, v in diff["accruals"].items():
        print(f"accrual {key}: {v['baseline']} -> {v['candidate']}")
    print(f"final states differ for {diff['states']['differ']} order(s)")
    return 0
