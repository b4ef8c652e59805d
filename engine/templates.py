"""A checked text with `{EXPR}` parts as one function of the decision's state (issue 16).

In: the parts the checker split a text into (engine/ruleset.py `Checker.template`): plain
strings and compiled `Expr`s. Out: `template_fn(parts)`, a function of the state giving the
text. It lives apart from the checker because the functions it makes are pickled with a
compiled rule set (engine/compiled.py) and rebound to this module's globals on loading: a
start from the cache imports this small module, not the checker and its YAML loader.
"""
from __future__ import annotations

from typing import Any, Callable

from .values import render


def template_fn(parts: list[Any]) -> Callable[[Any], str]:
    """A text with `{EXPR}` parts as one function (the common shapes without a loop); one
    whose parts are texts and order-level paths is marked `order_level` (engine/actions.py
    renders it once per pack run outside defaulting)."""
    fn = _template_fn(parts)
    if all(isinstance(p, str) or p.order_level for p in parts):
        fn.__dict__["order_level"] = True
    return fn


def _template_fn(parts: list[Any]) -> Callable[[Any], str]:
    if all(isinstance(p, str) for p in parts):
        const = "".join(parts)
        fn = lambda st: const  # noqa: E731 - a function with an attribute
        fn.__dict__["text"] = const  # constant_text: an action may keep the text itself
        return fn
    if len(parts) == 1:
        (e,) = parts
        return lambda st: render(e.fn(st.S, st))
    if len(parts) == 2 and isinstance(parts[0], str):
        head, e = parts
        return lambda st: head + render(e.fn(st.S, st))
    if len(parts) == 2:
        e, tail = parts
        if isinstance(tail, str):
            return lambda st: render(e.fn(st.S, st)) + tail
    if len(parts) == 3 and isinstance(parts[0], str) and isinstance(parts[2], str):
        head, e, tail = parts
        return lambda st: head + render(e.fn(st.S, st)) + tail
    if len(parts) == 5 and all(isinstance(p, str) for p in parts[::2]):
        a, e1, b, e2, c = parts
        return lambda st: a + render(e1.fn(st.S, st)) + b + render(e2.fn(st.S, st)) + c
    return lambda st: "".join([p if p.__class__ is str else render(p.fn(st.S, st))
                               for p in parts])


def order_level(template: Callable[[Any], str] | None) -> bool:
    """Whether the template reads only order-level paths (see `template_fn`)."""
    return bool(getattr(template, "__dict__", {}).get("order_level"))


def constant_text(template: Callable[[Any], str] | None) -> str | None:
    """The text of a template with no `{EXPR}` part, known while the rule set compiles (an
    action keeps it and renders nothing per firing); None for any other template."""
    text = getattr(template, "__dict__", {}).get("text")
    return text if isinstance(text, str) else None
