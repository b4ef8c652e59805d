"""The HTML report of a simulation: one self-contained file, charts drawn as inline SVG.

In: the summary JSON (`simulate()`'s result). Out: `render(summary) -> str`, an HTML page.
Raises nothing.

The non-obvious choice: the charts are SVG written here, in Python, not a charting library
fetched from a CDN. The page has no script, no font, no image, and a Content-Security-Policy
that forbids loading anything, so it opens the same on an air-gapped laptop, in a mail
attachment, or years later. Every text that comes from the data is escaped.

Money is shown per currency, every amount with its currency's code; amounts of different
currencies are never added or drawn on one axis. The one exception is the converted figure
(the headline cards and one chart per segment), present only when the baseline rule set has
dated rates, and labelled with them ("converted to USD at fx.csv rates of 2026-11-01").
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape
from typing import Any

BASELINE_COLOUR = "#7a8ca3"
CANDIDATE_COLOUR = "#e07b39"
UP_COLOUR = "#3a9a5b"
DOWN_COLOUR = "#c8423b"
SEGMENT_TITLES = {"channel": "channel", "country": "ship-to country", "tier": "customer tier"}

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;
color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .7em;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;
padding:.6em 1em;min-width:10em}.card b{display:block;font-size:1.5em}
.legend span{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;vertical-align:-.1em}
figure{margin:1em 0}figcaption{color:#555;margin-bottom:.3em}
svg text{font:12px system-ui,sans-serif;fill:#222}code{font-size:.92em}
details{margin:.3em 0}summary{cursor:pointer}pre{background:#f6f6f6;padding:.5em;overflow:auto;
max-height:30em;font-size:12px}
figure,table{display:block;max-width:100%;overflow-x:auto}td,p,summary,code{overflow-wrap:anywhere}
@media (max-width:600px){body{margin:.5em auto;padding:0 .5em;font-size:15px}
.card{min-width:8em;flex:1 1 8em}td,th{padding:.25em .4em}}
"""


def _num(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def _fmt(value: Decimal) -> str:
    return f"{value:,}"


def _svg_open(width: int, height: int, label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(label)}">')


def _empty_chart(label: str, message: str) -> str:
    return (_svg_open(600, 40, label)
            + '<rect x="0" y="0" width="600" height="40" fill="#fafafa" stroke="#ddd"/>'
            + f'<text x="12" y="25">{escape(message)}</text></svg>')


def grouped_bars(label: str, rows: Sequence[tuple[str, Sequence[Decimal]]],
                 colours: Sequence[str], empty: str = "nothing to show") -> str:
    """Horizontal bars, one group per row, one bar per series (baseline, candidate...)."""
    if not rows:
        return _empty_chart(label, empty)
    label_w, bar_w, value_w = _label_width(name for name, _ in rows), 520, 90
    bar_h, gap = (14, 8) if len(rows) <= 30 else (9, 5)     # long lists stay readable
    group_h = bar_h * len(colours) + gap
    width, height = label_w + bar_w + value_w, group_h * len(rows) + gap
    top = max((max(values) for _, values in rows), default=Decimal(0)) or Decimal(1)
    parts = [_svg_open(width, height, label)]
    for i, (name, values) in enumerate(rows):
        y0 = gap + i * group_h
        parts.append(f'<text x="{label_w - 8}" y="{y0 + bar_h * len(colours) / 2 + 4:.1f}" '
                     f'text-anchor="end">{escape(name)}<title>{escape(name)}</title></text>')
        for j, (value, colour) in enumerate(zip(values, colours)):
            y = y0 + j * bar_h
            w = max(float(value / top) * bar_w, 1.0 if value else 0.0)
            parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" '
                         f'fill="{colour}"><title>{escape(name)}: {value}</title></rect>')
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def diverging_bars(label: str, rows: Sequence[tuple[str, Decimal]],
                   empty: str = "nothing to show") -> str:
    """Horizontal bars left (down) or right (up) of a zero line."""
    if not rows:
        return _empty_chart(label, empty)
    label_w, half, value_w = _label_width(name for name, _ in rows), 300, 110
    bar_h = 20
    width, height = label_w + 2 * half + value_w, bar_h * len(rows) + 10
    top = max(abs(v) for _, v in rows) or Decimal(1)
    zero = label_w + half
    parts = [_svg_open(width, height, label),
             f'<line x1="{zero}" y1="0" x2="{zero}" y2="{height}" stroke="#999"/>']
    for i, (name, value) in enumerate(rows):
        y = 5 + i * bar_h
        w = max(float(abs(value) / top) * half, 1.0 if value else 0.0)
        x = zero if value >= 0 else zero - w
        colour = UP_COLOUR if value >= 0 else DOWN_COLOUR
        parts.append(f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end">'
                     f'{escape(name)}<title>{escape(name)}</title></text>')
        parts.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{bar_h - 5}" '
                     f'fill="{colour}"><title>{escape(name)}: {value:+}</title></rect>')
        parts.append(f'<text x="{zero + half + 6}" y="{y + 14}">{_fmt(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _label_width(names: Any) -> int:
    """Pixels for the label column: the longest label whole (about 7 px a character at the
    charts' 12 px font), never cut; a figure wider than the screen scrolls (see _STYLE)."""
    return max(120, 16 + 7 * max((len(n) for n in names), default=0))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric_from: int = 1) -> str:
    head = "".join(f'<th class="{"n" if i >= numeric_from else ""}">{escape(h)}</th>'
                   for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"n" if i >= numeric_from else ""}">{escape(str(c))}</td>'
                         for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _legend() -> str:
    return (f'<div class="legend"><span style="background:{BASELINE_COLOUR}"></span>baseline'
            f'<span style="background:{CANDIDATE_COLOUR}"></span>candidate</div>')


