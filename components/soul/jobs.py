"""Worker-side functions for ``ctx.executor.map`` (module level, picklable inputs and outputs).

Each sets one torch thread first (2 threads make small ops 10–150× slower on 2 cores), loads what it
needs from disk and writes its outputs atomically, so a crashed batch leaves no half model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from components.core.io import atomic_dir
from components.core.tracking import TrackedRun


def _setup_worker() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    from components.soul.model import quiet_transformers

    quiet_transformers()


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


def finetune(job: FinetuneJob) -> dict:
    """Fine-tune the base model on one split (original: forget ∪ retain; retain_s*: retain only)."""
    _setup_worker()
    import time

    from components.soul.data import load_split
    from components.soul.model import fit_lm, load_model
    from components.soul.tokenizer import load_tokenizer

    start = time.perf_counter()
    tok = load_tokenizer(job.tok_dir)
    model = load_model(job.base_dir)
    model.train()
    loss = fit_lm(model, tok, load_split(Path(job.corpus_dir), job.split), job.epochs, job.lr, job.wd,
                  job.batch_size, job.seed, run=TrackedRun.from_ref(job.run))
    with atomic_dir(job.out_dir) as tmp:
        model.save_pretrained(str(tmp))
    return {"name": job.name, "final_loss": loss, "train_seconds": time.perf_counter() - start}


@dataclass(frozen=True)
class UnlearnBatch:
    runs: tuple[dict, ...]
    original_dir: str
    tok_dir: str
    corpus_dir: str
    out_root: str
    unlearn: dict  # soul.unlearn as a plain dict


def unlearn_batch(batch: UnlearnBatch) -> list[dict]:
    """Run each unlearning config of the batch from the original model; save weights + train_log.csv."""
    _setup_worker()
    import copy
    import time

    import pandas as pd

    from components.soul.data import load_split
    from components.soul.model import load_model
    from components.soul.params import UnlearnParams
    from components.soul.tokenizer import load_tokenizer
    from components.soul.unlearn import unlearn

    u = UnlearnParams.model_validate(batch.unlearn)
    tok = load_tokenizer(batch.tok_dir)
    original = load_model(batch.original_dir)
    forget = load_split(Path(batch.corpus_dir), "forget")
    retain = load_split(Path(batch.corpus_dir), "retain")
    results = []
    for cfg in batch.runs:
        start = time.perf_counter()
        model = copy.deepcopy(original)
        log = unlearn(model, tok, forget, retain, cfg, u)
        seconds = time.perf_counter() - start
        with atomic_dir(Path(batch.out_root) / cfg["run_id"]) as tmp:
            model.save_pretrained(str(tmp))
            pd.DataFrame(log).to_csv(tmp / "train_log.csv", index=False)
        results.append({"run_id": cfg["run_id"], "log": log, "train_seconds": seconds})
    return results


@dataclass(frozen=True)
class EvalBatch:
    models: tuple[tuple[str, str], ...]  # (name, model dir)
    tok_dir: str
    corpus_dir: str
    evaluate: dict


def evaluate_batch(batch: EvalBatch) -> list[tuple[str, dict, dict]]:
    """Score each model of the batch: (name, scalar metrics, per-item arrays)."""
    _setup_worker()
    from components.soul.data import EVAL_SPLITS, load_split
    from components.soul.evaluation import evaluate_model
    from components.soul.model import load_model
    from components.soul.params import EvaluateParams
    from components.soul.tokenizer import load_tokenizer

    ev = EvaluateParams.model_validate(batch.evaluate)
    tok = load_tokenizer(batch.tok_dir)
    data = {s: load_split(Path(batch.corpus_dir), s) for s in (*EVAL_SPLITS, "heldout")}
    out = []
    for name, path in batch.models:
        scalars, items = evaluate_model(load_model(path), tok, data, ev)
        out.append((name, scalars, {k: v.tolist() for k, v in items.items()}))
    return out
