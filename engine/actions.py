"""Actions (SPEC section 4): one class per action, registered with the phases it belongs to.

In: an action's YAML node; the `Compiler` (see ruleset.py) turns its parameters into compiled
expressions, texts with `{EXPR}` and paths. Out: an object whose `run(state)` takes effect on
the decision being built (state is state.State). A new action is one class here with its
`@action(...)` line and one entry in the pack schema.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .diagnostics import Code, Span
from .inline import AMOUNT_NAMES, LINE_LOCAL, expr_code
from .pricing import LIMIT, money, money_times, number, percent_of, tiered, times
from .templates import constant_text, order_level
from .values import D, RuleError, get, render, show, truthy

ACTIONS: dict[str, "ActionKind"] = {}


@dataclass(frozen=True)
class ActionKind:
    name: str
    phases: tuple[str, ...]
    per_line: bool | None  # True: needs for_each line; False: order level only; None: either
    cls: type
    doc: str
    example: str


def action(name: str, phases: tuple[str, ...], per_line: bool | None, doc: str,
           example: str) -> Callable[[type], type]:
    def register(cls: type) -> type:
        ACTIONS[name] = ActionKind(name, phases, per_line, cls, doc, example)
        return cls
    return register


_PATH = re.compile(r"^(order|customer|line)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)$")


def parse_path(text: str, c: Any, span: Span, for_each: bool) -> tuple[str, list[str]] | None:
    m = _PATH.match(text.strip()) if isinstance(text, str) else None
    if not m:
        c.diags.error(Code.BAD_VALUE, span, f"{text!r} is not a field path",
                      "write a path such as order.ship_to.country, customer.tier or line.uom")
        return None
    root = m.group(1)
    if root == "line" and not for_each:
        c.diags.error(Code.BAD_VALUE, span, f"'{text}' names the line, but the rule has no "
                      "for_each: line")
        return None
    return root, m.group(2)[1:].split(".")


def absolute_field(root: str, keys: list[str], line_index: int | None) -> str:
    if root == "line":
        return f"order.lines[{line_index}]." + ".".join(keys)
    if root == "customer":
        return "order.customer." + ".".join(keys)
    return "order." + ".".join(keys)


# --- defaulting ------------------------------------------------------------------------------

class Assign:
    overwrite = True

    def __init__(self, node: Any, c: Any):
        self.targets = []
        if node.kind != "map" or not node.value:
            c.diags.error(Code.SCHEMA, node.span, "expects a mapping of PATH: EXPR")
            return
        for key, vnode in node.value.items():
            path = parse_path(key, c, node.key_spans[key], c.for_each)
            expr = c.expr(vnode)
            if path and expr:
                self.targets.append((path[0], path[1], expr))

        # only a change of order.customer itself moves what `customer` names
        self.touches_customer = any(root == "order" and keys[0] == "customer"
                                    for root, keys, _ in self.targets)

    def run(self, st: Any) -> None:
        overwrite = self.overwrite
        S = st.S
        # the customer object stays the same unless a target replaces order.customer itself
        customer = None
        stable = not self.touches_customer
        for root, keys, expr in self.targets:
            if root == "line":
                obj = S["line"]
            elif root == "order":
                obj = st.order
            elif customer is not None and stable:
                obj = customer
            else:
                obj = customer = st.root_object(root)
            if len(keys) > 1:
                obj = self._walk(obj, root, keys)
            last = keys[-1]
            # `default` evaluates its value only when the field is missing or null
            if overwrite or obj.get(last) is None:
                obj[last] = expr.fn(S, st)
        if self.touches_customer:
            st.refresh_customer()

    def inline(self, name: str, bind: dict[str, Any]) -> list[str]:
        """`run` as statements of a pack's generated function (engine/packrun.py), for a call
        less per firing: the same targets in the same order, the same reads and writes. Every
        key and value function is bound by name under `name`; no user text enters the code."""
        out: list[str] = []
        stable = not self.touches_customer
        have_customer = False
        parent = None  # the (root, keys[:-1]) that `o` holds, when the last target left it
        shared = self._shared_lookups()
        for n in shared.values():
            out.append(f"{name}_pv{n} = ...")  # not looked up yet (no look-up gives ...)
        for t, (root, keys, expr) in enumerate(self.targets):
            p = expr.parent
            if p is not None and p.key in shared:
                n = shared[p.key]
                look = expr_code(p.fn, f"{name}_p{n}", bind)
                bind[f"{name}_f{t}"] = p.field
                bind["_dict"], bind["_get"] = dict, get
                value = (f"((tp.get({name}_f{t}) if (tp := ({name}_pv{n} if {name}_pv{n} "
                         f"is not ... else ({name}_pv{n} := {look}))).__class__ is _dict "
                         f"else _get(tp, {name}_f{t})))")
            else:
                value = expr_code(expr.fn, f"{name}_e{t}", bind)  # its code, or a call
            bind[f"{name}_l{t}"] = keys[-1]
            # targets one after the other under the same object (order.bill_to.name,
            # order.bill_to.city) walk to it once: writing a field of an object does not
            # move the object (values are expressions, which write nothing); a target whose
            # object could be replaced (`order.customer` itself) never shares a walk
            here = (root, tuple(keys[:-1]))
            if len(keys) > 1 and here == parent and stable:
                if self.overwrite:
                    out.append(f"o[{name}_l{t}] = {value}")
                else:
                    out.append(f"if o.get({name}_l{t}) is None:")
                    out.append(f"    o[{name}_l{t}] = {value}")
                continue
            parent = here if len(keys) > 1 else None
            if root == "line":
                obj = "line" if LINE_LOCAL in bind else "S['line']"
            elif root == "order":
                obj = "st.order"
            else:
                if not (have_customer and stable):
                    out.append(f"cu = st.root_object({name}_r{t})")
                    bind[f"{name}_r{t}"] = root
                    have_customer = True
                obj = "cu"
            if len(keys) > 1:
                bind[f"{name}_k{t}"] = keys
                bind[f"{name}_r{t}"] = root
                bind["_walk"] = Assign._walk
                walk = f"_walk({obj}, {name}_r{t}, {name}_k{t})"
                if len(keys) == 2:  # one object on the way: read inline when it is there
                    bind[f"{name}_o{t}"] = keys[0]
                    bind["_dict"] = dict
                    out.append(f"o = {obj}.get({name}_o{t})")
                    out.append("if o.__class__ is not _dict:")
                    out.append(f"    o = {walk}")
                    obj = ""
                else:
                    obj = walk
            if obj:
                out.append(f"o = {obj}")
            if self.overwrite:
                out.append(f"o[{name}_l{t}] = {value}")
            else:  # `default` evaluates its value only when the field is missing or null
                out.append(f"if o.get({name}_l{t}) is None:")
                out.append(f"    o[{name}_l{t}] = {value}")
        if self.touches_customer:
            out.append("st.refresh_customer()")
        return out

    def _shared_lookups(self) -> dict[str, int]:
        """The reference look-ups P (`ref.customers[customer.id]`) that two or more targets'
        values read a field of (`P.name`, `P.segment`), numbered: looked up once, on the first
        value that needs it (`default` evaluates a value only for a missing field). Only
        where no target of this action writes what P reads (its keys' paths, or an object
        holding them): a look-up then gives the same row at every target."""
        counts: dict[str, int] = {}
        reads: dict[str, frozenset[str]] = {}
        for _, _, expr in self.targets:
            if expr.parent is not None:
                counts[expr.parent.key] = counts.get(expr.parent.key, 0) + 1
                reads[expr.parent.key] = frozenset(map(_as_written, expr.parent.reads))
        written = [_as_written(".".join([root, *keys])) for root, keys, _ in self.targets]
        out: dict[str, int] = {}
        for key, n in counts.items():
            if n > 1 and not any(w == r or r.startswith(w + ".") or w.startswith(r + ".")
                                 for w in written for r in reads[key]):
                out[key] = len(out)
        return out

    @staticmethod
    def _walk(obj: dict[str, Any], root: str, keys: list[str]) -> dict[str, Any]:
        for k in keys[:-1]:
            nxt = obj.get(k)
            if nxt is None:
                nxt = obj[k] = {}
            elif nxt.__class__ is not dict:
                raise RuleError(f"cannot set {root}.{'.'.join(keys)}: '{k}' is "
                                f"{show(nxt)}, not an object")
            obj = nxt
        return obj


def _as_written(path: str) -> str:
    """A path as a target writes it, `order.customer.x` being `customer.x`."""
    return path[len("order."):] if path == "order.customer" or \
        path.startswith("order.customer.") else path


@action("default", ("defaulting",), None, "Sets each field only when it is missing or null.",
        "default: {order.currency: '\"EUR\"'}")
class Default(Assign):
    overwrite = False


@action("set", ("defaulting",), None, "Always sets each field.",
        "set: {order.channel: lower(order.channel)}")
class Set(Assign):
    overwrite = True


# --- validation and compliance -----------------------------------------------------------------

class _Violation:
    severity = "error"

    def __init__(self, node: Any, c: Any):
        self.code = c.template(c.need(node, "code"))
        msg = node.get("message")
        self.message = c.template(msg) if msg is not None else self.code
        fnode = node.get("field")
        self.field = None
        if fnode is not None:
            self.field = parse_path(str(fnode.value), c, fnode.span, c.for_each)

    def run(self, st: Any) -> None:
        field = None
        if self.field:
            field = absolute_field(self.field[0], self.field[1], st.line_index)
        st.violations.append({"rule": st.rule, "phase": st.phase, "code": self.code(st),
                              "severity": self.severity, "message": self.message(st),
                              "field": field})


@action("reject", ("validation", "compliance"), None,
        "An error violation: the order is rejected.",
        "reject: {code: QTY_POSITIVE, message: \"line {line.id}: quantity must be positive\", "
        "field: line.quantity}")
class Reject(_Violation):
    severity = "error"


@action("warn", ("validation", "compliance"), None,
        "A warning violation: reported, the status does not change.",
        "warn: {code: QTY_LARGE, message: \"line {line.id} orders {line.quantity}\"}")
class Warn(_Violation):
    severity = "warning"


@action("hold", ("compliance",), None, "Holds the order for review (status on_hold).",
        "hold: {code: DENIED_PARTY, reason: \"possible match for {customer.name}\"}")
class Hold:
    def __init__(self, node: Any, c: Any):
        self.code = c.template(c.need(node, "code"))
        reason = node.get("reason")
        self.reason = c.template(reason) if reason is not None else self.code

    def run(self, st: Any) -> None:
        st.holds.append({"rule": st.rule, "code": self.code(st), "reason": self.reason(st)})


# --- pricing --------------------------------------------------------------------------------------

# what the pricing actions' inline statements call (bound in the pack's function under these
# names, which no expression's code uses)
_PRICING_BINDINGS = {"_pr_D": D, "_pr_abs": abs, "_pr_LIMIT": LIMIT, "_pr_number": number,
                     "_pr_money": money, "_pr_money_times": money_times}


def once_per_run(code: str, var: str, bind: dict[str, Any]) -> str:
    """`code` evaluated once per run of the pack's function, on first need, and kept in the
    local `var` (which the pack sets to `...` as it starts: engine/packrun.py reads the names
    from `bind["_hoist"]`): for a value that reads only order data and reference tables,
    which outside defaulting no action changes while a pack runs. `...` is no value of the
    language, so it marks "not computed yet"."""
    bind.setdefault("_hoist", []).append(var)
    return f"({var} if {var} is not ... else ({var} := {code}))"


def _number_code(expr: Any, name: str, what: str, bind: dict[str, Any]) -> list[str]:
    """Statements binding `v` to the expression's value (its code written in; an order-level
    value once per pack run: these are pricing actions) and, when it is not null, checking
    it as `number(v, what)` does; the statements that use it follow, indented under the
    `if v is not None:` this ends with."""
    bind.update(_PRICING_BINDINGS)
    bind[f"{name}_w"] = what
    value = expr_code(expr.fn, f'{name}_e', bind)
    if expr.order_level:
        value = once_per_run(value, f"{name}_h", bind)
    if expr.amounts or expr.text.strip() in bind.get(AMOUNT_NAMES, ()):
        # a number within range, or null, whatever the order: a reference column's
        # (expressions.py), or a table output's, every value a literal (packrun.py)
        return [f"v = {value}", "if v is not None:"]
    return [f"v = {value}",
            "if v is not None:",
            "    if v.__class__ is not _pr_D or not v.is_finite() or _pr_abs(v) > _pr_LIMIT:",
            f"        _pr_number(v, {name}_w)"]


@action("list_price", ("pricing",), True, "Sets the line's unit list price; extended = list "
        "price x quantity.", "list_price: ref.prices[line.sku].unit_price")
class ListPrice:
    def __init__(self, node: Any, c: Any):
        self.expr = c.expr(node)

    def inline(self, name: str, bind: dict[str, Any]) -> list[str]:
        """`run` as statements of the pack's function (engine/packrun.py): the value's code
        written in, the same checks and the same call of the line's pricing."""
        return _number_code(self.expr, name, "list_price", bind) + [
            "    st.pricing.lines[st.line_index].set_list_price(v)"]

    def run(self, st: Any) -> None:
        v = self.expr.fn(st.S, st)
        if v is None:
            return
        if v.__class__ is not D or not v.is_finite() or abs(v) > LIMIT:
            number(v, "list_price")  # raises the error it names
        st.pricing.lines[st.line_index].set_list_price(v)


