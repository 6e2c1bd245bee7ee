"""Rollout metrics, one definition each (spec §6): relative errors per step, geometric means over
trajectories; momentum: the paper's relative error of the per-particle momenta, and the absolute error of
the total momentum (the true total is 0, so a ratio of totals would be degenerate)."""

from __future__ import annotations

import numpy as np

MOMENTUM_FLOOR = 1e-30


def rel_err(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """‖a − b‖ / (‖a‖ + ‖b‖) over nodes and coordinates: (n_traj, T, N, D) → (n_traj, T); 0 where both are 0."""
    num = np.sqrt(((a - b) ** 2).sum((-1, -2)))
    den = np.sqrt((a ** 2).sum((-1, -2))) + np.sqrt((b ** 2).sum((-1, -2)))
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def energy_err(h_true: np.ndarray, h_pred: np.ndarray) -> np.ndarray:
    """|H − Ĥ| / (|H| + |Ĥ|); an overflowing Ĥ (diverged rollout) is the limit 1, never NaN."""
    den = np.abs(h_true) + np.abs(h_pred)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.divide(np.abs(h_true - h_pred), den, out=np.zeros_like(den), where=den > 0)
    return np.where(np.isfinite(h_pred), err, 1.0)


def momentum_err(p_true: np.ndarray, p_pred: np.ndarray) -> np.ndarray:
    """‖ΣP − ΣP̂‖ + 1e-30 (absolute)."""
    return np.sqrt(((p_true - p_pred) ** 2).sum(-1)) + MOMENTUM_FLOOR


def gm_per_step(err: np.ndarray, floor: float = 1e-300) -> np.ndarray:
    """Geometric mean over trajectories at each step: (n_traj, T) → (T,)."""
    return np.exp(np.log(np.maximum(err, floor)).mean(0))


def log_band(err: np.ndarray, floor: float = 1e-300) -> tuple[np.ndarray, np.ndarray]:
    """exp(mean ± 2·std of ln err) per step."""
    logs = np.log(np.maximum(err, floor))
    m, s = logs.mean(0), logs.std(0)
    return np.exp(m - 2 * s), np.exp(m + 2 * s)


def primary(err: np.ndarray, floor: float = 1e-300) -> float:
    """exp(mean over trajectories and steps of ln err) — the scalar the claims compare."""
    return float(np.exp(np.log(np.maximum(err, floor)).mean()))


def _quiet(fn, *args):
    with np.errstate(over="ignore", invalid="ignore"):
        return fn(*args)


def rollout_metrics(physics, true_pos, true_vel, pred_pos, pred_vel) -> tuple[dict, dict]:
    """Scalars and per-step series of one rollout set; step 0 (the shared initial state) excluded."""
    tp, tv, pp, pv = (x[:, 1:] for x in (true_pos, true_vel, pred_pos, pred_vel))
    finite = np.isfinite(pp).all((1, 2, 3)) & np.isfinite(pv).all((1, 2, 3))
    big = 1e6  # diverged rollouts count as maximal error, never silently dropped
    pp = np.where(np.isfinite(pp), pp, big)
    pv = np.where(np.isfinite(pv), pv, big)
    errs = {"rollout": rel_err(tp, pp),
            "energy": energy_err(physics.energy(tp, tv), _quiet(physics.energy, pp, pv))}
    if not physics.constrained:
        # the paper's relative form on the per-particle momenta m·v_i (on the total momentum it would be ≡ 1:
        # the true total is 0), and the absolute total-momentum error (conserved by some architectures)
        errs["momentum"] = rel_err(physics.m * tv, physics.m * pv)
        errs["momentum_total"] = momentum_err(physics.momentum(tv), physics.momentum(pv))
    scalars = {f"{k}_err": primary(v) for k, v in errs.items()}
    scalars.update({f"{k}_err_final": float(gm_per_step(v)[-1]) for k, v in errs.items()})
    scalars["n_diverged"] = float((~finite).sum())
    if physics.constrained:
        from components.physics_gnn.systems import chain_residual
        scalars["constraint_violation"] = float(np.abs(chain_residual(pp, physics.l)).max())
    series = {f"{k}_gm": gm_per_step(v) for k, v in errs.items()}
    for k, v in errs.items():
        series[f"{k}_lo"], series[f"{k}_hi"] = log_band(v)
    return scalars, series
