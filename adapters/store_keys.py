"""API keys: created once (the secret is shown once), stored as a sha256 hash, revoked.

A key has one system role, ordered evaluator < analyst < approver < admin (each role can do
what the ones before it can), and, for approvers, the business roles it may approve for
(`sales-manager`, `finance`, ...). Admin keys may approve anything.

A key's name is printable text of 1 to 200 characters, unique among the active keys (a
partial unique index keeps it so under concurrent creations). A key is revoked by its id or
by its prefix (the first 10 characters of the secret, which `list` shows), said explicitly:
names repeat over time, and a name that looks like a number is not an id.
"""
from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .db import Database
from .models import ApiKey
from .store import Conflict, Invalid, NotFound, iso, now

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
    if name is not None:
        check_name(name)
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
    try:
        with db.session(write=True) as s:
            if s.scalars(select(ApiKey.id).where(ApiKey.name == row.name,
                                                 ApiKey.revoked_at.is_(None))).first():
                raise _name_taken(row.name)
            s.add(row)
            s.flush()
            info = _describe(row)
    except IntegrityError:  # created by someone else at the same moment
        raise _name_taken(row.name) from None
    return secret, info


def _hidden_class() -> str:
    """A regex class body (literal characters) of the control (Cc), format (Cf: zero-width,
    bidi overrides) and line/paragraph separator (Zl, Zp) characters: the ones that would
    break or disguise a line of a log. 23 ranges, cheap for a regex; the OpenAPI document
    gives the same pattern (api/schemas.py)."""
    ranges, start = [], None
    for cp in range(sys.maxunicode + 2):
        hidden = cp <= sys.maxunicode and unicodedata.category(chr(cp)) in HIDDEN
        if hidden and start is None:
            start = cp
        elif not hidden and start is not None:
            ranges.append(chr(start) if start == cp - 1 else f"{chr(start)}-{chr(cp - 1)}")
            start = None
    return "".join(ranges)


HIDDEN = ("Cc", "Cf", "Zl", "Zp")
_HIDDEN = _hidden_class()
# a key name: no hidden character, and not only white space
NAME_PATTERN = f"^[^{_HIDDEN}]*[^{_HIDDEN}\\s][^{_HIDDEN}]*$"
_NAME = re.compile(NAME_PATTERN)


def check_name(name: str) -> None:
    """A name is shown in lists, logs and audit trails: 1 to 200 characters, not only white
    space, no control, format or line separator character (NAME_PATTERN)."""
    if not name.strip() or len(name) > 200:
        raise Invalid("a key name is 1 to 200 characters, not only spaces",
                      code="BAD_KEY_NAME", path="$.name")
    if not _NAME.fullmatch(name):
        bad = next(c for c in name if unicodedata.category(c) in HIDDEN)
        raise Invalid(f"a key name is printable text; {bad!r} at position {name.index(bad)} "
                      "is a control, format or line separator character", code="BAD_KEY_NAME",
                      path="$.name")


def _name_taken(name: str) -> Conflict:
    """A valid name an active key holds: a conflict with what is stored (409), not bad input."""
    return Conflict(f"an active key is already named {name!r}; choose another name (or revoke "
                   "that key first)", code="KEY_NAME_TAKEN", path="$.name")


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


def revoke_key(db: Database, *, key_id: int | None = None, prefix: str | None = None) -> dict:
    """Revoke the key with this id, or the one whose secret starts with this prefix (the
    10 characters `list_keys` shows); exactly one of the two. Revoking a revoked key again
    changes nothing."""
    if (key_id is None) == (prefix is None):
        raise Invalid("name the key to revoke by its id or by its prefix (one of the two)",
                      code="BAD_REQUEST")
    with db.session(write=True) as s:
        if key_id is not None:
            row = s.get(ApiKey, key_id) if 0 < key_id < 2**31 else None
            what = f"id {key_id}"
        else:
            rows = list(s.scalars(select(ApiKey).where(ApiKey.prefix == prefix).limit(2)))
            if len(rows) > 1:
                raise Conflict(f"more than one key has the prefix {prefix!r}; revoke by id",
                               code="AMBIGUOUS_PREFIX")
            row = rows[0] if rows else None
            what = f"prefix {prefix!r}"
        if row is None:
            raise NotFound(f"no key with {what}", code="KEY_NOT_FOUND")
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
