"""Prepared data: simulate every system's training pool and fresh test sets, write them as npz, and the
great-expectations suite on a per-trajectory summary frame (spec §4: drift, momentum, constraints, graph).

Layout: ``prepared/<system>/train.npz`` and ``test_N<k>.npz`` with ``pos``, ``vel``, ``acc``
(n_traj, n_states, N, D), ``energy``, ``momentum``, ``init_pos``, ``init_vel``, ``senders``,
``receivers``, ``eorder``; ``prepared/<system>/meta.json``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from components.core.errors import DataValidationError
from components.core.io import atomic_path
from components.physics_gnn.graphs import graph
from components.physics_gnn.systems import (Physics, chain_residual, nbody_initial, pendulum_angles,
                                            simulate_pendulum, simulate_verlet, spring_initial)

ARRAY_KEYS = ("pos", "vel", "acc", "energy", "momentum", "init_pos", "init_vel", "senders", "receivers", "eorder")


def physics_of(p, system: str) -> Physics:
    if system == "spring":
        return Physics("spring", potential=p.spring.potential)
    if system == "pendulum":
        return Physics("pendulum", g=p.pendulum.g, l=p.pendulum.l, m=p.pendulum.m)
    return Physics("nbody")


def store_dt(p, system: str) -> float:
    s = p.system(system)
    return s.store_dt if system == "pendulum" else s.dt * s.stride


def train_size(p, system: str) -> int:
    return {"spring": p.spring.n_nodes_train, "pendulum": p.pendulum.n_links_train, "nbody": 4}[system]


def test_sizes(p, system: str) -> list[tuple[int, int]]:
    """(N, n_traj) of every rollout set: the training N first, then the zero-shot sizes."""
    if system == "nbody":
        return [(4, 1)]
    s = p.system(system)
    n0 = train_size(p, system)
    return [(n0, s.n_test_traj)] + [(n, s.n_test_traj_zero_shot) for n in s.zero_shot_N if n != n0]


def simulate(p, system: str, split: str, n: int, n_traj: int) -> dict[str, np.ndarray]:
    phys = physics_of(p, system)
    if system == "spring":
        s = p.spring
        q0, v0 = spring_initial(p.seed, split, n, n_traj, s.init_box, s.v_max)
        pos, vel, acc = simulate_verlet(phys, q0, v0, s.dt, s.stride, s.n_states)
    elif system == "pendulum":
        s = p.pendulum
        theta = pendulum_angles(p.seed, split, n, n_traj)
        pos, vel, acc = simulate_pendulum(phys, theta, s.store_dt, s.dt_gt, s.n_states, s.method)
    else:
        s = p.nbody
        q0, v0 = nbody_initial(split)
        pos, vel, acc = simulate_verlet(phys, q0, v0, s.dt, s.stride, s.n_states)
    senders, receivers, eorder = graph(system, n)
    return {"pos": pos, "vel": vel, "acc": acc, "energy": phys.energy(pos, vel),
            "momentum": phys.momentum(vel), "init_pos": pos[:, 0], "init_vel": vel[:, 0],
            "senders": senders, "receivers": receivers, "eorder": eorder}


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Uncompressed npz through a buffer: byte-identical for identical arrays, written atomically."""
    buf = io.BytesIO()
    np.savez(buf, **{k: arrays[k] for k in ARRAY_KEYS})
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Read one prepared file; a corrupt or incomplete one is a clear error, not a traceback."""
    try:
        with np.load(path) as z:
            arrays = {k: z[k] for k in ARRAY_KEYS}
    except Exception as exc:  # zipfile/pickle/key errors all mean the same thing here
        raise DataValidationError(f"prepared file {path} is unreadable or incomplete ({type(exc).__name__}: {exc})",
                                  "rerun `paperflows run physics_gnn --step prepare`") from exc
    return arrays


def summary_frame(p, system: str, split: str, arrays: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per trajectory: what the physics promises (energy, momentum, constraints) and the graph."""
    phys = physics_of(p, system)
    pos, vel, energy = arrays["pos"], arrays["vel"], arrays["energy"]
    n_traj, n_states, n, d = pos.shape
    finite = np.isfinite(pos).all((1, 2, 3)) & np.isfinite(vel).all((1, 2, 3)) & np.isfinite(arrays["acc"]).all((1, 2, 3))
    drift = np.abs(energy - energy[:, :1]).max(1)
    rows = pd.DataFrame({
        "system": system, "split": split, "n_nodes": n, "traj": np.arange(n_traj), "n_states": n_states,
        "dim": d, "finite": finite.astype(int),
        "energy_drift_rel": drift / np.maximum(np.abs(energy[:, 0]), 1e-300),
        "momentum_drift": np.sqrt(((arrays["momentum"] - arrays["momentum"][:, :1]) ** 2).sum(-1)).max(1),
        "edges_reversed": int(_edges_reversed(arrays)),
    })
    if system == "pendulum":
        tol = 1e-7 * (np.abs(energy[:, 0]) + phys.g * phys.l * n)
        rows["energy_drift_ratio"] = drift / tol  # H can be near 0: no pure ratio (spec §4)
        rows["constraint_residual"] = np.abs(chain_residual(pos, phys.l)).max((1, 2))
    return rows


def _edges_reversed(arrays) -> bool:
    s, r, e = arrays["senders"], arrays["receivers"], arrays["eorder"]
    return bool(len(e) == len(s) and (np.sort(e) == np.arange(len(e))).all() and (s[e] == r).all()
                and (r[e] == s).all() and (e[e] == np.arange(len(e))).all())


def expectations(p, system: str, sizes: list[int]) -> list:
    """The suite of one system (spec §4 Great Expectations)."""
    from components.core.validation import expect

    suite = [
        expect("ExpectColumnValuesToBeInSet", column="finite", value_set=[1]),
        expect("ExpectColumnValuesToBeInSet", column="edges_reversed", value_set=[1]),
        expect("ExpectColumnValuesToBeInSet", column="n_nodes", value_set=sizes),
        expect("ExpectColumnValuesToBeInSet", column="n_states", value_set=[p.system(system).n_states]),
        expect("ExpectColumnValuesToBeInSet", column="split", value_set=["train", "test"]),
    ]
    if system == "pendulum":
        suite += [expect("ExpectColumnValuesToBeBetween", column="constraint_residual", max_value=1e-8),
                  expect("ExpectColumnValuesToBeBetween", column="energy_drift_ratio", max_value=1.0)]
    else:
        suite += [expect("ExpectColumnValuesToBeBetween", column="energy_drift_rel", max_value=1e-3),
                  expect("ExpectColumnMedianToBeBetween", column="energy_drift_rel", max_value=1e-4),
                  expect("ExpectColumnValuesToBeBetween", column="momentum_drift", max_value=1e-10)]
    return suite
