"""Renderer acceptance checks of spec §9 (1–4, 6–8) against analytic cases."""

import math

import numpy as np
import pytest
import torch

from components.intrinsic_avatar import render as RD

torch.set_num_threads(1)


def test_white_furnace_exact_and_mc():
    grid = RD.EnvGrid(16, 32)
    L, a = 0.8, 0.6
    env = torch.full((16, 32, 3), L)
    g = torch.Generator().manual_seed(0)
    n = torch.tensor([[0.3, 0.8, -0.2]])
    n = n / n.norm()
    wo = n.clone()
    alb, rough = torch.full((1, 3), a), torch.full((1,), 0.5)
    exact = RD.shade_exact(n, wo, alb, rough, env, grid, specular=False)
    assert torch.allclose(exact, torch.full_like(exact, a * L), rtol=0.01)
    # uniform sphere sampling has a 4 % relative SD at 1 024 samples for a cosine lobe, so it gets 16 384
    for method, spp in (("uniform", 16384), ("env", 1024), ("mixture", 1024), ("cosine", 1024)):
        est, _, _ = RD.shade_mc(n, wo, alb, rough, env, grid, method, spp, None, g, specular=False)
        assert abs(float(est.mean()) - a * L) / (a * L) < 0.03, (method, float(est.mean()))


@pytest.mark.parametrize("alpha", [0.1, 0.3, 0.6, 0.99])
def test_ggx_energy_at_most_one(alpha):
    g = torch.Generator().manual_seed(1)
    N = 100_000
    n = torch.tensor([0.0, 0.0, 1.0]).expand(N, 3)
    for theta_o in (0.0, 1.0, 1.4):
        wo = torch.tensor([math.sin(theta_o), 0.0, math.cos(theta_o)]).expand(N, 3)
        wi, pdf = RD.sample_uniform((N,), g)
        cos = wi[:, 2].clamp_min(0)
        f = RD.brdf(n, wi, wo, torch.full((N, 3), 0.8), torch.full((N,), alpha))
        albedo = (f * (cos / pdf)[:, None]).mean(0)
        assert float(albedo.max()) <= 1.0 + 0.02


def test_estimators_agree_on_toy_scene():
    """uniform vs env vs mixture L_o at 20 random (x, ω_o) of a sun-lit scene with an occluder, within 3 SE."""
    grid = RD.EnvGrid(16, 32)
    env = RD.procedural_env(grid, (0.25, 0.35, 0.6), (0.5, 0.5, 0.5), 0.1, 40.0, 60.0, 60.0, 0.7, 2.0)
    g = torch.Generator().manual_seed(2)
    occ_c, occ_r = torch.tensor([0.0, 0.6, 0.0]), 0.3

    def vis(x, d):
        oc = x - occ_c
        b = (d * oc).sum(-1)
        c = (oc * oc).sum(-1) - occ_r ** 2
        h = b * b - c
        t = -b - h.clamp_min(0).sqrt()
        return (~((h > 0) & (t > 0))).float()

    bad = 0
    for k in range(20):
        x = torch.randn(1, 3, generator=g) * 0.2
        n = torch.tensor([[0.0, 1.0, 0.0]]) + 0.3 * torch.randn(1, 3, generator=g)
        n = n / n.norm()
        wo = n + 0.5 * torch.randn(1, 3, generator=g)
        wo = wo / wo.norm()
        alb, rough = torch.full((1, 3), 0.5), torch.full((1,), 0.6)
        est = {}
        for m in ("uniform", "env", "mixture"):
            L, _, _ = RD.shade_mc(n, wo, alb, rough, env, grid, m, 4096, vis, g, x=x)
            est[m] = float(RD.luminance(L)[0])
        vals = np.array(list(est.values()))
        # SE estimated from repeated runs of the noisiest estimator
        reps = [float(RD.luminance(RD.shade_mc(n, wo, alb, rough, env, grid, "uniform", 4096, vis, g, x=x)[0])[0])
                for _ in range(6)]
        se = np.std(reps, ddof=1) * math.sqrt(2)
        if np.ptp(vals) > 3 * se + 1e-4:
            bad += 1
    assert bad <= 1  # 3-SE agreement, allowing one of 20 to be unlucky


