"""The train step's batch functions for ``ctx.fan_out`` (module level; a list of items in, one result per item).

Each sets one torch thread first (2 threads make small ops 10–150× slower on 2 cores), loads what a
batch shares once, and writes into the step's staged outputs (published only if the step succeeds).
The evaluate step's batch function lives in ``evaluation.py`` (so each step's code deps stay its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.core.tracking import TrackedRun
from components.soul.model import per_setup, setup_worker


@dataclass(frozen=True)
class FinetuneJob:
    name: str
    base_dir: str
    tok_dir: str
    corpus_dir: str
    split: str
    out_dir: str
    epochs: int
    lr: float
    wd: float
    batch_size: int
    seed: int
    run: dict | None  # TrackedRun.ref() of the model's nested run


def finetune_models(batch: list[FinetuneJob]) -> list[dict]:
    """Fine-tune the base model on each job's split (original: forget ∪ retain; retain_s*: retain only)."""
    setup_worker()
    import time

    from components.soul.data import load_split
    from components.soul.model import fit_lm, load_model
    from components.soul.tokenizer import load_tokenizer

    out = []
    for job in batch:
        start = time.perf_counter()
        tok = load_tokenizer(job.tok_dir)
        model = load_model(job.base_dir)
        model.train()
        loss = fit_lm(model, tok, load_split(Path(job.corpus_dir), job.split), job.epochs, job.lr, job.wd,
                      job.batch_size, job.seed, run=TrackedRun.from_ref(job.run))
        model.save_pretrained(job.out_dir)
        out.append({"name": job.name, "final_loss": loss, "train_seconds": time.perf_counter() - start})
    return out


@dataclass(frozen=True)
class UnlearnSetup:
    """What every unlearning run shares: the original model, tokenizer, corpus, output root and params."""

    original_dir: str
    tok_dir: str
    corpus_dir: str
    out_root: str
    unlearn: dict  # soul.unlearn as a plain dict
    run: dict | None = None  # TrackedRun.ref() of the train step's run: each run's nested run is logged here
    run_tags: dict | None = None  # its provenance tags (commit, profile, step), which ref() does not carry


def unlearn_cost(cfg: dict) -> float:
    """Relative cost of one unlearning run: forward/backward passes per step (load balance of batches)."""
    passes = {"ga": 1.0, "graddiff": 2.0, "npo": 2.5, "po": 2.0, "ga_kl": 2.5, "po_kl": 2.5}[cfg["objective"]]
    if cfg["objective"] != "ga" and cfg["gamma"] == 0:
        passes -= 1.0
    return passes + (0.2 if cfg["optimizer"] == "sophia_ref" else 0.0)  # GNB refresh every k steps


def unlearn_runs(batch: list[tuple[dict, UnlearnSetup]]) -> list[dict]:
    """Run each ``(config, setup)`` from the original model; save weights + train_log.csv under out_root/run_id."""
    setup_worker()
    import copy
    import time

    import pandas as pd

    from components.soul.data import load_split
    from components.soul.model import load_model
    from components.soul.params import UnlearnParams
    from components.soul.tokenizer import load_tokenizer
    from components.soul.unlearn import unlearn

    def load(setup: UnlearnSetup) -> tuple:
        corpus = Path(setup.corpus_dir)
        return (UnlearnParams.model_validate(setup.unlearn), load_tokenizer(setup.tok_dir),
                load_model(setup.original_dir), load_split(corpus, "forget"), load_split(corpus, "retain"))

    cache: dict = {}
    parents: dict = {}
    results = []
    for cfg, setup in batch:
        u, tok, original, forget, retain = per_setup(cache, setup, load)
        start = time.perf_counter()
        model = copy.deepcopy(original)
        log = unlearn(model, tok, forget, retain, cfg, u)
        seconds = time.perf_counter() - start
        out = Path(setup.out_root) / cfg["run_id"]
        model.save_pretrained(str(out))
        frame = pd.DataFrame(log)
        frame.to_csv(out / "train_log.csv", index=False)
        summary = run_summary(cfg, frame, seconds)
        mlflow_id = None
        if setup.run:  # logged here, beside the other worker's compute (SQLite commits were ~0.4 s a run)
            key = setup.run["run_id"]
            if key not in parents:
                parents[key] = TrackedRun.from_ref(setup.run)
                parents[key].tags = dict(setup.run_tags or {})  # nested runs inherit them (start_child)
            mlflow_id = log_unlearn_run(parents[key], {**cfg, **summary}, frame, u, out / "train_log.csv")
        results.append({"run_id": cfg["run_id"], "summary": summary, "mlflow_id": mlflow_id})
    return results


STEP_DIAGNOSTICS = ("loss_forget", "loss_retain", "loss_total", "grad_norm_preclip", "frac_clipped", "step_seconds")


def run_summary(cfg: dict, log, seconds: float) -> dict:
    """The per-run columns of runs.parquet: wall seconds, steps, mean step time, median clipped fraction."""
    return {"train_seconds": seconds, "steps": len(log), "mean_step_seconds": float(log["step_seconds"].mean()),
            "median_frac_clipped": float(log["frac_clipped"].median()) if cfg["optimizer"] != "adamw"
            else float("nan")}


def log_unlearn_run(parent: TrackedRun, cfg: dict, log, u, train_log: Path) -> str:
    """A nested run per unlearning run: its params, the per-step diagnostics (spec §6.4) as metric
    histories plus their summaries, and the full per-step table as the artifact ``train_log.csv``."""
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
    summary = {f"{col}_final": float(log[col].iloc[-1]) for col in STEP_DIAGNOSTICS}
    summary |= {f"{col}_median": float(log[col].median()) for col in STEP_DIAGNOSTICS}
    child.log_metrics({k: v for k, v in summary.items() if v == v}
                      | {"train_seconds": cfg["train_seconds"], "mean_step_seconds": cfg["mean_step_seconds"]})
    history = log.reset_index(drop=True).assign(step=range(len(log)))[["step", *STEP_DIAGNOSTICS]]
    child.log_history(history.to_dict("records"))  # per-step curves in the MLflow UI
    child.log_artifact(train_log)
    child.finish()
    return child.run_id
