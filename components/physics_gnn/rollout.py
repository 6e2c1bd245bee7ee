"""Rollouts from fresh initial conditions: all trajectories of one N as one batch, stored every
``store_dt``; acceleration models by velocity-Verlet, Hamiltonian models by RK4 on z = (q, p),
FGNN by adding predicted deltas once per stored interval, the oracle with the true field."""

from __future__ import annotations

import numpy as np
import torch

from components.physics_gnn.integrators import rk4, velocity_verlet


def substeps(store_dt: float, rollout_dt: float) -> int:
    k = int(round(store_dt / rollout_dt))
    if k < 1 or abs(k * rollout_dt - store_dt) > 1e-9 * store_dt:
        raise ValueError(f"rollout_dt {rollout_dt} must divide the stored interval {store_dt}")
    return k


def rollout_model(model, q0: np.ndarray, v0: np.ndarray, n_states: int, store_dt: float,
                  rollout_dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Predicted (pos, vel) of shape (n_traj, n_states, N, D); state 0 is the initial condition."""
    q = torch.as_tensor(q0, dtype=torch.float64)
    v = torch.as_tensor(v0, dtype=torch.float64)
    target = model.spec.target
    k = substeps(store_dt, rollout_dt)
    pos, vel = [q], [v]
    if target == "delta":
        with torch.no_grad():
            for _ in range(n_states - 1):
                dq, dv = model.delta(q, v)
                q, v = q + dq, v + dv
                pos.append(q), vel.append(v)
    elif target == "zdot":
        m = model.true_mass
        shape = q.shape

        def f(z):
            qd, pd = model.zdot(z[:, 0].reshape(shape), z[:, 1].reshape(shape))
            return torch.stack([qd, pd], 1)

        z = torch.stack([q, m * v], 1)
        for _ in range(n_states - 1):
            z = rk4(z, f, rollout_dt, k).detach()
            pos.append(z[:, 0]), vel.append(z[:, 1] / m)
    else:
        a = None
        for _ in range(n_states - 1):
            q, v, a = velocity_verlet(q, v, model.acceleration, rollout_dt, k, a)
            q, v, a = q.detach(), v.detach(), a.detach()
            pos.append(q), vel.append(v)
    return torch.stack(pos, 1).numpy(), torch.stack(vel, 1).numpy()


def rollout_oracle(physics, q0: np.ndarray, v0: np.ndarray, n_states: int, store_dt: float,
                   rollout_dt: float) -> tuple[np.ndarray, np.ndarray]:
    """The true acceleration field through the same velocity-Verlet: the integrator's error floor."""
    k = substeps(store_dt, rollout_dt)
    pos, vel = [q0], [v0]
    q, v, a = q0, v0, None
    for _ in range(n_states - 1):
        q, v, a = velocity_verlet(q, v, physics.acceleration, rollout_dt, k, a)
        pos.append(q), vel.append(v)
    return np.stack(pos, 1), np.stack(vel, 1)


def can_merge(model) -> bool:
    """Per-node dynamics (no per-graph constraint matrices, no full Hessian) can roll out every test
    size in one disjoint-union graph."""
    spec = model.spec
    return not model.constrained and (spec.arch == "A" or (spec.arch == "B" and spec.layer != "lagrangian"))


def rollout_sets(model, sets: list[tuple[np.ndarray, np.ndarray]], n_states: int, store_dt: float,
                 rollout_dt: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Roll out several test sets (q0, v0) of different N; merged into one union graph when allowed."""
    if not can_merge(model) or len(sets) == 1:
        return [rollout_model(model, q0, v0, n_states, store_dt, rollout_dt) for q0, v0 in sets]
    sizes = tuple(int(q0.shape[1]) for q0, _ in sets for _ in range(q0.shape[0]))
    flat = lambda arrays: np.concatenate([a.reshape(-1, a.shape[-1]) for a in arrays])[None]  # noqa: E731
    nets = [m for m in model.modules() if hasattr(m, "system") and hasattr(m, "dim")]
    for net in nets:
        net.union_sizes = sizes
    try:
        pos, vel = rollout_model(model, flat([q for q, _ in sets]), flat([v for _, v in sets]), n_states,
                                 store_dt, rollout_dt)
    finally:
        for net in nets:
            net.union_sizes = None
    out, start = [], 0
    for q0, _ in sets:
        k, n, d = q0.shape
        stop = start + k * n
        split = lambda a: a[0, :, start:stop].reshape(n_states, k, n, d).transpose(1, 0, 2, 3)  # noqa: E731
        out.append((split(pos), split(vel)))
        start = stop
    return out
