"""Fan-out of batches: the ``Executor`` a step uses, and the local process-pool implementation.

Steps call ``ctx.executor.map(fn, batches)`` with a top-level (picklable) ``fn``; under Prefect the
adapter swaps in task-runner execution (process pool or an existing Dask cluster) with the same call.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, Protocol, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def limit_threads() -> None:
    """One thread per process for BLAS/OpenMP/torch: parallelism comes from processes, not threads."""
    for name in THREAD_ENV:
        os.environ[name] = "1"
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def progress(items: Iterable, desc: str, total: int | None = None) -> Iterable:
    """A progress bar on an interactive terminal; the plain iterable otherwise (CI, DVC logs)."""
    if not sys.stderr.isatty():
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, total=total, leave=False)


class Executor(Protocol):
    def map(self, fn: Callable[[T], R], items: Sequence[T], name: str) -> list[R]:
        """Apply ``fn`` to every item (in any order, on any worker); results in input order."""


class LocalExecutor:
    """In-process for one worker, else a spawn-based process pool with single-threaded workers."""

    def __init__(self, workers: int = 1):
        self.workers = workers

    def map(self, fn: Callable[[T], R], items: Sequence[T], name: str) -> list[R]:
        if self.workers <= 1 or len(items) <= 1:
            return [fn(item) for item in progress(items, name)]
        limit_threads()  # inherited by the spawned workers through the environment
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=limit_threads) as pool:
            futures = [pool.submit(fn, item) for item in items]
            return [f.result() for f in progress(futures, name)]
