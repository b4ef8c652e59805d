"""Billing: a numbered invoice per shipment, exact to the decision, and its PDF.

Each `shipment_confirmed` event issues one invoice (INV-YYYY-NNNNNN, numbers without gaps in
issue order) in the event's transaction: the orchestrator composes it with the event and numbers
it last, just before the commit, under a lock on the numbering. A line's amount on an invoice is the difference of its
cumulative shares: share(q) = round_half_up(net x q / ordered) for the quantity shipped so far,
minus the same for what was shipped before; the same for its tax. The order's charges (and their
tax) go on its first invoice. So however an order is split into shipments, its invoices add up
exactly to the decision's subtotal, tax and total: no cent is lost or made.

`render_pdf(invoice)` draws the invoice with reportlab (installed); tests turn it into a picture
with pdftoppm (Debian's poppler-utils).
"""
from __future__ import annotations

import io
import json
from datetime import datetime
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


def compose(order_id: str, event_id: str, at: datetime, pricing: dict[str, Any],
            lines: dict[str, Any], shipped: list[tuple[str, Decimal]],
            reference: dict[str, Any], customer: Any, first: bool) -> dict[str, Any] | None:
    """The invoice of one shipment, without its number (`numbered` gives it one when the
    transaction takes the next number). `lines` holds each line's ordered and shipped quantities
    *after* this shipment; `first`: the order's first invoice (it carries the charges). None
    when the order has no pricing."""
    if not pricing:
        return None
    currency = str(pricing.get("currency") or "")
    q = _places(reference, currency)
    plines = {str(p.get("line_id")): p for p in pricing.get("lines") or []
              if isinstance(p, dict)}
    out_lines, net_total, tax_total = [], Decimal(0), Decimal(0)
    for lid, qty in shipped:
        p = plines.get(lid) or {}
        ln = lines[lid]
        ordered, now = Decimal(ln["ordered"]), Decimal(ln["shipped"])
        before = now - qty
        net, tax = Decimal(str(p.get("net") or 0)), Decimal(str(p.get("tax") or 0))
        n = share(net, now, ordered, q) - share(net, before, ordered, q)
        t = share(tax, now, ordered, q) - share(tax, before, ordered, q)
        out_lines.append({"line_id": lid, "sku": ln.get("sku"), "quantity": str(qty),
                          "net": str(n), "tax": str(t)})
        net_total += n
        tax_total += t
    charges = []
    if first:
        for ch in pricing.get("charges") or []:
            amt = Decimal(str(ch.get("amount") or 0)).quantize(q)
            ctax = Decimal(str(ch.get("tax") or 0)).quantize(q)
            charges.append({"code": ch.get("code"), "amount": str(amt), "tax": str(ctax)})
            net_total += amt
            tax_total += ctax
    if isinstance(customer, dict):
        customer = {k: str(customer[k]) for k in ("id", "name") if customer.get(k) is not None}
    else:
        customer = {"name": str(customer)} if customer is not None else {}
    return {"number": None, "order_id": order_id, "event_id": event_id,
            "issued_at": at.isoformat().replace("+00:00", "Z"), "currency": currency,
            "customer": customer, "lines": out_lines, "charges": charges,
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
    total = sum((Decimal(d["total"]) for d in docs), Decimal(0))
    return {"order_id": order_id, "invoices": docs, "total": str(total)}


def invoice(db: Any, number: str) -> dict[str, Any]:
    with db.session() as s:
        row = s.get(Invoice, number)
        if row is None:
            raise NotFound(f"no invoice {number!r}", code="INVOICE_NOT_FOUND")
        doc: dict[str, Any] = json.loads(row.document)
        return doc


def render_pdf(doc: dict[str, Any]) -> bytes:
    """The invoice as a one-page A4 PDF (reportlab)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setTitle(f"Invoice {doc['number']}")
    width, height = A4
    c.setFillGray(0.15)
    c.rect(0, height - 90, width, 90, stroke=0, fill=1)
    c.setFillGray(1)
    c.setFont("Helvetica-Bold", 24)
    c.drawString(40, height - 55, f"INVOICE {doc['number']}")
    c.setFillGray(0)
    c.setFont("Helvetica", 11)
    y = height - 120
    cust = doc.get("customer") or {}
    name = cust.get("name") or cust.get("id") if isinstance(cust, dict) else str(cust or "")
    for text in (f"Order {doc['order_id']}", f"Issued {doc['issued_at']}",
                 f"Customer {name or '-'}", f"Currency {doc['currency']}"):
        c.drawString(40, y, text)
        y -= 16
    y -= 10
    c.setFont("Helvetica-Bold", 11)
    for x, head in ((40, "Line"), (90, "SKU"), (260, "Quantity"), (360, "Net"), (460, "Tax")):
        c.drawString(x, y, head)
    c.line(40, y - 4, width - 40, y - 4)
    c.setFont("Helvetica", 11)
    rows = [(ln["line_id"], ln.get("sku") or "", ln["quantity"], ln["net"], ln["tax"])
            for ln in doc["lines"]]
    rows += [("", f"charge {ch['code']}", "", ch["amount"], ch["tax"]) for ch in doc["charges"]]
    for row in rows:
        y -= 18
        for x, text in zip((40, 90, 260, 360, 460), row):
            c.drawString(x, y, str(text))
    y -= 30
    c.line(300, y + 14, width - 40, y + 14)
    c.setFont("Helvetica-Bold", 12)
    for label, value in (("Net", doc["net"]), ("Tax", doc["tax"]), ("Total", doc["total"])):
        c.drawString(300, y, label)
        c.drawRightString(width - 40, y, f"{value} {doc['currency']}")
        y -= 18
    c.showPage()
    c.save()
    return buf.getvalue()