def _side_by_side(summary: dict[str, Any], key: str) -> list[tuple[str, list[Decimal]]]:
    b, c = summary["baseline"].get(key, {}), summary["candidate"].get(key, {})
    names = list(dict.fromkeys([*b, *c]))
    return [(n, [_num(b.get(n, 0)), _num(c.get(n, 0))]) for n in names]


def _count_table(summary: dict[str, Any], key: str, title: str) -> str:
    rows = _side_by_side(summary, key)
    if not rows:
        return f"<p>No {escape(title)}.</p>"
    return _table([title, "baseline", "candidate", "change"],
                  [(n, b, c, f"{c - b:+}") for n, (b, c) in rows])


def _amount(currency: str, value: Any) -> str:
    return f"{currency} {_fmt(_num(value))}"


def _signed_amount(currency: str, value: Any) -> str:
    return f"{currency} {_num(value):+,}"


def _money_rows(compared: dict[str, dict[str, str]], margin: dict[str, dict[str, str]]
                ) -> list[tuple[str, ...]]:
    rows = []
    for cur in sorted(set(compared) | set(margin)):
        r, m = compared.get(cur), margin.get(cur)
        rows.append((cur,
                     *((_amount(cur, r["baseline"]), _amount(cur, r["candidate"]),
                        _signed_amount(cur, r["delta"])) if r else ("", "", "")),
                     *((_amount(cur, m["baseline"]), _amount(cur, m["candidate"]),
                        _signed_amount(cur, m["delta"])) if m else ("", "", ""))))
    return rows


PROMISE_MEASURES = [("lines", "lines promised"), ("on_time", "on time"), ("late", "late"),
                    ("mean_delay_days", "mean delay (days)"), ("max_delay_days",
                                                             "max delay (days)"),
                    ("backordered", "backordered lines"), ("short_units", "units short")]


