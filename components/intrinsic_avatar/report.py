"""The intrinsic_avatar report: claims table with the gate, per-variant metrics with CIs, image grids (albedo,
normals, relit novel poses, albedo error in shadow), loss curves, runtime, deviations."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from components.core.claims import Claim
from components.core.io import read_json
from components.core.reporting import Report, write_outputs, write_plot

DEVIATIONS = [
    "**Default steps**: phase 1 / phase 2 600 / 800 (spec 800 / 1200) to fit the 5-minute budget: at the spec's "
    "steps phase 2 alone costs ≈ 1200 × (70 + 48 + 77) ms ≈ 235 CPU-s (A, B, C per-step CPU measured at 1 thread), "
    "the whole default would exceed ≈ 420 CPU-s. Test shading is the spec's 4 × 16 = 64 spp. Other §5 sizes (32², "
    "24³×8 feature grid, 256 rays, N_p 48, S 8, N_s 16) kept.",
    "**Multi-resolution SDF + curvature term** (spec: one 40³ grid, curvature off): the SDF is a 41³ grid plus "
    "nested 21³ and 11³ levels (the dense analogue of the repository's multi-level hash grid; sphere init r = 0.5 "
    "as the repository) and the loss adds 0.02 × mean |ΔSDF| over the grid (the repository's curvature term). "
    "Decided on training-frame geometry only (phase 1, 600 steps, normal error on the 24 training frames): single "
    "grid 36.4° (noisy, bumpy surface), + curvature alone 22.5° (0.005) or stuck at the sphere (0.02, mask IoU "
    "0.44), multi-resolution alone 35.3°, both 14.1° (mask IoU 0.94); cost ≈ +2 ms/step. The old default failed "
    "the §8 gate on normals (30.8°).",
    "**Shading skips transparent rays**: rays with opacity < 10⁻³ get no interaction points or secondary rays "
    "(their weight in C_pbr = O·L + (1 − O)·bg is < 10⁻³); at test most pixels are background, so this halves "
    "the evaluation cost (measured: A 25 → 14 CPU-s at 32 spp).",
    "**Secondary rays start at t_min 0.02** (spec §5) though spec §10 asks ≥ 2 voxel sizes (0.085): measured on "
    "A's trained model at 3 200 GT-surface probes of the test poses, GT-unoccluded directions get mean traced V "
    "0.934 (0.855 at cos < 0.3) vs 0.978 (0.949) with 0.085 — A is self-shadowed, which biases IA1–IA4 "
    "against A; not switched because the default could not be retrained in that session.",
    "**IA6 and IA7 gated too**: the spec gates IA1–IA5 on the precondition; the project rule (no verdict on models "
    "that did not fit) extends it to IA6 and IA7.",
    "**GT shadow rays**: analytic ray–capsule intersection with the posed primitives instead of 64-step sphere "
    "tracing of the posed SDF (measured 7–8 s/frame with sphere tracing vs ≈ 1.3 s; primary rays are still sphere "
    "traced through the articulation rule). Differences are confined to the joints (smooth-union k = 0.02).",
    "**Canonical box**: centre (0.40, 0.05, 0), half-size 0.85 instead of [−1, 1]³, so the forearm (to x = 1.15) "
    "fits; the 41³ SDF grid then has 0.0425 voxels (arm radius ≈ 2.4 voxels, the spec asks ≥ 2.5).",
    "**Exposure**: env maps are scaled so the irradiance on an upward normal is 2.0 (E₁ and E₂); without it the "
    "GT images saturate at 1 (the spec gives no absolute scale).",
    "**Pixel estimator**: unbiased C_pbr = O·OETF(mean L_o) + (1 − O)·bg (spec 3.2.4 / deviation 7).",
    "**Training sampler**: mixture (½ env importance + ½ cosine) at default, uniform in smoke (spec 3.2.5).",
    "**Lipschitz term off, metallic fixed to 0, GI off** (spec 3.2 'Changed').",
    "**SSIM** on the mask's bounding box (scikit-image's `structural_similarity`, window 7 or the largest odd size "
    "that fits), not on the full frame.",
    "**Variant D (surface shading)** for IA7: one interaction point per ray at the expected depth Σwt/O with the "
    "normalised expected normal Σwn, shaded with the same S·M directions and traced visibility as A. IA7's pixels: "
    "foreground pixels within 1 px of a GT depth jump > 0.2 between two foreground 4-neighbours (self-occlusion "
    "edges; the silhouette against the background is left out), PSNR pooled over resampled frames. IA7 is gated "
    "like IA6 (project rule). D runs in smoke (mechanics) and only where `train.variants` lists it.",
    "**Seeds**: one seed with frame-bootstrap CIs (spec §5 default); CIs over frames do not capture optimisation "
    "variance. Phase 1 is shared by all variants and seeds. A second seed of phase 2 (A and B alone ≈ 125 CPU-s "
    "with evaluation) does not fit the budget.",
    "**LPIPS** only in the paper profile (no offline VGG weights); not computed here.",
]


def _curves(models: Path, name: str) -> list[dict]:
    path = models / "curves" / f"{name}.csv"
    if not path.exists():
        return []
    with open(path) as fh:
        return [{k: float(v) if v not in ("", None) else float("nan") for k, v in r.items()} for r in csv.DictReader(fh)]


def sanity(models: Path) -> tuple[bool | None, str]:
    """§9.11 on A: L1(C_rf) in phase 1 and L1(C_pbr) in phase 2 drop by ≥ 50 % (mean of the first vs the last
    quarter of the logged steps)."""
    p1, p2 = _curves(models, "phase1"), _curves(models, "A_s0")
    if len(p1) < 4 or len(p2) < 4:
        return None, "too few logged steps (smoke)"

    def drop(rows, key):
        v = np.array([r[key] for r in rows])
        q = max(1, len(v) // 4)
        return 1 - v[-q:].mean() / v[:q].mean()

    a, b = drop(p1, "l_rf"), drop(p2, "l_pbr")
    return bool(a >= 0.5 and b >= 0.5), f"L1(C_rf) −{a * 100:.0f} % (phase 1), L1(C_pbr) −{b * 100:.0f} % (phase 2, A)"


def _grid_figure(rows: list[tuple[str, list[np.ndarray]]], title: str, cmap=None, vmax=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ncol = max(len(r[1]) for r in rows)
    fig, axes = plt.subplots(len(rows), ncol, figsize=(1.5 * ncol + 0.6, 1.5 * len(rows)), squeeze=False)
    for i, (name, imgs) in enumerate(rows):
        for j in range(ncol):
            ax = axes[i][j]
            ax.axis("off")
            if j < len(imgs):
                ax.imshow(np.clip(imgs[j], 0, 1) if cmap is None else imgs[j], cmap=cmap, vmin=0, vmax=vmax)
            if j == 0:
                ax.set_title(name, fontsize=7, loc="left")
    fig.suptitle(title, fontsize=9)
    return fig


def build_report(ctx, p) -> list[Claim]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from components.intrinsic_avatar.claims import build_claims
    from components.intrinsic_avatar.data import load_frames
    from components.intrinsic_avatar.render import srgb_oetf
    import torch

    prepared, models, ev = ctx.inputs["prepared"], ctx.inputs["models"], ctx.inputs["eval"]
    meta = read_json(prepared / "meta.json")
    runs = read_json(models / "runs.json")
    variants = [r["variant"] for r in runs["runs"] if r["seed_index"] == 0]
    metrics = {v: read_json(ev / v / "metrics.json") for v in variants}
    diffs = {k: tuple(v) if isinstance(v, list) else v for k, v in read_json(ev / "paired_diffs.json").items()}
    rows = build_claims(metrics, diffs, p.gate, sanity(models))
    claims = [Claim.model_validate(r) for r in rows]

    rep = Report("IntrinsicAvatar (Wang et al., CVPR 2024) — miniature: volumetric MC ray tracing on a toy "
                 "articulated figure, visibility A (traced) vs B (none) vs C (MLP)")
    rep.text(f"Profile `{ctx.profile}`, seed {p.seed}. {meta['n_train']} training frames / {meta['n_test']} novel "
             f"poses at {p.data.image_size}² (SSAA {p.data.ssaa}), env {p.data.env_h}×{p.data.env_w}, sun azimuth "
             f"{meta['sun_az']:.1f}°, shadowed fraction of foreground pixels {meta['shadowed_fraction_train']:.3f}. "
             f"Variants: {', '.join(variants)}; phase 1 {p.train.phase1_steps} steps, phase 2 {p.train.phase2_steps} "
             f"steps, {p.train.rays} rays/step, N_p {p.train.n_primary}, S {p.train.n_interact}, N_s "
             f"{p.train.n_secondary}, sampler {p.train.sampler}.")
    rep.heading("Claims")
    rep.claims(claims)
    rep.text("**Scope** (spec §5): with one seed at this resolution the miniature tests the *direction* of the "
             "A-vs-B and A-vs-C differences with frame-bootstrap CIs, not seed variance and not fine albedo detail. "
             "When the precondition gate fails, IA1–IA5 are inconclusive (precondition failed) and need the larger "
             "setting (48², ≈ 4k steps, S = 16, 3 seeds; ≈ 30–60 min on 2 cores), which is outside `default`.")
    rep.heading("Per-variant metrics (mean over frames, 95 % bootstrap CI)")
    keys = ["albedo_psnr", "albedo_psnr_perframe", "albedo_psnr_lin", "albedo_ssim", "albedo_psnr_sh",
            "albedo_psnr_lit", "albedo_mae_sh", "albedo_mae_lit", "normal_deg", "mask_iou", "recon_psnr",
            "relit_novel_psnr", "relit_novel_ssim", "relit_train_psnr", "vis_iou", "vis_iou_pooled"]
    table = []
    for k in keys:
        row = {"metric": k}
        for v in variants:
            m = metrics[v]
            val = m.get(k)
            ci = m.get(f"{k}_ci")
            row[v] = "n/a" if val is None or not np.isfinite(val) else (
                f"{val:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci and np.isfinite(ci[0]) else ""))
        table.append(row)
    rep.table(table, ["metric", *variants])
    rep.text("Albedo scale factors (global, per channel): " + "; ".join(
        f"{v}: {', '.join(f'{s:.3f}' for s in metrics[v]['albedo_scale'])}" for v in variants))

    # ---------------------------------------------------------------- figures
    train = load_frames(prepared / "frames", "train", p.data.n_train_frames)
    test = load_frames(prepared / "frames", "test", p.data.n_test_poses)
    renders = {}
    for v in variants:
        with np.load(ev / v / "renders.npz", allow_pickle=False) as z:
            renders[v] = {k: z[k] for k in z.files}
    pick = list(np.linspace(0, len(train) - 1, min(4, len(train))).astype(int))
    to = lambda a: srgb_oetf(torch.as_tensor(a)).numpy()  # noqa: E731
    mask = lambda fr: (fr["alpha"] > 0.5)[..., None]  # noqa: E731
    rep.figure("albedo_grid", _grid_figure(
        [("GT albedo", [to(train[i]["albedo"]) * mask(train[i]) for i in pick])] +
        [(f"{v} (aligned)", [to(renders[v]["train_albedo"][i]) * mask(train[i]) for i in pick]) for v in variants],
        "albedo, training frames (sRGB)"), "GT vs aligned albedo per variant on training frames")
    rep.figure("normal_grid", _grid_figure(
        [("GT normal", [(train[i]["normal"] * 0.5 + 0.5) * mask(train[i]) for i in pick])] +
        [(v, [(renders[v]["train_normal"][i] * 0.5 + 0.5) * mask(train[i]) for i in pick]) for v in variants],
        "camera-space normals"), "GT vs rendered normals per variant")
    tp = list(range(min(4, len(test))))
    rep.figure("relit_grid", _grid_figure(
        [("GT relit (E₂)", [test[i]["relit"] * test[i]["alpha"][..., None] for i in tp])] +
        [(v, [renders[v]["test_relit"][i] for i in tp]) for v in variants],
        "relighting under E₂, novel poses"), "novel poses relit under E₂ with the aligned albedo")
    err_rows = [("shadow mask s ≥ thresh", [(train[i]["shadow"] >= p.data.shadow_thresh) * (train[i]["alpha"] > 0.5)
                                            * 1.0 for i in pick])]
    for v in variants:
        err_rows.append((f"{v} |albedo err| in shadow", [
            np.abs(to(renders[v]["train_albedo"][i]) - to(train[i]["albedo"])).mean(-1)
            * (train[i]["shadow"] >= p.data.shadow_thresh) * (train[i]["alpha"] > 0.5) for i in pick]))
    rep.figure("shadow_error", _grid_figure(err_rows, "albedo error in shadowed pixels", cmap="magma", vmax=0.5),
               "shadowed pixels (top) and the aligned albedo error there per variant (sRGB, 0–0.5)")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    p1 = _curves(models, "phase1")
    if p1:
        axes[0].plot([r["step"] for r in p1], [r["l_rf"] for r in p1], label="phase 1 L1(C_rf)")
    for v in variants:
        c = _curves(models, f"{v}_s0")
        if c:
            axes[1].plot([r["step"] for r in c], [r["l_pbr"] for r in c], label=f"{v} L1(C_pbr)")
    for ax in axes:
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    rep.figure("curves", fig, "training curves (phase 1 RF loss; phase 2 PBR loss per variant)")

    rep.heading("Runtime")
    nan = float("nan")
    rep.table([{"part": "prepare (GT render)", "seconds": meta["render_seconds"], "CPU-s": nan},
               {"part": "phase 1", "seconds": runs["phase1_seconds"], "CPU-s": runs.get("phase1_cpu_s", nan)}] +
              [{"part": f"phase 2 {r['variant']}_s{r['seed_index']} ({r.get('step_cpu_ms', nan):.0f} CPU-ms/step)",
                "seconds": r["wall_s"], "CPU-s": r.get("cpu_s", nan)} for r in runs["runs"]],
              ["part", "seconds", "CPU-s"], ".1f")
    rep.heading("Deviations from the spec")
    for d in DEVIATIONS:
        rep.text("- " + d)

    flat: dict[str, float] = {}
    for v in variants:
        for k, val in metrics[v].items():
            if isinstance(val, (int, float)) and not isinstance(val, bool) and np.isfinite(val):
                flat[f"{v}_{k}"] = float(val)
    for k, val in diffs.items():
        if isinstance(val, tuple) and len(val) == 3 and np.isfinite(val[0]):
            flat[f"diff_{k}"] = float(val[0])
    flat["shadowed_fraction_train"] = float(meta["shadowed_fraction_train"])
    head = [k for k in ("A_recon_psnr", "A_mask_iou", "A_normal_deg", "diff_albedo_psnr_A_minus_B",
                        "diff_albedo_psnr_A_minus_C", "diff_relit_novel_psnr_A_minus_B",
                        "diff_relit_novel_psnr_A_minus_C", "diff_vis_iou_A_minus_C", "diff_generalisation_gap_A",
                        "diff_mae_sh_ratio_BA") if k in flat]
    if ctx.run:
        for c in claims:
            try:
                ctx.run.set_tags({f"verdict_{c.id}": c.verdict})
            except Exception:  # noqa: BLE001 - tags are decoration
                pass
    write_plot(ctx, "albedo_psnr_by_variant", [
        {"variant": v, **{k: metrics[v].get(k) for k in ("albedo_psnr", "recon_psnr", "normal_deg", "mask_iou")}}
        for v in variants])
    return write_outputs(ctx, rep, claims, flat, headline=head)
