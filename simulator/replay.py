"""Replay an order stream against two rule sets and sum up what changed.

In: two `RuleSetRef`s (baseline, candidate), an `OrderSource` and `Options`. Out: the summary
JSON (docs/simulator.md) from `simulate()`, and the changed orders' CSV rows handed to a
callback as they come. Raises `RuleSetInvalid` (engine) for a rule set that does not load and
`SimulationError` when the engine fails on an order (a bug: the message names the line).

How the work flows: the reader cuts the stream into chunks of `chunk_size` orders; an executor
(executors.py: this process, local processes, or a Dask cluster) runs `Replayer.run` on each
chunk where both rule sets are loaded once per worker, and hands back a `ChunkResult` (a
partial `Summary` plus that chunk's CSV rows); results come back in stream order and are merged
one by one, so memory holds a bounded number of chunks whatever the stream's length, and the
result is the same whichever executor and however many workers ran it.

`--consume-stock` threads each side's stock ledger ({(location, sku): Decimal}) through the
stream: each order is decided against what the orders before it left, and its allocations are
then taken off. The ledger is sequential by nature, so such a run stays in this process. A rule
set that promises (`atp_rules`) also keeps its supply and demand to come over time, changed by
`Options.supply_changes` (simulator/promising.py); the summary then has a `promising` entry
(simulator/promise_stats.py).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ordinance.simulator.blame import Blamer, edits_between
from ordinance.simulator.compare import compare
from ordinance.simulator.rulesets import RuleSetRef
from ordinance.simulator.streams import Item, OrderSource
from ordinance.simulator.money import Costing, side_rates
from ordinance.simulator.summary import Reading, Summary, change_row, segment_keys

Ledger = dict[tuple[str, str], Decimal]


class SimulationError(Exception):
    pass


@dataclass(frozen=True)
class Options:
    as_of: date | None = None
    today: date | None = None           # the door's clock: the as-of of an order without one
    consume_stock: bool = False
    sample_size: int = 20
    collect_changes: bool = False       # build the CSV rows of changed orders
    chunk_size: int = 500
    supply_changes: tuple[Any, ...] = ()   # simulator.promising.Change, with consume_stock
    blame: bool = True                  # name the edits behind each changed order (blame.py)


@dataclass(frozen=True)
class Setup:
    """All a worker needs to build its `Replayer`; small and picklable."""
    baseline: RuleSetRef
    candidate: RuleSetRef
    options: Options
    reference_changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A stretch of the stream for one worker. `sample` is false once the changed orders
    merged so far fill the sample: every later order comes after them, so its sample entries
    would be dropped anyway, and not building them saves shipping whole decisions back."""
    items: list[Item]
    sample: bool = True


@dataclass
class ChunkResult:
    summary: Summary
    rows: list[tuple[str, ...]] = field(default_factory=list)
    bytes_read: int = 0
    items: int = 0                      # orders and bad lines read


@dataclass(frozen=True)
class Progress:
    items: int                          # orders and bad lines done
    bytes_read: int
    total_bytes: int | None


def initial_ledger(reference: Mapping[str, Any]) -> Ledger:
    """Stock on hand from the rule set's `inventory` table (location, sku, on_hand)."""
    ledger: Ledger = {}
    for row in reference.get("inventory") or ():
        key = (str(row.get("location")), str(row.get("sku")))
        ledger[key] = ledger.get(key, Decimal(0)) + Decimal(str(row.get("on_hand") or 0))
    return ledger


def take(ledger: Ledger, allocations: Iterable[tuple[str, str, Decimal]]) -> None:
    for location, sku, quantity in allocations:
        key = (location, sku)
        ledger[key] = ledger.get(key, Decimal(0)) - quantity


def reference_differences(baseline: Mapping[str, Any], candidate: Mapping[str, Any]) -> tuple[str, ...]:
    """Names of the reference tables that differ (or exist on one side only)."""
    names = sorted(set(baseline) | set(candidate))
    return tuple(n for n in names if baseline.get(n) != candidate.get(n))


