"""Data: the deterministic toy avatar generator (spec §4.1), its GX suite on per-frame summaries (§4.3), and the
paper-profile readers by path (§4.4; nothing downloaded)."""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from components.intrinsic_avatar import avatar as AV
from components.intrinsic_avatar import render as RD

SUN_GRID = 16


# --------------------------------------------------------------------------------------------- poses and cameras
def train_poses(d) -> list[tuple[float, float, float]]:
    """(θ₁, θ₂, camera azimuth) per train frame: a smooth sinusoidal swing covering both train ranges."""
    n = d.n_train_frames
    out = []
    for i in range(n):
        u = i / n
        t1 = d.theta1_train[0] + (d.theta1_train[1] - d.theta1_train[0]) * (0.5 - 0.5 * math.cos(2 * math.pi * u))
        t2 = d.theta2_train[0] + (d.theta2_train[1] - d.theta2_train[0]) * (0.5 - 0.5 * math.cos(4 * math.pi * u + 1.0))
        az = d.cam_az[0] + (d.cam_az[1] - d.cam_az[0]) * i / max(1, n - 1)
        out.append((t1, t2, az))
    return out


def test_poses(d, seed: int) -> list[tuple[float, float, float]]:
    """Novel poses: even k push θ₁ into its test range, odd k push θ₂ into its; azimuths from the train range."""
    rng = np.random.default_rng(seed)
    n = d.n_test_poses
    out = []
    mid1, mid2 = np.mean(d.theta1_train), np.mean(d.theta2_train)
    n1, n2 = (n + 1) // 2, n // 2
    for k in range(n):
        if k % 2 == 0:
            j = k // 2
            t1 = d.theta1_test[0] + (d.theta1_test[1] - d.theta1_test[0]) * (j + 0.5) / n1
            t2 = float(mid2)
        else:
            j = k // 2
            t1 = float(mid1)
            t2 = d.theta2_test[0] + (d.theta2_test[1] - d.theta2_test[0]) * (j + 0.5) / max(1, n2)
        az = float(rng.uniform(*d.cam_az))
        out.append((float(t1), float(t2), az))
    return out


def camera(d, az: float):
    size = d.image_size
    return AV.orbit_camera(az, d.cam_elev, d.cam_dist), AV.intrinsics(size, d.fov)


# --------------------------------------------------------------------------------------------- lights
def env_maps(d, sun_az: float):
    grid = RD.EnvGrid(d.env_h, d.env_w)
    L = d.light
    e1 = RD.procedural_env(grid, L.zenith, L.horizon, L.ground, L.sun_elev, sun_az, L.kappa, L.sun_share,
                           L.irradiance)
    R2 = d.relight
    e2 = RD.procedural_env(grid, R2.zenith, R2.horizon, R2.ground, R2.sun_elev, sun_az + R2.sun_rotate, L.kappa,
                           R2.sun_share, R2.irradiance)
    return grid, e1, e2


def choose_sun_az(d, fig) -> tuple[float, list[float]]:
    """First azimuth of a 16-step grid for which the arm shadows the torso (≥ 5 % of the visible torso points
    in the sun's shadow) in ≥ ``light.sun_az_frames`` of the train frames; shares per candidate for the record."""
    hits = []
    for t1, t2, az in train_poses(d):
        R, t = AV.bone_transforms(fig, t1, t2)
        w2c, K = camera(d, az)
        o, dirs = AV.camera_rays(w2c, K, d.image_size, 1)
        fn = AV.posed_trace_fn(R, t, fig.sdf, fig.part, sdf_part=fig.sdf_part)
        tn, tf = RD.ray_box(o, dirs, AV.POSED_LO, AV.POSED_HI)
        hit, th = RD.sphere_trace(o, dirs, fn, tn, tf, d.gt_trace_steps, hmin=0.01)
        x = o[hit] + th[hit, None] * dirs[hit]
        _, bone, xc = AV.posed_query(x, R, t, fig.sdf, fig.part)
        torso = (bone == 0) & (fig.prims(xc).argmin(-1) == 0)
        n = (R[bone.clamp_min(0)] @ fig.normal(xc)[..., None])[..., 0]
        hits.append((x[torso], n[torso], R, t))
    shares = []
    for k in range(SUN_GRID):
        az = 360.0 * k / SUN_GRID
        s = RD.sun_dir(d.light.sun_elev, az)
        count = 0
        for x, n, R, t in hits:
            lit = (n @ s) > 0.05
            if lit.sum() == 0:
                continue
            xs = x[lit] + 2e-3 * n[lit]
            hit = shadow_hit(xs, s.expand_as(xs).contiguous(), posed_primitives(fig, R, t))
            count += int(hit.float().mean() >= 0.05)
        shares.append(count / len(hits))
        if d.light.sun_az is None and shares[-1] >= d.light.sun_az_frames:
            return az, shares
    if d.light.sun_az is not None:
        return float(d.light.sun_az), shares
    best = int(np.argmax(shares))
    return 360.0 * best / SUN_GRID, shares


