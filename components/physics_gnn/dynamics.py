"""The dynamics layers shared by the models (spec §3.2): Euler–Lagrange (generic and decoupled),
Hamilton's equations and the holonomic-constraint projection — accelerations from energies by autograd.

Shapes: q, v, p are (B, N, D); flattened coordinates are node-major (B, N·D); float64 throughout.
"""

from __future__ import annotations

from typing import Callable

import torch


def _grad(out: torch.Tensor, inputs, create_graph: bool):
    return torch.autograd.grad(out.sum(), inputs, create_graph=create_graph, materialize_grads=True)


# --- holonomic constraints of the pendulum chain ---------------------------------------------

def chain_A(q: torch.Tensor) -> torch.Tensor:
    """A = ∂φ/∂q for φ_i = ‖r_i − r_{i−1}‖² − l² with the pivot r_{−1} = 0: (B, N, N·D).
    A is linear in the differences, so chain_A(p) is also ∂(A(q)p)/∂q."""
    b, n, d = q.shape
    diff = q - torch.cat([torch.zeros_like(q[:, :1]), q[:, :-1]], 1)
    idx = torch.arange(n)
    A = torch.zeros(b, n, n, d, dtype=q.dtype)
    A[:, idx, idx] = 2 * diff
    A[:, idx[1:], idx[:-1]] = -2 * diff[:, 1:]
    return A.reshape(b, n, n * d)


def chain_adot_qdot(v: torch.Tensor) -> torch.Tensor:
    """Ȧq̇ = (∂(A q̇)/∂q) q̇ = 2‖ṙ_i − ṙ_{i−1}‖²: (B, N)."""
    dv = v - torch.cat([torch.zeros_like(v[:, :1]), v[:, :-1]], 1)
    return 2 * (dv * dv).sum(-1)


def project(f: torch.Tensor, M: torch.Tensor, A: torch.Tensor, adq: torch.Tensor) -> torch.Tensor:
    """Constrained acceleration q̈ = M⁻¹(f − Aᵀλ), λ = (A M⁻¹ Aᵀ)⁻¹(A M⁻¹ f + Ȧq̇);
    guarantees A q̈ + Ȧq̇ = 0. f (B, K), M (B, K, K), A (B, C, K), adq (B, C)."""
    rhs = torch.cat([f[..., None], A.transpose(1, 2)], -1)
    sol = torch.linalg.solve(M, rhs)
    minv_f, minv_at = sol[..., :1], sol[..., 1:]
    lam = torch.linalg.solve(A @ minv_at, A @ minv_f + adq[..., None])
    return (minv_f - minv_at @ lam)[..., 0]


def node_acceleration(force: torch.Tensor, mass: torch.Tensor, q: torch.Tensor, v: torch.Tensor,
                      constrained: bool) -> torch.Tensor:
    """Graph NODE: M = diag(m̂_i repeated over D); q̈ = F̂/m̂, or projected onto the constraints."""
    if not constrained:
        return force / mass[..., None]
    b, n, d = q.shape
    M = torch.diag_embed(mass.repeat_interleave(d, dim=1))
    return project(force.reshape(b, n * d), M, chain_A(q), chain_adot_qdot(v)).reshape(b, n, d)


# --- Lagrangian -----------------------------------------------------------------------------

def euler_lagrange_generic(lagrangian: Callable, q: torch.Tensor, v: torch.Tensor, constrained: bool,
                           create_graph: bool) -> torch.Tensor:
    """q̈ from any L(q, q̇) (B,): M = ∂²L/∂q̇², C = ∂²L/∂q̇∂q, f = ∂L/∂q − C q̇ — the slow path (LGN,
    CLGN). The N·D Hessian rows come from one vectorised backward pass (``is_grads_batched``) rather than
    N·D sequential ones: the same numbers, measured 1.4× (N = 5, training) to 5.6× (N = 50, rollout) faster."""
    b, n, d = q.shape
    k = n * d
    with torch.enable_grad():
        q = q if q.requires_grad else q.detach().requires_grad_(True)
        v = v if v.requires_grad else v.detach().requires_grad_(True)
        L = lagrangian(q, v)
        dq, dv = _grad(L, (q, v), True)
        rows = torch.eye(k, dtype=q.dtype)[:, None, :].expand(k, b, k)  # one unit cotangent per Hessian row
        hm, hc = torch.autograd.grad(dv.reshape(b, k), (v, q), grad_outputs=rows, create_graph=create_graph,
                                     retain_graph=True, is_grads_batched=True, materialize_grads=True)
        M = hm.reshape(k, b, k).transpose(0, 1)
        f = dq.reshape(b, k)
        if hc.dim() > q.dim():  # else ∂L/∂q̇ does not depend on q: C = 0 (materialised unbatched)
            f = f - (hc.reshape(k, b, k).transpose(0, 1) @ v.reshape(b, k, 1))[..., 0]
        if constrained:
            acc = project(f, M, chain_A(q), chain_adot_qdot(v))
        else:
            acc = torch.linalg.solve(M, f[..., None])[..., 0]
    return acc.reshape(b, n, d) if create_graph else acc.detach().reshape(b, n, d)