@action("tiered_price", ("pricing",), True, "Prices the line by quantity tiers: all_units "
        "(the tier the quantity falls in) or graduated (each band at its own price).",
        "tiered_price: {mode: graduated, tiers: [[0, 0.50], [100, 0.40]]}")
class TieredPrice:
    def __init__(self, node: Any, c: Any):
        mode = c.need(node, "mode")
        self.mode = mode.value if mode is not None else "all_units"
        if self.mode not in ("all_units", "graduated"):
            c.diags.error(Code.BAD_VALUE, mode.span, f"mode must be all_units or graduated, "
                          f"not {self.mode!r}")
        self.tiers = []
        tiers = c.need(node, "tiers")
        if tiers is not None:
            if tiers.kind != "seq" or not tiers.value:
                c.diags.error(Code.SCHEMA, tiers.span, "tiers is a list of [FROM_QTY, PRICE]")
                return
            for t in tiers.value:
                if t.kind != "seq" or len(t.value) != 2:
                    c.diags.error(Code.SCHEMA, t.span, "a tier is [FROM_QTY, UNIT_PRICE]")
                    continue
                self.tiers.append((c.expr(t.value[0]), c.expr(t.value[1])))

    def run(self, st: Any) -> None:
        lp = st.line_price()
        tiers = [(number(a.fn(st.S, st), "a tier's quantity"),
                  number(b.fn(st.S, st), "a tier's price")) for a, b in self.tiers]
        qty = lp.qty()
        extended = tiered(self.mode, tiers, qty, lp.places)
        lp.set_extended(extended, st.pricing.money(extended / qty) if qty else extended)


