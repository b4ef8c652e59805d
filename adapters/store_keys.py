"""API keys: created once (the secret is shown once), stored as a sha256 hash, revoked.

A key has one system role, ordered evaluator < analyst < approver < admin (each role can do
what the ones before it can), and, for approvers, the business roles it may approve for
(`sales-manager`, `finance`, ...). Admin keys may approve anything.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select

from .db import Database
from .models import ApiKey
from .store import Invalid, NotFound, iso, now

ROLES = ("evaluator", "analyst", "approver", "admin")
_BUSINESS_ROLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class KeyInfo:
    id: int
    name: str
    role: str
    approves: tuple[str, ...]

    def has_role(self, needed: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(needed)

    def may_approve(self, business_role: str) -> bool:
        return self.role == "admin" or (
            self.role == "approver" and business_role in self.approves
        )


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_approves(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    roles = tuple(part.strip() for part in text.split(",") if part.strip())
    for role in roles:
        if not _BUSINESS_ROLE.match(role):
            raise Invalid(f"{role!r} is not a business role name (letters, digits, . _ -)",
                          path="approves")
    return roles


def create_key(db: Database, role: str, name: str | None = None,
               approves: tuple[str, ...] | list[str] = ()) -> tuple[str, dict]:
    """Returns (secret, description). Only the hash of the secret is stored."""
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}, not {role!r}", path="role")
    if name is not None and ("\x00" in name or not name.strip()):
        raise Invalid("a key name is non-empty text without NUL characters", path="name")
    approves = tuple(approves)
    for r in approves:
        parse_approves(r)
    if approves and role not in ("approver", "admin"):
        raise Invalid("only approver and admin keys approve", path="approves")
    secret = "ord_" + secrets.token_urlsafe(32)
    row = ApiKey(
        name=(name or f"{role}-{secret[4:10]}")[:200],
        role=role,
        approves=",".join(approves),
        key_hash=hash_key(secret),
        prefix=secret[:10],
        created_at=now(),
    )
    with db.session(write=True) as s:
        s.add(row)
        s.flush()
        info = _describe(row)
    return secret, info


def _describe(row: ApiKey) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "approves": [r for r in row.approves.split(",") if r],
        "prefix": row.prefix,
        "created_at": iso(row.created_at),
        "revoked_at": iso(row.revoked_at),
    }


def list_keys(db: Database) -> list[dict]:
    with db.session() as s:
        return [_describe(r) for r in s.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke_key(db: Database, key: str | int) -> dict:
    """Revoke by id or by name."""
    with db.session(write=True) as s:
        if isinstance(key, int) or str(key).isdigit():
            row = s.get(ApiKey, int(key)) if 0 < int(key) < 2**31 else None
        else:
            row = s.scalars(select(ApiKey).where(ApiKey.name == str(key))).first()
        if row is None:
            raise NotFound(f"no key {key!r}")
        if row.revoked_at is None:
            row.revoked_at = now()
        return _describe(row)


def count_keys(db: Database) -> int:
    with db.session() as s:
        return len(s.scalars(select(ApiKey.id).where(ApiKey.revoked_at.is_(None))).all())


class KeyRing:
    """Looks keys up by hash, remembering answers for `ttl` seconds (revocation elsewhere
    takes effect within ttl; in this process at once)."""

    def __init__(self, db: Database, ttl: float = 5.0):
        self.db = db
        self.ttl = ttl
        self._cache: dict[str, tuple[float, KeyInfo | None]] = {}
        self._lock = threading.Lock()

    def cached(self, secret: str) -> tuple[bool, KeyInfo | None]:
        """(known, key) from memory only: known is False when the database must be asked."""
        hit = self._cache.get(hash_key(secret))
        if hit and time.monotonic() - hit[0] < self.ttl:
            return True, hit[1]
        return False, None

    def authenticate(self, secret: str) -> KeyInfo | None:
        digest = hash_key(secret)
        hit = self._cache.get(digest)
        t = time.monotonic()
        if hit and t - hit[0] < self.ttl:
            return hit[1]
        with self.db.session() as s:
            row = s.scalars(select(ApiKey).where(ApiKey.key_hash == digest)).first()
            info = None
            if row is not None and row.revoked_at is None:
                info = KeyInfo(row.id, row.name, row.role,
                               tuple(r for r in row.approves.split(",") if r))
        with self._lock:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[digest] = (t, info)
        return info

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
