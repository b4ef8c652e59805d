"""Rule-set versions: upload (a .tar.gz or .zip), check, store immutably under the digest,
activate atomically, and load each stored version once per process.

Upload unpacks into a private temporary directory under strict limits (adapters/archives.py),
runs the engine's `check`, and stores every file's bytes in the database. The files, not a
path on some machine, are the version: any process can materialise them into its cache
directory and `load` them, which is how several service processes over one PostgreSQL share
rule sets.
"""
from __future__ import annotations

import base64
import gc
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ordinance import engine

from .archives import Limits, find_root, unpack
from .db import Database
from .models import Activation, ActiveRuleSet, RuleSetFile, RuleSetVersion
from .store import Conflict, Invalid, NotFound, Unavailable, iso, now


def diagnostic_json(d: Any, root: Path | None = None) -> dict[str, Any]:
    span = getattr(d, "span", None)
    file = getattr(span, "file", None)
    if file is not None and root is not None:
        try:
            file = str(Path(file).resolve().relative_to(root.resolve()))
        except (ValueError, OSError):
            file = str(file)
    code = getattr(d, "code", None)
    return {
        "code": getattr(code, "value", code) if code is not None else None,
        "severity": getattr(d, "severity", "error"),
        "message": getattr(d, "message", str(d)),
        "file": None if file is None else str(file),
        "line": getattr(span, "line", None),
        "col": getattr(span, "col", None),
        "hint": getattr(d, "hint", None),
    }


# --------------------------------------------------------------------------- storage

def _version_json(row: RuleSetVersion, active_id: int | None = None) -> dict[str, Any]:
    return {
        "name": row.name,
        "digest": row.digest,
        "version": row.version,
        "description": row.description,
        "uploaded_at": iso(row.uploaded_at),
        "uploaded_by": row.uploaded_by,
        "active": active_id is not None and row.id == active_id,
    }


def _read_files(root: Path) -> list[tuple[str, bytes]]:
    files = []
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            raise Invalid(f"{p.name} is a link", code="BAD_ARCHIVE")
        if p.is_file():
            files.append((p.relative_to(root).as_posix(), p.read_bytes()))
    return files


def store_directory(db: Database, root: Path, by: str) -> tuple[bool, dict[str, Any]]:
    """Check the rule set at `root` and store it. Returns (created, description)."""
    diagnostics = engine.check(str(root))
    errors = [d for d in diagnostics if getattr(d, "severity", "error") == "error"]
    if errors:
        raise Invalid(
            f"the rule set is invalid: {len(errors)} error(s)", code="RULESET_INVALID",
            details=[diagnostic_json(d, root) for d in diagnostics])
    try:
        rs = engine.load(str(root))
    except engine.RuleSetInvalid as exc:
        raise Invalid("the rule set is invalid", code="RULESET_INVALID",
                      details=[diagnostic_json(d, root) for d in exc.diagnostics]) from None
    files = _read_files(root)
    desc = ""
    try:
        import yaml

        manifest = yaml.safe_load((root / "ruleset.yaml").read_text("utf-8")) or {}
        if isinstance(manifest, dict):
            desc = str(manifest.get("description") or "")
    except Exception:  # the engine already accepted the manifest; a description is optional
        desc = ""
    with db.session(write=True) as s:
        existing = s.scalars(select(RuleSetVersion).where(
            RuleSetVersion.name == rs.name, RuleSetVersion.digest == rs.digest)).first()
        if existing is not None:
            return False, _version_json(existing, _active_id(s))
        row = RuleSetVersion(name=rs.name, digest=rs.digest, version=str(rs.version),
                             description=desc, uploaded_at=now(), uploaded_by=by)
        s.add(row)
        s.flush()
        for path, content in files:
            s.add(RuleSetFile(ruleset_id=row.id, path=path, content=content))
        try:
            s.flush()
        except IntegrityError:
            s.rollback()
            with db.session() as s2:
                again = s2.scalars(select(RuleSetVersion).where(
                    RuleSetVersion.name == rs.name, RuleSetVersion.digest == rs.digest)).first()
                if again is None:
                    raise
                return False, _version_json(again, _active_id(s2))
        return True, _version_json(row, _active_id(s))