class _Adjust:
    kind = "discount"
    sign = -1

    def __init__(self, node: Any, c: Any):
        self.reason = c.template(node.get("reason")) if node.get("reason") else None
        self.forms = [k for k in ("percent", "amount", "amount_per_unit") if node.get(k)]
        if len(self.forms) != 1:
            c.diags.error(Code.SCHEMA, node.span, "give exactly one of percent, amount, "
                          "amount_per_unit")
            # the rule set does not compile, so this never runs; if it did, it would do nothing
            self.form, self.per_line = "amount", c.for_each
            self.expr = c.expr(None)
            self.value: D | None = None
            self.reason_text: str | None = ""
            return
        self.form = self.forms[0]
        if self.form == "amount_per_unit" and not c.for_each:
            c.diags.error(Code.SCHEMA, node.span, "amount_per_unit needs for_each: line")
        self.expr = c.expr(node.get(self.form))
        self.per_line = c.for_each
        # a literal number and a reason with no {EXPR} are known now: kept, not computed per
        # firing (an invalid literal is left to `run`, which names the error)
        e = self.expr
        self.value = e.value if e is not None and e.constant and e.value.__class__ is D \
            and e.value.is_finite() and abs(e.value) <= LIMIT else None
        self.reason_text = constant_text(self.reason) if self.reason else ""

    def inline(self, name: str, bind: dict[str, Any]) -> list[str] | None:
        """`run` as statements of the pack's function for a per-line adjustment: the same
        reads, checks and calls in the same order, the value's code written in (or kept when it
        is a literal), the reason kept when it has no {EXPR}. None (a call of `run`) for an
        order-level one."""
        if not self.per_line or self.expr is None:
            return None
        bind.update(_PRICING_BINDINGS)
        bind[f"{name}_k"] = self.kind
        out = []
        if self.value is not None:
            bind[f"{name}_v"] = self.value
            value = f"{name}_v"
        else:  # computed, checked as `run` checks it
            out += _number_code(self.expr, name, self.form, bind)
            value = "v"
        if self.reason_text is not None:
            bind[f"{name}_r"] = self.reason_text
            reason = f"{name}_r"
        else:
            bind[f"{name}_t"] = self.reason
            reason = "rs"
        body = self._inline_body(name, value, reason)
        if self.reason_text is None:
            body = [f"rs = {name}_t(st)"] + body
        if self.value is not None:
            return body
        return out + ["    " + text for text in body]

    def _inline_body(self, name: str, value: str, reason: str) -> list[str]:
        lower = self.sign < 0
        if self.form == "percent":
            call = f"lp.adjust_percent(st.rule, {name}_k, {value}, {lower}, {reason})"
            out = ["lp = st.pricing.lines[st.line_index]"]
        else:
            if self.form == "amount_per_unit":
                out = ["lp = st.pricing.lines[st.line_index]", "am = lp.quantity",
                       f"am = _pr_money_times({value}, am if am is not None else lp.qty(), "
                       "st.pricing.places)"]
            else:
                out = ["lp = st.pricing.lines[st.line_index]",
                       f"am = _pr_money({value}, st.pricing.places)"]
            call = f"lp.adjust(st.rule, {name}_k, {'-am' if lower else 'am'}, {reason})"
        return out + [f"if not {call}:", "    st.price_floor()"]

    def run(self, st: Any) -> None:
        v = self.value
        if v is None:
            v = self.expr.fn(st.S, st)
            if v is None:
                return
            if v.__class__ is not D or not v.is_finite() or abs(v) > LIMIT:
                number(v, self.form)  # raises the error it names
        reason = self.reason_text
        if reason is None and self.reason is not None:
            reason = self.reason(st)
        pricing = st.pricing
        if self.per_line:
            lp = pricing.lines[st.line_index]
            form = self.form
            if form == "percent":
                ok = lp.adjust_percent(st.rule, self.kind, v, self.sign < 0, reason)
            else:
                if form == "amount_per_unit":
                    q = lp.quantity
                    amount = money_times(v, q if q is not None else lp.qty(), pricing.places)
                else:
                    amount = money(v, pricing.places)
                ok = lp.adjust(st.rule, self.kind, -amount if self.sign < 0 else amount, reason)
        else:
            base = pricing.subtotal()
            amount = percent_of(base, v, pricing.places) if self.form == "percent" \
                else pricing.money(v)
            ok = pricing.spread(st.rule, self.kind, self.sign * amount, reason)
        if not ok:
            st.price_floor()


