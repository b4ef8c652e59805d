"""Webhooks: subscriptions, an outbox written in the same transaction as what it reports, and
delivery signed with HMAC-SHA256, retried with exponential back-off.

Topics: `status` (a lifecycle move, a hold, a release), `alert` (raised, re-rated, cleared) and
`notify` (a rule's `notify` action: its detail carries the rule's own topic and message).
`outbox_rows` are written in the event's transaction, so a notification exists exactly when its cause
was committed: a crash loses none. `deliver_due(now)` posts each due message (oldest first) with
headers `X-Ordinance-Signature: sha256=HEX` (HMAC-SHA256 of the body with the subscription's
secret), `X-Ordinance-Delivery: ID` (receivers de-duplicate on it: delivery is at least once)
and `X-Ordinance-Topic`; a 2xx marks it delivered, anything else is retried after 2^attempts
seconds (capped at an hour), and after MAX_ATTEMPTS it is `dead` (kept, listed, never dropped).
ORDINANCE_WEBHOOK_HOSTS (comma-separated) limits the hosts a subscription may name; the tests
set it to 127.0.0.1.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
from sqlalchemy import select

from .clock import utc
from .models_orchestration import OutboxMessage, WebhookSubscription
from .store import Invalid, NotFound, rows_in_state

TOPICS = ("status", "alert", "notify", "fulfilment", "rollout")  # rollout: adapters/rollouts.py
# a subscription that names no topics: what people follow; fulfilment requests go only to the
# warehouse and carrier systems that ask for them
DEFAULT_TOPICS = ("status", "alert", "notify")
KIND_TOPIC = {"transition": "status", "hold": "status", "release": "status",
              "alert": "alert", "alert_cleared": "alert", "notify": "notify",
              "fulfilment_request": "fulfilment", "fulfilment_cancelled": "fulfilment"}
MAX_ATTEMPTS = 10
LEASE_SECONDS = 30  # longer than one delivery can take (the client's timeout is 5 s)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def subscribe(db: Any, body: Any, now: datetime) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("a subscription is {url, secret, topics}", code="BAD_WEBHOOK", path="$")
    url = body.get("url")
    parsed = urlparse(url) if isinstance(url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname \
            or len(url) > 2000:
        raise Invalid("url is an http(s) URL", code="BAD_WEBHOOK", path="$.url")
    allowed = [h.strip() for h in os.environ.get("ORDINANCE_WEBHOOK_HOSTS", "").split(",")
               if h.strip()]
    if allowed and parsed.hostname not in allowed:
        raise Invalid(f"webhooks may only go to {', '.join(allowed)}", code="BAD_WEBHOOK",
                      path="$.url")
    secret = body.get("secret")
    if not isinstance(secret, str) or len(secret) < 16 or len(secret) > 200:
        raise Invalid("secret is a text of 16 to 200 characters", code="BAD_WEBHOOK",
                      path="$.secret")
    topics = body.get("topics", list(DEFAULT_TOPICS))
    if not isinstance(topics, list) or not topics or any(t not in TOPICS for t in topics):
        raise Invalid(f"topics is a list of {', '.join(TOPICS)}", code="BAD_WEBHOOK",
                      path="$.topics")
    with db.session(write=True) as s:
        sub = WebhookSubscription(url=url, secret=secret, topics=",".join(topics), active=1,
                                  created_at=now)
        s.add(sub)
        s.flush()
        return {"id": sub.id, "url": url, "topics": topics}


def active_subscriptions(s: Any) -> list[tuple[int, frozenset[str]]]:
    """(id, topics) of every active subscription."""
    return [(sid, frozenset(topics.split(","))) for sid, topics in s.execute(
        select(WebhookSubscription.id, WebhookSubscription.topics).where(
            WebhookSubscription.active == 1))]


def outbox_rows(subs: list[tuple[int, frozenset[str]]], order_id: str,
                notes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """orch_outbox rows for every subscription of each note's topic; the caller inserts them in
    the transaction of what they report."""
    rows = []
    for note in notes:
        topic = KIND_TOPIC.get(note["kind"])
        for sid, topics in subs:
            if topic is None or topic not in topics:
                continue
            rows.append({"subscription_id": sid, "topic": topic, "state": "pending",
                         "payload": json.dumps({"order_id": order_id, **{
                             k: v for k, v in note.items() if k != "at_dt"}},
                             separators=(",", ":"), default=str),
                         "attempts": 0, "next_attempt_at": note["at_dt"]})
    return rows


def deliver_due(db: Any, now: datetime, client: httpx.Client | None = None,
                limit: int = 200) -> dict[str, int]:
    """Posts the messages due by `now`, each signed; a failure is retried with backoff and a
    message is dead after MAX_ATTEMPTS. Messages are leased first (FOR UPDATE SKIP LOCKED, their
    next attempt moved LEASE_SECONDS ahead, committed), so several processes delivering at once
    never post the same message together, and one that dies mid-delivery is retried when its
    lease runs out."""
    own = client is None
    client = client or httpx.Client(timeout=5)
    done = failed = 0
    try:
        with db.session() as s:  # most rounds find nothing: no write lock for them
            if s.scalars(select(OutboxMessage.id).where(
                    OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now)
                    .limit(1)).first() is None:
                return {"delivered": 0, "failed": 0}
        with db.session(write=True) as s:
            due = s.scalars(select(OutboxMessage).where(
                OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.id).limit(limit)
                .with_for_update(skip_locked=True)).all()
            lease_until = utc(now) + timedelta(seconds=LEASE_SECONDS)
            for m in due:
                m.next_attempt_at = lease_until
            subs = {w.id: w for w in s.scalars(select(WebhookSubscription))}
            s.flush()
            s.expunge_all()  # read after the commit, as they were leased
        for msg in due:
            sub = subs.get(msg.subscription_id)
            body = msg.payload.encode()
            error = None
            try:
                if sub is None:
                    raise NotFound("subscription removed")
                r = client.post(sub.url, content=body, headers={
                    "Content-Type": "application/json", "X-Ordinance-Topic": msg.topic,
                    "X-Ordinance-Delivery": str(msg.id),
                    "X-Ordinance-Signature": sign(sub.secret, body)})
                if not 200 <= r.status_code < 300:
                    error = f"HTTP {r.status_code}"
            except (httpx.HTTPError, NotFound) as exc:
                error = str(exc) or exc.__class__.__name__
            with db.session(write=True) as s:
                m = s.get(OutboxMessage, msg.id)
                if m is None or m.state != "pending":
                    continue
                m.attempts += 1
                if error is None:
                    m.state, m.delivered_at, m.last_error = "delivered", now, None
                    done += 1
                else:
                    m.last_error = error[:2000]
                    failed += 1
                    if m.attempts >= MAX_ATTEMPTS:
                        m.state = "dead"
                    else:
                        m.next_attempt_at = utc(now) + timedelta(
                            seconds=min(2 ** m.attempts, 3600))
    finally:
        if own:
            client.close()
    return {"delivered": done, "failed": failed}


def outbox(db: Any, state: str = "pending") -> dict[str, Any]:
    with db.session() as s:
        rows = rows_in_state(s, OutboxMessage, state, ("pending", "delivered", "dead"),
                             limit=1000)
        return {"items": [{"id": m.id, "subscription_id": m.subscription_id, "topic": m.topic,
                           "state": m.state, "attempts": m.attempts,
                           "next_attempt_at": utc(m.next_attempt_at).isoformat(),
                           "last_error": m.last_error, "payload": json.loads(m.payload)}
                          for m in rows]}
