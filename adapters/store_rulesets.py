"""Rule-set versions: upload (a .tar.gz or .zip), check, store immutably under the digest,
activate atomically, and load each stored version once per process.

Upload unpacks into a private temporary directory under strict limits (no absolute paths,
no `..`, no links or devices, a cap on file count and unpacked bytes, read in chunks so a
compression bomb stops at the cap), runs the engine's `check`, and stores every file's bytes
in the database.

The limits are enforced on what a header *declares*, before anything it announces is read or
decompressed: `tarfile` reads a PAX or GNU long-name header whole into memory and skips a
member's data by decompressing it, so a 522 KB .tar.gz declaring a 512 MiB extended header
cost 512 MB of memory, and a `.` member of 2 GiB five seconds of CPU. `_CappedTarInfo` (the
`_proc_member` hook tarfile offers subclasses) refuses an extended header over
`max_header_bytes`, sparse members, and a member whose declared size would take the archive
past `max_unpacked_bytes` (skipped members count too); a zip's central directory is sized from
its end record before `zipfile` parses it. The files, not a path on some machine, are the version: any process can
materialise them into its cache directory and `load` them, which is how several service
processes over one PostgreSQL share rule sets.
"""
from __future__ import annotations

import base64
import gc
import io
import os
import shutil
import stat
import struct
import tarfile
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ordinance import engine

from .db import Database
from .models import Activation, ActiveRuleSet, RuleSetFile, RuleSetVersion
from .store import Conflict, Invalid, NotFound, Unavailable, iso, now


@dataclass(frozen=True)
class Limits:
    max_archive_bytes: int = 20 * 1024 * 1024
    max_unpacked_bytes: int = 100 * 1024 * 1024
    max_files: int = 2000
    max_path: int = 400
    max_header_bytes: int = 64 * 1024      # one PAX / GNU long-name header
    max_headers_total: int = 8 * 1024 * 1024  # every extended header of an archive together
    max_entries: int = 4000                 # files, directories and everything else


def _too_large(message: str, member: str | None = None) -> Invalid:
    return Invalid(message, code="ARCHIVE_TOO_LARGE", path=member)


# --------------------------------------------------------------------------- unpacking

