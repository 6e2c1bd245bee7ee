"""The whyshift grid's cost: per-method CPU time before/after shared work, runner overhead, 2-worker speed-up.

Measured in one run (``benchmarks/results/grid.json``):

* ``cost_model`` — on one setting of the *paper* grid (``profiles/paper.yaml``'s §5.1 ranges: up to 1,024
  trees, 50 epochs, batch 512) at the default data sizes, a sample of whole fit units (every
  ``--sample``-th unit, ``grid.fit_units``) timed two ways in this process: ``alone`` — every config fitted
  on its own, DWR's weight cache cleared (the grid before shared work) — and ``shared`` — the units as the
  runner fits them (stacked torch variants, DWR weights once per (l1, l2)). CPU-s per config by method,
  scaled to the paper grid's counts: the projected full-grid CPU-hours before/after and hours on 1, 2
  (at the measured speed-up) and 128 workers.
* ``runner`` — the default grid on ``--settings``: ``plain`` (the same units fitted in a loop, data loaded
  once), ``runner_in_process`` (``fitting.fit_jobs`` on the batches ``ctx.fan_out`` plans, in this process:
  the runner's overhead against ``plain``), ``runner1``/``runner2`` (the same in a spawned pool of 1 / 2
  single-threaded workers — both pay their imports, so the speed-up compares like with like).

Usage: ``.venv/bin/python benchmarks/grid.py [--settings 1,5,10,11] [--sample 6]``.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from components.core.execution import LocalExecutor, limit_threads, plan_batches, run_batch  # noqa: E402
from components.core.params import RuntimeParams, load_config  # noqa: E402
from components.whyshift import fitting  # noqa: E402
from components.whyshift.data import load_setting, setting_dir, write_setting  # noqa: E402
from components.whyshift.generator import WorldKnobs  # noqa: E402
from components.whyshift.grid import config_cost, expand_grid, fit_units  # noqa: E402
from components.whyshift.params import WhyshiftParams  # noqa: E402
from components.whyshift.reweighting import _dwr_selection  # noqa: E402
from components.whyshift.settings import build_setting  # noqa: E402


def write_settings(p: WhyshiftParams, prepared: Path, settings: list[int]) -> None:
    knobs = {n: WorldKnobs(**w.model_dump()) for n, w in p.data.worlds.items()}
    for sid in settings:
        write_setting(setting_dir(prepared, sid), build_setting(sid, knobs, dict(p.data.domains),
                                                                p.data.rows.model_dump(), p.seed))


def cpu_per_config(units: list[list[dict]], data, train, alone: bool) -> dict[str, list[float]]:
    """CPU-s per config by method; a shared unit's time is split equally over its configs."""
    per_method = defaultdict(list)
    for unit in units:
        parts = [(u,) for u in unit] if alone else [tuple(unit)]
        for part in parts:
            if alone:
                _dwr_selection.cache_clear()
            start = time.process_time()
            fitting._fit_unit(part, data, train)
            seconds = (time.process_time() - start) / len(part)
            for cfg in part:
                per_method[cfg["method"]].append(seconds)
    return per_method


def cost_model(default: WhyshiftParams, paper: WhyshiftParams, prepared: Path, sample: int) -> dict:
    sid = paper.data.settings[0]
    configs = [c for c in expand_grid(paper) if c["setting_id"] == sid]
    counts = defaultdict(int)
    for c in expand_grid(paper):
        counts[c["method"]] += 1
    by_method = defaultdict(list)
    for unit in fit_units(configs, default.train):  # default data sizes: the default profile's train block
        by_method[unit[0]["method"]].append(unit)
    units = [u for us in by_method.values() for u in us[::sample]]
    data = load_setting(setting_dir(prepared, sid))
    shared = cpu_per_config(units, data, default.train, alone=False)
    alone = cpu_per_config(units, data, default.train, alone=True)
    methods = {m: {"paper_configs": counts[m], "sampled_configs": len(alone[m]),
                   "alone_s": sum(alone[m]) / len(alone[m]), "shared_s": sum(shared[m]) / len(shared[m])}
               for m in counts}
    for v in methods.values():
        v["speedup"] = v["alone_s"] / v["shared_s"]
    cpu_alone = sum(v["paper_configs"] * v["alone_s"] for v in methods.values())
    cpu_shared = sum(v["paper_configs"] * v["shared_s"] for v in methods.values())
    return {"setting": sid, "sample_every_nth_unit": sample, "per_method": methods,
            "paper_grid_configs": sum(counts.values()),
            "cpu_hours_alone": cpu_alone / 3600, "cpu_hours_shared": cpu_shared / 3600,
            "cpu_cut": cpu_alone / cpu_shared}


