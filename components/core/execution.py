"""Fan-out: how items become batches (``plan_batches``), the picklable batch call that carries the run's
runtime settings to any worker (``run_batch``), and the local process-pool ``Executor``.

Steps call ``ctx.fan_out(fn, items, desc)``; under Prefect the adapter swaps in task-runner execution
(process pool or an existing Dask cluster) behind the same ``Executor.map``.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
THREADS_ENV = "PAPERFLOWS_THREADS"  # threads per process (default 1); the stability check may raise it
BATCHES_PER_WORKER = 8  # enough batches that workers finish together, few enough that task overhead stays small

_RUNTIME = None  # the RuntimeParams of the batch being run in this process (read by make_trainer)


def threads() -> int:
    return max(1, int(os.environ.get(THREADS_ENV, "1")))


def limit_threads() -> None:
    """One thread per process for BLAS/OpenMP/torch: parallelism comes from processes, not threads."""
    n = str(threads())
    for name in THREAD_ENV:
        os.environ[name] = n
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(n))


def current_runtime():
    """The runtime settings of the running step or batch (defaults outside a pipeline run)."""
    if _RUNTIME is None:
        from components.core.params import RuntimeParams

        return RuntimeParams()
    return _RUNTIME


def set_runtime(runtime) -> None:
    global _RUNTIME
    _RUNTIME = runtime


def progress(items: Iterable, desc: str, total: int | None = None) -> Iterable:
    """A progress bar on an interactive terminal; the plain iterable otherwise (CI, DVC logs)."""
    if not sys.stderr.isatty():
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, total=total, leave=False)


def plan_batches(n: int, batch_size: int | None, workers: int, cost: Sequence[float] | None = None,
                 keys: Sequence[Any] | None = None) -> list[list[int]]:
    """Indices of ``n`` items grouped into batches: one way to batch for every paper.

    ``batch_size`` items per batch, or ``None`` for about ``BATCHES_PER_WORKER`` batches per worker.
    Items go greedily (costliest first) to the cheapest batch, so batches cost about the same; with
    no ``cost`` every item costs 1, which deals items round-robin (neighbours, often alike in cost,
    land in different batches). With ``keys`` a batch holds one key only (one setting, one reader).
    Batches are ordered by first index, items inside keep their order: deterministic for given inputs.
    """
    if n == 0:
        return []
    groups: dict[Any, list[int]] = {}
    for i in range(n):
        groups.setdefault(keys[i] if keys is not None else None, []).append(i)
    weights = [float(c) for c in cost] if cost is not None else [1.0] * n
    total = sum(weights) or 1.0
    target = math.ceil(n / batch_size) if batch_size else min(n, max(1, workers) * BATCHES_PER_WORKER)
    plan: list[list[int]] = []
    for idx in groups.values():
        if batch_size:
            k = math.ceil(len(idx) / batch_size)
        else:
            k = min(len(idx), max(1, round(target * sum(weights[i] for i in idx) / total)))
        loads = [0.0] * k
        bins: list[list[int]] = [[] for _ in range(k)]
        for i in sorted(idx, key=lambda i: (-weights[i], i)):  # longest processing time first
            b = min(range(k), key=lambda b: (loads[b], b))
            bins[b].append(i)
            loads[b] += weights[i]
        plan += [sorted(b) for b in bins if b]
    return sorted(plan, key=lambda b: b[0])


@dataclass(frozen=True)
class run_batch:  # noqa: N801 - used like a function: run_batch(fn, runtime)(items)
    """A picklable batch call: sets the run's runtime settings and thread limits in the worker, then ``fn``."""

    fn: Callable[[list], list]
    runtime: Any

    def __call__(self, items: list) -> list:
        limit_threads()
        set_runtime(self.runtime)
        return list(self.fn(items))


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
