"""Which rule set a simulation side means: a directory now, a stored version through a hook.

In: a text naming a rule set: a directory, or anything a registered resolver knows (the
service's storage registers one for `NAME@DIGEST`, `NAME@VERSION` and `active`). Out: a
`RuleSetRef`, the directory to load plus its digest; workers on other machines get the files
themselves (`bundle()`), so a Dask cluster needs no shared file system. Raises
`RuleSetNotFound` with the reason.

A resolver is a callable `resolver(spec: str) -> pathlib.Path | None`: the directory holding
that rule set (a stored version written out to a cache directory, say), or None when the spec
is not one of its names. Register it once at start-up with `register_resolver`.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass
from pathlib import Path

Resolver = Callable[[str], "Path | None"]
_RESOLVERS: list[Resolver] = []


class RuleSetNotFound(Exception):
    pass


@dataclass(frozen=True)
class RuleSetRef:
    spec: str           # what the user wrote
    path: str           # the directory, absolute
    digest: str


def register_resolver(resolver: Resolver) -> None:
    """Adds a resolver for stored rule-set versions (tried after directories, in order)."""
    if resolver not in _RESOLVERS:
        _RESOLVERS.append(resolver)


def storage_resolver(store: Any) -> Resolver:
    """A resolver over the service's rule-set store: anything whose `resolve(ref)` gives a
    loaded rule set for `NAME@DIGEST` or `NAME@VERSION`, and the active one for None."""
    def find(spec: str) -> Path | None:
        if spec != "active" and "@" not in spec:
            return None
        return Path(store.resolve(None if spec == "active" else spec).path)
    return find


def resolve(spec: str, resolver: Resolver | None = None) -> RuleSetRef:
    """`resolver`, when given, is tried before the registered ones (the service passes its
    storage this way). A directory counts only when it holds a `ruleset.yaml`."""
    from ordinance.engine import digest_of

    path = _directory(spec)
    resolvers = ([resolver] if resolver else []) + _RESOLVERS
    for find in resolvers if path is None else ():
        path = find(spec)
        if path is not None:
            break
    if path is None:
        if "@" in spec or spec == "active":
            raise RuleSetNotFound(
                f"{spec}: stored rule-set versions need the service's storage, which is not "
                "configured here; give a rule set directory")
        raise RuleSetNotFound(f"{spec}: no such rule set directory (a directory with a "
                              "ruleset.yaml)")
    path = path.resolve()
    return RuleSetRef(spec, str(path), digest_of(str(path)))


def _directory(spec: str) -> Path | None:
    try:
        path = Path(spec)
        return path if (path / "ruleset.yaml").is_file() else None
    except (OSError, ValueError):          # a NUL byte, a name too long: not a directory
        return None


def bundle(ref: RuleSetRef) -> dict[str, bytes]:
    """The rule set's files, by relative path (its tests left out, as its digest does)."""
    root = Path(ref.path)
    files: dict[str, bytes] = {}
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root)
        if file.is_file() and rel.parts[0] != "tests":
            files[rel.as_posix()] = file.read_bytes()
    return files


def materialize(ref: RuleSetRef, files: dict[str, bytes]) -> str:
    """A directory holding the rule set on this machine: its own path when it is there with the
    same digest, else the bundle written out under the temporary directory (once per digest)."""
    from ordinance.engine import digest_of

    if Path(ref.path).is_dir() and digest_of(ref.path) == ref.digest:
        return ref.path
    target = Path(tempfile.gettempdir()) / "ordinance-simulator" / ref.digest.replace(":", "-")
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="staging-", dir=target.parent))
        for rel, data in files.items():
            dest = staging / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        try:
            os.replace(staging, target)
        except OSError:   # another worker got there first; its copy is the same bytes
            shutil.rmtree(staging, ignore_errors=True)
    return str(target)
