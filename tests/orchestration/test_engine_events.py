"""engine/events.py and engine/processes.py: checking with FILE:LINE:COL, compiling, firing."""
from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest
from ordinance.engine import check, load, parse_order
from ordinance.engine.events import EVENT_ACTIONS, EventRules, EventState, parse_duration
from ordinance.engine.processes import choose, plan_of

ROOT = Path(__file__).resolve().parents[2]


def write(tmp: Path, files: dict[str, str]) -> Path:
    (tmp / "ruleset.yaml").write_text('ruleset: t\nversion: "1"\n')
    for rel, text in files.items():
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp


def rendered(path: Path) -> list[str]:
    return [d.render(with_source=False) for d in check(path)]


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("15m", 900), ("4h", 14400),
                                           ("1.5d", 129600), ("2w", 1209600),
                                           (Decimal(2), 7200)])
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text) == datetime.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["4", "h", "-1h", "1y", None, True, "1 h"])
def test_not_durations(text: object) -> None:
    assert parse_duration(text) is None


def test_shipped_rule_sets_check_clean() -> None:
    for name in ("acme", "acme-candidate"):
        rs = load(ROOT / "rulesets" / name)
        assert {p.id for p in rs.model.event_packs} >= {"jeopardy", "holds"}
        assert {p.id for p in rs.model.processes} >= {"standard", "web-parcel"}
        assert "jeopardy" not in {p.id for p in rs.model.packs}  # not a decision pack


def test_semantic_mistakes_point_at_their_place(tmp_path: Path) -> None:
    root = write(tmp_path, {"events/x.yaml": """\
pack: x
phase: events
rules:
  - id: a
    on: payment_declined
    within: 1h
    having: cnt >= 3
    then:
      - hodl: {code: X, reason: y}
      - alert: {code: X, priority: urgent}
  - id: b
    on: step_started
    after: "lenght(x)"
    then:
      - transition: {to: shiped}
  - id: c
    on: step_started
    having: count > 1
    unless: [x]
    then:
      - alert: {code: X, colour: red}
  - id: a
    on: x
    then: [{notify: {topic: t}}]
""", "processes/p.yaml": """\
process: p
steps:
  - {id: a, kind: ship, system: x, planned: 1d}
  - {id: b, kind: ship, system: "{ordr.id}", planned: 1h, after: [c]}
"""})
    assert rendered(root) == [
        "events/x.yaml:7:13: error: unknown name 'cnt'\n    hint: did you mean 'count'?",
        "events/x.yaml:9:9: error: 'hodl' is not an action of event packs\n"
        "    hint: did you mean 'hold'?",
        "events/x.yaml:10:36: error: 'urgent' is not a priority\n    hint: priorities: low, "
        "medium, high, or a mapping {high: COND, medium: COND, default: low}",
        "events/x.yaml:13:13: error: unknown function 'lenght'\n    hint: did you mean 'len'?",
        "events/x.yaml:15:26: error: 'shiped' is not a lifecycle state\n"
        "    hint: did you mean 'shipped'?",
        "events/x.yaml:18:13: error: having tests a window: add within: DURATION",
        "events/x.yaml:19:13: error: unless belongs to a timer: add after: DURATION",
        "events/x.yaml:21:26: error: unknown parameter 'colour' (allowed: code, priority, "
        "message)",
        "events/x.yaml:22:9: error: rule id 'a' is used twice in pack 'x' (first at line 4)",
        "processes/p.yaml:4:35: error: unknown name 'ordr'\n    hint: did you mean 'order'?",
        "processes/p.yaml:4:67: error: after names 'c', which is not a step before this one",
    ]


def test_schema_mistakes_use_the_events_and_process_schemas(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "events/x.yaml": "pack: x\nphase: events\nrules:\n  - {id: a, on: Bad, then: []}\n",
        "processes/p.yaml": "process: p\nsteps:\n  - {id: a, kind: fly, system: x, "
                            "planned: 1x}\n"})
    out = rendered(root)
    assert out[0].startswith("events/x.yaml:4:17: error: rules.0.on:")
    assert out[1] == "events/x.yaml:4:28: error: rules.0.then: [] should be non-empty"
    assert out[2].startswith("processes/p.yaml:3:19: error: steps.0.kind: 'fly' is not one of")
    assert out[3].startswith("processes/p.yaml:3:44: error: steps.0.planned: '1x' does not")


def test_rules_fire_pure_effects_and_registry_documents_each_action(tmp_path: Path) -> None:
    rs = load(ROOT / "rulesets" / "acme")
    rules = EventRules(rs.model.event_packs)
    assert [r.qid for r in rules.on("payment_declined")] == ["holds/failed-authorisations"]
    assert [r.qid for r in rules.cancelled_by("step_completed")] == ["jeopardy/step-overdue"]
    rule = rules.by_id["holds/failed-authorisations"]
    order = {"id": "O-1", "customer": {"tier": "gold"}}
    st = EventState(rs.ref, {"type": "payment_declined"}, order, "captured", None,
                    datetime.date(2026, 11, 20))
    st.S["count"], st.S["sum"] = Decimal(2), Decimal(2)
    assert not rule.passes(st)
    st.S["count"] = Decimal(3)
    assert rule.passes(st)
    effects = rule.fire(st)
    assert [(e.kind, e.data.get("code")) for e in effects] == [
        ("hold", "PAYMENT_FAILURES"), ("alert", "PAYMENT_FAILURES")]
    assert effects[0].data["reason"] == "3 failed payment authorisations within an hour"
    timer = rules.by_id["jeopardy/step-overdue"]
    st = EventState(rs.ref, {"type": "step_started", "step": "ship"}, order, "released",
                    {"id": "ship", "planned": "2d"}, datetime.date(2026, 11, 20))
    assert timer.delay(st) == datetime.timedelta(days=2)
    st.S["late_days"] = Decimal(0)
    assert timer.fire(st)[0].data["priority"] == "medium"  # gold
    order["customer"]["tier"] = "bronze"
    assert timer.fire(st)[0].data["priority"] == "low"
    st.S["late_days"] = Decimal(3)
    assert timer.fire(st)[0].data["priority"] == "high"
    for kind in EVENT_ACTIONS.values():
        assert kind.doc and kind.example.startswith(kind.name + ":")


def test_processes_are_chosen_per_order() -> None:
    rs = load(ROOT / "rulesets" / "acme")
    day = datetime.date(2026, 11, 20)
    web = parse_order(json.dumps({"id": "1", "channel": "web", "lines": []}))
    edi = parse_order(json.dumps({"id": "2", "channel": "edi", "ship_from": "WH-NJ",
                                  "lines": []}))
    assert choose(rs.model.processes, web, rs.ref, day).id == "web-parcel"
    p = choose(rs.model.processes, edi, rs.ref, day)
    assert p.id == "standard"
    plan = plan_of(p, edi, rs.ref, day)
    assert [(s["id"], s["system"], s["planned"]) for s in plan] == [
        ("schedule", "oms", "4h"), ("reserve", "wms-wh-nj", "8h"), ("ship", "wms", "2d"),
        ("bill", "erp", "1d")]
