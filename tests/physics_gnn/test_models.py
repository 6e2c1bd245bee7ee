"""Spec §9 acceptance checks 6–13: the 13 models, the dynamics layers' guarantees, metrics, oracle."""

import numpy as np
import pytest
import torch

from components.physics_gnn import dynamics
from components.physics_gnn.metrics import gm_per_step, momentum_err, primary, rel_err
from components.physics_gnn.models import GRAPH_OF, REGISTRY, applies_to, build, is_graph, targets
from components.physics_gnn.systems import pendulum_angles, simulate_pendulum, Physics

CASES = [(m, s) for s in ("spring", "pendulum") for m in REGISTRY if applies_to(m, s)]
N = {"spring": 5, "pendulum": 3}


def states(system, b=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    if system == "spring":
        return (2 * torch.rand(b, 5, 2, generator=g, dtype=torch.float64),
                0.1 * torch.randn(b, 5, 2, generator=g, dtype=torch.float64))
    th = 6.28 * torch.rand(b, 3, generator=g, dtype=torch.float64)
    om = torch.randn(b, 3, generator=g, dtype=torch.float64)
    q = torch.stack([torch.cumsum(torch.sin(th), 1), -torch.cumsum(torch.cos(th), 1)], -1)
    v = torch.stack([torch.cumsum(torch.cos(th) * om, 1), torch.cumsum(torch.sin(th) * om, 1)], -1)
    return q, v  # on the constraint manifold, velocities tangent to it


def test_registry_has_the_13_models_and_the_fig1_baselines():
    graphs = [m for m in REGISTRY if is_graph(m)]
    assert len(graphs) == 13 and sum(spec.constrained for spec in REGISTRY.values()) == 6
    assert sorted(m for m in REGISTRY if not is_graph(m)) == ["HNN", "LNN", "NODE"] == sorted(GRAPH_OF)
    assert len(CASES) == (13 + 3) + (7 + 3)


def test_non_graph_baselines_are_fixed_size():
    model = build("HNN", "pendulum", n_nodes=3)
    q, v = states("pendulum")
    assert model.predict(q, v).shape == (8, 3, 4)
    with pytest.raises(ValueError, match="N=3 got N=4"):
        model.predict(torch.zeros(2, 4, 2, dtype=torch.float64), torch.zeros(2, 4, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="n_nodes"):
        build("NODE", "pendulum")


@pytest.mark.parametrize("name,system", CASES)
def test_forward_backward_shapes(name, system):
    torch.manual_seed(0)
    model = build(name, system, n_nodes=N[system])
    q, v = states(system)
    out = model.predict(q, v)
    width = 2 if REGISTRY[name].target in ("zdot", "delta") else 1
    assert out.shape == (8, N[system], 2 * width) and torch.isfinite(out).all()
    out.pow(2).mean().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("system,constrained", [("spring", False), ("pendulum", False), ("pendulum", True)])
def test_structured_lagrangian_equals_generic_hessian(system, constrained):
    torch.manual_seed(1)
    model = build("CLGNN" if constrained else "LGNN", system)
    q, v = states(system)
    structured = model.acceleration(q, v)
    generic = dynamics.euler_lagrange_generic(model.lagrangian, q, v, constrained, False)
    torch.testing.assert_close(structured, generic, atol=1e-9, rtol=0)


@pytest.mark.parametrize("name", [m for m, s in REGISTRY.items() if s.constrained])
def test_constrained_models_satisfy_the_constraints(name):
    torch.manual_seed(2)
    model = build(name, "pendulum")
    q, v = states("pendulum", seed=3)
    if REGISTRY[name].target == "zdot":
        qd, pd = model.zdot(q, v)
        A = dynamics.chain_A(q)
        assert (A @ qd.reshape(8, -1, 1)).abs().max() < 1e-8  # φ̇ = 0
        # d/dt (A(q) p) = A(q̇) p + A ṗ = 0 (m = 1, p = v)
        residual = (A @ pd.reshape(8, -1, 1) + dynamics.chain_A(qd) @ v.reshape(8, -1, 1))[..., 0]
    else:
        acc = model.acceleration(q, v)
        residual = (dynamics.chain_A(q) @ acc.reshape(8, -1, 1))[..., 0] + dynamics.chain_adot_qdot(v)
    assert residual.abs().max() < 1e-8


@pytest.mark.parametrize("name", ["LGNN", "HGNN"])
def test_translation_invariance_and_momentum(name):
    torch.manual_seed(3)
    model = build(name, "spring")
    q, v = states("spring")
    shift = torch.tensor([0.7, -1.3], dtype=torch.float64)
    V = model.net.potential(q)
    torch.testing.assert_close(model.net.potential(q + shift), V, atol=1e-12, rtol=0)
    qq = q.clone().requires_grad_(True)
    (dv,) = torch.autograd.grad(model.net.potential(qq).sum(), qq)
    assert dv.sum(1).abs().max() < 1e-12
    if name == "LGNN":
        acc = model.acceleration(q, v)
        s = (v * v).sum(-1).requires_grad_(True)
        (t1,) = torch.autograd.grad(model.net.kinetic(s).sum(), s, create_graph=True)
        (t2,) = torch.autograd.grad(t1.sum(), s)
        M = 2 * t1.detach()[..., None, None] * torch.eye(2) + 4 * t2[..., None, None] * v[..., :, None] * v[..., None, :]
        assert (M @ acc[..., None]).sum(1).abs().max() < 1e-12
    else:
        from components.physics_gnn.rollout import rollout_model
        _, vel = rollout_model(model, q.numpy(), v.numpy(), 3, 0.1, 0.02)
        p = vel.sum(2)
        assert np.abs(p - p[:, :1]).max() < 1e-10


@pytest.mark.parametrize("name", ["LGNN", "HGNN"])
def test_permutation_and_edge_symmetry(name):
    torch.manual_seed(4)
    model = build(name, "spring")
    q, v = states("spring")
    perm = torch.tensor([2, 3, 4, 0, 1])  # a rotation of the ring maps the graph onto itself
    torch.testing.assert_close(model.net.potential(q[:, perm]), model.net.potential(q), atol=1e-12, rtol=0)
    torch.testing.assert_close(model.lagrangian(q[:, perm], v[:, perm]), model.lagrangian(q, v), atol=1e-12, rtol=0)
    g, _, _, _, e = model.net._embed(q)
    torch.testing.assert_close(e, e[g.eorder], atol=1e-12, rtol=0)


def test_fgnn_targets_and_exact_delta_rollout():
    rng = np.random.default_rng(0)
    pos, vel = rng.normal(size=(2, 6, 4, 2)), rng.normal(size=(2, 6, 4, 2))
    q, v, y = targets("FGNN", pos, vel, np.zeros_like(pos))
    assert q.shape == (10, 4, 2)
    np.testing.assert_array_equal(y[..., :2], (pos[:, 1:] - pos[:, :-1]).reshape(-1, 4, 2))
    rebuilt = pos[:, :1] + np.cumsum(np.concatenate([np.zeros_like(pos[:, :1]), y[..., :2].reshape(2, 5, 4, 2)], 1), 1)
    np.testing.assert_allclose(rebuilt, pos, atol=1e-12)


def test_metric_definitions():
    a = np.random.default_rng(1).normal(size=(3, 7, 4, 2))
    assert np.all(rel_err(a, a) == 0) and np.allclose(rel_err(a, -a), 1) and np.allclose(rel_err(a, 0 * a), 1)
    const = np.full((5, 7), 0.3)
    assert np.allclose(gm_per_step(const), 0.3) and primary(const) == pytest.approx(0.3)
    p = a.sum(-2)
    assert np.all(momentum_err(p, p) == 1e-30)


def test_momentum_errors_relative_per_particle_and_absolute_total():
    """P5's metric: RelErr of the particles' momenta (v̂ = 2v gives exactly 1/3 at every step, although the total
    momentum — zero here — is predicted exactly); the total-momentum row stays absolute (spec §6)."""
    from components.physics_gnn.metrics import rollout_metrics

    rng = np.random.default_rng(2)
    pos, vel = rng.normal(size=(3, 6, 5, 2)), rng.normal(size=(3, 6, 5, 2))
    vel -= vel.mean(-2, keepdims=True)  # zero total momentum, as the spring data
    scalars, _ = rollout_metrics(Physics("spring"), pos, vel, pos, 2 * vel)
    assert scalars["momentum_err"] == pytest.approx(1 / 3)
    assert scalars["momentum_total_err"] < 1e-14 and scalars["rollout_err"] < 1e-200  # exact positions
    scalars, _ = rollout_metrics(Physics("spring"), pos, vel, pos, vel + np.array([0.1, 0.0]))
    assert scalars["momentum_total_err"] == pytest.approx(0.5, rel=1e-9)  # 5 particles × 0.1


@pytest.mark.parametrize("system", ["spring", "pendulum"])
def test_oracle_rollout_is_below_the_model_error_floor(system):
    from components.physics_gnn.metrics import rollout_metrics
    from components.physics_gnn.rollout import rollout_oracle
    from components.physics_gnn.systems import simulate_verlet, spring_initial

    if system == "spring":
        phys = Physics("spring")
        q0, v0 = spring_initial(0, "test", 5, 3, 2.0, 0.1)
        pos, vel, _ = simulate_verlet(phys, q0, v0, 1e-3, 100, 100)
        pp, pv = rollout_oracle(phys, q0, v0, 100, 0.1, 0.01)
    else:
        phys = Physics("pendulum")
        pos, vel, _ = simulate_pendulum(phys, pendulum_angles(0, "test", 3, 3), 0.01, 1e-4, 100)
        pp, pv = rollout_oracle(phys, pos[:, 0], vel[:, 0], 100, 0.01, 0.002)
    scalars, _ = rollout_metrics(phys, pos, vel, pp, pv)
    assert scalars["rollout_err"] < 1e-3 and scalars["energy_err"] < 1e-3
    if system == "pendulum":  # the projection keeps rod lengths up to the integrator's O(dt²) drift
        assert scalars["constraint_violation"] < 1e-2


@pytest.mark.parametrize("name", ["LGNN", "GNODE", "HGNN", "FGNN", "FGNODE", "HGN"])
def test_output_scale_multiplies_each_target_block_and_is_saved(name):
    """Standardised targets (issue 14): the fixed output scale multiplies each target block of the prediction
    (q̈; or q̇ and ṗ; or Δq and Δv) — exactly, for the unconstrained models — and travels with the weights."""
    from components.physics_gnn.models import build

    torch.manual_seed(0)
    m = build(name, "spring")
    g = torch.Generator().manual_seed(1)
    q = 2 * torch.rand(4, 5, 2, generator=g, dtype=torch.float64)
    v = 0.1 * torch.rand(4, 5, 2, generator=g, dtype=torch.float64)
    base = m.predict(q, v, create_graph=False).detach()
    m.set_output_scale([3.0] if base.shape[-1] == 2 else [3.0, 0.5])
    scaled = m.predict(q, v, create_graph=False).detach()
    factor = torch.tensor([3.0, 3.0] if base.shape[-1] == 2 else [3.0, 3.0, 0.5, 0.5], dtype=torch.float64)
    if name == "HGN":  # a coupled H takes one scale for both blocks: √(3 · 0.5)
        factor = torch.full((4,), (3.0 * 0.5) ** 0.5, dtype=torch.float64)
    assert torch.allclose(scaled, base * factor, rtol=1e-10, atol=1e-12)
    other = build(name, "spring")
    other.load_state_dict(m.state_dict())
    assert torch.equal(other.out_scale, m.out_scale)


# --- the graph NODEs' architecture knobs (issue 14: GNODE fit) ------------------------------------------------

PENDULUM_GNODE = {"hidden": 16, "mpass": 2, "node_state": True, "edge_features": ["displacement", "velocity"]}


def gnode(name, system, arch, init="torch"):
    from components.physics_gnn.models import PhysicsGNN

    torch.manual_seed(0)
    return PhysicsGNN(name, system, gnode=arch, init=init)


@pytest.mark.parametrize("name", ["GNODE", "CGNODE"])
def test_pendulum_gnode_architecture_builds_and_trains(name):
    model = gnode(name, "pendulum", PENDULUM_GNODE)
    assert model.net.mpass == 2 and model.net.node_state and model.net.fb[0].in_features == 4  # dr + dv
    assert model.net.ff2[0].in_features == 16 + 4  # embedding + (r_i, v_i)
    q, v = states("pendulum")
    out = model.predict(q, v)
    assert out.shape == (8, 3, 2) and torch.isfinite(out).all()
    out.pow(2).mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_cgnode_with_the_pendulum_architecture_satisfies_the_constraints():
    model = gnode("CGNODE", "pendulum", PENDULUM_GNODE)
    q, v = states("pendulum", seed=3)
    acc = model.acceleration(q, v)
    residual = (dynamics.chain_A(q) @ acc.reshape(8, -1, 1))[..., 0] + dynamics.chain_adot_qdot(v)
    assert residual.abs().max() < 1e-8


@pytest.mark.parametrize("mpass,reaches", [(1, False), (2, True)])
def test_message_passing_rounds_set_the_receptive_field(mpass, reaches):
    """With the node state in the message passing, node 0's force depends on node 2's state (two links
    away) only after two rounds — what the pendulum's chain-wide rod tensions need."""
    model = gnode("GNODE", "pendulum", {**PENDULUM_GNODE, "mpass": mpass})
    q, v = states("pendulum", b=1)
    v = v.clone().requires_grad_(True)
    f, _ = model.net.force_mass(q, v)
    (grad,) = torch.autograd.grad(f[0, 0].sum(), v)
    assert (grad[0, 2].abs().max() > 0) == reaches
    assert grad[0, 1].abs().max() > 0  # the neighbour is always seen


def test_node_state_and_velocity_edges_only_for_force_heads():
    from components.physics_gnn.message_passing import DecoupledGraph

    with pytest.raises(ValueError, match="force head"):
        DecoupledGraph("pendulum", 2, 5, True, ("distance",), "energy", "torch", node_state=True)
    with pytest.raises(ValueError, match="force head"):
        DecoupledGraph("spring", 2, 5, False, ("distance", "velocity"), "energy", "torch")


def test_spring_gnode_reads_acceleration_directly_and_is_translation_invariant():
    """The code's spring GNODE: a_i = ff2(h_i), no learned mass; displacement edges only, so a common shift of
    all positions leaves the accelerations unchanged (also in the widened architecture)."""
    model = gnode("GNODE", "spring", {"hidden": 16})
    assert not hasattr(model.net, "mass") and model.net.fb[0].in_features == 2
    q, v = states("spring")
    f, m = model.net.force_mass(q, v)
    assert torch.equal(m, torch.ones(8, 5, dtype=torch.float64))
    torch.testing.assert_close(model.acceleration(q + 3.7, v), model.acceleration(q, v), atol=1e-12, rtol=0)


def test_energy_models_keep_the_code_architecture_whatever_the_gnode_block():
    from components.physics_gnn.models import PhysicsGNN

    model = PhysicsGNN("LGNN", "spring", gnode={"hidden": 16, "mpass": 3})
    assert model.net.mpass == 1 and model.net.fb[2].out_features == 5


def test_lecun_init_is_variance_preserving():
    from components.physics_gnn.message_passing import mlp

    torch.manual_seed(0)
    net = mlp([400, 300, 1], "lecun")
    w = net[0].weight.detach()
    assert float(w.std()) == pytest.approx(400 ** -0.5, rel=0.02) and float(net[0].bias.detach().abs().max()) == 0.0
    assert float(net[2].weight.detach().std()) == pytest.approx(300 ** -0.5, rel=0.2)


def test_gnode_block_is_read_per_system():
    from components.physics_gnn.params import ModelParams

    params = ModelParams.model_validate({"gnode": {"pendulum": PENDULUM_GNODE}})
    assert build("GNODE", "pendulum", params).net.mpass == 2
    assert build("GNODE", "spring", params).net.mpass == 1  # absent for springs: the code's
    with pytest.raises(Exception, match="edge_features"):
        ModelParams.model_validate({"gnode": {"spring": {"edge_features": ["angle"]}}})
