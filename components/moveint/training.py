"""Training jobs (one per model × seed), the ``ctx.fan_out`` entry and the checkpoint format.

Each job reads the prepared training split, trains its Lightning module with ``make_trainer`` (one
thread), logs into its MLflow child run by reference and writes ``<model>/seed<k>.ckpt`` and
``<model>/seed<k>_curves.csv``. MILD-like jobs also fit the per-action latent HMMs (or GMMs).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from components.core.seeding import derive_seed

MODELS = ("moveint_k3", "moveint_k3_noreg", "moveint_k1", "mild_like", "recurrent_lstm", "recurrent_lstm_label")
# relative cost per job (measured per-step CPU on the default profile, one thread: GRU-bound K = 3 ≈ 43 ms,
# K = 1 ≈ 13 ms, LSTM ≈ 8 ms per 5-trajectory step; MILD VAE 7 × 8 ms per epoch + HMMs): balances the fan-out
COST = {"moveint_k3": 5.0, "moveint_k3_noreg": 5.0, "moveint_k1": 1.6, "mild_like": 2.0, "recurrent_lstm": 1.0,
        "recurrent_lstm_label": 1.0}


def params_of(dumped: dict):
    from components.moveint.params import MoveintParams

    return MoveintParams.model_validate(dumped)


def validation_demos(train, per_action: int, seed: int) -> list[int]:
    """``per_action`` training demos per action held out for monitoring (same for every model and seed)."""
    rng = np.random.default_rng(derive_seed(seed, "validation"))
    out = []
    for a in np.unique(train.action):
        demos = np.unique(train.demo[train.action == a])
        out += sorted(rng.choice(demos, size=min(per_action, len(demos) - 1), replace=False).tolist())
    return sorted(int(d) for d in out)


def fit_and_val(train, p) -> tuple[list[dict], list[dict]]:
    val = set(validation_demos(train, p.data.val_per_action, p.seed))
    trajs = train.trajectories()
    return [t for t in trajs if t["demo"] not in val], [t for t in trajs if t["demo"] in val]


def scaler_of(fit: list[dict], on: bool) -> dict[str, np.ndarray]:
    """Per-dimension mean/std of the fit split's human inputs and robot targets (identity when off).
    Every learned model trains on the same standardised windows; predictions are mapped back before any
    error is computed, so every metric stays in the spec's §6 unit."""
    xh, xr = np.concatenate([t["xh"] for t in fit]), np.concatenate([t["xr"] for t in fit])
    if not on:
        return {"h_mean": np.zeros(xh.shape[1]), "h_std": np.ones(xh.shape[1]),
                "r_mean": np.zeros(xr.shape[1]), "r_std": np.ones(xr.shape[1])}
    return {"h_mean": xh.mean(0), "h_std": xh.std(0) + 1e-6, "r_mean": xr.mean(0), "r_std": xr.std(0) + 1e-6}


def scale_trajs(trajs: list[dict], sc: dict) -> list[dict]:
    return [{**t, "xh": ((t["xh"] - sc["h_mean"]) / sc["h_std"]).astype(np.float32),
             "xr": ((t["xr"] - sc["r_mean"]) / sc["r_std"]).astype(np.float32)} for t in trajs]


def unscale_r(y: np.ndarray, sc: dict) -> np.ndarray:
    return y * sc["r_std"] + sc["r_mean"]


def build_module(model: str, d_h: int, d_r: int, p, n_actions: int):
    from components.moveint.lit import LitMoVEInt, LitRecurrent, LitWindowVAE

    mp = p.model
    if model == "moveint_k3":
        return LitMoVEInt(d_h, d_r, mp, regularise=True, K=mp.K, samples=mp.samples)
    if model == "moveint_k3_noreg":
        return LitMoVEInt(d_h, d_r, mp, regularise=False, K=mp.K, samples=mp.samples)
    if model == "moveint_k1":
        return LitMoVEInt(d_h, d_r, mp, regularise=True, K=1, samples=mp.samples)
    if model == "mild_like":
        return LitWindowVAE(d_h, d_r, mp, beta=p.baselines.mild.beta, samples=mp.samples)
    if model in ("recurrent_lstm", "recurrent_lstm_label"):
        return LitRecurrent(d_h, d_r, p.baselines.lstm.hidden, n_actions if model.endswith("_label") else 0)
    raise ValueError(f"unknown model {model!r}")


