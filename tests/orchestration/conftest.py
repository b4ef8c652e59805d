"""Fixtures for orchestration: the service over real HTTP on SQLite and PostgreSQL (the helpers
of tests/api), the shipped rule set `rulesets/acme` uploaded and active, and a manual clock the
tests move by hand (the orchestrator is built with it before the first request)."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

API_TESTS = Path(__file__).resolve().parents[1] / "api"
sys.path.insert(0, str(API_TESTS))

from svc_helpers import database_url  # noqa: F401 - the shared fixture
from svc_helpers import ServerThread, Service, archive, make_service

ACME = Path(__file__).resolve().parents[2] / "rulesets" / "acme"
START = "2026-11-20T09:00:00Z"


class Orch:
    """The running service plus its manual clock."""

    def __init__(self, svc: Service, clock: Any):
        self.svc = svc
        self.clock = clock

    def http(self, who: str = "admin") -> Any:
        return self.svc.client(who)

    def order(self, oid: str, **over: Any) -> dict[str, Any]:
        body = self.order_body(oid, **over)
        r = self.http("evaluator").post("/v1/orders", json={"order": body,
                                                            "as_of": "2026-11-20"})
        assert r.status_code == 201, r.text
        return r.json()

    def order_body(self, oid: str, **over: Any) -> dict[str, Any]:
        body = {"id": oid, "order_date": "2026-11-20T09:00:00Z", "channel": "web",
                "currency": "USD", "customer": {"id": "C-00004"},
                "ship_to": {"street": "1 Main St", "city": "Tampa", "country": "US",
                            "state": "FL", "postal": "33636"},
                "payment": {"method": "card"}, "requested_date": "2026-11-25",
                "lines": [{"id": "1", "sku": "HTL-0001", "quantity": 10},
                          {"id": "2", "sku": "FAS-0002", "quantity": 5}]}
        body.update(over)
        return body

    def event(self, oid: str, eid: str, etype: str, expect: int = 200, **payload: Any) -> Any:
        r = self.http("evaluator").post(f"/v1/orders/{oid}/events",
                                        json={"id": eid, "type": etype, **payload})
        assert r.status_code == expect, r.text
        return r.json()

    def timeline(self, oid: str) -> dict[str, Any]:
        r = self.http("evaluator").get(f"/v1/orders/{oid}/timeline")
        assert r.status_code == 200, r.text
        return r.json()

    def tick(self) -> dict[str, Any]:
        r = self.http("admin").post("/v1/orchestration/tick")
        assert r.status_code == 200, r.text
        return r.json()

    def alerts(self, **params: Any) -> list[dict[str, Any]]:
        r = self.http("evaluator").get("/v1/alerts", params=params)
        assert r.status_code == 200, r.text
        return r.json()["items"]


@pytest.fixture(scope="module")
def orch(database_url: str,  # noqa: F811 - the shared fixture
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orch]:
    from ordinance.adapters.clock import ManualClock
    from ordinance.adapters.orchestration import Orchestrator

    app, keys = make_service(database_url, tmp_path_factory.mktemp("cache"))
    ctx = app.state.ctx
    clock = ManualClock(START)
    app.state.orchestration = Orchestrator(ctx.db, ctx.rulesets, clock)
    with ServerThread(app) as server:
        svc = Service(server.url, database_url, keys, app)
        admin = svc.client("admin")
        r = admin.post("/v1/rulesets", content=archive(ACME),
                       headers={"Content-Type": "application/gzip"})
        assert r.status_code in (200, 201), r.text
        info = r.json()
        r = admin.post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate")
        assert r.status_code == 200, r.text
        try:
            yield Orch(svc, clock)
        finally:
            svc.close()