@action("discount", ("pricing",), None, "Lowers the line's running net (per line) or spreads an "
        "order-level amount over the lines by net; never below zero.",
        "discount: {percent: 5, reason: \"gold customer\"}")
class Discount(_Adjust):
    kind, sign = "discount", -1


@action("surcharge", ("pricing",), None, "Raises the net, like discount upward.",
        "surcharge: {amount: 2.00, reason: handling}")
class Surcharge(_Adjust):
    kind, sign = "surcharge", 1


@action("price_override", ("pricing",), True, "Sets the line's net to unit price x quantity; "
        "the difference is an adjustment of kind override.",
        "price_override: {unit_price: order.attributes.agreed_price, reason: contract}")
class PriceOverride:
    def __init__(self, node: Any, c: Any):
        self.expr = c.expr(c.need(node, "unit_price"))
        self.reason = c.template(node.get("reason")) if node.get("reason") else None

    def run(self, st: Any) -> None:
        v = self.expr.fn(st.S, st)
        if v is None:
            return
        lp = st.line_price()
        new_net = money(times(number(v, "unit_price"), lp.qty()), lp.places)
        lp.adjust(st.rule, "override", new_net - lp.net, self.reason(st) if self.reason else "")


@action("tax", ("pricing",), None, "A tax rate in percent of each line's final net; several "
        "taxes add up.", "tax: {rate: 'ref.vat[order.ship_to.country].rate', jurisdiction: DE}")