def upload(db: Database, data: bytes, by: str, limits: Limits = Limits()) -> tuple[bool, dict]:
    with tempfile.TemporaryDirectory(prefix="ordinance-upload-") as tmp:
        base = Path(tmp) / "x"
        base.mkdir()
        unpack(data, base, limits)
        root = find_root(base)
        return store_directory(db, root, by)


def _active_id(s: Any) -> int | None:
    row = s.get(ActiveRuleSet, 1)
    return None if row is None else row.ruleset_id


def list_versions(db: Database, name: str | None = None) -> list[dict[str, Any]]:
    with db.session() as s:
        q = select(RuleSetVersion).order_by(RuleSetVersion.id)
        if name:
            q = q.where(RuleSetVersion.name == name)
        active = _active_id(s)
        return [_version_json(r, active) for r in s.scalars(q)]


def _get_row(s: Any, name: str, digest: str) -> RuleSetVersion:
    row = s.scalars(select(RuleSetVersion).where(
        RuleSetVersion.name == name, RuleSetVersion.digest == digest)).first()
    if row is None:
        raise NotFound(f"no stored rule set {name}@{digest}", code="RULESET_NOT_FOUND")
    return row


def get_version(db: Database, name: str, digest: str) -> dict[str, Any]:
    with db.session() as s:
        row = _get_row(s, name, digest)
        out = _version_json(row, _active_id(s))
        files = []
        for f in s.scalars(select(RuleSetFile).where(RuleSetFile.ruleset_id == row.id)
                           .order_by(RuleSetFile.path)):
            try:
                files.append({"path": f.path, "encoding": "utf-8",
                              "content": f.content.decode("utf-8")})
            except UnicodeDecodeError:
                files.append({"path": f.path, "encoding": "base64",
                              "content": base64.b64encode(f.content).decode()})
        out["files"] = files
        return out


def activate(db: Database, name: str, digest: str, by: str) -> dict[str, Any]:
    """Make a stored version the active one in one statement; the previous one stays
    stored (activate it again to roll back)."""
    with db.session(write=True) as s:
        return activate_in(s, db, name, digest, by)


def activate_in(s: Any, db: Database, name: str, digest: str, by: str) -> dict[str, Any]:
    """`activate` inside the caller's transaction (a rollout's promotion: adapters/rollouts.py)."""
    row = _get_row(s, name, digest)
    current = s.get(ActiveRuleSet, 1, with_for_update=not db.is_sqlite)
    previous = None if current is None else current.ruleset_id
    t = now()
    if current is None:
        s.add(ActiveRuleSet(id=1, ruleset_id=row.id, activated_at=t, activated_by=by))
    else:
        s.execute(update(ActiveRuleSet).where(ActiveRuleSet.id == 1).values(
            ruleset_id=row.id, activated_at=t, activated_by=by))
    s.add(Activation(ruleset_id=row.id, previous_id=previous, activated_at=t,
                     activated_by=by))
    out = _version_json(row, row.id)
    prev_row = s.get(RuleSetVersion, previous) if previous is not None else None
    out["previous"] = None if prev_row is None else {"name": prev_row.name,
                                                      "digest": prev_row.digest}
    out["activated_at"] = iso(t)
    out["activated_by"] = by
    return out


def active_version(db: Database) -> dict[str, Any] | None:
    with db.session() as s:
        current = s.get(ActiveRuleSet, 1)
        if current is None:
            return None
        row = s.get(RuleSetVersion, current.ruleset_id)
        out = _version_json(row, row.id)
        out["activated_at"] = iso(current.activated_at)
        out["activated_by"] = current.activated_by
        return out


# --------------------------------------------------------------------------- loading

