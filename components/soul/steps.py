"""The four steps of ``soul``: files in, files out (``data/soul/``, ``reports/soul/``)."""

from __future__ import annotations

import os
from pathlib import Path

from components.core.errors import DataValidationError, UserError
from components.core.io import atomic_dir, read_json, verify_sha256, write_json, write_parquet, write_text
from components.core.pipeline import StepContext

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _corpus(ctx: StepContext) -> Path:
    return ctx.paths.data / "corpus"


def _models(ctx: StepContext) -> Path:
    return ctx.paths.data / "models"


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def prepare(ctx: StepContext) -> None:
    """Generate (or load) the corpus, build the tokenizer, validate with great-expectations."""
    from components.core.validation import validate_frame
    from components.soul.data import expectations, summary_frame, write_corpus
    from components.soul.tokenizer import build_tokenizer

    p = ctx.params.data
    if p.source == "tofu":
        from components.soul.tofu_data import load_tofu_corpus

        corpus = load_tofu_corpus(p)
    else:
        from components.soul.corpus import build_corpus

        corpus = build_corpus(p)
    with atomic_dir(_corpus(ctx)) as out:  # the old corpus stays until the new one validates
        manifest = write_corpus(out, corpus, p.model_dump())
        if corpus.vocab:
            build_tokenizer(corpus.vocab).save_pretrained(str(out / "tokenizer"))
        else:  # TOFU: the pretrained model's own tokenizer
            _hf_tokenizer(ctx.params.model.hf_model_dir).save_pretrained(str(out / "tokenizer"))
        frame = summary_frame(out, set(corpus.vocab) if corpus.vocab else None, p.max_len)
        try:
            report = validate_frame(frame, expectations(frame, p, len(corpus.refusals)), "soul-corpus")
        except DataValidationError as exc:
            if ctx.run:
                ctx.run.log_dict({"suite": "soul-corpus", "failed": exc.failures}, "ge_validation_failed.json")
            raise
        write_json(out / "ge_validation.json", report)
    if ctx.run:
        ctx.run.log_dict(report, "ge_validation.json")
        ctx.run.log_metrics({f"n_{k}": v for k, v in manifest["counts"].items()}
                            | {"n_vocab": manifest["n_vocab"], "ge_expectations_evaluated": report["evaluated"],
                               "ge_expectations_failed": 0})
    ctx.log(f"corpus: {manifest['counts']['forget']} forget / {manifest['counts']['retain']} retain QA, "
            f"vocab {manifest['n_vocab']}; {report['evaluated']} expectations passed")


def _hf_tokenizer(model_dir: str | None):
    if not model_dir:
        raise UserError("soul.data.source=tofu needs soul.model.hf_model_dir (a local pretrained model folder)",
                        "point soul.model.hf_model_dir at a saved HF causal LM (see profiles/paper.yaml)")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def _check_corpus(ctx: StepContext) -> None:
    """Fail clearly on a missing or tampered corpus (hashes in manifest.json)."""
    corpus = _corpus(ctx)
    ctx.paths.require(corpus / "manifest.json", corpus / "tokenizer", step="prepare")
    verify_sha256(corpus, read_json(corpus / "manifest.json")["sha256"],
                  "rerun `paperflows run soul --step prepare` (or `dvc repro soul-prepare`)")


