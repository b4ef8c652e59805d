"""Bad input never gets a 5xx, and the key is checked before a body is read: lone surrogates,
texts and numbers longer than their columns, duplicate keys, numbers out of range, other
scripts' digits, bodies without a JSON media type, large bodies without a key; 405 answers
list every method of the path. Over real HTTP, on SQLite and PostgreSQL (where the column
sizes bite)."""
from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

ORDER = {"id": "H-1", "lines": [{"id": "1", "sku": "X-1", "quantity": 1}]}


def _raw(service: Any, who: str, method: str, path: str, text: str,
         content_type: str = "application/json") -> Any:
    return service.client(who).request(method, path, content=text.encode("utf-8"),
                                       headers={"Content-Type": content_type})


def _error(r: Any, status: int, code: str | None = None, path: str | None = None) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    if code is not None:
        assert err["code"] == code, err
    if path is not None:
        assert err["path"] == path, err
    return err


LONE = '"X\\ud800"'


@pytest.mark.parametrize("method,path,text,where", [
    ("POST", "/v1/decisions", '{"order": {"id": %s}}' % LONE, "$.order.id"),
    ("POST", "/v1/decisions", '{"order": {"id": "a", "lines": [{"id": "1", "sku": %s}]}}'
     % LONE, "$.order.lines[0].sku"),
    ("POST", "/v1/decisions", '{"order": {"id": "a"}, "ruleset": %s}' % LONE, "$.ruleset"),
    ("POST", "/v1/orders", '{"order": {"id": %s}}' % LONE, "$.order.id"),
    ("POST", "/v1/orders/H-1/payments", '{"action": "authorise", "amount": "1.00", '
     '"idempotency_key": %s}' % LONE, "$.idempotency_key"),
    ("POST", "/v1/orders/H-1/returns", '{"id": %s, "lines": []}' % LONE, "$.id"),
    ("POST", "/v1/orders/H-1/events", '{"id": %s, "type": "shipped"}' % LONE, "$.id"),
    ("POST", "/v1/webhooks", '{"url": "http://example.com/\\udfff", "secret": "0123456789abcdef"}',
     "$.url"),
    ("POST", "/v1/orders/H-1/holds/release", '{"reason": "ok", "code": %s}' % LONE, "$.code"),
    ("POST", "/v1/approvals/1", '{"action": "approve", "comment": %s}' % LONE, "$.comment"),
])
def test_a_lone_surrogate_is_a_422_with_its_path(service, method, path, text, where):
    _error(_raw(service, "admin", method, path, text), 422, "BAD_TEXT", where)


def test_a_lone_surrogate_in_a_key_is_a_422(service):
    err = _error(_raw(service, "admin", "POST", "/v1/decisions",
                      '{"order": {"id": "a", "attributes": {"\\udc00": 1}}}'), 422, "BAD_TEXT")
    assert err["path"].startswith("$.order.attributes.")


def test_a_surrogate_pair_is_text(service):
    r = _raw(service, "evaluator", "POST", "/v1/decisions",
             '{"order": {"id": "\\ud83d\\ude00", "lines": []}}')
    assert r.status_code == 200, r.text
    assert r.json()["order_id"] == "\U0001F600"


@pytest.mark.parametrize("order,where,code", [
    ({"id": "L-1", "channel": "c" * 101}, "$.order.channel", "TEXT_TOO_LONG"),
    ({"id": "L-2", "attributes": {"channel": "c" * 101}}, "$.order.attributes.channel",
     "TEXT_TOO_LONG"),
    ({"id": "i" * 201}, "$.order.id", "TEXT_TOO_LONG"),
    ({"id": "L-3", "lines": [{"id": "1", "sku": "X-1", "quantity": "1." + "0" * 40}]},
     "$.order.lines[0].quantity", "TEXT_TOO_LONG"),
])
def test_texts_longer_than_their_columns_are_422(service, order, where, code):
    r = service.client("evaluator").post("/v1/orders", json={"order": order})
    _error(r, 422, code, where)


def test_a_long_number_literal_is_422(service):
    r = _raw(service, "evaluator", "POST", "/v1/orders",
             '{"order": {"id": "L-4", "lines": [{"id": "1", "sku": "X-1", "quantity": 1.'
             + "0" * 40 + '1}]}}')
    _error(r, 422, "NUMBER_TOO_LONG", "$.order.lines[0].quantity")


