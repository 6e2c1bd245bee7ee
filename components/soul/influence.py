"""The influence-unlearning bridge on an exact toy (spec §3.4): L2-regularised logistic regression.

One Newton step on the retain objective from θ_o (= influence unlearning) should land near the
retrained θ_r, a diagonal-Newton step part of the way, and gradient descent needs many steps.
"""

from __future__ import annotations

import numpy as np


def make_toy(n: int, d: int, forget_frac: float, seed: int):
    """Ill-conditioned features X_ij = N(0,1)·10^{1.5(j−1)/(d−1)}, weights N(0,1)/s_j, Bernoulli labels."""
    rng = np.random.default_rng(seed)
    s = 10 ** (1.5 * np.arange(d) / (d - 1))
    x = rng.standard_normal((n, d)) * s
    w = rng.standard_normal(d) / s
    y = (rng.random(n) < 1 / (1 + np.exp(-x @ w))).astype(float)
    forget = np.zeros(n, dtype=bool)
    forget[rng.choice(n, int(round(forget_frac * n)), replace=False)] = True
    return x, y, forget


def loss_grad(theta, x, y, lam):
    """Loss and gradient only (the optimiser and gradient descent need no Hessian)."""
    z = x @ theta
    p = 1 / (1 + np.exp(-z))
    loss = np.mean(np.logaddexp(0, z) - y * z) + lam / 2 * theta @ theta
    grad = x.T @ (p - y) / len(y) + lam * theta
    return loss, grad, p


def loss_grad_hess(theta, x, y, lam):
    loss, grad, p = loss_grad(theta, x, y, lam)
    hess = (x * (p * (1 - p))[:, None]).T @ x / len(y) + lam * np.eye(len(theta))
    return loss, grad, hess


def solve(x, y, lam) -> np.ndarray:
    from scipy.optimize import minimize

    res = minimize(lambda t: loss_grad(t, x, y, lam)[:2], np.zeros(x.shape[1]), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 20000})
    return res.x


def influence_toy(n: int = 2000, d: int = 20, lam: float = 1e-2, forget_frac: float = 0.1, seed: int = 0,
                  gd_max_steps: int = 5000) -> dict:
    x, y, forget = make_toy(n, d, forget_frac, seed)
    theta_o = solve(x, y, lam)
    xr, yr = x[~forget], y[~forget]
    theta_r = solve(xr, yr, lam)
    scale = np.linalg.norm(theta_o - theta_r)

    def rel(t):
        return float(np.linalg.norm(t - theta_r) / scale)

    _, g_r, h_r = loss_grad_hess(theta_o, xr, yr, lam)
    theta_newton = theta_o - np.linalg.solve(h_r, g_r)
    theta_diag = theta_o - g_r / np.diag(h_r)
    # the exact identity ∇L_r(θ_o) = −(n_f/n_r)·∇L_f(θ_o), up to the solver's tolerance
    _, g_f, _ = loss_grad_hess(theta_o, x[forget], y[forget], lam)
    identity_err = float(np.linalg.norm(g_r + forget.sum() / (~forget).sum() * g_f) / np.linalg.norm(g_r))
    step = 1 / np.linalg.eigvalsh(h_r).max()
    theta, curve, first_match = theta_o.copy(), {}, None
    newton = rel(theta_newton)
    for t in range(1, gd_max_steps + 1):
        theta = theta - step * loss_grad(theta, xr, yr, lam)[1]
        r = rel(theta)
        if t in (1, 10, 100, 1000, 2000, gd_max_steps):
            curve[str(t)] = r
        if first_match is None and r <= newton:
            first_match = t
    return {"rel_newton": newton, "rel_diag": rel(theta_diag), "rel_gd": curve,
            "gd_steps_to_newton": first_match, "gd_max_steps": gd_max_steps, "identity_rel_err": identity_err,
            "n": n, "d": d, "lam": lam, "seed": seed}