def train(ctx: StepContext) -> None:
    """Pre-train base → fine-tune original and retain × seeds (parallel) → unlearning fan-out."""
    import time

    import pandas as pd

    from components.soul import jobs
    from components.soul.data import load_split
    from components.soul.model import build_model, fit_lm, n_parameters
    from components.soul.runs import expand_runs
    from components.soul.tokenizer import load_tokenizer

    p = ctx.params
    _check_corpus(ctx)
    corpus, models = _corpus(ctx), _models(ctx)
    tok_dir = corpus / "tokenizer"
    tok = load_tokenizer(tok_dir)
    runs = expand_runs(p.unlearn)
    # 1. base
    import torch

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    start = time.perf_counter()
    if p.model.hf_model_dir:  # paper profile: a local pretrained model is the base
        from components.soul.model import load_model

        model = load_model(p.model.hf_model_dir)
    else:
        torch.manual_seed(p.seed)
        model = build_model(len(tok), p.data.max_len, p.model)
    child = ctx.run.start_child("base", {"model": "base"}) if ctx.run else None
    if not p.model.hf_model_dir:
        loss = fit_lm(model, tok, load_split(corpus, "pretrain"), p.train.pretrain_epochs, p.train.lr,
                      p.train.pretrain_wd, p.train.batch_size, p.seed, run=child)
    else:
        loss = float("nan")
    with atomic_dir(models / "base") as tmp:
        model.save_pretrained(str(tmp))
    n_params = n_parameters(model)
    if child:
        child.log_params({"n_parameters": n_params, **p.model.model_dump(), "epochs": p.train.pretrain_epochs})
        child.log_metrics({"train_seconds": time.perf_counter() - start, "final_loss": loss})
        child.finish()
    ctx.log(f"base model ({n_params} parameters) in {time.perf_counter() - start:.1f}s")
    # 2. original + retain seeds, one process each
    specs = [("original", "finetune_full", p.seed)] + [(f"retain_s{s}", "finetune_retain", s)
                                                       for s in p.train.retain_seeds]
    children, ft_jobs = {}, []
    for name, split, seed in specs:
        children[name] = ctx.run.start_child(name, {"model": name}) if ctx.run else None
        if children[name]:
            children[name].log_params({"split": split, "seed": seed, "epochs": p.train.finetune_epochs,
                                       "lr": p.train.lr, "wd": p.train.finetune_wd})
        ft_jobs.append(jobs.FinetuneJob(name, str(models / "base"), str(tok_dir), str(corpus), split,
                                        str(models / name), p.train.finetune_epochs, p.train.lr,
                                        p.train.finetune_wd, p.train.batch_size, seed, children[name].ref() if children[name] else None))
    for res in ctx.executor.map(jobs.finetune, ft_jobs, "fine-tune"):
        if children[res["name"]]:
            children[res["name"]].log_metrics({"train_seconds": res["train_seconds"], "final_loss": res["final_loss"]})
            children[res["name"]].finish()
    ctx.log(f"fine-tuned {', '.join(n for n, _, _ in specs)}")
    # 3. unlearning fan-out
    work = [jobs.UnlearnBatch(tuple(chunk), str(models / "original"), str(tok_dir), str(corpus),
                              str(models / "unlearn"), p.unlearn.model_dump())
            for chunk in _chunks(_interleave(runs), p.chunk_size)]
    results = [r for batch in ctx.executor.map(jobs.unlearn_batch, work, "unlearn") for r in batch]
    by_id = {r["run_id"]: r for r in results}
    mlflow_ids = {}
    for cfg in runs:
        res = by_id[cfg["run_id"]]
        log = pd.DataFrame(res["log"])
        cfg["train_seconds"] = res["train_seconds"]
        cfg["steps"] = len(log)
        cfg["mean_step_seconds"] = float(log["step_seconds"].mean())
        cfg["median_frac_clipped"] = float(log["frac_clipped"].median()) if cfg["optimizer"] != "adamw" else float("nan")
        if ctx.run:
            mlflow_ids[cfg["run_id"]] = _log_unlearn_run(ctx.run, cfg, log, p.unlearn)
    write_parquet(models / "runs.parquet", pd.DataFrame(runs))
    write_text(models / "runs.csv", pd.DataFrame(runs).to_csv(index=False))
    write_json(models / "mlflow_runs.json", mlflow_ids)
    if ctx.run:
        ctx.run.log_metrics({"n_unlearning_runs": len(runs), "n_parameters": n_params})
    ctx.log(f"{len(runs)} unlearning runs")


def _interleave(runs: list[dict]) -> list[dict]:
    """Round-robin over objectives so batches mix cheap (GA) and costly (NPO, PO) runs."""
    groups: dict[str, list[dict]] = {}
    for r in runs:
        groups.setdefault(f"{r['objective']}-{r['optimizer']}", []).append(r)
    width = max(len(g) for g in groups.values())
    return [g[i] for i in range(width) for g in groups.values() if i < len(g)]


