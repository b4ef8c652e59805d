"""Every endpoint against every role: one below the needed role is 403, the needed role gets
past the door, no key is 401. Also: migrations match the models, and a decision in flight
when the active version changes finishes on the version it started with."""
from __future__ import annotations

import threading

import pytest

from svc_helpers import CONFORMANCE, archive

ORDER = {"order": {"id": "ROLE-1", "lines": [{"id": "1", "sku": "X-1", "quantity": 1}]}}
ROLES = ["evaluator", "analyst", "approver", "admin"]

# (method, path, needed role, json body or None)
ENDPOINTS = [
    ("POST", "/v1/decisions", "evaluator", ORDER),
    ("POST", "/v1/validate", "evaluator", ORDER),
    ("POST", "/v1/price", "evaluator", ORDER),
    ("GET", "/v1/decisions", "analyst", None),
    ("GET", "/v1/decisions/dec_none", "analyst", None),
    ("POST", "/v1/rulesets", "analyst", None),
    ("GET", "/v1/rulesets", "analyst", None),
    ("GET", "/v1/rulesets/active", "evaluator", None),
    ("GET", "/v1/rulesets/x/sha256:0", "analyst", None),
    ("POST", "/v1/rulesets/x/sha256:0/activate", "admin", None),
    ("POST", "/v1/orders", "evaluator", ORDER),
    ("PUT", "/v1/orders/ROLE-1", "evaluator", ORDER),
    ("GET", "/v1/orders", "analyst", None),
    ("GET", "/v1/orders/ROLE-1", "evaluator", None),
    ("GET", "/v1/orders/ROLE-1/versions", "analyst", None),
    ("GET", "/v1/orders/ROLE-1/audit", "analyst", None),
    ("GET", "/v1/approvals", "approver", None),
    ("POST", "/v1/approvals/999999", "approver", {"action": "approve"}),
    ("GET", "/v1/reports/top", "analyst", None),
    ("POST", "/v1/keys", "admin", {"role": "evaluator"}),
    ("GET", "/v1/keys", "admin", None),
    ("DELETE", "/v1/keys/999999", "admin", None),
]


@pytest.mark.parametrize("method,path,needed,body", ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_role_boundaries(service, method, path, needed, body):
    kwargs = {"json": body} if body is not None else {}
    if path == "/v1/rulesets":
        kwargs = {"content": archive(CONFORMANCE / "c07-approval"),
                  "headers": {"Content-Type": "application/gzip"}}
    r = service.client(None).request(method, path, **kwargs)
    assert r.status_code == 401, r.text
    for role in ROLES:
        r = service.client(role).request(method, path, **kwargs)
        if ROLES.index(role) < ROLES.index(needed):
            assert r.status_code == 403, (role, r.text)
            assert r.json()["error"]["code"] == "ROLE_TOO_WEAK"
        else:
            assert r.status_code not in (401, 403, 500), (role, r.status_code, r.text)


def test_migrations_match_the_models(service):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from ordinance.adapters import db as dbmod
    from ordinance.adapters.models import Base

    from alembic.script import ScriptDirectory

    db = service.app.state.ctx.db
    head = ScriptDirectory.from_config(dbmod.alembic_config(db)).get_current_head()
    assert dbmod.current_revision(db) == head
    ours = set(Base.metadata.tables)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    def table_of(d):  # a diff entry is a tuple, or a list of tuples for column changes
        d = d[0] if isinstance(d, list) else d
        for part in d[1:]:
            name = getattr(part, "name", None) if not isinstance(part, str) else None
            table = getattr(part, "table", None)
            if table is not None:
                return table.name
            if name in ours:
                return name
        return d[2] if len(d) > 2 and isinstance(d[2], str) else None

    # tables of other modules' migrations (e.g. orchestration) are theirs to check
    assert [d for d in diff if table_of(d) in ours] == []


def test_a_decision_in_flight_finishes_on_its_version(service):
    ctx = service.app.state.ctx
    admin = service.client("admin")
    before = admin.get("/v1/rulesets/active").json()
    c04 = admin.post("/v1/rulesets", content=archive(CONFORMANCE / "c04-pricing"),
                     headers={"Content-Type": "application/gzip"}).json()
    started, release = threading.Event(), threading.Event()
    real_resolve = ctx.rulesets.resolve

    def paused_resolve(ref):
        # the rule set is chosen, then the request stalls (off the event loop) until the
        # activation below has happened
        rs = real_resolve(ref)
        started.set()
        assert release.wait(30)
        return rs

    result = {}

    def in_flight():
        result["r"] = service.client("evaluator").post("/v1/decisions", json=ORDER)

    ctx.rulesets.resolve = paused_resolve
    t = threading.Thread(target=in_flight)
    try:
        t.start()
        assert started.wait(30)
        ctx.rulesets.resolve = real_resolve
        r = admin.post(f"/v1/rulesets/c04-pricing/{c04['digest']}/activate")
        assert r.status_code == 200
        release.set()
        t.join(30)
        assert result["r"].json()["ruleset"]["digest"] == before["digest"]
        after = service.client("evaluator").post("/v1/decisions", json=ORDER).json()
        assert after["ruleset"]["digest"] == c04["digest"]
    finally:
        ctx.rulesets.resolve = real_resolve
        release.set()
        admin.post(f"/v1/rulesets/c07-approval/{before['digest']}/activate")
