"""Billing: a numbered invoice per shipment, exact to the decision, and its PDF.

Each `shipment_confirmed` event issues one invoice (INV-YYYY-NNNNNN, numbers without gaps in
issue order) in the event's transaction: the orchestrator composes it with the event and numbers
it last, just before the commit, under a lock on the numbering. A line's amount on an invoice is the difference of its
cumulative shares: share(q) = round_half_up(net x q / ordered) for the quantity shipped so far,
minus the same for what was shipped before; the same for its tax. The order's charges (and their
tax) go on its first invoice. So however an order is split into shipments, its invoices add up
exactly to the decision's subtotal, tax and total: no cent is lost or made.

The document is what a buyer's accounts department needs, fixed when the invoice is issued
(later reference data does not change an issued invoice): the seller (the rule set's `seller`
table: the selling entity whose `serves` lists the buyer's country, else the one serving `*`;
legal name, address, tax id, registration, bank), the buyer (the `customers` row of the order's
account: name, address, VAT number; else the order's bill-to), the invoice number and date (the
shipment's date), per line the description (`products`), quantity, unit price, discount, net,
tax rate and tax, a tax summary per rate, the totals in the invoice's one currency, the payment
method and terms (the decision's `order.payment.terms`, else the account's) and the due date
they give: `NETn` n days after the invoice date, `d/n NETm` m days (d% off within n), `EOM+n`
n days after the end of the invoice's month, `PREPAID` and `COD` on the invoice date.

`render_pdf(invoice)` draws it with reportlab (installed) on A4 pages; the PDF's creation date
is the invoice date (never the wall clock), so the same invoice gives the same bytes. Tests read
it as text (pdftotext) and as a picture (pdftoppm; Debian's poppler-utils).
"""
from __future__ import annotations

import io
import json
import re
from calendar import monthrange
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from .models_orchestration import Invoice
from .store import NotFound


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


def _row(reference: dict[str, Any], table: str, column: str, key: Any) -> dict[str, Any]:
    if key is None:
        return {}
    for row in reference.get(table) or []:
        if isinstance(row, dict) and _text(row.get(column)) == _text(key):
            return row
    return {}


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