def _safe_member_path(name: str, limits: Limits) -> PurePosixPath | None:
    """The relative path to write `name` to, or None for a directory entry; Invalid when
    the name could land outside the destination."""
    if len(name) > limits.max_path:
        raise Invalid(f"archive member name longer than {limits.max_path} characters",
                      code="BAD_ARCHIVE")
    if "\\" in name or "\x00" in name:
        raise Invalid(f"archive member {name!r} has a backslash or NUL in its name",
                      code="BAD_ARCHIVE")
    p = PurePosixPath(name)
    if p.is_absolute() or name.startswith("/"):
        raise Invalid(f"archive member {name!r} has an absolute path", code="BAD_ARCHIVE")
    parts = [part for part in p.parts if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise Invalid(f"archive member {name!r} points outside the archive",
                      code="BAD_ARCHIVE")
    if not parts:
        return None
    if ":" in parts[0]:  # drive letters and the like
        raise Invalid(f"archive member {name!r} has a drive in its path", code="BAD_ARCHIVE")
    return PurePosixPath(*parts)


class _Budget:
    """Counts what the headers declare: entries, files, bytes (of every member, extracted
    or skipped: skipping a tar member decompresses it too) and extended-header bytes."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.entries = 0
        self.files = 0
        self.bytes = 0
        self.header_bytes = 0

    def add_entry(self, name: str) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise _too_large(f"archive holds more than {self.limits.max_entries} entries "
                             f"(at {name!r})", name)

    def add_file(self, name: str = "") -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise _too_large(f"archive holds more than {self.limits.max_files} files "
                             f"(at {name!r})", name or None)

    def add_bytes(self, n: int, name: str) -> None:
        """`n` bytes declared by member `name`, refused before they are read."""
        if n > self.limits.max_unpacked_bytes:
            raise _too_large(f"archive member {name!r} declares {n} bytes; the limit is "
                             f"{self.limits.max_unpacked_bytes} bytes unpacked", name)
        self.bytes += n
        if self.bytes > self.limits.max_unpacked_bytes:
            raise _too_large(f"archive unpacks to more than {self.limits.max_unpacked_bytes} "
                             f"bytes (at member {name!r}, {n} bytes)", name)

    def add_header(self, n: int, name: str, kind: str) -> None:
        if n > self.limits.max_header_bytes:
            raise _too_large(f"archive member {name!r} is a {kind} header of {n} bytes; the "
                             f"limit is {self.limits.max_header_bytes} bytes", name)
        self.header_bytes += n
        if self.header_bytes > self.limits.max_headers_total:
            raise _too_large(f"archive's extended headers exceed "
                             f"{self.limits.max_headers_total} bytes in all (at {name!r})",
                             name)


def _copy(src: Any, dest: Path, declared: int, name: str) -> None:
    """Copies at most `declared` bytes (what the header said, already within budget)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        raise Invalid(f"archive holds {dest.name!r} twice", code="BAD_ARCHIVE", path=name)
    left = declared
    with open(dest, "wb") as out:
        while True:
            chunk = src.read(min(65536, left + 1))
            if not chunk:
                break
            left -= len(chunk)
            if left < 0:
                raise Invalid(f"archive member {name!r} holds more than the {declared} bytes "
                              "its header declares", code="BAD_ARCHIVE", path=name)
            out.write(chunk)


def unpack(data: bytes, dest: Path, limits: Limits = Limits()) -> None:
    """Unpack a .tar.gz (or .tar) or .zip archive given as bytes into `dest`."""
    if len(data) > limits.max_archive_bytes:
        raise Invalid(f"archive larger than {limits.max_archive_bytes} bytes",
                      code="ARCHIVE_TOO_LARGE")
    budget = _Budget(limits)
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        _unpack_zip(data, dest, budget, limits)
    elif data[:2] == b"\x1f\x8b" or _looks_like_tar(data):
        _unpack_tar(data, dest, budget, limits)
    else:
        raise Invalid("body is neither a .tar.gz nor a .zip archive", code="BAD_ARCHIVE")


def _looks_like_tar(data: bytes) -> bool:
    return len(data) >= 262 and data[257:262] == b"ustar"


_ZIP_END = struct.Struct("<4s4H2LH")           # end of central directory record
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_ZIP_ENTRY = struct.Struct("<4s24x3H12x")       # central directory entry: lengths of 3 fields


def _check_zip_directory(data: bytes, limits: Limits) -> None:
    """Counts the central directory's entries (walking their fixed-size parts only) before
    `zipfile` builds one ZipInfo per entry: a 20 MB zip can hold 400,000 entries."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 65536 - _ZIP_END.size))
    if at < 0 or len(data) - at < _ZIP_END.size:
        raise Invalid("not a readable zip archive: no end of central directory",
                      code="BAD_ARCHIVE")
    size, end = _ZIP_END.unpack_from(data, at)[5], at
    loc = at - _ZIP64_LOCATOR.size
    if loc >= 0 and data[loc:loc + 4] == b"PK\x06\x07":
        z64 = _ZIP64_LOCATOR.unpack_from(data, loc)[2]
        if z64 + _ZIP64_END.size <= len(data) and data[z64:z64 + 4] == b"PK\x06\x06":
            size, end = _ZIP64_END.unpack_from(data, z64)[8], z64
    pos, count = max(0, end - size), 0
    while pos + _ZIP_ENTRY.size <= end and data[pos:pos + 4] == b"PK\x01\x02":
        count += 1
        if count > limits.max_entries:
            raise _too_large(f"zip central directory holds more than {limits.max_entries} "
                             "entries")
        _, n, m, k = _ZIP_ENTRY.unpack_from(data, pos)
        pos += _ZIP_ENTRY.size + n + m + k


def _unpack_zip(data: bytes, dest: Path, budget: _Budget, limits: Limits) -> None:
    _check_zip_directory(data, limits)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Invalid(f"not a readable zip archive: {exc}", code="BAD_ARCHIVE") from None
    with zf:
        for info in zf.infolist():
            budget.add_entry(info.filename)
            rel = _safe_member_path(info.filename, limits)
            mode = (info.external_attr >> 16) & 0o170000
            if mode and stat.S_ISLNK(mode):
                raise Invalid(f"archive member {info.filename!r} is a symbolic link",
                              code="BAD_ARCHIVE", path=info.filename)
            if rel is None or info.is_dir():
                continue
            budget.add_file(info.filename)
            budget.add_bytes(info.file_size, info.filename)
            try:
                with zf.open(info) as src:
                    _copy(src, dest / rel, info.file_size, info.filename)
            except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError,
                    zlib_error()) as exc:
                raise Invalid(f"cannot read {info.filename!r}: {exc}",
                              code="BAD_ARCHIVE", path=info.filename) from None


_EXTENDED = {tarfile.XHDTYPE: "PAX", tarfile.XGLTYPE: "PAX global",
             tarfile.SOLARIS_XHDTYPE: "PAX", tarfile.GNUTYPE_LONGNAME: "GNU long-name",
             tarfile.GNUTYPE_LONGLINK: "GNU long-link"}
_MAX_CHAIN = 8  # extended headers in a row before one member (PAX + long name + long link)


def _capped_tarinfo(budget: _Budget) -> type[tarfile.TarInfo]:
    """A TarInfo class that checks each header before tarfile acts on it: tarfile calls
    `_proc_member` right after reading a 512-byte header block, before it reads an extended
    header's payload (whole, into memory) or works out where the next header is."""

    class CappedTarInfo(tarfile.TarInfo):
        chain = 0

        def _proc_member(self, tarfile_: Any) -> Any:
            name = self.name
            kind = _EXTENDED.get(self.type)
            if kind is not None:
                CappedTarInfo.chain += 1
                if CappedTarInfo.chain > _MAX_CHAIN:
                    raise _too_large(f"archive has more than {_MAX_CHAIN} extended headers in "
                                     f"a row (at {name!r})", name)
                budget.add_header(self.size, name, kind)
            else:
                CappedTarInfo.chain = 0
                budget.add_entry(name)
                if self.type == tarfile.GNUTYPE_SPARSE:
                    raise _sparse(name)
            return super()._proc_member(tarfile_)

        # PAX-encoded GNU sparse maps are read block by block: refused before that.
        def _proc_gnusparse_00(self, next: Any, *_: Any) -> None:
            raise _sparse(next.name)

        _proc_gnusparse_01 = _proc_gnusparse_10 = _proc_gnusparse_00

    return CappedTarInfo


def _sparse(name: str) -> Invalid:
    return Invalid(f"archive member {name!r} is a sparse file; only regular files are "
                   "accepted", code="BAD_ARCHIVE", path=name)


def _unpack_tar(data: bytes, dest: Path, budget: _Budget, limits: Limits) -> None:
    tarinfo = _capped_tarinfo(budget)
    try:
        tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:*", tarinfo=tarinfo)
    except (tarfile.TarError, OSError, EOFError, zlib_error()) as exc:
        raise Invalid(f"not a readable tar archive: {exc}", code="BAD_ARCHIVE") from None
    try:
        with tf:
            while True:
                try:
                    member = tf.next()
                except (tarfile.TarError, OSError, EOFError) as exc:
                    raise Invalid(f"not a readable tar archive: {exc}",
                                  code="BAD_ARCHIVE") from None
                if member is None:
                    break
                # The size may come from a PAX header; it is counted before the next
                # `next()` skips (decompresses) the member's data.
                budget.add_bytes(member.size, member.name)
                rel = _safe_member_path(member.name, limits)
                if member.issym() or member.islnk():
                    raise Invalid(f"archive member {member.name!r} is a link",
                                  code="BAD_ARCHIVE", path=member.name)
                if member.isdir():
                    continue
                if not member.isfile():
                    raise Invalid(f"archive member {member.name!r} is not a regular file",
                                  code="BAD_ARCHIVE", path=member.name)
                if rel is None:
                    continue
                budget.add_file(member.name)
                src = tf.extractfile(member)
                if src is None:
                    continue
                _copy(src, dest / rel, member.size, member.name)
    except (tarfile.TarError, OSError, EOFError, zlib_error()) as exc:
        raise Invalid(f"not a readable tar archive: {exc}", code="BAD_ARCHIVE") from None


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error


def _find_root(base: Path) -> Path:
    if (base / "ruleset.yaml").is_file():
        return base
    entries = [p for p in base.iterdir()]
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / "ruleset.yaml").is_file():
        return entries[0]
    raise Invalid("archive has no ruleset.yaml at its top (or in its one top folder)",
                  code="NO_MANIFEST", path="ruleset.yaml")


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
        root = _find_root(base)
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
