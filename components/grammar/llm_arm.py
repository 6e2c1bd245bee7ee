"""Optional real-LLM arm (spec §5.3): a few groups through bm25 + LLM generator + LLM judge, with the
LLM judge's agreement against the normalised match reported."""

from __future__ import annotations

import json
import random
from pathlib import Path

from components.core.seeding import derive_seed
from components.grammar import evaluation
from components.grammar.judge import closed_domain, normalised_match
from components.grammar.llm import LLMCache, make_llm
from components.grammar.jsonl import load_jsonl


def run_llm_arm(p, prepared: Path, retrieval: Path, cache_dir: Path) -> dict:
    """Per attribute: the arm's metrics; bm25's ranking from ``retrieval`` (true ids when bm25 is not run);
    LLM replies cached in ``cache_dir`` (kept across runs)."""
    import pandas as pd

    arm = p.llm_arm
    docs = {d["doc_id"]: d["text"] for d in load_jsonl(prepared / "documents.jsonl")}
    cache = LLMCache(cache_dir / "llm_arm_cache.json")
    llm = make_llm(arm.backend, p.llm, cache)
    ranked = json.loads((retrieval / "bm25.json").read_text()) if (retrieval / "bm25.json").exists() else None
    result = {}
    for attr in p.queries.attributes:
        examples = load_jsonl(prepared / f"qa_{attr}_balanced.jsonl")
        groups = sorted({e["group_id"] for e in examples})
        rng = random.Random(derive_seed(p.seed, "llm-arm"))
        chosen = set(rng.sample(groups, min(arm.groups, len(groups))))
        rows = []
        for e in examples:
            if e["group_id"] not in chosen or e["variant_idx"] >= arm.variants:
                continue
            ids = [d for d, _ in ranked[e["example_id"]][:p.retrieval.top_k]] if ranked else e["true_doc_ids"]
            ids = [d for d in ids if d in docs]
            response = llm.answer(e["query"], [docs[d] for d in ids])
            rule = normalised_match(e["answer"], response)
            by_llm = llm.judge(e["query"], e["answer"], response)
            ok = set(ids) == set(e["true_doc_ids"])
            rows.append({"group_id": e["group_id"], "response": response, "rule": rule, "llm_judge": by_llm,
                         "c": int(closed_domain(rule, ok)), "r_gt": int(ok)})
        f = pd.DataFrame(rows)
        m = evaluation.metrics(f)
        m["judge_agreement"] = float((f["rule"] == f["llm_judge"]).mean())
        tp = float((f["llm_judge"] & f["rule"]).sum())
        m["llm_judge_precision"] = tp / f["llm_judge"].sum() if f["llm_judge"].sum() else float("nan")
        m["n_queries"] = float(len(f))
        result[attr] = m
    cache.save()
    return result
