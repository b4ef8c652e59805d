"""`ordinance keys`, `ordinance db upgrade` and `ordinance serve --bootstrap`."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from svc_helpers import CONFORMANCE, free_port

ORDINANCE = str(Path(sys.executable).with_name("ordinance"))


def run(args, cwd, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    env.pop("ORDINANCE_DATABASE_URL", None)
    env.update(env_extra or {})
    return subprocess.run([ORDINANCE, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_keys_create_prints_the_key_alone_and_stores_only_its_hash(tmp_path):
    r = run(["keys", "create", "--role", "approver", "--approves", "sales-manager,finance",
             "--name", "bob"], tmp_path)
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip()
    assert r.stdout == secret + "\n" and secret.startswith("ord_") and len(secret) > 30
    assert "shown once" in r.stderr and "sales-manager" in r.stderr
    db = (tmp_path / "ordinance.db").read_bytes()
    assert secret.encode() not in db
    import hashlib

    assert hashlib.sha256(secret.encode()).hexdigest().encode() in db
    listed = run(["keys", "list"], tmp_path)
    assert "bob\tapprover\tsales-manager,finance" in listed.stdout
    assert secret not in listed.stdout
    assert run(["keys", "revoke", "--prefix", secret[:10]], tmp_path).returncode == 0
    assert "revoked" in run(["keys", "list"], tmp_path).stdout
    bad = run(["keys", "revoke", "--prefix", "ord_nobody"], tmp_path)
    assert bad.returncode == 1 and "no key" in bad.stderr
    bad = run(["keys", "create", "--role", "evaluator", "--approves", "finance"], tmp_path)
    assert bad.returncode == 1 and "approve" in bad.stderr and bad.stdout == ""
    assert run(["keys", "create", "--role", "root"], tmp_path).returncode == 2


def test_db_upgrade_and_a_database_url(tmp_path):
    url = f"sqlite:///{tmp_path}/x/other.db"
    r = run(["db", "upgrade"], tmp_path, {"ORDINANCE_DATABASE_URL": url})
    assert r.returncode == 0, r.stderr
    assert "database at revision " in r.stderr  # the head (0100_orchestration since #6)
    assert (tmp_path / "x" / "other.db").exists()
    r = run(["db", "upgrade", "--database-url",
             "postgresql://nobody@127.0.0.1:1/none"], tmp_path)
    assert r.returncode == 1 and "cannot reach the database" in r.stderr
    assert "Traceback" not in r.stderr


def _serve(tmp_path, *extra):
    port = free_port()
    proc = subprocess.Popen([ORDINANCE, "serve", "--bootstrap", "--port", str(port), *extra],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={k: v for k, v in os.environ.items()
                                            if k != "ORDINANCE_DATABASE_URL"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health").status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"serve did not start: {proc.communicate()[1]}")


def _stop(proc):
    proc.terminate()
    try:
        return proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def test_serve_bootstrap_without_a_rule_set(tmp_path):
    proc, url = _serve(tmp_path)
    try:
        # the first line on stdout carries the URL, the second the admin key
        line1 = proc.stdout.readline()
        line2 = proc.stdout.readline()
        assert url.split("//")[1] in line1
        admin = line2.strip().rsplit(" ", 1)[-1]
        h = {"Authorization": f"Bearer {admin}"}
        r = httpx.post(url + "/v1/decisions", json={"order": {"id": "x"}}, headers=h)
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "NO_ACTIVE_RULESET"
        assert "activate" in r.json()["error"]["message"]
        assert httpx.get(url + "/v1/rulesets/active", headers=h).status_code == 404
    finally:
        _out, err = _stop(proc)
    assert "rulesets/acme does not exist" in err
    # a second start creates no second key
    proc, url = _serve(tmp_path)
    out, _ = _stop(proc)
    assert "admin key" not in out


def test_serve_bootstrap_with_a_rule_set(tmp_path):
    proc, url = _serve(tmp_path, "--ruleset", str(CONFORMANCE / "c07-approval"))
    try:
        proc.stdout.readline()
        admin = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        h = {"Authorization": f"Bearer {admin}"}
        active = httpx.get(url + "/v1/rulesets/active", headers=h).json()
        assert active["name"] == "c07-approval"
        d = httpx.post(url + "/v1/decisions", headers=h, json={"order": {
            "id": "A4", "attributes": {"manual_discount": 10},
            "lines": [{"id": "1", "sku": "X-1", "quantity": 1}]}}).json()
        assert d["status"] == "accepted" and d["pricing"]["total"] == "90.00"
        assert d["ruleset"]["digest"] == active["digest"]
    finally:
        _stop(proc)
