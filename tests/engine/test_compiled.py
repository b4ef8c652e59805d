"""engine/compiled.py and adapters/compiled_cache.py: a compiled rule set as bytes and back,
and the cache `ordinance eval` starts from (issue 16)."""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ordinance.adapters import compiled_cache
from ordinance.engine import dumps, load, validate_order
from ordinance.engine.compiled import from_bytes, to_bytes

ROOT = Path(__file__).resolve().parents[2]
ACME = ROOT / "rulesets/acme"
DAY = datetime.date(2026, 11, 20)


def acme_orders(n: int) -> list[dict]:
    from ordinance.simulator import generate

    out = generate.generate_orders(generate.load_catalogue(ACME), count=n, seed=3)
    return [validate_order(json.loads(json.dumps(o, default=str))) for o in out]


def test_a_rule_set_from_bytes_decides_byte_for_byte_as_compiled():
    rs = load(ACME)
    again = from_bytes(to_bytes(rs))
    assert again is not rs and again.digest == rs.digest and again.rule_ids == rs.rule_ids
    orders = acme_orders(120)
    statuses = set()
    for order in orders:
        a = dumps(rs.evaluate(order, as_of=DAY).to_json())
        b = dumps(again.evaluate(order, as_of=DAY).to_json())
        assert a == b
        statuses.add(json.loads(a)["status"])
    assert len(statuses) >= 2  # the stream reaches more than one outcome


def test_loading_from_bytes_loads_no_parser_nor_schema_validator(tmp_path):
    data = tmp_path / "acme.pickle"
    data.write_bytes(to_bytes(load(ACME)))
    order = tmp_path / "order.json"
    order.write_text(dumps(acme_orders(1)[0]))
    script = (
        "import sys, datetime\n"
        "from ordinance.engine.compiled import from_bytes\n"
        "from ordinance.engine import parse_order\n"
        f"rs = from_bytes(open({str(data)!r}, 'rb').read())\n"
        f"d = rs.evaluate(parse_order(open({str(order)!r}, 'rb').read()),"
        " as_of=datetime.date(2026, 11, 20))\n"
        "print(d.status, sorted(m for m in ('lark', 'jsonschema', 'networkx', 'rich')"
        " if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split(" ", 1)
    assert out[0] in ("accepted", "pending_approval", "on_hold", "rejected")
    assert out[1].strip() == "[]"


def test_the_cache_compiles_once_then_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("ORDINANCE_CACHE_DIR", str(tmp_path / "cache"))
    first = compiled_cache.load_cached(ACME)
    files = list((tmp_path / "cache").glob("*.pickle"))
    assert len(files) == 1 and files[0].name.startswith(first.digest.removeprefix("sha256:"))
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700

    import ordinance.engine as engine

    def no_load(*a, **kw):
        raise AssertionError("compiled again")
    monkeypatch.setattr(engine, "load", no_load)
    second = compiled_cache.load_cached(ACME)
    assert second.digest == first.digest and second is not first


def test_a_damaged_or_foreign_cache_is_compiled_anew(tmp_path, monkeypatch):
    where = tmp_path / "cache"
    monkeypatch.setenv("ORDINANCE_CACHE_DIR", str(where))
    rs = compiled_cache.load_cached(ACME)
    (file,) = where.glob("*.pickle")
    file.write_bytes(b"not a pickle")
    again = compiled_cache.load_cached(ACME)
    assert again.digest == rs.digest
    assert file.read_bytes() != b"not a pickle"  # written again
    os.chmod(where, 0o777)  # others may write it: never read
    file.write_bytes(b"not a pickle")
    assert compiled_cache.load_cached(ACME).digest == rs.digest
    assert file.read_bytes() == b"not a pickle"  # neither read nor written


def test_a_changed_rule_set_misses_the_cache(tmp_path, monkeypatch):
    import shutil

    monkeypatch.setenv("ORDINANCE_CACHE_DIR", str(tmp_path / "cache"))
    copy = tmp_path / "acme"
    shutil.copytree(ACME, copy)
    a = compiled_cache.load_cached(copy)
    pack = copy / "packs/45-charges.yaml"
    pack.write_text(pack.read_text() + "\n")
    b = compiled_cache.load_cached(copy)
    assert a.digest != b.digest
    assert len(list((tmp_path / "cache").glob("*.pickle"))) == 2


@pytest.mark.parametrize("off", ["off"])
def test_eval_with_and_without_the_cache_writes_the_same(tmp_path, off):
    orders = tmp_path / "o.jsonl"
    orders.write_text("".join(dumps(o) + "\n" for o in acme_orders(40)))
    cmd = [str(Path(sys.executable).parent / "ordinance"), "eval", str(ACME), "--orders",
           str(orders), "--as-of", "2026-11-20"]
    env = dict(os.environ, ORDINANCE_CACHE_DIR=str(tmp_path / "cache"))
    outs = [subprocess.run(cmd, capture_output=True, env=e, check=True).stdout
            for e in (dict(env, ORDINANCE_CACHE=off), env, env)]
    assert outs[0] == outs[1] == outs[2] and outs[0].count(b"\n") == 40
    assert list((tmp_path / "cache").glob("*.pickle"))


def test_the_engine_key_moves_when_a_file_is_rewritten_with_its_old_size_and_mtime(tmp_path):
    """As an installer may write a new version: same size, the wheel's mtime put back."""
    import os
    import time

    from ordinance.engine.compiled import files_key

    module = tmp_path / "pkg" / "rules.py"
    module.parent.mkdir()
    module.write_text("X = 1\n")
    (tmp_path / "pkg" / "__pycache__").mkdir()
    before = files_key(str(tmp_path / "pkg"))
    assert files_key(str(tmp_path / "pkg")) == before  # a stat, the same answer
    st = module.stat()
    while time.time_ns() < st.st_ctime_ns + 50_000_000:  # past the kernel's coarse clock tick
        time.sleep(0.01)
    module.write_text("X = 2\n")
    os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert module.stat().st_size == st.st_size and module.stat().st_mtime_ns == st.st_mtime_ns
    assert files_key(str(tmp_path / "pkg")) != before
