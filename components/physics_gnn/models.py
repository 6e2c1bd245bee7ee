"""The 13 models as compositions (spec §3.4): an architecture (A decoupled / B full graph network), a
head, a dynamics layer and an optional constraint — a registry of names → pieces, one model class."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from components.physics_gnn import dynamics
from components.physics_gnn.message_passing import DecoupledGraph, FlatMLP, FullGraphNetwork
from components.physics_gnn.systems import DIMS


@dataclass(frozen=True)
class ModelSpec:
    arch: str  # "A" decoupled graph | "B" full graph network | "M" non-graph MLP on the flattened state
    layer: str  # "node" | "lagrangian" | "hamiltonian" | "delta"
    constrained: bool = False

    @property
    def target(self) -> str:
        """What the model is trained on: q̈, ż = (q̇, ṗ), or one-interval deltas."""
        return {"hamiltonian": "zdot", "delta": "delta"}.get(self.layer, "acc")


REGISTRY: dict[str, ModelSpec] = {
    "GNODE": ModelSpec("A", "node"),
    "CGNODE": ModelSpec("A", "node", True),
    "FGNODE": ModelSpec("B", "node"),
    "CFGNODE": ModelSpec("B", "node", True),
    "LGN": ModelSpec("B", "lagrangian"),
    "CLGN": ModelSpec("B", "lagrangian", True),
    "LGNN": ModelSpec("A", "lagrangian"),
    "CLGNN": ModelSpec("A", "lagrangian", True),
    "HGN": ModelSpec("B", "hamiltonian"),
    "CHGN": ModelSpec("B", "hamiltonian", True),
    "HGNN": ModelSpec("A", "hamiltonian"),
    "CHGNN": ModelSpec("A", "hamiltonian", True),
    "FGNN": ModelSpec("B", "delta"),
    # Fig. 1's non-graph baselines (spec H5): one MLP on the flattened state of a fixed N, no zero-shot
    "NODE": ModelSpec("M", "node"),
    "HNN": ModelSpec("M", "hamiltonian"),
    "LNN": ModelSpec("M", "lagrangian"),
}
GRAPH_OF = {"NODE": "GNODE", "HNN": "HGNN", "LNN": "LGNN"}  # Fig. 1 pairs: non-graph → graph version


def applies_to(name: str, system: str) -> bool:
    """Explicit-constraint variants exist for the pendulum only."""
    return system == "pendulum" or not REGISTRY[name].constrained


class PhysicsGNN(nn.Module):
    """One registry entry built for one system. ``predict(q, v)`` gives the training target;
    ``acceleration`` / ``zdot`` / ``delta`` are what the rollout integrates."""

    def __init__(self, name: str, system: str, hidden_decoupled: int = 5, hidden_full: int = 16,
                 embed_full: int = 8, init: str = "torch", mass: float = 1.0, n_nodes: int | None = None,
                 gnode: dict | None = None):
        super().__init__()
        if name not in REGISTRY:
            raise KeyError(f"unknown model {name!r}; known: {sorted(REGISTRY)}")
        if not applies_to(name, system):
            raise ValueError(f"{name} has explicit constraints: it applies to the pendulum only")
        self.name, self.system, self.spec, self.true_mass = name, system, REGISTRY[name], mass
        dim = DIMS[system]
        absolute = system == "pendulum"  # gravity + pivot: the frame is not translation invariant
        if self.spec.arch == "A":
            head = "force" if self.spec.layer == "node" else "energy"
            # the code's edges: displacement vectors for forces on springs/gravity (they need a direction),
            # distances otherwise
            edges = ("displacement",) if head == "force" and not absolute else ("distance",)
            arch = {"hidden": hidden_decoupled, "mpass": 1, "node_state": False, "edge_features": edges}
            if head == "force":  # GNODE / CGNODE: one architecture for both (P1b compares the constraint only)
                arch.update({k: v for k, v in (gnode or {}).items() if v is not None})
            self.net = DecoupledGraph(system, dim, arch["hidden"], absolute, tuple(arch["edge_features"]), head,
                                      init, arch["mpass"], arch["node_state"])
        elif self.spec.arch == "M":
            if n_nodes is None:
                raise ValueError(f"{name} is a fixed-size MLP: build it with n_nodes")
            head = "force" if self.spec.layer == "node" else "scalar"
            self.net = FlatMLP(n_nodes, dim, hidden_full, head, init)
        else:
            head = {"node": "force", "delta": "delta"}.get(self.spec.layer, "scalar")
            self.net = FullGraphNetwork(system, dim, hidden_full, embed_full, head, init)
        # fixed output scale per target block (issue 14): the training data's standard deviation of q̈ (or q̇
        # and ṗ, or Δq and Δv), so the networks learn O(1) outputs; a buffer, saved with the weights
        self.register_buffer("out_scale", torch.ones(2, dtype=torch.float64))

    def set_output_scale(self, scales) -> None:
        """Scale of each target block (one for q̈, two for ż or deltas) — set from the training split."""
        vals = [float(x) for x in scales] + [float(scales[-1])] * (2 - len(scales))
        self.out_scale.copy_(torch.as_tensor(vals[:2], dtype=torch.float64))

    def _potential(self, q: torch.Tensor) -> torch.Tensor:
        """Architecture A's V, scaled so that −∂V/∂q has the target's scale (q̈ block, or ṗ for H)."""
        return self.out_scale[-1 if self.spec.layer == "hamiltonian" else 0] * self.net.potential(q)

    def _kinetic(self, s: torch.Tensor) -> torch.Tensor:
        """Architecture A's T_i: scaled by the q̇ block for H (q̇ = ∂T/∂p); unscaled for L (q̈ is
        invariant to a common scale of L, so V alone carries it)."""
        return (self.out_scale[0] if self.spec.layer == "hamiltonian" else 1.0) * self.net.kinetic(s)

    @property
    def constrained(self) -> bool:
        return self.spec.constrained

    def hamiltonian(self, q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        if self.spec.arch == "A":
            return self._kinetic((p * p).sum(-1)).sum(-1) + self._potential(q)
        return torch.sqrt(self.out_scale[0] * self.out_scale[1]) * self.net.scalar(q, p)  # coupled: one scale

    def lagrangian(self, q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if self.spec.arch == "A":
            return dynamics.decoupled_lagrangian(self._kinetic, self._potential)(q, v)
        return self.net.scalar(q, v)  # coupled L: q̈ does not change with a common scale of L (none applied)

    def acceleration(self, q: torch.Tensor, v: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
        layer = self.spec.layer
        if layer == "node":
            f, m = self.net.force_mass(q, v)
            f = self.out_scale[0] * f
            return dynamics.node_acceleration(f, m, q, v, self.constrained)
        if layer == "lagrangian" and self.spec.arch == "A":
            return dynamics.euler_lagrange_decoupled(self._kinetic, self._potential, q, v,
                                                     self.constrained, create_graph)
        if layer == "lagrangian":
            return dynamics.euler_lagrange_generic(self.lagrangian, q, v, self.constrained, create_graph)
        raise TypeError(f"{self.name} does not predict accelerations")

    def zdot(self, q: torch.Tensor, p: torch.Tensor, create_graph: bool = False):
        return dynamics.hamilton(self.hamiltonian, q, p, self.constrained, self.true_mass, create_graph)

    def delta(self, q: torch.Tensor, v: torch.Tensor):
        dq, dv = self.net.delta(q, v)
        return self.out_scale[0] * dq, self.out_scale[1] * dv

    def predict(self, q: torch.Tensor, v: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
        """The training target's prediction, (B, N, 2D) for ż and deltas, (B, N, D) for q̈."""
        target = self.spec.target
        if target == "acc":
            return self.acceleration(q, v, create_graph)
        if target == "zdot":
            return torch.cat(self.zdot(q, self.true_mass * v, create_graph), -1)
        return torch.cat(self.delta(q, v), -1)


