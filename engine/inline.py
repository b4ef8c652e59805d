"""A compiled expression's code written into a pack's function (issue 16).

In: an expression's function as `expressions.build` made it (it keeps the generated code as
`src`: one Python expression reading `S`, the scope, and `X`, the decision state, its
constants named `c0`, `c1`, ...), a name for it and the pack's bindings. Out: the text that
evaluates it in place (engine/packrun.py's rules, guards and residual conditions, and the
values of `default`/`set` in engine/actions.py `Assign.inline`, a table's inputs in
engine/tables.py), or a call where the code is not kept.

Why: a decision evaluates a few hundred conditions and values; a call each was about a
twentieth of an ACME decision's instructions. The text is only ever our generated code with
its constants renamed (`w3c0`): no user text enters it (as in expressions.py).
"""
from __future__ import annotations

import re
from types import CodeType, FunctionType
from typing import Any, Callable

_CONST = re.compile(r"\bc(\d+)\b")
_NAME = re.compile(r"(?<![.\w])(?:_[A-Za-z_]+|f\d+)\b")  # a helper's name, not an attribute
MAX_INLINE = 4000  # characters of an expression's code written into the pack's own
# set in a function's bindings to make every expression a call: for a function whose code with
# the expressions written in does not compile (an expression nested just below Python's limit
# of nested brackets, which the extra brackets around it pass); see `compiled`
NO_INLINE = "_no_inline"
COMPILE_ERRORS = (SyntaxError, RecursionError, MemoryError)
# set in a function's bindings while it writes code that runs where its local `line` holds the
# scope's line (`S['line']`: the body of a per-line rule's loop, engine/packrun.py): an
# expression there reads the local, not the scope (issue 16)
LINE_LOCAL = "_line_local"
# set (to a frozenset of names) while a table rule's actions are written: the table's outputs
# whose every value is a literal null or a number a pricing action takes (engine/packrun.py)
AMOUNT_NAMES = "_amount_names"


def compiled(make: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]],
             name: str) -> tuple[CodeType, dict[str, Any]]:
    """`make(bind)` gives a function's source and its bindings; the code compiled, with the
    expressions written in, or, when that does not compile, with every expression a call."""
    text, bind = make({})
    try:
        return compile(text, name, "exec"), bind
    except COMPILE_ERRORS:
        text, bind = make({NO_INLINE: True})
        return compile(text, name, "exec"), bind


def expr_code(fn: Any, name: str, bind: dict[str, Any], line: bool | None = None) -> str:
    """The code that evaluates a compiled expression inside a pack's function: its own code
    (engine/expressions.py `build` keeps it as `src`), with its constants bound under names of
    its own (`w3c0`, ...) and the helpers it calls, so that no call is made; else (no code
    kept, as for a function rebuilt from the compiled cache, or a long one) a call of `fn`
    bound as `name`. Both read `S` and `X` (a pack's function binds `X = st`; a table's
    matcher has them as its parameters). `line` (by default: whether `bind` holds
    LINE_LOCAL): the code runs where the local `line` is `S['line']`, and reads it."""
    src = fn.__dict__.get("src") if fn.__class__ is FunctionType else None
    if src is None or len(src[0]) > MAX_INLINE or NO_INLINE in bind:
        bind[name] = fn
        return f"{name}(S, X)"
    from .expressions import _FN_BINDINGS, _HELPERS  # compiling only (a start from the cache
    # binds packs made before)

    body, consts = src
    helpers = {used: _HELPERS.get(used, _FN_BINDINGS.get(used))
               for used in set(_NAME.findall(body))}
    if None in helpers.values():  # a name that is not a helper's: the call, as it was made
        bind[name] = fn
        return f"{name}(S, X)"
    bind.update(helpers)
    for i, c in enumerate(consts):
        bind[f"{name}c{i}"] = c
    if line is None:
        line = LINE_LOCAL in bind
    if line:  # the scope's line (`S[cK]`, cK the text "line") as the local holding it
        for i, c in enumerate(consts):
            if c.__class__ is str and c == "line":
                body = body.replace(f"S[c{i}]", "line")
    return "(" + _CONST.sub(lambda m: f"{name}c{m.group(1)}", body) + ")"
