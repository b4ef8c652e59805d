"""Start-up (issue 16): `ordinance eval` from the compiled cache imports what deciding needs and
nothing else: not the checker (YAML, schemas, checks), not the other commands' doors, not the
libraries of paths the decision did not take (screening, regular expressions). Not timed: the
modules a process holds are counted instead (docs/design/engine.md, "Start-up")."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ACME = ROOT / "rulesets/acme"

# what the warm path must not load: the checker and its libraries, the other doors, and the
# libraries of decisions that screen or match a pattern (this order does neither), and msgspec
# (a writer for streams: one decision is written by the codec's reference writer)
HEAVY = ("yaml", "lark", "jsonschema", "networkx", "rich", "rapidfuzz", "re2", "tempfile",
         "importlib.resources", "msgspec", "fastapi", "sqlalchemy", "dask",
         "ordinance.engine.ruleset", "ordinance.engine.yamlload", "ordinance.engine.schema",
         "ordinance.engine.checks", "ordinance.engine.promising.checks",
         "ordinance.engine.output_values", "ordinance.engine.testing", "ordinance.engine.pair",
         "ordinance.api.cmd_service", "ordinance.api.cmd_simulate", "ordinance.api.cmd_import")

SCRIPT = """
import contextlib, io, json, sys
from ordinance.api import cli
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = cli.main(["eval", sys.argv[1], sys.argv[2], "--compact", "--as-of", "2026-11-20"])
heavy = json.loads(sys.argv[3])
print(json.dumps({"code": code, "decision": json.loads(out.getvalue()),
                  "loaded": sorted(m for m in heavy if m in sys.modules)}))
