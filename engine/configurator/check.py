"""Checking and compiling one configuration model file (models/*.yaml) into a `ConfigModel`.

In: the rule-set `Checker` (engine/ruleset.py hands it every YAML file under `models/`), the
file's name and its located YAML tree. Out: a `ConfigModel` (engine/configurator/model.py), or
None; every mistake is a diagnostic at FILE:LINE:COL in the checker's list, never an
exception. The static analysis (engine/configurator/analyse.py) runs on the result.

Names in a rule's expressions: each group (a one-of group: the chosen option id or null; a
many-of group: the list of chosen option ids), each feature (its value) and each total (its
sum). A shorthand's operand is `GROUP.OPTION` (that option is chosen) or a condition.
"""
from __future__ import annotations

import datetime
import itertools
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable

from ..diagnostics import Code, Span
from ..expressions import Scope, compile_expr
from ..values import RefTables, RuleError, render, truthy
from .logic import SHORTHANDS, X, holds, names_in
from .model import MAX_DOMAIN, MAX_TUPLES, BomItem, ConfigModel, Constraint, Feature, Group, \
    Total, Var

if TYPE_CHECKING:  # annotations only: a compiled model's closures rebind to this module's
    from ..yamlload import Node  # globals on a cached start, which loads no YAML (issue 16)

RESERVED = frozenset({"order", "customer", "ref", "line", "pricing", "it"})
_REF = re.compile(r"^\s*([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\s*$")



def _text(node: Node | None) -> str:
    return render(node.value) if node is not None else ""


def _date(c: Any, node: Node | None) -> datetime.date | None:
    if node is None:
        return None
    try:
        return datetime.date.fromisoformat(str(node.value))
    except ValueError:
        c.diags.error(Code.BAD_VALUE, node.span, f"{node.value!r} is not a date YYYY-MM-DD")
        return None


def _bom(node: Node | None) -> tuple[BomItem, ...]:
    if node is None:
        return ()
    return tuple(BomItem(str(n.value["item"].value),
                         Decimal(n.value["quantity"].value) if "quantity" in n.value
                         else Decimal(1)) for n in node.value)


