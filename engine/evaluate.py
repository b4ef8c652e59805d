"""Compiling for evaluation, and evaluating one order (SPEC sections 2, 4 and 6).

In: a checked `Model` (engine/ruleset.py) and its digest; then an order (from
`parse_order`/`validate_order`), an as-of date, the phases to run and optionally a stock
ledger. Out: a `CompiledRuleSet`, and from its `evaluate` a `Decision` (engine/decision.py).
A pure function of those inputs: the same inputs give the same bytes out, in any process.
Raises `AsOfMissing` only for a caller that gives no date at all; rule errors are recorded in
the decision, never raised (engine/state.py runs the rules).

The non-obvious choice: everything evaluation needs that depends on the rule set alone is
computed here once (pack runners, the plan, minor units, the transport network, and the keys
that say what each phase and pack depends on, which `evaluate_pair` in engine/pair.py uses to
share work between two rule sets), so a decision only runs closures.
"""
from __future__ import annotations

import datetime
import hashlib
from typing import Any, Iterable

from .actions import Assign
from .budget import DEFAULT_MAX_STEPS
from .decision import Decision
from .memo import LoadMemo
from .functions import parse_date
from .packrun import compile_pack
from .pricing import minor_unit_table
from .model import PHASES, Model, Pack
from .sourcing import Network
from .state import State, copy_json
from .values import RefTables

__all__ = ["AsOfMissing", "CompiledRuleSet", "Decision", "PairPlan", "State", "Writes",
           "resolve_as_of"]


class CompiledRuleSet:
    """Immutable after construction; share it between threads, rebuild it per process."""

    def __init__(self, model: Model, digest: str, path: str,
                 max_steps: int = DEFAULT_MAX_STEPS, memo: LoadMemo | None = None):
        """`memo` (engine/memo.py): the network and the packs' runners of earlier loads that
        had the same table and pack objects are taken as they are."""
        self.model = model
        self.max_steps = max_steps  # each decision's evaluation budget (engine/budget.py)
        self.name = model.name
        self.version = model.version
        self.digest = digest
        self.path = path
        self.reference = {name: t.rows for name, t in model.tables.items()}
        self.ref = RefTables(model.tables)
        # currency -> minor unit, resolved once: ISO 4217 under the rule set's `currencies`
        self.minor_units = minor_unit_table(model.tables.get("currencies"))
        t = model.tables

        def network() -> Network:
            return Network(t.get("locations"), t.get("inventory"), t.get("lanes"),
                           t.get("supply"), t.get("atp_rules"),
                           {n: t.get(n) for n in ("allocation", "boms", "capacity")})
        self.network = network() if memo is None else memo.shared(
            tuple(t.get(n) for n in NETWORK_TABLES), "network", network)
        self.plan: list[tuple[str, list[Pack]]] = [(ph, model.plan.get(ph, [])) for ph in PHASES]
        self.rule_ids = [r.qid for _, packs in self.plan for p in packs for r in p.rules]
        self.rule_places = {r.qid: str(r.span) for p in model.packs for r in p.rules}
        self.runners = {p.id: _runner(p, memo) for p in model.packs}
        self.phase_keys = {ph: _phase_key(model, ph) for ph in PHASES}
        self.pack_keys = {p.id: _pack_key(model, p) for p in model.packs}
        self.pack_writes = {p.id: _pack_writes(p) for p in model.packs}
        self.screen_caches: dict[str, dict[str, Any]] = {}
        self.pair_plans: dict[int, tuple[CompiledRuleSet, PairPlan]] = {}  # engine/pair.py
        # per as-of date, each phase's runners of the packs active that day (`active_plan`)
        self.active_plans: dict[datetime.date, list[tuple[str, list[Any]]]] = {}

    def active_plan(self, as_of: datetime.date) -> list[tuple[str, list[Any]]]:
        """The plan as (phase, runners of its packs active on `as_of`, in plan order): a pure
        function of the rule set and the day, so kept per day (bounded) rather than asking
        every pack of every decision whether it is active."""
        plan = self.active_plans.get(as_of)
        if plan is None:
            runners = self.runners
            plan = [(phase, [runners[p.id] for p in packs if p.active(as_of)])
                    for phase, packs in self.plan]
            if len(self.active_plans) < 1000:
                self.active_plans[as_of] = plan
        return plan

    def evaluate(self, order: dict[str, Any], as_of: datetime.date | None = None,
                 phases: Iterable[str] | None = None, stock: Any = None,
                 today: datetime.date | None = None, owned: bool = False) -> Decision:
        """`owned`: the caller hands the order over (one just parsed, used for nothing else),
        so the decision writes into it instead of a copy."""
        as_of = resolve_as_of(order, as_of, today)
        state = State(self, order if owned else copy_json(order), as_of, stock)
        state.run(set(phases) if phases is not None else set(PHASES))
        return state.decision()


