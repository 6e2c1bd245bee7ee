"""RAG systems = (retriever, reader): retrieval for every query, reading, judging with the closed-domain
rule, tagging, diagnosis and the reference-free baselines; ``run_systems`` is the fan-out entry (one batch =
systems of one reader, so a model loads once per batch)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from components.core.seeding import derive_seed
from components.grammar import baselines, evaluation
from components.grammar.jsonl import load_jsonl, write_jsonl
from components.grammar.judge import closed_domain, normalised_match
from components.grammar.readers import extract_answer

BASELINE_SYSTEMS = ("keyword+oracle", "keyword+learned")


@dataclass(frozen=True)
class SystemJob:
    """One RAG system to evaluate: where its inputs are, where it writes, and the (dumped) params."""

    retriever: str
    reader: str
    prepared: str
    train: str
    retrieval: str  # ranked documents per retriever (<retriever>.json), written earlier in the step
    results: str  # per-example results, written here (<system>/<attribute>_<balance>.jsonl)
    cache: str  # LLM reply caches (outside the declared outputs, so a rerun replays them)
    params: dict

    @property
    def system(self) -> str:
        return f"{self.retriever}+{self.reader}"


class LearnedReader:
    """Reader (b) loaded from the train step's checkpoint and vocabulary."""

    def __init__(self, train_dir: Path):
        import torch

        from components.core.execution import threads
        from components.grammar.learned_reader import make_module

        torch.set_num_threads(threads())  # 1 per process (the stability check may raise it)
        meta = json.loads((train_dir / "reader_b_vocab.json").read_text())
        self.vocab, self.cfg = meta["vocab"], meta["config"]
        cfg = type("Cfg", (), self.cfg)
        self.module = make_module(len(self.vocab), cfg)
        self.module.load_state_dict(torch.load(train_dir / "reader_b.ckpt", weights_only=True))
        self.module.eval()
        self.cache: dict[tuple[str, str], str] = {}

    def read(self, pairs: list[tuple[str, str]], dropout: bool = False, seed: int = 0) -> list[str]:
        """Answers for (query, context) pairs; deterministic reads are cached across retrievers."""
        from components.grammar.learned_reader import predict

        if dropout:
            return predict(self.module, self.vocab, pairs, self.cfg["max_len"], True, seed)
        todo = sorted({pair for pair in pairs if pair not in self.cache})
        self.cache.update(zip(todo, predict(self.module, self.vocab, todo, self.cfg["max_len"])))
        return [self.cache[pair] for pair in pairs]


def read_all(reader: str, queries: list[str], contexts: list[list[str]], learned: LearnedReader | None, llm) -> list[str]:
    if reader == "oracle":
        return [extract_answer(q, c) for q, c in zip(queries, contexts)]
    if reader == "brittle":
        return [extract_answer(q, c, brittle=True) for q, c in zip(queries, contexts)]
    if reader == "learned":
        return learned.read([(q, " ".join(c)) for q, c in zip(queries, contexts)])
    return [llm.answer(q, c) for q, c in zip(queries, contexts)]


def annotate(examples: list[dict], ranked: dict, docs: dict[str, dict], defects: dict, top_k: int) -> pd.DataFrame:
    """Per example: retrieved ids and the data-side facts the diagnosis is scored against."""
    deleted = set(defects["deleted_fact"]["docs"])
    column = defects["deleted_fact"]["column"]
    rows = []
    for e in examples:
        ids = [d for d, _ in ranked[e["example_id"]][:top_k]]
        true = e["true_doc_ids"]
        in_db = all(t in docs for t in true)
        rows.append({**{k: e[k] for k in ("example_id", "group_id", "template_id", "attribute", "variant_idx",
                                          "query", "answer", "true_doc_ids")},
                     "retrieved_ids": ids, "retrieved_key": "|".join(sorted(ids)),
                     "retrieval_ok": set(ids) == set(true), "doc_in_db": in_db, "doc_missing": not in_db,
                     "fact_deleted": e["asks"] == column and any(t in deleted for t in true),
                     "answer_in_doc": in_db and all(normalised_match(e["answer"], docs[t]["text"]) for t in true)})
    return pd.DataFrame(rows)


def score_set(frame: pd.DataFrame, reps: int, seed: int, rule: bool = True) -> tuple[pd.DataFrame, dict]:
    """Closed-domain judgement, retrieval judgements, tags, attribution and metrics of one query set."""
    f = frame.copy()
    f["c"] = [int(closed_domain(j, r, rule)) for j, r in zip(f["judge_correct"], f["retrieval_ok"])]
    f = evaluation.judge_retrieval(f)
    f["pred_module"] = evaluation.predicted_modules(f, "context")
    f["true_module"] = [evaluation.true_module(r) for _, r in f.iterrows()]
    g = evaluation.group_table(f)
    out = evaluation.metrics_from_groups(g)
    out["ci"] = evaluation.bootstrap_ci(g, reps, seed)
    out["top1_retrieval_accuracy"] = float(f["retrieval_ok"][f["doc_in_db"]].mean()) if f["doc_in_db"].any() else np.nan
    wrong_nr = f[(f["tag"] == "non_robust") & (f["c"] == 0)]
    out["retrieval_failure_share"] = float((wrong_nr["r_ctx"] == 0).mean()) if len(wrong_nr) else np.nan
    out["generator_share"] = float((wrong_nr["r_ctx"] == 1).mean()) if len(wrong_nr) else np.nan
    return f, out


