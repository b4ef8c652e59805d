"""Billing: a numbered invoice per shipment, exact to the decision, and its PDF. The invoice
itself is composed by the core (engine/oms_billing.py); this module numbers, stores, reads and
draws it.

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
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ordinance.engine.oms_billing import (add_billed, buyer_of, compose, copy_billed, due_date,
                                          new_billed, seller_of, share)

from .models_orchestration import Invoice
from .store import NotFound

__all__ = ["add_billed", "buyer_of", "compose", "copy_billed", "due_date", "new_billed",
           "seller_of", "share", "numbered", "invoices_of", "invoice", "render_pdf"]


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