def _promising(p: dict[str, Any]) -> list[str]:
    """Promising over time (`consume_stock` with atp_rules): the supply changes the candidate
    (or baseline) was given, and the promise outcomes of each side."""
    out = ["<h2>Promising over time</h2>"]
    changes = p.get("supply_changes") or []
    if changes:
        out.append('<p>Supply changes:</p><ul id="supply-changes">'
                   + "".join(f"<li>{escape(str(c))}</li>" for c in changes) + "</ul>")
    else:
        out.append("<p>No supply changes: both sides promise from their own supply.</p>")
    b, c = p.get("baseline") or {}, p.get("candidate") or {}
    out.append(_table(["", "baseline", "candidate"],
                      [(label, b.get(key, ""), c.get(key, "")) for key, label in
                       PROMISE_MEASURES]))
    return out


MONEY_HEADERS = ["currency", "baseline revenue", "candidate revenue", "revenue change",
                 "baseline margin", "candidate margin", "margin change"]


def render(summary: dict[str, Any], title: str = "Ordinance simulation") -> str:
    base, cand, changes = summary["baseline"], summary["candidate"], summary["changes"]
    converted, fx = changes.get("revenue_converted"), summary.get("fx") or {}
    out: list[str] = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'; img-src data:\">"),
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        "<p>Baseline <code>{}</code> ({} {}) against candidate <code>{}</code> ({} {}).</p>".format(
            *(escape(str(x)) for x in (
                base["ruleset"].get("spec"), base["ruleset"].get("name"),
                base["ruleset"].get("digest"), cand["ruleset"].get("spec"),
                cand["ruleset"].get("name"), cand["ruleset"].get("digest")))),
        '<div class="cards">',
        f'<div class="card">orders<b>{summary["orders"]:,}</b></div>',
        f'<div class="card">changed orders<b>{summary["changed_orders"]:,}</b></div>',
    ]
    if converted:
        cur = converted["currency"]
        out += [f'<div class="card">revenue, baseline ({escape(cur)}, converted)'
                f'<b>{escape(_amount(cur, converted["baseline"]))}</b></div>',
                f'<div class="card">revenue, candidate ({escape(cur)}, converted)'
                f'<b>{escape(_amount(cur, converted["candidate"]))}</b></div>',
                f'<div class="card">revenue change ({escape(cur)}, converted)'
                f'<b>{escape(_signed_amount(cur, converted["delta"]))}</b></div>']
    out += [f'<div class="card">lines not read as orders<b>{summary.get("bad_lines", 0):,}</b>'
            "</div>", "</div>"]
    if converted:
        left = (f" Not converted (no rate): {', '.join(converted['unconverted'])}; see "
                "the table." if converted["unconverted"] else "")
        out.append(f'<p class="fx">Revenue of all currencies {escape(fx.get("label", ""))}, '
                   f"for the headline only; every other amount is per currency.{escape(left)}"
                   "</p>")
    elif fx.get("error"):
        out.append(f'<p class="fx">Revenue is not converted to one currency: '
                   f'{escape(fx["error"])}.</p>')
    else:
        out.append('<p class="fx">The baseline rule set has no fx table: amounts are shown '
                   "per currency only.</p>")
    out.append("<h2>Revenue and margin by currency</h2>")
    out.append("<p>Revenue is the sum of the totals of the orders not rejected (accepted, on "
               "hold, pending approval); margin is their lines' nets less the products' cost "
               f"({base.get('lines_without_cost', 0):,} baseline and "
               f"{cand.get('lines_without_cost', 0):,} candidate lines have no cost and are "
               "left out).</p>")
    money_rows = _money_rows(changes.get("revenue", {}), changes.get("margin", {}))
    out.append(_table(MONEY_HEADERS, money_rows) if money_rows else "<p>No revenue.</p>")
    if summary.get("reference_changed"):
        out.append("<p>Reference tables that differ: "
                   + escape(", ".join(summary["reference_changed"])) + ".</p>")

    out.append("<h2>Status</h2>")
    transitions = sorted(changes["transitions"].items(), key=lambda kv: (-kv[1], kv[0]))
    out.append('<figure id="chart-transitions"><figcaption>Orders that changed status, by '
               "transition</figcaption>")
    out.append(grouped_bars("status transitions",
                            [(k.replace("->", " → "), [Decimal(v)]) for k, v in transitions],
                            [CANDIDATE_COLOUR], empty="no order changed status"))
    out.append("</figure>")
    out.append('<figure id="chart-status"><figcaption>Orders by status</figcaption>'
               + _legend()
               + grouped_bars("status counts", _side_by_side(summary, "status_counts"),
                              [BASELINE_COLOUR, CANDIDATE_COLOUR]) + "</figure>")
    out.append(_table(["changed", "orders"],
                      [(k, changes.get(k, 0)) for k in ("status", "total", "approvals",
                                                        "sourcing")]
                      + [(k, v) for k, v in changes.get("fields", {}).items()
                         if k not in ("status", "total", "approvals", "sourcing")]))

    if summary.get("promising"):
        out += _promising(summary["promising"])
    if summary.get("blame"):
        out += _blame(summary["blame"])
    out.append("<h2>Revenue by segment</h2>")
    for dim, values in summary["segments"].items():
        out += _segment(dim, values, fx)
    out.append("<h2>Rules whose counts changed</h2>")
    every = _side_by_side(summary, "rule_fires")
    rules = sorted(((r, v) for r, v in every if v[0] != v[1]),
                   key=lambda r: (-abs(r[1][1] - r[1][0]), r[0]))
    out.append('<figure id="chart-rules"><figcaption>Orders on which each rule fired, for the '
               "rules that fired on a different number of orders</figcaption>" + _legend()
               + grouped_bars("rule fire counts", rules, [BASELINE_COLOUR, CANDIDATE_COLOUR],
                              empty="every rule fired on as many orders in both") + "</figure>")
    if rules:
        out.append(_table(["rule", "baseline", "candidate", "change"],
                          [(r, v[0], v[1], f"{v[1] - v[0]:+}") for r, v in rules]))
    same = len(every) - len(rules)
    if same:
        out.append(f"<p>{same} other rule(s) fired on as many orders in both.</p>")
    for side, stats in (("baseline", base), ("candidate", cand)):
        if stats.get("never_fired"):
            out.append(f"<p>Never fired in the {side}: "
                       + escape(", ".join(stats["never_fired"])) + ".</p>")

    out.append("<h2>Totals</h2>")
    totals = []
    for key in ("revenue", "discount_total", "tax_total", "margin"):
        b, c = base.get(key, {}), cand.get(key, {})
        for cur in sorted(set(b) | set(c)):
            vb, vc = _num(b.get(cur)), _num(c.get(cur))
            totals.append((f"{key} ({cur})", _amount(cur, vb), _amount(cur, vc),
                           _signed_amount(cur, vc - vb)))
    ub, uc = _num(base["backordered_units"]), _num(cand["backordered_units"])
    totals.append(("backordered_units", ub, uc, f"{uc - ub:+}"))
    out.append(_table(["", "baseline", "candidate", "change"], totals))
    for key, heading in (("approvals_by_role", "approvals, by role"),
                         ("holds_by_code", "holds, by code"),
                         ("violations_by_code", "violations, by code"),
                         ("errors_by_code", "rule errors, by code")):
        out.append(f"<h3>{escape(heading.capitalize())}</h3>"
                   + _count_table(summary, key, heading))

    out.append(f"<h2>Changed orders (first {len(summary['sample'])})</h2>")
    if not summary["sample"]:
        out.append("<p>No order changed.</p>")
    for entry in summary["sample"]:
        out.append(_sample_entry(entry))
    if summary.get("bad_line_samples"):
        out.append("<h2>Lines that are not orders</h2>")
        out.append(_table(["line", "error"], [(e["line"], e["error"])
                                              for e in summary["bad_line_samples"]], 9))
    out.append("</body></html>")
    return "\n".join(out)


