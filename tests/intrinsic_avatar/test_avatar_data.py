"""Articulation (§9.5), data generator and its GX suite (§9.14), CPU-only code path (§9.13 static part)."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from components.intrinsic_avatar import avatar as AV
from components.intrinsic_avatar import data as D
from components.intrinsic_avatar.params import DataParams

torch.set_num_threads(1)
SMALL = dict(image_size=16, ssaa=1, env_h=8, env_w=16, n_train_frames=6, n_test_poses=2)


def test_articulation_roundtrip_and_consistency():
    fig = AV.Figure()
    R, t = AV.bone_transforms(fig, 55.0, 40.0)
    g = torch.Generator().manual_seed(0)
    segs = fig.segments()
    for b in range(3):
        a, c = segs[b]
        u = torch.rand(40_000, 1, generator=g)
        pts = a + u * (c - a) + (torch.rand(40_000, 3, generator=g) - 0.5) * 0.6
        inside = fig.sdf(pts) < 0
        dseg = torch.stack([AV._seg_dist(pts, a, c) for a, c in segs], -1)
        lab = dseg.argmin(-1)
        srt = dseg.sort(-1).values
        far = (srt[:, 1] - srt[:, 0]) >= 0.05
        sel = pts[inside & (lab == b) & far][:10_000]
        assert len(sel) > 100
        xp = (R[b] @ sel[..., None])[..., 0] + t[b]
        xc = AV.to_canonical(xp, R, t)
        assert float((xc[:, b] - sel).abs().max()) < 1e-5
        d, bone, _ = AV.posed_query(xp, R, t, fig.sdf, fig.part)
        consistent = fig.part(xc.reshape(-1, 3)).reshape(-1, 3) == torch.arange(3)
        assert bool((consistent.sum(-1) >= 1).all()) and bool(consistent[:, b].all())
        assert float(d.max()) < 0
    far_pts = torch.tensor([[2.5, 2.5, 2.5], [-2.0, 0.0, 2.0], [0.0, -1.5, 0.0]])
    d, _, _ = AV.posed_query(far_pts, R, t, fig.sdf, fig.part)
    assert bool((d > 0).all())


def test_shared_segment_distances_equal_sdf_and_part():
    fig = AV.Figure()
    x = (torch.rand(5000, 3, generator=torch.Generator().manual_seed(3)) - 0.5) * 2.0 + torch.tensor([0.4, 0.0, 0.0])
    d, part = fig.sdf_part(x)
    assert torch.equal(d, fig.sdf(x)) and torch.equal(part, fig.part(x))


def test_bone_transforms_identity_and_joint_continuity():
    fig = AV.Figure()
    R, t = AV.bone_transforms(fig, 0.0, 0.0)
    assert torch.allclose(R, torch.eye(3).expand(3, 3, 3), atol=1e-6) and torch.allclose(t, torch.zeros(3, 3), atol=1e-6)
    R, t = AV.bone_transforms(fig, 80.0, 50.0)
    j1, j2, _ = fig.joints()
    assert torch.allclose(R[1] @ j1 + t[1], j1, atol=1e-6)          # shoulder stays
    assert torch.allclose(R[2] @ j2 + t[2], R[1] @ j2 + t[1], atol=1e-6)  # elbow shared by both arm bones


def test_poses_and_envs():
    d = DataParams()
    tr, te = D.train_poses(d), D.test_poses(d, 0)
    assert len(tr) == 24 and len(te) == 8
    assert all(0 <= a <= 70 and 0 <= b <= 60 for a, b, _ in tr)
    assert all(a > 70 or b > 60 for a, b, _ in te)
    grid, e1, e2 = D.env_maps(d, 67.5)
    assert float(grid.domega.sum()) == pytest.approx(4 * np.pi, rel=1e-5)
    up = grid.dirs[..., 1].clamp_min(0) * grid.domega
    from components.intrinsic_avatar.render import luminance
    assert float((luminance(e1) * up).sum()) == pytest.approx(2.0, rel=1e-4)
    assert not torch.equal(e1, e2)


@pytest.fixture(scope="module")
def small_frames(tmp_path_factory):
    d = DataParams(**SMALL)
    out = tmp_path_factory.mktemp("frames")
    jobs = [D.FrameJob("train", i, a, b, az, 67.5, d.model_dump(), str(out), i) for i, (a, b, az) in
            enumerate(D.train_poses(d))]
    jobs += [D.FrameJob("test", i, a, b, az, 67.5, d.model_dump(), str(out), 100 + i) for i, (a, b, az) in
             enumerate(D.test_poses(d, 0))]
    rows = D.render_batch(jobs)
    return d, out, pd.DataFrame(rows)


def test_generator_is_deterministic_and_valid(small_frames):
    d, out, frame = small_frames
    fig = AV.Figure.from_params(d)
    grid, e1, e2 = D.env_maps(d, 67.5)
    a, b, az = D.train_poses(d)[2]
    again = D.render_frame(fig, d, a, b, az, grid, e1, e2, True, seed=2)
    with np.load(out / "train_002.npz") as z:
        assert np.array_equal(z["image"], again["image"]) and np.array_equal(z["normal"], again["normal"])
    tr = frame[frame.split == "train"].reset_index(drop=True)
    te = frame[frame.split == "test"].reset_index(drop=True)
    from components.core.validation import validate_frame

    relaxed = d.model_copy(update={"min_shadow_fraction": 0.0})
    assert validate_frame(tr, D.expectations(tr, "train", 6, relaxed), "ia-train")["success"]
    assert validate_frame(te, D.expectations(te, "test", 2, relaxed), "ia-test")["success"]
    fr = D.load_frames(out, "train", 6)[0]
    m = fr["alpha"] > 0.5
    assert np.allclose(np.linalg.norm(fr["normal"][m], axis=-1), 1, atol=1e-3)
    assert 0.15 <= m.mean() <= 0.6


def test_gx_suite_names_the_failed_expectation(small_frames):
    from components.core.errors import DataValidationError
    from components.core.validation import validate_frame

    d, _, frame = small_frames
    tr = frame[frame.split == "train"].reset_index(drop=True).copy()
    tr.loc[0, "albedo_max"] = 0.95
    with pytest.raises(DataValidationError) as exc:
        validate_frame(tr, D.expectations(tr, "train", 6, d.model_copy(update={"min_shadow_fraction": 0.0})), "ia")
    assert "albedo_max" in str(exc.value)


def test_malformed_frame_file_is_one_clear_error(small_frames, tmp_path):
    from components.core.errors import UserError

    _, out, _ = small_frames
    bad = tmp_path / "train_000.npz"
    bad.write_bytes((out / "train_000.npz").read_bytes()[:200])
    with pytest.raises(UserError, match="train_000.npz is malformed"):
        D.load_frames(tmp_path, "train", 1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="train_000.npz is missing"):
        D.load_frames(tmp_path / "empty", "train", 1)


def test_paper_readers_need_user_paths(tmp_path):
    from components.core.errors import UserError

    with pytest.raises(UserError, match="paper.data_dir"):
        D.read_peoplesnapshot(None, "male-3-casual", None)
    with pytest.raises(UserError, match="not found"):
        D.read_rana(str(tmp_path), "01", str(tmp_path))
    with pytest.raises(UserError, match="subject"):
        D.read_rana(str(tmp_path), "99", str(tmp_path))


def test_cpu_only_static():
    root = Path(__file__).resolve().parents[2] / "components" / "intrinsic_avatar"
    for f in root.glob("*.py"):
        text = f.read_text()
        assert not re.search(r"\.cuda\(|device=['\"]cuda", text), f