def _sphere_sdf(c, r):
    return lambda x: (x - c).norm(dim=-1) - r


def test_shadow_fraction_below_sphere():
    """Point at distance d below a sphere of radius r: occluded fraction (1 − cos α)/2, sin α = r/d (§9.4)."""
    r, dist = 0.3, 0.8
    c = torch.tensor([0.0, dist, 0.0])
    expected = (1 - math.sqrt(1 - (r / dist) ** 2)) / 2
    g = torch.Generator().manual_seed(3)
    N = 10_000
    dirs, _ = RD.sample_uniform((N,), g)
    o = torch.zeros(N, 3)
    hit, _ = RD.sphere_trace(o, dirs, _sphere_sdf(c, r), 0.0, 3.0, 128)
    assert abs(float(hit.float().mean()) - expected) / expected < 0.02 + 3 * math.sqrt(expected / N) / expected
    # ray marching through a Laplace density with β = 1e-3 built from the same SDF
    ts = torch.linspace(0, 1.2, 601)
    dt = float(ts[1] - ts[0])
    pts = o[:, None] + ts[None, :, None] * dirs[:, None]
    sigma = RD.laplace_density(_sphere_sdf(c, r)(pts.reshape(-1, 3)).reshape(N, -1), 1e-3)
    T = torch.exp(-(sigma * dt).sum(-1))
    occluded = float((T < 0.5).float().mean())
    assert abs(occluded - expected) / expected < 0.02 + 3 * math.sqrt(expected / N) / expected


def test_density_and_compositing():
    beta = 0.05
    d = torch.linspace(-0.5, 0.5, 101)
    s = -d
    laplace_cdf = torch.where(s <= 0, 0.5 * torch.exp(s / beta), 1 - 0.5 * torch.exp(-s / beta))
    assert torch.allclose(RD.laplace_density(d, beta), laplace_cdf / beta, atol=1e-6 / beta, rtol=1e-6)
    g = torch.Generator().manual_seed(4)
    sigma = torch.rand(50, 64, generator=g) * 30
    alpha, _, w = RD.composite(sigma, torch.full((50, 64), 0.05))
    assert float(alpha.min()) >= 0 and float(alpha.max()) <= 1 and float(w.sum(-1).max()) <= 1 + 1e-6
    # rays through a solid sphere with β → 1e-3: opacity → 1
    ts = torch.linspace(-1.5, 1.5, 257)
    x = torch.stack([torch.zeros_like(ts), torch.zeros_like(ts), ts], -1)
    sig = RD.laplace_density(x.norm(dim=-1) - 0.5, 1e-3)[None]
    _, _, w = RD.composite(sig, torch.full_like(sig, float(ts[1] - ts[0])))
    assert float(w.sum()) > 0.999


def test_interaction_sampling_histogram_and_unbiased():
    from scipy.stats import chisquare

    g = torch.Generator().manual_seed(5)
    w = torch.tensor([[0.05, 0.2, 0.1, 0.3, 0.05, 0.0, 0.1]])
    k = RD.sample_intervals(w, 100_000, g)[0]
    counts = np.bincount(k.numpy(), minlength=7)
    p = (w[0] / w.sum()).numpy()
    nz = p > 0
    assert counts[~nz].sum() == 0
    assert chisquare(counts[nz], p[nz] * counts.sum()).pvalue > 0.01
    # constant L_o: C_pbr = O·mean(L_o) + (1 − O)·bg is unbiased
    O, Lc, bg = float(w.sum()), 0.7, 0.2
    kk = RD.sample_intervals(w, 10_000, g)
    est = O * torch.full(kk.shape, Lc, dtype=torch.float32).mean() + (1 - O) * bg
    assert abs(float(est) - (O * Lc + (1 - O) * bg)) < 0.01 * (O * Lc + (1 - O) * bg)


