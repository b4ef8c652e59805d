"""A compiled rule set as bytes and back (issue 16: a second start skips compiling).

In: a `CompiledRuleSet` (engine/evaluate.py). Out: `to_bytes(rs)`, and `from_bytes(data)`,
the same rule set, ready to evaluate, without parsing YAML, validating schemas, parsing
expressions or generating code again: the door that starts the engine (`ordinance eval`,
api/cmd_engine.py) keeps the bytes in a cache under the rule set's digest and the engine's
`engine_key()`, and loads them when both match.

The non-obvious choice: most of a compiled rule set is plain objects that pickle as they
are; the functions the compiler generated (expressions, table matchers, pack runners) do not,
so each carries `rebuild` (its kind, its code object and what it was bound to) and is pickled
as that, its code marshalled (so `engine_key()` names the Python version too) and rebound to the
same helpers on loading. The screening index of each table the rule set screens against is
built by `to_bytes` and kept as bytes of its own, unpickled by the first screening (issue 16:
building it is most of the first start of an order that screens). Only the product's own
cache files are ever read here: pickle runs code named in the bytes, so bytes from anywhere
else must never reach `from_bytes`.
"""
from __future__ import annotations

import gc
import hashlib
import importlib
import io
import marshal
import os
import pickle
import re
import sys
import types
from typing import Any


_KEY: list[str] = []


def engine_key() -> str:
    """What a cached rule set depends on besides its files: the engine's own files (every
    module, schema and data file of the package, so any change to the engine invalidates the
    cache) and Python's version (marshalled code). Computed once a process.

    The files are named by their path, size, modification time and change time, not read: a
    start then stats about ninety files instead of hashing their 0.9 MB (issue 16: 0.7 ms
    instead of 2.7 ms). Size and mtime are the test Python itself makes before it runs a
    module's cached bytecode (`__pycache__`); the change time (st_ctime, which no program can
    set back) is added because this cache outlives an upgrade: an installer may give a new
    version's files the mtimes its wheel carries (a reproducible build gives every file the
    same one), but writing a file always moves its ctime. A copy of the package misses the
    cache once; it never hits a stale one."""
    if not _KEY:
        _KEY.append(files_key(os.path.dirname(os.path.abspath(__file__))))
    return _KEY[0]


def files_key(root: str) -> str:
    """`engine_key` of the files under `root` (and Python's version)."""
    h = hashlib.sha256(sys.version.encode())
    stack = [root]
    entries = []
    while stack:
        d = stack.pop()
        with os.scandir(d) as it:
            for entry in it:
                if entry.is_dir():
                    if entry.name != "__pycache__":
                        stack.append(entry.path)
                elif entry.is_file():
                    st = entry.stat()
                    entries.append(f"{os.path.relpath(entry.path, root)}\0{st.st_size}\0"
                                   f"{st.st_mtime_ns}\0{st.st_ctime_ns}\n")
    for line in sorted(entries):
        h.update(line.encode())
    return h.hexdigest()[:32]


def _rebuild(kind: str, code: bytes, bound: Any) -> Any:
    make = marshal.loads(code)  # noqa: S302 - our own cache only (see the module doc)
    if kind == "expr":
        from .expressions import _FN_BINDINGS, _HELPERS

        namespace: dict[str, Any] = {"__builtins__": {}}
        namespace.update(_HELPERS)
        namespace.update(_FN_BINDINGS)
        fn = types.FunctionType(make, namespace)(*bound)
    elif kind == "table":
        fn = types.FunctionType(make, {"__builtins__": {}})(*bound)
    else:
        namespace = {"__builtins__": {}}
        namespace.update(bound)
        fn = types.FunctionType(make, namespace)
    fn.__dict__["rebuild"] = (kind, make, bound)
    return fn


def _local(module: str, code: bytes, defaults: Any, kwdefaults: Any,
           cells: tuple[Any, ...] | None) -> Any:
    """A function defined inside another (a closure of the engine's own code), again."""
    closure = tuple(types.CellType(v) for v in cells) if cells is not None else None
    fn = types.FunctionType(marshal.loads(code), importlib.import_module(module).__dict__,  # noqa: S302
                            None, defaults, closure)
    fn.__kwdefaults__ = kwdefaults
    return fn


def _by_name(fn: Any) -> bool:
    """Whether pickle can name the function (a module-level def)."""
    obj: Any = sys.modules.get(fn.__module__)
    for part in fn.__qualname__.split("."):
        obj = getattr(obj, part, None)
    return obj is fn


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if obj.__class__ is types.FunctionType:
            rebuild = obj.__dict__.get("rebuild")
            if rebuild is not None:
                kind, code, bound = rebuild
                return _rebuild, (kind, marshal.dumps(code), bound)
            if not _by_name(obj) and obj.__module__.startswith("ordinance."):
                cells = tuple(c.cell_contents for c in obj.__closure__) \
                    if obj.__closure__ is not None else None
                return _local, (obj.__module__, marshal.dumps(obj.__code__), obj.__defaults__,
                                obj.__kwdefaults__, cells)
        return NotImplemented


# the table argument of a `screen(...)` or `screen_match(...)` call (the checker wants quoted text)
_SCREENED = re.compile(r"""\bscreen(?:_match)?\(.*?,\s*["']([A-Za-z0-9_]+)["']\s*\)""")


def _screened_tables(rs: Any) -> list[str]:
    """The reference tables the rule set screens names against, found in its files' text (a
    call missed only leaves its index to be built by the first screening, as without this)."""
    found: set[str] = set()
    for lines in rs.model.sources.values():
        for line in lines:
            if "screen" in line:
                found.update(m.group(1) for m in _SCREENED.finditer(line))
    return sorted(t for t in found if t in rs.ref.tables)


def to_bytes(rs: Any) -> bytes:
    """The rule set as bytes, with the screening index of every table it screens against,
    built now (engine/screening.py `Prepared`: folding and indexing the listed names, 0.8 s
    for ACME's 16,000) and packed as bytes of its own, unpickled by the first screening of a
    process that loads these bytes (80 ms): a start that screens nothing only reads them."""
    from . import screening

    caches = rs.screen_caches
    packed = {}
    for table in _screened_tables(rs):
        prepared = screening.prepare(rs.ref.tables[table].rows, caches.setdefault(table, {}))
        packed[table] = {"packed": pickle.dumps(prepared, protocol=pickle.HIGHEST_PROTOCOL)}
    out = io.BytesIO()
    rs.screen_caches = packed  # what is kept of the caches: the indexes, not the answers
    try:
        _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(rs)
    finally:
        rs.screen_caches = caches
    return out.getvalue()


def from_bytes(data: bytes) -> Any:
    """The rule set again. The cyclic garbage collector is paused meanwhile: unpickling makes
    some hundred thousand containers, none garbage, and each few hundred of them would start a
    collection that scans them again (issue 16: 33 ms instead of 81 ms in a process that
    already holds a rule set; 1 % of a fresh `ordinance eval`)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(data)  # noqa: S301 - our own cache only (see the module doc)
    finally:
        if paused:
            gc.enable()
