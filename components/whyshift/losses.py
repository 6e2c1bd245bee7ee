"""Robust objectives of spec §3.3 as pure torch: per-example losses of one mini-batch → one scalar.

Each ``*_weights`` / ``*_loss`` function is stateless and testable on its own; each ``*Loss`` module
wraps one for ``LitClassifier(objective=...)`` and calls it as ``objective(losses, groups)``.
Adversarial weights are computed without gradient (the official code does the same) and the
loss is Σ p_i ℓ_i. Written from the spec, device-agnostic (W-D2).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

_FLOOR_TOL = 1e-9  # α·m = 20 must floor to 20 even when float arithmetic gives 19.999999999


def _floor(x: float) -> int:
    return int(math.floor(x + _FLOOR_TOL))


def _safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """sqrt with a zero gradient (not NaN) where every residual is clipped to 0."""
    return torch.sqrt(x.clamp_min(1e-12))


# ----------------------------------------------------------------------------------- χ²-DRO


def chi2_divergence(p: torch.Tensor) -> torch.Tensor:
    """``(1/(2m))·‖m·p − 1‖²``, the χ² ball's constraint function (0 at the uniform weights)."""
    m = p.numel()
    return ((m * p - 1) ** 2).sum() / (2 * m)


def chi2_dro_weights(losses: torch.Tensor, size: float, max_iter: int = 500) -> torch.Tensor:
    """Worst-case p on the simplex with ``chi2_divergence(p) ≤ size`` (constraint form, reg = 0).

    The maximiser is ``p ∝ (ℓ − η)_+`` with the constraint active; η is found by bisection. Below
    min ℓ the divergence is ``var(ℓ)/(2·(mean ℓ − η)²)``, which gives a bracket whose lower end is
    always feasible, and the lower end is returned, so the constraint holds exactly. When
    ``m ≤ 1 + 2·size`` the arg-max point mass is feasible and is the answer.
    """
    v = losses.detach().cpu().double().numpy().ravel()
    m = v.size
    if m <= 1 + 2 * size:
        p = np.zeros(m)
        p[int(np.argmax(v))] = 1.0
        return torch.as_tensor(p, dtype=losses.dtype, device=losses.device)
    if size <= 0 or np.ptp(v) == 0:
        return torch.full_like(losses.detach(), 1.0 / m)

    def weights(eta: float) -> np.ndarray:
        w = np.maximum(v - eta, 0.0)
        return w / w.sum()

    def divergence(eta: float) -> float:
        return float(((m * weights(eta) - 1.0) ** 2).sum() / (2 * m))

    lo = min(v.mean() - math.sqrt(v.var() / (2 * size)), v.min())
    hi = v.max()
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:  # interval at float resolution
            break
        if divergence(mid) <= size:
            lo = mid
        else:
            hi = mid
    return torch.as_tensor(weights(lo), dtype=losses.dtype, device=losses.device)


# ----------------------------------------------------------------------------------- CVaR


def cvar_weights(losses: torch.Tensor, alpha: float) -> torch.Tensor:
    """CVaR_α weights: 1/(α·m) on the ⌊α·m⌋ largest losses, the rest of the mass on the next one."""
    m = losses.numel()
    order = torch.argsort(losses.detach(), descending=True)
    k = min(_floor(alpha * m), m)
    p = torch.zeros_like(losses, dtype=losses.dtype).detach()
    if k > 0:
        p[order[:k]] = 1.0 / (alpha * m)
    if k < m:
        p[order[k]] = max(0.0, 1.0 - k / (alpha * m))
    return p


def cvar_doro_loss(losses: torch.Tensor, alpha: float, eps: float) -> torch.Tensor:
    """CVaR-DORO: sort descending, drop the ⌊εB⌋ largest, average ranks [n2, n1) over α(B − n2).

    n1 = ⌊(ε + α(1−ε))·B⌋; at least one loss is kept, so a tiny last batch never yields 0.
    """
    b = losses.numel()
    ranked = torch.sort(losses, descending=True).values
    n2 = min(_floor(eps * b), b - 1)
    n1 = max(min(_floor((eps + alpha * (1 - eps)) * b), b), n2 + 1)
    return ranked[n2:n1].sum() / (alpha * (b - n2))


