"""Ids the service draws: random 128-bit hex, `dec_...` for a decision.

In: nothing; out: a fresh id. The non-obvious choice: `uuid4()` reads the OS's entropy for
every id, which costs about a millisecond on some virtual machines, so a `random.Random` is
seeded from the OS once per process (and again after a fork). This module imports no database
library, so the command line can draw ids without loading the service stack.
"""
from __future__ import annotations

import os
import random
import threading


class _Ids:
    def __init__(self) -> None:
        self._pid = -1
        self._rng = random.Random()
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            if self._pid != os.getpid():
                self._rng.seed(os.urandom(32))
                self._pid = os.getpid()
            return f"{self._rng.getrandbits(128):032x}"


_IDS = _Ids()


def new_decision_id() -> str:
    return "dec_" + _IDS.next()
