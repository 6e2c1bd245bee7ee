"""Training (spec 3.2.7–3.2.8) in Lightning: phase 1 (RF + mask + Eikonal, shared) then phase 2 per variant
(PBR loss on). Rays of one frame per step from the "edge" sampler; random background colour per batch."""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from components.intrinsic_avatar import avatar as AV
from components.intrinsic_avatar import render as RD


def frames_to_tensors(frames: list[dict], size: int) -> dict:
    img = torch.tensor(np.stack([f["image"] for f in frames]))
    alpha = torch.tensor(np.stack([f["alpha"] for f in frames]))
    R = torch.tensor(np.stack([f["R"] for f in frames]))
    t = torch.tensor(np.stack([f["t"] for f in frames]))
    rays = [AV.camera_rays(torch.tensor(f["w2c"]), torch.tensor(f["K"]), size, 1) for f in frames]
    o = torch.stack([r[0] for r in rays])
    d = torch.stack([r[1] for r in rays])
    theta = torch.tensor(np.stack([f["theta"] for f in frames])) * (np.pi / 180)
    return {"img": img.reshape(len(frames), -1, 3), "alpha": alpha.reshape(len(frames), -1), "R": R, "t": t,
            "o": o, "d": d, "theta": theta.float(), "size": size}


def edge_sets(alpha: torch.Tensor, size: int):
    """Per frame: indices inside the mask, within 2 px of its edge, and all pixels."""
    a = (alpha.reshape(-1, 1, size, size) > 0.5).float()
    pool = torch.nn.functional.max_pool2d
    dil = pool(a, 5, 1, 2)
    ero = 1 - pool(1 - a, 5, 1, 2)
    edge = (dil - ero).reshape(alpha.shape[0], -1) > 0
    inside = a.reshape(alpha.shape[0], -1) > 0
    return [(inside[i].nonzero()[:, 0], edge[i].nonzero()[:, 0]) for i in range(alpha.shape[0])]


def sample_rays(T: dict, sets, n: int, fractions, gen) -> tuple[int, torch.Tensor]:
    f = int(torch.randint(T["img"].shape[0], (1,), generator=gen))
    inside, edge = sets[f]
    n_in, n_edge = int(round(n * fractions[0])), int(round(n * fractions[1]))
    n_uni = n - n_in - n_edge
    P = T["img"].shape[1]
    parts = []
    for pool, k in ((inside, n_in), (edge, n_edge)):
        if k and len(pool):
            parts.append(pool[torch.randint(len(pool), (k,), generator=gen)])
        elif k:
            n_uni += k
    parts.append(torch.randint(P, (n_uni,), generator=gen))
    return f, torch.cat(parts)


def lr_factor(step: int, total: int, warmup: int) -> float:
    w = min(1.0, 0.01 + 0.99 * step / warmup) if warmup else 1.0
    decay = 1.0
    for frac in (0.5, 0.75, 0.9):
        if step >= frac * total:
            decay *= 0.3
    return w * decay