# --------------------------------------------------------------------------------------------- GT rendering
def posed_primitives(fig, R, t):
    """World-space capsules (a, b, r) of the posed primitives: torso (+ head as a zero-length capsule) on bone 0,
    upper arm on bone 1, forearm on bone 2."""
    (ta, tb), (j1, j2), (_, j3) = fig.segments()
    caps = [(ta, tb, fig.torso_r, 0), (j1, j2, fig.upper_r, 1), (j2, j3, fig.fore_r, 2)]
    if fig.head:
        h = fig.head_center()
        caps.append((h, h, fig.head_r, 0))
    return [(R[b] @ a + t[b], R[b] @ c + t[b], r) for a, c, r, b in caps]


def capsule_hit(o, d, a, b, r) -> torch.Tensor:
    """Nearest positive ray parameter of the intersection with capsule (a, b, r); inf where missed."""
    ba, oa = b - a, o - a
    baba = float(ba @ ba)
    inf = torch.full(o.shape[:1], float("inf"))
    if baba < 1e-12:  # sphere
        B = (d * oa).sum(-1)
        C = (oa * oa).sum(-1) - r * r
        h = B * B - C
        tt = -B - h.clamp_min(0).sqrt()
        return torch.where(h >= 0, tt, inf)
    bard, baoa = d @ ba, oa @ ba
    rdoa, oaoa = (d * oa).sum(-1), (oa * oa).sum(-1)
    A = baba - bard * bard
    B = baba * rdoa - baoa * bard
    C = baba * oaoa - baoa * baoa - r * r * baba
    h = B * B - A * C
    tt = (-B - h.clamp_min(0).sqrt()) / torch.where(A.abs() < 1e-12, torch.full_like(A, 1e-12), A)
    y = baoa + tt * bard
    body = (h >= 0) & (y > 0) & (y < baba)
    oc = torch.where((y <= 0)[:, None], oa, o - b)
    B2 = (d * oc).sum(-1)
    C2 = (oc * oc).sum(-1) - r * r
    h2 = B2 * B2 - C2
    tc = -B2 - h2.clamp_min(0).sqrt()
    res = torch.where(body, tt, torch.where((h >= 0) & (h2 > 0), tc, inf))
    return res


def shadow_hit(o, d, prims, t_min: float = 5e-3) -> torch.Tensor:
    """Whether rays (o, d) hit any posed primitive at t > t_min (GT shadow rays)."""
    hit = torch.zeros(o.shape[0], dtype=torch.bool)
    for a, b, r in prims:
        tt = capsule_hit(o, d, a, b, r)
        hit |= torch.isfinite(tt) & (tt > t_min)
    return hit


def gt_visibility(x, n, R, t, fig, dirs):
    """V [P, T] ∈ {0, 1} of texel directions ``dirs`` [T, 3] from surface points x [P, 3]: analytic ray–capsule
    intersection with the posed primitives (directions below the horizon are skipped: (n·ω)₊ = 0)."""
    P, T = x.shape[0], dirs.shape[0]
    V = torch.ones(P, T)
    up = (n @ dirs.T) > 0
    pi, ti = up.nonzero(as_tuple=True)
    if len(pi) == 0:
        return V
    o = x[pi] + 2e-3 * n[pi]
    V[pi, ti] = (~shadow_hit(o, dirs[ti], posed_primitives(fig, R, t))).float()
    return V


