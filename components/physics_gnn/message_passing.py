"""The message-passing core: SquarePlus MLPs and the two graph architectures of the benchmark (spec §3.3).

States arrive as (B, N, D) batches of graphs with the same N; they are flattened into one
disjoint-union graph (PyG convention: ``edge_index`` = [senders; receivers] with per-graph offsets).
Architecture A (decoupled graph) reads out per-edge/per-node energies or forces; architecture B (full
graph network) reads out per-node scalars, forces or deltas from absolute-position node features.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter

from components.physics_gnn.graphs import graph


class SquarePlus(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x + torch.sqrt(x * x + 4.0))


def squareplus(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (x + torch.sqrt(x * x + 4.0))


def mlp(sizes: list[int], init: str = "torch") -> nn.Sequential:
    """Linear layers with SquarePlus between them, none after the last. ``init='normal'`` is the
    code's N(0,1) weights and hidden biases with a zero last bias (each MLP drawn independently)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(a, b, dtype=torch.float64)
        if init == "normal":
            nn.init.normal_(lin.weight)
            nn.init.normal_(lin.bias) if i < len(sizes) - 2 else nn.init.zeros_(lin.bias)
        elif init == "lecun":
            nn.init.normal_(lin.weight, std=a ** -0.5)
            nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(SquarePlus())
    return nn.Sequential(*layers)


class BatchedGraph:
    """Edge lists of B copies of one N-node graph, cached per (system, N, B)."""

    _cache: dict = {}

    def __init__(self, system: str, n: int, b: int):
        s, r, e = graph(system, n)
        m = len(s)
        offs = (torch.arange(b) * n).repeat_interleave(m)
        self.senders = torch.as_tensor(s).repeat(b) + offs
        self.receivers = torch.as_tensor(r).repeat(b) + offs
        self.eorder = torch.as_tensor(e).repeat(b) + torch.arange(b).repeat_interleave(m) * m
        self.edge_index = torch.stack([self.senders, self.receivers])
        self.n_nodes, self.n_edges_per_graph, self.b, self.n = b * n, m, b, n

    @classmethod
    def get(cls, system: str, n: int, b: int) -> "BatchedGraph":
        key = (system, n, b)
        if key not in cls._cache:
            cls._cache[key] = cls(system, n, b)
        return cls._cache[key]

    @classmethod
    def union(cls, system: str, sizes: tuple[int, ...]) -> "BatchedGraph":
        """One graph made of many graphs of different N (B = 1): energies sum over all of them, which
        leaves per-node gradients unchanged — lets one rollout call serve every test size."""
        key = (system, "union", sizes)
        if key not in cls._cache:
            parts = [graph(system, n) for n in sizes]
            offs = np.cumsum([0, *sizes[:-1]])
            eoffs = np.cumsum([0, *[len(p[0]) for p in parts[:-1]]])
            g = cls.__new__(cls)
            g.senders = torch.as_tensor(np.concatenate([p[0] + o for p, o in zip(parts, offs)]))
            g.receivers = torch.as_tensor(np.concatenate([p[1] + o for p, o in zip(parts, offs)]))
            g.eorder = torch.as_tensor(np.concatenate([p[2] + o for p, o in zip(parts, eoffs)]))
            g.edge_index = torch.stack([g.senders, g.receivers])
            g.n_nodes, g.n_edges_per_graph, g.b, g.n = int(sum(sizes)), len(g.senders), 1, int(sum(sizes))
            cls._cache[key] = g
        return cls._cache[key]

    def per_graph(self, values: torch.Tensor, per: str) -> torch.Tensor:
        """Sum per-node or per-edge values (K, 1) into one value per graph (B,)."""
        size = self.n if per == "node" else self.n_edges_per_graph
        return values.reshape(self.b, size, -1).sum((1, 2))


def graph_for(module, system: str, n: int, b: int) -> BatchedGraph:
    """The union layout set by ``rollout.union_layout`` (B = 1), else B copies of an N-node graph."""
    layout = getattr(module, "union_sizes", None)
    if layout is not None and b == 1 and n == sum(layout):
        return BatchedGraph.union(system, layout)
    return BatchedGraph.get(system, n, b)


class NodeUpdate(MessagePassing):
    """h_i ← h_i + Σ_{edges j→i} fv([h_i, e_ji]) (sum aggregation at the receiver)."""

    def __init__(self, fv: nn.Module):
        super().__init__(aggr="add")
        self.fv = fv

    def forward(self, h, edge_index, e):
        return h + self.propagate(edge_index, h=h, e=e)

    def message(self, h_i, e):
        return self.fv(torch.cat([h_i, e], -1))


