"""Fixed-step integrators shared by the ground truth (numpy) and the rollouts (torch): both array APIs work."""

from __future__ import annotations

from typing import Callable


def velocity_verlet(q, v, acc: Callable, dt: float, steps: int, a=None):
    """``steps`` velocity-Verlet steps; ``acc(q, v)`` may depend on v (constraints, learned T): it is
    evaluated at the half-step velocity, which keeps the method second order for such fields."""
    a = acc(q, v) if a is None else a
    for _ in range(steps):
        v_half = v + 0.5 * dt * a
        q = q + dt * v_half
        a = acc(q, v_half + 0.5 * dt * a)
        v = v_half + 0.5 * dt * a
    return q, v, a


def rk4(z, f: Callable, dt: float, steps: int):
    """Classic Runge–Kutta 4 on ż = f(z) (preserves linear invariants such as total momentum)."""
    for _ in range(steps):
        k1 = f(z)
        k2 = f(z + 0.5 * dt * k1)
        k3 = f(z + 0.5 * dt * k2)
        k4 = f(z + dt * k3)
        z = z + (dt / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
    return z
