"""Where sciie's default-profile CPU goes, and the per-epoch dev curve that sets its epoch count.

For every training of the default matrix (``params.yaml`` ``sciie.runs`` × seeds) this runs the pipeline's own
``train_one`` (Lightning, one document per step, one thread) with ``train.dev_curve: true``: after each epoch the
seed's dev set (25 documents, never the test set) is scored for the tasks the configuration trains. Per training it
records CPU seconds in total, in the epochs, and outside them (data, test/KG prediction, saving); per epoch the
training loss, dev entity / Rel / CoNLL F1 and CPU seconds. The dev scoring runs after each epoch's clock stops
and draws no random numbers, so the trajectories equal the pipeline's.

Epoch rule (fixed before looking at the curves): the smallest E in ``--candidates`` such that for every
configuration and every task it trains, the seed-mean dev F1 after E epochs is within ``--tol`` (0.005, half the
claims' δ) of the seed-mean after ``--max-epochs`` (15, the spec's default).

Usage (prepared default data in ``data/sciie/prepared``, from ``paperflows run sciie --step prepare``):
``.venv/bin/python benchmarks/sciie_budget.py [--workers 2] [--seeds 5]``; writes
``benchmarks/results/sciie_budget.json`` and ``benchmarks/results/sciie_dev_curve.png``.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _job(args):
    import torch

    torch.set_num_threads(1)
    import pandas as pd

    from components.sciie.training import TrainJob, train_one

    regime, config, i, seed, prepared, out, params = args
    r = train_one(TrainJob(regime, config, "bilstm", i, seed, prepared, out, params))
    log = pd.read_csv(Path(out) / r["tag"] / "train_log.csv")
    r["epochs"] = log.to_dict("records")
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prepared", default=str(REPO / "data/sciie/prepared"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--max-epochs", type=int, default=15)
    ap.add_argument("--candidates", default="6,8,10,12,15")
    ap.add_argument("--tol", type=float, default=0.005)
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/sciie_budget.json"))
    a = ap.parse_args()

    import yaml

    from components.sciie.params import SciieParams
    from components.sciie.steps import run_seed

    raw = yaml.safe_load((REPO / "params.yaml").read_text())["sciie"]
    raw["train"].update(epochs=a.max_epochs, dev_curve=True, seeds=a.seeds)
    raw["stats"]["min_wins"] = min(raw["stats"]["min_wins"], a.seeds)
    p = SciieParams.model_validate(raw)
    tmp = tempfile.mkdtemp(prefix="sciie_budget_")
    jobs = [(r.regime, c, i, run_seed(p, i), a.prepared, tmp, p.model_dump())
            for r in p.runs if r.encoder == "bilstm" for c in r.configs for i in range(a.seeds)]
    t0 = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(a.workers) as pool:
        res = pool.map(_job, jobs, chunksize=1)
    wall = time.perf_counter() - t0

    import numpy as np

    curves, cost = {}, {}
    for r in res:
        key = f"{r['regime']}/{r['config']}"
        ep = r["epochs"]
        epoch_cpu = sum(e["cpu_seconds"] for e in ep)
        dev_cpu = sum(e.get("dev_cpu_seconds", 0.0) for e in ep)
        c = cost.setdefault(key, {"cpu_total": [], "cpu_epochs": [], "cpu_outside_epochs": []})
        c["cpu_total"].append(r["cpu_seconds"] - dev_cpu)  # what the pipeline pays (no dev curve there)
        c["cpu_epochs"].append(epoch_cpu)
        # outside the epochs: data, model, trainer, test/KG prediction, saving
        c["cpu_outside_epochs"].append(r["cpu_seconds"] - dev_cpu - epoch_cpu)
        for e in ep:
            for m in ("dev_ent_f1", "dev_rel_f1", "dev_conll_f1", "loss"):
                if m in e and e[m] == e[m]:
                    curves.setdefault(key, {}).setdefault(m, {}).setdefault(int(e["epoch"]) + 1, []).append(e[m])
    mean_curves = {k: {m: {e: float(np.mean(v)) for e, v in sorted(by.items())} for m, by in d.items()}
                   for k, d in curves.items()}
    cands = [int(x) for x in a.candidates.split(",")]
    gaps = {}
    for E in cands:
        worst = max((mean_curves[k][m][a.max_epochs] - mean_curves[k][m][E], k, m)
                    for k in mean_curves for m in mean_curves[k] if m.startswith("dev_"))
        gaps[E] = {"worst_gap": worst[0], "where": f"{worst[1]} {worst[2]}"}
    chosen = min(E for E in cands if gaps[E]["worst_gap"] < a.tol)
    per_epoch_cpu = {k: float(np.mean(v["cpu_epochs"]) / a.max_epochs) for k, v in cost.items()}
    outside = {k: float(np.mean(v["cpu_outside_epochs"])) for k, v in cost.items()}
    out = {"machine": platform.platform(), "python": sys.version.split()[0], "workers": a.workers,
           "seeds": a.seeds, "max_epochs": a.max_epochs, "wall_seconds": wall, "load_avg": os.getloadavg(),
           "rule": f"smallest E in {cands} with seed-mean dev F1(E) > F1({a.max_epochs}) − {a.tol} for every "
                   "configuration and trained task",
           "gaps": gaps, "chosen_epochs": chosen,
           "cpu_per_epoch_mean": per_epoch_cpu,
           "cpu_outside_epochs_mean": outside,
           "cpu_total_per_training_mean": {k: float(np.mean(v["cpu_total"])) for k, v in cost.items()},
           "cpu_sum_all_trainings": float(sum(sum(v["cpu_total"]) for v in cost.values())),
           "mean_curves": mean_curves}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))
    _figure(mean_curves, a.max_epochs, Path(a.out).with_name("sciie_dev_curve.png"))
    print(json.dumps({k: out[k] for k in ("wall_seconds", "gaps", "chosen_epochs", "cpu_per_epoch_mean",
                                          "cpu_outside_epochs_mean", "cpu_sum_all_trainings")},
                     indent=1))


def _figure(curves, max_epochs, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, m, name in zip(axes, ("dev_ent_f1", "dev_rel_f1", "dev_conll_f1"), ("entity F1", "Rel F1", "CoNLL F1")):
        for k, d in sorted(curves.items()):
            if m in d:
                ax.plot(list(d[m]), list(d[m].values()), label=k, marker=".")
        ax.set_title(f"dev {name} (mean over seeds)")
        ax.set_xlabel("epoch")
        ax.set_xticks(range(1, max_epochs + 1, 2))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