def euler_lagrange_decoupled(kinetic: Callable, potential: Callable, q: torch.Tensor, v: torch.Tensor,
                             constrained: bool, create_graph: bool) -> torch.Tensor:
    """q̈ for L = Σ_i T_i(‖v_i‖²) − V(q): C = 0, M block-diagonal with M_i = 2T′ I + 4T″ v_i v_iᵀ,
    Π = −∇V — exact and O(N) (the structured form; the generic path must agree)."""
    b, n, d = q.shape
    with torch.enable_grad():
        q = q if q.requires_grad else q.detach().requires_grad_(True)
        s = (v * v).sum(-1)
        s = s if s.requires_grad else s.detach().requires_grad_(True)
        T = kinetic(s)
        (t1,) = _grad(T, (s,), True)
        (t2,) = _grad(t1, (s,), create_graph)
        (dV,) = _grad(potential(q), (q,), create_graph)
        eye = torch.eye(d, dtype=q.dtype)
        M = 2 * t1[..., None, None] * eye + 4 * t2[..., None, None] * v[..., :, None] * v[..., None, :]
        f = -dV
        if constrained:
            Mfull = torch.zeros(b, n, d, n, d, dtype=q.dtype)
            idx = torch.arange(n)
            Mfull[:, idx, :, idx, :] = M.transpose(0, 1)
            acc = project(f.reshape(b, n * d), Mfull.reshape(b, n * d, n * d), chain_A(q), chain_adot_qdot(v))
            acc = acc.reshape(b, n, d)
        else:
            acc = torch.linalg.solve(M, f[..., None])[..., 0]
    return acc if create_graph else acc.detach()


def decoupled_lagrangian(kinetic: Callable, potential: Callable) -> Callable:
    """L(q, v) = Σ T(‖v‖²) − V(q) as a plain function (for the generic path and tests)."""
    return lambda q, v: kinetic((v * v).sum(-1)).sum(-1) - potential(q)


# --- Hamiltonian ----------------------------------------------------------------------------

def hamilton(hamiltonian: Callable, q: torch.Tensor, p: torch.Tensor, constrained: bool, mass: float,
             create_graph: bool):
    """ż = J∇H = (∂H/∂p, −∂H/∂q); constrained: Ψ = [φ(q); A(q)p/m], A_z = ∂Ψ/∂z,
    λ = −(A_z J A_zᵀ)⁻¹ A_z J∇H, ż = J(∇H + A_zᵀλ) (then A_z ż = 0). Returns (q̇, ṗ)."""
    b, n, d = q.shape
    with torch.enable_grad():
        q = q if q.requires_grad else q.detach().requires_grad_(True)
        p = p if p.requires_grad else p.detach().requires_grad_(True)
        dq, dp = _grad(hamiltonian(q, p), (q, p), create_graph)
        grad_h = torch.cat([dq.reshape(b, -1), dp.reshape(b, -1)], -1)
        if constrained:
            k = n * d
            Aq, Ap = chain_A(q), chain_A(p)
            Az = torch.cat([torch.cat([Aq, torch.zeros_like(Aq)], -1), torch.cat([Ap / mass, Aq / mass], -1)], 1)
            J = _symplectic(k, q.dtype)
            jaz = J @ Az.transpose(1, 2)
            lam = -torch.linalg.solve(Az @ jaz, (Az @ (J @ grad_h[..., None])))
            grad_h = grad_h + (Az.transpose(1, 2) @ lam)[..., 0]
        qdot, pdot = grad_h[:, n * d:], -grad_h[:, :n * d]
    out = qdot.reshape(b, n, d), pdot.reshape(b, n, d)
    return out if create_graph else (out[0].detach(), out[1].detach())


def _symplectic(k: int, dtype) -> torch.Tensor:
    eye, zero = torch.eye(k, dtype=dtype), torch.zeros(k, k, dtype=dtype)
    return torch.cat([torch.cat([zero, eye], 1), torch.cat([-eye, zero], 1)], 0)
