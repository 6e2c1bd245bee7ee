"""No gradient through secondary rays (§9.8), training determinism (§9.12), metrics (§9.9, §9.10)."""

import numpy as np
import pytest
import torch

from components.intrinsic_avatar import avatar as AV
from components.intrinsic_avatar import metrics as MT
from components.intrinsic_avatar.model import AvatarModel
from components.intrinsic_avatar.params import IntrinsicAvatarParams

torch.set_num_threads(1)


def _model(variant="A"):
    p = IntrinsicAvatarParams.model_validate({"model": {"sdf_grid": 16, "feat_grid": 8, "hidden": 8,
                                                         "vis_hidden": 8, "vis_layers": 1}})
    return p, AvatarModel(p.model, 4, 8, AV.Figure(), with_vis=variant == "C")


def _shade(model, variant, gen):
    R, t = AV.bone_transforms(model.fig, 60.0, 30.0)
    x = torch.tensor([[0.0, 0.0, 0.3], [0.1, 0.1, 0.25], [0.0, -0.2, 0.3]])
    q = model.query(x, R, t, full=True)
    q = {k: v.detach() for k, v in q.items()}  # every other path detached: only the V term may carry gradient
    q["x"] = x
    wo = torch.tensor([[0.0, 0.0, 1.0]]).expand(3, 3)
    L, side, _, _ = model.shade_points(q, wo, variant, R, t, torch.tensor([1.0, 0.5]), model.env().detach(),
                                       "uniform", 8, 8, 0.02, 1.5, gen)
    return L, side


def test_no_gradient_through_traced_visibility():
    _, model = _model("A")
    L, side = _shade(model, "A", torch.Generator().manual_seed(0))
    loss = L.sum()
    assert not side["V"].requires_grad
    grads = torch.autograd.grad(loss, [model.sdf], allow_unused=True)
    assert grads[0] is None or float(grads[0].abs().sum()) == 0.0


def test_mlp_visibility_receives_gradient():
    _, model = _model("C")
    model.train()
    L, side = _shade(model, "C", torch.Generator().manual_seed(0))
    g = torch.autograd.grad(L.sum(), list(model.vis.parameters()))
    assert sum(float(x.abs().sum()) for x in g) > 0
    assert "V_traced" in side and not side["V_traced"].requires_grad


def test_training_steps_are_deterministic():
    from components.intrinsic_avatar import training as TR
    from components.intrinsic_avatar.data import render_frame, env_maps, train_poses
    from components.intrinsic_avatar.params import DataParams

    d = DataParams(image_size=12, ssaa=1, env_h=4, env_w=8, n_train_frames=2, n_test_poses=2)
    fig = AV.Figure()
    grid, e1, e2 = env_maps(d, 67.5)
    frames = [render_frame(fig, d, a, b, az, grid, e1, e2, False) for a, b, az in train_poses(d)]
    T = TR.frames_to_tensors(frames, 12)
    p = IntrinsicAvatarParams.model_validate({"data": d.model_dump(), "train": {"rays": 16, "n_primary": 8,
                                              "n_interact": 2, "n_secondary": 4},
                                              "model": {"sdf_grid": 12, "feat_grid": 6, "hidden": 8}})
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = TR.build_model(p, {}, with_vis=True)
        sets = TR.edge_sets(T["alpha"], 12)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        gen = torch.Generator().manual_seed(3)
        vals = []
        for i in range(4):
            r = TR.step_loss(model, T, sets, p.train, 2 if i >= 2 else 1, "C", gen)
            opt.zero_grad()
            r["loss"].backward()
            opt.step()
            vals.append(r["logs"]["loss"])
        runs.append((vals, model.sdf.detach().clone()))
    assert runs[0][0] == runs[1][0] and torch.equal(runs[0][1], runs[1][1])


def test_multires_sdf_levels_and_their_validation():
    p = IntrinsicAvatarParams.model_validate({"model": {"sdf_grid": 17, "sdf_levels": [5, 9], "feat_grid": 6,
                                                         "hidden": 8}})
    model = AvatarModel(p.model, 4, 8, AV.Figure(), with_vis=False)
    assert torch.allclose(model.sdf_grid(), model.sdf.detach())  # coarse levels start at zero: the sphere init
    with torch.no_grad():
        model.sdf_coarse[0].fill_(0.25)
    assert torch.allclose(model.sdf_grid(), model.sdf.detach() + 0.25, atol=1e-6)
    R, t = AV.bone_transforms(model.fig, 30.0, 20.0)
    q = model.query(torch.tensor([[0.0, 0.0, 0.2], [0.3, 0.2, 0.0]]), R, t, full=True)
    gr = torch.autograd.grad(q["d"].sum(), [model.sdf_coarse[0], model.sdf_coarse[1]])
    assert all(float(g.abs().sum()) > 0 for g in gr)
    with pytest.raises(ValueError, match="sdf_levels"):
        IntrinsicAvatarParams.model_validate({"model": {"sdf_grid": 40, "sdf_levels": [11]}})


def test_skeleton_init_is_negative_on_the_bones():
    p = IntrinsicAvatarParams.model_validate({"model": {"sdf_grid": 21, "sdf_init": "skeleton", "feat_grid": 6,
                                                         "hidden": 8}})
    model = AvatarModel(p.model, 4, 8, AV.Figure(), with_vis=False)
    on_bones = torch.stack([0.5 * (a + b) for a, b in model.fig.segments()])
    with torch.no_grad():
        assert bool((model.sdf_c(on_bones) < 0).all())
        assert float(model.sdf_c(torch.tensor([[0.4, 0.05, 0.8]]))[0]) > 0


