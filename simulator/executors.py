"""Where the chunks run: this process, local processes, or a Dask cluster.

In: a `Setup` (what a worker loads) and an iterator of chunks. Out: `map(chunks)`, the
`ChunkResult`s in chunk order. Each executor is a context manager that shuts its workers down.

The non-obvious choices:
- At most `window` chunks are in flight (a few per worker), so a stream of any length runs in
  bounded memory: the reader is only asked for a chunk when one comes back.
- Local processes are started with `spawn`, never `fork`: the caller may run threads (the
  progress bar, a web server), and a forked copy of a process with threads can deadlock.
- Each worker builds its `Replayer` once (an initializer for processes; a per-process cache
  keyed by the setup for Dask) so a rule set is compiled once per worker, not per chunk.
- Dask workers get the rule sets' files, scattered once, and use their own copy unless the
  directory is there with the same digest; so a cluster needs no shared file system.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ordinance.simulator.replay import Chunk, ChunkResult, Replayer, Setup, SimulationError

EXECUTORS = ("processes", "dask", "inline")


class Executor:
    def map(self, chunks: Iterator[Chunk]) -> Iterator[ChunkResult]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Inline(Executor):
    def __init__(self, setup: Setup, loaded: tuple[Any, Any] | None = None,
                 memo: Any = None) -> None:
        self.replayer = Replayer(setup, loaded, memo)

    def map(self, chunks: Iterator[Chunk]) -> Iterator[ChunkResult]:
        for chunk in chunks:
            yield self.replayer.run(chunk)


def _bounded(submit: Any, chunks: Iterator[Chunk], window: int) -> Iterator[ChunkResult]:
    """Submits chunks keeping at most `window` in flight; yields results in submission order."""
    pending: deque[Any] = deque()
    for chunk in chunks:
        pending.append(submit(chunk))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


_WORKER: Replayer | None = None


def _init_process(setup: Setup) -> None:
    global _WORKER
    _WORKER = Replayer(setup)


def _run_in_process(chunk: Chunk) -> ChunkResult:
    assert _WORKER is not None, "the process pool's initializer did not run"
    return _WORKER.run(chunk)


class Processes(Executor):
    def __init__(self, setup: Setup, workers: int) -> None:
        self.workers = workers
        self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_init_process, initargs=(setup,))

    def map(self, chunks: Iterator[Chunk]) -> Iterator[ChunkResult]:
        def submit(chunk: Chunk) -> Future[ChunkResult]:
            return self.pool.submit(_run_in_process, chunk)
        try:
            yield from _bounded(submit, chunks, 3 * self.workers)
        except BrokenProcessPool as exc:
            raise SimulationError(f"a worker process died (out of memory?): {exc}") from exc

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


_DASK_REPLAYERS: dict[Setup, Replayer] = {}
_DASK_LOCK = threading.Lock()


def _run_on_dask(setup: Setup, files_b: dict[str, bytes], files_c: dict[str, bytes],
                 chunk: Chunk) -> ChunkResult:
    with _DASK_LOCK:
        replayer = _DASK_REPLAYERS.get(setup)
        if replayer is None:
            from dataclasses import replace

            from ordinance.simulator.rulesets import materialize
            local = replace(setup,
                            baseline=replace(setup.baseline,
                                             path=materialize(setup.baseline, files_b)),
                            candidate=replace(setup.candidate,
                                              path=materialize(setup.candidate, files_c)))
            if len(_DASK_REPLAYERS) >= 4:      # a long-lived worker keeps the latest few
                _DASK_REPLAYERS.pop(next(iter(_DASK_REPLAYERS)))
            replayer = _DASK_REPLAYERS[setup] = Replayer(local)
    return replayer.run(chunk)


class Dask(Executor):
    def __init__(self, setup: Setup, scheduler: str | None = None, client: Any = None) -> None:
        from distributed import Client
        from ordinance.simulator.rulesets import bundle

        self.setup = setup
        self.own_client = client is None
        self.client = client if client is not None else Client(scheduler)
        self.files = self.client.scatter([bundle(setup.baseline), bundle(setup.candidate)],
                                         broadcast=True)
        threads = sum(self.client.nthreads().values()) or 1
        self.window = 3 * threads

    def map(self, chunks: Iterator[Chunk]) -> Iterator[ChunkResult]:
        files_b, files_c = self.files

        def submit(chunk: Chunk) -> Any:
            return self.client.submit(_run_on_dask, self.setup, files_b, files_c, chunk,
                                      pure=False)
        return _bounded(submit, chunks, self.window)

    def close(self) -> None:
        for future in self.files:
            future.release()
        if self.own_client:
            self.client.close()


def make(kind: str, setup: Setup, loaded: tuple[Any, Any] | None = None, *,
         workers: int | None = None, scheduler: str | None = None,
         client: Any = None, memo: Any = None) -> Executor:
    """`memo`: the engine LoadMemo `loaded` was loaded with, for an executor in this process
    (its blame's loads start from it)."""
    if kind == "inline":
        return Inline(setup, loaded, memo)
    if kind == "processes":
        workers = workers or os.cpu_count() or 1
        return Inline(setup, loaded, memo) if workers <= 1 else Processes(setup, workers)
    if kind == "dask":
        if scheduler is None and client is None:
            raise ValueError("--executor dask needs --scheduler ADDRESS")
        return Dask(setup, scheduler, client)
    raise ValueError(f"unknown executor {kind!r}: use one of {', '.join(EXECUTORS)}")
