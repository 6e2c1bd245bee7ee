"""Synthetic data with known truth: effect SCMs (τ per unit) and linear SEMs on random DAGs (adjacency).

Effect SCM (one ``ScmKind``): X ∈ ℝᵈ ~ N(0, Σ), Σ_ij = 0.3^|i−j|; hidden U ~ N(0, 1);
T ~ Bern(σ(overlap · (x₁ + x₂ − x₃)/√3 + hidden · U)); Y = μ₀(X) + τ(X) T + 2 · hidden · U + ε.
Linear: μ₀ = 1 + Σ_{j≤5} x_j, τ ≡ 2. Nonlinear: μ₀ = 1 + sin(2x₁) + 0.5 x₂² + x₃x₄ + x₅,
τ(x) = 2 + 1.5 tanh(2x₁) + 0.5 x₂. U is never written to the frame: with hidden > 0 ignorability fails.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.causality.datasets import random_split, tidy


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def effect_scm(kind, n: int, d: int, rng: np.random.Generator, test_share: float) -> pd.DataFrame:
    idx = np.arange(d)
    cov = 0.3 ** np.abs(idx[:, None] - idx[None, :])
    x = rng.multivariate_normal(np.zeros(d), cov, size=n)
    u = rng.standard_normal(n)
    t = (rng.random(n) < _sigmoid(kind.overlap * (x[:, 0] + x[:, 1] - x[:, 2]) / np.sqrt(3) + kind.hidden * u))
    if kind.outcome == "linear":
        mu0 = 1.0 + x[:, :5].sum(axis=1)
        tau = np.full(n, 2.0)
    else:
        mu0 = 1.0 + np.sin(2 * x[:, 0]) + 0.5 * x[:, 1] ** 2 + x[:, 2] * x[:, 3] + x[:, 4]
        tau = 2.0 + 1.5 * np.tanh(2 * x[:, 0]) + 0.5 * x[:, 1]
    noise = rng.standard_normal(n) if kind.noise == "gaussian" else rng.laplace(0, 1 / np.sqrt(2), n)
    y = mu0 + tau * t + 2.0 * kind.hidden * u + noise
    return tidy(x, t.astype(np.int64), y, random_split(n, test_share, rng), tau=tau)


def random_dag(d: int, rng: np.random.Generator, edge_prob: float | None = None) -> np.ndarray:
    """Erdős–Rényi DAG (expected degree 2) over a random order; weights U(±[0.5, 2]). B[i, j] ≠ 0 ⇔ i → j."""
    p = 2.0 / (d - 1) if edge_prob is None else edge_prob
    order = rng.permutation(d)
    mask = np.triu(rng.random((d, d)) < p, k=1)
    weights = rng.uniform(0.5, 2.0, (d, d)) * rng.choice([-1.0, 1.0], (d, d))
    b = np.zeros((d, d))
    b[np.ix_(order, order)] = mask * weights
    return b


def linear_sem(b: np.ndarray, n: int, noise: str, rng: np.random.Generator) -> np.ndarray:
    """X = E (I − B)⁻¹ with unit-variance Gaussian or uniform (non-Gaussian) noise."""
    d = b.shape[0]
    e = rng.standard_normal((n, d)) if noise == "gauss" else rng.uniform(-np.sqrt(3), np.sqrt(3), (n, d))
    return e @ np.linalg.inv(np.eye(d) - b)


def is_acyclic(adjacency: np.ndarray) -> bool:
    """Kahn's algorithm on the 0/1 adjacency (rows = from)."""
    a = (np.asarray(adjacency) != 0).astype(int)
    indegree = a.sum(axis=0)
    ready = [i for i in range(len(a)) if indegree[i] == 0]
    seen = 0
    while ready:
        i = ready.pop()
        seen += 1
        for j in np.flatnonzero(a[i]):
            indegree[j] -= 1
            if indegree[j] == 0:
                ready.append(j)
    return seen == len(a)