def train_one(job: dict) -> dict:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from components.core.io import atomic_path, write_text
    from components.core.seeding import seed_everything
    from components.core.tracking import TrackedRun
    from components.core.training import make_trainer
    from components.moveint.data import load_split
    from components.moveint.lit import Trajectories, pad_batch
    from components.moveint.metrics import error_spec

    p = params_of(job["params"])
    model, seed = job["model"], job["seed"]
    t0 = time.perf_counter()
    train = load_split(Path(job["prepared"]) / "train.npz")
    fit, val = fit_and_val(train, p)
    scaler = scaler_of(fit, p.train.standardise)
    raw = {"fit": fit, "val": val}
    fit, val = scale_trajs(fit, scaler), scale_trajs(val, scaler)
    d_h, d_r, n_actions = train.xh.shape[1], train.xr.shape[1], int(train.action.max()) + 1
    run_seed = derive_seed(p.seed, "train", model, seed)
    seed_everything(run_seed)
    torch.manual_seed(run_seed)
    lit = build_module(model, d_h, d_r, p, n_actions)
    spec = error_spec(p.data.synthetic.robot_space if p.data.source == "synthetic" else "cartesian")
    gen = torch.Generator().manual_seed(run_seed)
    if model == "mild_like":
        xh = torch.as_tensor(np.concatenate([t["xh"] for t in fit]), dtype=torch.float32)
        xr = torch.as_tensor(np.concatenate([t["xr"] for t in fit]), dtype=torch.float32)
        loader = DataLoader(TensorDataset(xh, xr), batch_size=p.baselines.mild.batch_windows, shuffle=True,
                            generator=gen)
        monitor = {"train_recon": (fit, raw["fit"]), "val_recon": (val, raw["val"])}
    else:
        loader = DataLoader(Trajectories(fit), batch_size=p.train.traj_per_batch, shuffle=True,
                            collate_fn=pad_batch, generator=gen)
        monitor = {"train": (fit, raw["fit"]), "val": (val, raw["val"])}
    lit.setup_tracking(p.train.lr, p.train.weight_decay, p.train.log_every, p.train.epochs, monitor, spec,
                       lambda y: unscale_r(y, scaler))
    run = TrackedRun.from_ref(job.get("run"))
    trainer = make_trainer(p.train.epochs, run=run, progress=False, log_every_n_steps=10 ** 6)
    trainer.fit(lit, loader)
    lit.eval()
    extra = {}
    if model == "mild_like":
        extra = fit_latent_models(lit.model, fit, p)
    out = Path(job["out"]) / model
    state = {k: v.detach().clone() for k, v in lit.model.state_dict().items()}
    with atomic_path(out / f"seed{seed}.ckpt") as tmp:
        torch.save({"model": model, "seed": seed, "d_h": d_h, "d_r": d_r, "n_actions": n_actions,
                    "state_dict": state, "scaler": {k: torch.as_tensor(v) for k, v in scaler.items()},
                    "latent": {a: {k: torch.as_tensor(v) for k, v in h.items()} for a, h in extra.items()}}, tmp)
    hist = lit.history
    cols = sorted({k for row in hist for k in row} - {"epoch"})
    lines = [",".join(["epoch", *cols])] + [",".join([str(r["epoch"]), *(f"{r.get(c, float('nan')):.8g}" for c in cols)])
                                             for r in hist]
    write_text(out / f"seed{seed}_curves.csv", "\n".join(lines) + "\n")
    last = hist[-1] if hist else {}
    finite = all(np.isfinite(v) for v in last.values())
    result = {"model": model, "seed": seed, "epochs": int(trainer.current_epoch), "steps": int(trainer.global_step),
              "train_seconds": time.perf_counter() - t0, "finite": bool(finite),
              "n_params": int(sum(x.numel() for x in lit.model.parameters())),
              "final": {k: float(v) for k, v in last.items() if k != "epoch"}}
    if run is not None:
        run.log_params({"model": model, "seed": seed, "run_seed": run_seed, "epochs": p.train.epochs,
                        "lr": p.train.lr, "weight_decay": p.train.weight_decay,
                        "traj_per_batch": p.train.traj_per_batch, "standardise": p.train.standardise,
                        "n_params": result["n_params"],
                        "n_fit_demos": len(fit), "n_val_demos": len(val), **_model_params(model, p)})
        run.log_metrics({"train_seconds": result["train_seconds"], "finite": float(finite)})
        run.log_artifact(out / f"seed{seed}_curves.csv", "training")
    return result


def _model_params(model: str, p) -> dict:
    if model.startswith("moveint"):
        return {"K": 1 if model == "moveint_k1" else p.model.K, "Z": p.model.Z, "beta": p.model.beta,
                "samples": p.model.samples, "regularise": model != "moveint_k3_noreg",
                "prior_std": p.model.prior_std, "smoothness_axis": p.model.smoothness_axis,
                "leaky_output": p.model.leaky_output}
    if model == "mild_like":
        m = p.baselines.mild
        return {"Z": p.model.Z, "beta": m.beta, "states": m.states, "cov_reg": m.cov_reg,
                "latent_model": m.latent_model, "variant": m.variant}
    return {"hidden": p.baselines.lstm.hidden, "use_action_label": model.endswith("_label")}


def encode_pairs(vae, traj: dict) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means (z_h, z_r) of one trajectory's windows."""
    import torch

    with torch.no_grad():
        zh = vae.agent("h")[0](torch.as_tensor(traj["xh"], dtype=torch.float32))[0].numpy()
        zr = vae.agent("r")[0](torch.as_tensor(traj["xr"], dtype=torch.float32))[0].numpy()
    return zh.astype(np.float64), zr.astype(np.float64)


def fit_latent_models(vae, fit: list[dict], p) -> dict:
    """Per-action HMM (or GMM) on concatenated posterior means [z_h, z_r] of the training trajectories."""
    from components.moveint.hmm import fit_hmm, gmm_as_hmm

    m = p.baselines.mild
    out = {}
    for a in sorted({t["action"] for t in fit}):
        seqs = [np.hstack(encode_pairs(vae, t)) for t in fit if t["action"] == a]
        if m.latent_model == "hmm":
            out[a] = fit_hmm(seqs, m.states, m.cov_reg, m.em_iters, derive_seed(p.seed, "hmm", a) % 2 ** 32)
        else:
            from sklearn.mixture import GaussianMixture

            g = GaussianMixture(m.states, covariance_type="full", reg_covar=m.cov_reg,
                                random_state=derive_seed(p.seed, "gmm", a)).fit(np.concatenate(seqs))
            out[a] = {**gmm_as_hmm(g.weights_, g.means_, g.covariances_), "loglik": np.asarray([g.lower_bound_])}
    return out


def train_batch(jobs: list[dict]) -> list[dict]:
    """``ctx.fan_out`` entry: one result per (model, seed) job."""
    return [train_one(job) for job in jobs]
