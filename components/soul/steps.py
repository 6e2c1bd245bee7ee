"""The four steps of ``soul``: declared inputs in, declared (staged) outputs out — see ``pipeline.py``."""

from __future__ import annotations

import os
from pathlib import Path

from components.core.errors import UserError
from components.core.io import read_json, verify_sha256, write_json, write_parquet, write_text
from components.core.pipeline import StepContext

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

def prepare(ctx: StepContext) -> None:
    """Generate (or load) the corpus, build the tokenizer, validate with great-expectations."""
    from components.core.validation import validate_and_log
    from components.soul.data import expectations, summary_frame, write_corpus
    from components.soul.tokenizer import build_tokenizer

    p = ctx.params.data.model_copy(update={"seed": ctx.params.data.seed + ctx.seed})  # corpus seed (params.py)
    if p.source == "tofu":
        from components.soul.tofu_data import load_tofu_corpus

        corpus = load_tofu_corpus(p)
    else:
        from components.soul.corpus import build_corpus

        corpus = build_corpus(p)
    out = ctx.outputs["corpus"]  # staged: published only if the corpus validates
    manifest = write_corpus(out, corpus, p.model_dump())
    word_level = bool(corpus.vocab) and not ctx.params.model.smollm2
    if ctx.params.model.smollm2:  # a pretrained LM reads the corpus with its own (BPE) tokenizer
        from components.soul.tokenizer import smollm2_tokenizer

        smollm2_tokenizer().save_pretrained(str(out / "tokenizer"))
    elif word_level:
        build_tokenizer(corpus.vocab).save_pretrained(str(out / "tokenizer"))
    else:  # TOFU: the pretrained model's own tokenizer
        _hf_tokenizer(ctx.params.model.hf_model_dir).save_pretrained(str(out / "tokenizer"))
    frame = summary_frame(out, set(corpus.vocab) if word_level else None, p.max_len)
    reports = validate_and_log(ctx, {"soul-corpus": (frame, expectations(frame, p, len(corpus.refusals)))}, out)
    if ctx.run:
        ctx.run.log_metrics({f"n_{k}": v for k, v in manifest["counts"].items()} | {"n_vocab": manifest["n_vocab"]})
    ctx.log(f"corpus (seed {p.seed}): {manifest['counts']['forget']} forget / {manifest['counts']['retain']} "
            f"retain QA, vocab {manifest['n_vocab']}; {reports[0]['evaluated']} expectations passed")


def _hf_tokenizer(model_dir: str | None):
    if not model_dir:
        raise UserError("soul.data.source=tofu needs soul.model.hf_model_dir (a local pretrained model folder)",
                        "point soul.model.hf_model_dir at a saved HF causal LM (see profiles/paper.yaml)")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def _checked_corpus(ctx: StepContext) -> Path:
    """The declared corpus, failing clearly when it was tampered with (hashes in manifest.json)."""
    corpus = ctx.inputs["corpus"]
    verify_sha256(corpus, read_json(corpus / "manifest.json")["sha256"],
                  "rerun `paperflows run soul --step prepare` (or `dvc repro soul-prepare`)")
    return corpus


