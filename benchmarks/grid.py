"""Throughput of the whyshift grid runner, 2-worker speed-up, peak memory, projected full-grid time.

Measured in one run on the same data (default-profile rows, the default §5.2 grid on ``--settings``):

* ``plain``   — a sequential loop over the same build/fit/predict calls, data loaded once;
* ``runner1`` — the grid runner (``fitting.fit_jobs`` over the batches ``ctx.fan_out`` plans: per-batch data load, error capture,
  an atomic shard per batch) in-process with one worker;
* ``runner2`` — the same batches on a 2-process pool (spawned workers, one thread each; includes
  worker start-up and imports).

Usage: ``.venv/bin/python benchmarks/grid.py [--settings 1,10]``; writes ``benchmarks/results/grid.json``.
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
from components.whyshift.data import load_setting, setting_dir, write_setting  # noqa: E402
from components.whyshift.fitting import accuracy_f1, fit_jobs  # noqa: E402
from components.whyshift.generator import WorldKnobs  # noqa: E402
from components.whyshift.grid import METHODS, expand_grid  # noqa: E402
from components.whyshift.params import WhyshiftParams  # noqa: E402
from components.whyshift.settings import build_setting  # noqa: E402


def plain_loop(configs: list[dict], prepared: Path, train) -> dict[str, list[float]]:
    """Seconds per config by method: build, fit, predict on every evaluation set — nothing else."""
    per_method = defaultdict(list)
    data = {}
    for cfg in configs:
        sid = cfg["setting_id"]
        if sid not in data:
            data[sid] = load_setting(setting_dir(prepared, sid))
        d = data[sid]
        start = time.perf_counter()
        model = METHODS[cfg["method"]].build(cfg["hp"], cfg["seed"], train).fit(d.X["train"], d.y["train"])
        for name in ["id_val", "id_test", *d.targets]:
            accuracy_f1(d.y[name], model.predict(d.X[name]))
        per_method[cfg["method"]].append(time.perf_counter() - start)
    return per_method


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settings", default="1,10")
    args = parser.parse_args()
    limit_threads()
    settings = [int(s) for s in args.settings.split(",")]
    p = load_config("whyshift", WhyshiftParams, REPO, "default", [f"whyshift.data.settings={settings}"]).params
    paper = load_config("whyshift", WhyshiftParams, REPO, "paper").params
    configs = expand_grid(p)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared"
        knobs = {n: WorldKnobs(**w.model_dump()) for n, w in p.data.worlds.items()}
        for sid in settings:
            write_setting(setting_dir(prepared, sid), build_setting(sid, knobs, dict(p.data.domains),
                                                                    p.data.rows.model_dump(), p.seed))
        plain_loop(configs[:3], prepared, p.train)  # warm imports (torch, lightning, ...) for both timings

        def work(shards: Path, workers: int) -> list[list]:
            """The batches ``ctx.fan_out`` makes in the train step (core.execution.plan_batches)."""
            jobs = [(str(setting_dir(prepared, c["setting_id"])), str(shards), c, p.train.model_dump())
                    for c in configs]
            plan = plan_batches(len(jobs), None, workers, keys=[j[0] for j in jobs])
            return [[jobs[i] for i in idx] for idx in plan]

        call = run_batch(fit_jobs, RuntimeParams(workers=2))
        t = time.perf_counter()
        per_method = plain_loop(configs, prepared, p.train)
        plain = time.perf_counter() - t
        t = time.perf_counter()
        LocalExecutor(1).map(call, work(Path(tmp) / "s1", 1), "fit")
        runner1 = time.perf_counter() - t
        t = time.perf_counter()
        batches2 = work(Path(tmp) / "s2", 2)
        LocalExecutor(2).map(call, batches2, "fit")
        runner2 = time.perf_counter() - t

    mean = {m: sum(v) / len(v) for m, v in per_method.items()}
    paper_counts = defaultdict(int)
    for c in expand_grid(paper):
        paper_counts[c["method"]] += 1
    cpu_s = sum(paper_counts[m] * mean[m] for m in paper_counts)
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {
        "machine": f"{platform.node()} ({os.cpu_count()} cores, load {os.getloadavg()[0]:.2f})",
        "settings": settings, "configs": len(configs), "batches_on_2_workers": len(batches2),
        "plain_s": plain, "runner1_s": runner1, "runner2_s": runner2,
        "configs_per_s": {"plain": len(configs) / plain, "runner1": len(configs) / runner1,
                          "runner2": len(configs) / runner2},
        "runner_overhead": runner1 / plain - 1, "speedup_2_vs_1": runner1 / runner2,
        "peak_rss_mb": {"main": peak_self, "largest_worker": peak_children},
        "mean_s_per_config": mean,
        "projection_paper_grid_at_default_rows": {
            "configs": sum(paper_counts.values()), "cpu_hours": cpu_s / 3600,
            "hours_on_2_workers": cpu_s / 3600 / (runner1 / runner2),   # at the measured speed-up
            "hours_on_128_workers": cpu_s / 3600 / 128,                   # ideal scaling
            "note": "paper-size data (20,000 rows, 50 epochs, 100 trees) costs roughly 10-50x more per config"},
    }
    out = REPO / "benchmarks" / "results" / "grid.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