NETWORK_TABLES = ("locations", "inventory", "lanes", "supply", "atp_rules", "allocation", "boms",
                  "capacity")


def _runner(pack: Pack, memo: LoadMemo | None) -> Any:
    return compile_pack(pack) if memo is None else \
        memo.shared((pack,), "runner", lambda: compile_pack(pack))


def _phase_key(model: Model, phase: str) -> str:
    """What a phase's outcome depends on besides the order: its packs (their files, in plan
    order) and the reference tables their expressions read. Equal keys in two rule sets mean
    the phase gives the same result in both (see evaluate_pair)."""
    h = hashlib.sha256()
    tables: set[str] = set()
    for pack in model.plan.get(phase, []):
        h.update(f"{pack.file}\n{pack.digest}\n".encode())
        tables |= pack.tables_read
    if phase == "sourcing":
        tables |= {"locations", "inventory", "lanes", "supply", "atp_rules"}
    if "*" in tables:
        tables = set(model.table_digests)
    for name in sorted(tables):
        h.update(f"{name}={model.table_digests.get(name, '')}\n".encode())
    return h.hexdigest()


def _pack_key(model: Model, pack: Pack) -> str:
    """What a pack's effect depends on besides the state it starts from: its file and the
    reference tables it reads."""
    tables = set(model.table_digests) if "*" in pack.tables_read else set(pack.tables_read)
    text = f"{pack.phase}\n{pack.file}\n{pack.digest}\n" + "".join(
        f"{name}={model.table_digests.get(name, '')}\n" for name in sorted(tables))
    return hashlib.sha256(text.encode()).hexdigest()


Writes = dict[str, Any]  # a trie of field names: {"ship_to": {"region": {}}, ...}
# evaluate_pair's plan: per shareable phase, the packs side by side, whether they are the same,
# and the fields either may write
PairPlan = list[tuple[str, list[tuple[Pack, Pack, bool, dict[str, Writes]]]]]


def _pack_writes(pack: Pack) -> dict[str, Writes]:
    """The fields a pack's actions may write, as tries under "order" and "line" (every line):
    only `default` and `set` write, and only to the paths they name."""
    out: dict[str, Writes] = {"order": {}, "line": {}}
    for rule in pack.rules:
        for act in rule.actions:
            if isinstance(act, Assign):
                for root, keys, _ in act.targets:
                    node = out["line" if root == "line" else "order"]
                    for k in (["customer", *keys] if root == "customer" else keys):
                        node = node.setdefault(k, {})
    return out


class AsOfMissing(ValueError):
    """A caller asked for a decision without saying its date: no as-of, no `order_date` in
    the order, and no `today` from the caller's clock. A programming error of the caller."""


def resolve_as_of(order: dict[str, Any], as_of: datetime.date | None,
                  today: datetime.date | None) -> datetime.date:
    """The decision's as-of date (SPEC: the given as-of, else the order's `order_date`, else
    today). "Today" is the caller's: the engine reads no clock, so the same inputs give the
    same decision on any day, and a door passes its clock adapter's date."""
    if as_of is not None:
        return as_of
    od = order.get("order_date")
    day = parse_date(od) if isinstance(od, str) else None
    if day is not None:
        return day
    if today is None:
        raise AsOfMissing("no as-of date: pass as_of, an order with order_date, or today "
                          "from the caller's clock")
    return today
