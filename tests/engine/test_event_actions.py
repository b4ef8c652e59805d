"""engine/event_actions.py: event actions return Effect values; engine/events.py places every
run-time problem of an event rule (ARCHITECTURE.md: located run-time errors)."""
from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ordinance.engine import load
from ordinance.engine.event_actions import EVENT_ACTIONS, STATES, Effect, action_reference
from ordinance.engine.events import EventRules, EventState
from ordinance.engine.values import RuleError

DAY = datetime.date(2026, 11, 20)
EVENTS = """\
pack: x
phase: events
rules:
  - id: acts
    on: tick
    then:
      - clear_alert: {code: LATE, reason: "done {order.id}"}
      - release_hold: {code: H, reason: ok}
      - transition: {to: shipped}
      - notify: {topic: orders, message: "{order.id} shipped"}
  - id: ratio
    on: tick
    key: order.total / order.count
    then: [{notify: {topic: t, message: m}}]
  - id: prio
    on: tick
    then: [{alert: {code: A, priority: "{order.level}"}}]
  - id: wait
    on: tick
    after: order.wait
    then: [{alert: {code: W}}]
"""


def rules(tmp_path: Path) -> EventRules:
    (tmp_path / "ruleset.yaml").write_text('ruleset: t\nversion: "1"\n')
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "x.yaml").write_text(EVENTS)
    return EventRules(load(tmp_path).model.event_packs)


def state(order: dict[str, object]) -> EventState:
    return EventState({}, {"type": "tick"}, order, "released", None, DAY)


def test_actions_return_effects_and_do_nothing_else(tmp_path: Path) -> None:
    rule = rules(tmp_path).by_id["x/acts"]
    order = {"id": "O-1"}
    effects = rule.fire(state(order))
    assert [(e.kind, e.rule) for e in effects] == [
        ("clear_alert", "x/acts"), ("release_hold", "x/acts"), ("transition", "x/acts"),
        ("notify", "x/acts")]
    assert effects[0].data["reason"] == "done O-1"
    assert effects[2].data["to"] == "shipped" and "shipped" in STATES
    assert effects[3].data["message"] == "O-1 shipped"
    assert order == {"id": "O-1"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(effects[0], "kind", "hold")  # noqa: B010  (an Effect is frozen)


def test_an_event_rules_error_names_the_operator(tmp_path: Path) -> None:
    rule = rules(tmp_path).by_id["x/ratio"]
    with pytest.raises(RuleError) as caught:
        rule.key_of(state({"total": Decimal(5), "count": Decimal(0)}))
    assert caught.value.message == "division by zero: 5 / 0"
    assert caught.value.where == "events/x.yaml:13:22"  # the '/'


def test_an_actions_or_a_durations_error_names_the_rule(tmp_path: Path) -> None:
    found = rules(tmp_path)
    with pytest.raises(RuleError, match="priority 'urgent' is not one of low, medium, high") \
            as caught:
        found.by_id["x/prio"].fire(state({"level": "urgent"}))
    assert caught.value.where == "events/x.yaml:15:5"
    with pytest.raises(RuleError, match="not a duration") as caught:
        found.by_id["x/wait"].delay(state({"wait": "soon"}))
    assert caught.value.where == "events/x.yaml:18:5"
    assert found.by_id["x/wait"].delay(state({"wait": "2h"})) == datetime.timedelta(hours=2)


def test_the_reference_lists_the_registry_in_name_order() -> None:
    ref = action_reference()
    assert [a["name"] for a in ref] == sorted(EVENT_ACTIONS)
    assert {"alert", "hold", "transition", "notify", "propose_reorder"} <= set(EVENT_ACTIONS)
    assert all(a["doc"] and a["example"].startswith(a["name"] + ":") for a in ref)
    assert Effect("hold", "r", {}) == Effect("hold", "r", {})