def chi2_doro_constant(alpha: float) -> float:
    return math.sqrt(1 + (1 / alpha - 1) ** 2)


def chi2_doro_loss(losses: torch.Tensor, alpha: float, eps: float) -> torch.Tensor:
    """χ²-DORO: drop the ⌊εB⌋ largest, then ``min_η C·sqrt(mean((ℓ′−η)_+²)) + η``.

    η comes from Brent's method (no gradient) on a bracket that provably holds the minimiser
    (below min ℓ′ the optimum is ``mean − sqrt(var/(C²−1))`` in closed form); the loss is then
    re-evaluated with gradient at that η. α ≥ 1 is plain ERM on the kept losses.
    """
    from scipy.optimize import minimize_scalar

    b = losses.numel()
    n2 = min(_floor(eps * b), b - 1)
    kept = torch.sort(losses, descending=True).values[n2:]
    if alpha >= 1:
        return kept.mean()
    c = chi2_doro_constant(alpha)
    v = kept.detach().cpu().double().numpy()

    def objective(eta: float) -> float:
        return c * math.sqrt(np.mean(np.maximum(v - eta, 0.0) ** 2)) + eta

    lo = min(v.mean() - math.sqrt(v.var() / (c * c - 1)), v.min())
    hi = v.max()
    if hi - lo < 1e-12:
        eta = float(hi)
    else:
        eta = float(minimize_scalar(objective, bounds=(lo, hi), method="bounded",
                                    options={"xatol": 1e-10}).x)
    return c * _safe_sqrt(torch.relu(kept - eta).pow(2).mean()) + eta


# ----------------------------------------------------------------------------------- Group DRO


def group_means(losses: torch.Tensor, groups: torch.Tensor, n_groups: int) -> torch.Tensor:
    """Mean loss per group index 0..n_groups−1 in the batch; 0 for a group the batch lacks."""
    sums = torch.zeros(n_groups, dtype=losses.dtype, device=losses.device).index_add(0, groups, losses)
    counts = torch.bincount(groups, minlength=n_groups).to(losses.dtype)
    return sums / counts.clamp_min(1)


def group_dro_update(log_q: torch.Tensor, group_loss: torch.Tensor, step: float) -> torch.Tensor:
    """``q_g ← q_g·exp(step·L̄_g)`` then normalise, in log space (no overflow over long runs)."""
    return torch.log_softmax(log_q + step * group_loss.detach(), dim=0)


# ----------------------------------------------------------------------------------- marginal DRO


def marginal_dro_bound(losses: torch.Tensor, eta: torch.Tensor, B: torch.Tensor, d: torch.Tensor,
                       radius: float, p_min: float) -> torch.Tensor:
    """The bound ``U = J/p_min + η`` of spec §3.3, with
    ``J = sqrt(mean_i [ℓ_i − Σ_j (B_ij − B_ji) − η]_+²) + (R/m²)·Σ_ij B_ij·d_ij``."""
    m = losses.numel()
    residual = losses - (B.sum(dim=1) - B.sum(dim=0)) - eta
    j = _safe_sqrt(torch.relu(residual).pow(2).mean()) + radius / m**2 * (B * d).sum()
    return j / p_min + eta


def marginal_dro_dual(losses: torch.Tensor, eta: torch.Tensor, s: torch.Tensor, radius: float,
                      p_min: float, n_inner: int = 10, step: float = 0.1) -> torch.Tensor:
    """B after ``n_inner`` projected-gradient steps on U from B = 0 (θ and η held fixed).

    ``d_ij = |s_i − s_j|``: moving loss between two points costs R·d_ij, so pairs of one
    sensitive value (d = 0) trade freely and only cross-value transport is priced by the radius.
    """
    s = s.to(losses.dtype)
    d = (s[:, None] - s[None, :]).abs()
    lo, et = losses.detach(), eta.detach()
    B = torch.zeros(lo.numel(), lo.numel(), dtype=lo.dtype, device=lo.device)
    for _ in range(n_inner):
        B.requires_grad_(True)
        with torch.enable_grad():
            grad, = torch.autograd.grad(marginal_dro_bound(lo, et, B, d, radius, p_min), B)
        B = (B.detach() - step * grad).clamp_min(0.0)
    return B


