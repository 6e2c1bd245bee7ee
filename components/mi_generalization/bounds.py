"""Generalisation bounds: the SGLD noise schedule and the accumulators of the official simulators
(spec §3.3, ``synthetic_mlp_bounds.py``), and the Xu–Raginsky plug-in bound (§3.2, [inferred]).

Everything here is a pure function of numbers, so the Lightning simulator (``models.py``) and the tests
share one implementation.
"""

from __future__ import annotations

import math

VAR_0, VAR_INF, VAR_RATE, VAR_STEPS = 3e-6, 1e-8, 0.5, 50  # the code's noise-variance schedule


def noise_var(t: int) -> float:
    """σ_t² = 1e-8 + (3e-6 − 1e-8)·exp(−0.5·⌊t/50⌋), t = optimiser step."""
    return VAR_INF + (VAR_0 - VAR_INF) * math.exp(-VAR_RATE * math.floor(t / VAR_STEPS))


def beta(t: int, lr: float) -> float:
    """Inverse temperature β_t = 2η/σ_t²."""
    return 2 * lr / noise_var(t)


def noise_scale(t: int, lr: float) -> float:
    """Std of the gradient noise the code injects: σ_t / η (per coordinate)."""
    return math.sqrt(noise_var(t)) / lr


def inject_noise(g, t: int, lr: float, generator):
    """The code's ``noisy_gradient``: g + (σ_t/η)·ε, ε ~ N(0, I) (float64). Returns (noisy gradient, ε)."""
    import torch

    eps = torch.randn(g.shape, generator=generator, dtype=torch.float64).to(g.device)
    return g + noise_scale(t, lr) * eps, eps


def theta(a: float) -> float:
    """θ = ½ + ½·erf(a) (the code's default ``theta_fn_name = 'erf'``)."""
    return 0.5 + 0.5 * math.erf(a)


def incoherence_term(t: int, lr: float, n: int, diff_sq: float) -> float:
    """One step of Σ_t β_t η ‖(g_{S∖J} − g_J)/n‖²; ``diff_sq`` = ‖g_{S∖J} − g_J‖²."""
    return beta(t, lr) * lr * diff_sq / n**2


def incoherence_bound(acc: float) -> float:
    """B_inc = (1/(2√2))·√(Σ_t …) as a fraction (the code prints ×100)."""
    return math.sqrt(max(acc, 0.0)) / (2 * math.sqrt(2))


def cmi_term(t: int, lr: float, delta_sq: float, a: float) -> float:
    """One step of Σ_t β_t η ‖Δ_t‖² θ_t², Δ_t = g(z_J1) − g(z_J2)."""
    return beta(t, lr) * lr * delta_sq * theta(a) ** 2


def cmi_theta_update(a: float, t: int, lr: float, n: int, delta_sq: float, s_delta_dot_eps: float) -> float:
    """a_{t+1} = a_t − ½[β_t η/(2n²)‖sΔ_t‖² + √(2β_t η)/n · ⟨sΔ_t, ε_t⟩] (‖sΔ‖ = ‖Δ‖)."""
    b = beta(t, lr)
    return a - 0.5 * (b * lr / (2 * n**2) * delta_sq + math.sqrt(2 * b * lr) / n * s_delta_dot_eps)


def cmi_bound(acc: float, n: int) -> float:
    """B_cmi = (1/(n√2))·√(Σ_t …) as a fraction."""
    return math.sqrt(max(acc, 0.0)) / (n * math.sqrt(2))


def xu_raginsky(mi_bits: float, n: int, sigma: float = 0.5) -> float:
    """√(2σ²·I·ln2 / n): Xu & Raginsky (2017) with I(S;W) replaced by an estimate in bits; σ = ½ for the 0-1 loss."""
    return math.sqrt(2 * sigma**2 * max(mi_bits, 0.0) * math.log(2) / n)