def bce(p: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    p = p.clamp(1e-4, 1 - 1e-4)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()


def grid_regularisers(model, tp, logs: dict) -> torch.Tensor:
    """Whole-grid curvature (mean |ΔSDF|) and Eikonal ((‖∇SDF‖ − 1)², central differences) on the SDF grid."""
    g = model.sdf_grid()
    h = 2 * model.half / (g.shape[1] - 1)
    loss = torch.zeros(())
    if tp.w_curv:
        curv = RD.grid_laplacian(g, h).abs().mean()
        loss = loss + tp.w_curv * curv
        logs["l_curv"] = float(curv.detach())
    if tp.w_eik_grid:
        c = g[0]
        gx = (c[2:, 1:-1, 1:-1] - c[:-2, 1:-1, 1:-1]) / (2 * h)
        gy = (c[1:-1, 2:, 1:-1] - c[1:-1, :-2, 1:-1]) / (2 * h)
        gz = (c[1:-1, 1:-1, 2:] - c[1:-1, 1:-1, :-2]) / (2 * h)
        eg = (((gx * gx + gy * gy + gz * gz + 1e-12).sqrt() - 1) ** 2).mean()
        loss = loss + tp.w_eik_grid * eg
        logs["l_eik_grid"] = float(eg.detach())
    return loss


def step_loss(model, T, sets, tp, phase: int, variant: str, gen, env_sampler: str | None = None) -> dict:
    """One optimisation step's losses (spec 3.2.7)."""
    f, idx = sample_rays(T, sets, tp.rays, tp.edge_sampler, gen)
    o, d = T["o"][f][idx], T["d"][f][idx]
    R, t = T["R"][f], T["t"][f]
    bg = torch.rand(3, generator=gen)
    a = T["alpha"][f][idx]
    target = T["img"][f][idx] * a[:, None] + (1 - a[:, None]) * bg
    out = model.render_rays(o, d, R, t, bg, tp.n_primary, gen)
    l_rf = (out["c_rf"] - target).abs().mean()
    l_mask = bce(out["O"], a)
    loss = tp.w_rf * l_rf + tp.w_mask * l_mask + tp.w_eik * out["eik"]
    logs = {"l_rf": float(l_rf.detach()), "l_mask": float(l_mask.detach()), "l_eik": float(out["eik"].detach())}
    if tp.w_curv or tp.w_eik_grid:
        loss = loss + grid_regularisers(model, tp, logs)
    if phase == 2:
        Lbar, q, side, alb, rough = model.pbr_rays(o, d, out, tp.n_interact, variant, R, t, T["theta"][f], model.env(),
                                                   env_sampler or tp.sampler, tp.dirs_per_point, tp.n_secondary,
                                                   tp.t_min, tp.t_max, gen)
        c_pbr = out["O"][:, None] * RD.srgb_oetf(Lbar) + (1 - out["O"])[:, None] * bg
        l_pbr = (c_pbr - target).abs().mean()
        loss = loss + tp.w_pbr * l_pbr
        logs["l_pbr"] = float(l_pbr.detach())
        if q is not None:
            jit = q["xc"] + tp.smooth_sigma * torch.randn(q["xc"].shape, generator=gen)
            a2, r2 = model.material(RD.trilinear(model.feat, jit, model.center, model.half))
            sm = (((alb - a2) / torch.maximum(alb, a2)) ** 2).sum(-1) + ((rough - r2) / torch.maximum(rough, r2)) ** 2
            l_smooth = sm.mean()
            loss = loss + tp.w_smooth * l_smooth
            logs["l_smooth"] = float(l_smooth.detach())
            if variant == "C" and "V_traced" in side:
                l_vis = bce(side["V"], side["V_traced"].detach())
                loss = loss + tp.w_vis * l_vis
                logs["l_vis"] = float(l_vis.detach())
    logs["loss"] = float(loss.detach())
    return {"loss": loss, "logs": logs}


def make_module(model, T, tp, phase: int, variant: str, steps: int, seed: int, sampler: str | None = None):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pytorch_lightning as pl

    sets = edge_sets(T["alpha"], T["size"])

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = model
            self.gen = torch.Generator().manual_seed(seed)
            self.history: list[dict] = []
            self._t = time.perf_counter()
            self._times: list[float] = []

        def training_step(self, batch, i):
            t0, c0 = time.perf_counter(), time.process_time()
            res = step_loss(self.model, T, sets, tp, phase, variant, self.gen, sampler)
            self._times.append((time.perf_counter() - t0, time.process_time() - c0))
            if i % tp.log_every == 0 or i == steps - 1:
                last = np.asarray(self._times[-tp.log_every:])
                # wall and CPU time of the forward pass (CPU time is what the budget needs on a shared machine)
                self.history.append({"step": i, **res["logs"], "beta": float(self.model.beta),
                                     "psnr_rf": float(-10 * np.log10(max(res["logs"]["l_rf"] ** 2, 1e-10))),
                                     "step_ms": 1000 * float(last[:, 0].mean()),
                                     "step_cpu_ms": 1000 * float(last[:, 1].mean())})
            return res["loss"]

        def configure_optimizers(self):
            grids = [self.model.sdf, self.model.feat, *self.model.sdf_coarse]
            ids = {id(p) for p in grids}
            rest = [p for p in self.model.parameters() if id(p) not in ids]
            opt = torch.optim.Adam([{"params": grids, "lr": tp.lr_grid}, {"params": rest, "lr": tp.lr}],
                                   betas=(0.9, 0.99), eps=1e-15)
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, steps, tp.warmup))
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

        def train_dataloader(self):
            return torch.utils.data.DataLoader(list(range(steps)), batch_size=1)

    return Module()