def render_frame(fig, d, theta1, theta2, az, grid, e1, e2, with_relit: bool, n_points: int = 256, seed: int = 0):
    """Render one GT frame (SSAA) under E₁ (and E₂): image, α, albedo, roughness, normal, depth, shadow s, and
    surface points for the visibility probes."""
    size, ss = d.image_size, d.ssaa
    R, t = AV.bone_transforms(fig, theta1, theta2)
    w2c, K = camera(d, az)
    o, dirs = AV.camera_rays(w2c, K, size, ss)
    tn, tf = RD.ray_box(o, dirs, AV.POSED_LO, AV.POSED_HI)
    hit, th = RD.sphere_trace(o, dirs, AV.posed_trace_fn(R, t, fig.sdf, fig.part, sdf_part=fig.sdf_part), tn, tf, d.gt_trace_steps,
                              hmin=0.01)
    hit = hit & (th < tf)
    M = o.shape[0]
    x = o[hit] + th[hit, None] * dirs[hit]
    _, bone, xc = AV.posed_query(x, R, t, fig.sdf, fig.part)
    Rb = R[bone.clamp_min(0)]
    n = (Rb @ fig.normal(xc)[..., None])[..., 0]
    alb, rough = fig.material(xc)
    wo = -dirs[hit]
    V = gt_visibility(x, n, R, t, fig, grid.dirs.reshape(-1, 3))
    c1, c2 = RD.shade_exact_envs(n, wo, alb, rough, [e1, e2] if with_relit else [e1, e1], grid, V)
    c1_un = RD.shade_exact(n, wo, alb, rough, e1, grid, None, specular=False)
    c1_dv = RD.shade_exact(n, wo, alb, rough, e1, grid, V, specular=False)
    shadow = 1 - RD.luminance(c1_dv) / RD.luminance(c1_un).clamp_min(1e-8)

    def full(vals, dim):
        out = torch.zeros(M, dim)
        out[hit] = vals.reshape(-1, dim)
        return out

    Rw = w2c[:3, :3]
    ncam = n @ Rw.T
    depth = -((x - (-Rw.T @ w2c[:3, 3])) @ Rw.T)[:, 2]
    fg = hit.float()[:, None]
    subs = {"srgb": full(RD.srgb_oetf(c1), 3), "albedo": full(alb, 3), "rough": full(rough, 1),
            "normal": full(ncam, 3), "depth": full(depth, 1), "shadow": full(shadow.clamp(0, 1), 1)}
    if with_relit:
        subs["relit"] = full(RD.srgb_oetf(c2), 3)

    def box(v):
        return v.reshape(size, ss, size, ss, -1).sum((1, 3))

    cov = box(fg)[..., 0] / (ss * ss)
    cnt = box(fg)[..., 0].clamp_min(1)[..., None]
    out = {k: box(v * fg) / cnt for k, v in subs.items()}
    nrm = out["normal"]
    out["normal"] = torch.where(cov[..., None] > 0, nrm / nrm.norm(dim=-1, keepdim=True).clamp_min(1e-9), nrm)
    frame = {"image": out["srgb"], "alpha": cov, "albedo": out["albedo"], "rough": out["rough"][..., 0],
             "normal": out["normal"], "depth": out["depth"][..., 0], "shadow": out["shadow"][..., 0],
             "theta": torch.tensor([theta1, theta2]), "R": R, "t": t, "K": K, "w2c": w2c}
    if with_relit:
        frame["relit"] = out["relit"]
    g = torch.Generator().manual_seed(seed)
    pick = torch.randperm(x.shape[0], generator=g)[:n_points]
    frame["points"], frame["pnormals"] = x[pick], n[pick]
    return {k: v.numpy().astype(np.float32) for k, v in frame.items()}


@dataclass(frozen=True)
class FrameJob:
    split: str
    index: int
    theta1: float
    theta2: float
    az: float
    sun_az: float
    data: dict
    out: str
    seed: int


