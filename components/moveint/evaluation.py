"""Evaluation of final checkpoints on the test split (spec §6), one job per (model, seed), plus the
untrained references: ``knn`` (k nearest human windows), ``mean_window`` (per-action mean robot window at
the same normalised time — oracle label) and ``const_mean`` (the mean training robot window: the floor a
model must beat to count as fitted).

Writes ``<name>.json`` (per-action mean/std, mean over actions, usage, separation, AMI) and
``errors_<name>.npy`` (per-window errors); the first seed of each model also writes its predictions
(``pred_<model>.npy``) for the rollout figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.moveint.training import fit_and_val, params_of

REFERENCES = ("knn", "mean_window", "const_mean")
MILD_EVALS = {"mild_like": False, "mild_like_label": True}  # evaluated name → uses the action label


def load_ckpt(path: Path) -> dict:
    import torch

    from components.core.errors import UserError

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"{path} is not a readable checkpoint ({type(exc).__name__})",
                        "rerun `paperflows run moveint --step train`") from None
    if "scaler" not in ckpt:
        raise UserError(f"{path} was written by an older version (no input scaler)",
                        "rerun `paperflows run moveint --step train`")
    return ckpt


def predict_model(ckpt: dict, test, p, use_label: bool | None = None) -> dict:
    """Predictions (N, D_r) for the test windows in file order, plus α / experts for MoVEInt."""
    import torch

    from components.moveint.training import build_module, scale_trajs, unscale_r

    lit = build_module(ckpt["model"], ckpt["d_h"], ckpt["d_r"], p, ckpt["n_actions"])
    lit.model.load_state_dict(ckpt["state_dict"])
    lit.eval()
    sc = {k: v.numpy().astype(np.float64) for k, v in ckpt["scaler"].items()}
    trajs = scale_trajs(test.trajectories(), sc)
    out: dict = {}
    with torch.no_grad():
        if ckpt["model"].startswith("moveint"):
            ys, als, mus = [], [], []
            for t in trajs:  # one trajectory at a time: the GRU runs over that demo's windows only
                r = lit.model.predict(torch.as_tensor(t["xh"], dtype=torch.float32)[None])
                ys.append(r["y"][0].numpy())
                als.append(r["alpha"][0].numpy())
                mus.append(r["mu_k"][0].numpy())
            out = {"y": np.concatenate(ys), "alpha": np.concatenate(als), "mu_k": np.concatenate(mus)}
        elif ckpt["model"] == "mild_like":
            out = {"y": predict_mild(lit.model, ckpt["latent"], trajs, use_label)}
        else:
            out = {"y": lit.predict_trajs(trajs)}
    out["y"] = unscale_r(out["y"], sc)
    return out


def predict_mild(vae, latent: dict, trajs: list[dict], use_label: bool) -> np.ndarray:
    """HMM forward on the human latent, GMR to the robot latent, decode (spec §5)."""
    import torch

    from components.moveint.hmm import gmr_predict, union
    from components.moveint.training import encode_pairs

    hmms = {int(a): {k: v.numpy().astype(np.float64) for k, v in h.items() if k != "loglik"}
            for a, h in latent.items()}
    joint = union([hmms[a] for a in sorted(hmms)])
    dec = vae.agent("r")[1]
    preds = []
    for t in trajs:
        zh, _ = encode_pairs(vae, t)
        zr, _ = gmr_predict(hmms[t["action"]] if use_label else joint, zh, zh.shape[1])
        with torch.no_grad():
            preds.append(dec(torch.as_tensor(zr, dtype=torch.float32)).numpy())
    return np.concatenate(preds)


def predict_reference(name: str, fit: list[dict], test, k: int) -> np.ndarray:
    xr_fit = np.concatenate([t["xr"] for t in fit])
    if name == "const_mean":
        return np.tile(xr_fit.mean(0), (len(test.xr), 1))
    if name == "knn":
        from sklearn.neighbors import NearestNeighbors

        xh_fit = np.concatenate([t["xh"] for t in fit])
        idx = NearestNeighbors(n_neighbors=k).fit(xh_fit).kneighbors(test.xh, return_distance=False)
        return xr_fit[idx].mean(1)
    if name == "mean_window":
        pred = np.empty_like(test.xr)
        grid = {}
        for t in fit:  # each training demo's robot windows as a function of normalised time
            grid.setdefault(t["action"], []).append((np.linspace(0, 1, len(t["xr"])), t["xr"]))
        for d in test.demos():
            m = test.demo == d
            tau = np.linspace(0, 1, int(m.sum()))
            curves = [np.stack([np.interp(tau, s, xr[:, j]) for j in range(xr.shape[1])], 1)
                      for s, xr in grid[int(test.action[m][0])]]
            pred[m] = np.mean(curves, 0)
        return pred
    raise ValueError(name)


def evaluate_job(job: dict) -> list[dict]:
    """One job → one or more evaluated entries (MILD: without and with the action label)."""
    from components.core.io import write_json
    from components.moveint.data import load_split
    from components.moveint.metrics import (error_spec, per_action, per_trajectory_mean, phase_ami,
                                            position_errors, separation, usage, window_errors)

    p = params_of(job["params"])
    prepared, out = Path(job["prepared"]), Path(job["out"])
    test = load_split(prepared / "test.npz")
    n_actions = len(p.data.synthetic.actions) if p.data.source == "synthetic" else int(test.action.max()) + 1
    space = p.data.synthetic.robot_space if p.data.source == "synthetic" else "cartesian"
    J, scale = error_spec(space)
    entries = []
    if job["model"] in REFERENCES:
        fit, _ = fit_and_val(load_split(prepared / "train.npz"), p)
        entries.append((job["model"], {"y": predict_reference(job["model"], fit, test, p.baselines.knn_k)}))
    else:
        ckpt = load_ckpt(Path(job["models"]) / job["model"] / f"seed{job['seed']}.ckpt")
        if job["model"] == "mild_like":
            for name, label in MILD_EVALS.items():
                entries.append((name, predict_model(ckpt, test, p, use_label=label)))
        else:
            entries.append((job["model"], predict_model(ckpt, test, p)))
    results = []
    for name, pred in entries:
        err = window_errors(pred["y"], test.xr, J, scale)
        res = {"model": name, "seed": job["seed"], "n_windows": int(len(err)), "finite": bool(np.isfinite(err).all()),
               **per_action(err, test.action, n_actions), "per_trajectory": per_trajectory_mean(err, test.demo)}
        if space == "cartesian":
            res["position_only_mean"] = float(position_errors(pred["y"], test.xr, scale).mean())
        if "alpha" in pred:
            res.update(usage(pred["alpha"]))
            res["separation"] = separation(pred["mu_k"])
            res["phase_ami"] = phase_ami(pred["alpha"], test.phase) if pred["alpha"].shape[1] > 1 else float("nan")
        tag = f"{name}_seed{job['seed']}"
        write_json(out / f"{tag}.json", res)
        np.save(out / f"errors_{tag}.npy", err)
        if job["seed"] == job["first_seed"]:
            np.save(out / f"pred_{name}.npy", pred["y"].astype(np.float32))
            if "alpha" in pred:
                np.save(out / f"alpha_{name}.npy", pred["alpha"].astype(np.float32))
        results.append(res)
    return results


def evaluate_batch(jobs: list[dict]) -> list[list[dict]]:
    """``ctx.fan_out`` entry: the evaluated entries of every job."""
    return [evaluate_job(job) for job in jobs]
