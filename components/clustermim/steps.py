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


def prepare(ctx: StepContext) -> None:
    """Load digits (or shapes16 / an ImageFolder), split, validate (GX on per-image summaries), normalise; fit
    the wave-1 tokenizers on the un-augmented train patches; token maps, TCAS, usage entropy, dead tokens."""
    import pandas as pd

    from components.clustermim import data as D
    from components.clustermim import tokenizers as T
    from components.clustermim.tcas import tcas_rows
    from components.clustermim.tokenizers import save_tokenizer
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


def _fan(ctx, fn, chains, desc, children):
    """One fan-out of chains of runs (a chain runs in order in one worker; its cost is the sum of its runs')."""
    # measured CPU per 20-epoch run: ≈ 10 s (mae, pix, oracle, random), 11 s (hog), 15 s (teach: teacher forward)
    cost = lambda j: 1.5 if "teach" in j.cond else 1.1 if "hog" in j.cond else 1.0  # noqa: E731
    try:
        return ctx.fan_out(fn, chains, desc, cost=lambda ch: sum(cost(j) for j in ch))
    except BaseException:
        for c in filter(None, children):
            c.finish("FAILED")
        raise


def train(ctx: StepContext) -> None:
    """Pre-train every condition × seed in one fan-out. A teacher condition needs the same seed's `mae` encoder,
    so each seed's `mae` run and its `teach_*` runs form one chain in one worker: after `mae` the worker fits the
    per-seed teacher tokenizers (k-means on the frozen encoder's patch features), then pre-trains on them. The
    spec's two waves, without a barrier between them (measured: the barrier, a second worker pool and the serial
    teacher k-means cost ≈ 100 s of a 436 s train step under load)."""
    import pandas as pd

    from components.clustermim.training import PretrainJob, pretrain_batch
    from components.core.io import write_parquet

    p = ctx.params
    prepared, out = ctx.inputs["prepared"], ctx.outputs["models"]
    _check_prepared(p, prepared, ctx.profile)
    dumped = p.model_dump()
    seeds = [(i, run_seed(p, i)) for i in range(p.pretrain.seeds)]
    wave1 = [c for c in p.pretrain.conditions if not c.startswith("teach_")]
    wave2 = [c for c in p.pretrain.conditions if c.startswith("teach_")]
    children = []

    def job(c, i, s, **extra):
        child = _child(ctx, f"{c}/s{i}", _run_params(p, c, i, s))
        children.append(child)
        return PretrainJob(c, i, s, str(prepared), str(out), dumped, ref=child.ref() if child else None, **extra)

    chains = []
    for c in wave1:
        for i, s in seeds:
            chain = [job(c, i, s)]
            if c == "mae":
                chain += [job(t, i, s, teacher=str(out / "mae" / f"s{i}"),
                              centres=str(out / "tokenizers" / f"{t}_s{i}" / "centres.npy")) for t in wave2]
            chains.append(tuple(chain))
    ctx.log(f"{len(wave1)} conditions × {len(seeds)} seeds"
            + (f", then {len(wave2)} teacher conditions after each seed's mae run" if wave2 else ""))
    done = _fan(ctx, pretrain_batch, chains, f"pre-train ({sum(map(len, chains))} runs)", children)
    order = {c: k for k, c in enumerate(p.pretrain.conditions)}
    pairs = sorted(((r, j) for ch, res in zip(chains, done) for r, j in zip(res, ch)),
                   key=lambda rj: (order[rj[1].cond], rj[1].seed_index))
    tcas_rows_ = [row for r, _ in pairs for row in r.pop("tcas_rows", [])]
    results = [{**r, "run_id": (j.ref or {}).get("run_id")} for r, j in pairs]
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
                          cost=lambda j: 11.0 if isinstance(j, FinetuneJob) else 1.0)  # measured ≈ 11 s vs ≈ 1 s
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
