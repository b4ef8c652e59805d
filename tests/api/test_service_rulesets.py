"""Rule-set versions: upload (tar.gz, zip), the archive guards, check diagnostics,
immutability, fetch with files, activation and rollback, and the roles on each."""
from __future__ import annotations

import io
import tarfile
import zipfile

import pytest
from svc_helpers import CONFORMANCE, archive

GZ = {"Content-Type": "application/gzip"}


def _tar(members: list[tuple[str, bytes | None, str]]) -> bytes:
    """members: (name, data, kind) with kind 'file' | 'symlink' | 'hardlink' | 'dir' | 'fifo'."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data or b"")
                tf.addfile(info, io.BytesIO(data or b""))
                continue
            info.type = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                         "dir": tarfile.DIRTYPE, "fifo": tarfile.FIFOTYPE}[kind]
            if kind in ("symlink", "hardlink"):
                info.linkname = "/etc/passwd"
            tf.addfile(info)
    return buf.getvalue()


MANIFEST = b'ruleset: tiny\nversion: "1"\n'


def test_upload_zip_and_tar_give_the_same_digest_and_store_once(service):
    a = service.client("analyst")
    r1 = a.post("/v1/rulesets", content=archive(CONFORMANCE / "c04-pricing"), headers=GZ)
    assert r1.status_code == 201, r1.text
    info = r1.json()
    assert info["name"] == "c04-pricing" and info["digest"].startswith("sha256:")
    assert info["active"] is False
    r2 = a.post("/v1/rulesets", content=archive(CONFORMANCE / "c04-pricing", "zip", top="c04"),
                headers={"Content-Type": "application/zip"})
    assert r2.status_code == 200, r2.text
    assert r2.json()["digest"] == info["digest"]
    listed = a.get("/v1/rulesets", params={"name": "c04-pricing"}).json()["items"]
    assert [v["digest"] for v in listed] == [info["digest"]]
    full = a.get(f"/v1/rulesets/c04-pricing/{info['digest']}").json()
    paths = {f["path"] for f in full["files"]}
    assert {"ruleset.yaml", "packs/base.yaml", "reference/prices.csv"} <= paths
    prices = next(f for f in full["files"] if f["path"] == "reference/prices.csv")
    assert prices["content"] == (CONFORMANCE / "c04-pricing/reference/prices.csv").read_text()


def test_an_invalid_rule_set_is_422_with_diagnostics(service):
    r = service.client("analyst").post(
        "/v1/rulesets", content=archive(CONFORMANCE / "invalid" / "i01-syntax"), headers=GZ)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "RULESET_INVALID"
    diags = err["details"]
    assert any(d["severity"] == "error" and d["file"] == "packs/broken.yaml" and d["line"]
               for d in diags), diags


@pytest.mark.parametrize("body,code", [
    (b"", "BAD_ARCHIVE"),
    (b"hello, this is not an archive", "BAD_ARCHIVE"),
    (b"\x1f\x8b\x08\x00garbage", "BAD_ARCHIVE"),
    (b"PK\x03\x04garbage", "BAD_ARCHIVE"),
    (_tar([("ruleset.yaml", MANIFEST, "file"), ("../evil.yaml", b"x: 1", "file")]), "BAD_ARCHIVE"),
    (_tar([("/abs/ruleset.yaml", MANIFEST, "file")]), "BAD_ARCHIVE"),
    (_tar([("ruleset.yaml", MANIFEST, "file"), ("packs/a/../../../x.yaml", b"", "file")]), "BAD_ARCHIVE"),
    (_tar([("ruleset.yaml", MANIFEST, "file"), ("link.yaml", None, "symlink")]), "BAD_ARCHIVE"),
    (_tar([("ruleset.yaml", MANIFEST, "file"), ("hard.yaml", None, "hardlink")]), "BAD_ARCHIVE"),
    (_tar([("ruleset.yaml", MANIFEST, "file"), ("pipe", None, "fifo")]), "BAD_ARCHIVE"),
    (_tar([("packs/a.yaml", b"pack: a", "file")]), "NO_MANIFEST"),
])
def test_archive_guards(service, body, code):
    r = service.client("analyst").post("/v1/rulesets", content=body, headers=GZ)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code


def test_zip_symlink_and_traversal_are_refused(service):
    for name, attr in (("../../x.yaml", 0), ("link.yaml", 0o120777 << 16)):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("ruleset.yaml", MANIFEST)
            info = zipfile.ZipInfo(name)
            info.external_attr = attr
            zf.writestr(info, "/etc/passwd")
        r = service.client("analyst").post("/v1/rulesets", content=buf.getvalue(),
                                           headers={"Content-Type": "application/zip"})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "BAD_ARCHIVE"


def test_a_compression_bomb_stops_at_the_cap(tmp_path):
    from ordinance.adapters.store import Invalid
    from ordinance.adapters.store_rulesets import Limits, unpack

    bomb = _tar([("ruleset.yaml", MANIFEST, "file"), ("big.csv", b"0" * 5_000_000, "file")])
    assert len(bomb) < 20_000
    with pytest.raises(Invalid) as exc:
        unpack(bomb, tmp_path, Limits(max_unpacked_bytes=1_000_000))
    assert exc.value.code == "ARCHIVE_TOO_LARGE"
    many = _tar([(f"f{i}.txt", b"", "file") for i in range(30)])
    with pytest.raises(Invalid):
        unpack(many, tmp_path / "m", Limits(max_files=10))
    with pytest.raises(Invalid):
        unpack(bomb, tmp_path / "n", Limits(max_archive_bytes=100))


def test_roles_on_rulesets(service):
    body = archive(CONFORMANCE / "c04-pricing")
    assert service.client("evaluator").post("/v1/rulesets", content=body,
                                            headers=GZ).status_code == 403
    assert service.client("evaluator").get("/v1/rulesets").status_code == 403
    assert service.client("evaluator").get("/v1/rulesets/active").status_code == 200
    info = service.client("analyst").post("/v1/rulesets", content=body, headers=GZ).json()
    for who in ("evaluator", "analyst", "approver"):
        r = service.client(who).post(f"/v1/rulesets/c04-pricing/{info['digest']}/activate")
        assert r.status_code == 403, who
    assert service.client(None).get("/v1/rulesets").status_code == 401


def test_unknown_versions_are_404(service):
    a = service.client("admin")
    assert a.get("/v1/rulesets/nope/sha256:00").status_code == 404
    r = a.post("/v1/rulesets/nope/sha256:00/activate")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "RULESET_NOT_FOUND"


def test_activation_switches_decisions_and_rolls_back(service):
    admin, ev = service.client("admin"), service.client("evaluator")
    before = admin.get("/v1/rulesets/active").json()
    assert before["name"] == "c07-approval" and before["active"] is True
    c04 = admin.post("/v1/rulesets", content=archive(CONFORMANCE / "c04-pricing"),
                     headers=GZ).json()
    order = {"order": {"id": "RB", "lines": [{"id": "1", "sku": "X-1", "quantity": 1}]}}
    try:
        r = admin.post(f"/v1/rulesets/c04-pricing/{c04['digest']}/activate")
        assert r.status_code == 200, r.text
        assert r.json()["previous"] == {"name": "c07-approval", "digest": before["digest"]}
        assert admin.get("/v1/rulesets/active").json()["digest"] == c04["digest"]
        d = ev.post("/v1/decisions", json=order).json()
        assert d["ruleset"]["digest"] == c04["digest"]
        # X-1 has no price in c04: a rule error, so rejected (fail closed)
        assert d["status"] == "rejected"
        listed = {v["digest"]: v["active"] for v in admin.get("/v1/rulesets").json()["items"]}
        assert listed[c04["digest"]] is True and listed[before["digest"]] is False
    finally:
        r = admin.post(f"/v1/rulesets/c07-approval/{before['digest']}/activate")
        assert r.status_code == 200
    d = ev.post("/v1/decisions", json=order).json()
    assert d["ruleset"]["digest"] == before["digest"]
    assert d["status"] == "accepted"


def test_too_large_upload_is_refused_before_reading(service):
    limit = service.app.state.ctx.limits.max_archive_bytes
    r = service.client("analyst").post("/v1/rulesets", content=b"\0" * (limit + 1), headers=GZ)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "ARCHIVE_TOO_LARGE"
