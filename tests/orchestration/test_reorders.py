"""Reorder proposals over HTTP (SQLite and PostgreSQL): proposed -> ordered -> received by goods
receipts that raise the location's stock, or dismissed; a closed proposal no longer blocks the
next one of its location and SKU. And migration 0103 keeping the open proposals open."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

UK = {"customer": {"id": "C-00013"}, "currency": "GBP",
      "ship_to": {"street": "1 High St", "city": "Birmingham", "country": "GB", "postal": "B1 1AA"}}


def uk_order(orch: Any, oid: str, quantity: int) -> None:
    """A GB web order of HTL-0004, sourced from WH-UK (570 on hand, reorder point 250, eoq 300),
    seen by orchestration (its allocation reserved)."""
    view = orch.order(oid, lines=[{"id": "1", "sku": "HTL-0004", "quantity": quantity}], **UK)
    assert view["decision"]["status"] == "accepted", view["decision"]["violations"]
    alloc = view["decision"]["sourcing"]["lines"][0]["allocations"]
    assert [(a["location"], a["quantity"]) for a in alloc] == [("WH-UK", str(quantity))]
    orch.event(oid, f"{oid}-s", "scheduled")


def proposals(orch: Any, state: str = "all") -> list[dict[str, Any]]:
    r = orch.http("analyst").get("/v1/reorders", params={"state": state})
    assert r.status_code == 200, r.text
    return [p for p in r.json()["items"] if (p["location"], p["sku"]) == ("WH-UK", "HTL-0004")]


def on_hand(orch: Any) -> Decimal:
    return Decimal(orch.http("analyst").get("/v1/stock/WH-UK/HTL-0004").json()["on_hand"])


def post(orch: Any, who: str, path: str, body: Any, expect: int) -> dict[str, Any]:
    r = orch.http(who).post(path, json=body)
    assert r.status_code == expect, r.text
    out: dict[str, Any] = r.json()
    return out


def test_a_proposal_is_ordered_received_into_stock_and_then_blocks_no_more(orch: Any) -> None:
    uk_order(orch, "RO-UK1", 330)  # 570 - 330 = 240 available < 250
    (p,) = proposals(orch)
    assert (p["state"], p["quantity"], p["supplier"]) == ("proposed", "300", "SUP-EUROFIX")
    assert [x["id"] for x in proposals(orch, "open")] == [p["id"]]
    url = f"/v1/reorders/{p['id']}"
    got = orch.http("analyst").get(url).json()
    assert (got["state"], got["receipts"], got["purchase_order"]) == ("proposed", [], None)

    # goods cannot arrive before they are ordered; ordering is an approver's act
    r = post(orch, "evaluator", f"{url}/receive", {"id": "GR-0", "quantity": "1"}, 409)
    assert (r["error"]["code"], r["error"]["details"]["allowed_in"]) == ("WRONG_STATE",
                                                                           ["ordered"])
    post(orch, "evaluator", f"{url}/order", {"purchase_order": "PO-1"}, 403)
    for body, path in (({}, "$.purchase_order"), ({"purchase_order": ""}, "$.purchase_order"),
                       ({"purchase_order": "PO-1", "quantity": "-5"}, "$.quantity"),
                       ({"purchase_order": "PO-1", "quantity": "lots"}, "$.quantity"),
                       ([1], "$")):
        r = post(orch, "approver", f"{url}/order", body, 422)
        assert r["error"]["path"] == path, r
    o = post(orch, "approver", f"{url}/order", {"purchase_order": "PO-1"}, 200)
    assert (o["state"], o["purchase_order"], o["ordered_quantity"], o["ordered_at"]) == (
        "ordered", "PO-1", "300", "2026-11-20T09:00:00Z")
    assert post(orch, "approver", f"{url}/order", {"purchase_order": "PO-2"}, 409)[
        "error"]["code"] == "WRONG_STATE"

    # still open while on order: stock falling further proposes nothing new
    uk_order(orch, "RO-UK2", 10)
    assert [x["id"] for x in proposals(orch)] == [p["id"]]

    # a partial goods receipt raises on hand by its quantity, once
    before = on_hand(orch)
    one = post(orch, "evaluator", f"{url}/receive", {"id": "GR-1", "quantity": 100}, 200)
    assert on_hand(orch) == before + 100
    assert (one["state"], one["received_quantity"], one["duplicate"]) == ("ordered", "100", False)
    assert (one["receipt"]["quantity"], Decimal(one["receipt"]["on_hand_after"])) == (
        "100", before + 100)
    assert Decimal(one["stock"]["available"]) == before + 100 - 340
    again = post(orch, "evaluator", f"{url}/receive", {"id": "GR-1", "quantity": 100}, 200)
    assert again["duplicate"] is True and on_hand(orch) == before + 100
    assert post(orch, "evaluator", f"{url}/receive", {"id": "GR-1", "quantity": 50}, 409)[
        "error"]["code"] == "RECEIPT_REUSED"
    assert post(orch, "approver", f"{url}/dismiss", {"reason": "late"}, 409)["error"][
        "code"] == "PARTLY_RECEIVED"
    for body, path in (({"quantity": 5}, "$.id"), ({"id": "GR-9", "quantity": 0}, "$.quantity"),
                       ({"id": "GR-9", "quantity": 5, "final": "yes"}, "$.final")):
        assert post(orch, "evaluator", f"{url}/receive", body, 422)["error"]["path"] == path

    # the rest arrives: received and closed
    two = post(orch, "evaluator", f"{url}/receive", {"id": "GR-2", "quantity": "200"}, 200)
    assert (two["state"], two["received_quantity"], two["closed_at"]) == (
        "received", "300", "2026-11-20T09:00:00Z")
    assert on_hand(orch) == before + 300
    assert post(orch, "evaluator", f"{url}/receive", {"id": "GR-3", "quantity": 1}, 409)[
        "error"]["code"] == "WRONG_STATE"
    got = orch.http("analyst").get(url).json()
    assert [(g["id"], g["quantity"]) for g in got["receipts"]] == [("GR-1", "100"),
                                                                   ("GR-2", "200")]
    assert proposals(orch, "open") == [] and [x["id"] for x in proposals(orch, "closed")] == [
        p["id"]]

    # closed, it blocks no more: the next fall below the reorder point proposes again
    uk_order(orch, "RO-UK3", 300)  # 870 on hand - 640 allocated = 230 < 250
    (p2,) = proposals(orch, "open")
    assert p2["id"] != p["id"] and p2["state"] == "proposed"
    d = post(orch, "approver", f"/v1/reorders/{p2['id']}/dismiss",
             {"reason": "supplier on strike; rerouted"}, 200)
    assert (d["state"], d["note"]) == ("dismissed", "supplier on strike; rerouted")
    assert d["updated_by"].startswith("approver") and d["closed_at"] == "2026-11-20T09:00:00Z"
    assert post(orch, "approver", f"/v1/reorders/{p2['id']}/dismiss", {"reason": "x"}, 409)[
        "error"]["details"]["state"] == "dismissed"
    uk_order(orch, "RO-UK4", 5)
    (p3,) = proposals(orch, "proposed")
    assert p3["id"] not in (p["id"], p2["id"])
    assert [x["state"] for x in proposals(orch)] == ["received", "dismissed", "proposed"]


def test_reorder_routes_answer_bad_ids_and_states_precisely(orch: Any) -> None:
    c = orch.http("approver")
    assert c.get("/v1/reorders/999999").json()["error"]["code"] == "REORDER_NOT_FOUND"
    assert c.post("/v1/reorders/999999/dismiss", json={"reason": "x"}).status_code == 404
    for bad in ("abc", "0", str(2 ** 64)):
        r = c.post(f"/v1/reorders/{bad}/order", json={"purchase_order": "PO"})
        assert r.status_code == 422 and r.json()["error"]["path"] == "reorder_id", r.text
    r = c.get("/v1/reorders", params={"state": "opened"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "state"


def test_migration_0103_keeps_open_proposals_open(tmp_path: Path) -> None:
    from sqlalchemy import text

    from ordinance.adapters import db as dbmod

    db = dbmod.connect(f"sqlite:///{tmp_path}/old.db")
    dbmod.upgrade(db, "0102")
    with db.session(write=True) as s:
        for i, state in enumerate(("open", "dismissed"), start=1):
            s.execute(text("INSERT INTO orch_reorders (id, location, sku, quantity, reason, "
                           "rule, state, created_at) VALUES (:i, 'WH-UK', 'HTL-0004', '300', "
                           "'', 'reorder/r', :s, '2026-11-01 00:00:00')"), {"i": i, "s": state})
    dbmod.upgrade(db)
    with db.session() as s:
        states = s.execute(text("SELECT id, state FROM orch_reorders ORDER BY id")).all()
    assert [tuple(r) for r in states] == [(1, "proposed"), (2, "dismissed")]
    db.dispose()
