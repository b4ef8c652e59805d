"""Invoices as values: a shipment's invoice, exact to the decision, composed from the order.

In: the decision's pricing, the order's lines (ordered and shipped quantities after the
shipment), what its invoices billed so far, the rule set's reference data (sellers, customers,
products, currencies) and the decided order. Out: the invoice document (a dict, JSON as
served) without its number; `add_billed` folds an issued invoice into what was billed. Pure: no
clock (the shipment's time is given), no storage.

A line's amount is its cumulative share, share(q) = round_half_up(net x q / ordered) for the
quantity shipped so far, less what earlier invoices billed for it; the same for its tax. The
order's charges go on its first invoice, and later invoices bill (or credit) what a change
order moved. So however an order is split into shipments and changed between them, its
invoices add up exactly to the current decision's subtotal, tax and total: the remainders of
rounding and of repricing land on the next invoice, no cent is lost or made.
"""
from __future__ import annotations

import re
from calendar import monthrange
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


def _places(reference: dict[str, Any], currency: str) -> Decimal:
    for row in reference.get("currencies") or []:
        if isinstance(row, dict) and row.get("code") == currency and row.get(
                "minor_unit") is not None:
            return Decimal(1).scaleb(-int(row["minor_unit"]))
    return Decimal("0.01")


def share(amount: Decimal, part: Decimal, whole: Decimal, q: Decimal) -> Decimal:
    if whole <= 0:
        return Decimal(0).quantize(q)
    return (amount * part / whole).quantize(q, ROUND_HALF_UP)


def _text(value: Any) -> str:
    """A reference or order value as text: numbers as written (a postcode 42331, not 42331.0)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).strip()


# (id of a reference table's rows, column) -> (the rows, {key text: first row}): an invoice
# looks up its customer, products and countries by key, and a scan per lookup cost ~150 calls
# per event on ACME. The entry holds the rows, so their id cannot be reused while it is kept.
_INDEXES: dict[tuple[int, str], tuple[list[Any], dict[str, dict[str, Any]]]] = {}
_INDEXES_MAX = 64


def _row(reference: dict[str, Any], table: str, column: str, key: Any) -> dict[str, Any]:
    """The first row of `table` whose `column` reads as `key` (as text), else {}."""
    if key is None:
        return {}
    rows = reference.get(table) or []
    cached = _INDEXES.get((id(rows), column))
    if cached is None or cached[0] is not rows:
        index: dict[str, dict[str, Any]] = {}
        for row in rows:
            if isinstance(row, dict):
                index.setdefault(_text(row.get(column)), row)
        if len(_INDEXES) >= _INDEXES_MAX:
            _INDEXES.clear()
        cached = _INDEXES[(id(rows), column)] = (rows, index)
    return cached[1].get(_text(key), {})


def _address(row: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    """street / city line / country name, the lines an address label shows (the city line as
    the country writes it: `Edison, NJ 08837` in North America, `Daventry NN11 8PQ` in Britain,
    `5928 PR Venlo` elsewhere)."""
    postal, town = _text(row.get("postal")), _text(row.get("city"))
    region, country = _text(row.get("region") or row.get("state")), _text(row.get("country"))
    if country in ("US", "CA"):
        city = f"{town}, {' '.join(x for x in (region, postal) if x)}".strip(", ")
    elif country == "GB":
        city = " ".join(x for x in (town, postal) if x)
    else:
        city = " ".join(x for x in (postal, town, region) if x)
    name = _text(_row(reference, "countries", "code", country).get("name")) or country
    return [x for x in (_text(row.get("street")), city, name) if x]


def seller_of(reference: dict[str, Any], country: str) -> dict[str, Any]:
    """The selling entity of the rule set's `seller` table for a buyer in `country`."""
    rows = [r for r in reference.get("seller") or [] if isinstance(r, dict)]
    row = next((r for r in rows if country and country in _text(r.get("serves")).split(";")),
               next((r for r in rows if _text(r.get("serves")) == "*"), {}))
    if not row:
        return {}
    return {"entity": _text(row.get("entity")), "name": _text(row.get("legal_name")),
            "address": _address(row, reference), "country": _text(row.get("country")),
            "tax_label": _text(row.get("tax_label")) or "VAT",
            "tax_id": _text(row.get("tax_id")), "registration": _text(row.get("registration")),
            "email": _text(row.get("email")), "bank": _text(row.get("bank"))}


def _object(value: Any) -> dict[str, Any]:
    """A JSON object of the order, or an empty one where the field is missing or not one."""
    return value if isinstance(value, dict) else {}


