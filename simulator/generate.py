"""Synthetic order streams consistent with a rule set's reference data.

    catalogue = load_catalogue("rulesets/acme")
    for order in generate_orders(catalogue, count=1000, seed=7):
        ...
    write_jsonl(generate_orders(catalogue, 10**6, seed=7), sys.stdout, total=10**6)

In: a rule-set directory whose reference tables follow the ACME layout (customers.csv,
products.csv, prices.csv, promotions.csv, channels.csv, locations.csv, denied_parties.csv,
embargoed.yaml; see docs/rulesets.md), a count, a seed and the share of bad orders.
Out: an iterator of orders (plain dicts: text, ints, bools, money as decimal strings) in
order-date order, or JSONL bytes. Raises `CatalogueError` for a directory without those tables.

The choices that matter:
- One `random.Random(seed)` drives every draw, in a fixed order, so the same seed gives the
  same bytes on any machine; nothing reads the clock or the global `random`.
- Constant memory: orders are generated one day at a time. The count is first spread over the
  days by their weight (season, weekday, peak days) with largest-remainder rounding, then each
  day's orders get ascending times, so the stream is in date order without sorting it.
- Skew: customers and products are drawn with Zipf-like weights (rank ** -s): the top-tier
  accounts and a few best-selling products dominate, as they do in real order books.
- Money never passes through float: list prices are read as `Decimal` and written as text;
  quantities are ints (or a decimal string, for the bad orders that test fractional quantities).
"""
from __future__ import annotations

import datetime
import json
import random
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, TextIO

from .catalogue import Catalogue, CatalogueError, load_catalogue  # noqa: F401 - the API
from .order_maker import CHANNELS, DEFECTS, _OrderMaker  # noqa: F401 - the API

# Peak days (a multiplier of the day's weight): Black Friday, Cyber Monday, the days before
# Christmas, the last working days of each quarter when B2B buyers spend their budgets.
PEAKS = {(11, 27): 5.0, (11, 28): 2.5, (11, 30): 4.0, (12, 1): 1.8, (12, 14): 1.6,
         (12, 15): 1.6, (3, 30): 1.5, (6, 29): 1.5, (9, 29): 1.5, (12, 28): 1.3}
MONTH_WEIGHT = {1: 0.85, 2: 0.9, 3: 1.05, 4: 1.0, 5: 1.0, 6: 1.0, 7: 0.85, 8: 0.8, 9: 1.05,
                10: 1.1, 11: 1.35, 12: 1.2}
WEEKDAY_WEIGHT = (1.15, 1.15, 1.1, 1.1, 1.0, 0.45, 0.35)  # Monday .. Sunday

def day_counts(count: int, start: datetime.date, days: int) -> list[int]:
    """Spreads `count` orders over `days` days by season, weekday and peak-day weights."""
    weights = []
    for i in range(days):
        d = start + datetime.timedelta(days=i)
        w = MONTH_WEIGHT[d.month] * WEEKDAY_WEIGHT[d.weekday()] * PEAKS.get((d.month, d.day), 1.0)
        weights.append(Decimal(str(w)))
    total = sum(weights)
    exact = [count * w / total for w in weights]
    counts = [int(x) for x in exact]
    remainders = sorted(range(days), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in remainders[: count - sum(counts)]:
        counts[i] += 1
    return counts


def generate_orders(catalogue: Catalogue, count: int, seed: int,
                    bad_share: Decimal | float | str = Decimal("0.05"),
                    start: datetime.date = datetime.date(2026, 1, 1),
                    days: int = 365) -> Iterator[dict[str, Any]]:
    """Yields `count` orders in order-date order. See `generate_labelled` for the defects."""
    for order, _defect in generate_labelled(catalogue, count, seed, bad_share, start, days):
        yield order


def generate_labelled(catalogue: Catalogue, count: int, seed: int,
                      bad_share: Decimal | float | str = Decimal("0.05"),
                      start: datetime.date = datetime.date(2026, 1, 1),
                      days: int = 365) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Yields (order, defect): defect is None for a well-formed order, else one of DEFECTS."""
    if count < 0:
        raise ValueError("count must not be negative")
    share = Decimal(str(bad_share))
    if not Decimal(0) <= share <= Decimal(1):
        raise ValueError("bad share must be between 0 and 1")
    rng = random.Random(seed)
    maker = _OrderMaker(catalogue, rng)
    bad_per_million = int(share * 1_000_000)
    n = 0
    for day_index, k in enumerate(day_counts(count, start, days)):
        day = start + datetime.timedelta(days=day_index)
        for j in range(k):
            n += 1
            seconds = int((j + rng.random()) * 86400 / k)
            stamp = datetime.datetime.combine(day, datetime.time()) + datetime.timedelta(seconds=seconds)
            order = maker.order(f"SO-{n:08d}", stamp)
            defect = None
            if rng.randrange(1_000_000) < bad_per_million:
                defect = rng.choice(DEFECTS)
                maker.spoil(order, defect)
            yield order, defect


def dumps_order(order: dict[str, Any]) -> str:
    """One JSONL line: compact, keys in insertion order, money already text. Not the codec
    (engine/codec.py): an order carries money as decimal text (SPEC section 6), so a stray
    Decimal is written as text here, where the codec writes a number."""
    return json.dumps(order, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # never a float
    raise TypeError(f"cannot write {type(value).__name__} in an order")


def write_jsonl(orders: Iterable[dict[str, Any]], out: TextIO, total: int | None = None,
                progress: bool = False, progress_file: TextIO | None = None) -> int:
    """Writes one order per line; returns how many. A rich progress bar goes to
    `progress_file` (stderr) when `progress` is true."""
    n = 0
    if not progress:
        for order in orders:
            out.write(dumps_order(order))
            out.write("\n")
            n += 1
        return n
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(file=progress_file, stderr=progress_file is None)
    with Progress(TextColumn("generating orders"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=False) as bar:
        task = bar.add_task("orders", total=total)
        for order in orders:
            out.write(dumps_order(order))
            out.write("\n")
            n += 1
            if n % 1000 == 0:
                bar.update(task, completed=n)
        bar.update(task, completed=n)
    return n