class Tax:
    def __init__(self, node: Any, c: Any):
        self.rate = c.expr(c.need(node, "rate"))
        j = node.get("jurisdiction")
        self.jurisdiction = c.template(j) if j is not None else None
        self.per_line = c.for_each

    def inline(self, name: str, bind: dict[str, Any]) -> list[str] | None:
        """`run` as statements of the pack's function, for a per-line tax (None: a call)."""
        if not self.per_line:
            return None
        bind[f"{name}_j"] = self.jurisdiction
        jurisdiction = f"({name}_j(st) or None)" if self.jurisdiction is not None else "None"
        if order_level(self.jurisdiction):
            jurisdiction = once_per_run(jurisdiction, f"{name}_jh", bind)
        return _number_code(self.rate, name, "tax rate", bind) + [
            f"    st.pricing.lines[st.line_index].add_tax(v, {jurisdiction}, st.rule)"]

    def run(self, st: Any) -> None:
        v = self.rate.fn(st.S, st)
        if v is None:
            return
        if v.__class__ is not D or not v.is_finite() or abs(v) > LIMIT:
            number(v, "tax rate")  # raises the error it names
        # a jurisdiction that renders empty ("{order.tax.jurisdiction}" of null) names none
        jurisdiction = (self.jurisdiction(st) or None) if self.jurisdiction is not None \
            else None
        if self.per_line:
            st.pricing.lines[st.line_index].add_tax(v, jurisdiction, st.rule)
        else:
            for lp in st.pricing.lines:
                lp.add_tax(v, jurisdiction, st.rule)