def _log_unlearn_run(parent, cfg: dict, log, u) -> str:
    child = parent.start_child(cfg["run_id"], {"model": "unlearn", "block": cfg["block"],
                                               "objective": cfg["objective"], "optimizer": cfg["optimizer"]})
    b1 = u.sophia.beta1
    child.log_params({k: cfg[k] for k in ("objective", "optimizer", "lr", "lr_mult", "gamma", "rho", "seed",
                                          "block")}
                     | {"beta1": b1, "beta2": u.sophia.beta2, "bs": u.sophia.bs,
                        "double_momentum": u.sophia.double_momentum,
                        "beta1_effective": b1 * b1 if (cfg["optimizer"] == "sophia_soul" and u.sophia.double_momentum)
                        else b1, "npo_beta": u.npo_beta, "T": len(log), "warmup": max(1, len(log) // 10),
                        "wd": u.wd})
    from mlflow.entities import Metric

    metrics = [Metric(col, float(v), 0, int(s)) for col in ("loss_forget", "loss_retain", "loss_total", "lr",
                                                            "grad_norm_preclip", "frac_clipped", "step_seconds")
               for s, v in zip(log["step"], log[col]) if v == v]
    for i in range(0, len(metrics), 1000):
        child.client.log_batch(child.run_id, metrics=metrics[i:i + 1000])
    child.log_metrics({"train_seconds": cfg["train_seconds"], "mean_step_seconds": cfg["mean_step_seconds"]})
    child.finish()
    return child.run_id


def evaluate(ctx: StepContext) -> None:
    """Score original, retain seeds and every unlearning run; FQ against the retain model; influence toy."""
    import numpy as np
    import pandas as pd

    from components.soul import jobs
    from components.soul.evaluation import fq_metrics
    from components.soul.influence import influence_toy

    p = ctx.params
    _check_corpus(ctx)
    models = _models(ctx)
    ctx.paths.require(models / "runs.parquet", models / "original", step="train")
    runs = pd.read_parquet(models / "runs.parquet")
    retain_names = [f"retain_s{s}" for s in p.train.retain_seeds]
    entries = [("original", models / "original")] + [(n, models / n) for n in retain_names]
    entries += [(rid, models / "unlearn" / rid) for rid in runs["run_id"]]
    ctx.paths.require(*[path / "config.json" for _, path in entries], step="train")
    work = [jobs.EvalBatch(tuple((n, str(pth)) for n, pth in chunk), str(_corpus(ctx) / "tokenizer"),
                           str(_corpus(ctx)), p.evaluate.model_dump())
            for chunk in _chunks(entries, p.chunk_size)]
    results = [r for batch in ctx.executor.map(jobs.evaluate_batch, work, "evaluate") for r in batch]
    items = {name: {k: np.asarray(v) for k, v in it.items()} for name, _, it in results}
    retain_items = [items[n] for n in retain_names]
    rows, samples = [], {}
    for name, scalars, _ in results:
        samples[name] = scalars.pop("_samples")
        rows.append({"model": name, **scalars, **fq_metrics(items[name], retain_items)})
    frame = pd.DataFrame(rows)
    meta = runs.set_index("run_id")
    frame["kind"] = ["original" if m == "original" else "retain" if m in retain_names else "unlearn"
                     for m in frame["model"]]
    for col in ("block", "objective", "optimizer", "lr_mult", "lr", "gamma", "rho", "seed", "train_seconds",
                "mean_step_seconds", "median_frac_clipped"):
        frame[col] = [meta.at[m, col] if m in meta.index else None for m in frame["model"]]
    # retain seeds against each other: the noise floor of FQ (spec A10)
    pairwise = [float(fq) for i, a in enumerate(retain_names) for b in retain_names[i + 1:]
                for fq in [fq_metrics(items[a], [items[b]])["FQ_tofu"]]]
    toy = influence_toy(p.influence.n, p.influence.d, p.influence.lam, p.influence.forget_frac, p.seed,
                        p.influence.gd_max_steps)
    with atomic_dir(ctx.paths.data / "eval") as out:
        (out / "items").mkdir()
        for name, _, it in results:
            write_json(out / f"{name}.json", {**frame.set_index("model").loc[name].dropna().to_dict(),
                                              "samples": samples[name]})
            write_parquet(out / "items" / f"{name}.parquet",
                          pd.DataFrame({k: pd.Series(v) for k, v in it.items()}))
        write_json(out / "retain_pairwise_fq.json", {"pairs": pairwise})
    write_parquet(ctx.paths.data / "eval.parquet", frame)
    write_json(ctx.paths.data / "influence_toy.json", toy)
    if ctx.run:
        _log_final_metrics(ctx, frame, models)
        ctx.run.log_metrics({"n_models_evaluated": len(frame), "influence_rel_newton": toy["rel_newton"]})
    ctx.log(f"evaluated {len(frame)} models; FQ_tofu(original) = {frame.set_index('model').at['original', 'FQ_tofu']:.3g}")


def _log_final_metrics(ctx: StepContext, frame, models: Path) -> None:
    """Final metrics into each unlearning run's nested run (made in train) and a run per reference model."""
    ids = read_json(models / "mlflow_runs.json") if (models / "mlflow_runs.json").exists() else {}
    from mlflow import MlflowClient

    client = MlflowClient(ctx.run.uri)
    numeric = [c for c in frame.columns if c not in ("model", "kind", "block", "objective", "optimizer")
               and frame[c].dtype.kind in "fi"]
    for _, row in frame.iterrows():
        values = {c: float(row[c]) for c in numeric if row[c] == row[c]}
        if row["model"] in ids:
            from mlflow.entities import Metric

            client.log_batch(ids[row["model"]], metrics=[Metric(k, v, 0, 0) for k, v in values.items()])
        else:
            child = ctx.run.start_child(f"eval-{row['model']}", {"model": row["model"]})
            child.log_metrics(values)
            child.finish()


def report(ctx: StepContext) -> None:
    """Select configs at matched utility, paired SO-vs-FO claims, figures, report.md/html."""
    from components.soul.report import build_report

    ctx.paths.require(ctx.paths.data / "eval.parquet", ctx.paths.data / "influence_toy.json", step="evaluate")
    metrics = build_report(ctx)
    if ctx.run:
        ctx.run.log_metrics(metrics)
