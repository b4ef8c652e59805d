"""Rule-set uploads against archive header bombs, over real HTTP: an extended header (PAX,
GNU long name) or a member's declared size is refused from its header, before it is read or
decompressed. Memory is the process's peak resident size (VmHWM, reset through
/proc/self/clear_refs; the server runs in this process), time its CPU time; the bounds are
generous (behaviour, not a benchmark): before the fix the PAX bomb peaked at +520 MB and took
11 s of CPU, the 2 GiB `.` member 6.5 s."""
from __future__ import annotations

import gzip
import io
import tarfile
import time
import zipfile
from contextlib import contextmanager
from typing import Iterator

import pytest

GZ = {"Content-Type": "application/gzip"}
MIB = 1 << 20
_GZ_MIB = gzip.compress(b"\0" * MIB, 9)  # one gzip member of 1 MiB of zeros, about 1 KB


def _header(name: str, size: int, kind: bytes, fmt: int = tarfile.GNU_FORMAT) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(format=fmt)


def _bomb(name: str, size: int, kind: bytes) -> bytes:
    """A .tar.gz whose first header declares `size` bytes that follow as zeros: gzip members
    concatenated, so a 512 MiB payload is a 530 KB body built in a millisecond."""
    assert size % MIB == 0
    return (gzip.compress(_header(name, size, kind)) + _GZ_MIB * (size // MIB)
            + gzip.compress(b"\0" * 1024))


def _peak_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))


@contextmanager
def _cost() -> Iterator[dict[str, float]]:
    """Peak memory growth (MB) and CPU seconds of the block, for the whole process."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current resident size
    before, cpu = _peak_kb(), time.process_time()
    out: dict[str, float] = {}
    yield out
    out["mb"] = (_peak_kb() - before) / 1024
    out["cpu"] = time.process_time() - cpu


def _refused(service, body: bytes, code: str, member: str | None,
             content_type: str = "application/gzip") -> dict:
    with _cost() as cost:
        r = service.client("analyst").post("/v1/rulesets", content=body,
                                           headers={"Content-Type": content_type})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == code, err
    assert err.get("path") == member, err
    assert cost["mb"] < 64, cost
    assert cost["cpu"] < 1.5, cost
    return err


@pytest.mark.parametrize("name, kind, what", [
    ("././@PaxHeader", tarfile.XHDTYPE, "PAX header of 536870912 bytes"),
    ("././@LongLink", tarfile.GNUTYPE_LONGNAME, "GNU long-name header of 536870912 bytes"),
    ("pax_global_header", tarfile.XGLTYPE, "PAX global header of 536870912 bytes"),
])
def test_an_extended_header_of_512_mib_is_refused_from_its_header(service, name, kind, what):
    body = _bomb(name, 512 * MIB, kind)
    assert len(body) < 600_000
    err = _refused(service, body, "ARCHIVE_TOO_LARGE", name)
    assert f"archive member {name!r} is a {what}; the limit is 65536 bytes" in err["message"]


def test_a_dot_member_of_2_gib_is_refused_before_it_is_decompressed(service):
    err = _refused(service, _bomb(".", 2048 * MIB, tarfile.REGTYPE), "ARCHIVE_TOO_LARGE", ".")
    assert err["message"] == ("archive member '.' declares 2147483648 bytes; the limit is "
                              "104857600 bytes unpacked")


def test_skipped_members_count_towards_the_unpacked_limit(service):
    """Sixty `.` members of 2 MiB each: none is extracted, but skipping each decompresses it;
    the 51st takes the archive past 100 MiB."""
    part = gzip.compress(_header(".", 2 * MIB, tarfile.REGTYPE)) + _GZ_MIB * 2
    err = _refused(service, part * 60 + gzip.compress(b"\0" * 1024), "ARCHIVE_TOO_LARGE", ".")
    assert "archive unpacks to more than 104857600 bytes (at member '.'" in err["message"]


def test_a_pax_size_field_is_checked_before_the_member_is_skipped(service):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("big.bin")
        info.pax_headers = {"size": str(3 * 1024 ** 3)}
        tf.addfile(info, io.BytesIO(b""))
    err = _refused(service, buf.getvalue(), "ARCHIVE_TOO_LARGE", "big.bin")
    assert "'big.bin' declares 3221225472 bytes" in err["message"]


def test_a_chain_of_extended_headers_is_refused(service):
    one = _header("././@LongLink", 1024, tarfile.GNUTYPE_LONGNAME) + b"a" * 1024
    body = gzip.compress(one * 20 + _header("x", 0, tarfile.REGTYPE) + b"\0" * 1024)
    err = _refused(service, body, "ARCHIVE_TOO_LARGE", "././@LongLink")
    assert "more than 8 extended headers in a row" in err["message"]


def test_a_sparse_member_is_refused(service):
    body = gzip.compress(_header("s.bin", 0, tarfile.GNUTYPE_SPARSE) + b"\0" * 1024)
    err = _refused(service, body, "BAD_ARCHIVE", "s.bin")
    assert "sparse file" in err["message"]


def test_a_zip_with_more_entries_than_the_limit_is_refused_before_it_is_parsed(service):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(4001):
            zf.writestr(f"d/{i}", b"")
    err = _refused(service, buf.getvalue(), "ARCHIVE_TOO_LARGE", None, "application/zip")
    assert err["message"] == "zip central directory holds more than 4000 entries"


def test_a_zip_member_declaring_more_than_the_limit_is_refused(service):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ruleset.yaml", b'ruleset: tiny\nversion: "1"\n')
        zf.writestr("big.csv", b"x")
    data = bytearray(buf.getvalue())
    # the central directory's uncompressed size of big.csv, set to 200 MiB
    at = data.rfind(b"PK\x01\x02")
    data[at + 24:at + 28] = (200 * MIB).to_bytes(4, "little")
    err = _refused(service, bytes(data), "ARCHIVE_TOO_LARGE", "big.csv", "application/zip")
    assert err["message"] == ("archive member 'big.csv' declares 209715200 bytes; the limit "
                              "is 104857600 bytes unpacked")
