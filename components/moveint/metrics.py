"""Metrics of spec §6: per-window prediction error (×100 for Cartesian data), per-action summaries,
expert usage entropy, expert separation, phase alignment, Mann–Whitney U."""

from __future__ import annotations

import numpy as np

W = 5


def error_spec(robot_space: str) -> tuple[int, float]:
    """(J, scale): Cartesian HHI windows have J = 6 'joints' (3 positions + 3 velocities) of 3 coordinates
    and are ×100 (unit 10⁻² m², 'cm' in the original); Pepper angles J = 4, c = 1, unscaled."""
    return (6, 100.0) if robot_space == "cartesian" else (4, 1.0)


def window_errors(pred: np.ndarray, y: np.ndarray, J: int, scale: float, w: int = W) -> np.ndarray:
    """e = scale · (1/W) Σ_f (1/J) Σ_j Σ_c (ŷ − y)² per window (rows)."""
    return scale * ((np.asarray(pred, float) - np.asarray(y, float)) ** 2).sum(1) / (w * J)


def position_errors(pred: np.ndarray, y: np.ndarray, scale: float, w: int = W) -> np.ndarray:
    """Position-only variant (logged, not used for verdicts): the first 9 values of each 18-wide frame, J = 3."""
    d = (np.asarray(pred, float) - np.asarray(y, float)).reshape(len(pred), w, -1)[:, :, :9]
    return scale * (d ** 2).sum((1, 2)) / (w * 3)


def per_action(errors: np.ndarray, action: np.ndarray, n_actions: int) -> dict:
    """Mean ± std over test windows per action and the unweighted mean over actions."""
    means, stds = [], []
    for a in range(n_actions):
        e = errors[action == a]
        means.append(float(e.mean()) if len(e) else float("nan"))
        stds.append(float(e.std()) if len(e) else float("nan"))
    return {"per_action_mean": means, "per_action_std": stds, "mean_over_actions": float(np.nanmean(means))}


def per_trajectory_mean(errors: np.ndarray, demo: np.ndarray) -> float:
    return float(np.mean([errors[demo == d].mean() for d in np.unique(demo)]))


def usage(alpha: np.ndarray) -> dict:
    """u_k = share of windows with argmax α = k; Ĥ = −Σ u ln u / ln K (1 for K = 1 by convention: nothing
    can collapse); min_k u_k."""
    K = alpha.shape[1]
    u = np.bincount(alpha.argmax(1), minlength=K) / len(alpha)
    nz = u[u > 0]
    H = float(-(nz * np.log(nz)).sum() / np.log(K)) if K > 1 else 1.0
    return {"usage": u.tolist(), "usage_entropy": H, "usage_min": float(u.min())}


def separation(mu_k: np.ndarray) -> float:
    """Mean over windows of min_{i<j} ‖μ_i − μ_j‖ (mu_k: (N, K, Z)); NaN for K = 1."""
    K = mu_k.shape[1]
    if K < 2:
        return float("nan")
    i, j = np.triu_indices(K, 1)
    d = np.linalg.norm(mu_k[:, i] - mu_k[:, j], axis=-1)
    return float(d.min(1).mean())


def phase_ami(alpha: np.ndarray, phase: np.ndarray) -> float:
    from sklearn.metrics import adjusted_mutual_info_score

    return float(adjusted_mutual_info_score(phase, alpha.argmax(1)))


def mann_whitney(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Mann–Whitney U p-value between two models' per-window errors."""
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