@action("recurring", ("pricing",), None, "A recurring charge (month or year, for a term), "
        "reported apart and not in the total.",
        "recurring: {amount: 49.00, period: month, term: 12}")
class Recurring:
    def __init__(self, node: Any, c: Any):
        self.amount = c.expr(c.need(node, "amount"))
        self.period = c.template(c.need(node, "period"))
        t = node.get("term")
        self.term = c.expr(t) if t is not None else None
        self.per_line = c.for_each

    def run(self, st: Any) -> None:
        v = self.amount.fn(st.S, st)
        if v is None:
            return
        period = self.period(st)
        if period not in ("month", "year"):
            raise RuleError(f"recurring period must be month or year, got {period!r}")
        term = self.term.fn(st.S, st) if self.term else None
        entry: dict[str, Any] = {"rule": st.rule}
        if self.per_line:
            lp = st.line_price()
            entry.update(line_id=lp.line_id, sku=lp.sku)
        entry.update(amount=st.pricing.money(number(v, "recurring amount")), period=period,
                     term=int(term) if term.__class__ is D else None)
        st.pricing.recurring.append(entry)


@action("charge", ("pricing",), None, "An order charge such as shipping; taxed only with "
        "tax_rate (its tax is reported in the charge and counted in tax_total).",
        "charge: {code: shipping, amount: 4.95, reason: small order}")
