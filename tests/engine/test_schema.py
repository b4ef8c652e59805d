"""engine/schema.py: the published schemas, each error pointed at its node with a readable message."""
from __future__ import annotations

from ordinance.engine.diagnostics import Code, Diagnostics, Span
from ordinance.engine.schema import schema, validate
from ordinance.engine.yamlload import load_text


def problems(text: str, name: str = "pack") -> list[tuple[Span, str]]:
    node = load_text(text, "packs/p.yaml")
    assert node is not None
    diags = Diagnostics()
    ok = validate(node, name, diags)
    found = [(d.span, d.message) for d in diags.sorted()]
    assert ok is (not found)
    assert all(d.code is Code.SCHEMA for d in diags.sorted())
    return found


def test_a_valid_pack_has_no_problem() -> None:
    assert problems("pack: p\nphase: pricing\nrules:\n  - id: r\n    then:\n"
                    "      - discount: {percent: 5}\n") == []


def test_an_unknown_key_points_at_the_key_and_lists_the_allowed_ones() -> None:
    (found,) = problems("pack: p\nphase: pricing\nrulez: []\nrules: []\n")
    span, message = found
    assert span == Span("packs/p.yaml", 3, 1)
    assert message.startswith("unknown key 'rulez' (allowed: ")
    assert "rules" in message and "phase" in message


def test_a_value_outside_an_enum_names_the_allowed_values() -> None:
    (found,) = problems("pack: p\nphase: prizing\nrules: []\n")
    assert found[0] == Span("packs/p.yaml", 2, 8)
    assert found[1].startswith("phase: 'prizing' is not one of defaulting, validation, ")


def test_an_unknown_action_points_at_its_name_and_lists_the_actions() -> None:
    (found,) = problems("pack: p\nphase: pricing\nrules:\n  - id: r\n    then:\n"
                        "      - discont: {percent: 5}\n")
    assert found[0] == Span("packs/p.yaml", 6, 9)
    assert found[1].startswith("unknown key 'discont' (allowed: charge, default, discount, ")


def test_a_missing_key_is_required() -> None:
    assert problems("pack: p\nrules: []\n") == [(Span("packs/p.yaml", 1, 1),
                                                 "the file: 'phase' is required")]


def test_schemas_are_loaded_once() -> None:
    assert schema("pack") is schema("pack")
    assert schema("ruleset") is not schema("pack")
