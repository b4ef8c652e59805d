"""Key names (printable, unique among active keys) and revocation by id or prefix, never by
name, over REST (SQLite and PostgreSQL) and on the command line; migration 0102 on a database
whose active keys already share names."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from test_service_cli import run


def _name() -> str:
    return f"k-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("bad, where", [("bob\x1b[2J", 3), ("a\nb", 1), ("tab\there", 3),
                                        ("nul\x00", 3), ("zero\u200bwidth", 4)])
def test_a_key_name_with_an_unprintable_character_is_422(service, bad, where):
    r = service.client("admin").post("/v1/keys", json={"role": "evaluator", "name": bad})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert (err["code"], err["path"]) == ("BAD_KEY_NAME", "$.name"), err
    assert f"at position {where}" in err["message"], err


def test_a_name_is_unique_among_active_keys_and_free_again_once_revoked(service):
    admin, name = service.client("admin"), _name()
    first = admin.post("/v1/keys", json={"role": "evaluator", "name": name})
    assert first.status_code == 201, first.text
    again = admin.post("/v1/keys", json={"role": "analyst", "name": name})
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "KEY_NAME_TAKEN"
    assert again.json()["error"]["path"] == "$.name"
    r = admin.delete(f"/v1/keys/{first.json()['id']}")
    assert r.status_code == 200 and r.json()["revoked_at"], r.text
    second = admin.post("/v1/keys", json={"role": "analyst", "name": name})
    assert second.status_code == 201, second.text
    same = [k for k in admin.get("/v1/keys").json()["items"] if k["name"] == name]
    assert [(k["id"], bool(k["revoked_at"])) for k in same] == [
        (first.json()["id"], True), (second.json()["id"], False)]


def test_concurrent_creations_of_one_name_make_one_key(service):
    name = _name()

    def create(_):
        return service.client("admin").post("/v1/keys", json={"role": "evaluator",
                                                               "name": name}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(create, range(16)))
    assert statuses == [201] + [409] * 15, statuses


def test_revoke_by_prefix_revokes_that_key_only(service):
    admin = service.client("admin")
    made = [admin.post("/v1/keys", json={"role": "evaluator", "name": _name()}).json()
            for _ in range(2)]
    r = admin.delete(f"/v1/keys/prefix/{made[1]['prefix']}")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == made[1]["id"] and r.json()["revoked_at"]
    by_id = {k["id"]: k for k in admin.get("/v1/keys").json()["items"]}
    assert by_id[made[0]["id"]]["revoked_at"] is None
    with __import__("httpx").Client(base_url=service.url) as c:
        ok = c.get("/v1/rulesets/active", headers={"Authorization": f"Bearer {made[0]['key']}"})
        gone = c.get("/v1/rulesets/active",
                     headers={"Authorization": f"Bearer {made[1]['key']}"})
    assert (ok.status_code, gone.status_code) == (200, 401)
    r = admin.delete("/v1/keys/prefix/ord_nothere")
    assert r.status_code == 404 and r.json()["error"]["code"] == "KEY_NOT_FOUND", r.text
    assert service.client("analyst").delete(
        f"/v1/keys/prefix/{made[0]['prefix']}").status_code == 403


def _secret_prefix(secret: str) -> str:
    return secret[:10]


def test_cli_revokes_by_id_or_prefix_never_by_name(tmp_path):
    r1 = run(["keys", "create", "--role", "evaluator", "--name", "7"], tmp_path)
    r2 = run(["keys", "create", "--role", "evaluator", "--name", "shop"], tmp_path)
    assert r1.returncode == 0 and r2.returncode == 0, (r1.stderr, r2.stderr)
    dup = run(["keys", "create", "--role", "analyst", "--name", "shop"], tmp_path)
    assert dup.returncode == 1 and "already named 'shop'" in dup.stderr and dup.stdout == ""
    ctl = run(["keys", "create", "--role", "analyst", "--name", "x\x1b]0;owned\x07"], tmp_path)
    assert ctl.returncode == 1 and "printable" in ctl.stderr and ctl.stdout == ""
    for guess in (["shop"], ["1"], ["7"], []):
        bad = run(["keys", "revoke", *guess], tmp_path)
        assert bad.returncode == 1 and "--id ID" in bad.stderr and "--prefix" in bad.stderr
    assert "revoked" not in run(["keys", "list"], tmp_path).stdout
    r = run(["keys", "revoke", "--prefix", _secret_prefix(r2.stdout.strip())], tmp_path)
    assert r.returncode == 0 and "'shop' (id 2)" in r.stderr, r.stderr
    r = run(["keys", "revoke", "--id", "1"], tmp_path)
    assert r.returncode == 0 and "'7' (id 1)" in r.stderr, r.stderr
    assert run(["keys", "list"], tmp_path).stdout.count("revoked") == 2
    both = run(["keys", "revoke", "--id", "1", "--prefix", "ord_x"], tmp_path)
    assert both.returncode == 2
    none = run(["keys", "revoke", "--id", "99"], tmp_path)
    assert none.returncode == 1 and "no key with id 99" in none.stderr


def test_migration_0102_renames_active_duplicates_then_keeps_names_unique(tmp_path):
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from ordinance.adapters import db as dbmod

    db = dbmod.connect(f"sqlite:///{tmp_path}/old.db")
    dbmod.upgrade(db, "0101")
    with db.session(write=True) as s:
        for i, (name, revoked) in enumerate([("bob", None), ("bob", None), ("bob", "2026-01-01"),
                                             ("eve", None)], start=1):
            s.execute(text("INSERT INTO api_keys (id, name, role, approves, key_hash, prefix, "
                           "created_at, revoked_at) VALUES (:i, :n, 'admin', '', :h, 'ord_x', "
                           "'2026-01-01', :r)"), {"i": i, "n": name, "h": f"h{i}", "r": revoked})
    dbmod.upgrade(db)
    with db.session() as s:
        names = s.execute(text("SELECT id, name FROM api_keys ORDER BY id")).all()
    assert [tuple(r) for r in names] == [(1, "bob"), (2, "bob#2"), (3, "bob"), (4, "eve")]
    with pytest.raises(IntegrityError):
        with db.session(write=True) as s:
            s.execute(text("INSERT INTO api_keys (name, role, approves, key_hash, prefix, "
                           "created_at) VALUES ('eve', 'admin', '', 'h9', 'ord_y', "
                           "'2026-01-01')"))
    db.dispose()
