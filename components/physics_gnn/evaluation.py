"""Worker side of the evaluate step: roll a trained model (or the oracle) out on every test size and
score it (spec §6); writes ``<system>/<model>_seed<k>_N<n>.json`` and ``…_series.csv``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.core.io import write_json, write_text
from components.physics_gnn.data import load_arrays, physics_of, store_dt, test_sizes, train_size
from components.physics_gnn.metrics import rollout_metrics

ORACLE = "oracle"
STATIC = "static"  # the no-motion rollout q̂_t = q_0, v̂_t = 0: an absolute bound for P3 (ground truth only)
BASELINES = (ORACLE, STATIC)


@dataclass(frozen=True)
class EvalJob:
    system: str
    model: str  # a registry name or "oracle"
    seed: int
    prepared: str
    models_dir: str
    out: str
    params: dict


def load_model(job: EvalJob):
    import torch

    from components.physics_gnn.models import build
    from components.physics_gnn.params import PhysicsGnnParams

    p = PhysicsGnnParams.model_validate(job.params)
    mass = p.pendulum.m if job.system == "pendulum" else 1.0
    model = build(job.model, job.system, p.model, mass, train_size(p, job.system))
    state = torch.load(Path(job.models_dir) / job.system / job.model / f"seed{job.seed}.pt", weights_only=True)
    model.load_state_dict(state["state_dict"])
    model.eval()
    return model


def evaluate_one(job: EvalJob) -> list[dict]:
    import torch

    torch.set_num_threads(1)
    from components.physics_gnn.models import is_graph
    from components.physics_gnn.params import PhysicsGnnParams
    from components.physics_gnn.rollout import rollout_oracle, rollout_sets

    p = PhysicsGnnParams.model_validate(job.params)
    phys = physics_of(p, job.system)
    sizes = test_sizes(p, job.system)
    if job.model not in BASELINES and not is_graph(job.model):
        sizes = sizes[:1]  # a non-graph MLP has a fixed input size: no zero-shot rollouts
    tests = [load_arrays(Path(job.prepared) / job.system / f"test_N{n}.npz") for n, _ in sizes]
    n_states, sdt, rdt = tests[0]["pos"].shape[1], store_dt(p, job.system), p.system(job.system).rollout_dt
    t0, c0 = time.perf_counter(), time.process_time()
    if job.model == ORACLE:
        preds = [rollout_oracle(phys, t["init_pos"], t["init_vel"], n_states, sdt, rdt) for t in tests]
    elif job.model == STATIC:
        preds = [(np.repeat(t["init_pos"][:, None], n_states, 1), np.zeros_like(t["pos"])) for t in tests]
    else:
        model = load_model(job)
        preds = rollout_sets(model, [(t["init_pos"], t["init_vel"]) for t in tests], n_states, sdt, rdt)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows = []
    for (n, _), t, (pos, vel) in zip(sizes, tests, preds):
        scalars, series = rollout_metrics(phys, t["pos"], t["vel"], pos, vel)
        row = {"system": job.system, "model": job.model, "seed": job.seed, "N": n,
               "n_traj": int(pos.shape[0]), "rollout_seconds": seconds, "rollout_cpu_seconds": cpu, **scalars}
        stem = Path(job.out) / job.system / f"{job.model}_seed{job.seed}_N{n}"
        write_json(stem.with_suffix(".json"), row)
        cols = sorted(series)
        lines = [",".join(["t"] + cols)]
        lines += [",".join([f"{(i + 1) * sdt:.6g}"] + [f"{series[c][i]:.8g}" for c in cols])
                  for i in range(n_states - 1)]
        write_text(stem.parent / f"{stem.name}_series.csv", "\n".join(lines) + "\n")
        rows.append(row)
    return rows


def evaluate_batch(jobs: list[EvalJob]) -> list[list[dict]]:
    """``ctx.fan_out`` entry: the rows (one per test size) of every job."""
    return [evaluate_one(job) for job in jobs]
