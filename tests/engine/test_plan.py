"""engine/plan.py: each phase's packs in `after` order, ties by id; bad `after` entries located."""
from __future__ import annotations

from ordinance.engine.diagnostics import Code, Diagnostics, Span
from ordinance.engine.model import PHASES, Pack
from ordinance.engine.plan import plan


def pack(pid: str, phase: str = "pricing", after: tuple[str, ...] = ()) -> Pack:
    return Pack(pid, phase, f"packs/{pid}.yaml", Span(f"packs/{pid}.yaml"), list(after), True,
                None, None, [], after_spans=[Span(f"packs/{pid}.yaml", 3, 5 + i)
                                             for i in range(len(after))])


def test_after_orders_packs_and_ties_go_by_id_not_file_order() -> None:
    diags = Diagnostics()
    packs = [pack("zeta"), pack("alpha", after=("zeta",)), pack("beta"),
             pack("screen", "compliance")]
    order = plan(packs, diags)
    assert not diags.has_errors
    assert list(order) == list(PHASES)  # every phase, even without packs
    assert [p.id for p in order["pricing"]] == ["beta", "zeta", "alpha"]
    assert [p.id for p in order["compliance"]] == ["screen"]
    assert order["sourcing"] == []


def test_unknown_and_cross_phase_after_entries_are_errors_at_the_entry() -> None:
    diags = Diagnostics()
    order = plan([pack("a", after=("nope", "screen")), pack("screen", "compliance")], diags)
    found = [(d.code, d.span, d.message) for d in diags.sorted()]
    assert found == [
        (Code.UNKNOWN_PACK, Span("packs/a.yaml", 3, 5), "after names an unknown pack 'nope'"),
        (Code.UNKNOWN_PACK, Span("packs/a.yaml", 3, 6), "after names pack 'screen' of the "
         "compliance phase; after orders packs of one phase"),
    ]
    assert [p.id for p in order["pricing"]] == ["a"]  # still planned, for check to go on


def test_a_cycle_is_reported_at_each_after_entry_in_it() -> None:
    diags = Diagnostics()
    order = plan([pack("b", after=("a",)), pack("a", after=("c",)), pack("c", after=("b",)),
                  pack("d")], diags)
    cycles = [d for d in diags.sorted() if d.code is Code.PACK_CYCLE]
    assert sorted(d.span.file for d in cycles) == ["packs/a.yaml", "packs/b.yaml",
                                                    "packs/c.yaml"]
    assert all("packs wait for each other: " in d.message and d.hint for d in cycles)
    assert [p.id for p in order["pricing"]] == ["a", "b", "c", "d"]  # id order after a cycle