def train(ctx: StepContext) -> None:
    """Pre-train base → fine-tune original and retain × seeds (parallel) → unlearning fan-out."""
    import time

    import pandas as pd
    import torch

    from components.soul import jobs
    from components.soul.data import load_split
    from components.soul.model import build_model, fit_lm, n_parameters
    from components.soul.runs import expand_runs
    from components.soul.tokenizer import load_tokenizer

    p = ctx.params
    corpus = _checked_corpus(ctx)
    models = ctx.outputs["models"]
    tok_dir = corpus / "tokenizer"
    tok = load_tokenizer(tok_dir)
    runs = expand_runs(p.unlearn, ctx.seed)
    # 1. base
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    start = time.perf_counter()
    pretrained = bool(p.model.hf_model_dir) or p.model.smollm2
    if p.model.smollm2:  # issue 13 item 5: SmolLM2-135M from the wheel is the base
        from components.soul.model import smollm2

        model = smollm2()[0]
    elif p.model.hf_model_dir:  # paper profile: a local pretrained model is the base
        from components.soul.model import load_model

        model = load_model(p.model.hf_model_dir)
    else:
        torch.manual_seed(ctx.seed)
        model = build_model(len(tok), p.data.max_len, p.model)
    child = ctx.run.start_child("base", {"model": "base"}) if ctx.run else None
    if not pretrained:
        loss = fit_lm(model, tok, load_split(corpus, "pretrain"), p.train.pretrain_epochs, p.train.lr,
                      p.train.pretrain_wd, p.train.batch_size, ctx.seed, run=child)
    else:
        loss = float("nan")
    model.save_pretrained(str(models / "base"))
    n_params = n_parameters(model)
    if child:
        child.log_params({"n_parameters": n_params, **p.model.model_dump(), "epochs": p.train.pretrain_epochs})
        child.log_metrics({"train_seconds": time.perf_counter() - start, "final_loss": loss})
        child.finish()
    ctx.log(f"base model ({n_params} parameters) in {time.perf_counter() - start:.1f}s")
    # 2. original + retain seeds, one task each (retain_s<k> is trained with seed soul.seed + k)
    specs = [("original", "finetune_full", ctx.seed)] + [(f"retain_s{k}", "finetune_retain", ctx.seed + k)
                                                         for k in p.train.retain_seeds]
    children, ft_jobs = {}, []
    for name, split, seed in specs:
        children[name] = ctx.run.start_child(name, {"model": name}) if ctx.run else None
        if children[name]:
            children[name].log_params({"split": split, "seed": seed, "epochs": p.train.finetune_epochs,
                                       "lr": p.train.lr, "wd": p.train.finetune_wd})
        ft_jobs.append(jobs.FinetuneJob(name, str(models / "base"), str(tok_dir), str(corpus), split,
                                        str(models / name), p.train.finetune_epochs, p.train.lr,
                                        p.train.finetune_wd, p.train.batch_size, seed,
                                        children[name].ref() if children[name] else None))
    for res in ctx.fan_out(jobs.finetune_models, ft_jobs, "fine-tune"):
        if children[res["name"]]:
            children[res["name"]].log_metrics({"train_seconds": res["train_seconds"], "final_loss": res["final_loss"]})
            children[res["name"]].finish()
    ctx.log(f"fine-tuned {', '.join(n for n, _, _ in specs)}")
    # 3. unlearning fan-out from the original model
    setup = jobs.UnlearnSetup(str(models / "original"), str(tok_dir), str(corpus), str(models / "unlearn"),
                              p.unlearn.model_dump(), ctx.run.ref() if ctx.run else None,
                              dict(ctx.run.tags) if ctx.run else None)
    results = ctx.fan_out(jobs.unlearn_runs, [(cfg, setup) for cfg in runs], "unlearn",
                          cost=lambda item: jobs.unlearn_cost(item[0]))
    mlflow_ids = {}
    for cfg, res in zip(runs, results):
        cfg.update(res["summary"])
        if res["mlflow_id"]:
            mlflow_ids[cfg["run_id"]] = res["mlflow_id"]
    table = pd.DataFrame(runs)
    write_parquet(ctx.outputs["runs"], table)
    write_text(ctx.outputs["runs_csv"], table.to_csv(index=False))
    write_json(ctx.outputs["mlflow_runs"], mlflow_ids)
    if ctx.run:
        ctx.run.log_metrics({"n_unlearning_runs": len(runs), "n_parameters": n_params})
    ctx.log(f"{len(runs)} unlearning runs")


def evaluate(ctx: StepContext) -> None:
    """Score original, retain seeds and every unlearning run; FQ against the retain model; influence toy."""
    import numpy as np
    import pandas as pd

    from components.soul.evaluation import EvalSetup, evaluate_models, fq_metrics
    from components.soul.influence import influence_toy

    p = ctx.params
    corpus, models = _checked_corpus(ctx), ctx.inputs["models"]
    runs = pd.read_parquet(ctx.inputs["runs"])
    retain_names = [f"retain_s{k}" for k in p.train.retain_seeds]
    entries = [("original", models / "original")] + [(n, models / n) for n in retain_names]
    entries += [(rid, models / "unlearn" / rid) for rid in runs["run_id"]]
    setup = EvalSetup(str(corpus / "tokenizer"), str(corpus), p.evaluate.model_dump())
    results = ctx.fan_out(evaluate_models, [(n, str(path), setup) for n, path in entries], "evaluate")
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
    toy = influence_toy(p.influence.n, p.influence.d, p.influence.lam, p.influence.forget_frac, ctx.seed,
                        p.influence.gd_max_steps)
    out = ctx.outputs["eval"]
    (out / "items").mkdir()
    for name, _, it in results:
        write_json(out / f"{name}.json", {**frame.set_index("model").loc[name].dropna().to_dict(),
                                          "samples": samples[name]})
        write_parquet(out / "items" / f"{name}.parquet", pd.DataFrame({k: pd.Series(v) for k, v in it.items()}))
    write_json(out / "retain_pairwise_fq.json", {"pairs": pairwise})
    write_parquet(ctx.outputs["eval_table"], frame)
    write_json(ctx.outputs["influence"], toy)
    if ctx.run:
        _log_final_metrics(ctx, frame, read_json(ctx.inputs["mlflow_runs"]))
        ctx.run.log_metrics({"n_models_evaluated": len(frame), "influence_rel_newton": toy["rel_newton"]})
    ctx.log(f"evaluated {len(frame)} models; FQ_tofu(original) = {frame.set_index('model').at['original', 'FQ_tofu']:.3g}")


def _log_final_metrics(ctx: StepContext, frame, ids: dict[str, str]) -> None:
    """Final metrics into each unlearning run's nested run (made in train) and a run per reference model."""
    numeric = [c for c in frame.columns if c not in ("model", "kind", "block", "objective", "optimizer")
               and frame[c].dtype.kind in "fi"]
    for _, row in frame.iterrows():
        values = {c: float(row[c]) for c in numeric if row[c] == row[c]}
        if row["model"] in ids:
            ctx.run.reopen(ids[row["model"]]).log_metrics(values)
        else:
            child = ctx.run.start_child(f"eval-{row['model']}", {"model": row["model"]})
            child.log_metrics(values)
            child.finish()


def report(ctx: StepContext) -> None:
    """Select configs at matched utility, paired SO-vs-FO claims, figures, report.md/html."""
    from components.soul.report import build_report

    build_report(ctx)


__all__ = ["prepare", "train", "evaluate", "report"]
