"""The compiled rule set cache: a second `ordinance eval` of the same rule set skips compiling.

In: a rule set directory. Out: its `CompiledRuleSet`, from the cache when a file for its digest
and the engine's key is there (engine/compiled.py: `from_bytes`), else compiled by
`engine.load` and stored (`to_bytes`) for the next start. The cache is a directory of the
user's own ($ORDINANCE_CACHE_DIR, else $XDG_CACHE_HOME/ordinance, else ~/.cache/ordinance),
made private (0700), written atomically (a temporary file renamed), kept to MAX_FILES
(the oldest removed). `ORDINANCE_CACHE=off` turns it off. An invalid rule set is never cached
(load raises RuleSetInvalid, as without the cache); a file that does not load is compiled anew.

The non-obvious choices: the key is the digest of the rule set's files (what decisions name it
by) and the engine's key (its own source and Python's version), so a change to either misses;
and the files hold pickles, which run code when loaded, so only this directory, which only its
owner can write, is ever read.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

MAX_FILES = 32


def cache_dir() -> Path | None:
    if os.environ.get("ORDINANCE_CACHE", "").lower() in ("off", "0", "no"):
        return None
    explicit = os.environ.get("ORDINANCE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ordinance"


def load_cached(path: str | Path) -> Any:
    """The compiled rule set at `path`, from the cache when it can be (see the module doc)."""
    from ordinance.engine import load
    from ordinance.engine.compiled import engine_key, from_bytes, to_bytes
    from ordinance.engine.loading import digest_of

    where = cache_dir()
    if where is None:
        return load(path)
    key = f"{digest_of(path).removeprefix('sha256:')}-{engine_key()}.pickle"
    file = where / key
    try:
        if _private(where):
            rs = from_bytes(file.read_bytes())
            rs.path = str(path)
            return rs
    except Exception:  # noqa: BLE001 - missing, unreadable or stale: compile it again
        pass
    rs = load(path)
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        if _private(where):
            import tempfile  # writing only: a start from the cache does not load it

            fd, tmp = tempfile.mkstemp(dir=where, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(to_bytes(rs))
            os.replace(tmp, where / f"{rs.digest.removeprefix('sha256:')}-{engine_key()}.pickle")
            _prune(where)
    except (OSError, TypeError, AttributeError, RecursionError, pickle.PicklingError):
        pass  # a cache not written (read-only home, an object that does not pickle) only costs
        # the next start its compiling
    return rs


def _private(where: Path) -> bool:
    """The directory exists, is ours and no one else can write it."""
    try:
        st = where.stat()
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _prune(where: Path) -> None:
    files = sorted(where.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[MAX_FILES:]:
        old.unlink(missing_ok=True)
    for stale in where.glob("*.tmp"):
        stale.unlink(missing_ok=True)