class Replayer:
    """Both rule sets, loaded; decides chunks of orders. One per worker."""

    def __init__(self, setup: Setup, loaded: tuple[Any, Any] | None = None,
                 memo: Any = None) -> None:
        """`memo`: the engine LoadMemo `loaded` was loaded with; without `loaded`, both rule
        sets are loaded here, with a new one when blaming (the blame's loads then reuse what
        loading the two did: engine/memo.py)."""
        from ordinance.engine import LoadMemo, load

        self.setup = setup
        self.options = setup.options
        if loaded is None:
            memo = LoadMemo() if self.options.blame else None
            loaded = (load(setup.baseline.path, memo=memo),
                      load(setup.candidate.path, memo=memo))
        self.baseline, self.candidate = loaded
        self.ledgers: tuple[Ledger, Ledger] | None = None
        # With ledgers the stream should be in order time; orders dated before the one
        # before them are counted, not reordered (that would mean holding the stream).
        self.last_date = ""
        self.out_of_time_order = 0
        self.promising: Any = None
        if self.options.consume_stock:
            from ordinance.simulator import promising as over_time
            from ordinance.simulator.promise_stats import PromiseStats

            ledgers = [initial_ledger(rs.reference) for rs in (self.baseline, self.candidate)]
            pictures = [over_time.picture_of(rs, ledger, self.options.supply_changes, side)
                        for rs, ledger, side in zip((self.baseline, self.candidate), ledgers,
                                                    ("baseline", "candidate"))]
            self.ledgers = (pictures[0] or ledgers[0], pictures[1] or ledgers[1])
            if any(pictures):
                self.promising = PromiseStats()
        self.reading = reading_of(self.baseline, self.candidate)
        self.blamer: Blamer | None = None
        if self.options.blame and self.baseline.digest != self.candidate.digest:
            self.blamer = Blamer(setup.baseline.path, setup.candidate.path,
                                 self.candidate.max_steps, memo)

    def run(self, chunk: Chunk) -> ChunkResult:
        from ordinance.engine import BadOrder, evaluate_pair, parse_order, validate_order
        from ordinance.engine.state import copy_json

        options = self.options
        summary = Summary(options.sample_size if chunk.sample else 0)
        rows: list[tuple[str, ...]] = []
        stock_b, stock_c = self.ledgers or (None, None)
        for line, payload, _ in chunk.items:
            try:
                order = (parse_order(payload) if isinstance(payload, (bytes, str))
                         else validate_order(payload))
            except BadOrder as exc:
                summary.add_bad_line(line, f"{exc.path}: {exc.message}")
                continue
            as_read = copy_json(order) if self.blamer is not None else None
            day = str(order.get("order_date") or "")  # as written, before defaulting
            if self.promising is not None:
                self._settle(order, stock_b, stock_c)
            try:
                # phases the two rule sets share run once (the same decisions, less work);
                # the order is ours alone, so it is decided in place (fresh)
                decision_b, decision_c = evaluate_pair(self.baseline, self.candidate, order,
                                                       options.as_of, stock_b, stock_c,
                                                       fresh=True, today=options.today)
            except Exception as exc:  # an engine bug: stop, and say on which order
                raise SimulationError(f"line {line}: the engine failed: {exc!r}") from exc
            json_b, json_c = decision_b.to_json(), decision_c.to_json()
            difference = compare(json_b, json_c, self.setup.reference_changed)
            blame = None
            if difference.changed and self.blamer is not None and as_read is not None:
                try:  # before the stock is taken: the candidate's ledger as it decided
                    blame = self.blamer.explain(as_read, json_b, json_c, options.as_of,
                                                options.today, stock_c)
                except Exception as exc:  # an engine bug: stop, and say on which order
                    raise SimulationError(f"line {line}: blaming failed: {exc!r}") from exc
            if stock_b is not None and stock_c is not None:
                if day and day < self.last_date:
                    self.out_of_time_order += 1
                self.last_date = max(day, self.last_date)
                take(stock_b, decision_b.allocations())
                take(stock_c, decision_c.allocations())
            if self.promising is not None:
                for picture, decided in ((stock_b, json_b), (stock_c, json_c)):
                    if hasattr(picture, "promise"):
                        picture.promise(decided)
                self.promising.add(segment_keys(json_b.get("order") or order,
                                                self.reading.segmenter), json_b, json_c,
                                   (self.baseline.network.handling,
                                    self.candidate.network.handling))
            segmented = json_b.get("order") or order
            brought = summary.add(line, segmented, json_b, json_c, difference, self.reading,
                                  blame)
            if difference.changed and options.collect_changes:
                rows.append(change_row(line, segmented, json_b, json_c, difference,
                                       self.reading, brought, blame))
        return ChunkResult(summary, rows, chunk.items[-1][2] if chunk.items else 0,
                           len(chunk.items))

    def _settle(self, order: dict[str, Any], *pictures: Any) -> None:
        """Moves each side's picture to the order's as-of day (the engine's own)."""
        from ordinance.engine.evaluate import resolve_as_of

        try:
            as_of = resolve_as_of(order, self.options.as_of, self.options.today)
        except ValueError:
            return          # no as-of: the engine says so in the decision
        for picture in pictures:
            if hasattr(picture, "settle"):
                picture.settle(as_of)