def judge_all(frame: pd.DataFrame, p: dict, cache_dir: Path, tag: str) -> list[bool]:
    """Normalised match (rules) or the configured LLM judge (cached)."""
    if p["llm"]["judge"] == "rules":
        return [normalised_match(a, r) for a, r in zip(frame["answer"], frame["response"])]
    from components.grammar.llm import LLMCache, make_llm
    from components.grammar.params import LlmParams

    cache = LLMCache(cache_dir / f"llm_cache_judge_{tag}.json")  # one file per system: no two tasks share it
    judge = make_llm(p["llm"]["judge"], LlmParams(**p["llm"]), cache)
    verdicts = [judge.judge(q, a, r) for q, a, r in zip(frame["query"], frame["answer"], frame["response"])]
    cache.save()
    return verdicts


def run_systems(jobs: list[SystemJob]) -> list[list[dict]]:
    """``ctx.fan_out`` entry: per job (system), its summaries. A batch holds one reader (``key``), loaded once."""
    readers = {j.reader for j in jobs}
    if len(readers) != 1:
        raise ValueError(f"a batch of systems must share one reader, got {sorted(readers)}")
    first = jobs[0]
    p = first.params
    prepared, cache_dir = Path(first.prepared), Path(first.cache)
    docs = {d["doc_id"]: d for d in load_jsonl(prepared / "documents.jsonl")}
    defects = json.loads((prepared / "defects.json").read_text())
    unbalanced = set(json.loads((prepared / "unbalanced_ids.json").read_text()))
    examples = [e for a in p["queries"]["attributes"] for e in load_jsonl(prepared / f"qa_{a}_balanced.jsonl")]
    learned = LearnedReader(Path(first.train)) if first.reader == "learned" else None
    return [run_system(job, examples, docs, defects, unbalanced, learned, cache_dir) for job in jobs]


def run_system(job: SystemJob, examples: list[dict], docs: dict, defects: dict, unbalanced: set[str],
               learned: LearnedReader | None, cache_dir: Path) -> list[dict]:
    """One system on every attribute × balance; writes per-example results, returns the summaries."""
    p, system = job.params, job.system
    llm = None
    if job.reader == "llm":
        from components.grammar.llm import LLMCache, make_llm
        from components.grammar.params import LlmParams

        llm = make_llm(p["llm"]["generator"], LlmParams(**p["llm"]), LLMCache(cache_dir / f"llm_cache_{system}.json"))
    ranked = json.loads((Path(job.retrieval) / f"{job.retriever}.json").read_text())
    frame = annotate(examples, ranked, docs, defects, p["retrieval"]["top_k"])
    contexts = [[docs[d]["text"] for d in ids] for ids in frame["retrieved_ids"]]
    frame["response"] = read_all(job.reader, list(frame["query"]), contexts, learned, llm)
    frame["judge_correct"] = judge_all(frame, p, cache_dir, system)
    summaries = []
    for attr in p["queries"]["attributes"]:
        for balance in ("balanced", "unbalanced"):
            subset = frame[(frame["attribute"] == attr) &
                           (frame["example_id"].isin(unbalanced) if balance == "unbalanced" else True)]
            scored, m = score_set(subset, p["evaluate"]["bootstrap"], p["seed"])
            write_jsonl(Path(job.results) / system / f"{attr}_{balance}.jsonl",
                        scored.drop(columns=["query"]).to_dict("records"))
            summaries.append({"system": system, "retriever": job.retriever, "reader": job.reader,
                              "attribute": attr, "balance": balance, **m})
    if system in BASELINE_SYSTEMS:
        summaries.append({"system": system, "baselines": reference_free(frame, ranked, docs, job.reader, learned, p)})
    if llm is not None and hasattr(llm, "cache"):
        llm.cache.save()
    return summaries


def reference_free(frame: pd.DataFrame, ranked: dict, docs: dict, reader: str, learned, p: dict) -> dict:
    """Faithfulness and consistency proxies on the balanced sets, scored against c(e) (closed-domain)."""
    ev = p["evaluate"]
    groups = sorted(set(frame["group_id"]))
    chosen = set(random.Random(derive_seed(p["seed"], "baseline-groups")).sample(
        groups, min(ev["baseline_groups"], len(groups))))
    out = {}
    for attr in p["queries"]["attributes"]:
        f = frame[(frame["attribute"] == attr) & frame["group_id"].isin(chosen)].reset_index(drop=True)
        c = [int(closed_domain(j, r)) for j, r in zip(f["judge_correct"], f["retrieval_ok"])]
        contexts = [[docs[d]["text"] for d in ids] for ids in f["retrieved_ids"]]
        faith = [baselines.faithfulness(r, ctx) for r, ctx in zip(f["response"], contexts)]
        samples = consistency_samples(f, ranked, docs, reader, learned, ev, p["seed"])
        incons = [baselines.inconsistency(a, s) for a, s in zip(f["response"], samples)]
        out[attr] = {"faithfulness": baselines.says_correct_scores([x == 1.0 for x in faith], c),
                     "consistency": baselines.says_correct_scores([x == 0.0 for x in incons], c),
                     "reference_based": baselines.says_correct_scores([bool(x) for x in c], c)}
    return out


def consistency_samples(f: pd.DataFrame, ranked: dict, docs: dict, reader: str, learned, ev: dict,
                        seed: int) -> list[list[str]]:
    n = ev["consistency_samples"]
    if reader == "learned":  # MC dropout on the same retrieved documents
        pairs = [(q, " ".join(docs[d]["text"] for d in ids)) for q, ids in zip(f["query"], f["retrieved_ids"])]
        draws = [learned.read(pairs, dropout=True, seed=seed + i) for i in range(n)]
        return [list(col) for col in zip(*draws)]
    out = []
    for q, eid in zip(f["query"], f["example_id"]):
        picks = baselines.sample_documents(ranked[eid], n, ev["consistency_temperature"], seed, eid)
        out.append([extract_answer(q, [docs[d]["text"]], brittle=reader == "brittle") for d in picks])
    return out
