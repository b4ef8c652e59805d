"""Rule-set archives (.tar.gz or .zip) unpacked under strict limits.

In: the archive's bytes, a destination directory, `Limits`. Out: its files written under the
destination (`unpack`), and the folder holding its ruleset.yaml (`find_root`). Raises Invalid
(BAD_ARCHIVE, ARCHIVE_TOO_LARGE, NO_MANIFEST) naming the member.

No absolute paths, no `..`, no links or devices, a cap on file count and unpacked bytes, read in
chunks so a compression bomb stops at the cap. The limits are enforced on what a header
*declares*, before anything it announces is read or decompressed: `tarfile` reads a PAX or GNU
long-name header whole into memory and skips a member's data by decompressing it, so a 522 KB
.tar.gz declaring a 512 MiB extended header cost 512 MB of memory, and a `.` member of 2 GiB
five seconds of CPU. `_capped_tarinfo` (the `_proc_member` hook tarfile offers subclasses)
refuses an extended header over `max_header_bytes`, sparse members, and a member whose declared
size would take the archive past `max_unpacked_bytes` (skipped members count too); a zip's
central directory is sized from its end record before `zipfile` parses it.
"""
from __future__ import annotations

import io
import stat
import struct
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .store import Invalid


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


def find_root(base: Path) -> Path:
    if (base / "ruleset.yaml").is_file():
        return base
    entries = [p for p in base.iterdir()]
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / "ruleset.yaml").is_file():
        return entries[0]
    raise Invalid("archive has no ruleset.yaml at its top (or in its one top folder)",
                  code="NO_MANIFEST", path="ruleset.yaml")