class DecoupledGraph(nn.Module):
    """Architecture A (LGNN/HGNN/GNODE family): distance (or displacement) edges, ``mpass`` rounds of
    message passing with shared weights (the code's ``mpass``), edge symmetrisation on the last round, so
    pair terms are symmetric (Newton's third law).

    ``node_state`` (force head only) appends each node's (r_i, v_i) to its type embedding before message
    passing, as the code's GNODE variant with a position–velocity node embedding does: with ``mpass`` ≥ the
    chain's diameter every node then sees every link's state (the rod tensions couple the whole chain)."""

    EDGE_WIDTH = {"distance": lambda d: 1, "displacement": lambda d: d, "velocity": lambda d: d}

    def __init__(self, system: str, dim: int, hidden: int, absolute_frame: bool, edge_features: tuple[str, ...],
                 head: str, init: str, mpass: int = 1, node_state: bool = False):
        super().__init__()
        if (node_state or "velocity" in edge_features) and head != "force":
            raise ValueError("velocity inputs apply to the force head (GNODE family) only: energies take q")
        self.system, self.dim, self.absolute_frame, self.edge_features, self.head = \
            system, dim, absolute_frame, tuple(edge_features), head
        self.mpass, self.node_state = mpass, node_state
        h = hidden
        hn = h + 2 * dim if node_state else h  # width of the message-passing node state
        self.fne = mlp([1, h], init)
        self.fb = mlp([sum(self.EDGE_WIDTH[f](dim) for f in self.edge_features), h, h, h], init)
        self.node_update = NodeUpdate(mlp([hn + h, h, h, hn], init))
        self.fe = mlp([hn, h, h, h], init)
        if head == "energy":
            self.fneke = mlp([1, h], init)
            self.ff1 = mlp([h, h, h, 1], init)
            self.ke = mlp([h + 1, 2 * h, 2 * h, 1], init)
            if absolute_frame:
                self.ff2 = mlp([h, h, h, 1], init)
                self.ff3 = mlp([h + dim, h, h, 1], init)
        else:  # force + mass (GNODE): a learned mass only in the pendulum's frame, as the code
            self.ff2 = mlp([hn, h, h, dim], init)
            if absolute_frame:
                self.mass = mlp([h, h, 1], init)
                self.ff3 = mlp([h + 2 * dim, h, h, dim], init)

    def _embed(self, q: torch.Tensor, v: torch.Tensor | None = None):
        b, n, d = q.shape
        g = graph_for(self, self.system, n, b)
        x = q.reshape(b * n, d)
        diff = x[g.senders] - x[g.receivers]
        parts = {"displacement": lambda: diff, "distance": lambda: torch.sqrt((diff * diff).sum(-1, keepdim=True)),
                 "velocity": lambda: (v.reshape(b * n, d)[g.senders] - v.reshape(b * n, d)[g.receivers])}
        feat = torch.cat([parts[f]() for f in self.edge_features], -1)
        ones = torch.ones(b * n, 1, dtype=q.dtype)
        h0 = self.fne(ones)
        e = self.fb(feat)
        h = torch.cat([h0, x, v.reshape(b * n, d)], -1) if self.node_state else h0
        for k in range(self.mpass):
            h = self.node_update(h, g.edge_index, e)
            last = k == self.mpass - 1
            if last and self.head == "force":
                break  # the force head reads nodes only: the last edge update would be unused
            e = (0.5 * (e + e[g.eorder]) if last else e) + self.fe(h[g.senders] * h[g.receivers])
        return g, x, h0, h, e

    def potential(self, q: torch.Tensor) -> torch.Tensor:
        """V per graph (B,)."""
        g, x, h0, h, e = self._embed(q)
        v = g.per_graph(self.ff1(e), "edge")
        if self.absolute_frame:
            v = v + g.per_graph(self.ff2(h), "node") + g.per_graph(self.ff3(torch.cat([h0, x], -1)), "node")
        return v

    def kinetic(self, s: torch.Tensor) -> torch.Tensor:
        """Per-node T_i(s_i), s = ‖v_i‖² (or ‖p_i‖²) of shape (B, N) → (B, N)."""
        k = self.fneke(torch.ones(1, 1, dtype=s.dtype)).expand(*s.shape, -1)
        return self.ke(torch.cat([k, s[..., None]], -1))[..., 0]

    def force_mass(self, q: torch.Tensor, v: torch.Tensor):
        b, n, d = q.shape
        g, x, h0, h, e = self._embed(q, v)
        f = self.ff2(h)
        if not self.absolute_frame:  # the code's spring GNODE: ff2(h_i) is the acceleration (unit mass)
            return f.reshape(b, n, d), torch.ones(b, n, dtype=q.dtype)
        f = f + self.ff3(torch.cat([h0, x, v.reshape(b * n, d)], -1))
        # a positive mass (the code's is unconstrained); from the type embedding when the node state
        # carries (r, v) — a mass does not depend on the state (the code's variant does the same)
        m = squareplus(self.mass(h0 if self.node_state else h)) + 1e-3
        return f.reshape(b, n, d), m.reshape(b, n)


