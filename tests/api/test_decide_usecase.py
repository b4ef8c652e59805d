"""The decide use case (api/usecases/decide.py) over real HTTP: every answer of POST
/v1/decisions, /v1/validate and /v1/price, good and bad, is byte for byte the answer recorded
in data/decide_golden.json (recorded before the walk was moved into the use case; only the
random decision_id and the rule set's digest are masked), on SQLite and PostgreSQL, and the log holds what was answered.

Set ORDINANCE_WRITE_GOLDEN=1 to record the file again (then review its diff).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from svc_helpers import ServerThread, Service, archive, make_service

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "data" / "decide_golden.json"

ACME_ORDER = ('{"id": "G-1", "order_date": "2026-11-20T09:00:00Z", "customer": {"id": '
              '"C-00060"}, "lines": [{"id": "1", "sku": "HTL-0001", "quantity": 10}, '
              '{"id": "2", "sku": "HTL-0002", "quantity": "3.50"}, '
              '{"id": "3", "sku": "HTL-0003", "quantity": 1, "unit_price": "12.345"}]}')

# (name, path, raw body): the answers the door, the use case and the engine give together
CASES = [
    ("decide", "/v1/decisions", '{"order": ' + ACME_ORDER + ', "as_of": "2026-11-20"}'),
    ("validate", "/v1/validate", '{"order": ' + ACME_ORDER + ', "as_of": "2026-11-20"}'),
    ("price", "/v1/price", '{"order": ' + ACME_ORDER + '}'),
    ("no_lines", "/v1/decisions", '{"order": {"id": "G-2", "lines": []}, "as_of": "2026-11-20"}'),
    ("unicode", "/v1/decisions", '{"order": {"id": "G-\\u00e9\\u20ac", "customer": {"id": '
     '"C-\\ud83d\\ude00"}, "lines": [{"id": "1", "sku": "HTL-0001", "quantity": 1e0}]}, '
     '"as_of": "2026-11-20"}'),
    ("empty", "/v1/decisions", ""),
    ("not_json", "/v1/decisions", '{"order": '),
    ("not_object", "/v1/decisions", '[1, 2]'),
    ("duplicate_key", "/v1/decisions", '{"order": {"id": "a", "id": "b", "lines": []}}'),
    ("lone_surrogate", "/v1/decisions", '{"order": {"id": "\\ud800", "lines": []}}'),
    ("text_too_long", "/v1/decisions", '{"order": {"id": "' + "x" * 201 + '", "lines": []}}'),
    ("out_of_range", "/v1/decisions", '{"order": {"id": "a", "lines": [{"quantity": 1e31}]}}'),
    ("too_many_digits", "/v1/decisions",
     '{"order": {"id": "a", "lines": [{"id": "1", "quantity": 1.2345678901234567890123456789}]}}'),
    ("nan", "/v1/decisions", '{"order": {"id": "a", "lines": [{"quantity": NaN}]}}'),
    ("unknown_field", "/v1/decisions", '{"order": {"lines": []}, "when": 1}'),
    ("no_order", "/v1/decisions", '{"as_of": "2026-11-20"}'),
    ("bad_order", "/v1/decisions", '{"order": {"lines": [{"quantity": "3 "}]}}'),
    ("bad_as_of", "/v1/decisions", '{"order": {"lines": []}, "as_of": "2026-13-01"}'),
    ("short_as_of", "/v1/decisions", '{"order": {"lines": []}, "as_of": "20261101"}'),
    ("bad_ruleset", "/v1/decisions", '{"order": {"lines": []}, "ruleset": 7}'),
    ("unknown_ruleset", "/v1/decisions", '{"order": {"lines": []}, "ruleset": "nope@1"}'),
    ("bom", "/v1/decisions", '\ufeff{"order": {"lines": []}}'),
    ("deep", "/v1/decisions", '{"order": {"id": "a", "x": ' + "[" * 70 + "]" * 70 + '}}'),
]


@pytest.fixture(scope="module")
def acme(database_url: str, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    app, keys = make_service(database_url, tmp_path_factory.mktemp("cache"))
    with ServerThread(app) as server:
        svc = Service(server.url, database_url, keys, app)
        r = svc.client("admin").post("/v1/rulesets", content=archive(ROOT / "rulesets" / "acme"),
                                     headers={"Content-Type": "application/gzip"})
        assert r.status_code in (200, 201), r.text
        info = r.json()
        r = svc.client("admin").post(f"/v1/rulesets/{info['name']}/{info['digest']}/activate")
        assert r.status_code == 200, r.text
        try:
            yield svc
        finally:
            svc.close()


def _masked(text: str) -> str:
    """The random decision id, and the rule set's digest (ACME's files change as features
    land; the answers' every other byte must not)."""
    text = re.sub(r'"dec_[0-9a-f]{32}"', '"dec_*"', text)
    return re.sub(r'"sha256:[0-9a-f]{64}"', '"sha256:*"', text)


def test_every_answer_is_byte_identical_to_the_recorded_one(acme: Service) -> None:
    c = acme.client("evaluator")
    got = {}
    for name, path, raw in CASES:
        r = c.post(path, content=raw.encode("utf-8", "surrogatepass"),
                   headers={"Content-Type": "application/json"})
        got[name] = {"status": r.status_code, "body": _masked(r.text)}
        if r.status_code == 200:  # what was answered is what was logged, request verbatim
            did = r.json()["decision_id"]
            rec = acme.client("analyst").get(f"/v1/decisions/{did}")
            assert rec.status_code == 200, rec.text
            assert rec.json()["decision"] == r.json()
            assert rec.text.endswith(', "decision": ' + r.text + "}")
            assert ', "request": ' + raw + ', "decision": ' in rec.text
    if os.environ.get("ORDINANCE_WRITE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", "utf-8")
    want = json.loads(GOLDEN.read_text("utf-8"))
    assert set(got) == set(want)
    for name in want:
        assert got[name] == {**want[name], "body": _masked(want[name]["body"])}, name
    # the cases cover what they claim: good answers, and each check of the reader
    assert want["decide"]["status"] == 200 and '"pricing"' in want["decide"]["body"]
    assert "DUPLICATE_KEY" in want["duplicate_key"]["body"]
    assert "BAD_TEXT" in want["lone_surrogate"]["body"]
    assert "TEXT_TOO_LONG" in want["text_too_long"]["body"]
    assert "NUMBER_OUT_OF_RANGE" in want["out_of_range"]["body"]
