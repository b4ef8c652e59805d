"""Schemathesis against the service's own OpenAPI document, over real HTTP: every check it has
but the two in NOT_YET (no 500; every status, header, media type and body as documented;
auth really required; 405 with a true Allow header; missing headers refused; ...), for every
operation, with generated valid and invalid requests, an admin key (so the requests get past
the door), on SQLite with a rule set active (it also passes on PostgreSQL, at twice the
time). Derandomized (a fixed seed) and bounded (`EXAMPLES` per operation and mode): about a
minute on an idle machine.

Failures are collected per operation and reported together (schemathesis raises a
BaseExceptionGroup, which `except Exception` let escape, so the first one ended the run)."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

from svc_helpers import CONFORMANCE, ServerThread, archive, make_service

EXAMPLES = 3
# Not yet: the schemas do not say every constraint the service enforces (query parameters
# taken as free text and checked on the server, the order's free-form content), so
# schema-valid data is sometimes refused and schema-invalid data sometimes accepted.
NOT_YET = ("positive_data_acceptance", "negative_data_rejection")


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


def test_every_check_on_every_operation(live):
    """Every operation, valid and invalid requests, every check. (Schemathesis's pytest
    plugin does not run under pytest 9, so the operations are driven through its Python API
    here.)"""
    url, key = live
    load_all_checks()
    checks = [c for c in CHECKS.get_all() if c.__name__ not in NOT_YET]
    assert len(checks) >= 12
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    # JSON text is Unicode: a lone surrogate is not a string the schema promises to take
    schema.config.generation.update(codec="utf-8")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if OTHERS and op.path.startswith(OTHERS):
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=op.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), derandomize=True)
            def run(case):  # type: ignore[no-untyped-def]
                case.call_and_validate(headers={"Authorization": f"Bearer {key}"},
                                       checks=checks)

            try:
                run()
            except Unsatisfiable:
                pass  # no invalid request exists for an operation without inputs
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported below
                failures.append(f"{op.method.upper()} {op.path} ({mode.value}): {exc}")
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
