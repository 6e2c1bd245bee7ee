"""Pre-training (ClusterMIM token targets / MAE pixels) and fine-tuning as Lightning modules, and the batch
functions the steps fan out (module-level, picklable). The tokenizer is built from saved arrays inside the
module but is not a submodule: never trained, never checkpointed (C-D5)."""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class PretrainJob:
    cond: str
    seed_index: int
    seed: int
    prepared: str
    out: str
    params: dict
    teacher: str | None = None  # teach_*: folder with the same-seed mae encoder.pt
    centres: str | None = None  # teach_*: centres.npy fitted on that teacher's features
    ref: dict | None = None

    @property
    def tag(self) -> str:
        return f"{self.cond}/s{self.seed_index}"


class Targets:
    """Token targets for an augmented view: nearest centre of its features (L2), oracle, random table, or
    the frozen teacher's patch features. Holds arrays only; not an ``nn.Module``."""

    def __init__(self, kind: str, patch: int, centres=None, table=None, per_class: int = 1, teacher=None):
        import torch

        self.kind, self.patch, self.per_class, self.teacher = kind, patch, per_class, teacher
        self.centres = None if centres is None else torch.as_tensor(centres, dtype=torch.float32)
        self.table = None if table is None else torch.as_tensor(table, dtype=torch.long)
        if teacher is not None:
            teacher.eval()
            for p in teacher.parameters():
                p.requires_grad_(False)

    def __call__(self, aug, patches, y, idx):
        import torch

        from components.clustermim.tokenizers import assign_l2, assign_oracle, hog_features

        with torch.no_grad():
            if self.kind == "pix":
                return assign_l2(patches, self.centres)
            if self.kind == "hog":
                return assign_l2(hog_features(aug, self.patch).float(), self.centres)
            if self.kind == "oracle":
                return assign_oracle(patches, self.centres, y, self.per_class)
            if self.kind == "random":
                return self.table[idx]
            if self.kind == "teach":
                assert not self.teacher.training
                return assign_l2(self.teacher(patches)[:, 1:], self.centres)
        raise ValueError(self.kind)