def test_trilinear_gradient_matches_finite_differences():
    g = torch.Generator().manual_seed(6)
    grid = torch.randn(2, 9, 9, 9, generator=g)
    c = torch.tensor([0.1, 0.0, -0.1])
    x = (torch.rand(50, 3, generator=g) - 0.5) * 1.2 + c
    v, gr = RD.trilinear(grid, x, c, 0.8, with_grad=True)
    h = 1e-3
    for i in range(3):
        e = torch.zeros(3)
        e[i] = h
        fd = (RD.trilinear(grid, x + e, c, 0.8) - RD.trilinear(grid, x - e, c, 0.8)) / (2 * h)
        close = ((gr[..., i] - fd).abs() <= 2e-2 + 1e-3 * fd.abs()).float().mean()
        assert float(close) >= 0.95  # FD straddling a voxel face may differ (the interpolant is only C0 there)


def test_srgb_roundtrip():
    x = torch.linspace(0, 1, 101)
    assert torch.allclose(RD.srgb_to_linear(RD.srgb_oetf(x)), x, atol=1e-5)


def test_trilinear_value_paths_agree():
    """Values alone go through grid_sample, values with gradient through the corner gather: the same interpolant."""
    g = torch.Generator().manual_seed(7)
    grid = torch.randn(3, 11, 11, 11, generator=g)
    c = torch.tensor([0.4, 0.05, 0.0])
    x = (torch.rand(400, 3, generator=g) * 2 - 1) * 0.84 + c
    v = RD.trilinear(grid, x, c, 0.85)
    v2, _ = RD.trilinear(grid, x, c, 0.85, with_grad=True)
    assert torch.allclose(v, v2, atol=1e-5)


def test_nested_upsampling_is_exact_and_laplacian_of_quadratic():
    g = torch.Generator().manual_seed(8)
    coarse = torch.randn(1, 6, 6, 6, generator=g)
    fine = RD.upsample_grid(coarse, 21)  # (21 − 1) = 4 · (6 − 1): nested
    c = torch.zeros(3)
    x = (torch.rand(300, 3, generator=g) * 2 - 1) * 0.99
    a, ga = RD.trilinear(coarse, x, c, 1.0, with_grad=True)
    b, gb = RD.trilinear(fine, x, c, 1.0, with_grad=True)
    assert torch.allclose(a, b, atol=1e-5) and torch.allclose(ga, gb, atol=1e-4)
    lin = torch.linspace(-1, 1, 9)
    X, Y, Z = torch.meshgrid(lin, lin, lin, indexing="ij")
    lap = RD.grid_laplacian((X ** 2 + Y ** 2 + Z ** 2)[None], 0.25)
    assert torch.allclose(lap, torch.full_like(lap, 6.0), atol=1e-4)


def test_exact_shading_under_several_envs_matches_single_calls():
    grid = RD.EnvGrid(8, 16)
    g = torch.Generator().manual_seed(9)
    n = torch.nn.functional.normalize(torch.randn(20, 3, generator=g), dim=-1)
    wo = torch.nn.functional.normalize(n + 0.3 * torch.randn(20, 3, generator=g), dim=-1)
    alb, rough = torch.rand(20, 3, generator=g) * 0.7 + 0.05, torch.rand(20, generator=g) * 0.8 + 0.1
    e1, e2 = torch.rand(8, 16, 3, generator=g), torch.rand(8, 16, 3, generator=g)
    V = (torch.rand(20, 128, generator=g) > 0.3).float()
    for spec in (True, False):
        both = RD.shade_exact_envs(n, wo, alb, rough, [e1, e2], grid, V, specular=spec)
        for env, got in zip((e1, e2), both):
            d = grid.dirs.reshape(-1, 3)
            f = RD.brdf(n[:, None].expand(20, 128, 3), d[None].expand(20, 128, 3), wo[:, None].expand(20, 128, 3),
                        alb[:, None].expand(20, 128, 3), rough[:, None].expand(20, 128), specular=spec)
            ref = (f * env.reshape(-1, 3)[None] * ((n @ d.T).clamp_min(0) * grid.domega.reshape(-1) * V)[..., None]).sum(1)
            assert torch.allclose(got, ref, rtol=1e-4, atol=1e-6)
