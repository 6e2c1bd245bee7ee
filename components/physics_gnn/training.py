"""Worker side of the train step: one (system, model, seed) run = data split, Lightning fit, checkpoint,
loss curve and MLflow child-run records. Module-level functions so the executor can pickle them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.core.seeding import derive_seed
from components.core.tracking import TrackedRun


@dataclass(frozen=True)
class RunJob:
    system: str
    model: str
    seed: int
    prepared: str  # data/physics_gnn/prepared
    out: str  # directory receiving <system>/<model>/seed<k>.*
    params: dict  # PhysicsGnnParams.model_dump()
    run: dict | None = None  # TrackedRun.ref() of this run's nested MLflow run

    @property
    def key(self) -> str:
        return f"{self.system}/{self.model}/seed{self.seed}"


def params_of(job: RunJob):
    from components.physics_gnn.params import PhysicsGnnParams

    return PhysicsGnnParams.model_validate(job.params)


def split_indices(n: int, fraction: float, seed: int, system: str) -> tuple[np.ndarray, np.ndarray]:
    """The code's by-state split of the training pool (never used for rollouts)."""
    perm = np.random.default_rng(derive_seed(seed, "split", system)).permutation(n)
    cut = int(round(fraction * n))
    return np.sort(perm[:cut]), np.sort(perm[cut:])


def training_arrays(p, job: RunJob):
    """(q, v, y) train and validation tensors for this model's target."""
    import torch

    from components.physics_gnn.data import load_arrays
    from components.physics_gnn.models import targets

    arrays = load_arrays(Path(job.prepared) / job.system / "train.npz")
    pos, vel, acc = arrays["pos"], arrays["vel"], arrays["acc"]
    std = p.noise.per_snapshot_offset_std
    if std > 0:  # the code's noisy variant: one scalar per snapshot added to R, V and F
        rng = np.random.default_rng(derive_seed(p.seed, "noise", job.system))
        offset = rng.normal(0, std, pos.shape[:2])[..., None, None]
        pos, vel, acc = pos + offset, vel + offset, acc + offset
    mass = p.pendulum.m if job.system == "pendulum" else 1.0
    q, v, y = targets(job.model, pos, vel, acc, mass)
    tr, va = split_indices(len(q), p.train.split, p.seed, job.system)
    as_t = lambda a, idx: torch.as_tensor(a[idx], dtype=torch.float64)  # noqa: E731
    return [as_t(a, tr) for a in (q, v, y)], [as_t(a, va) for a in (q, v, y)]


def train_one(job: RunJob) -> dict:
    import torch

    torch.set_num_threads(1)
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

    from components.core.io import atomic_path, write_text
    from components.core.seeding import seed_everything
    from components.core.training import make_trainer
    from components.physics_gnn.lightning import LitPhysics, block_scales, column_scale
    from components.physics_gnn.data import train_size
    from components.physics_gnn.models import build

    p = params_of(job)
    t0, c0 = time.perf_counter(), time.process_time()
    train, val = training_arrays(p, job)
    run_seed = derive_seed(p.seed, "model", job.system, job.model, job.seed)
    seed_everything(run_seed)
    mass = p.pendulum.m if job.system == "pendulum" else 1.0
    model = build(job.model, job.system, p.model, mass, train_size(p, job.system))
    dim = train[0].shape[-1]
    scales = block_scales(train[2], dim)
    if p.train.standardise_targets:
        model.set_output_scale(scales)
    # whole batches by one fancy index (TensorDataset takes a list of indices), without a per-sample fetch and
    # collate (4× cheaper per batch, measured); the loader shares the sampler's generator, so the batches are
    # those of DataLoader(shuffle=True, generator=...) exactly
    data, gen = TensorDataset(*train), torch.Generator().manual_seed(run_seed)
    batches = BatchSampler(RandomSampler(data, generator=gen), p.train.batch_size, drop_last=False)
    loader = DataLoader(data, batch_size=None, sampler=batches, generator=gen)
    max_steps = p.train.epochs * len(loader)
    lit = LitPhysics(model, p.train.lr, p.train.grad_clip, val, p.train.fit_nmse, p.train.check_every,
                     column_scale(scales, dim) if p.train.standardise_targets else None, max_steps,
                     p.train.lr_schedule)
    run = TrackedRun.from_ref(job.run)
    # the budget is a step cap (epochs × batches), the same for every model; no wall-clock limit (issue 14)
    trainer = make_trainer(p.train.epochs, run=run, limit_val_batches=0, log_every_n_steps=10**6)
    trainer.fit(lit, loader)
    steps = int(trainer.global_step)
    if lit.fit_step is None and (not lit.history or lit.history[-1]["step"] != steps):
        lit.check(steps)  # the final weights are a candidate too
    if lit.best_state is not None:
        model.load_state_dict(lit.best_state)
    val_mse = _mse(model, val)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = Path(job.out) / job.system / job.model
    with atomic_path(out / f"seed{job.seed}.pt") as tmp:
        torch.save({"state_dict": model.state_dict(), "model": job.model, "system": job.system}, tmp)
    lines = ["step,train_loss,val_nmse"] + [f"{h['step']},{h['train_loss']:.10g},{h['val_nmse']:.10g}"
                                             for h in lit.history]
    write_text(out / f"seed{job.seed}_loss.csv", "\n".join(lines) + "\n")
    fitted = lit.fit_step is not None
    result = {"system": job.system, "model": job.model, "seed": job.seed, "steps": steps,
              "max_steps": max_steps, "fit": fitted, "fit_step": lit.fit_step,
              "val_nmse": float(lit.best_nmse), "val_nmse_blocks": [float(b) for b in lit.best_blocks],
              "val_mse": val_mse, "nan_steps": lit.nan_steps, "train_seconds": seconds, "cpu_seconds": cpu,
              "n_train": len(train[0]), "n_params": sum(x.numel() for x in model.parameters()),
              "target_scales": scales, "seconds_per_step": seconds / max(steps, 1)}
    if run is not None:
        run.log_params({"system": job.system, "model": job.model, "seed": job.seed, "lr": p.train.lr,
                        "batch_size": p.train.batch_size, "max_steps": result["max_steps"],
                        "fit_nmse": p.train.fit_nmse, "init": p.model.init,
                        "lr_schedule": p.train.lr_schedule, "standardise_targets": p.train.standardise_targets,
                        "n_params": result["n_params"], "n_train": result["n_train"]})
        run.log_metrics({k: float(result[k]) for k in ("val_nmse", "val_mse", "nan_steps", "steps",
                                                       "train_seconds", "fit") if np.isfinite(float(result[k]))})
        run.log_artifact(out / f"seed{job.seed}_loss.csv", "training")
    return result


def _mse(model, data) -> float:
    from components.physics_gnn.lightning import predict_all

    q, v, y = data
    return float(((predict_all(model, q, v) - y) ** 2).mean())


def train_batch(jobs: list[RunJob]) -> list[dict]:
    """``ctx.fan_out`` entry: one result per run."""
    return [train_one(job) for job in jobs]
