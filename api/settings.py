"""Service configuration, read once from the environment (or given explicitly in tests).

`ORDINANCE_DATABASE_URL`   SQLAlchemy URL; default a SQLite file `ordinance.db` in the
                           working directory. `postgresql://...` uses psycopg 3.
`ORDINANCE_CACHE_DIR`      where stored rule-set versions are materialised to be loaded
                           (default: `$TMPDIR/ordinance-rulesets`).
`ORDINANCE_ACTIVE_TTL`     seconds a process trusts its cached "active rule set" pointer
                           before reading it again (default 1.0; activation in the same
                           process is seen at once).
`ORDINANCE_MAX_UPLOAD`     largest rule-set archive accepted, in bytes (default 20 MB).
`ORDINANCE_MAX_BODY`       largest decision or order request, in bytes (default 5 MB).
`ORDINANCE_MAX_LINES`      most lines in one order (default 2000); more: 413 TOO_MANY_LINES.
`ORDINANCE_MAX_ITEMS`      most items in any one JSON list of a request body, and most keys in
                           one object (default 10000); more: 413 TOO_MANY_ITEMS.
`ORDINANCE_EVAL_TIMEOUT`   seconds one request's evaluation may take (default 10); past it the
                           answer is 503 EVALUATION_TIMEOUT and nothing is stored.
`ORDINANCE_EVAL_THREADS`   threads that evaluate orders, off the event loop (default 8).
`ORDINANCE_AUTO_MIGRATE`   "0" to skip applying migrations at start-up.
`ORDINANCE_WORKER`         "0" not to run the background worker in this service process
                           (due timers, webhook and fulfilment deliveries; on by default in
                           `ordinance serve`; `ordinance worker` runs one on its own).
`ORDINANCE_WORKER_INTERVAL` seconds between the worker's rounds (default 0.5).

The limits are in docs/operations.md ("Limits").
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field


def _default_url() -> str:
    return "sqlite:///" + os.path.join(os.getcwd(), "ordinance.db")


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=_default_url)
    cache_dir: str = field(
        default_factory=lambda: os.path.join(tempfile.gettempdir(), "ordinance-rulesets")
    )
    active_ttl: float = 1.0
    max_upload_bytes: int = 20 * 1024 * 1024
    max_body_bytes: int = 5 * 1024 * 1024
    max_unpacked_bytes: int = 100 * 1024 * 1024
    max_files: int = 2000
    max_lines: int = 2000
    max_items: int = 10000
    eval_timeout: float = 10.0
    eval_threads: int = 8
    auto_migrate: bool = True
    log_batch_max: int = 256
    worker: bool = False  # from_env turns it on: a served process runs due work by itself
    worker_interval: float = 0.5

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        env = os.environ
        values: dict[str, object] = {}
        if env.get("ORDINANCE_DATABASE_URL"):
            values["database_url"] = env["ORDINANCE_DATABASE_URL"]
        if env.get("ORDINANCE_CACHE_DIR"):
            values["cache_dir"] = env["ORDINANCE_CACHE_DIR"]
        if env.get("ORDINANCE_ACTIVE_TTL"):
            values["active_ttl"] = float(env["ORDINANCE_ACTIVE_TTL"])
        if env.get("ORDINANCE_MAX_UPLOAD"):
            values["max_upload_bytes"] = int(env["ORDINANCE_MAX_UPLOAD"])
        if env.get("ORDINANCE_MAX_BODY"):
            values["max_body_bytes"] = int(env["ORDINANCE_MAX_BODY"])
        for name, attr, kind in (("ORDINANCE_MAX_LINES", "max_lines", int),
                                 ("ORDINANCE_MAX_ITEMS", "max_items", int),
                                 ("ORDINANCE_EVAL_TIMEOUT", "eval_timeout", float),
                                 ("ORDINANCE_EVAL_THREADS", "eval_threads", int),
                                 ("ORDINANCE_WORKER_INTERVAL", "worker_interval", float)):
            if env.get(name):
                values[attr] = kind(env[name])
        if env.get("ORDINANCE_AUTO_MIGRATE") == "0":
            values["auto_migrate"] = False
        values["worker"] = env.get("ORDINANCE_WORKER", "1") != "0"
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