class Charge:
    def __init__(self, node: Any, c: Any):
        self.code = c.template(c.need(node, "code"))
        self.amount = c.expr(c.need(node, "amount"))
        self.reason = c.template(node.get("reason")) if node.get("reason") else None
        t = node.get("tax_rate")
        self.tax_rate = c.expr(t) if t is not None else None

    def run(self, st: Any) -> None:
        v = self.amount.fn(st.S, st)
        if v is None:
            return
        pricing = st.pricing
        entry: dict[str, Any] = {"rule": st.rule, "code": self.code(st),
                                 "amount": pricing.money(number(v, "charge amount"))}
        if self.reason:
            entry["reason"] = self.reason(st)
        if self.tax_rate is not None:
            rate = self.tax_rate.fn(st.S, st)
            if rate is not None:
                entry["tax"] = percent_of(entry["amount"], number(rate, "tax_rate"),
                                          pricing.places)
        pricing.add_charge(entry)


# --- sourcing and approval ------------------------------------------------------------------------

@action("source", ("sourcing",), True, "Allocates the line from candidate locations ranked by "
        "nearest, cheapest or an expression; split or not.",
        "source: {from: [WH-EAST, WH-WEST], prefer: nearest, split: true}")
class Source:
    def __init__(self, node: Any, c: Any):
        frm = c.need(node, "from")
        self.from_list: list[str] | None = None
        self.from_expr = None
        if frm is not None and frm.kind == "seq":
            self.from_list = [render(n.value) for n in frm.value]
        elif frm is not None:
            self.from_expr = c.expr(frm)
        prefer = node.get("prefer")
        self.prefer = "nearest"
        self.prefer_expr = None
        if prefer is not None:
            if prefer.value in ("nearest", "cheapest"):
                self.prefer = prefer.value
            else:
                self.prefer = "expr"
                self.prefer_expr = c.expr(prefer, allow_it=True)
        split = node.get("split")
        self.split = c.expr(split) if split is not None else None
        # a literal `split` is known now (None: computed per line)
        self.split_value = True if self.split is None else \
            truthy(self.split.value) if self.split.constant else None

    def run(self, st: Any) -> None:
        st.source_line(self)


@action("require_approval", ("approval",), None, "Requires an approval by a role at a level "
        "(1 by default).", "require_approval: {role: sales-manager, reason: deep discount}")
class RequireApproval:
    def __init__(self, node: Any, c: Any):
        self.role = c.template(c.need(node, "role"))
        r = node.get("reason")
        self.reason = c.template(r) if r is not None else None
        lv = node.get("level")
        self.level = c.expr(lv) if lv is not None else None
        # what is known now is kept (a literal whole level, texts with no {EXPR}); an invalid
        # literal level is left to `run`, which names the error
        e = self.level
        v = D(1) if e is None else e.value if e.constant else None
        self.level_int = int(v) if v.__class__ is D and v.is_finite() \
            and v == v.to_integral_value() and v >= 1 else None
        self.role_text = constant_text(self.role)
        self.reason_text = constant_text(self.reason) if self.reason else None

    def inline(self, name: str, bind: dict[str, Any]) -> list[str] | None:
        """`run` as one statement of the pack's function when the level, role and reason are
        known now (None: a call of `run`)."""
        if self.level_int is None or self.role_text is None or \
                (self.reason is not None and self.reason_text is None):
            return None
        bind[f"{name}_l"], bind[f"{name}_o"] = self.level_int, self.role_text
        bind[f"{name}_r"] = self.reason_text
        return [f"st.approvals.append({{'rule': st.rule, 'role': {name}_o, "
                f"'level': {name}_l, 'reason': {name}_r}})"]

    def run(self, st: Any) -> None:
        level = self.level_int
        if level is None:
            value = self.level.fn(st.S, st) if self.level is not None else D(1)
            if value.__class__ is not D or value != value.to_integral_value() or value < 1:
                raise RuleError("approval level must be a whole number from 1, got "
                                f"{show(value)}")
            level = int(value)
        role = self.role_text
        if role is None:
            role = self.role(st)
        reason = self.reason_text
        if reason is None and self.reason is not None:
            reason = self.reason(st)
        st.approvals.append({"rule": st.rule, "role": role, "level": level, "reason": reason})