class FullGraphNetwork(nn.Module):
    """Architecture B (FGNN/FGNODE/LGN/HGN family): node features [r, v or p, type] (absolute
    positions: not translation invariant), displacement edges, one GN block without residuals."""

    def __init__(self, system: str, dim: int, hidden: int, embed: int, head: str, init: str):
        super().__init__()
        self.system, self.dim, self.head = system, dim, head
        hd, em = hidden, embed
        self.node_enc = mlp([2 * dim + 1, em], init)
        self.edge_enc = mlp([dim, em], init)
        self.mlp_e = mlp([3 * em, hd, hd, em], init)
        self.mlp_n = mlp([3 * em, hd, hd, em], init)
        out = {"scalar": 1, "delta": 2 * dim, "force": dim}[head]
        self.out = mlp([em, hd, hd, out], init)
        if head == "force":
            self.mass = mlp([em, 5, 1], init)

    def _nodes(self, q: torch.Tensor, w: torch.Tensor):
        b, n, d = q.shape
        g = graph_for(self, self.system, n, b)
        x = q.reshape(b * n, d)
        ones = torch.ones(b * n, 1, dtype=q.dtype)
        h = self.node_enc(torch.cat([x, w.reshape(b * n, d), ones], -1))
        e = self.edge_enc(x[g.receivers] - x[g.senders])
        e = self.mlp_e(torch.cat([e, h[g.senders], h[g.receivers]], -1))
        sent = scatter(e, g.senders, 0, dim_size=g.n_nodes, reduce="sum")
        received = scatter(e, g.receivers, 0, dim_size=g.n_nodes, reduce="sum")
        return g, self.mlp_n(torch.cat([h, sent, received], -1))

    def scalar(self, q: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Σ_i MLP(h'_i) per graph: a coupled L(q, q̇) or H(q, p)."""
        g, h = self._nodes(q, w)
        return g.per_graph(self.out(h), "node")

    def delta(self, q: torch.Tensor, v: torch.Tensor):
        g, h = self._nodes(q, v)
        out = self.out(h).reshape(*q.shape[:2], 2 * self.dim)
        return out[..., :self.dim], out[..., self.dim:]

    def force_mass(self, q: torch.Tensor, v: torch.Tensor):
        g, h = self._nodes(q, v)
        m = squareplus(self.mass(h)) + 1e-3
        return self.out(h).reshape(q.shape), m.reshape(q.shape[:2])


class FlatMLP(nn.Module):
    """Fig. 1's non-graph baselines (NODE / HNN / LNN): one MLP on the concatenated state of all N nodes
    (q and v or p, node-major), two hidden layers — a scalar L or H, or per-node forces with unit mass."""

    def __init__(self, n_nodes: int, dim: int, hidden: int, head: str, init: str):
        super().__init__()
        self.n_nodes, self.dim, self.head = n_nodes, dim, head
        out = n_nodes * dim if head == "force" else 1
        self.body = mlp([2 * n_nodes * dim, hidden, hidden, out], init)

    def _run(self, q: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        b, n, d = q.shape
        if n != self.n_nodes:
            raise ValueError(f"non-graph model built for N={self.n_nodes} got N={n} (no zero-shot)")
        return self.body(torch.cat([q.reshape(b, n * d), w.reshape(b, n * d)], -1))

    def scalar(self, q: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self._run(q, w)[:, 0]

    def force_mass(self, q: torch.Tensor, v: torch.Tensor):
        return self._run(q, v).reshape(q.shape), torch.ones(q.shape[:2], dtype=q.dtype)