class RuleSets:
    """Resolves rule-set references to compiled rule sets, loading each digest once per
    process. Compiled rule sets are immutable, so a decision that started on one keeps it
    even if the active version changes while it runs."""

    def __init__(self, db: Database, cache_dir: str | Path, active_ttl: float = 1.0):
        self.db = db
        self.cache_dir = Path(cache_dir)
        self.active_ttl = active_ttl
        self._compiled: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._active: tuple[float, tuple[int, str, str] | None] | None = None

    def invalidate_active(self) -> None:
        self._active = None

    def _active_pointer(self) -> tuple[int, str, str] | None:
        cached = self._active
        t = time.monotonic()
        if cached is not None and t - cached[0] < self.active_ttl:
            return cached[1]
        with self.db.session() as s:
            current = s.get(ActiveRuleSet, 1)
            pointer = None
            if current is not None:
                row = s.get(RuleSetVersion, current.ruleset_id)
                pointer = (row.id, row.name, row.digest)
        self._active = (t, pointer)
        return pointer

    def active_if_cached(self) -> Any:
        """The active compiled rule set when this process knows it without any I/O, else
        None (then call `resolve`)."""
        cached = self._active
        if cached is None or cached[1] is None or \
                time.monotonic() - cached[0] >= self.active_ttl:
            return None
        return self._compiled.get(cached[1][2])

    def resolve(self, ref: str | None) -> Any:
        """`None` means the active version; else `NAME@DIGEST` or `NAME@VERSION`."""
        if ref is None:
            pointer = self._active_pointer()
            if pointer is None:
                raise Conflict(
                    "no rule set is active: upload one (POST /v1/rulesets) and activate it "
                    "(POST /v1/rulesets/{name}/{digest}/activate), or name one in \"ruleset\"",
                    code="NO_ACTIVE_RULESET")
            return self._compiled_for(pointer[0], pointer[2])
        name, sep, which = ref.partition("@")
        if not sep or not name or not which:
            raise Invalid(f"ruleset must be NAME@DIGEST or NAME@VERSION, not {ref!r}",
                          code="BAD_RULESET_REF", path="$.ruleset")
        with self.db.session() as s:
            q = select(RuleSetVersion).where(RuleSetVersion.name == name)
            if which.startswith("sha256:"):
                q = q.where(RuleSetVersion.digest == which)
            else:
                q = q.where(RuleSetVersion.version == which)
            row = s.scalars(q.order_by(RuleSetVersion.id.desc())).first()
            if row is None:
                raise NotFound(f"no stored rule set {ref}", code="RULESET_NOT_FOUND",
                               path="$.ruleset")
            key = (row.id, row.digest)
        return self._compiled_for(*key)

    def _compiled_for(self, row_id: int, digest: str) -> Any:
        rs = self._compiled.get(digest)
        if rs is not None:
            return rs
        with self._lock:
            lock = self._locks.setdefault(digest, threading.Lock())
        with lock:
            rs = self._compiled.get(digest)
            if rs is None:
                path = self._materialise(row_id, digest)
                try:
                    rs = engine.load(str(path))
                except engine.RuleSetInvalid as exc:
                    raise Unavailable(
                        f"stored rule set {digest} no longer loads with this engine "
                        f"({len(exc.diagnostics)} diagnostics)", code="RULESET_BROKEN") from None
                self._compiled[digest] = rs
                # A compiled rule set is many long-lived objects; moving everything alive
                # now out of the collector's sight keeps full collections (pauses in the
                # tail latency) short.
                gc.collect()
                gc.freeze()
        return rs

    def _materialise(self, row_id: int, digest: str) -> Path:
        """Write the stored files to `cache_dir/sha256-HEX/` once and return it. The
        directory only ever appears by renaming a complete temporary one, so if it exists it
        is whole (several processes may race to write it; the first rename wins)."""
        target = self.cache_dir / digest.replace(":", "-")
        if target.is_dir():
            return target
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with self.db.session() as s:
            files = [(f.path, f.content) for f in s.scalars(
                select(RuleSetFile).where(RuleSetFile.ruleset_id == row_id))]
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.cache_dir))
        for path, content in files:
            dest = tmp / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(content)
        try:
            os.rename(tmp, target)
        except OSError:  # another process got there first; theirs holds the same bytes
            shutil.rmtree(tmp, ignore_errors=True)
        return target
