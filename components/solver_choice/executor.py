"""The execution layer: a pool of solver worker processes with a per-item wall-clock limit enforced by the
parent (a worker that overruns is killed and replaced; the item becomes a timeout result), and a result
cache keyed by (solver, compat mode, options, sha256(program text)).

Pyke programs go to workers that import nothing but the solver code (they fork one child per program);
Prover9/Z3 programs to separate workers, so no fork ever happens in a process holding a Z3 context.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import time
from pathlib import Path

from components.solver_choice.solvers import EXEC, result, solve


def cache_key(lang: str, compat: str, n_options: int, text: str) -> str:
    return f"{lang}|{compat}|{n_options}|{hashlib.sha256(text.encode()).hexdigest()}"


def _worker(conn, timeout: float, pyke: bool = False) -> None:
    from components.core.execution import limit_threads

    limit_threads()
    if pyke:  # parser tables loaded once here, inherited by every forked child (no engine is ever built here)
        from components.solver_choice.solvers import warm_pyke

        warm_pyke()
    while True:
        msg = conn.recv()
        if msg is None:
            return
        key, lang, text, n_opt, compat = msg
        try:
            res = solve(lang, text, n_opt, compat, timeout)
        except Exception as exc:  # noqa: BLE001 - a solver crash is a result
            res = result(EXEC, error="solver_error", detail=f"{type(exc).__name__}: {exc}")
        conn.send((key, res))


class _Slot:
    def __init__(self, ctx, timeout: float, pyke: bool = False):
        self.ctx, self.timeout, self.pyke = ctx, timeout, pyke
        self.start()

    def start(self):
        self.parent, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, self.timeout, self.pyke), daemon=True)
        self.proc.start()
        child.close()
        self.task, self.t0 = None, 0.0

    def kill(self):
        self.proc.kill()
        self.proc.join()
        self.parent.close()


def execute_all(tasks: list[tuple[str, str, int, str]], workers: int, solver_timeout: float, item_limit: float,
                cache: dict | None = None) -> dict[str, dict]:
    """Run ``(lang, text, n_options, compat)`` tasks; returns cache key → result (cache hits not re-solved)."""
    cache = {} if cache is None else cache
    todo: dict[str, tuple] = {}
    for lang, text, n_opt, compat in tasks:
        k = cache_key(lang, compat, n_opt, text)
        if k not in cache and k not in todo:
            todo[k] = (k, lang, text, n_opt, compat)
    out = {k: cache[k] for lang, text, n_opt, compat in tasks if (k := cache_key(lang, compat, n_opt, text)) in cache}
    ctx = mp.get_context("spawn")
    for group in ("pyke", "other"):  # pyke workers never load Z3
        queue = [t for t in todo.values() if (t[1] == "pyke") == (group == "pyke")]
        if not queue:
            continue
        slots = [_Slot(ctx, solver_timeout, group == "pyke") for _ in range(max(1, min(workers, len(queue))))]
        try:
            pending = list(reversed(queue))
            while pending or any(s.task for s in slots):
                for s in slots:
                    if s.task is None and pending:
                        s.task = pending.pop()
                        s.t0 = time.monotonic()
                        s.parent.send(s.task)
                busy = [s for s in slots if s.task is not None]
                left = min(s.t0 + item_limit for s in busy) - time.monotonic()
                ready = mp.connection.wait([s.parent for s in busy], timeout=min(0.5, max(0.0, left)))
                for s in busy:
                    late = time.monotonic() - s.t0 > item_limit  # a result after the limit is a timeout too
                    if s.parent in ready and not late:
                        try:
                            key, res = s.parent.recv()
                        except (EOFError, OSError):
                            res = result(EXEC, error="solver_error", detail="solver worker died")
                            key = s.task[0]
                            s.kill()
                            s.start()
                        out[key] = cache[key] = res
                        s.task = None
                    elif late:
                        key = s.task[0]
                        res = result(EXEC, error="timeout", detail=f"item wall-clock limit {item_limit:g} s")
                        res["seconds"] = item_limit
                        out[key] = cache[key] = res
                        s.kill()
                        s.start()
        finally:
            for s in slots:
                try:
                    s.parent.send(None)
                except (BrokenPipeError, OSError):
                    pass
                s.proc.join(timeout=2)
                if s.proc.is_alive():
                    s.proc.kill()
    return out


def load_cache(path: Path | None) -> dict:
    if path is None or not Path(path).exists():
        return {}
    return json.loads(Path(path).read_text())
