"""The evaluate step: retrieval per retriever, RAG systems fanned out (one reader per batch), aggregation
into metrics.csv / diagnosis.json / reference_free.json, nested MLflow runs per system, optional
real-LLM arm and the interoperability re-scoring."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from components.core.io import write_json, write_text
from components.grammar import evaluation
from components.grammar.jsonl import load_jsonl
from components.grammar.rag import SystemJob, run_systems
from components.grammar.retrievers import DenseRetriever, load_retriever, rank

LLM_CACHE = "llm_cache"  # under data/grammar/: LLM replies kept across runs (not a declared output)
COSTLY_READERS = {"learned": 4.0, "llm": 8.0}  # relative cost of a system by reader (rule readers: 1)


def retrieve_all(prepared: Path, train_dir: Path, retrievers: list[str], attributes: list[str], depth: int,
                 out: Path) -> dict[str, float]:
    """Top-``depth`` (doc, score) per query for every retriever, written to ``out/<name>.json``."""
    doc_ids = json.loads((train_dir / "indexes" / "doc_ids.json").read_text())
    examples = [e for a in attributes for e in load_jsonl(prepared / f"qa_{a}_balanced.jsonl")]
    queries = [e["query"] for e in examples]
    top1 = {}
    for name in retrievers:
        if name == "dense":
            idx = train_dir / "indexes"
            qtexts = json.loads((idx / "dense_queries.json").read_text())
            qemb = np.load(idx / "dense_queries.npy")
            retriever = DenseRetriever(np.load(idx / "dense_docs.npy"), dict(zip(qtexts, qemb)))
        else:
            retriever = load_retriever(name, train_dir / "indexes")
        ranked = rank(retriever.scores(queries), doc_ids, depth)
        write_json(out / f"{name}.json", {e["example_id"]: r for e, r in zip(examples, ranked)})
        ok = [r[0][0] in e["true_doc_ids"] for e, r in zip(examples, ranked) if e["true_doc_ids"][0] in doc_ids]
        top1[name] = float(np.mean(ok))
    return top1


def system_jobs(p, prepared: Path, train_dir: Path, retrieval: Path, results: Path, cache: Path) -> list[SystemJob]:
    """Every (retriever, reader) system; costly readers first so their batches start early."""
    jobs = [SystemJob(r, reader, str(prepared), str(train_dir), str(retrieval), str(results), str(cache),
                      p.model_dump())
            for reader in p.evaluate.readers for r in p.retrieval.retrievers]
    return sorted(jobs, key=lambda j: -COSTLY_READERS.get(j.reader, 1.0))


def run_evaluation(ctx) -> None:
    p = ctx.params
    prepared, train_dir = ctx.inputs["prepared"], ctx.inputs["train"]
    retrieval, results_dir = ctx.outputs["retrieval"], ctx.outputs["results"]
    cache = ctx.paths.data / LLM_CACHE  # created by the first LLM cache that saves (rules backends need none)
    depth = max(p.retrieval.top_k, 3)
    top1 = retrieve_all(prepared, train_dir, p.retrieval.retrievers, p.queries.attributes, depth, retrieval)
    jobs = system_jobs(p, prepared, train_dir, retrieval, results_dir, cache)
    per_system = ctx.fan_out(run_systems, jobs, "systems", cost=lambda j: COSTLY_READERS.get(j.reader, 1.0),
                             key=lambda j: j.reader)  # a batch = systems of one reader (the model loads once)
    results = [s for summaries in per_system for s in summaries]
    rows = [r for r in results if "baselines" not in r]
    baselines = {r["system"]: r["baselines"] for r in results if "baselines" in r}
    frame = metrics_frame(rows)
    write_text(ctx.outputs["metrics"], frame.to_csv(index=False))
    diagnosis = diagnose(results_dir, p)
    write_json(ctx.outputs["diagnosis"], diagnosis)
    if p.g6_judge.enabled:
        from components.grammar.faith_judge import run_g6_judge

        baselines["llm_judge"] = run_g6_judge(p, prepared, results_dir, cache)
    write_json(ctx.outputs["reference_free"], baselines)
    write_json(ctx.outputs["retrieval_top1"], top1)
    arm: dict = {}  # {} = the arm is disabled (grammar.llm_arm.enabled)
    if p.llm_arm.enabled:
        from components.grammar.llm_arm import run_llm_arm

        arm = run_llm_arm(p, prepared, retrieval, cache)
    write_json(ctx.outputs["llm_arm"], arm)
    interop: dict = {}  # {} = nothing to re-score (grammar.interop.import_dir unset)
    if p.interop.import_dir:
        from components.grammar.interop import rescore_dir

        interop = rescore_dir(Path(p.interop.import_dir))
    write_json(ctx.outputs["interop"], interop)
    log_systems(ctx, frame, diagnosis)
    ctx.log(f"{frame['system'].nunique()} systems × {len(p.queries.attributes)} attributes × 2 balances; "
            f"top-1 retrieval accuracy {', '.join(f'{k} {v:.2f}' for k, v in top1.items())}")


def metrics_frame(rows: list[dict]) -> pd.DataFrame:
    flat = []
    for r in rows:
        ci = r.pop("ci")
        flat.append({**r, **{f"{k}_lo": v[0] for k, v in ci.items()}, **{f"{k}_hi": v[1] for k, v in ci.items()}})
    return pd.DataFrame(flat).sort_values(["system", "attribute", "balance"]).reset_index(drop=True)


def diagnose(results: Path, p) -> dict:
    """Group-level attribution vs the injected/observed truth, per system and query set (balanced)."""
    result = {}
    for system_dir in sorted(results.iterdir()):
        per_set = {}
        for attr in p.queries.attributes:
            for balance in ("balanced", "unbalanced"):
                f = pd.DataFrame(load_jsonl(system_dir / f"{attr}_{balance}.jsonl"))
                ga = evaluation.group_attribution(f)
                pr = evaluation.precision_recall(list(ga["pred_set"]), list(ga["truth"]))
                mp, mr = evaluation.macro(pr)
                single = evaluation.precision_recall(list(ga["pred"]), list(ga["truth"]))
                sp, sr = evaluation.macro(single)
                missing = [g for g, gg in f.groupby("group_id") if gg["doc_missing"].all()]
                tags = f.groupby("group_id")["tag"].first()
                pred = dict(zip(ga["group_id"], ga["pred"]))
                recovered = [g for g in missing if tags[g] == "gap" and pred.get(g) == "db_missing"]
                per_set[f"{attr}_{balance}"] = {
                    "macro_precision": mp, "macro_recall": mr, "per_module": pr,
                    "majority_macro_precision": sp, "majority_macro_recall": sr,
                    "n_missing_doc_groups": len(missing), "missing_doc_recovered": len(recovered),
                    "confusion": confusion(ga)}
        result[system_dir.name] = per_set
    return result


def confusion(ga: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Counts of (majority true module → predicted module) over groups with errors."""
    out: dict[str, dict[str, int]] = {}
    for t, pr in zip(ga["truth_major"], ga["pred"]):
        out.setdefault(t, {}).setdefault(pr, 0)
        out[t][pr] += 1
    return out


