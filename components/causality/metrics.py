"""Effect and discovery metrics (spec §6), computed in house (gcastle's MetricsDAG breaks under pandas 3)."""

from __future__ import annotations

import math

import numpy as np


# --- effects ---------------------------------------------------------------------------------------------

def sqrt_pehe(tau_hat, tau) -> float:
    """√PEHE = √mean((τ̂(x_i) − τ_i)²)."""
    return float(np.sqrt(np.mean((np.asarray(tau_hat, float) - np.asarray(tau, float)) ** 2)))


def ate_error(tau_hat, tau) -> float:
    """ε_ATE = |mean τ̂ − mean τ|."""
    return float(abs(np.mean(tau_hat) - np.mean(tau)))


def policy_risk(tau_hat, t, y) -> float:
    """R_pol on RCT units: 1 − [ȳ(t=1, π=1) P(π=1) + ȳ(t=0, π=0) P(π=0)], π = 1[τ̂ > 0]; empty cells give 0."""
    policy = np.asarray(tau_hat) > 0
    t, y = np.asarray(t), np.asarray(y, float)
    treat_cell = y[(t == 1) & policy]
    control_cell = y[(t == 0) & ~policy]
    value = (treat_cell.mean() if treat_cell.size else 0.0) * policy.mean()
    value += (control_cell.mean() if control_cell.size else 0.0) * (1 - policy.mean())
    return float(1.0 - value)


def paired_log_ratio(a, b, n_boot: int, seed: int) -> tuple[float, float, float]:
    """mean ℓ_r = log(a_r / b_r) over replications, with a percentile-bootstrap 95 % CI (heavy tails → logs)."""
    ratios = np.log(np.asarray(a, float) / np.asarray(b, float))
    return (float(ratios.mean()), *bootstrap_ci(ratios, n_boot, seed))


def bootstrap_ci(values, n_boot: int, seed: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap CI of the mean; a single value gives a degenerate interval."""
    values = np.asarray(values, float)
    if values.size < 2:
        return float(values.mean()), float(values.mean())
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, (n_boot, values.size))].mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


# --- discovery (edge-mark matrices, see discovery.py) -------------------------------------------------------

def _edge_type(a: np.ndarray, i: int, j: int) -> tuple[int, int]:
    return int(a[i, j]), int(a[j, i])


def shd(estimate: np.ndarray, truth: np.ndarray) -> int:
    """Unordered pairs whose edge type differs (absent, →, ←, —, ↔): a reversal counts once."""
    estimate, truth = np.asarray(estimate), np.asarray(truth)
    d = truth.shape[0]
    return sum(_edge_type(estimate, i, j) != _edge_type(truth, i, j) for i in range(d) for j in range(i + 1, d))


def _prf(tp: int, n_pred: int, n_true: int) -> dict[str, float]:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "fdr": 1 - precision if n_pred else 0.0}


def skeleton_prf(estimate: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    est = np.triu((np.asarray(estimate) != 0) | (np.asarray(estimate).T != 0), 1)
    tru = np.triu((np.asarray(truth) != 0) | (np.asarray(truth).T != 0), 1)
    return _prf(int((est & tru).sum()), int(est.sum()), int(tru.sum()))


def directed_edges(a: np.ndarray) -> np.ndarray:
    """i → j only where the mark is one-way (undirected and bidirected edges are not directed claims)."""
    a = np.asarray(a)
    return (a == 1) & (a.T == 0)


def directed_prf(estimate: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision/recall/F1 over ordered pairs; TPR = recall, FDR = 1 − precision."""
    est, tru = directed_edges(estimate), np.asarray(truth) != 0
    return _prf(int((est & tru).sum()), int(est.sum()), int(tru.sum()))


def random_dag_shd(truth: np.ndarray, n_graphs: int, seed: int) -> np.ndarray:
    """SHD of random DAGs with the true edge count (random order, uniformly chosen forward pairs)."""
    truth = np.asarray(truth)
    d, k = truth.shape[0], int((truth != 0).sum())
    rng = np.random.default_rng(seed)
    pairs = np.array([(i, j) for i in range(d) for j in range(i + 1, d)])
    out = np.empty(n_graphs)
    for g in range(n_graphs):
        order = rng.permutation(d)
        chosen = pairs[rng.choice(len(pairs), size=min(k, len(pairs)), replace=False)]
        a = np.zeros((d, d), dtype=np.int64)
        a[order[chosen[:, 0]], order[chosen[:, 1]]] = 1
        out[g] = shd(a, truth)
    return out


def permuted_graph_shd(truth: np.ndarray, n_graphs: int, seed: int) -> np.ndarray:
    """SHD of the truth with its node labels shuffled: random graphs with exactly the true degree sequence
    (in- and out-degrees, cycles and all) — a baseline that knows the graph's shape but not who is who."""
    truth = np.asarray(truth)
    rng = np.random.default_rng([seed, 12])
    out = np.empty(n_graphs)
    for g in range(n_graphs):
        perm = rng.permutation(truth.shape[0])
        out[g] = shd(truth[np.ix_(perm, perm)], truth)
    return out


def binomial_p_greater(successes: int, trials: int, p: float = 0.5) -> float:
    """One-sided exact binomial test P(X ≥ successes) under Bin(trials, p)."""
    return float(sum(math.comb(trials, k) * p ** k * (1 - p) ** (trials - k) for k in range(successes, trials + 1)))