class _ModelBuilder:
    def __init__(self, c: Any, rel: str, node: Node):
        self.c, self.rel, self.node = c, rel, node
        self.vars: list[Var] = []
        self.constraints: list[Constraint] = []
        self.groups: list[Group] = []
        self.features: list[Feature] = []
        self.totals: list[Total] = []
        self.names: dict[str, Span] = {}  # group, feature and total ids
        self.name_vars: dict[str, tuple[str, ...]] = {}  # a name -> the variables it reads
        self.total_weights: dict[str, tuple[tuple[str, dict[Any, Decimal]], ...]] = {}
        self.ok = True

    def error(self, code: Code, span: Span, message: str, hint: str | None = None) -> None:
        self.c.diags.error(code, span, message, hint)
        self.ok = False

    def name(self, node: Node) -> bool:
        nid = str(node.value)
        if nid in RESERVED:
            self.error(Code.DUPLICATE_ID, node.span, f"'{nid}' is a name of the language; "
                       "choose another id")
            return False
        if nid in self.names:
            self.error(Code.DUPLICATE_ID, node.span, f"id '{nid}' is used twice in the model "
                       f"(first at line {self.names[nid].line})")
            return False
        self.names[nid] = node.span
        return True

    def price(self, node: Node | None) -> Decimal:
        if node is None:
            return Decimal(0)
        if isinstance(node.value, Decimal):
            return node.value
        try:
            return Decimal(str(node.value).strip())
        except ArithmeticError:
            return self.price_expr(node)

    def price_expr(self, node: Node) -> Decimal:
        """A price written as an expression over the reference tables (`ref.prices["SKU"].USD`),
        worked out once here: the tables are part of the rule set, so the price is too."""
        scope = Scope(frozenset({"ref"}), frozenset(self.c.model.tables))
        e = compile_expr(str(node.value), node.span, scope, self.c.diags,
                         1 if node.quoted else 0, tables=self.c.model.tables)
        if e is None:
            self.ok = False
            return Decimal(0)
        try:
            value = e.fn({"ref": RefTables(self.c.model.tables)}, X)
        except RuleError as exc:
            value = exc.message
        if not isinstance(value, Decimal):
            self.error(Code.BAD_VALUE, node.span, f"price {node.value!r} is not a number here "
                       f"({render(value) if value is not None else 'null'})",
                       "a price is a number, or an expression over ref giving one")
            return Decimal(0)
        return value

    # groups, features, totals ------------------------------------------------------------------
    def group(self, g: Node) -> None:
        v = g.value
        if not self.name(v["id"]):
            return
        gid = v["id"].value
        options = v["options"].value
        lo = int(v["min"].value) if "min" in v else 0
        hi = int(v["max"].value) if "max" in v else len(options)
        if lo > hi or lo > len(options):
            self.error(Code.BAD_VALUE, g.span, f"group '{gid}' needs {lo} options but allows "
                       f"{min(hi, len(options))}")
            return
        ids: list[str] = []
        for o in options:
            oid = o.value["id"].value
            if oid in ids:
                self.error(Code.DUPLICATE_ID, o.value["id"].span, f"option '{oid}' is listed "
                           f"twice in group '{gid}'")
                return
            ids.append(oid)
        defaults = v.get("default")
        dflt = ([defaults.value] if defaults is not None and defaults.kind == "scalar" else
                [n.value for n in defaults.value] if defaults is not None else [])
        for d in dflt:
            if d not in ids:
                self.error(Code.UNKNOWN_NAME, defaults.span if defaults else g.span,
                           f"default '{d}' is not an option of group '{gid}'")
        single = hi == 1
        self.groups.append(Group(gid, lo, hi, tuple(ids), g.span, single))
        if single:
            if len(dflt) > 1:
                self.error(Code.BAD_VALUE, g.span, f"group '{gid}' takes one option: one default")
            for o in options:
                if "max_quantity" in o.value and o.value["max_quantity"].value != 1:
                    self.error(Code.BAD_VALUE, o.value["max_quantity"].span, "a quantity needs a "
                               "group that takes several options (max above 1)")
            domain: list[Any] = list(ids) + ([None] if lo == 0 else [])
            prices = [self.price(o.get("price")) for o in options] + (
                [Decimal(0)] if lo == 0 else [])
            boms = [_bom(o.get("bom")) for o in options] + ([()] if lo == 0 else [])
            spans = [o.span for o in options] + ([g.span] if lo == 0 else [])
            self.vars.append(Var(gid, "choice", gid, tuple(domain), tuple(prices), tuple(boms),
                                 dflt[0] if dflt else None, g.span, tuple(spans)))
            self.name_vars[gid] = (gid,)
            return
        vids = []
        for o in options:
            oid = o.value["id"].value
            maxq = int(o.value["max_quantity"].value) if "max_quantity" in o.value else 1
            price = self.price(o.get("price"))
            bom = _bom(o.get("bom"))
            qtys = tuple(range(maxq + 1))
            self.vars.append(Var(f"{gid}.{oid}", "option", gid, qtys,
                                 tuple(price * q for q in qtys),
                                 tuple(tuple(BomItem(b.item, b.quantity * q) for b in bom)
                                       if q else () for q in qtys),
                                 1 if oid in dflt else 0, o.span, tuple(o.span for _ in qtys)))
            vids.append(f"{gid}.{oid}")
        self.name_vars[gid] = tuple(vids)
        ones = tuple({q: Decimal(1 if q else 0) for q in x.domain} for x in self.vars
                     if x.id in vids)
        self.constraints.append(Constraint(
            gid, "sum", "group", f"group '{gid}' takes {_between(lo, hi)} options", g.span,
            tuple(vids), weights=ones, low=Decimal(lo) if lo else None,
            high=Decimal(hi) if hi < len(vids) else None))

    def feature(self, f: Node) -> None:
        v = f.value
        if not self.name(v["id"]):
            return
        fid, ftype = v["id"].value, v["type"].value
        values: list[Any] = []
        prices: list[Decimal] = []
        boms: list[tuple[BomItem, ...]] = []
        spans: list[Span] = []
        if ftype == "boolean" and "values" not in v:
            values, prices, boms, spans = [False, True], [Decimal(0)] * 2, [(), ()], [f.span] * 2
        elif "values" in v:
            for n in v["values"].value:
                val = n.value["value"] if n.kind == "map" else n
                values.append(val.value)
                prices.append(self.price(n.get("price")) if n.kind == "map" else Decimal(0))
                boms.append(_bom(n.get("bom")) if n.kind == "map" else ())
                spans.append(n.span)
        elif "min" in v and "max" in v:
            lo, hi = Decimal(v["min"].value), Decimal(v["max"].value)
            step = Decimal(v["step"].value) if "step" in v else Decimal(1)
            count = (hi - lo) / step
            if count > MAX_DOMAIN:
                self.error(Code.LIMIT, f.span, f"feature '{fid}' has more than {MAX_DOMAIN} "
                           "values", "list the values, or a larger step")
                return
            x = lo
            while x <= hi:
                values.append(x)
                x += step
            prices, boms, spans = [Decimal(0)] * len(values), [()] * len(values), \
                [f.span] * len(values)
        else:
            self.error(Code.SCHEMA, f.span, f"feature '{fid}' needs values, or min and max")
            return
        kinds = {"enum": str, "integer": Decimal, "decimal": Decimal, "boolean": bool}
        for val, span in zip(values, spans):
            if not isinstance(val, kinds[ftype]) or (ftype == "integer" and isinstance(
                    val, Decimal) and val != val.to_integral_value()):
                self.error(Code.BAD_VALUE, span, f"{render(val)!r} is not a value of type "
                           f"{ftype}")
                return
        if len(set(values)) != len(values):
            self.error(Code.DUPLICATE_ID, f.span, f"feature '{fid}' lists a value twice")
            return
        default = v["default"].value if "default" in v else None
        if default is not None and default not in values:
            self.error(Code.BAD_VALUE, v["default"].span, f"default {render(default)!r} is not "
                       f"a value of feature '{fid}'")
        self.features.append(Feature(fid, ftype, _text(v.get("unit")), f.span))
        self.vars.append(Var(fid, "feature", fid, tuple(values), tuple(prices), tuple(boms),
                             default, f.span, tuple(spans)))
        self.name_vars[fid] = (fid,)

    def ref(self, text: str, span: Span) -> tuple[str, Any] | None:
        """`GROUP.OPTION` as (variable, value when chosen: the option id, or None for any
        quantity above 0), or None when the text is not such a reference."""
        m = _REF.match(text)
        if not m or m.group(1) not in self.name_vars:
            return None
        gid, oid = m.group(1), m.group(2)
        group = next((g for g in self.groups if g.id == gid), None)
        if group is None:
            return None
        if oid not in group.options:
            self.error(Code.UNKNOWN_NAME, span, f"group '{gid}' has no option '{oid}'",
                       "options: " + ", ".join(group.options))
            return ("", None)
        return (gid, oid) if group.single else (f"{gid}.{oid}", None)

    def total(self, t: Node) -> None:
        v = t.value
        if not self.name(v["id"]):
            return
        tid = v["id"].value
        contrib = v["contributions"]
        per_var: dict[str, dict[Any, Decimal]] = {}
        for key, amount in contrib.value.items():
            r = self.ref(key, contrib.key_spans[key])
            if r is None:
                self.error(Code.UNKNOWN_NAME, contrib.key_spans[key], f"'{key}' is not "
                           "GROUP.OPTION", "a total adds amounts of chosen options")
                continue
            vid, val = r
            if not vid:
                continue
            var = next(x for x in self.vars if x.id == vid)
            w = per_var.setdefault(vid, {d: Decimal(0) for d in var.domain})
            for d in var.domain:
                if val is not None and d == val:
                    w[d] += Decimal(amount.value)
                elif val is None and d:
                    w[d] += Decimal(amount.value) * d
        scope = tuple(per_var)
        self.total_weights[tid] = tuple(per_var.items())
        self.name_vars[tid] = scope
        self.totals.append(Total(tid, _text(v.get("unit")), t.span))
        lo = Decimal(v["min"].value) if "min" in v else None
        hi = Decimal(v["max"].value) if "max" in v else None
        if lo is not None or hi is not None:
            unit = _text(v.get("unit"))
            msg = _text(v.get("message")) or f"total '{tid}' must stay " + " and ".join(
                x for x in (f"at least {render(lo)}{unit}" if lo is not None else "",
                            f"at most {render(hi)}{unit}" if hi is not None else "") if x)
            self.constraints.append(Constraint(tid, "sum", "total", msg, t.span, scope,
                                               weights=tuple(per_var.values()), low=lo,
                                               high=hi))

    # rules -------------------------------------------------------------------------------------
    def operand(self, node: Node, scope_names: set[str]) -> Callable[[dict[str, Any]], bool] | None:
        if isinstance(node.value, bool):
            const = node.value
            return lambda S: const
        text = str(node.value)
        r = self.ref(text, node.span)
        if r is not None:
            vid, oid = r
            if not vid:
                return None
            scope_names.add(vid)  # the option's variable only, not its whole group
            if oid is not None:
                return lambda S: bool(S[vid] == oid)
            return lambda S: bool(S[vid])
        return self.condition(node, text, scope_names)

    def condition(self, node: Node, text: str,
                  scope_names: set[str]) -> Callable[[dict[str, Any]], bool] | None:
        scope = Scope(frozenset(self.names), frozenset())
        e = compile_expr(text, node.span, scope, self.c.diags, 1 if node.quoted else 0,
                         condition=True)
        if e is None:
            self.ok = False
            return None
        scope_names |= names_in(text) & set(self.names)
        fn = e.fn
        return lambda S: truthy(fn(S, X))

    def rule(self, r: Node) -> None:
        v = r.value
        rid = v["id"].value
        if rid in self.rule_ids:
            self.error(Code.DUPLICATE_ID, v["id"].span, f"rule id '{rid}' is used twice "
                       f"(first at line {self.rule_ids[rid].line})")
            return
        self.rule_ids[rid] = r.span
        eff = v.get("effective")
        start = _date(self.c, eff.get("from")) if eff is not None else None
        until = _date(self.c, eff.get("until")) if eff is not None else None
        names: set[str] = set()
        antecedent: Callable[[dict[str, Any]], bool] | None = None
        pred: Callable[[dict[str, Any]], bool] | None
        if "constraint" in v:
            pred = self.condition(v["constraint"], str(v["constraint"].value), names)
            kind = "constraint"
        else:
            kind = next(k for k in ("requires", "implies", "excludes", "negates") if k in v)
            a_node, b_node = v[kind].value
            a = self.operand(a_node, names)
            b = self.operand(b_node, names)
            if a is None or b is None:
                return
            pred = SHORTHANDS[kind](a, b)
            if kind in ("implies", "requires"):
                antecedent = a
        if pred is None:
            return
        message = _text(v.get("message")) or f"rule '{rid}' ({kind}) does not hold"
        scope = tuple(dict.fromkeys(x for n in sorted(names)
                                    for x in self.name_vars.get(n, (n,))))
        evaluate = self.evaluator(scope, names)
        domains = [next(x for x in self.vars if x.id == vid).domain for vid in scope]
        size = 1
        for d in domains:
            size *= len(d)
        allowed: frozenset[tuple[Any, ...]] | None = None
        bites: frozenset[tuple[Any, ...]] | None = None
        check = holds(evaluate, pred)
        if size <= MAX_TUPLES:
            allowed = frozenset(t for t in itertools.product(*domains) if check(t))
            if antecedent is not None:
                bites = frozenset(t for t in itertools.product(*domains)
                                  if holds(evaluate, antecedent)(t))
        self.constraints.append(Constraint(rid, "tuples", "rule", message, r.span, scope,
                                           allowed, check, effective_from=start,
                                           effective_until=until, antecedent=bites))

    def evaluator(self, scope: tuple[str, ...],
                  names: set[str]) -> Callable[[tuple[Any, ...]], dict[str, Any]]:
        """Builds the expression scope `S` (name -> value) from a tuple of the scope's values."""
        pos = {vid: i for i, vid in enumerate(scope)}
        plans: list[tuple[str, str, Any]] = []
        for n in sorted(names):
            if n not in self.name_vars:  # an option's variable (GROUP.OPTION)
                plans.append((n, "one", pos[n]))
            elif n in self.total_weights:
                plans.append((n, "total", [(pos[vid], w) for vid, w in self.total_weights[n]]))
            elif self.name_vars[n] == (n,):
                plans.append((n, "one", pos[n]))
            else:
                plans.append((n, "many", [(pos[vid], vid.split(".", 1)[1])
                                          for vid in self.name_vars[n]]))

        def build(t: tuple[Any, ...]) -> dict[str, Any]:
            S: dict[str, Any] = {}
            for n, how, p in plans:
                if how == "one":
                    S[n] = t[p]
                elif how == "many":
                    S[n] = [oid for i, oid in p if t[i]]
                else:
                    S[n] = sum((w[t[i]] for i, w in p), Decimal(0))
            return S
        return build

    def table(self, t: Node) -> None:
        v = t.value
        tid = v["id"].value
        if tid in self.rule_ids:
            self.error(Code.DUPLICATE_ID, v["id"].span, f"id '{tid}' is used twice "
                       f"(first at line {self.rule_ids[tid].line})")
            return
        self.rule_ids[tid] = t.span
        cols: list[Var] = []
        for c in v["columns"].value:
            var = next((x for x in self.vars if x.id == c.value and x.kind != "option"), None)
            if var is None:
                self.error(Code.UNKNOWN_NAME, c.span, f"column '{c.value}' is not a one-of "
                           "group or a feature of the model")
                return
            cols.append(var)
        allowed = set()
        for row in v["rows"].value:
            if len(row.value) != len(cols):
                self.error(Code.TABLE_SHAPE, row.span, f"a row has {len(row.value)} cells; the "
                           f"table has {len(cols)} columns")
                continue
            values = []
            for cell, var in zip(row.value, cols):
                val = cell.value
                if val not in var.domain:
                    self.error(Code.BAD_VALUE, cell.span, f"{render(val)!r} is not a value of "
                               f"'{var.id}'")
                values.append(val)
            allowed.add(tuple(values))
        message = _text(v.get("message")) or f"the combination is not in table '{tid}'"
        self.constraints.append(Constraint(tid, "tuples", "table", message, t.span,
                                           tuple(x.id for x in cols), frozenset(allowed)))

    def build(self) -> ConfigModel | None:
        v = self.node.value
        for g in v["groups"].value if "groups" in v else []:
            self.group(g)
        for f in v["features"].value if "features" in v else []:
            self.feature(f)
        for t in v["totals"].value if "totals" in v else []:
            self.total(t)
        self.rule_ids: dict[str, Span] = {}
        for r in v["rules"].value if "rules" in v else []:
            self.rule(r)
        for t in v["tables"].value if "tables" in v else []:
            self.table(t)
        if not self.ok:
            return None
        return ConfigModel(v["model"].value, self.rel, self.node.span, v["currency"].value,
                           self.price(v["base_price"]), _bom(v.get("bom")), tuple(self.groups),
                           tuple(self.features), tuple(self.totals), tuple(self.vars),
                           tuple(self.constraints), self.total_weights,
                           _text(v.get("description")))


def _between(lo: int, hi: int) -> str:
    return f"exactly {lo}" if lo == hi else f"{lo} to {hi}"


def check_model(c: Any, rel: str, node: Node | None) -> ConfigModel | None:
    """Validates against configmodel.schema.json and compiles; diagnostics go to `c.diags`."""
    if node is None:
        return None
    if not c.validate(node, "configmodel"):
        return None
    model = _ModelBuilder(c, rel, node).build()
    if model is not None:
        from .analyse import analyse
        analyse(model, c.diags)
    return model
