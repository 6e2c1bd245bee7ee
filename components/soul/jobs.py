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
    results = []
    for cfg, setup in batch:
        u, tok, original, forget, retain = per_setup(cache, setup, load)
        start = time.perf_counter()
        model = copy.deepcopy(original)
        log = unlearn(model, tok, forget, retain, cfg, u)
        seconds = time.perf_counter() - start
        out = Path(setup.out_root) / cfg["run_id"]
        model.save_pretrained(str(out))
        pd.DataFrame(log).to_csv(out / "train_log.csv", index=False)
        results.append({"run_id": cfg["run_id"], "log": log, "train_seconds": seconds})
    return results
