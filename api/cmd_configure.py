"""`ordinance configure RULESET MODEL [--select k=v ...]`: one configure step on the command line.

Prints the configure answer (docs/configurator.md) as JSON, or with `--format text` a short
report: validity, each violation with its rule and place, every group and feature with the
values still possible and, for each removed value, the rule that removed it. Exit 0 when the
selection is valid, 1 when it is not, 2 for a mistake in the command (unknown model, group,
option or value).
"""
from __future__ import annotations

import argparse
import datetime
import sys
from typing import Any

from ordinance.engine import dumps
from ordinance.engine.configurator import SearchLimit, SelectionError, configure
from ordinance.engine.values import render
from ordinance.engine.yamlload import resolve_plain

from .cmd_engine import _date, _load


def register(sub: Any) -> None:
    p = sub.add_parser("configure", help="configure a product of a rule set's models/",
                       description="Answers one configure step: is the selection valid, which "
                       "values remain possible, which rule removed the others; optionally "
                       "completes the selection, counts or lists configurations.")
    p.add_argument("ruleset")
    p.add_argument("model", help="the model id (models/*.yaml)")
    p.add_argument("--select", "-s", action="append", default=[], metavar="KEY=VALUE",
                   help="a choice: group=option, group=opt1,opt2 (many-of), group=opt:2 "
                   "(a quantity), group= (none), feature=value; repeatable")
    p.add_argument("--as-of", type=_date, help="the date YYYY-MM-DD (default today)")
    p.add_argument("--complete", choices=["defaults", "cheapest"])
    p.add_argument("--count", action="store_true", help="count valid configurations")
    p.add_argument("--list", type=int, default=0, metavar="N", help="list N configurations")
    p.add_argument("--format", choices=["json", "text"], default="text")
    p.set_defaults(func=cmd_configure)


def _selection(model: Any, pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    groups = {g.id: g for g in model.groups}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise SelectionError(f"--select {pair}", "write KEY=VALUE")
        g = groups.get(key)
        if g is None:
            out[key] = resolve_plain(text) if text else None
            continue
        items = [t for t in text.split(",") if t]
        if g.single:
            out[key] = items[0] if len(items) == 1 else (None if not items else items)
            continue
        chosen: dict[str, Any] = {}
        for t in items:
            oid, _, q = t.partition(":")
            chosen[oid] = resolve_plain(q) if q else 1
        out[key] = chosen
    return out


def cmd_configure(args: argparse.Namespace) -> int:
    rs = _load(args.ruleset)
    if rs is None:
        return 2
    model = rs.model.configs.get(args.model)
    if model is None:
        print(f"ordinance: rule set {rs.name} has no model {args.model!r} (models: "
              f"{', '.join(sorted(rs.model.configs)) or 'none'})", file=sys.stderr)
        return 2
    try:
        answer = configure(model, _selection(model, args.select),
                           args.as_of or datetime.date.today(), complete=args.complete,
                           count=args.count, list_limit=max(0, args.list))
    except SelectionError as exc:
        print(f"ordinance: {exc.path}: {exc.message}", file=sys.stderr)
        return 2
    except SearchLimit as exc:
        print(f"ordinance: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(dumps(answer))
    else:
        print("\n".join(_text(answer)))
    return 0 if answer["valid"] else 1


def _why(w: dict[str, Any] | None) -> str:
    if not w:
        return ""
    if w.get("rule"):
        return f"{w['rule']}: {w['message']} ({w['at']})"
    return str(w["message"])


def _text(a: dict[str, Any]) -> list[str]:
    out = [f"{a['model']}: {'valid' if a['valid'] else 'INVALID'}"
           + (" (complete)" if a.get("complete") else "")]
    for v in a["violations"]:
        out.append(f"  violates {v['rule'] or '-'}: {v['message']}"
                   + (f" at {v['at']}" if v.get("at") else "")
                   + (f" [{', '.join(v['fields'])}]" if v.get("fields") else ""))
    for g in a["groups"]:
        out.append(f"group {g['id']} ({g['min']}..{g['max']}):")
        for o in g["options"]:
            mark = "*" if o["selected"] else " " if o["possible"] else "x"
            out.append(f"  [{mark}] {o['id']} +{render(o['price'])}"
                       + (f"  removed by {_why(o['removed_by'])}" if o["removed_by"] else ""))
    for f in a["features"]:
        out.append(f"feature {f['id']} ({f['type']}{', ' + f['unit'] if f['unit'] else ''}):")
        for v in f["values"]:
            mark = "*" if f["selected"] is not None and v["value"] == f["selected"] \
                else " " if v["possible"] else "x"
            out.append(f"  [{mark}] {render(v['value'])} +{render(v['price'])}"
                       + (f"  removed by {_why(v['removed_by'])}" if v["removed_by"] else ""))
    if "price" in a:
        out.append(f"price: {render(a['price']['total'])} {a['price']['currency']}")
    if a.get("completion"):
        c = a["completion"]
        out.append(f"completion ({c['by']}): {dumps(c['selection'])} at "
                   f"{render(c['price']['total'])} {c['price']['currency']}")
    if "configurations" in a:
        cfg = a["configurations"]
        out.append(f"configurations: {cfg['count']}" + (" (capped)" if cfg["capped"] else ""))
        for item in cfg["items"]:
            out.append(f"  {dumps(item['selection'])} {render(item['price'])}")
    return out