def _segment(dim: str, values: dict[str, Any], fx: dict[str, Any]) -> list[str]:
    """One segment dimension: its revenue-change chart(s), its counts, its money per currency.
    One chart in the converted currency when there are dated rates, else one per currency."""
    title = SEGMENT_TITLES.get(dim, dim)
    out = []
    charts: list[tuple[str, str, list[tuple[str, Decimal]]]] = []
    converted = [(v, s["revenue_converted"]) for v, s in values.items()
                 if s.get("revenue_converted")]
    if converted:
        cur = converted[0][1]["currency"]
        charts.append((f"revenue change by {dim}",
                       f"Revenue change by {title}, {cur}, {fx.get('label', '')}",
                       [(v, _num(c["delta"])) for v, c in converted]))
    else:
        currencies = sorted({c for s in values.values() for c in s.get("revenue", {})})
        for cur in currencies:
            charts.append((f"revenue change by {dim}, {cur}",
                           f"Revenue change by {title}, {cur}",
                           [(v, _num(s["revenue"][cur]["delta"])) for v, s in values.items()
                            if cur in s.get("revenue", {})]))
    if not charts:
        charts.append((f"revenue change by {dim}", f"Revenue change by {title}", []))
    for n, (label, caption, rows) in enumerate(charts):
        rows.sort(key=lambda r: (-abs(r[1]), r[0]))
        out.append(f'<figure id="chart-revenue-{escape(dim)}{"-" + str(n) if n else ""}">'
                   f"<figcaption>{escape(caption)}</figcaption>")
        out.append(diverging_bars(label, rows, empty="no orders"))
        out.append("</figure>")
    out.append(_table([title, "orders", "changed", "status", "total", "approvals", "sourcing"],
                      [(v, s["orders"], s["changed_orders"], s["status"], s["total"],
                        s["approvals"], s["sourcing"]) for v, s in values.items()]))
    money_rows = [(v, *row) for v, s in values.items()
                  for row in _money_rows(s.get("revenue", {}), s.get("margin", {}))]
    if money_rows:
        out.append(_table([title] + MONEY_HEADERS, money_rows, numeric_from=2))
    return out


