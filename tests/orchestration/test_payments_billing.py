"""A web order paid by card over HTTP: authorise, ship in two parts with an invoice each, capture
per invoice, the ledger reconciling to the decision's total; declines, timeouts, idempotency;
the invoice PDF rendered and looked at as a picture (pdftoppm from poppler-utils)."""
from __future__ import annotations

import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any


from tests.conftest import need


def pay(orch: Any, oid: str, expect: int = 200, **body: Any) -> dict[str, Any]:
    r = orch.http("evaluator").post(f"/v1/orders/{oid}/payments", json=body)
    assert r.status_code == expect, r.text
    return r.json()


def test_card_order_shipped_in_two_parts_invoiced_and_captured_exactly(
        orch: Any, tmp_path: Path) -> None:
    view = orch.order("WEB-1")
    pricing = view["decision"]["pricing"]
    total = Decimal(pricing["total"])
    a = pay(orch, "WEB-1", action="authorise", amount=str(total), idempotency_key="auth-1",
            token="tok_visa")
    assert (a["status"], a["kind"], a["method"]) == ("approved", "authorise", "card")
    assert pay(orch, "WEB-1", action="authorise", amount=str(total),
               idempotency_key="auth-1", token="tok_visa")["duplicate"] is True
    r = pay(orch, "WEB-1", 409, action="authorise", amount="1.00", idempotency_key="auth-2")
    assert r["error"]["code"] == "OVER_TOTAL"
    orch.event("WEB-1", "s", "scheduled")
    orch.event("WEB-1", "r", "released")
    one = orch.event("WEB-1", "p1", "shipment_confirmed",
                     lines=[{"line_id": "1", "quantity": 3}, {"line_id": "2", "quantity": 5}])
    two = orch.event("WEB-1", "p2", "shipment_confirmed", lines=[{"line_id": "1", "quantity": 7}])
    (n1,), (n2,) = one["invoices"], two["invoices"]
    assert int(n2[-6:]) == int(n1[-6:]) + 1 and n1.startswith("INV-2026-")
    inv = orch.http("evaluator").get("/v1/orders/WEB-1/invoices").json()
    docs = inv["invoices"]
    assert [d["number"] for d in docs] == [n1, n2]
    assert Decimal(inv["total"]) == total  # the invoices add up to the decision exactly
    assert inv["totals"] == [{"currency": pricing["currency"], "total": inv["total"]}]
    assert inv["currency"] == pricing["currency"]
    assert sum(Decimal(d["net"]) for d in docs) == Decimal(pricing["subtotal"]) + Decimal(
        pricing["charges_total"])
    assert docs[0]["charges"] and not docs[1]["charges"]
    for d in docs:
        cap = pay(orch, "WEB-1", action="capture", amount=d["total"],
                  idempotency_key=f"cap-{d['number']}")
        assert cap["status"] == "approved"
    r = pay(orch, "WEB-1", 409, action="capture", amount="0.01", idempotency_key="cap-x")
    assert r["error"]["code"] in ("OVER_TOTAL", "OVER_AUTHORISED")
    bal = orch.http("evaluator").get("/v1/orders/WEB-1/payments").json()
    assert (Decimal(bal["captured"]), Decimal(bal["outstanding"])) == (total, Decimal(0))
    kinds = [e["kind"] for e in orch.timeline("WEB-1")["entries"]]
    assert kinds.count("invoice") == 2
    events = [e["cause"] for e in orch.timeline("WEB-1")["entries"] if e["kind"] == "event"]
    assert events.count("payment_captured") == 2 and "payment_authorised" in events
    # refund part of it: bounded by what was captured; the balance follows
    pay(orch, "WEB-1", action="refund", amount="10.00", idempotency_key="ref-1")
    bal = orch.http("evaluator").get("/v1/orders/WEB-1/payments").json()
    assert Decimal(bal["paid"]) == total - 10 and Decimal(bal["outstanding"]) == 10
    r = pay(orch, "WEB-1", 409, action="refund", amount=str(total), idempotency_key="ref-2")
    assert r["error"]["code"] == "OVER_CAPTURED"

    pdf = orch.http("evaluator").get(f"/v1/invoices/{n1}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    need(shutil.which("pdftoppm") is not None,
         "pdftoppm (Debian's poppler-utils; make test installs it)")
    (tmp_path / "inv.pdf").write_bytes(pdf.content)
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-singlefile", str(tmp_path / "inv.pdf"),
                    str(tmp_path / "inv")], check=True)
    from PIL import Image

    img = Image.open(tmp_path / "inv.png").convert("L")
    w, h = img.size
    assert 0.68 < w / h < 0.73  # A4 portrait
    band = img.crop((0, 0, w, int(h * 0.08)))
    assert sum(band.getdata()) / (band.width * band.height) < 80  # the dark title band
    body = img.crop((0, int(h * 0.12), w, int(h * 0.45)))
    dark = sum(1 for p in body.getdata() if p < 128)
    assert dark > 200  # text drawn: lines, quantities, totals
    text = subprocess.run(["pdftotext", str(tmp_path / "inv.pdf"), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert n1 in text and docs[0]["total"] in text


def test_declines_hold_the_order_timeouts_retry_and_bad_requests(orch: Any) -> None:
    orch.order("PAY-2")
    for i in range(3):
        d = pay(orch, "PAY-2", action="authorise", amount="5.00",
                idempotency_key=f"try-{i}", token="tok_decline")
        assert d["status"] == "declined"
    assert orch.timeline("PAY-2")["state"] == "on_hold"
    r = pay(orch, "PAY-2", 409, action="authorise", amount="5.00", idempotency_key="t",
            token="tok_timeout")
    assert r["error"]["code"] == "PROVIDER_TIMEOUT"
    ok = pay(orch, "PAY-2", action="authorise", amount="5.00", idempotency_key="t",
             token="tok_timeout")
    assert ok["status"] == "approved"
    assert orch.timeline("PAY-2")["state"] == "captured"  # the authorisation released the hold
    r = pay(orch, "PAY-2", 409, action="authorise", amount="6.00", idempotency_key="t")
    assert r["error"]["code"] == "PAYMENT_KEY_REUSED"
    c = orch.http("evaluator")
    for body, path in (({"action": "steal", "amount": "1", "idempotency_key": "k"}, "$.action"),
                       ({"action": "capture", "amount": "1.001", "idempotency_key": "k"},
                        "$.amount"),
                       ({"action": "capture", "amount": "-1", "idempotency_key": "k"},
                        "$.amount"),
                       ({"action": "capture", "amount": "1"}, "$.idempotency_key")):
        r = c.post("/v1/orders/PAY-2/payments", json=body)
        assert r.status_code == 422 and r.json()["error"]["path"] == path, r.text
    assert c.post("/v1/orders/NOPE/payments", json={
        "action": "capture", "amount": "1", "idempotency_key": "k"}).status_code == 404
    assert c.get("/v1/invoices/INV-0000-000000").status_code == 404


def test_web_order_paid_by_card_shipped_in_two_parts_and_returned_in_part(orch: Any) -> None:
    view = orch.order("RET-1", lines=[{"id": "1", "sku": "HTL-0001", "quantity": 10},
                                      {"id": "2", "sku": "FAS-0002", "quantity": 4}])
    pricing = view["decision"]["pricing"]
    total = pricing["total"]
    pay(orch, "RET-1", action="authorise", amount=total, idempotency_key="a", token="tok_visa")
    orch.event("RET-1", "s", "scheduled")
    orch.event("RET-1", "r", "released")
    orch.event("RET-1", "p1", "shipment_confirmed", lines=[{"line_id": "1", "quantity": 6}])
    c = orch.http("evaluator")
    r = c.post("/v1/orders/RET-1/returns", json={"id": "rma-0", "lines": [
        {"line_id": "1", "quantity": 7}]})
    assert r.status_code == 409 and r.json()["error"]["path"] == "$.lines[0].quantity"
    orch.event("RET-1", "p2", "shipment_confirmed",
               lines=[{"line_id": "1", "quantity": 4}, {"line_id": "2", "quantity": 4}])
    orch.event("RET-1", "d", "delivered")
    pay(orch, "RET-1", action="capture", amount=total, idempotency_key="c")
    loc = next(iter(orch.timeline("RET-1")["lines"]["1"]["allocations"]))
    before = orch.http("analyst").get(f"/v1/stock/{loc}/HTL-0001").json()
    net1 = Decimal(next(ln["net"] for ln in pricing["lines"] if ln["line_id"] == "1"))
    tax1 = Decimal(next(ln["tax"] for ln in pricing["lines"] if ln["line_id"] == "1"))
    r = c.post("/v1/orders/RET-1/returns", json={"id": "rma-1", "lines": [
        {"line_id": "1", "quantity": 2, "condition": "opened"},
        {"line_id": "1", "quantity": 1, "condition": "damaged"}]})
    assert r.status_code == 200, r.text
    rma = r.json()
    cent = Decimal("0.01")
    two = (net1 * 2 / 10).quantize(cent)
    opened = rma["lines"][0]
    assert Decimal(opened["net"]) == two
    assert Decimal(opened["restocking_fee"]) == (two * Decimal("0.10")).quantize(cent)
    assert Decimal(opened["refund"]) == two + (tax1 * 2 / 10).quantize(cent) - Decimal(
        opened["restocking_fee"])
    assert rma["lines"][1]["refund"] == "0.00" and rma["lines"][1]["restocked_at"] is None
    assert rma["refund_status"] == "refunded" and rma["state"] == "delivered"
    bal = c.get("/v1/orders/RET-1/payments").json()
    assert Decimal(bal["refunded"]) == Decimal(rma["refund"])
    assert Decimal(bal["paid"]) == Decimal(total) - Decimal(rma["refund"])
    after = orch.http("analyst").get(f"/v1/stock/{loc}/HTL-0001").json()
    assert Decimal(after["on_hand"]) == Decimal(before["on_hand"]) + 2  # the damaged one not
    again = c.post("/v1/orders/RET-1/returns", json={"id": "rma-1", "lines": [
        {"line_id": "1", "quantity": 2, "condition": "opened"},
        {"line_id": "1", "quantity": 1, "condition": "damaged"}]}).json()
    assert again["duplicate"] is True
    assert Decimal(c.get("/v1/orders/RET-1/payments").json()["refunded"]) == Decimal(
        rma["refund"])
    r = c.post("/v1/orders/RET-1/returns", json={"id": "rma-2", "lines": [
        {"line_id": "1", "quantity": 1, "condition": "broken"}]})
    assert r.status_code == 422 and r.json()["error"]["path"] == "$.lines[0].condition"
    orch.clock.advance(timedelta(days=45))
    r = c.post("/v1/orders/RET-1/returns", json={"id": "rma-3", "lines": [
        {"line_id": "2", "quantity": 1}]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "RETURN_WINDOW_CLOSED"
    orch.clock.set("2026-11-20T09:00:00Z")
    kinds = [e["kind"] for e in orch.timeline("RET-1")["entries"]]
    assert kinds.count("return") == 1 and kinds.count("invoice") == 2


def _european(orch: Any, oid: str, method: str) -> dict[str, Any]:
    """A web order of a German account (C-00006) paid by METHOD, decided and captured."""
    view = orch.order(oid, customer={"id": "C-00006"}, currency="EUR", payment={"method": method},
                      ship_to={"street": "Hauptstr. 1", "city": "Frankfurt", "country": "DE",
                               "postal": "60311"},
                      lines=[{"id": "1", "sku": "HTL-0001", "quantity": 3}])
    assert view["decision"]["status"] == "accepted", view["decision"]["violations"]
    assert view["decision"]["order"]["payment"]["method"] == method
    return view


def test_bank_transfer_and_cash_on_delivery_are_paid_in_the_rule_sets_words(orch: Any) -> None:
    """The rule set says bank-transfer and cod (reference/payment_methods.csv); the ledger takes
    the same words: both are paid on receipt (a capture, no authorisation)."""
    for oid, method in (("PM-BT", "bank-transfer"), ("PM-COD", "cod")):
        view = _european(orch, oid, method)
        total = view["decision"]["pricing"]["total"]
        r = pay(orch, oid, 409, action="authorise", amount=total, idempotency_key="a")
        assert r["error"]["code"] == "NOT_AUTHORISABLE"
        half = (Decimal(total) / 2).quantize(Decimal("0.01"))
        one = pay(orch, oid, action="capture", amount=str(half), idempotency_key="c1")
        two = pay(orch, oid, action="capture", amount=str(Decimal(total) - half),
                  idempotency_key="c2")
        assert (one["status"], one["method"], two["status"]) == ("approved", method, "approved")
        bal = orch.http("evaluator").get(f"/v1/orders/{oid}/payments").json()
        assert (bal["captured"], bal["outstanding"], bal["currency"]) == (total, "0.00", "EUR")
        r = pay(orch, oid, 409, action="capture", amount="0.01", idempotency_key="c3")
        assert r["error"]["code"] == "OVER_TOTAL"
        events = [e["cause"] for e in orch.timeline(oid)["entries"] if e["kind"] == "event"]
        assert events.count("payment_captured") == 2


def test_the_ledger_refuses_a_method_its_rule_set_does_not_name(orch: Any,
                                                                 tmp_path: Path) -> None:
    """A rule set whose packs let any method through (its own business): the ledger still
    takes only the methods of its payment_methods table, and says which (409: the request is
    well formed, the stored order cannot take it)."""
    from tests.orchestration.conftest import ACME
    from svc_helpers import archive

    lax = tmp_path / "lax"
    shutil.copytree(ACME, lax)
    pack = lax / "packs" / "24-credit-and-payment.yaml"
    text = pack.read_text(encoding="utf-8")
    check = "order.payment.method == null or ref.payment_methods[order.payment.method] != null"
    assert check in text
    pack.write_text(text.replace(check, '"true"'), encoding="utf-8")  # every method known
    admin = orch.http("admin")
    r = admin.post("/v1/rulesets", content=archive(lax),
                   headers={"Content-Type": "application/gzip"})
    assert r.status_code in (200, 201), r.text
    ref = f"{r.json()['name']}@{r.json()['digest']}"
    body = orch.order_body("PM-BTC", payment={"method": "bitcoin"})
    r = orch.http("evaluator").post("/v1/orders", json={"order": body, "as_of": "2026-11-20",
                                                        "ruleset": ref})
    assert r.status_code == 201 and r.json()["decision"]["status"] == "accepted", r.text
    r = orch.http("evaluator").post("/v1/orders/PM-BTC/payments", json={
        "action": "capture", "amount": "1.00", "idempotency_key": "k"})
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    accepted = [row.split(",")[0] for row in (ACME / "reference" / "payment_methods.csv")
                .read_text(encoding="utf-8").splitlines()[1:]]
    assert accepted == ["card", "paypal", "bank-transfer", "cod", "invoice"]
    assert (err["code"], err["path"], err["details"]) == (
        "UNKNOWN_PAYMENT_METHOD", "order.payment.method",
        {"method": "bitcoin", "accepted": accepted})
    assert "card, paypal, bank-transfer, cod, invoice" in err["message"]
    assert orch.http("evaluator").get("/v1/orders/PM-BTC/payments").json()["entries"] == []

    # a rule set from before the table: its orders are paid in the active rule set's words
    (lax / "reference" / "payment_methods.csv").unlink()
    r = admin.post("/v1/rulesets", content=archive(lax),
                   headers={"Content-Type": "application/gzip"})
    assert r.status_code in (200, 201), r.text
    old = f"{r.json()['name']}@{r.json()['digest']}"
    for oid, method in (("PM-OLD", "card"), ("PM-OLD-BTC", "bitcoin")):
        body = orch.order_body(oid, payment={"method": method})
        r = orch.http("evaluator").post("/v1/orders", json={
            "order": body, "as_of": "2026-11-20", "ruleset": old})
        assert r.status_code == 201 and r.json()["decision"]["status"] == "accepted", r.text
    assert pay(orch, "PM-OLD", action="authorise", amount="1.00", idempotency_key="a",
               token="tok_visa")["status"] == "approved"
    r = pay(orch, "PM-OLD-BTC", 409, action="capture", amount="1.00", idempotency_key="k")
    assert r["error"]["details"]["accepted"] == accepted


def _csv_row(table: str, key: str) -> dict[str, str]:
    import csv

    from tests.orchestration.conftest import ACME

    with (ACME / "reference" / f"{table}.csv").open(encoding="utf-8", newline="") as f:
        return next(r for r in csv.DictReader(f) if next(iter(r.values())) == key)


def test_an_invoice_names_seller_buyer_lines_taxes_terms_and_due_date(
        orch: Any, tmp_path: Path) -> None:
    """An account's order paid on invoice, shipped on 21 November: the invoice a buyer's accounts
    department needs, as JSON, as text of its PDF and as a picture."""
    view = orch.order("INV-DE", customer={"id": "C-00006"}, currency="EUR",
                      payment={"method": "invoice"},
                      ship_to={"street": "Hauptstr. 1", "city": "Frankfurt", "country": "DE",
                               "postal": "60311"},
                      lines=[{"id": "1", "sku": "HTL-0001", "quantity": 4},
                             {"id": "2", "sku": "FAS-0002", "quantity": 3}])
    decision = view["decision"]
    assert decision["status"] == "accepted", decision["violations"]
    pricing = decision["pricing"]
    orch.event("INV-DE", "s", "scheduled")
    orch.event("INV-DE", "r", "released")
    (number,) = orch.event("INV-DE", "p", "shipment_confirmed", at="2026-11-21T14:05:00Z",
                           lines=[{"line_id": "1", "quantity": 4},
                                  {"line_id": "2", "quantity": 3}])["invoices"]
    doc = orch.http("evaluator").get(f"/v1/invoices/{number}").json()

    seller, account = _csv_row("seller", "ACME-EU"), _csv_row("customers", "C-00006")
    assert (doc["seller"]["name"], doc["seller"]["tax_id"], doc["seller"]["country"]) == (
        seller["legal_name"], seller["tax_id"], "NL")
    assert doc["buyer"] == {"id": "C-00006", "name": account["name"], "country": "DE",
                            "vat_id": account["vat_id"],
                            "address": [account["street"],
                                        f"{account['postal']} {account['city']}", "Germany"]}
    assert (doc["date"], doc["issued_at"]) == ("2026-11-21", "2026-11-21T14:05:00Z")
    terms = account["payment_terms"]
    assert terms.startswith("NET")
    days = int(terms[3:])
    due = (date(2026, 11, 21) + timedelta(days=days)).isoformat()
    assert doc["payment"] == {"method": "invoice", "terms": terms, "due_date": due, "note": ""}
    plines = {p["line_id"]: p for p in pricing["lines"]}
    for ln in doc["lines"]:
        p = plines[ln["line_id"]]
        assert ln["description"] == _csv_row("products", ln["sku"])["name"]
        assert (ln["unit_price"], ln["net"], ln["tax"]) == (p["list_price"], p["net"], p["tax"])
        assert ln["tax_rate"] == p["taxes"][0]["rate"] and Decimal(ln["tax_rate"]) == 19
    cent = Decimal("0.01")
    for amount in [doc["net"], doc["tax"], doc["total"]] + [
            v for ln in doc["lines"] + doc["charges"] for v in (ln.get("net") or ln["amount"],
                                                                ln["tax"])]:
        assert Decimal(amount) == Decimal(amount).quantize(cent) and "." in amount  # EUR cents
    assert Decimal(doc["total"]) == Decimal(pricing["total"])  # the whole order, one invoice
    assert sum(Decimal(t["net"]) for t in doc["taxes"]) == Decimal(doc["net"])
    assert sum(Decimal(t["tax"]) for t in doc["taxes"]) == Decimal(doc["tax"])

    pdf = orch.http("evaluator").get(f"/v1/invoices/{number}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == orch.http("evaluator").get(f"/v1/invoices/{number}.pdf").content
    need(shutil.which("pdftotext") is not None and shutil.which("pdftoppm") is not None,
         "pdftotext and pdftoppm (Debian's poppler-utils; make test installs them)")
    path = tmp_path / "inv.pdf"
    path.write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    for needle in (number, seller["legal_name"], f"VAT {seller['tax_id']}", seller["street"],
                   account["name"], account["street"], f"VAT number {account['vat_id']}",
                   "2026-11-21", due, terms, f"{doc['total']} EUR",
                   *(ln["description"] for ln in doc["lines"]),
                   *(ln["unit_price"] for ln in doc["lines"])):
        assert needle in text, needle
    info = subprocess.run(["pdfinfo", "-isodates", str(path)], check=True,
                          capture_output=True, text=True).stdout
    assert "CreationDate:    2026-11-21T14:05:00Z" in info and "2000" not in info
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-singlefile", str(path),
                    str(tmp_path / "inv")], check=True)
    from PIL import Image

    img = Image.open(tmp_path / "inv.png").convert("L")
    w, h = img.size
    assert 0.68 < w / h < 0.73  # A4 portrait
    for top, bottom in ((0.10, 0.22), (0.22, 0.32), (0.32, 0.45)):  # parties, bill-to, lines
        part = img.crop((0, int(h * top), w, int(h * bottom)))
        assert sum(1 for px in part.getdata() if px < 128) > 150, (top, bottom)


def test_payment_terms_give_the_due_date() -> None:
    from ordinance.adapters.billing import due_date

    d = date(2026, 11, 21)
    assert due_date("NET30", d) == date(2026, 12, 21)
    assert due_date("2/10 NET30", d) == date(2026, 12, 21)
    assert due_date("EOM+30", d) == date(2026, 12, 30)
    assert due_date("EOM+30", date(2027, 2, 3)) == date(2027, 3, 30)
    assert due_date("PREPAID", d) == due_date("COD", d) == d
    assert due_date("when we feel like it", d) is None
