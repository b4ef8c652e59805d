"""Schemathesis against the service's own OpenAPI document, over real HTTP: every check it has
(no 500; every status, header, media type and body as documented; schema-valid data
accepted and schema-invalid data refused; auth really required; 405 with a true Allow
header; missing headers refused; ...), for every operation, with generated valid and invalid
requests, an admin key given as the document's bearer scheme, on SQLite with a rule set
active (it passes on PostgreSQL too, in about the same time: 38 s each on the test machine).
Derandomized (a fixed seed) and bounded (`EXAMPLES` per operation and mode). Where a
constraint cannot be a schema, PER_OPERATION tells the one check so for the one operation,
with the reason.

Failures are collected per operation and reported together (schemathesis raises a
BaseExceptionGroup, which `except Exception` let escape, so the first one ended the run)."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from svc_helpers import CONFORMANCE, ServerThread, archive, make_service

EXAMPLES = 3
# Every check, both ways: the OpenAPI document says every constraint the service enforces
# (api/schemas.py) and the service enforces every constraint the document says.
NOT_YET: tuple[str, ...] = ()
# Where a constraint cannot be a schema, the check is told so for that one operation, and why.
PER_OPERATION = """
# A rule-set archive is binary: any bytes fit the schema, and whether they are a .tar.gz or
# .zip holding a valid rule set only reading them tells (422 BAD_ARCHIVE, RULESET_INVALID).
[[operations]]
include-name = "POST /v1/rulesets"
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]

# The body's order.id, when given, must be the URL's order id: a constraint between a path
# parameter and the body no schema can say (422 BAD_ORDER at $.order.id).
[[operations]]
include-name = "PUT /v1/orders/{order_id}"
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]

# A simulation's start: its document does not yet say the rule-set references (NAME@VERSION,
# NAME@DIGEST, active) or the numbers' range a start checks, so schema-valid requests may get
# 422 there. To remove once its body schema is exact.
[[operations]]
include-name = "POST /v1/simulations"
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]

# A configure step's selection names the groups, options and values of a model of the rule
# set (docs/configurator.md): only the rule set tells them (422 BAD_SELECTION, 404 UNKNOWN_MODEL).
[[operations]]
include-name = "POST /v1/configure"
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
"""


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


SHARDS = 4


@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_check_on_every_operation(live, shard):
    """Every operation, valid and invalid requests, every check. (Schemathesis's pytest
    plugin does not run under pytest 9, so the operations are driven through its Python API
    here.) The operations are dealt round the `SHARDS` tests, so xdist's workers share them:
    together the shards run every operation once."""
    url, key = live
    load_all_checks()
    checks = [c for c in CHECKS.get_all() if c.__name__ not in NOT_YET]
    assert len(checks) >= 12
    # the admin key as the document's own security scheme, so schemathesis knows the requests
    # carry it (and ignored_auth can take it away)
    auth = f'[auth.openapi.HTTPBearer]\nbearer = "{key}"\n'
    schema = schemathesis.openapi.from_url(
        url + "/openapi.json", config=SchemathesisConfig.from_str(auth + PER_OPERATION))
    # JSON text is Unicode: a lone surrogate is not a string the schema promises to take
    schema.config.generation.update(codec="utf-8")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if OTHERS and op.path.startswith(OTHERS):
            continue
        operations += 1
        if operations % SHARDS != shard:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=op.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), derandomize=True)
            def run(case):  # type: ignore[no-untyped-def]
                case.call_and_validate(checks=checks)

            try:
                run()
            except Unsatisfiable:
                pass  # no invalid request exists for an operation without inputs
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported below
                failures.append(f"{op.method.upper()} {op.path} ({mode.value}): {exc}")
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