"""


def start(order: Path, cache: Path, ruleset: Path = ACME, heavy: tuple[str, ...] = HEAVY) -> dict:
    env = dict(os.environ, ORDINANCE_CACHE_DIR=str(cache))
    env.pop("ORDINANCE_CACHE", None)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(ruleset), str(order),
                           json.dumps(heavy)],
                          capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def order(tmp_path: Path) -> Path:
    path = tmp_path / "o.json"
    path.write_text(json.dumps({"id": "o1", "order_date": "2026-11-20",
                                "customer": {"id": "C1"}, "lines": []}))
    return path


def test_a_start_from_the_cache_imports_no_checker_nor_unused_library(tmp_path, order):
    cache = tmp_path / "cache"
    cold = start(order, cache)  # compiles: the checker and YAML load, the cache is written
    assert "yaml" in cold["loaded"] and "ordinance.engine.ruleset" in cold["loaded"]
    assert list(cache.glob("*.pickle"))
    warm = start(order, cache)
    assert warm["loaded"] == []
    assert warm["code"] == cold["code"] == 0
    assert warm["decision"] == cold["decision"]
    assert warm["decision"]["status"] == "rejected"  # no lines: validation stops it
    assert warm["decision"]["ruleset"]["digest"].startswith("sha256:")


def test_an_order_that_screens_loads_the_screening_library_when_it_screens(tmp_path):
    """rapidfuzz and re2 are bound on first use: a warm start that screens a name and matches
    a postal code loads them then, and decides as a start that compiled."""
    from ordinance.simulator import generate

    orders = generate.generate_orders(generate.load_catalogue(ACME), count=3, seed=3)
    screened = next(o for o in orders if (o.get("ship_to") or {}).get("country") == "US")
    path = tmp_path / "o.json"
    path.write_text(json.dumps(screened, default=str))
    cache = tmp_path / "cache"
    cold, warm = start(path, cache), start(path, cache)
    assert warm["decision"] == cold["decision"]
    assert warm["decision"]["status"] in ("accepted", "pending_approval")  # compliance ran
    assert {"rapidfuzz", "re2"} <= set(warm["loaded"])
    assert "yaml" not in warm["loaded"]


def test_the_parser_of_one_command_imports_its_module_alone():
    code = ("import sys; from ordinance.api.cli import build_parser; build_parser('eval'); "
            "print(sorted(m for m in sys.modules if m.startswith('ordinance.api.cmd_')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['ordinance.api.cmd_engine']"


def test_every_command_parses_with_the_parser_built_for_it():
    from ordinance.api.cli import build_parser

    full = build_parser()
    commands = next(a for a in full._actions if a.dest == "command").choices
    assert {"check", "eval", "test", "serve", "simulate", "import", "configure"} <= set(commands)
    for name in commands:
        sub = next(a for a in build_parser(name)._actions if a.dest == "command").choices
        assert name in sub


def test_the_lazy_names_of_the_public_api_resolve():
    import ordinance.engine as engine
    import ordinance.engine.configurator as configurator
    from ordinance.engine import evaluate_pair
    from ordinance.engine.configurator import check_model
    from ordinance.engine.pair import evaluate_pair as real_pair

    assert evaluate_pair is real_pair and callable(check_model)
    with pytest.raises(AttributeError):
        engine.no_such_name  # noqa: B018
    with pytest.raises(AttributeError):
        configurator.no_such_name  # noqa: B018


def test_the_cached_rule_set_carries_its_screening_index_packed(monkeypatch):
    """to_bytes builds the index of every table the rule set screens against and packs it;
    a rule set from those bytes unpickles it on its first screening instead of folding the
    listed names again, and screens as the rule set that built it."""
    from ordinance.engine import load, screening
    from ordinance.engine.compiled import _screened_tables, from_bytes, to_bytes

    rs = load(ACME)
    assert _screened_tables(rs) == ["denied_parties"]
    again = from_bytes(to_bytes(rs))
    cache = again.screen_caches["denied_parties"]
    assert set(cache) == {"packed"}  # not unpickled until a screening asks for it

    def no_build(*a, **kw):
        raise AssertionError("the index was built again")
    monkeypatch.setattr(screening.Prepared, "__init__", no_build)  # unpickling does not call it
    rows = again.ref.tables["denied_parties"].rows
    name = rows[0]["name"]
    assert screening.best_score(name, rows, cache) == 1
    assert "packed" not in cache and cache["prepared"] is not None
    for text in ("Aero Caribean", "Rosoboronexprot", "Northwind Traders"):
        assert screening.best_score(text, rows, cache) == \
            screening.best_score(text, rs.ref.tables["denied_parties"].rows,
                                 rs.screen_caches["denied_parties"])


def test_a_rule_set_that_neither_promises_nor_configures_imports_neither(tmp_path, order):
    """engine/promising and engine/configurator are imported by a rule set with an
    `atp_rules` table or configurable products (acme has the first), not by every start."""
    from tests.engine.helpers import write_ruleset

    root = write_ruleset(tmp_path / "r", {"s.yaml": """
        pack: s
        phase: sourcing
        rules:
          - id: src
            for_each: line
            then:
              - source: {from: [WH-1]}
        """}, {"locations.csv": "id,handling_days\nWH-1,1\n",
               "inventory.csv": "location,sku,on_hand\nWH-1,A,5\n",
               "lanes.csv": "from,to,transit_days\nWH-1,EU,2\n"})
    order.write_text(json.dumps({"id": "o1", "ship_to": {"region": "EU"},
                                 "lines": [{"id": "1", "sku": "A", "quantity": 2,
                                            "unit_price": 1}]}))
    watched = ("ordinance.engine.promising.atp", "ordinance.engine.promising.makeup",
               "ordinance.engine.configurator.orders", "ordinance.engine.configurator.model")
    cache = tmp_path / "cache"
    cold = start(order, cache, root, watched)
    warm = start(order, cache, root, watched)
    assert warm["loaded"] == []
    assert warm["decision"] == cold["decision"]
    assert warm["decision"]["sourcing"]["lines"][0]["allocations"][0]["location"] == "WH-1"
    with_atp = start(order, tmp_path / "cache2", ACME, watched)  # acme promises
    assert "ordinance.engine.promising.atp" in with_atp["loaded"]