# ----------------------------------------------------------------------------------- modules


class Chi2DROLoss(nn.Module):
    def __init__(self, size: float):
        super().__init__()
        self.size = size

    def forward(self, losses: torch.Tensor, groups=None) -> torch.Tensor:
        return (chi2_dro_weights(losses, self.size) * losses).sum()


class CVaRDROLoss(nn.Module):
    def __init__(self, alpha: float):
        super().__init__()
        self.alpha = alpha

    def forward(self, losses: torch.Tensor, groups=None) -> torch.Tensor:
        return (cvar_weights(losses, self.alpha) * losses).sum()


class CVaRDOROLoss(nn.Module):
    def __init__(self, alpha: float, eps: float):
        super().__init__()
        self.alpha, self.eps = alpha, eps

    def forward(self, losses: torch.Tensor, groups=None) -> torch.Tensor:
        return cvar_doro_loss(losses, self.alpha, self.eps)


class Chi2DOROLoss(nn.Module):
    def __init__(self, alpha: float, eps: float):
        super().__init__()
        self.alpha, self.eps = alpha, eps

    def forward(self, losses: torch.Tensor, groups=None) -> torch.Tensor:
        return chi2_doro_loss(losses, self.alpha, self.eps)


class GroupDROLoss(nn.Module):
    """Σ_g q_g·L̄_g with q updated (exponentiated gradient, no grad) before each batch's loss."""

    def __init__(self, n_groups: int, step: float):
        super().__init__()
        self.n_groups, self.step = n_groups, step
        self.register_buffer("log_q", torch.full((n_groups,), -math.log(n_groups)))

    @property
    def q(self) -> torch.Tensor:
        return self.log_q.exp()

    def forward(self, losses: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
        group_loss = group_means(losses, groups, self.n_groups)
        self.log_q = group_dro_update(self.log_q, group_loss, self.step)
        return (self.q.to(losses.dtype) * group_loss).sum()


class MarginalDROLoss(nn.Module):
    """Dual bound U of marginal DRO over the sensitive value (``groups`` carries the raw value s).

    η is a learnable scalar set to the first batch's mean loss; each call first solves for B
    (projected gradient from 0), then returns U at that fixed B for the (θ, η) step.
    """

    def __init__(self, radius: float, p_min: float, n_inner: int = 10, inner_step: float = 0.1):
        super().__init__()
        self.radius, self.p_min, self.n_inner, self.inner_step = radius, p_min, n_inner, inner_step
        self.eta = nn.Parameter(torch.zeros(()))
        self.register_buffer("started", torch.zeros((), dtype=torch.bool))

    def forward(self, losses: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
        if not bool(self.started):
            with torch.no_grad():
                self.eta.fill_(losses.detach().mean())
                self.started.fill_(True)
        s = groups.to(losses.dtype)
        B = marginal_dro_dual(losses, self.eta, s, self.radius, self.p_min, self.n_inner, self.inner_step)
        d = (s[:, None] - s[None, :]).abs()
        return marginal_dro_bound(losses, self.eta, B, d, self.radius, self.p_min)


# ----------------------------------------------------------------------------------- DWR


def weighted_offdiag_cov(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``mean_{k≠l} Cov_w̃(X)_kl²`` with w̃ = w/Σw: the decorrelation term of DWR (a covariance, not a
    correlation; the official division by the standard deviations is commented out)."""
    wn = w / w.sum()
    xc = x - wn @ x
    cov = xc.T @ (wn[:, None] * xc)
    d = x.shape[1]
    return (cov.pow(2).sum() - cov.diagonal().pow(2).sum()) / (d * (d - 1))


def dwr_objective(x: torch.Tensor, w: torch.Tensor, l1: float, l2: float) -> torch.Tensor:
    """``1000·mean_{k≠l}(Cov_w̃(X)_kl²) + l1·(mean w − 1)² + l2·mean(w²)`` (spec §3.3)."""
    return 1000 * weighted_offdiag_cov(x, w) + l1 * (w.mean() - 1) ** 2 + l2 * w.pow(2).mean()
