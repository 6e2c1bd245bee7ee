"""The train step's two jobs, run side by side: (i) reader (b) with Lightning, (ii) retrieval indexes
(keyword, TF-IDF, BM25 statistics as npz + JSON; MiniLM document and query embeddings)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from components.core.io import atomic_path, write_json, write_text
from components.core.tracking import TrackedRun
from components.grammar.jsonl import load_jsonl


def run_jobs(jobs: list[dict]) -> list[dict]:
    """``ctx.fan_out`` entry (picklable job dicts): the reader and the indexes, one summary each (fan_out's batch
    call has already limited the worker's threads)."""
    return [train_reader(job) if job["kind"] == "reader" else build_indexes(job) for job in jobs]


def train_reader(job: dict) -> dict:
    import time

    import torch

    from components.core.execution import threads
    from components.core.seeding import seed_everything
    from components.core.training import make_trainer
    from components.grammar import learned_reader as lr

    torch.set_num_threads(threads())  # 1 per process (the stability check may raise it)
    start = time.perf_counter()
    cfg = type("Cfg", (), job["reader"])
    prepared, out = Path(job["prepared"]), Path(job["out"])
    pairs = load_jsonl(prepared / "reader_train.jsonl")
    names = set(json.loads((prepared / "reader_train_names.json").read_text()))
    train = [r for r in pairs if r["split"] == "train" and r["attribute"] == "short"]
    vocab = lr.build_vocab([r["query"] for r in train] + sorted({r["document"] for r in train}), names)
    seed_everything(job["seed"])
    arr, mask, s, e, _, _ = lr.tensorise([(r["query"], r["document"]) for r in train], vocab, cfg.max_len,
                                         [r["answer"] for r in train])
    module = lr.make_module(len(vocab), cfg)
    run = TrackedRun.from_ref(job.get("run"))
    trainer = make_trainer(cfg.epochs, run=run, max_steps=cfg.max_steps)
    trainer.fit(module, lr.loader(arr, mask, s, e, cfg.batch_size, True, job["seed"]))
    module.eval()
    curve = [{"epoch": i, "train_loss": v} for i, v in enumerate(module.epoch_losses)]
    val = {}
    for attr in ("short", "long"):
        rows = [r for r in pairs if r["split"] == "val" and r["attribute"] == attr]
        preds = lr.predict(module, vocab, [(r["query"], r["document"]) for r in rows], cfg.max_len)
        val[f"val_span_f1_{attr}"] = float(np.mean([span_f1(p, r["answer"]) for p, r in zip(preds, rows)]))
        val[f"val_exact_{attr}"] = float(np.mean([lr.words(p.lower()) == lr.words(r["answer"].lower())
                                                  for p, r in zip(preds, rows)]))
    with atomic_path(out / "reader_b.ckpt") as tmp:
        torch.save(module.state_dict(), tmp)
    write_json(out / "reader_b_vocab.json", {"vocab": vocab, "config": dict(job["reader"])})
    write_text(out / "train_curve.csv", "epoch,train_loss\n" + "".join(f"{c['epoch']},{c['train_loss']:.6f}\n"
                                                                       for c in curve))
    metrics = {**val, "n_train_pairs": float(len(train)), "vocab_size": float(len(vocab)),
               "train_seconds": time.perf_counter() - start, "steps": float(trainer.global_step)}
    if run is not None:
        run.log_params(dict(job["reader"]))
        run.log_metrics(metrics)
    return {"kind": "reader", **metrics}


def span_f1(pred: str, gold: str) -> float:
    from collections import Counter

    from components.grammar.learned_reader import words

    p, g = Counter(w.lower() for w in words(pred)), Counter(w.lower() for w in words(gold))
    common = sum((p & g).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def build_indexes(job: dict) -> dict:
    import time

    from components.grammar.retrievers import encode, make_retriever, minilm, save_retriever

    start = time.perf_counter()
    prepared, out = Path(job["prepared"]), Path(job["out"]) / "indexes"
    docs = load_jsonl(prepared / "documents.jsonl")
    texts = [d["text"] for d in docs]
    made = {}
    for name in job["retrievers"]:
        if name == "dense":
            continue
        save_retriever(make_retriever(name, job["bm25_k1"], job["bm25_b"]).fit(texts), out)
        made[name] = 1
    if "dense" in job["retrievers"]:
        queries = sorted({e["query"] for a in job["attributes"] for e in load_jsonl(prepared / f"qa_{a}_balanced.jsonl")})
        model = minilm()
        for name, arr in (("dense_docs", encode(model, texts)), ("dense_queries", encode(model, queries))):
            with atomic_path(out / f"{name}.npy") as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, arr)
        write_json(out / "dense_queries.json", queries)
        made["dense"] = 1
    write_json(out / "doc_ids.json", [d["doc_id"] for d in docs])
    return {"kind": "indexes", "index_seconds": time.perf_counter() - start, "n_indexes": float(len(made))}
