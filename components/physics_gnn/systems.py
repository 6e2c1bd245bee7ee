"""Ground-truth physics (numpy, float64): energies, forces, constrained accelerations and trajectory generators.

Every generator is seeded per trajectory (``derive_seed``) and vectorised over trajectories, so
the same params give byte-identical arrays in any process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from components.core.seeding import derive_seed
from components.physics_gnn.graphs import graph
from components.physics_gnn.integrators import rk4, velocity_verlet

DIMS = {"spring": 2, "pendulum": 2, "nbody": 3}


@dataclass(frozen=True)
class Physics:
    """The true system: what the metrics, the oracle rollout and the generators share."""

    system: str
    potential: str = "code_quirk"  # spring only
    g: float = 10.0  # pendulum only
    l: float = 1.0
    m: float = 1.0

    @property
    def dim(self) -> int:
        return DIMS[self.system]

    @property
    def constrained(self) -> bool:
        return self.system == "pendulum"

    def potential_energy(self, q: np.ndarray) -> np.ndarray:
        """V of (..., N, D) positions → (...)."""
        if self.system == "spring":
            s, r, _ = graph("spring", q.shape[-2])
            half = slice(0, len(s) // 2)  # each spring once
            d = np.linalg.norm(q[..., s[half], :] - q[..., r[half], :], axis=-1)
            per = (d ** 2 - 1.0) ** 2 if self.potential == "code_quirk" else 0.5 * (d - 1.0) ** 2
            return per.sum(-1)
        if self.system == "pendulum":
            return self.m * self.g * q[..., 1].sum(-1)
        s, r, _ = graph("nbody", q.shape[-2])
        half = slice(0, len(s) // 2)
        return -(1.0 / np.linalg.norm(q[..., s[half], :] - q[..., r[half], :], axis=-1)).sum(-1)

    def energy(self, q: np.ndarray, v: np.ndarray) -> np.ndarray:
        return 0.5 * self.m * (v ** 2).sum((-1, -2)) + self.potential_energy(q)

    def momentum(self, v: np.ndarray) -> np.ndarray:
        return self.m * v.sum(-2)

    def force(self, q: np.ndarray) -> np.ndarray:
        """−∇V (analytic), (..., N, D)."""
        if self.system == "pendulum":
            f = np.zeros_like(q)
            f[..., 1] = -self.m * self.g
            return f
        s, r, _ = graph(self.system, q.shape[-2])
        diff = q[..., s, :] - q[..., r, :]  # r_s − r_r on every directed edge
        if self.system == "spring":
            d2 = (diff ** 2).sum(-1, keepdims=True)
            if self.potential == "code_quirk":
                pull = -4.0 * (d2 - 1.0) * diff
            else:
                d = np.sqrt(d2)
                pull = -(d - 1.0) / d * diff
        else:
            pull = -diff / np.linalg.norm(diff, axis=-1, keepdims=True) ** 3
        f = np.zeros_like(q)
        np.add.at(f, (Ellipsis, s, slice(None)), pull)  # force on the sender from each neighbour
        return f

    def acceleration(self, q: np.ndarray, v: np.ndarray) -> np.ndarray:
        """True q̈; for the pendulum the constrained Cartesian Euler–Lagrange acceleration."""
        f = self.force(q)
        if not self.constrained:
            return f / self.m
        return chain_project(f, self.m, q, v)


def chain_A(q: np.ndarray) -> np.ndarray:
    """∂φ/∂q of φ_i = ‖r_i − r_{i−1}‖² − l² (pivot r_{−1} = 0): (..., N, N·D)."""
    *lead, n, d = q.shape
    diff = q - np.concatenate([np.zeros_like(q[..., :1, :]), q[..., :-1, :]], axis=-2)
    A = np.zeros((*lead, n, n, d))
    idx = np.arange(n)
    A[..., idx, idx, :] = 2 * diff
    A[..., idx[1:], idx[:-1], :] = -2 * diff[..., 1:, :]
    return A.reshape(*lead, n, n * d)


def chain_residual(q: np.ndarray, l: float = 1.0) -> np.ndarray:
    diff = q - np.concatenate([np.zeros_like(q[..., :1, :]), q[..., :-1, :]], axis=-2)
    return (diff ** 2).sum(-1) - l ** 2


def chain_adot_qdot(v: np.ndarray) -> np.ndarray:
    """(Ȧ q̇)_i = 2‖ṙ_i − ṙ_{i−1}‖²."""
    dv = v - np.concatenate([np.zeros_like(v[..., :1, :]), v[..., :-1, :]], axis=-2)
    return 2 * (dv ** 2).sum(-1)


def chain_project(f: np.ndarray, m: float, q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """q̈ = M⁻¹(f − Aᵀλ), λ = (A M⁻¹ Aᵀ)⁻¹(A M⁻¹ f + Ȧq̇), M = m·I (spec §3.2)."""
    shape = q.shape
    A = chain_A(q)
    fl = f.reshape(*shape[:-2], -1, 1) / m
    S = A @ np.swapaxes(A, -1, -2) / m
    lam = np.linalg.solve(S, A @ fl + chain_adot_qdot(v)[..., None])
    return (fl - np.swapaxes(A, -1, -2) @ lam / m).reshape(shape)


# --- generators -------------------------------------------------------------------------------

def spring_initial(seed: int, split: str, n: int, n_traj: int, box: float, v_max: float):
    q = np.empty((n_traj, n, 2))
    v = np.empty((n_traj, n, 2))
    for k in range(n_traj):
        rng = np.random.default_rng(derive_seed(seed, "spring", split, n, k))
        q[k] = rng.uniform(0, box, (n, 2))
        vk = rng.uniform(0, v_max, (n, 2))
        v[k] = vk - vk.mean(0)
    return q, v


def pendulum_angles(seed: int, split: str, n: int, n_traj: int) -> np.ndarray:
    """Integer angles used as radians (the code's quirk): {0..359} train, {−90..89} test."""
    low, high = (0, 360) if split == "train" else (-90, 90)
    return np.stack([np.random.default_rng(derive_seed(seed, "pendulum", split, n, k))
                     .integers(low, high, n).astype(np.float64) for k in range(n_traj)])


def nbody_initial(split: str):
    q = np.array([[1, 0, 0], [9, 0, 0], [11, 0, 0], [-1, 0, 0]], dtype=np.float64)
    v = np.array([[0, .05, 0], [0, -.05, 0], [0, .65, 0], [0, -.65, 0]], dtype=np.float64)
    return (q if split == "train" else -q)[None], v[None]


def simulate_verlet(phys: Physics, q0, v0, dt: float, stride: int, n_states: int):
    """Stored (pos, vel, acc) of shape (n_traj, n_states, N, D) by velocity-Verlet."""
    pos, vel, acc = [q0], [v0], [phys.acceleration(q0, v0)]
    q, v, a = q0, v0, acc[0]
    for _ in range(n_states - 1):
        q, v, a = velocity_verlet(q, v, phys.acceleration, dt, stride, a)
        pos.append(q), vel.append(v), acc.append(a)
    return tuple(np.stack(x, axis=1) for x in (pos, vel, acc))


def _pendulum_generalized_rhs(n: int, g: float, l: float, m: float):
    c = m * (n - np.maximum.outer(np.arange(n), np.arange(n))).astype(np.float64)  # Σ_{k≥max(i,j)} m_k

    def theta_ddot(th, om):
        dth = th[..., :, None] - th[..., None, :]
        M = l ** 2 * c * np.cos(dth)
        f = -l ** 2 * (c * np.sin(dth) * om[..., None, :] ** 2).sum(-1) - g * l * np.diag(c) * np.sin(th)
        return np.linalg.solve(M, f[..., None])[..., 0]

    def rhs(z):
        th, om = z[..., :n], z[..., n:]
        return np.concatenate([om, theta_ddot(th, om)], axis=-1)

    return rhs, theta_ddot


def _angles_to_cartesian(th, om, al, l):
    s, c = np.sin(th), np.cos(th)
    pos = np.stack([np.cumsum(l * s, -1), -np.cumsum(l * c, -1)], -1)
    vel = np.stack([np.cumsum(l * c * om, -1), np.cumsum(l * s * om, -1)], -1)
    acc = np.stack([np.cumsum(l * (al * c - om ** 2 * s), -1), np.cumsum(l * (al * s + om ** 2 * c), -1)], -1)
    return pos, vel, acc


def simulate_pendulum(phys: Physics, theta0, store_dt: float, dt_gt: float, n_states: int,
                      method: str = "generalized"):
    """Pendulum trajectories (zero initial velocity). ``generalized``: RK4 on the angle equations,
    mapped to Cartesian (constraints hold to round-off); ``cartesian_constrained``: the code's
    constrained Cartesian velocity-Verlet at ``dt_gt``."""
    n = theta0.shape[-1]
    stride = max(1, int(round(store_dt / dt_gt)))
    if method == "cartesian_constrained":
        om0 = np.zeros_like(theta0)
        q0, v0, _ = _angles_to_cartesian(theta0, om0, om0, phys.l)
        return simulate_verlet(phys, q0, v0, store_dt / stride, stride, n_states)
    rhs, theta_ddot = _pendulum_generalized_rhs(n, phys.g, phys.l, phys.m)
    z = np.concatenate([theta0, np.zeros_like(theta0)], -1)
    states = [z]
    for _ in range(n_states - 1):
        z = rk4(z, rhs, store_dt / stride, stride)
        states.append(z)
    zs = np.stack(states, axis=1)
    th, om = zs[..., :n], zs[..., n:]
    return _angles_to_cartesian(th, om, theta_ddot(th, om), phys.l)