def lr_lambda(total: int, warmup: int):
    def f(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
    return f


def _lightning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pytorch_lightning as pl
    return pl


def make_pretrain_module(net, targets, kind: str, norm_pix: bool, pp, patch: int, scale, steps_per_epoch: int):
    import torch

    pl = _lightning()
    from components.clustermim.data import patchify, random_resized_crop
    from components.clustermim.model import param_groups, pixel_loss, random_masking, token_loss

    class PretrainModule(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = net
            self.history: list[dict] = []
            self._acc: list[tuple[float, float, int]] = []

        def training_step(self, batch, _i):
            x, y, idx = batch
            aug = random_resized_crop(x, scale)
            patches = patchify(aug, patch)
            ids_keep, mask, ids_restore = random_masking(x.shape[0], patches.shape[1], pp.mask_ratio)
            out = self.net(patches, ids_keep, ids_restore)
            if kind in ("mae", "mae_np"):
                loss = pixel_loss(out, patches, mask, norm_pix)
                acc = float("nan")
            else:
                t = targets(aug, patches, y, idx)
                loss = token_loss(out, t, mask, pp.label_smoothing)
                m = mask.bool()
                acc = float((out.argmax(-1)[m] == t[m]).float().mean())
            self._acc.append((float(loss.detach()), acc, x.shape[0]))
            return loss

        def on_train_epoch_start(self):
            self._t0, self._c0 = time.perf_counter(), time.process_time()
            self._acc = []

        def on_train_epoch_end(self):
            n = sum(a[2] for a in self._acc)
            rec = {"epoch": self.current_epoch, "epoch_seconds": time.perf_counter() - self._t0,
                   "epoch_cpu_seconds": time.process_time() - self._c0,
                   "pretrain_loss": sum(a[0] * a[2] for a in self._acc) / n,
                   "masked_token_acc": sum(a[1] * a[2] for a in self._acc) / n}
            self.history.append(rec)
            self.log_dict({k: float(v) for k, v in rec.items() if k != "epoch" and v == v}, on_epoch=True)

        def configure_optimizers(self):
            lr = pp.blr * pp.batch / 256
            # fused: one kernel per tensor; foreach on CPU loops per op (3.4 → 0.3 ms of a ≈ 23 ms step, measured)
            opt = torch.optim.AdamW(param_groups(self.net, pp.wd), lr=lr, betas=(0.9, 0.95), fused=True)
            total = pp.epochs * steps_per_epoch
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(total, pp.warmup_epochs * steps_per_epoch))
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    return PretrainModule()


def load_prepared(prepared: str | Path) -> dict:
    with np.load(Path(prepared) / "images" / "train.npz") as tr, np.load(Path(prepared) / "images" / "test.npz") as te:
        return {"x_train": tr["x"], "y_train": tr["y"], "x_test": te["x"], "y_test": te["y"]}


def build_targets(job: PretrainJob, p, patch: int):
    import torch

    from components.clustermim.params import parse_condition

    kind, K = parse_condition(job.cond)
    if kind in ("mae", "mae_np"):
        return None, 0
    tok = Path(job.prepared) / "tokenizers" / job.cond
    if kind == "random":
        with np.load(tok / "tokens.npz") as z:
            return Targets("random", patch, table=z["train"]), K
    if kind == "teach":
        enc = load_encoder(Path(job.teacher) / "encoder.pt", p)
        return Targets("teach", patch, centres=np.load(job.centres), teacher=enc), K
    import json

    meta = json.loads((tok / "meta.json").read_text())
    return Targets(kind, patch, centres=np.load(tok / "centres.npy"), per_class=meta.get("per_class", 1)), K


def load_encoder(path: Path, p, drop_path: float = 0.0):
    import torch

    from components.clustermim.model import Encoder

    enc = Encoder(p.data.patch ** 2, L_of(p), p.model.dim, p.model.depth, p.model.heads, p.model.mlp_ratio, drop_path)
    enc.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return enc


def L_of(p) -> int:
    return (p.data.image_size // p.data.patch) ** 2


def pretrain_one(job: PretrainJob) -> dict:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from components.clustermim.model import MIM
    from components.clustermim.params import ClustermimParams, parse_condition
    from components.core.io import write_bytes
    from components.core.tracking import TrackedRun
    from components.core.training import make_trainer

    pl = _lightning()
    p = ClustermimParams.model_validate(job.params)
    pp, patch = p.pretrain, p.data.patch
    pl.seed_everything(job.seed, workers=False, verbose=False)
    d = load_prepared(job.prepared)
    targets, K = build_targets(job, p, patch)
    kind, _ = parse_condition(job.cond)
    net = MIM(patch * patch, L_of(p), p.model, K)
    x = torch.as_tensor(d["x_train"])
    ds = TensorDataset(x, torch.as_tensor(d["y_train"]), torch.arange(len(x)))
    loader = DataLoader(ds, batch_size=pp.batch, shuffle=True, generator=torch.Generator().manual_seed(job.seed))
    module = make_pretrain_module(net, targets, kind, kind == "mae_np", pp, patch, p.data.aug_scale, len(loader))
    run = TrackedRun.from_ref(job.ref)
    start = time.perf_counter()
    trainer = make_trainer(pp.epochs, run, progress=False, log_every_n_steps=max(1, len(loader)))
    trainer.fit(module, loader)
    seconds = time.perf_counter() - start
    out = Path(job.out) / job.cond / f"s{job.seed_index}"
    out.mkdir(parents=True, exist_ok=True)
    import io

    buf = io.BytesIO()
    torch.save(net.encoder.state_dict(), buf)  # the encoder only: no tokenizer tensors (C-D5)
    write_bytes(out / "encoder.pt", buf.getvalue())
    import pandas as pd

    hist = pd.DataFrame(module.history)
    hist.to_csv(out / "train_log.csv", index=False)
    res = {"cond": job.cond, "seed_index": job.seed_index, "seed": job.seed, "K": K, "kind": kind,
           "first_loss": float(hist.pretrain_loss.iloc[0]), "final_loss": float(hist.pretrain_loss.iloc[-1]),
           "final_masked_token_acc": float(hist.masked_token_acc.iloc[-1]),
           "median_epoch_seconds": float(statistics.median(hist.epoch_seconds)), "pretrain_seconds": seconds}
    if run is not None:
        run.log_metrics({"pretrain_seconds": seconds, "final_pretrain_loss": res["final_loss"]})
    return res


def build_teacher(job: PretrainJob) -> list[dict]:
    """The tokenizer of a ``teach_*`` run: k-means on the patch features of the frozen same-seed ``mae`` encoder
    (eval mode, no gradients, determinism asserted: C-D2), saved with its token maps; returns its TCAS rows."""
    import torch

    from components.clustermim import tokenizers as T
    from components.clustermim.data import patchify
    from components.clustermim.params import ClustermimParams, parse_condition
    from components.clustermim.tcas import tcas_rows
    from components.clustermim.tokenizers import save_tokenizer
    from components.core.seeding import derive_seed

    p = ClustermimParams.model_validate(job.params)
    d = load_prepared(job.prepared)
    n_classes = int(max(d["y_train"].max(), d["y_test"].max()) + 1)
    enc = load_encoder(Path(job.teacher) / "encoder.pt", p)
    enc.eval()
    for prm in enc.parameters():
        prm.requires_grad_(False)
    with torch.no_grad():
        ftr = enc(patchify(torch.as_tensor(d["x_train"]), p.data.patch))[:, 1:].numpy().astype(np.float64)
        fte = enc(patchify(torch.as_tensor(d["x_test"]), p.data.patch))[:, 1:].numpy().astype(np.float64)
        again = enc(patchify(torch.as_tensor(d["x_train"][:8]), p.data.patch))[:, 1:].numpy()
    if not np.array_equal(again, ftr[:8].astype(np.float32)):
        raise RuntimeError("the frozen teacher is not deterministic (C-D2)")
    _, K = parse_condition(job.cond)
    r = T.fit_kmeans(ftr.reshape(-1, ftr.shape[-1]), K, p.tokenizers.kmeans_epochs, p.tokenizers.kmeans_batch,
                     derive_seed(p.seed, "teacher", job.seed_index))
    built = {"centres": r["centres"], "meta": {k: r[k] for k in ("inertia", "seconds", "sha256")},
             "tokens_train": T.assign_l2(ftr, r["centres"]).numpy(), "tokens_test": T.assign_l2(fte, r["centres"]).numpy()}
    tid = f"{job.cond}_s{job.seed_index}"
    save_tokenizer(Path(job.centres).parent, built, T.TokSpec(job.cond, "teach", K), job.seed,
                   {"teacher": f"mae/s{job.seed_index}"})
    return [tcas_rows(tid, "teach", K, built[f"tokens_{split}"], d[f"y_{split}"], n_classes, split, "l2", built["meta"])
            for split in ("train", "test")]


def pretrain_batch(chains: list[tuple[PretrainJob, ...]]) -> list[list[dict]]:
    """Each chain in order (a seed's ``mae`` run before the teacher runs that need its encoder); a teacher run
    first builds its tokenizer (``tcas_rows`` in its result)."""
    out = []
    for chain in chains:
        res = []
        for j in chain:
            rows = build_teacher(j) if j.teacher is not None else []
            res.append({**pretrain_one(j), **({"tcas_rows": rows} if rows else {})})
        out.append(res)
    return out


# ---------------------------------------------------------------- fine-tuning
@dataclass(frozen=True)
class FinetuneJob:
    cond: str
    seed_index: int
    seed: int
    prepared: str
    encoder: str
    params: dict
    ref: dict | None = None


def finetune_one(job: FinetuneJob) -> dict:
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    from components.clustermim.data import patchify, random_resized_crop
    from components.clustermim.model import Classifier, layer_decay_groups
    from components.clustermim.params import ClustermimParams
    from components.core.tracking import TrackedRun
    from components.core.training import make_trainer

    pl = _lightning()
    p = ClustermimParams.model_validate(job.params)
    fp, patch = p.finetune, p.data.patch
    pl.seed_everything(job.seed, workers=False, verbose=False)
    d = load_prepared(job.prepared)
    n_classes = int(max(d["y_train"].max(), d["y_test"].max()) + 1)
    model = Classifier(load_encoder(Path(job.encoder), p, fp.drop_path), p.model.dim, n_classes)
    x = torch.as_tensor(d["x_train"])
    loader = DataLoader(TensorDataset(x, torch.as_tensor(d["y_train"])), batch_size=fp.batch, shuffle=True,
                        generator=torch.Generator().manual_seed(job.seed))
    steps = fp.epochs * len(loader)

    class FT(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = model

        def training_step(self, batch, _i):
            xb, yb = batch
            logits = self.model(patchify(random_resized_crop(xb, p.data.aug_scale), patch))
            loss = F.cross_entropy(logits, yb, label_smoothing=fp.label_smoothing)
            self.log("ft_loss", float(loss.detach()), on_epoch=True, on_step=False)
            return loss

        def configure_optimizers(self):
            opt = torch.optim.AdamW(layer_decay_groups(self.model, fp.lr, fp.wd, fp.layer_decay), betas=(0.9, 0.999),
                                    fused=True)  # see the pre-training optimiser
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(steps, len(loader)))
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    run = TrackedRun.from_ref(job.ref)
    start = time.perf_counter()
    make_trainer(fp.epochs, run, progress=False, log_every_n_steps=max(1, len(loader))).fit(FT(), loader)
    model.eval()
    with torch.no_grad():
        pred = model(patchify(torch.as_tensor(d["x_test"]), patch)).argmax(-1).numpy()
    acc = float((pred == d["y_test"]).mean())
    return {"cond": job.cond, "seed_index": job.seed_index, "ft_top1": acc, "ft_seconds": time.perf_counter() - start}


def finetune_batch(jobs: list[FinetuneJob]) -> list[dict]:
    return [finetune_one(j) for j in jobs]
