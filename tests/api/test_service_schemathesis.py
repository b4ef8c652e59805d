"""Schemathesis against the service's own OpenAPI document, over real HTTP: no 500 and no
response that breaks the documented schema, for every operation, with an admin key (so the
requests get past the door) on SQLite with a rule set active."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error,
                                 response_schema_conformance, status_code_conformance)

from svc_helpers import CONFORMANCE, ServerThread, archive, make_service


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    app, keys = make_service("sqlite:///" + str(tmp_path_factory.mktemp("st") / "o.db"),
                             tmp_path_factory.mktemp("stcache"))
    with ServerThread(app) as server:
        import httpx

        h = {"Authorization": f"Bearer {keys['admin']}"}
        with httpx.Client(base_url=server.url, headers=h) as c:
            info = c.post("/v1/rulesets", content=archive(CONFORMANCE / "c07-approval"),
                          headers={"Content-Type": "application/gzip"}).json()
            c.post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate")
        yield server.url, keys["admin"]


# Routes left out of the generated examples (none: every route is exercised).
OTHERS: tuple[str, ...] = ()


def test_no_500_and_responses_match_the_schema(live):
    """Every operation, 20 generated examples each. (Schemathesis's pytest plugin does not
    run under pytest 9, so the operations are driven through its Python API here.)"""
    url, key = live
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if OTHERS and op.path.startswith(OTHERS):
            continue
        operations += 1

        @given(case=op.as_strategy())
        @settings(max_examples=20, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), derandomize=True)
        def run(case):  # type: ignore[no-untyped-def]
            case.call_and_validate(
                headers={"Authorization": f"Bearer {key}"},
                checks=[not_a_server_error, response_schema_conformance,
                        content_type_conformance, status_code_conformance])

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collected, reported below
            failures.append(f"{op.method.upper()} {op.path}: {exc}")
    assert operations >= 18
    assert not failures, "\n\n".join(failures)
