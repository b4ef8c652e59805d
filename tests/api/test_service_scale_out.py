"""Two service processes' worth of state (two apps, each with its own caches and log writer)
over one database: what one does, the other sees."""
from __future__ import annotations

import httpx
import pytest

from svc_helpers import CONFORMANCE, ServerThread, archive, create_pg_database, make_service


@pytest.mark.postgres
def test_two_services_over_one_postgresql(tmp_path):
    from ordinance.adapters import store_keys

    pg = create_pg_database()
    try:
        app_a, keys = make_service(pg.url, tmp_path / "a")
        app_b, _ = make_service(pg.url, tmp_path / "b")  # its own keys; ours work too
        with ServerThread(app_a) as a_srv, ServerThread(app_b) as b_srv:
            def client(srv, who):
                return httpx.Client(base_url=srv.url, timeout=30,
                                    headers={"Authorization": f"Bearer {keys[who]}"})

            with client(a_srv, "admin") as a, client(b_srv, "admin") as b, \
                    client(b_srv, "evaluator") as b_eval, client(a_srv, "evaluator") as a_eval:
                info = a.post("/v1/rulesets", content=archive(CONFORMANCE / "c07-approval"),
                              headers={"Content-Type": "application/gzip"}).json()
                a.post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate")
                # B never saw the upload: it materialises the stored files and loads them
                d = b_eval.post("/v1/decisions", json={"order": {
                    "id": "S1", "lines": [{"id": "1", "sku": "X-1", "quantity": 1}]}}).json()
                assert d["ruleset"]["digest"] == info["digest"]
                assert d["pricing"]["total"] == "100.00"
                assert (tmp_path / "b" / info["digest"].replace(":", "-") / "ruleset.yaml").exists()
                order = {"order": {"id": "S2", "attributes": {"manual_discount": 12},
                                   "lines": [{"id": "1", "sku": "X-1", "quantity": 1}]}}
                first = a_eval.post("/v1/orders", json=order)
                assert first.status_code == 201
                again = b_eval.post("/v1/orders", json=order)
                assert again.status_code == 200 and again.json() == first.json()
                task = first.json()["approvals"][0]["id"]
                r = b.post(f"/v1/approvals/{task}", json={"action": "approve"})
                assert r.json()["order_status"] == "accepted"
                assert a.get("/v1/orders/S2").json()["status"] == "accepted"
                # both logs land in one table
                assert len(a.get("/v1/decisions", params={"order_id": "S1"}).json()["items"]) == 1
                # a key revoked through A is refused by B (B has not cached it yet)
                secret, made = store_keys.create_key(app_a.state.ctx.db, "analyst", "temp")
                a.delete(f"/v1/keys/{made['id']}")
                r = httpx.get(b_srv.url + "/v1/decisions",
                              headers={"Authorization": f"Bearer {secret}"})
                assert r.status_code == 401
    finally:
        pg.drop()