def buyer_of(reference: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    """The buyer: the account's row of `customers` (name, address, VAT number), else the
    order's bill-to (a guest)."""
    cust = _object(order.get("customer"))
    row = _row(reference, "customers", "id", cust.get("id")) or {}
    src = row or _object(order.get("bill_to")) or _object(order.get("ship_to"))
    return {"id": _text(cust.get("id")) or None,
            "name": _text(row.get("name") or src.get("name") or cust.get("name")),
            "address": _address(src, reference), "country": _text(src.get("country")),
            "vat_id": _text(row.get("vat_id") or cust.get("vat_id")) or None}


def due_date(terms: str, issued: date) -> date | None:
    """The date payment terms make an invoice due (None for terms it does not know)."""
    text = terms.strip().upper()
    if text in ("PREPAID", "COD"):
        return issued
    m = re.fullmatch(r"(?:\d+(?:\.\d+)?/\d+\s+)?NET\s*(\d+)", text)
    if m:
        return issued + timedelta(days=int(m.group(1)))
    m = re.fullmatch(r"EOM\s*\+\s*(\d+)", text)
    if m:
        end = issued.replace(day=monthrange(issued.year, issued.month)[1])
        return end + timedelta(days=int(m.group(1)))
    return None


def _terms_note(terms: str, issued: date) -> str:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)/(\d+)\s+NET\s*\d+", terms.strip().upper())
    if m:
        until = issued + timedelta(days=int(m.group(2)))
        return f"{m.group(1)}% discount if paid by {until.isoformat()}"
    return {"PREPAID": "paid in advance", "COD": "cash on delivery"}.get(
        terms.strip().upper(), "")


def _rate(taxes: Any) -> str:
    """A line's tax rate in percent as the decision wrote it ("19.0"; "5 + 7" for two taxes)."""
    rates = [_text(t.get("rate")) for t in taxes or [] if isinstance(t, dict)
             and t.get("rate") is not None]
    return " + ".join(rates)


def _charge_rate(amount: Decimal, tax: Decimal, order: dict[str, Any], q: Decimal) -> str:
    """A charge's tax rate: 0 when untaxed, the order's rate when it gives the charge's tax
    exactly, else unknown ("")."""
    if tax == 0:
        return "0"
    rate = (order.get("tax") or {}).get("rate") if isinstance(order.get("tax"), dict) else None
    if rate is not None:
        r = Decimal(_text(rate))
        if (amount * r / 100).quantize(q, ROUND_HALF_UP) == tax:
            return _text(rate)
    return ""


def new_billed() -> dict[str, dict[str, list[Decimal]]]:
    """What an order's invoices billed so far: per line [net, tax], per charge [amount, tax]."""
    return {"lines": {}, "charges": {}}


def copy_billed(billed: dict[str, dict[str, list[Decimal]]]) -> dict[str, Any]:
    return {k: {c: list(v) for c, v in part.items()} for k, part in billed.items()}


def add_billed(billed: dict[str, dict[str, list[Decimal]]], doc: dict[str, Any]) -> None:
    """Adds an invoice document to `billed`."""
    for ln in doc.get("lines") or []:
        got = billed["lines"].setdefault(str(ln["line_id"]), [Decimal(0), Decimal(0)])
        got[0] += Decimal(ln["net"])
        got[1] += Decimal(ln["tax"])
    for ch in doc.get("charges") or []:
        got = billed["charges"].setdefault(str(ch.get("code")), [Decimal(0), Decimal(0)])
        got[0] += Decimal(ch["amount"])
        got[1] += Decimal(ch["tax"])


def _charges_due(pricing: dict[str, Any], billed: dict[str, dict[str, list[Decimal]]],
                 first: bool, q: Decimal) -> list[tuple[Any, str, Decimal, Decimal]]:
    """(code, description, amount, tax) of the charges an invoice carries: every charge on
    the first invoice; afterwards what a change order moved (a charge added or changed for the
    difference, a charge dropped credited)."""
    if first:
        return [(ch.get("code"), _text(ch.get("reason")),
                 Decimal(str(ch.get("amount") or 0)).quantize(q),
                 Decimal(str(ch.get("tax") or 0)).quantize(q))
                for ch in pricing.get("charges") or []]
    now: dict[str, list[Any]] = {}
    for ch in pricing.get("charges") or []:
        got = now.setdefault(str(ch.get("code")), [ch.get("code"), _text(ch.get("reason")),
                                                   Decimal(0), Decimal(0)])
        got[2] += Decimal(str(ch.get("amount") or 0)).quantize(q)
        got[3] += Decimal(str(ch.get("tax") or 0)).quantize(q)
    out = []
    for code in list(now) + [c for c in billed["charges"] if c not in now]:
        raw, reason, amt, ctax = now.get(code) or [code, f"{code}: no longer charged",
                                                   Decimal(0).quantize(q), Decimal(0).quantize(q)]
        before = billed["charges"].get(code, [Decimal(0), Decimal(0)])
        if amt != before[0] or ctax != before[1]:
            out.append((raw, reason, amt - before[0], ctax - before[1]))
    return out