def test_pbr_rays_skip_transparent_rays():
    _, model = _model("A")
    R, t = AV.bone_transforms(model.fig, 30.0, 20.0)
    o = torch.tensor([[0.0, 0.0, 3.0], [0.0, 3.0, 3.0]])
    d = torch.nn.functional.normalize(torch.tensor([[0.0, 0.0, -1.0], [0.0, 0.0, -1.0]]), dim=-1)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        out = model.render_rays(o, d, R, t, torch.zeros(3), 16, g)
        Lbar, q, *_ = model.pbr_rays(o, d, out, 2, "A", R, t, torch.zeros(2), model.env(), "uniform", 4, 4, 0.02,
                                     1.5, g, min_opacity=0.5)
    assert float(out["O"][0]) > 0.5 and float(out["O"][1]) < 0.5  # through the sphere init / above it
    assert float(Lbar[1].abs().sum()) == 0 and float(Lbar[0].sum()) > 0 and q["x"].shape[0] == 2


def test_surface_shading_d_uses_one_point_per_ray_and_keeps_gradients():
    _, model = _model("A")
    R, t = AV.bone_transforms(model.fig, 30.0, 20.0)
    o = torch.tensor([[0.0, 0.0, 3.0], [0.1, 0.0, 3.0], [0.0, 3.0, 3.0]])
    d = torch.nn.functional.normalize(torch.tensor([[0.0, 0.0, -1.0]] * 3), dim=-1)
    g = torch.Generator().manual_seed(0)
    out = model.render_rays(o, d, R, t, torch.zeros(3), 16, g)
    Lbar, q, side, *_ = model.pbr_rays(o, d, out, 3, "D", R, t, torch.zeros(2), model.env(), "uniform", 2, 4, 0.02,
                                       1.5, g, min_opacity=0.5)
    assert q["x"].shape[0] == 2 and side["V"].shape[0] == 2 * 3 * 2  # 2 live rays, S·M = 6 directions each
    exp_x = o[:2] + (out["depth"][:2] / out["O"][:2])[:, None] * d[:2]
    assert torch.allclose(q["x"], exp_x) and torch.allclose(q["n"].norm(dim=-1), torch.ones(2))
    assert float(Lbar[2].abs().sum()) == 0
    gs = torch.autograd.grad(Lbar.sum(), [model.sdf, model.env_raw])
    assert all(float(x.abs().sum()) > 0 for x in gs)  # through the expected normal and the light


def test_depth_edges_mark_self_occlusion_not_silhouettes():
    depth = np.full((8, 8), 3.0)
    alpha = np.zeros((8, 8))
    alpha[1:7, 1:7] = 1.0
    depth[3:5, 1:7] = 2.5  # an "arm" 0.5 in front of the "torso"
    e = MT.depth_edges(depth, alpha, 0.2)
    assert e[3, 3] and e[2, 3] and e[1, 3] and e[5, 3] and e[6, 3]  # the jump rows and 1 px around them
    assert not e[0].any() and not e[:, 0].any()  # background and the silhouette alone are not edges
    assert not MT.depth_edges(np.full((8, 8), 3.0), alpha, 0.2).any()


def test_grid_regularisers_are_logged_and_differentiable():
    from components.intrinsic_avatar.training import grid_regularisers

    p = IntrinsicAvatarParams.model_validate({"model": {"sdf_grid": 17, "sdf_levels": [9], "feat_grid": 6,
                                                         "hidden": 8}, "train": {"w_curv": 0.01, "w_eik_grid": 0.1}})
    model = AvatarModel(p.model, 4, 8, AV.Figure(), with_vis=False)
    logs = {}
    loss = grid_regularisers(model, p.train, logs)
    assert set(logs) == {"l_curv", "l_eik_grid"} and logs["l_eik_grid"] < 0.05  # the sphere init is an SDF
    assert float(torch.autograd.grad(loss, model.sdf_coarse[0])[0].abs().sum()) > 0


def test_albedo_metric():
    rng = np.random.default_rng(0)
    gt = rng.uniform(0.03, 0.8, (16, 16, 3))
    m = np.ones((16, 16), bool)
    for k in (0.5, 1.5):
        assert MT.aligned_albedo_psnr(gt / k, gt, m) >= 60
    shuffled = rng.permutation(gt.reshape(-1, 3)).reshape(gt.shape)
    shuffled = rng.uniform(0.03, 0.8, gt.shape)
    assert MT.aligned_albedo_psnr(shuffled, gt, m) < 20
    with pytest.raises(ValueError, match="empty mask"):
        MT.aligned_albedo_psnr(gt, gt, np.zeros((16, 16), bool))


def test_normal_error():
    rng = np.random.default_rng(1)
    n = rng.normal(size=(8, 8, 3))
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    m = np.ones((8, 8), bool)
    assert MT.normal_error(n, n, m) == pytest.approx(0, abs=1e-3)
    assert MT.normal_error(-n, n, m) == pytest.approx(180, abs=1e-3)
    z = np.zeros((8, 8, 3))
    z[..., 2] = 1
    x = np.zeros((8, 8, 3))
    x[..., 0] = 1
    assert MT.normal_error(x, z, m) == pytest.approx(90, abs=1e-6)


def test_ssim_iou_bootstrap():
    rng = np.random.default_rng(2)
    a = rng.uniform(size=(20, 20, 3))
    m = np.ones((20, 20), bool)
    assert MT.ssim(a, a, m) == pytest.approx(1.0)
    assert MT.ssim(a, rng.uniform(size=a.shape), m) < 0.3
    assert MT.iou(np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool)) == pytest.approx(1 / 3)
    mean, lo, hi = MT.bootstrap_ci(rng.normal(1.0, 0.1, 50), 500, 0)
    assert lo < mean < hi and lo > 0.9 and hi < 1.1
