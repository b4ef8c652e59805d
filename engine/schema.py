"""Checking a rule set's files against their published JSON Schemas (engine/schemas).

In: a loaded YAML tree (`Node`, with spans) and the name of its schema (ruleset, pack, events,
process). Out: SCHEMA diagnostics, each at the place of the problem, with a message a person
reads (`rules.0.then.1: unknown action; actions: ...`); `validate` says whether there was none.

The non-obvious choice: the schema files are the published ones editors use, so the engine
validates with a real JSON Schema validator rather than checks of its own that could drift from
them; the work here is only pointing each error back at its node through the spans.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Mapping

from .actions import ACTIONS
from .diagnostics import Code, Diagnostics
from .yamlload import Node

if TYPE_CHECKING:  # jsonschema is loaded on the first check, not by a start from the cache
    import jsonschema


@lru_cache(maxsize=4)
def schema(name: str) -> jsonschema.protocols.Validator:
    import jsonschema

    text = resources.files("ordinance.engine").joinpath(f"schemas/{name}.schema.json").read_text()
    cls = jsonschema.validators.validator_for(json.loads(text))
    return cls(json.loads(text))


def validate(node: Node, name: str, diags: Diagnostics) -> bool:
    """Checks a file's tree against the published schema `name`; each problem becomes a
    SCHEMA diagnostic at the node (or the unknown key) it is about. True when there is none."""
    ok = True
    for err in sorted(schema(name).iter_errors(node.plain()), key=lambda e: list(e.path)):
        target = node
        key_span = None
        for step in err.absolute_path:
            if target.kind == "map" and isinstance(step, str) and step in target.value:
                key_span = target.key_spans.get(step)
                target = target.value[step]
            elif target.kind == "seq" and isinstance(step, int) and step < len(target.value):
                target = target.value[step]
        span = target.span
        message = _schema_message(err)
        if err.validator == "additionalProperties" and target.kind == "map" \
                and isinstance(err.schema, Mapping):  # (our schemas are objects)
            properties = err.schema.get("properties", {})
            extra = [k for k in target.value if k not in properties]
            if extra:
                span = target.key_spans[extra[0]]
                allowed = ", ".join(sorted(properties))
                message = f"unknown key '{extra[0]}' (allowed: {allowed})"
        elif key_span is not None and err.validator in ("enum", "const", "type"):
            span = target.span
        diags.error(Code.SCHEMA, span, message)
        ok = False
    return ok


def _schema_message(err: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in err.absolute_path) or "the file"
    if err.validator == "required":
        return f"{path}: {err.message.replace('is a required property', 'is required')}"
    if err.validator == "enum" and isinstance(err.validator_value, list):
        allowed = ", ".join(str(x) for x in err.validator_value)
        return f"{path}: {err.instance!r} is not one of {allowed}"
    if err.validator in ("maxProperties", "minProperties") and "then" in str(err.path):
        return f"{path}: an action is a mapping with exactly one action name"
    if err.validator == "additionalProperties" and len(err.absolute_path) >= 3 \
            and err.absolute_path[-2] == "then":
        return f"{path}: unknown action; actions: " + ", ".join(sorted(ACTIONS))
    return f"{path}: {err.message}"
