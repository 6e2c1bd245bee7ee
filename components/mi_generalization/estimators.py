"""Mutual-information estimators, all in bits and float64.

* :func:`gibbs_mi` — the probabilistic (Gibbs) representation of a layer (spec §3.1, companion code
  ``test_MLP_Gibbs_IT.py``): P(F = k | x) = softmax_k(f(x)) at temperature 1, X uniform on the given inputs,
  class-conditional entropies weighted uniformly over classes.
* :func:`binning_mi` — the binning estimator of Shwartz-Ziv & Tishby (ravidziv/IDNNs, artemyk/ibsgd
  ``simplebinmi``): activations floored into bins of a fixed size, each distinct pattern a state.
* :func:`kde_mi` — the pairwise-distance KDE upper bound of Kolchinsky & Tracey as used in artemyk/ibsgd
  (``kde.entropy_estimator_kl``): T + N(0, var·I) as a Gaussian mixture, H(T|X) = d/2·log(2πe·var).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp, softmax

EPS = 2.2e-16  # added inside logs (the code used np.spacing(1), in float32)
LN2 = np.log(2.0)


def entropy_bits(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy (bits) of probability vectors along ``axis``."""
    p = np.asarray(p, dtype=np.float64)
    return -(p * np.log2(p + EPS)).sum(axis=axis)


def gibbs_probs(acts: np.ndarray) -> np.ndarray:
    """P(F = k | x_i): softmax of each row of activations (temperature 1), float64."""
    return softmax(np.asarray(acts, dtype=np.float64), axis=1)


def gibbs_mi(acts: np.ndarray, labels: np.ndarray | None = None) -> dict[str, float]:
    """I(X;F), I(F;Y) and I(X̄;F) = I(X;F) − I(F;Y) of one layer, in bits (spec §3.1).

    ``acts``: (n, K) activations (post-ReLU for hidden layers, logits for the output layer) of the n inputs,
    which are taken as the uniform empirical law of X. ``labels``: (n,) class ids; without them only I(X;F).
    """
    p = gibbs_probs(acts)
    p_f = p.mean(axis=0)
    h_f = float(entropy_bits(p_f))
    h_f_x = float(entropy_bits(p, axis=1).mean())
    out = {"i_xt": h_f - h_f_x, "h_t": h_f}
    if labels is not None:
        labels = np.asarray(labels)
        classes = np.unique(labels)
        h_f_y = float(np.mean([entropy_bits(p[labels == c].mean(axis=0)) for c in classes]))
        out["i_yt"] = h_f - h_f_y
        out["i_xbar_t"] = out["i_xt"] - out["i_yt"]
    return out


def _discrete_entropy(codes: np.ndarray) -> float:
    _, counts = np.unique(codes, axis=0, return_counts=True)
    q = counts / counts.sum()
    return float(-(q * np.log2(q)).sum())


def binning_mi(acts: np.ndarray, labels: np.ndarray, bin_size: float) -> dict[str, float]:
    """Binning estimator: T discretised as floor(t / bin_size); X is the sample identity (all inputs
    distinct), so I(X;T) = H(T_bin); I(T;Y) = H(T_bin) − Σ_y p(y) H(T_bin | y)."""
    if bin_size <= 0:
        raise ValueError(f"bin_size must be positive, got {bin_size}")
    codes = np.floor(np.asarray(acts, dtype=np.float64) / bin_size).astype(np.int64)
    labels = np.asarray(labels)
    h_t = _discrete_entropy(codes)
    h_t_y = sum((labels == c).mean() * _discrete_entropy(codes[labels == c]) for c in np.unique(labels))
    return {"i_xt": h_t, "i_yt": h_t - h_t_y}


def _kde_entropy_nats(x: np.ndarray, var: float) -> float:
    """Upper bound (nats) on the entropy of the mixture (1/N) Σ_j N(x_j, var·I) (ibsgd ``entropy_estimator_kl``)."""
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    sq = (x * x).sum(1)
    dists = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0)
    lprobs = logsumexp(-dists / (2 * var), axis=1) - np.log(n) - d / 2 * np.log(2 * np.pi * var)
    return float(d / 2 - lprobs.mean())


def kde_mi(acts: np.ndarray, labels: np.ndarray, noise_var: float) -> dict[str, float]:
    """KDE (pairwise KL) upper bound: I(X;T) = H(T+N) − H(N), I(T;Y) = H(T+N) − Σ_y p(y) H(T+N | y); bits."""
    if noise_var <= 0:
        raise ValueError(f"noise_var must be positive, got {noise_var}")
    acts = np.asarray(acts, dtype=np.float64)
    labels = np.asarray(labels)
    d = acts.shape[1]
    h_t = _kde_entropy_nats(acts, noise_var)
    h_noise = d / 2 * (np.log(2 * np.pi * noise_var) + 1)
    h_t_y = sum((labels == c).mean() * _kde_entropy_nats(acts[labels == c], noise_var) for c in np.unique(labels))
    return {"i_xt": (h_t - h_noise) / LN2, "i_yt": (h_t - h_t_y) / LN2}


def joint_table_mi(joint: np.ndarray) -> float:
    """I of a joint probability table, Σ p log2(p / (p_row p_col)) — an independent reference for tests."""
    joint = np.asarray(joint, dtype=np.float64)
    pr, pc = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    mask = joint > 0
    return float((joint[mask] * np.log2(joint[mask] / (pr @ pc)[mask])).sum())
