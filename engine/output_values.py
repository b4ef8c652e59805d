"""A table's `output_values`: the values each output may take, in priority order (DMN 1.3).

In: the table's YAML mapping (its `hit`, `outputs`, `rows`, `default` and `output_values`
nodes), the number of inputs, and the diagnostics to report into.
Out: for `priority` and `output_order` tables, one rank tuple per row (the position of each
listed output's value in its list, in column order: a smaller tuple is a higher priority);
`None` for other hit policies, or when the table cannot be ranked (the errors say why).

`output_values` is optional for the other hit policies; when it is given, every literal output
cell (and default) of a listed output must be one of the listed values, whatever the hit
policy: a typo in an output cell is the analyst's mistake this catches. Outputs that are not
listed take no part in the ranking, as in DMN, where only outputs with output values decide
the priority. The comparison is by value (`1.0` is `1`), the same as hit policy `any`.
"""
from __future__ import annotations

from typing import Any

from . import values as V
from .diagnostics import Code, Diagnostics
from .tables import RANKED
from .values import RuleError
from .yamlload import Node


def _position(value: Any, listed: list[Any]) -> int | None:
    for i, x in enumerate(listed):
        try:
            if V.eq(value, x):
                return i
        except RuleError:  # a date against a text: not the same value
            continue
    return None


def output_ranks(v: dict[str, Node], hit: str, outputs: list[str], ncols: int,
                 diags: Diagnostics) -> list[tuple[int, ...]] | None:
    node = v.get("output_values")
    if node is None:
        if hit in RANKED:
            span = v["hit"].span
            diags.error(Code.TABLE_SHAPE, span, f"hit policy {hit} needs output_values: each "
                        "ranked output's values, highest priority first",
                        f"add output_values: {{{outputs[0] if outputs else 'OUTPUT'}: "
                        "[first, second, ...]}")
        return None
    listed: dict[int, list[Any]] = {}
    for name, vals in node.value.items():
        span = node.key_spans.get(name, node.span)
        if name not in outputs:
            diags.error(Code.TABLE_SHAPE, span, f"output_values names '{name}', which is not "
                        "an output of this table", "outputs: " + ", ".join(outputs))
            continue
        items = [n.value for n in vals.value]
        for i, n in enumerate(vals.value):
            if _position(n.value, items[:i]) is not None:
                diags.error(Code.BAD_VALUE, n.span, f"output value {V.show(n.value)} is listed "
                            f"twice for '{name}'")
        listed[outputs.index(name)] = items
    ok = bool(listed)
    rows: list[Node] = v["rows"].value if "rows" in v else []
    cells_of = [(r.value[ncols:], i + 1) for i, r in enumerate(rows)
                if len(r.value) == ncols + len(outputs)]
    if "default" in v and len(v["default"].value) == len(outputs):
        cells_of.append((v["default"].value, 0))
    ranks: list[tuple[int, ...]] = []
    for cells, row in cells_of:
        rank = []
        for j, items in sorted(listed.items()):
            cell = cells[j]
            where = f"row {row}" if row else "the default"
            if isinstance(cell.value, str) and cell.value.startswith("="):
                diags.error(Code.BAD_VALUE, cell.span, f"{where}: output '{outputs[j]}' has "
                            "output_values, so its cells must be literal values, not "
                            "expressions", "write one of: " + ", ".join(map(V.show, items)))
                ok = False
                continue
            pos = _position(cell.value, items)
            if pos is None:
                diags.error(Code.BAD_VALUE, cell.span, f"{where}: {V.show(cell.value)} is not "
                            f"among the output_values of '{outputs[j]}'",
                            "write one of: " + ", ".join(map(V.show, items)) +
                            ", or add the value to output_values")
                ok = False
                continue
            rank.append(pos)
        if row:
            ranks.append(tuple(rank))
    if hit not in RANKED or not ok:
        return None
    return ranks
