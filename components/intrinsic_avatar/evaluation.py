"""Evaluation of one variant (spec §6): albedo / normal / opacity maps on train and test frames, global and
per-frame albedo alignment, PBR reconstruction, relighting under E₂ on novel and training poses with the aligned
albedo, visibility probes, per-frame metrics for the frame bootstrap."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from components.intrinsic_avatar import avatar as AV
from components.intrinsic_avatar import metrics as MT
from components.intrinsic_avatar import render as RD


@torch.no_grad()
def render_model_frame(model, fr: dict, p, variant: str, env: torch.Tensor, albedo_scale=None, gen=None,
                       chunk: int = 512) -> dict:
    """Full-image render of a frame with the model: O, camera normal, albedo, depth and the PBR image under
    ``env`` (S_test interaction points × dirs_test env-importance directions), composited on black."""
    size = p.data.image_size
    w2c, K = torch.tensor(fr["w2c"]), torch.tensor(fr["K"])
    R, t = torch.tensor(fr["R"]), torch.tensor(fr["t"])
    pose = torch.tensor(fr["theta"]).float() * (np.pi / 180)
    o, d = AV.camera_rays(w2c, K, size, 1)
    ev, tp = p.evaluate, p.train
    outs = {k: [] for k in ("O", "normal", "albedo", "depth", "pbr")}
    black = torch.zeros(3)
    for s in range(0, o.shape[0], chunk):
        oo, dd = o[s:s + chunk], d[s:s + chunk]
        r = model.render_rays(oo, dd, R, t, black, tp.n_primary, gen, perturb=False, with_material=True)
        sc = None if albedo_scale is None else torch.as_tensor(albedo_scale, dtype=torch.float32)
        Lbar, _, _, _, _ = model.pbr_rays(oo, dd, r, ev.s_test, variant, R, t, pose, env, "env", ev.dirs_test,
                                          tp.n_secondary, tp.t_min, tp.t_max, gen, albedo_scale=sc)
        outs["pbr"].append(r["O"][:, None] * RD.srgb_oetf(Lbar))
        outs["O"].append(r["O"])
        n = r["normal"]
        outs["normal"].append(n @ w2c[:3, :3].T)
        outs["albedo"].append(r["albedo"])
        outs["depth"].append(r["depth"])
    res = {k: torch.cat(v).reshape(size, size, -1).squeeze(-1).numpy() for k, v in outs.items()}
    return res


@torch.no_grad()
def visibility_probes(model, variant: str, frames: list[dict], fig, n_probes: int, tp, seed: int):
    """Per frame: (GT occluded, predicted occluded) for probes = (GT surface point, upper-hemisphere direction)."""
    from components.intrinsic_avatar.data import posed_primitives, shadow_hit

    g = torch.Generator().manual_seed(seed)
    per = max(1, n_probes // len(frames))
    out = []
    for fr in frames:
        R, t = torch.tensor(fr["R"]), torch.tensor(fr["t"])
        pts, nrm = torch.tensor(fr["points"]), torch.tensor(fr["pnormals"])
        i = torch.randint(len(pts), (per,), generator=g)
        x, n = pts[i], nrm[i]
        w, _ = RD.sample_uniform((per,), g)
        w = torch.where(((w * n).sum(-1) < 0)[:, None], -w, w)
        x0 = x + 2e-3 * n
        gt = shadow_hit(x0, w, posed_primitives(fig, R, t)).numpy()
        if variant in ("A", "D"):
            V = model.traced_visibility(x0, w, R, t, tp.n_secondary, tp.t_min, tp.t_max, g)
        elif variant == "C":
            q = model.query(x0, R, t, full=True)
            dc = (q["Rb"].transpose(-1, -2) @ w[..., None])[..., 0]
            V = model.vis_mlp(q["xc"], dc, torch.tensor(fr["theta"]).float() * (np.pi / 180))
        else:
            V = torch.ones(per)
        out.append((gt, (V < 0.5).numpy()))
    return out


@dataclass(frozen=True)
class EvalJob:
    variant: str
    seed_index: int
    prepared: str
    models: str
    out: str
    params: dict


def _shadow_stats(a_srgb, g_srgb, mask_sh, mask_lit) -> dict:
    out = {}
    for name, m in (("sh", mask_sh), ("lit", mask_lit)):
        e = (a_srgb[m] - g_srgb[m]).astype(np.float64)
        out[f"sse_{name}"] = float((e ** 2).sum())
        out[f"sae_{name}"] = float(np.abs(e).sum())
        out[f"n_{name}"] = float(e.size)
    return out


def evaluate_batch(jobs: list[EvalJob]) -> list[dict]:
    from components.core.io import read_json, write_json
    from components.intrinsic_avatar.data import load_frames
    from components.intrinsic_avatar.params import IntrinsicAvatarParams
    from components.intrinsic_avatar.training import build_model

    torch.set_num_threads(1)
    results = []
    for j in jobs:
        c0 = time.process_time()
        p = IntrinsicAvatarParams.model_validate(j.params)
        prepared, out = Path(j.prepared), Path(j.out) / j.variant
        out.mkdir(parents=True, exist_ok=True)
        meta = read_json(prepared / "meta.json")
        model = build_model(p, meta, with_vis=j.variant == "C")
        model.load_state_dict(torch.load(Path(j.models) / "ckpt" / f"{j.variant}_s{j.seed_index}.pt",
                                         weights_only=True))
        model.eval()
        fig = AV.Figure.from_params(p.data)
        E2 = torch.tensor(np.load(prepared / "env" / "E2.npy", allow_pickle=False))
        gen = torch.Generator().manual_seed(p.seed + 17)
        train = load_frames(prepared / "frames", "train", p.data.n_train_frames)
        test = load_frames(prepared / "frames", "test", p.data.n_test_poses)
        trelit = load_frames(prepared / "frames", "trainrelit", p.data.n_train_frames)
        env = model.env()
        rtrain = [render_model_frame(model, fr, p, j.variant, env, None, gen) for fr in train]
        masks = [fr["alpha"] > 0.5 for fr in train]
        scale = MT.albedo_scale(np.stack([r["albedo"] for r in rtrain]), np.stack([fr["albedo"] for fr in train]),
                                np.stack(masks))
        to = lambda v: RD.srgb_oetf(torch.as_tensor(v)).numpy()  # noqa: E731
        pf: dict[str, list] = {k: [] for k in ("albedo_psnr", "albedo_psnr_lin", "albedo_psnr_perframe", "albedo_ssim",
                                               "normal_deg", "mask_iou", "recon_psnr", "sse_sh", "sae_sh", "n_sh",
                                               "sse_lit", "sae_lit", "n_lit", "sse_edge", "n_edge")}
        for fr, r, m in zip(train, rtrain, masks):
            a = MT.align(r["albedo"], scale)
            pf["albedo_psnr"].append(MT.psnr(to(a), to(fr["albedo"]), m))
            pf["albedo_psnr_lin"].append(MT.psnr(a, fr["albedo"], m))
            pf["albedo_psnr_perframe"].append(MT.aligned_albedo_psnr(r["albedo"], fr["albedo"], m))
            pf["albedo_ssim"].append(MT.ssim(to(a) * m[..., None], to(fr["albedo"]) * m[..., None], m))
            pf["normal_deg"].append(MT.normal_error(r["normal"], fr["normal"], m))
            pf["mask_iou"].append(MT.iou(r["O"] > 0.5, m))
            gt_img = fr["image"] * fr["alpha"][..., None]
            pf["recon_psnr"].append(MT.psnr(r["pbr"], gt_img, m))
            edge = MT.depth_edges(fr["depth"], fr["alpha"])
            pf["sse_edge"].append(float(((r["pbr"][edge] - gt_img[edge]).astype(np.float64) ** 2).sum()))
            pf["n_edge"].append(float(edge.sum() * 3))
            sh = m & (fr["shadow"] >= p.data.shadow_thresh)
            lit = m & (fr["shadow"] <= 0.05)
            for k, v in _shadow_stats(to(a), to(fr["albedo"]), sh, lit).items():
                pf[k].append(v)
        rtest = [render_model_frame(model, fr, p, j.variant, E2, scale, gen) for fr in test]
        pf["relit_novel_psnr"] = [MT.psnr(r["pbr"], fr["relit"] * fr["alpha"][..., None], fr["alpha"] > 0.5)
                                  for fr, r in zip(test, rtest)]
        pf["relit_novel_ssim"] = [MT.ssim(r["pbr"], fr["relit"] * fr["alpha"][..., None], fr["alpha"] > 0.5)
                                  for fr, r in zip(test, rtest)]
        pf["test_normal_deg"] = [MT.normal_error(r["normal"], fr["normal"], fr["alpha"] > 0.5)
                                 for fr, r in zip(test, rtest)]
        rtr2 = [render_model_frame(model, fr, p, j.variant, E2, scale, gen) for fr in train]
        pf["relit_train_psnr"] = [MT.psnr(r["pbr"], tr["relit"] * tr["alpha"][..., None], tr["alpha"] > 0.5)
                                  for tr, r in zip(trelit, rtr2)]
        probes = visibility_probes(model, j.variant, test, fig, p.evaluate.probes, p.train, p.seed + 23)
        pf["vis_iou"] = [MT.iou(pred, gt) for gt, pred in probes]
        gt_all = np.concatenate([g for g, _ in probes])
        pr_all = np.concatenate([q for _, q in probes])
        summary = {"variant": j.variant, "seed_index": j.seed_index, "albedo_scale": scale.tolist(),
                   "vis_iou_pooled": MT.iou(pr_all, gt_all), "probes": int(len(gt_all)),
                   "probes_occluded_gt": float(gt_all.mean()), "cpu_s": time.process_time() - c0}
        for k in ("albedo_psnr", "albedo_psnr_lin", "albedo_psnr_perframe", "albedo_ssim", "normal_deg", "mask_iou",
                  "recon_psnr", "relit_novel_psnr", "relit_novel_ssim", "relit_train_psnr", "test_normal_deg",
                  "vis_iou"):
            m_, lo, hi = MT.bootstrap_ci(pf[k], p.evaluate.bootstrap, p.seed)
            summary[k] = m_
            summary[f"{k}_ci"] = [lo, hi]
        for name in ("sh", "lit"):
            n = float(np.sum(pf[f"n_{name}"]))
            summary[f"albedo_mae_{name}"] = float(np.sum(pf[f"sae_{name}"]) / n) if n else float("nan")
            mse = float(np.sum(pf[f"sse_{name}"]) / n) if n else float("nan")
            summary[f"albedo_psnr_{name}"] = float(-10 * np.log10(max(mse, 1e-12))) if n else float("nan")
        write_json(out / "metrics.json", {**summary, "per_frame": pf})
        write_json(out / "albedo_scale.json", {"global": scale.tolist()})
        np.savez(out / "renders.npz",
                 train_albedo=np.stack([MT.align(r["albedo"], scale) for r in rtrain]),
                 train_normal=np.stack([r["normal"] for r in rtrain]), train_O=np.stack([r["O"] for r in rtrain]),
                 train_pbr=np.stack([r["pbr"] for r in rtrain]),
                 test_relit=np.stack([r["pbr"] for r in rtest]), test_normal=np.stack([r["normal"] for r in rtest]))
        results.append(summary)
    return results
