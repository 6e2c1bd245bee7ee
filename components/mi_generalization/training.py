"""Worker side of the train step: one job = one trained network (E1/E4/E5 repeat, or one simulator of one
E2/E3 run), fitted with Lightning; its checkpoint, per-epoch curves CSV and MLflow child-run records.
Module-level functions so the executor can pickle them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.core.seeding import derive_seed
from components.core.tracking import TrackedRun


@dataclass(frozen=True)
class Job:
    exp: str  # e1 | e2 | e4 | e5 (E3 runs are e2 jobs at other variances)
    run: int
    prepared: str
    out: str
    params: dict  # MiGeneralizationParams.model_dump()
    kind: str = ""  # e2: incoherence | cmi; e5: relu | tanh; e4: dataset name
    var: float = 0.0  # e2: noise variance
    optimizer: str = "adam"
    ref: dict | None = None  # TrackedRun.ref() of this job's nested MLflow run

    @property
    def tag(self) -> str:
        if self.exp == "e2":
            return f"e2/var{self.var:g}/{self.optimizer}-{self.kind}/run{self.run}"
        if self.exp in ("e4", "e5"):
            return f"{self.exp}/{self.kind}/run{self.run}"
        return f"{self.exp}/run{self.run}"

    @property
    def cost(self) -> float:
        p = self.params
        if self.exp == "e2":
            return p["e2"]["epochs"] * (1.3 if self.kind == "cmi" else 1.0)
        if self.exp == "e4":
            return p["e4"]["epochs"] * 0.4
        return p[self.exp]["epochs"] * 0.8


def params_of(job: Job):
    from components.mi_generalization.params import MiGeneralizationParams

    return MiGeneralizationParams.model_validate(job.params)


def simulator_rows(n_pool: int, kind: str, seed: int) -> dict:
    """Row indices of one simulator run in the generated pool (spec §3.3; the code's layout).

    incoherence: shuffle, keep the first n = pool/2, J ~ U{0..n−1}; cmi: super-sample = the first n,
    J ~ U{0..n−2}, z_J2 = the (n+1)-th shuffled sample, U ∈ {1, 2} uniform.
    """
    rng = np.random.default_rng(seed)
    n = n_pool // 2
    perm = rng.permutation(n_pool)
    if kind == "incoherence":
        return {"rows": perm[:n], "j": int(rng.integers(n)), "u": 1}
    j = int(rng.integers(n - 1))
    rest = np.delete(perm[:n], j)
    return {"rows": np.concatenate([rest, perm[[j]], perm[[n]]]), "j": n - 1, "u": int(rng.integers(2)) + 1}


def _tensor(a, dtype=None):
    import torch

    return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype)


def _fit(module, loader, epochs: int, run):
    from components.core.training import make_trainer

    trainer = make_trainer(epochs, run=run, progress=False, log_every_n_steps=10**6)
    trainer.fit(module, loader)
    return trainer


def train_one(job: Job) -> dict:
    import torch

    from components.core.io import atomic_path
    from components.core.seeding import seed_everything
    from components.mi_generalization import data as D
    from components.mi_generalization import models as M

    torch.set_num_threads(1)
    p = params_of(job)
    t0 = time.perf_counter()
    prepared = Path(job.prepared)
    run = TrackedRun.from_ref(job.ref)
    model_seed = derive_seed(p.seed, "model", job.tag)
    seed_everything(model_seed)
    hp: dict = {"exp": job.exp, "run": job.run, "kind": job.kind, "seed": model_seed}
    info: dict = {}
    if job.exp in ("e1", "e5"):
        cfg = p.e1 if job.exp == "e1" else p.e5
        d = D.load_npz(prepared / ("proto/proto.npz" if job.exp == "e1" else "proto/proto_e5.npz"),
                       ("x_train", "y_train", "x_test", "y_test"))
        x, y = _tensor(d["x_train"]), _tensor(d["y_train"])
        sizes = (x[0].numel(), *cfg.hidden, 2) if job.exp == "e1" else (x[0].numel(), *p.e1.hidden, 2)
        baselines = ({"bin_sizes": p.e5.bin_sizes, "kde_vars": p.e5.kde_vars, "every": p.e5.every}
                     if job.exp == "e5" else None)
        module = M.LitInfoMLP(sizes, False, "glorot_uniform", cfg.lr, (x, y), (_tensor(d["x_test"]), _tensor(d["y_test"])),
                              log_every=p.e1.log_every, activation=job.kind or "relu", baselines=baselines)
        trainer = _fit(module, M.single_batch(x, y), cfg.epochs, run)
        hp.update(lr=cfg.lr, epochs=cfg.epochs, sizes=str(sizes), optimizer="adam", batch="full", init="glorot_uniform")
    elif job.exp == "e4":
        from torch.utils.data import DataLoader, TensorDataset

        d = D.load_npz(prepared / "benchmark" / f"{job.kind}.npz", ("x_train", "y_train", "x_test", "y_test"))
        x, y = _tensor(d["x_train"]), _tensor(d["y_train"])
        sizes = (x.shape[1], *p.e4.hidden, int(y.max()) + 1)
        module = M.LitInfoMLP(sizes, False, "trunc_normal", p.e4.lr, (x, y), (_tensor(d["x_test"]), _tensor(d["y_test"])),
                              log_every=p.e4.log_every)
        loader = DataLoader(TensorDataset(x, y), batch_size=p.e4.batch_size, shuffle=True,
                            generator=torch.Generator().manual_seed(model_seed))
        trainer = _fit(module, loader, p.e4.epochs, run)
        hp.update(lr=p.e4.lr, epochs=p.e4.epochs, sizes=str(sizes), optimizer="adam", batch=p.e4.batch_size)
    elif job.exp == "e2":
        d = D.load_npz(prepared / "bound" / f"var{job.var:g}_run{job.run}.npz",
                       ("x", "y", "x_code_test", "x_iid", "y_iid"))
        lay = simulator_rows(len(d["y"]), job.kind, derive_seed(p.seed, "draws", job.var, job.run, job.kind))
        rows = (_tensor(d["x"][lay["rows"]]), _tensor(d["y"][lay["rows"]]))
        tests = {"iid": (_tensor(d["x_iid"]), _tensor(d["y_iid"])), "code": (_tensor(d["x_code_test"]), _tensor(d["y"]))}
        sizes = (rows[0][0].numel(), *p.e2.hidden, 2)
        module = M.LitBoundSimulator(job.kind, sizes, p.e2.lr, job.optimizer, rows, lay["j"], lay["u"], tests,
                                     derive_seed(p.seed, "noise", job.tag), p.e2.eval_every, p.e2.log_every)
        trainer = _fit(module, M.single_batch(_tensor(np.zeros(1))), p.e2.epochs, run)
        info = {"n": module.n, "j": lay["j"], "u": lay["u"], "bound": module.history[-1]["bound"]}
        hp.update(lr=p.e2.lr, epochs=p.e2.epochs, sizes=str(sizes), optimizer=job.optimizer, var=job.var,
                  simulator=job.kind, batch="full", init="he_normal", n=module.n)
    else:
        raise ValueError(f"unknown experiment {job.exp!r}")
    seconds = time.perf_counter() - t0
    out = Path(job.out) / job.tag
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out.with_suffix(".pt")) as tmp:
        torch.save({"state_dict": module.net.state_dict(), "tag": job.tag, "sizes": list(sizes)}, tmp)
    curves = write_curves(out.parent / f"{out.name}_curves.csv", module.history)
    final = {k: v for k, v in module.history[-1].items() if k != "final"}
    result = {"tag": job.tag, "exp": job.exp, "kind": job.kind, "var": job.var, "run": job.run,
              "optimizer": job.optimizer, "epochs": int(trainer.current_epoch), "train_seconds": seconds,
              "final": final, **info}
    if run is not None:
        run.log_params(hp)
        run.log_metrics({"train_seconds": seconds, **{f"final_{k}": v for k, v in final.items()
                                                       if isinstance(v, (int, float)) and np.isfinite(v)}})
        run.log_artifact(curves, "curves")
    return result


def write_curves(path: Path, history: list[dict]) -> Path:
    import pandas as pd

    from components.core.io import atomic_path

    frame = pd.DataFrame(history).drop(columns=["final"], errors="ignore")
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.10g")
    return path


def train_batch(jobs: list[Job]) -> list[dict]:
    """``ctx.fan_out`` entry: one result per job."""
    return [train_one(job) for job in jobs]
