"""Events as they arrive: parsing with JSON paths, the idempotency key, and their JSON form.

In: the bytes a fulfilment or payment system POSTs to /v1/orders/{id}/events. Out: an `Event`
(id, type, time, payload with exact Decimals) or `Invalid` (422) naming the JSON path. The
idempotency key is (order id, event id): the event store (table orch_events) keeps a hash of
the payload and the answer given, so a repeated delivery gets the same answer and changes
nothing, and the same id with other content is a 409.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ordinance.engine import codec

from .clock import parse_instant
from .store import Invalid

_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
MAX_EVENT_BYTES = 256 * 1024


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    at: datetime
    payload: dict[str, Any]  # the whole body, numbers as Decimal
    digest: str  # sha256 of the canonical payload

    def scope(self) -> dict[str, Any]:
        """What `event` names in rule expressions: the payload, with `at` as ISO text."""
        out = dict(self.payload)
        out["id"], out["type"], out["at"] = self.id, self.type, iso_z(self.at)
        return out


def iso_z(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, Decimal):
        return {"$d": format(value.normalize(), "f") if value.is_finite() else str(value)}
    return value


def parse_event(raw: bytes | str | dict[str, Any], now: datetime) -> Event:
    """Validates an event body; `now` (from the clock adapter) is its time when it has no `at`."""
    if isinstance(raw, (bytes, str)):
        if len(raw) > MAX_EVENT_BYTES:
            raise Invalid(f"an event is at most {MAX_EVENT_BYTES} bytes", code="BAD_EVENT",
                          path="$")
        try:
            body = codec.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise Invalid(f"the body is not JSON: {exc}", code="BAD_EVENT", path="$") from None
    else:
        body = raw
    if not isinstance(body, dict):
        raise Invalid("an event is a JSON object", code="BAD_EVENT", path="$")
    eid = body.get("id")
    if isinstance(eid, Decimal):
        eid = format(eid, "f")
    if not isinstance(eid, str) or not eid.strip() or len(eid) > 200 or "\x00" in eid:
        raise Invalid("id is the event's idempotency key: a text of 1 to 200 characters",
                      code="BAD_EVENT", path="$.id")
    etype = body.get("type")
    if not isinstance(etype, str) or not _TYPE.match(etype):
        raise Invalid("type is an event type such as shipment_confirmed (lower case, digits, _)",
                      code="BAD_EVENT", path="$.type")
    at = now
    if body.get("at") is not None:
        if not isinstance(body["at"], str):
            raise Invalid("at is an ISO 8601 date-time with a zone", code="BAD_EVENT",
                          path="$.at")
        try:
            at = parse_instant(body["at"])
        except ValueError as exc:
            raise Invalid(f"at: {exc}", code="BAD_EVENT", path="$.at") from None
    if etype in ("shipment_confirmed", "return_received"):
        _lines(body)
    if etype in ("step_started", "step_completed") and not isinstance(body.get("step"), str):
        raise Invalid(f"a {etype} event names its step (a text)", code="BAD_EVENT",
                      path="$.step")
    for key in ("amount", "quantity", "on_hand"):
        if key in body and body[key] is not None:
            body[key] = _number(body[key], f"$.{key}")
    text = json.dumps(_canonical(body), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return Event(eid, etype, at, body, hashlib.sha256(text.encode()).hexdigest())


def _number(value: Any, path: str) -> Decimal:
    """A number, or a text holding one (money travels as text: "12.34")."""
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except ArithmeticError:
            value = None
    if not isinstance(value, Decimal) or not value.is_finite():
        raise Invalid("a number (or a text holding one)", code="BAD_EVENT", path=path)
    return value


def _lines(body: dict[str, Any]) -> None:
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        raise Invalid("lines is a non-empty list of {line_id, quantity}", code="BAD_EVENT",
                      path="$.lines")
    for i, ln in enumerate(lines):
        if not isinstance(ln, dict):
            raise Invalid("a line is {line_id, quantity}", code="BAD_EVENT", path=f"$.lines[{i}]")
        lid = ln.get("line_id")
        if isinstance(lid, Decimal):
            ln["line_id"] = lid = format(lid, "f")
        if not isinstance(lid, str) or not lid:
            raise Invalid("line_id names a line of the order", code="BAD_EVENT",
                          path=f"$.lines[{i}].line_id")
        q = ln.get("quantity")
        if isinstance(q, str):
            try:
                ln["quantity"] = q = Decimal(q.strip())
            except ArithmeticError:
                q = None
        if not isinstance(q, Decimal) or not q.is_finite() or q <= 0:
            raise Invalid("quantity is a number above zero", code="BAD_EVENT",
                          path=f"$.lines[{i}].quantity")


def shipped_lines(event: Event) -> list[tuple[str, Decimal]]:
    return [(str(ln["line_id"]), ln["quantity"]) for ln in event.payload.get("lines", [])]


# --- a sample stream (crash test, benchmark, replay demos) ------------------------------------
# Web orders that get declined and authorised, scheduled, released, shipped in two parts,
# re-estimated and delivered; deterministic for a seed.

START = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
SKUS = ["HTL-0001", "FAS-0007", "FAS-0017", "HTL-0004", "FAS-0002"]


def _iso_t(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def sample_order(oid: str, rng: random.Random) -> dict[str, Any]:
    skus = rng.sample(SKUS, 2)
    return {"id": oid, "order_date": "2026-11-20T09:00:00Z", "channel": "web",
            "currency": "USD", "customer": {"id": rng.choice(["C-00004", "C-00044",
                                                              "C-00047"])},
            "ship_to": {"street": "1 Main St", "city": "Tampa", "country": "US",
                        "state": "FL", "postal": "33636"},
            "payment": {"method": "card"}, "requested_date": "2026-11-25",
            "lines": [{"id": "1", "sku": skus[0], "quantity": rng.randint(2, 40)},
                      {"id": "2", "sku": skus[1], "quantity": rng.randint(2, 40)}]}


def sample_stream(n_orders: int, seed: int = 7, prefix: str = "S") -> tuple[
        list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """(orders, events): events as (order id, body) in time order."""
    rng = random.Random(seed)
    orders, timed = [], []
    for i in range(n_orders):
        o = sample_order(f"{prefix}-{i:05d}", rng)
        orders.append(o)
        oid = o["id"]
        t = START + timedelta(minutes=rng.randint(0, 600))
        seq = 0

        def ev(etype: str, at: datetime, **payload: Any) -> None:
            nonlocal seq
            seq += 1
            timed.append((at, oid, {"id": f"{oid}-{seq}", "type": etype, "at": _iso_t(at),  # noqa: B023 - called within its loop iteration
                                    **payload}))

        ev("step_started", t, step="schedule")
        for k in range(rng.choice([0, 0, 1, 2, 3])):
            ev("payment_declined", t + timedelta(minutes=5 * (k + 1)), amount="10.00")
        t += timedelta(minutes=30)
        ev("payment_authorised", t, reference=f"A{i}")
        ev("step_completed", t, step="schedule")
        ev("scheduled", t + timedelta(minutes=1))
        ev("released", t + timedelta(minutes=2))
        ev("step_started", t + timedelta(minutes=2), step="ship")
        q1 = o["lines"][0]["quantity"]
        part = rng.randint(1, q1)
        t += timedelta(hours=rng.choice([3, 20, 30, 60]))
        ev("shipment_confirmed", t, lines=[{"line_id": "1", "quantity": part}])
        eta = (START + timedelta(days=rng.choice([3, 4, 7]))).date().isoformat()
        ev("eta_updated", t, eta=eta)
        t += timedelta(hours=rng.choice([2, 26, 80]))
        rest = [{"line_id": "2", "quantity": o["lines"][1]["quantity"]}]
        if part < q1:
            rest.append({"line_id": "1", "quantity": q1 - part})
        ev("shipment_confirmed", t, lines=rest)
        ev("step_completed", t, step="ship")
        ev("delivered", t + timedelta(days=1))
    timed.sort(key=lambda x: (x[0], x[1], x[2]["id"]))
    return orders, [(oid, body) for _, oid, body in timed]