def render_batch(jobs: list[FrameJob]) -> list[dict]:
    """Worker: render frames and write ``frames/<split>_<i>.npz`` (and the E₂ twin of train frames)."""
    import torch

    from components.intrinsic_avatar.params import DataParams

    torch.set_num_threads(1)
    rows = []
    for j in jobs:
        d = DataParams.model_validate(j.data)
        fig = AV.Figure.from_params(d)
        grid, e1, e2 = env_maps(d, j.sun_az)
        fr = render_frame(fig, d, j.theta1, j.theta2, j.az, grid, e1, e2, True, seed=j.seed)
        out = Path(j.out)
        relit = fr.pop("relit")
        if j.split == "test":
            np.savez(out / f"test_{j.index:03d}.npz", **fr, relit=relit)
        else:
            np.savez(out / f"train_{j.index:03d}.npz", **fr)
            np.savez(out / f"trainrelit_{j.index:03d}.npz", relit=relit, alpha=fr["alpha"])
        rows.append(summary_row(j.split, j.index, fr, d, relit))
    return rows


def summary_row(split: str, index: int, fr: dict, d, relit=None) -> dict:
    a = fr["alpha"]
    solid, fg = a >= 0.99, a > 0.5
    alb = fr["albedo"][solid]
    nn = np.linalg.norm(fr["normal"][fg], axis=-1)
    arrays = [fr[k] for k in ("image", "alpha", "albedo", "normal", "depth", "shadow")] + \
             ([relit] if relit is not None else [])
    img = np.concatenate([fr["image"].ravel()] + ([relit.ravel()] if relit is not None else []))
    t1, t2 = float(fr["theta"][0]), float(fr["theta"][1])
    return {"split": split, "index": index, "fg_frac": float(fg.mean()),
            "shadow_frac": float((fr["shadow"][fg] >= d.shadow_thresh).mean()) if fg.any() else 0.0,
            "albedo_min": float(alb.min()) if alb.size else 0.5, "albedo_max": float(alb.max()) if alb.size else 0.5,
            "normal_norm_min": float(nn.min()) if nn.size else 1.0, "normal_norm_max": float(nn.max()) if nn.size else 1.0,
            "nonfinite": int(sum((~np.isfinite(x)).sum() for x in arrays)),
            "img_min": float(img.min()), "img_max": float(img.max()), "theta1": t1, "theta2": t2,
            "outside_train": bool(t1 > d.theta1_train[1] or t2 > d.theta2_train[1])}


def expectations(frame, split: str, n_rows: int, d) -> list:
    from components.core.validation import expect

    ex = [expect("ExpectTableRowCountToEqual", value=n_rows),
          expect("ExpectColumnValuesToBeBetween", column="fg_frac", min_value=0.15, max_value=0.6),
          expect("ExpectColumnValuesToBeBetween", column="albedo_min", min_value=0.03, max_value=0.80),
          expect("ExpectColumnValuesToBeBetween", column="albedo_max", min_value=0.03, max_value=0.80),
          expect("ExpectColumnValuesToBeBetween", column="normal_norm_min", min_value=0.99, max_value=1.01),
          expect("ExpectColumnValuesToBeBetween", column="normal_norm_max", min_value=0.99, max_value=1.01),
          expect("ExpectColumnValuesToBeBetween", column="nonfinite", min_value=0, max_value=0),
          expect("ExpectColumnValuesToBeBetween", column="img_min", min_value=0.0, max_value=1.0),
          expect("ExpectColumnValuesToBeBetween", column="img_max", min_value=0.0, max_value=1.0)]
    for c in ("fg_frac", "shadow_frac", "theta1", "theta2"):
        ex.append(expect("ExpectColumnValuesToNotBeNull", column=c))
    if split == "train":
        ex.append(expect("ExpectColumnMeanToBeBetween", column="shadow_frac", min_value=d.min_shadow_fraction))
        ex.append(expect("ExpectColumnValuesToBeInSet", column="outside_train", value_set=[False]))
    else:
        ex.append(expect("ExpectColumnValuesToBeInSet", column="outside_train", value_set=[True]))
    return ex


FRAME_KEYS = ("image", "alpha", "albedo", "rough", "normal", "depth", "shadow", "theta", "R", "t", "K", "w2c",
              "points", "pnormals")