def buyer_of(reference: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    """The buyer: the account's row of `customers` (name, address, VAT number), else the
    order's bill-to (a guest)."""
    cust = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    row = _row(reference, "customers", "id", cust.get("id"))
    src = row or (order.get("bill_to") if isinstance(order.get("bill_to"), dict) else {}) or \
        (order.get("ship_to") if isinstance(order.get("ship_to"), dict) else {})
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
    payment = order.get("payment") if isinstance(order.get("payment"), dict) else {}
    acct = _row(reference, "customers", "id", buyer["id"])
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


def numbered(doc: dict[str, Any], seq: int, at: datetime) -> dict[str, Any]:
    """Gives the invoice number `seq` (INV-YYYY-NNNNNN); the row to insert into orch_invoices."""
    doc["number"] = number = f"INV-{at.year}-{seq:06d}"
    return {"number": number, "seq": seq, "order_id": doc["order_id"],
            "event_id": doc["event_id"], "currency": doc["currency"], "total": doc["total"],
            "document": json.dumps(doc), "issued_at": at}


def invoices_of(db: Any, order_id: str) -> dict[str, Any]:
    with db.session() as s:
        rows = s.scalars(select(Invoice).where(Invoice.order_id == order_id)
                         .order_by(Invoice.seq)).all()
        docs = [json.loads(r.document) for r in rows]
    totals: dict[str, Decimal] = {}
    for d in docs:  # an order has one currency; kept per currency all the same, never mixed
        totals[d["currency"]] = totals.get(d["currency"], Decimal(0)) + Decimal(d["total"])
    out: dict[str, Any] = {"order_id": order_id, "invoices": docs,
                           "totals": [{"currency": c, "total": str(t)}
                                      for c, t in sorted(totals.items())]}
    if len(totals) == 1:
        ((out["currency"], total),) = totals.items()
        out["total"] = str(total)
    return out


def invoice(db: Any, number: str) -> dict[str, Any]:
    with db.session() as s:
        row = s.get(Invoice, number)
        if row is None:
            raise NotFound(f"no invoice {number!r}", code="INVOICE_NOT_FOUND")
        doc: dict[str, Any] = json.loads(row.document)
        return doc


def _fit(text: str, font: str, size: float, width: float) -> str:
    """`text` cut (with an ellipsis) to fit `width` points."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "...", font, size) > width:
        text = text[:-1]
    return text + "..."


# the line table: (header, x, right-aligned?, width): description left, figures right
COLUMNS = (("Description", 40, False, 200), ("Qty", 290, True, 45), ("Unit price", 350, True, 58),
           ("Disc. %", 392, True, 40), ("Net", 458, True, 64), ("Tax %", 500, True, 40),
           ("Tax", 555, True, 54))


def render_pdf(doc: dict[str, Any]) -> bytes:
    """The invoice as an A4 PDF (reportlab; more pages when the lines need them). Its creation
    and modification dates are the invoice's issue time, so it renders to the same bytes."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    issued = datetime.fromisoformat(str(doc["issued_at"]).replace("Z", "+00:00"))
    stamp = issued.strftime("D:%Y%m%d%H%M%S+00'00'")
    c.setDateFormatter(lambda *_: stamp)
    seller, buyer = doc.get("seller") or {}, doc.get("buyer") or {}
    pay = doc.get("payment") or {}
    cur = doc["currency"]
    c.setTitle(f"Invoice {doc['number']}")
    c.setSubject(f"Invoice {doc['number']} for order {doc['order_id']}")
    c.setAuthor(seller.get("name") or "")
    c.setCreator("Ordinance")
    width, height = A4

    page = [0]

    def band() -> None:
        if page[0]:  # the page before: its footer, then a new page
            footer(last=False)
            c.showPage()
        page[0] += 1
        c.setFillGray(0.15)
        c.rect(0, height - 70, width, 70, stroke=0, fill=1)
        c.setFillGray(1)
        c.setFont("Helvetica-Bold", 22)
        c.drawString(40, height - 45, "INVOICE")
        c.setFont("Helvetica", 12)
        c.drawRightString(width - 40, height - 32, seller.get("name") or "")
        c.drawRightString(width - 40, height - 50, f"No. {doc['number']}")
        c.setFillGray(0)

    def block(x: float, y: float, title: str, rows: list[str], bold: str = "") -> float:
        c.setFont("Helvetica-Bold", 8)
        c.setFillGray(0.4)
        c.drawString(x, y, title.upper())
        c.setFillGray(0)
        y -= 13
        if bold:
            c.setFont("Helvetica-Bold", 10)
            c.drawString(x, y, _fit(bold, "Helvetica-Bold", 10, 250))
            y -= 12
        c.setFont("Helvetica", 9)
        for r in rows:
            c.drawString(x, y, _fit(r, "Helvetica", 9, 250))
            y -= 11
        return y

    def footer(last: bool) -> None:
        c.setFont("Helvetica", 7)
        c.setFillGray(0.4)
        c.drawCentredString(width / 2, 30, " | ".join(x for x in (
            seller.get("name"), *seller.get("address", []), tax_line,
            seller.get("registration")) if x))
        c.drawRightString(width - 40, 18, f"{doc['number']} page {page[0]}"
                          + ("" if last else ", continued"))
        c.setFillGray(0)

    def head(y: float) -> float:
        c.setFont("Helvetica-Bold", 9)
        for label, x, right, _w in COLUMNS:
            (c.drawRightString if right else c.drawString)(x, y, label)
        c.line(40, y - 4, width - 40, y - 4)
        return y - 17

    tax_line = f"{seller.get('tax_label', 'VAT')} {seller['tax_id']}" if seller.get(
        "tax_id") else ""
    band()
    y1 = block(40, height - 92, "From", [*seller.get("address", []), tax_line,
                                          seller.get("registration", "")], seller.get("name", ""))
    details = [("Invoice number", doc["number"]), ("Invoice date", doc.get("date") or
                                                   doc["issued_at"][:10]),
               ("Order", doc["order_id"]), ("Customer no.", buyer.get("id") or "-"),
               ("Currency", cur), ("Payment method", pay.get("method") or "-"),
               ("Terms", pay.get("terms") or "-"), ("Due date", pay.get("due_date") or "-")]
    y2 = height - 92
    for label, value in details:
        c.setFont("Helvetica", 9)
        c.drawString(330, y2, label)
        c.setFont("Helvetica-Bold", 9)
        c.drawRightString(width - 40, y2, str(value))
        y2 -= 12
    name = buyer.get("name")
    if not name:  # an invoice issued before buyers were recorded
        cust = doc.get("customer") or {}
        name = cust.get("name") or cust.get("id") or "-"
    y3 = block(40, min(y1, y2) - 12, "Bill to", [
        *buyer.get("address", []),
        f"VAT number {buyer['vat_id']}" if buyer.get("vat_id") else ""], name)
    y = head(y3 - 14)
    rows = [(f"{ln.get('description') or ln.get('sku') or ''}"
             f"{' (' + ln['sku'] + ')' if ln.get('sku') and ln.get('description') else ''}",
             f"{ln['quantity']} {ln.get('unit') or ''}".strip(), ln.get("unit_price") or "",
             ln.get("discount_percent") or "", ln["net"], ln.get("tax_rate") or "", ln["tax"])
            for ln in doc["lines"]]
    rows += [(ch.get("description") or f"charge {ch['code']}", "", "", "", ch["amount"],
              ch.get("tax_rate") or "", ch["tax"]) for ch in doc["charges"]]
    for row in rows:
        if y < 150:
            band()
            y = head(height - 100)
        c.setFont("Helvetica", 9)
        for (_label, x, right, w), text in zip(COLUMNS, row):
            if right:
                c.drawRightString(x, y, str(text))
            else:
                c.drawString(x, y, _fit(str(text), "Helvetica", 9, w + 40))
        y -= 14
    c.line(40, y + 8, width - 40, y + 8)
    if y < 200:
        band()
        y = height - 100
    # tax summary per rate, then the totals, all in the invoice's one currency
    y -= 10
    ys = y
    c.setFont("Helvetica-Bold", 8)
    c.drawString(40, ys, f"TAX SUMMARY ({cur})")
    ys -= 12
    for label, x in (("Rate %", 90), ("Net", 170), ("Tax", 240)):
        c.drawRightString(x, ys, label)
    c.setFont("Helvetica", 9)
    for tx in doc.get("taxes") or []:
        ys -= 12
        for value, x in ((tx["rate"] or "-", 90), (tx["net"], 170), (tx["tax"], 240)):
            c.drawRightString(x, ys, value)
    for label, value, font in (("Net", doc["net"], "Helvetica"), ("Tax", doc["tax"],
                                                                   "Helvetica"),
                               (f"Total {cur}", doc["total"], "Helvetica-Bold")):
        c.setFont(font, 11)
        c.drawString(380, y, label)
        c.drawRightString(width - 40, y, f"{value} {cur}")
        y -= 16
    c.line(380, y + 12, width - 40, y + 12)
    y = min(y, ys) - 24
    c.setFont("Helvetica-Bold", 9)
    c.drawString(40, y, "Payment")
    c.setFont("Helvetica", 9)
    terms = str(pay.get("terms") or "")
    upfront = terms.upper() in ("PREPAID", "COD")
    if not terms:
        due = ""
    elif upfront:
        due = f"Terms {terms}: {pay.get('note') or terms}" + (
            f" ({pay['method']})" if pay.get("method") else "")
    else:
        due = f"Terms {terms}" + (f" ({pay['note']})" if pay.get("note") else "") + (
            f": please pay {doc['total']} {cur} by {pay['due_date']}"
            if pay.get("due_date") else "")
    notes = [due, f"Pay to {seller['bank']}, quoting {doc['number']}"
             if seller.get("bank") and not upfront else "",
             f"Questions: {seller['email']}" if seller.get("email") else ""]
    for note in (n for n in notes if n):
        y -= 12
        c.drawString(40, y, _fit(note, "Helvetica", 9, width - 80))
    footer(last=True)
    c.showPage()
    c.save()
    return buf.getvalue()