def runner(p: WhyshiftParams, prepared: Path, tmp: Path) -> dict:
    configs = expand_grid(p)
    units = fit_units(configs, p.train)
    jobs = [(str(setting_dir(prepared, u[0]["setting_id"])), "", u, p.train.model_dump()) for u in units]
    data = {sid: load_setting(setting_dir(prepared, sid)) for sid in p.data.settings}
    start = time.perf_counter()
    for unit in units:
        fitting._fit_unit(tuple(unit), data[unit[0]["setting_id"]], p.train)
    plain = time.perf_counter() - start

    def timed(workers: int, executor) -> tuple[float, int]:
        shard = str(tmp / f"shards{workers}-{type(executor).__name__}")
        plan = plan_batches(len(jobs), None, workers, cost=[sum(config_cost(c) for c in j[2]) for j in jobs],
                            keys=[j[0] for j in jobs])
        batches = [[(j[0], shard, j[2], j[3]) for j in (jobs[i] for i in idx)] for idx in plan]
        call = run_batch(fitting.fit_jobs, RuntimeParams(workers=workers))
        start = time.perf_counter()
        executor.map(call, batches, "fit")
        return time.perf_counter() - start, len(batches)

    runner0, _ = timed(1, LocalExecutor(1))  # in this (warm) process: the runner's own overhead
    runner1, _ = timed(1, _SpawnedPool(1))
    runner2, n_batches = timed(2, _SpawnedPool(2))
    return {"settings": p.data.settings, "configs": len(configs), "units": len(units),
            "batches_on_2_workers": n_batches, "plain_s": plain, "runner_in_process_s": runner0,
            "runner1_s": runner1, "runner2_s": runner2,
            "configs_per_s": {"plain": len(configs) / plain, "runner1": len(configs) / runner1,
                              "runner2": len(configs) / runner2},
            "runner_overhead": runner0 / plain - 1, "worker_start_s": runner1 - runner0,
            "speedup_2_vs_1": runner1 / runner2}


class _SpawnedPool(LocalExecutor):
    """``LocalExecutor`` that uses a spawned pool even for one worker (so both timings pay imports)."""

    def map(self, fn, items, name):
        from concurrent.futures import ProcessPoolExecutor
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=limit_threads) as pool:
            return [f.result() for f in [pool.submit(fn, item) for item in items]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settings", default="1,5,10,11")
    parser.add_argument("--sample", type=int, default=6, help="time every n-th fit unit of each method")
    parser.add_argument("--skip-cost-model", action="store_true", help="only the runner measurement")
    args = parser.parse_args()
    limit_threads()
    settings = [int(s) for s in args.settings.split(",")]
    p = load_config("whyshift", WhyshiftParams, REPO, "default", [f"whyshift.data.settings={settings}"]).params
    paper = load_config("whyshift", WhyshiftParams, REPO, "paper").params
    result = {"machine": f"{platform.node()} ({os.cpu_count()} cores, load {os.getloadavg()[0]:.2f})"}
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared"
        write_settings(p, prepared, sorted(set(settings) | {paper.data.settings[0]}))
        fitting._fit_unit(tuple(expand_grid(p)[:3]), load_setting(setting_dir(prepared, settings[0])), p.train)  # imports
        out = REPO / "benchmarks" / "results" / "grid.json"
        if not args.skip_cost_model:
            result["cost_model"] = cost_model(p, paper, prepared, args.sample)
        elif out.exists() and "cost_model" in json.loads(out.read_text()):  # keep the last measured one
            previous = json.loads(out.read_text())
            result["cost_model"] = {**previous["cost_model"], "measured_on": previous["machine"]}
        result["runner"] = runner(p, prepared, Path(tmp))
    speedup = result["runner"]["speedup_2_vs_1"]
    if "cost_model" in result:
        cm = result["cost_model"]
        cm["projection_hours"] = {
            f"{k}": {"1_worker": cm[f"cpu_hours_{k}"], "2_workers": cm[f"cpu_hours_{k}"] / speedup,
                     "128_workers_ideal": cm[f"cpu_hours_{k}"] / 128} for k in ("alone", "shared")}
    result["peak_rss_mb"] = {"main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                             "largest_worker": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