def load_frames(folder: Path, split: str, n: int) -> list[dict]:
    """Read the prepared frames of a split; a missing or malformed file is one clear error naming it."""
    from components.core.errors import UserError

    out = []
    for i in range(n):
        path = folder / f"{split}_{i:03d}.npz"
        need = FRAME_KEYS + (("relit",) if split == "test" else ()) if split != "trainrelit" else ("relit", "alpha")
        try:
            with np.load(path, allow_pickle=False) as z:
                fr = {k: z[k] for k in need}
        except FileNotFoundError:
            raise UserError(f"{path} is missing", "rerun `paperflows run intrinsic_avatar --step prepare`") from None
        except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise UserError(f"{path} is malformed ({type(exc).__name__}: {exc})",
                            "rerun `paperflows run intrinsic_avatar --step prepare`") from None
        for k, v in fr.items():
            if not np.all(np.isfinite(v)):
                raise UserError(f"{path}: {k} holds NaN/Inf", "rerun `paperflows run intrinsic_avatar --step prepare`")
        out.append(fr)
    return out


# --------------------------------------------------------------------------------------------- paper readers
def read_peoplesnapshot(data_dir: str | None, subject: str, smpl_dir: str | None) -> dict:
    """PeopleSnapshot-style reader (``datasets/peoplesnapshot.py`` conventions): ``<data_dir>/<subject>/`` with
    ``cameras.npz`` (K, R, T, height, width), ``images/*.png``, ``masks/*.png`` (or ``masks.npy``) and the refined
    poses ``poses/anim_nerf_{train,val,test}.npz`` (betas, global_orient, body_pose, transl); SMPL model files under
    ``smpl_dir``. Nothing is downloaded: a missing path is one clear error."""
    from components.core.errors import UserError

    if not data_dir or not smpl_dir:
        raise UserError("intrinsic_avatar.paper.data_dir and intrinsic_avatar.paper.smpl_dir must be set for "
                        "data.source=peoplesnapshot", "point them at the user-supplied PeopleSnapshot and SMPL files")
    root = Path(data_dir) / subject
    need = [root / "cameras.npz", root / "poses" / "anim_nerf_train.npz", Path(smpl_dir)]
    missing = [str(p) for p in need if not p.exists()]
    if missing:
        raise UserError(f"PeopleSnapshot files not found: {', '.join(missing)}",
                        "download them yourself (licence-gated) and set intrinsic_avatar.paper.*")
    with np.load(root / "cameras.npz", allow_pickle=False) as z:
        cams = {k: z[k] for k in z.files}
    poses = {}
    for split in ("train", "val", "test"):
        p = root / "poses" / f"anim_nerf_{split}.npz"
        if p.exists():
            with np.load(p, allow_pickle=False) as z:
                poses[split] = {k: z[k] for k in z.files}
    images = sorted((root / "images").glob("*.png"))
    return {"cameras": cams, "poses": poses, "images": [str(p) for p in images], "root": str(root)}


RANA_SUBJECTS = ("01", "02", "05", "06", "14", "33", "36", "46", "48")


def read_rana(data_dir: str | None, subject: str, hdri_dir: str | None) -> dict:
    """RANA reader (``datasets/rana.py`` conventions): ``<data_dir>/subject_<id>/{train_p1,test}/`` with per-frame
    images, masks, GT albedo/normals (test) and the test HDRIs under ``hdri_dir`` (pre-downloaded Poly Haven maps)."""
    from components.core.errors import UserError

    if not data_dir or not hdri_dir:
        raise UserError("intrinsic_avatar.paper.data_dir and intrinsic_avatar.paper.hdri_dir must be set for "
                        "data.source=rana", "point them at the user-supplied RANA data and HDRIs")
    if subject not in RANA_SUBJECTS:
        raise UserError(f"RANA subject {subject!r} is not one of {', '.join(RANA_SUBJECTS)}",
                        "set intrinsic_avatar.paper.subject")
    root = Path(data_dir) / f"subject_{subject}"
    need = [root / "train_p1", root / "test", Path(hdri_dir)]
    missing = [str(p) for p in need if not p.exists()]
    if missing:
        raise UserError(f"RANA files not found: {', '.join(missing)}", "download them yourself and set the paths")
    return {"train": sorted(str(p) for p in (root / "train_p1").glob("*")),
            "test": sorted(str(p) for p in (root / "test").glob("*")),
            "hdri": sorted(str(p) for p in Path(hdri_dir).glob("*.hdr"))}