def reading_of(baseline: Any, candidate: Any) -> Reading:
    """Segments by the baseline's reference data (its channel codes); each side's margin from
    its own product costs and rates (no margin for a rule set without product costs)."""
    from ordinance.engine.segments import Segmenter

    return Reading(Segmenter(baseline.reference), Costing.of(baseline.reference),
                   Costing.of(candidate.reference))


def fx_of(reference: Mapping[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    """The baseline's dated rates for the converted figures, and the summary's `fx` entry:
    which rates, or why there are none (null without an fx table)."""
    rates, why = side_rates(reference)
    if rates is not None:
        return rates, {"source": rates.source, "date": rates.date, "currency": "USD",
                       "label": rates.label("USD")}
    if why and "no fx table" not in why:
        return None, {"error": why}
    return None, None


def chunks(items: Iterable[Item], size: int, total: Summary) -> Iterator[Chunk]:
    """The stream cut into chunks; asks for sample entries while `total`'s sample has room
    (read when each chunk is cut, i.e. after the results before it have been merged)."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield Chunk(batch, len(total.sample) < total.sample_size)


def simulate(baseline: RuleSetRef, candidate: RuleSetRef, source: OrderSource,
             options: Options = Options(), *, executor: str = "processes",
             workers: int | None = None, scheduler: str | None = None,
             client: Any = None,
             progress: Callable[[Progress], None] | None = None,
             on_changes: Callable[[list[tuple[str, ...]]], None] | None = None,
             notice: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Runs the simulation and returns the summary JSON (a dict; money as strings).

    executor: "processes" (local processes, `workers` of them, default the CPU count; one
    worker runs in this process), "inline" (this process) or "dask" (the cluster at
    `scheduler`, or the given `client`).
    """
    from ordinance.engine import LoadMemo, load
    from ordinance.engine.fx import minor_units
    from ordinance.simulator import executors

    memo = LoadMemo() if options.blame else None  # shared by the blame's loads in this process
    loaded = (load(baseline.path, memo=memo), load(candidate.path, memo=memo))
    setup = Setup(baseline, candidate, options,
                  reference_differences(loaded[0].reference, loaded[1].reference))
    if options.consume_stock:
        if notice:
            notice("--consume-stock: each side's stock ledger follows the stream, so the orders "
                   "are decided one after another in this process (no parallel workers)")
        runner: executors.Executor = executors.Inline(setup, loaded, memo)
    else:
        runner = executors.make(executor, setup, loaded, workers=workers, scheduler=scheduler,
                                client=client, memo=memo)
    total = Summary(options.sample_size)
    extra: dict[str, Any] = {"as_of": options.as_of.isoformat() if options.as_of else None,
                             "consume_stock": options.consume_stock}
    done = 0
    total_bytes = source.total_bytes
    with runner:
        for result in runner.map(chunks(source.items(), options.chunk_size, total)):
            total.merge(result.summary)
            if on_changes and result.rows:
                on_changes(result.rows)
            done += result.items
            if progress:
                progress(Progress(done, result.bytes_read, total_bytes))
    if options.consume_stock and isinstance(runner, executors.Inline):
        extra["out_of_time_order"] = runner.replayer.out_of_time_order
        if runner.replayer.promising is not None:
            extra["promising"] = {**runner.replayer.promising.to_json(), "supply_changes":
                                  [c.describe() for c in options.supply_changes]}
        if runner.replayer.out_of_time_order and notice:
            notice(f"--consume-stock: {runner.replayer.out_of_time_order} order(s) are dated "
                   "before an order ahead of them in the stream; stock is taken in stream order")
    extra["reference_changed"] = list(setup.reference_changed)
    rates, extra["fx"] = fx_of(loaded[0].reference)
    if options.blame and loaded[0].digest != loaded[1].digest:
        extra["blame"] = total.blame.to_json(edits_between(baseline.path, candidate.path),
                                             minor_units(loaded[0].reference))
    return total.to_json(
        baseline_info=_info(baseline, loaded[0]), candidate_info=_info(candidate, loaded[1]),
        baseline_rules=loaded[0].rule_ids, candidate_rules=loaded[1].rule_ids,
        extra=extra, places=minor_units(loaded[0].reference), rates=rates)


def _info(ref: RuleSetRef, rs: Any) -> dict[str, Any]:
    return {"spec": ref.spec, "name": rs.name, "version": rs.version, "digest": rs.digest}
