"""The four steps of ``intrinsic_avatar``: declared inputs in, declared (staged) outputs out — see ``pipeline.py``."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from components.core.errors import UserError
from components.core.io import read_json, sha256_files, write_json
from components.core.pipeline import StepContext
from components.core.seeding import derive_seed

SLUG = "intrinsic_avatar"
FIX_PREPARE = f"rerun `paperflows run {SLUG} --step prepare` with the same params and profile"
FIX_TRAIN = f"rerun `paperflows run {SLUG} --step train` with the same params and profile"


def run_seed(p, i: int) -> int:
    return derive_seed(p.seed, "run", i)


def fan(ctx, fn, jobs: list, desc: str, work: float, cost=None) -> list:
    """Fan out over the executor, or run in-process when the whole job is small (``work`` below 1: spawning
    workers, each importing torch and Lightning, would cost more than the work itself, e.g. in smoke)."""
    if work < 1.0 or len(jobs) <= 1:
        ctx.log(f"{desc}: in-process")
        return fn(list(jobs))
    return ctx.fan_out(fn, jobs, desc, cost=cost)


def data_key(p) -> str:
    return hashlib.sha256(json.dumps(p.data.model_dump(), sort_keys=True).encode()).hexdigest()[:16]


def prepare(ctx: StepContext) -> None:
    """Generate the toy avatar, render GT train frames (E₁), novel test poses (E₁ intrinsics + E₂ relit) and the
    training poses under E₂; shadow labels; env maps; GX suite on per-frame summaries."""
    import pandas as pd
    import torch

    from components.core.validation import validate_and_log
    from components.intrinsic_avatar import avatar as AV
    from components.intrinsic_avatar import data as D

    torch.set_num_threads(1)
    p = ctx.params
    out = ctx.outputs["prepared"]
    if p.data.source == "peoplesnapshot":
        D.read_peoplesnapshot(p.paper.data_dir, p.paper.subject, p.paper.smpl_dir)
    if p.data.source == "rana":
        D.read_rana(p.paper.data_dir, p.paper.subject, p.paper.hdri_dir)
    if p.data.source != "toy":
        raise UserError(f"data.source={p.data.source}: the files were found, but training on real data needs the "
                        "repository's CUDA stack (spec §11); the CPU miniature trains on the toy avatar only",
                        "run the paper profile with taconite/IntrinsicAvatar, or set data.source=toy")
    t0 = time.perf_counter()
    fig = AV.Figure.from_params(p.data)
    sun_az, shares = D.choose_sun_az(p.data, fig)
    grid, e1, e2 = D.env_maps(p.data, sun_az)
    (out / "env").mkdir(parents=True, exist_ok=True)
    (out / "frames").mkdir(parents=True, exist_ok=True)
    np.save(out / "env" / "E1.npy", e1.numpy())
    np.save(out / "env" / "E2.npy", e2.numpy())
    dd = p.data.model_dump()
    jobs = [D.FrameJob("train", i, t1, t2, az, sun_az, dd, str(out / "frames"), derive_seed(p.seed, "train", i))
            for i, (t1, t2, az) in enumerate(D.train_poses(p.data))]
    jobs += [D.FrameJob("test", i, t1, t2, az, sun_az, dd, str(out / "frames"), derive_seed(p.seed, "test", i))
             for i, (t1, t2, az) in enumerate(D.test_poses(p.data, derive_seed(p.seed, "test-poses")))]
    # measured ≈ 2.6e-7 CPU-s per (sub-pixel × texel): 17 s for the default's 32 frames; a worker's start-up (torch,
    # Prefect) costs ≈ 5 s, so two workers pay off only above ≈ 30 s of rendering
    px = (p.data.image_size * p.data.ssaa) ** 2 * p.data.env_h * p.data.env_w
    rows = fan(ctx, D.render_batch, jobs, f"render {len(jobs)} GT frames", len(jobs) * px * 2.6e-7 / 30.0)
    frame = pd.DataFrame(rows)
    tr, te = frame[frame.split == "train"].reset_index(drop=True), frame[frame.split == "test"].reset_index(drop=True)
    reports = validate_and_log(ctx, [(f"{SLUG}-train", tr, D.expectations(tr, "train", p.data.n_train_frames, p.data)),
                                     (f"{SLUG}-test", te, D.expectations(te, "test", p.data.n_test_poses, p.data))], out)
    frame.to_csv(out / "frames.csv", index=False)
    seconds = time.perf_counter() - t0
    meta = {"profile": ctx.profile, "seed": p.seed, "data_key": data_key(p), "sun_az": sun_az,
            "sun_az_shares": shares, "n_train": len(tr), "n_test": len(te),
            "train_poses": D.train_poses(p.data), "test_poses": [list(j) for j in
                                                                 D.test_poses(p.data, derive_seed(p.seed, "test-poses"))],
            "shadowed_fraction_train": float(tr.shadow_frac.mean()), "render_seconds": seconds,
            "posed_box": [AV.POSED_LO.tolist(), AV.POSED_HI.tolist()],
            "canonical_box": {"center": AV.CANON_CENTER.tolist(), "half": AV.CANON_HALF}}
    _preview(out, p)
    meta["sha256"] = sha256_files(out)
    write_json(out / "meta.json", meta)
    if ctx.run:
        ctx.run.log_params({"sun_az": sun_az})
        ctx.run.log_metrics({"shadowed_fraction_train": meta["shadowed_fraction_train"], "render_seconds": seconds,
                             "n_train": len(tr), "n_test": len(te)})
    ctx.log(f"{len(tr)} train / {len(te)} test frames, sun az {sun_az:.1f}°, shadowed fraction "
            f"{meta['shadowed_fraction_train']:.3f}, {len(reports)} GX suites passed, {seconds:.1f} s")


def _preview(out: Path, p) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from components.intrinsic_avatar.data import load_frames

    frames = load_frames(out / "frames", "train", min(4, p.data.n_train_frames))
    fig, axes = plt.subplots(3, len(frames), figsize=(1.8 * len(frames), 5.4), squeeze=False)
    for j, fr in enumerate(frames):
        axes[0][j].imshow(np.clip(fr["image"] * fr["alpha"][..., None], 0, 1))
        axes[1][j].imshow(np.clip(fr["albedo"], 0, 1))
        axes[2][j].imshow(fr["shadow"] * (fr["alpha"] > 0.5), vmin=0, vmax=1, cmap="magma")
    for ax in axes.flat:
        ax.axis("off")
    fig.savefig(out / "preview.png", dpi=80, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def check_prepared(p, prepared: Path, profile: str) -> dict:
    from components.core.io import verify_sha256

    path = prepared / "meta.json"
    try:
        meta = read_json(path)
    except (FileNotFoundError, ValueError):
        raise UserError(f"{path} is missing or malformed", FIX_PREPARE) from None
    if meta.get("seed") != p.seed or meta.get("profile") != profile or meta.get("data_key") != data_key(p):
        raise UserError(f"{prepared} was prepared with other params or another profile", FIX_PREPARE)
    verify_sha256(prepared, meta["sha256"], FIX_PREPARE)
    return meta


def train(ctx: StepContext) -> None:
    """Phase 1 (shared RF + mask + Eikonal) in-process, then phase 2 per variant × seed on a pool of workers."""
    import torch

    from components.intrinsic_avatar import training as TR

    torch.set_num_threads(1)
    p = ctx.params
    prepared, out = ctx.inputs["prepared"], ctx.outputs["models"]
    meta = check_prepared(p, prepared, ctx.profile)
    (out / "ckpt").mkdir(parents=True, exist_ok=True)
    T, _ = TR.load_train_tensors(p, prepared)
    model = TR.build_model(p, meta, with_vis=False)
    child = ctx.run.start_child("train/phase1", {"variant": "phase1"}) if ctx.run else None
    if child:
        child.log_params({**{f"train.{k}": v for k, v in p.train.model_dump().items()},
                          **{f"model.{k}": v for k, v in p.model.model_dump().items()}})
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        hist = TR.fit(model, T, p.train, 1, "A", p.train.phase1_steps, derive_seed(p.seed, "phase1"), child)
    except BaseException:
        if child:
            child.finish("FAILED")
        raise
    phase1_s, phase1_cpu = time.perf_counter() - t0, time.process_time() - c0
    torch.save(model.state_dict(), out / "ckpt" / "phase1.pt")
    TR.write_curves(out / "curves" / "phase1.csv", hist)
    if child:
        child.log_history(hist)
        child.log_metrics({"wall_s": phase1_s, "beta": float(model.beta)})
        child.finish()
    ctx.log(f"phase 1: {p.train.phase1_steps} steps in {phase1_s:.1f} s ({phase1_cpu:.1f} CPU-s), "
            f"final L1(rf) {hist[-1]['l_rf']:.4f}")
    jobs, children = [], []
    for v in p.train.variants:
        for i in range(p.train.seeds):
            c = ctx.run.start_child(f"train/{v}_s{i}", {"variant": v, "seed_index": i}) if ctx.run else None
            if c:
                c.log_params({"variant": v, "seed": run_seed(p, i), **{f"train.{k}": val for k, val in
                                                                      p.train.model_dump().items()}})
            children.append(c)
            jobs.append(TR.VariantJob(v, i, run_seed(p, i), str(prepared), str(out), p.model_dump(),
                                      c.ref() if c else None))
    try:
        res = fan(ctx, TR.train_variant_batch, jobs, f"phase 2 ({len(jobs)} runs)",
                  len(jobs) * p.train.phase2_steps * p.train.rays * p.train.n_interact / 2e6,
                  cost=lambda j: {"A": 1.6, "B": 1.0, "C": 1.9, "D": 1.2}[j.variant])
    except BaseException:
        for c in filter(None, children):
            c.finish("FAILED")
        raise
    for c in filter(None, children):
        c.finish()
    write_json(out / "runs.json", {"profile": ctx.profile, "seed": p.seed, "data_key": data_key(p),
                                   "variants": list(p.train.variants), "seeds": p.train.seeds,
                                   "phase1_seconds": phase1_s, "phase1_cpu_s": phase1_cpu, "runs": res})
    ctx.timings["phase1_seconds"] = phase1_s
    ctx.timings["phase2_worker_seconds"] = float(sum(r["wall_s"] for r in res))
    ctx.log("phase 2: " + ", ".join(f"{r['variant']}_s{r['seed_index']} {r['wall_s']:.0f} s wall, "
                                     f"{r.get('cpu_s', float('nan')):.0f} CPU-s ({r['step_ms']:.0f} ms/step wall, "
                                     f"{r.get('step_cpu_ms', float('nan')):.0f} CPU)" for r in res))


def check_models(p, models: Path, profile: str) -> dict:
    path = models / "runs.json"
    try:
        runs = read_json(path)
    except (FileNotFoundError, ValueError):
        raise UserError(f"{path} is missing or malformed", FIX_TRAIN) from None
    if runs.get("profile") != profile or runs.get("seed") != p.seed or runs.get("variants") != list(p.train.variants) \
            or runs.get("seeds") != p.train.seeds or runs.get("data_key") != data_key(p):
        raise UserError(f"{models} was trained with other params or another profile", FIX_TRAIN)
    for r in runs["runs"]:
        ck = models / "ckpt" / f"{r['variant']}_s{r['seed_index']}.pt"
        if not ck.exists():
            raise UserError(f"{ck} is missing", FIX_TRAIN)
    return runs


def evaluate(ctx: StepContext) -> None:
    """Per variant (pool of 2): maps, alignment, metrics with frame-bootstrap CIs; then the paired differences."""
    from components.intrinsic_avatar.evaluation import EvalJob, evaluate_batch
    from components.intrinsic_avatar.pairs import paired_diffs

    p = ctx.params
    prepared, models, out = ctx.inputs["prepared"], ctx.inputs["models"], ctx.outputs["eval"]
    check_prepared(p, prepared, ctx.profile)
    runs = check_models(p, models, ctx.profile)
    jobs = [EvalJob(r["variant"], r["seed_index"], str(prepared), str(models), str(out), p.model_dump())
            for r in runs["runs"]]
    n_px = (2 * p.data.n_train_frames + p.data.n_test_poses) * p.data.image_size ** 2
    res = fan(ctx, evaluate_batch, jobs, f"evaluate {len(jobs)} models",
              len(jobs) * n_px * p.evaluate.s_test * p.evaluate.dirs_test / 5e6,
              cost=lambda j: {"A": 1.6, "B": 1.0, "C": 1.2, "D": 1.3}[j.variant])
    per = {r["variant"]: read_json(out / r["variant"] / "metrics.json") for r in res if r["seed_index"] == 0}
    write_json(out / "paired_diffs.json", paired_diffs(per, p.evaluate.bootstrap, p.seed))
    if ctx.run:
        for r in res:
            c = ctx.run.start_child(f"evaluate/{r['variant']}_s{r['seed_index']}", {"variant": r["variant"]})
            c.log_metrics({k: v for k, v in r.items() if isinstance(v, float) and np.isfinite(v)})
            c.finish()
    ctx.log("; ".join(f"{r['variant']}: albedo PSNR {r['albedo_psnr']:.2f} dB, relit {r['relit_novel_psnr']:.2f} dB, "
                      f"recon {r['recon_psnr']:.2f} dB, normal {r['normal_deg']:.1f}°, {r['cpu_s']:.0f} CPU-s"
                      for r in res))


def report(ctx: StepContext) -> None:
    from components.intrinsic_avatar.report import build_report

    build_report(ctx, ctx.params)


__all__ = ["prepare", "train", "evaluate", "report"]