def is_graph(name: str) -> bool:
    """Graph models run on any N (zero-shot); the non-graph MLPs only on the N they were built for."""
    return REGISTRY[name].arch != "M"


def build(name: str, system: str, params=None, mass: float = 1.0, n_nodes: int | None = None) -> PhysicsGNN:
    """A registry model with the profile's sizes (``params`` = the ``model`` block, or defaults);
    ``n_nodes`` fixes the input size of the non-graph MLPs."""
    kw = {} if params is None else dict(hidden_decoupled=params.hidden_decoupled, hidden_full=params.hidden_full,
                                        embed_full=params.embed_full, init=params.init,
                                        gnode=params.gnode[system].model_dump() if system in params.gnode else None)
    return PhysicsGNN(name, system, mass=mass, n_nodes=n_nodes, **kw)


def targets(name: str, pos, vel, acc, mass: float = 1.0):
    """(q, v, target) training arrays from stored states (numpy, (n_traj, n_states, N, D)); FGNN uses
    consecutive pairs within each trajectory."""
    import numpy as np

    kind = REGISTRY[name].target
    if kind == "delta":
        q, v = pos[:, :-1], vel[:, :-1]
        y = np.concatenate([pos[:, 1:] - pos[:, :-1], vel[:, 1:] - vel[:, :-1]], -1)
    elif kind == "zdot":
        q, v, y = pos, vel, np.concatenate([vel, mass * acc], -1)
    else:
        q, v, y = pos, vel, acc
    flat = lambda a: a.reshape(-1, *a.shape[2:])  # noqa: E731
    return flat(q), flat(v), flat(y)
