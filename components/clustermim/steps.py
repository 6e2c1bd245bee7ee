"""The four steps of ``clustermim``: declared inputs in, declared (staged) outputs out — see ``pipeline.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.core.errors import UserError
from components.core.io import read_json, sha256_files, write_json
from components.core.pipeline import StepContext
from components.core.seeding import derive_seed

FIX_PREPARE = "rerun `paperflows run clustermim --step prepare` with the same params and profile"
FIX_TRAIN = "rerun `paperflows run clustermim --step train` with the same params and profile"


def run_seed(p, i: int) -> int:
    """The seed of seed index i, shared by every condition (paired comparisons)."""
    return derive_seed(p.seed, "run", i)


def wave1_tokenizers(p) -> list:
    from components.clustermim.params import parse_condition
    from components.clustermim.tokenizers import TokSpec

    out = []
    for c in p.pretrain.conditions:
        kind, K = parse_condition(c)
        if kind in ("pix", "hog", "oracle", "random"):
            out.append(TokSpec(c, kind, K))
    return out


def tcas_rows(tid: str, kind: str, K: int, tokens: np.ndarray, labels: np.ndarray, n_classes: int, split: str,
              assign: str, meta: dict) -> dict:
    from components.clustermim.tcas import tcas_recon, usage

    u = usage(tokens, K)
    inertia = meta.get("inertia") or []
    return {"id": tid, "kind": kind, "K": K, "split": split, "assign": assign, "definition": "tcas_recon",
            "tcas_recon": tcas_recon(tokens, labels, K, n_classes), "token_entropy": u["token_entropy"],
            "dead_tokens": u["dead_tokens"], "kmeans_inertia_first": float(inertia[0]) if inertia else float("nan"),
            "kmeans_inertia": float(inertia[-1]) if inertia else float("nan"),
            "tokenizer_seconds": float(meta.get("seconds", float("nan")))}


def save_tokenizer(folder: Path, built: dict, spec, seed: int, extra: dict | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if built.get("centres") is not None:
        np.save(folder / "centres.npy", built["centres"])
    np.savez(folder / "tokens.npz", train=built["tokens_train"], test=built["tokens_test"])
    write_json(folder / "meta.json", {"id": spec.id, "kind": spec.kind, "K": spec.K, "seed": seed,
                                      **built["meta"], **(extra or {})})


def prepare(ctx: StepContext) -> None:
    """Load digits (or shapes16 / an ImageFolder), split, validate (GX on per-image summaries), normalise; fit
    the wave-1 tokenizers on the un-augmented train patches; token maps, TCAS, usage entropy, dead tokens."""
    import pandas as pd

    from components.clustermim import data as D
    from components.clustermim import tokenizers as T
    from components.core.io import write_parquet
    from components.core.validation import validate_and_log

    p = ctx.params
    out = ctx.outputs["prepared"]
    raw = D.build_dataset(p.data, p.seed)
    n_classes = int(max(raw["y_train"].max(), raw["y_test"].max()) + 1)
    frac = np.bincount(np.concatenate([raw["y_train"], raw["y_test"]]), minlength=n_classes)
    frac = frac / frac.sum()

    def suites():
        for split in ("train", "test"):
            y = raw[f"y_{split}"]
            frame = D.summary_frame(raw[f"x_{split}"], y, split)
            expected = {c: int(round(frac[c] * len(y))) for c in range(n_classes)}
            yield f"clustermim-{split}", frame, D.expectations(frame, n_classes, p.data.image_size, expected)

    (out / "images").mkdir(parents=True, exist_ok=True)
    reports = validate_and_log(ctx, suites(), out / "images")
    ds, stats = D.normalise(raw)
    for split in ("train", "test"):
        np.savez(out / "images" / f"{split}.npz", x=ds[f"x_{split}"], y=ds[f"y_{split}"])
    write_json(out / "images" / "stats.json", {**stats, "dataset": p.data.dataset, "n_classes": n_classes,
                                               "n_train": len(ds["y_train"]), "n_test": len(ds["y_test"]),
                                               "train_counts": np.bincount(ds["y_train"]).tolist(),
                                               "test_counts": np.bincount(ds["y_test"]).tolist()})
    rows = []
    tok_seed = derive_seed(p.seed, "tokenizer")
    for spec in ctx.progress(wave1_tokenizers(p), "tokenizers"):
        try:
            built = T.build_tokenizer(spec, ds["x_train"], ds["y_train"], ds["x_test"], n_classes, p.data.patch,
                                      p.tokenizers, tok_seed)
        except ValueError as exc:
            raise UserError(f"clustermim.pretrain.conditions: {exc}", "choose K values the data can support") from None
        if spec.kind == "oracle":
            built["tokens_test"] = built.pop("tokens_test_fn")(ds["x_test"], ds["y_test"])
        save_tokenizer(out / "tokenizers" / spec.id, built, spec, tok_seed)
        for split in ("train", "test"):
            rows.append(tcas_rows(spec.id, spec.kind, spec.K, built[f"tokens_{split}"], ds[f"y_{split}"], n_classes,
                                  split, "l2", built["meta"]))
        if spec.id == p.tokenizers.cosine_variant and "tokens_train_cos" in built:
            rows.append(tcas_rows(spec.id, spec.kind, spec.K, built["tokens_train_cos"], ds["y_train"], n_classes,
                                  "train", "cosine", built["meta"]))
    tcas = pd.DataFrame(rows)
    write_parquet(out / "tokenizers" / "tcas.parquet", tcas)
    write_json(out / "meta.json", {"profile": ctx.profile, "seed": p.seed, "dataset": p.data.dataset,
                                   "tokenizers": [s.id for s in wave1_tokenizers(p)], "sha256": sha256_files(out)})
    if ctx.run:
        ctx.run.log_metrics({"n_train": len(ds["y_train"]), "n_test": len(ds["y_test"]), "n_tokenizers": len(tcas)})
        ctx.run.log_dict(tcas.to_dict("records"), "tcas.json")
    ctx.log(f"{p.data.dataset}: {len(ds['y_train'])} train / {len(ds['y_test'])} test; {len(reports)} suites passed; "
            f"{len(wave1_tokenizers(p))} tokenizers")


def _check_prepared(p, prepared: Path, profile: str) -> dict:
    from components.core.io import verify_sha256

    meta_path = prepared / "meta.json"
    meta = read_json(meta_path) if meta_path.exists() else None
    want = [s.id for s in wave1_tokenizers(p)]
    if meta is None or meta.get("seed") != p.seed or meta.get("tokenizers") != want or meta.get("profile") != profile:
        raise UserError(f"{prepared} was prepared with other params or another profile", FIX_PREPARE)
    verify_sha256(prepared, meta["sha256"], FIX_PREPARE)
    return meta


def _child(ctx, name: str, params: dict):
    if not ctx.run:
        return None
    child = ctx.run.start_child(name, {"condition": params["condition"]})
    child.log_params(params)
    return child


def _run_params(p, cond: str, seed_index: int, seed: int) -> dict:
    from components.clustermim.params import parse_condition

    kind, K = parse_condition(cond)
    return {"condition": cond, "tokenizer": kind, "K": K, "token_distance": "l2" if K else "none",
            "mask_ratio": p.pretrain.mask_ratio, "epochs": p.pretrain.epochs, "blr": p.pretrain.blr,
            "lr": p.pretrain.blr * p.pretrain.batch / 256, "wd": p.pretrain.wd, "seed_index": seed_index, "seed": seed,
            **{f"model.{k}": v for k, v in p.model.model_dump().items()}}


def _fan(ctx, fn, jobs, desc, children):
    try:
        return ctx.fan_out(fn, jobs, desc, cost=lambda j: 3.0 if "teach" in j.cond or "hog" in j.cond else 1.0)
    except BaseException:
        for c in filter(None, children):
            c.finish("FAILED")
        raise


def train(ctx: StepContext) -> None:
    """Pre-train every condition × seed in two fanned-out waves; between them fit the per-seed teacher
    tokenizers (k-means on the frozen same-seed `mae` encoder's patch features)."""
    from dataclasses import replace

    import pandas as pd
    import torch

    from components.clustermim import tokenizers as T
    from components.clustermim.params import parse_condition
    from components.clustermim.training import PretrainJob, load_encoder, load_prepared, pretrain_batch
    from components.core.io import write_parquet

    p = ctx.params
    prepared, out = ctx.inputs["prepared"], ctx.outputs["models"]
    _check_prepared(p, prepared, ctx.profile)
    dumped = p.model_dump()
    seeds = [(i, run_seed(p, i)) for i in range(p.pretrain.seeds)]
    wave1 = [c for c in p.pretrain.conditions if not c.startswith("teach_")]
    wave2 = [c for c in p.pretrain.conditions if c.startswith("teach_")]
    results, children = [], []

    def launch(conds, extra=lambda c, i: {}):
        jobs = []
        for c in conds:
            for i, s in seeds:
                child = _child(ctx, f"{c}/s{i}", _run_params(p, c, i, s))
                children.append(child)
                jobs.append(PretrainJob(c, i, s, str(prepared), str(out), dumped, ref=child.ref() if child else None,
                                        **extra(c, i)))
        res = _fan(ctx, pretrain_batch, jobs, f"pre-train ({len(jobs)} runs)", children)
        return [{**r, "run_id": (j.ref or {}).get("run_id")} for r, j in zip(res, jobs)]

    ctx.log(f"wave 1: {len(wave1)} conditions × {len(seeds)} seeds")
    results += launch(wave1)
    tcas_rows_ = []
    if wave2:
        from components.clustermim.steps import save_tokenizer, tcas_rows

        d = load_prepared(prepared)
        n_classes = int(max(d["y_train"].max(), d["y_test"].max()) + 1)
        from components.clustermim.data import patchify

        for i, s in seeds:
            enc = load_encoder(out / "mae" / f"s{i}" / "encoder.pt", p)
            enc.eval()
            for prm in enc.parameters():
                prm.requires_grad_(False)
            with torch.no_grad():
                ftr = enc(patchify(torch.as_tensor(d["x_train"]), p.data.patch))[:, 1:].numpy().astype(np.float64)
                fte = enc(patchify(torch.as_tensor(d["x_test"]), p.data.patch))[:, 1:].numpy().astype(np.float64)
                again = enc(patchify(torch.as_tensor(d["x_train"][:8]), p.data.patch))[:, 1:].numpy()
            if not np.array_equal(again, ftr[:8].astype(np.float32)):
                raise RuntimeError("the frozen teacher is not deterministic (C-D2)")
            for c in wave2:
                _, K = parse_condition(c)
                r = T.fit_kmeans(ftr.reshape(-1, ftr.shape[-1]), K, p.tokenizers.kmeans_epochs,
                                 p.tokenizers.kmeans_batch, derive_seed(p.seed, "teacher", i))
                built = {"centres": r["centres"], "meta": {k: r[k] for k in ("inertia", "seconds", "sha256")},
                         "tokens_train": T.assign_l2(ftr, r["centres"]).numpy(),
                         "tokens_test": T.assign_l2(fte, r["centres"]).numpy()}
                spec = T.TokSpec(c, "teach", K)
                save_tokenizer(out / "tokenizers" / f"{c}_s{i}", built, spec, s, {"teacher": f"mae/s{i}"})
                for split in ("train", "test"):
                    tcas_rows_.append(tcas_rows(f"{c}_s{i}", "teach", K, built[f"tokens_{split}"], d[f"y_{split}"],
                                                n_classes, split, "l2", built["meta"]))
        ctx.log(f"wave 2: {len(wave2)} teacher conditions × {len(seeds)} seeds")
        results += launch(wave2, lambda c, i: {"teacher": str(out / "mae" / f"s{i}"),
                                               "centres": str(out / "tokenizers" / f"{c}_s{i}" / "centres.npy")})
    write_parquet(out / "tcas_teacher.parquet", pd.DataFrame(tcas_rows_, columns=[
        "id", "kind", "K", "split", "assign", "definition", "tcas_recon", "token_entropy", "dead_tokens",
        "kmeans_inertia_first", "kmeans_inertia", "tokenizer_seconds"]))
    runs = pd.DataFrame(results)
    logs = []
    for r in results:
        h = pd.read_csv(out / r["cond"] / f"s{r['seed_index']}" / "train_log.csv")
        logs.append(h.assign(cond=r["cond"], seed_index=r["seed_index"]))
    pd.concat(logs).to_csv(out / "train_log.csv", index=False)
    runs.to_csv(out / "runs.csv", index=False)
    write_json(out / "meta.json", {"profile": ctx.profile, "seed": p.seed, "conditions": p.pretrain.conditions,
                                   "seeds": p.pretrain.seeds})
    for c in filter(None, children):
        c.finish()
    if ctx.run:
        ctx.run.log_metrics({"n_runs": len(runs), "pretrain_seconds_total": float(runs.pretrain_seconds.sum())})
    ctx.timings["pretrain_seconds_total"] = float(runs.pretrain_seconds.sum())
    ctx.log(f"{len(runs)} runs; worker seconds {runs.pretrain_seconds.sum():.0f}")


def evaluate(ctx: StepContext) -> None:
    """Linear probe + kNN for every encoder and the two references; short fine-tuning; final metrics to the
    nested runs."""
    import pandas as pd

    from components.clustermim.evaluation import ProbeJob, eval_batch
    from components.clustermim.training import FinetuneJob
    from components.core.io import write_parquet

    p = ctx.params
    prepared, models = ctx.inputs["prepared"], ctx.inputs["models"]
    _check_prepared(p, prepared, ctx.profile)
    meta = read_json(models / "meta.json") if (models / "meta.json").exists() else {}
    if meta.get("conditions") != p.pretrain.conditions or meta.get("seeds") != p.pretrain.seeds \
            or meta.get("seed") != p.seed:
        raise UserError("the trained models differ from the params (data/clustermim/models)", FIX_TRAIN)
    runs = pd.read_csv(models / "runs.csv")
    dumped = p.model_dump()
    jobs: list = []
    for r in runs.itertuples():
        enc = models / r.cond / f"s{r.seed_index}" / "encoder.pt"
        if not enc.exists():
            raise UserError(f"{enc} is missing", FIX_TRAIN)
        jobs.append(ProbeJob(r.cond, r.seed_index, int(r.seed), str(prepared), str(enc), dumped))
    for i in range(p.pretrain.seeds):
        jobs.append(ProbeJob("random_init", i, run_seed(p, i), str(prepared), None, dumped))
    jobs.append(ProbeJob("raw_pixels", 0, run_seed(p, 0), str(prepared), None, dumped))
    ft_children = {}
    for c in p.finetune.conditions:
        for i in range(p.pretrain.seeds):
            child = ctx.run.start_child(f"ft/{c}/s{i}", {"condition": c, "finetune": "true"}) if ctx.run else None
            ft_children[(c, i)] = child
            jobs.append(FinetuneJob(c, i, run_seed(p, i), str(prepared), str(models / c / f"s{i}" / "encoder.pt"),
                                    dumped, ref=child.ref() if child else None))
    try:
        res = ctx.fan_out(eval_batch, jobs, f"evaluate ({len(jobs)} jobs)",
                          cost=lambda j: 8.0 if isinstance(j, FinetuneJob) else 1.0)
    except BaseException:
        for c in filter(None, ft_children.values()):
            c.finish("FAILED")
        raise
    probe = pd.DataFrame([r for r in res if "lp_top1_cls" in r])
    ft = pd.DataFrame([r for r in res if "ft_top1" in r], columns=["cond", "seed_index", "ft_top1", "ft_seconds"])
    write_parquet(ctx.outputs["eval"], probe)
    write_parquet(ctx.outputs["ft"], ft)
    for c in filter(None, ft_children.values()):
        c.finish()
    if ctx.run:
        tcas = pd.concat([pd.read_parquet(prepared / "tokenizers" / "tcas.parquet"),
                          pd.read_parquet(models / "tcas_teacher.parquet")])
        tr = tcas[(tcas["split"] == "train") & (tcas["assign"] == "l2")].set_index("id")
        for r in runs.itertuples():
            m = probe[(probe.cond == r.cond) & (probe.seed_index == r.seed_index)].iloc[0]
            vals = {k: float(m[k]) for k in ("lp_top1_cls", "lp_top1_mean", "knn_top1")}
            f = ft[(ft.cond == r.cond) & (ft.seed_index == r.seed_index)]
            if len(f):
                vals["ft_top1"] = float(f.ft_top1.iloc[0])
            tid = f"{r.cond}_s{r.seed_index}" if r.cond.startswith("teach_") else r.cond
            if tid in tr.index:
                t = tr.loc[tid]
                vals.update({k: float(t[k]) for k in ("tcas_recon", "token_entropy", "dead_tokens", "kmeans_inertia",
                                                      "tokenizer_seconds") if t[k] == t[k]})
            vals["pretrain_seconds"] = float(r.pretrain_seconds)
            ctx.run.reopen(r.run_id).log_metrics(vals)
    ctx.log(f"{len(probe)} probes, {len(ft)} fine-tunes")


def report(ctx: StepContext) -> None:
    from components.clustermim.report import build_report

    build_report(ctx, ctx.params)


__all__ = ["prepare", "train", "evaluate", "report"]