def compose(order_id: str, event_id: str, at: datetime, pricing: dict[str, Any],
            lines: dict[str, Any], shipped: list[tuple[str, Decimal]],
            reference: dict[str, Any], customer: Any, first: bool,
            order: dict[str, Any] | None = None,
            billed: dict[str, dict[str, list[Decimal]]] | None = None) -> dict[str, Any] | None:
    """The invoice of one shipment, without its number (`numbered` gives it one when the
    transaction takes the next number). `lines` holds each line's ordered and shipped quantities
    *after* this shipment; `first`: the order's first invoice (it carries the charges); `order`:
    the decided order (bill-to, payment terms, tax); `billed`: what the order's invoices so far
    billed (`add_billed`). None when the order has no pricing.

    A line's amount is its cumulative share now minus what was billed for it before, so after a
    change order (new quantities, new prices) the remainder lands on the next invoice: a line
    the shipment does not name is listed with quantity 0 when its share moved, and a charge
    the change added, changed or dropped is billed (or credited) for the difference."""
    if not pricing:
        return None
    order = order or {}
    billed = billed if billed is not None else new_billed()
    currency = str(pricing.get("currency") or "")
    q = _places(reference, currency)
    plines = {str(p.get("line_id")): p for p in pricing.get("lines") or []
              if isinstance(p, dict)}
    olines = {_text(ln.get("id")) or str(i + 1): ln
              for i, ln in enumerate(order.get("lines") or []) if isinstance(ln, dict)}
    out_lines, net_total, tax_total = [], Decimal(0), Decimal(0)
    rates: dict[str, list[Decimal]] = {}
    named = {lid for lid, _ in shipped}
    work = list(shipped) + [(lid, Decimal(0)) for lid in lines if lid not in named]
    done = copy_billed(billed)["lines"]  # billed so far, this invoice's lines included
    for lid, qty in work:
        p = plines.get(lid) or {}
        ln = lines[lid]
        ordered, now = Decimal(ln["ordered"]), Decimal(ln["shipped"])
        net, tax = Decimal(str(p.get("net") or 0)), Decimal(str(p.get("tax") or 0))
        before = done.setdefault(lid, [Decimal(0), Decimal(0)])
        n = share(net, now, ordered, q) - before[0]
        t = share(tax, now, ordered, q) - before[1]
        if lid not in named and n == 0 and t == 0:
            continue
        before[0] += n
        before[1] += t
        product = _row(reference, "products", "sku", ln.get("sku"))
        oline = olines.get(lid) or {}
        rate = _rate(p.get("taxes"))
        out_lines.append({"line_id": lid, "sku": ln.get("sku"),
                          "description": _text(product.get("name") or oline.get("description")),
                          "quantity": str(qty),
                          "unit": _text(oline.get("uom") or product.get("uom")) or None,
                          "unit_price": _text(p.get("list_price")) or None,
                          "discount_percent": _text(p.get("discount_percent")) or None,
                          "net": str(n), "tax_rate": rate, "tax": str(t)})
        net_total += n
        tax_total += t
        rates.setdefault(rate, [Decimal(0), Decimal(0)])
        rates[rate][0] += n
        rates[rate][1] += t
    charges = []
    for code, reason, amt, ctax in _charges_due(pricing, billed, first, q):
        rate = _charge_rate(amt, ctax, order, q)
        charges.append({"code": code, "description": reason,
                        "amount": str(amt), "tax_rate": rate, "tax": str(ctax)})
        net_total += amt
        tax_total += ctax
        rates.setdefault(rate, [Decimal(0), Decimal(0)])
        rates[rate][0] += amt
        rates[rate][1] += ctax
    if isinstance(customer, dict):
        customer = {k: str(customer[k]) for k in ("id", "name") if customer.get(k) is not None}
    else:
        customer = {"name": str(customer)} if customer is not None else {}
    buyer = buyer_of(reference, order)
    issued = at.date()
    payment = _object(order.get("payment"))
    acct = _row(reference, "customers", "id", buyer["id"]) or {}
    terms = _text(payment.get("terms") or acct.get("payment_terms"))
    due = due_date(terms, issued) if terms else None
    return {"number": None, "order_id": order_id, "event_id": event_id,
            "issued_at": at.isoformat().replace("+00:00", "Z"), "date": issued.isoformat(),
            "currency": currency, "customer": customer,
            "seller": seller_of(reference, buyer["country"]), "buyer": buyer,
            "payment": {"method": _text(payment.get("method")) or None, "terms": terms or None,
                        "due_date": due.isoformat() if due else None,
                        "note": _terms_note(terms, issued)},
            "lines": out_lines, "charges": charges,
            "taxes": [{"rate": r, "net": str(v[0].quantize(q)), "tax": str(v[1].quantize(q))}
                      for r, v in rates.items()],
            "net": str(net_total.quantize(q)), "tax": str(tax_total.quantize(q)),
            "total": str((net_total + tax_total).quantize(q))}