def log_systems(ctx, frame: pd.DataFrame, diagnosis: dict) -> None:
    """One nested MLflow run per RAG system with every metric of every query set."""
    if not ctx.run:
        return
    keys = ["accuracy", "accuracy_r", "knowledge_accuracy", "robustness", "robustness_r", "n_gap", "n_robust",
            "n_non_robust", "top1_retrieval_accuracy", "retrieval_failure_share", "generator_share"]
    for system, g in frame.groupby("system"):
        child = ctx.run.start_child(system, {"system": system})
        child.log_params({"retriever": g["retriever"].iat[0], "reader": g["reader"].iat[0]})
        metrics = {}
        for _, row in g.iterrows():
            for k in keys + [f"{m}_{b}" for m in ("accuracy", "robustness") for b in ("lo", "hi")]:
                v = row.get(k)
                if v is not None and not (isinstance(v, float) and math.isnan(v)):
                    metrics[f"{row['attribute']}_{row['balance']}.{k}"] = float(v)
        for set_name, d in diagnosis.get(system, {}).items():
            for k in ("macro_precision", "macro_recall"):
                if not math.isnan(d[k]):
                    metrics[f"{set_name}.diagnosis_{k}"] = d[k]
        child.log_metrics(metrics)
        child.finish()
    ctx.run.log_metrics({"n_systems": float(frame["system"].nunique())})