def _blame(blame: dict[str, Any]) -> list[str]:
    """The edits behind the changes (simulator/blame.py), those that moved most orders first:
    the orders each moved, and the revenue it moved in each currency (never added across)."""
    out = ["<h2>Edits behind the changes</h2>"]
    moved = [e for e in blame["edits"] if e["orders"]]
    rows = []
    for e in moved:
        revenue = "; ".join(_signed_amount(c, _num(f["delta"]))
                            for c, f in e["revenue"].items()) or "none"
        rows.append((e["summary"], e["place"], e["orders"], revenue))
    out.append(_table(["edit", "where", "orders", "revenue moved"], rows, 2) if rows else
               "<p>No edit moved an order.</p>")
    idle = [e["id"] for e in blame["edits"] if not e["orders"]]
    if idle:
        out.append("<p>Edits that moved no order: " + escape(", ".join(idle)) + ".</p>")
    if blame.get("unexplained_orders"):
        out.append(f"<p>{blame['unexplained_orders']} changed order(s) no set of edits "
                   "explains.</p>")
    return out


def _sample_entry(entry: dict[str, Any]) -> str:
    from ordinance.engine import dumps

    rules = ", ".join(f"{r['rule']} ({r['how'].replace('_', ' ')})" for r in entry["rules"])
    return ("<details><summary>"
            f"<b>{escape(str(entry.get('order_id')))}</b> (line {entry['line']}): "
            f"{escape(entry['explanation'])}</summary>"
            f"<p>Moved: {escape(', '.join(entry['moved']))}. Rules: {escape(rules or 'none')}.</p>"
            + (f"<p>Edits: {escape(', '.join(entry['edits']['edits']) or 'none found')} "
               f"({escape(entry['edits']['how'])}).</p>" if entry.get("edits") else "")
            + f"<p>Baseline decision:</p><pre>{escape(dumps(entry['baseline'], indent=2))}</pre>"
            f"<p>Candidate decision:</p><pre>{escape(dumps(entry['candidate'], indent=2))}</pre>"
            "</details>")