def fit(model, T, tp, phase: int, variant: str, steps: int, seed: int, run=None) -> list[dict]:
    from components.core.training import make_trainer

    module = make_module(model, T, tp, phase, variant, steps, seed)
    trainer = make_trainer(max_epochs=1, run=run, max_steps=steps, log_every_n_steps=max(1, tp.log_every))
    trainer.fit(module)
    return module.history


def write_curves(path: Path, history: list[dict]) -> None:
    keys = sorted({k for h in history for k in h}, key=lambda k: (k != "step", k))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for h in history:
            w.writerow(h)


def build_model(p, meta: dict, with_vis: bool):
    from components.intrinsic_avatar.model import AvatarModel

    torch.manual_seed(p.seed)
    fig = AV.Figure.from_params(p.data)
    return AvatarModel(p.model, p.data.env_h, p.data.env_w, fig, with_vis=with_vis)


def load_train_tensors(p, prepared: Path):
    from components.core.io import read_json
    from components.intrinsic_avatar.data import load_frames

    meta = read_json(prepared / "meta.json")
    frames = load_frames(prepared / "frames", "train", p.data.n_train_frames)
    return frames_to_tensors(frames, p.data.image_size), meta


@dataclass(frozen=True)
class VariantJob:
    variant: str
    seed_index: int
    seed: int
    prepared: str
    models: str
    params: dict
    ref: dict | None = None


def train_variant_batch(jobs: list[VariantJob]) -> list[dict]:
    """Worker: phase 2 of each variant × seed from the shared phase-1 checkpoint."""
    from components.core.tracking import TrackedRun
    from components.intrinsic_avatar.params import IntrinsicAvatarParams

    torch.set_num_threads(1)
    out = []
    for j in jobs:
        p = IntrinsicAvatarParams.model_validate(j.params)
        T, meta = load_train_tensors(p, Path(j.prepared))
        model = build_model(p, meta, with_vis=j.variant == "C")
        state = torch.load(Path(j.models) / "ckpt" / "phase1.pt", weights_only=True)
        missing = model.load_state_dict(state, strict=False)
        assert all(k.startswith("vis.") for k in missing.missing_keys), missing
        torch.manual_seed(j.seed)
        run = TrackedRun.from_ref(j.ref)
        t0, c0 = time.perf_counter(), time.process_time()
        hist = fit(model, T, p.train, 2, j.variant, p.train.phase2_steps, j.seed, run)
        wall = time.perf_counter() - t0
        name = f"{j.variant}_s{j.seed_index}"
        torch.save(model.state_dict(), Path(j.models) / "ckpt" / f"{name}.pt")
        write_curves(Path(j.models) / "curves" / f"{name}.csv", hist)
        summary = {"variant": j.variant, "seed_index": j.seed_index, "seed": j.seed, "wall_s": wall,
                   "step_ms": float(np.mean([h["step_ms"] for h in hist])),
                   "step_cpu_ms": float(np.mean([h["step_cpu_ms"] for h in hist])),
                   "cpu_s": time.process_time() - c0, "beta": float(model.beta),
                   "final_l_rf": hist[-1]["l_rf"], "final_l_pbr": hist[-1].get("l_pbr", float("nan"))}
        if run is not None:
            run.log_history([{k: v for k, v in h.items()} for h in hist])
            run.log_metrics({k: v for k, v in summary.items() if isinstance(v, float)})
        out.append(summary)
    return out