def test_a_channel_of_100_characters_is_stored(service):
    r = service.client("evaluator").post("/v1/orders", json={"order": {
        "id": "L-OK", "channel": "c" * 100, "lines": []}})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("path,text,where", [
    ("/v1/decisions", '{"order": {"id": "a"}, "order": {"id": "b"}}', "$.order"),
    ("/v1/decisions", '{"order": {"id": "a", "lines": [{"id": "1", "quantity": 1, '
     '"quantity": 2}]}}', "$.order.lines[0].quantity"),
    ("/v1/orders/H-1/events", '{"id": "e1", "type": "shipped", "type": "cancelled"}', "$.type"),
])
def test_a_duplicate_key_is_a_422_naming_it(service, path, text, where):
    _error(_raw(service, "admin", "POST", path, text), 422, "DUPLICATE_KEY", where)


def test_a_tiny_number_is_valid_json_refused_as_out_of_range_at_its_path(service):
    r = _raw(service, "evaluator", "POST", "/v1/decisions",
             '{"order": {"id": "a", "lines": [{"id": "1", "quantity": 1, '
             '"unit_price": 3e-47}]}}')
    err = _error(r, 422, "NUMBER_OUT_OF_RANGE", "$.order.lines[0].unit_price")
    assert "not valid JSON" not in err["message"] and "3e-47" in err["message"]


@pytest.mark.parametrize("text", ["\u0663", " 3 ", "1_0", "\uff13"])
def test_only_ascii_decimal_strings_are_quantities(service, text):
    r = service.client("evaluator").post("/v1/decisions", json={"order": {
        "id": "a", "lines": [{"id": "1", "sku": "X-1", "quantity": text}]}})
    _error(r, 422, "BAD_ORDER", "$.order.lines[0].quantity")


@pytest.mark.parametrize("path", ["/v1/decisions", "/v1/orders", "/v1/webhooks",
                                  "/v1/approvals/1", "/v1/orders/H-1/events"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/xml"])
def test_a_json_body_must_say_so(service, path, content_type):
    r = _raw(service, "admin", "POST", path, '{"order": {"id": "a"}}', content_type)
    _error(r, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_body_that_is_not_utf8_is_422_not_400(service):
    r = service.client("admin").post("/v1/keys", content=b'{"role": "\xff"}',
                                     headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text


def test_too_many_items_in_a_list_is_413_with_its_path(service):
    r = service.client("evaluator").post("/v1/decisions", json={"order": {
        "id": "a", "attributes": {"tags": list(range(10_001))}}})
    err = _error(r, 413, "TOO_MANY_ITEMS", "$.order.attributes.tags")
    assert "ORDINANCE_MAX_ITEMS" in err["message"]


def test_405_lists_every_method_of_the_path(service):
    r = service.client("admin").delete("/v1/orders")
    assert r.status_code == 405
    assert set(r.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    r = service.client("admin").patch("/v1/orders/H-1")
    assert r.status_code == 405
    assert set(r.headers["allow"].replace(" ", "").split(",")) >= {"GET", "PUT"}


# --- the key before the body --------------------------------------------------------------

def _rss_kb(pid_status: str = "/proc/self/status") -> int:
    with open(pid_status) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _post_big_without_key(url: str, path: str, size: int) -> tuple[bytes, float]:
    """Sends headers announcing `size` bytes and then streams them (from another thread)
    while reading the answer; (the answer's first bytes, seconds until they came)."""
    host, port = url.split("//")[1].split(":")
    sock = socket.create_connection((host, int(port)))
    sock.settimeout(30)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {size}\r\n\r\n".encode())
    chunk = b"x" * (1 << 20)

    def stream() -> None:
        try:
            for _ in range(size // len(chunk)):
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed

    t0 = time.monotonic()
    sender = threading.Thread(target=stream, daemon=True)
    sender.start()
    answer = sock.recv(4096)
    elapsed = time.monotonic() - t0
    sock.close()
    sender.join(timeout=30)
    return answer, elapsed


@pytest.mark.parametrize("path", ["/v1/keys", "/v1/approvals/1", "/v1/webhooks",
                                  "/v1/orders/H-1/holds/release", "/v1/decisions"])
def test_a_large_body_without_a_key_is_401_at_once_and_not_read(service, path):
    # the server runs in this process (tests/api/svc_helpers.ServerThread): its memory is ours
    before = _rss_kb()
    answer, elapsed = _post_big_without_key(service.url, path, 200 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert elapsed < 2
    assert _rss_kb() - before < 50 * 1024


def test_a_body_over_the_cap_with_a_key_is_413_while_it_streams(service):
    def chunks():
        for _ in range(20):
            yield b"x" * (1 << 20)

    r = service.client("admin").post("/v1/keys", content=chunks(),
                                     headers={"Content-Type": "application/json"})
    _error(r, 413, "BODY_TOO_LARGE")
