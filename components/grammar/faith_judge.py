"""G6 with a real LLM judge (issue 16): a RAGAS-style faithfulness judgement by an LLM (SmolLM2-135M by default)
on a seeded sample of long queries, scored against GRAMMAR's reference-based c(e).

The lexical proxies of ``baselines.py`` are stand-ins; the paper tests LLM-based evaluators. A tiny judge can be
degenerate (always "Yes" gives lift 1 and would pass G6 for the wrong reason), so a control set measures whether
it tells a supported answer (the gold value, true document as context) from an unsupported one (another row's
value of the same column) before its numbers may decide G6.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from components.core.seeding import derive_seed
from components.grammar.baselines import says_correct_scores
from components.grammar.jsonl import load_jsonl
from components.grammar.llm import LLMCache, make_llm

SYSTEMS = ("keyword+oracle", "keyword+learned")


def nli_messages(query: str, response: str, context: str) -> list[dict[str, str]]:
    """Our own prompt following RAGAS faithfulness: is the answer supported by the retrieved context?"""
    return [{"role": "system", "content": "You check answers against a source text. Reply Yes or No only."},
            {"role": "user", "content": f"Source: {context}\n\nQuestion: {query}\nAnswer: {response}\n\n"
                                        "Is the answer stated in the source? Yes or No?"}]


def parse_yes(reply: str) -> bool:
    text = reply.strip().lower()
    return text.startswith("yes") or (" yes" in f" {text[:12]}" and "no" not in text[:4])


def run_g6_judge(p, prepared: Path, results: Path, cache_dir: Path) -> dict:
    """Judge ``per_system`` seeded long queries per system plus a control set; returns reference_free["llm_judge"]."""
    cfg = p.g6_judge
    start = time.perf_counter()
    llm = make_llm(cfg.backend, p.llm, LLMCache(cache_dir / "g6_judge_cache.json"))
    docs = {d["doc_id"]: d["text"] for d in load_jsonl(prepared / "documents.jsonl")}
    queries = {e["example_id"]: e for e in load_jsonl(prepared / "qa_long_balanced.jsonl")}
    calls = 0

    def judge(query: str, response: str, context: str) -> bool:
        nonlocal calls
        calls += 1
        return parse_yes(llm.generate("nli", nli_messages(query, response, context), 0.0, 3))

    systems = {}
    for system in SYSTEMS:
        path = results / system / "long_balanced.jsonl"
        if not path.exists():
            continue
        rows = [r for r in load_jsonl(path) if str(r["response"]).strip()]  # RAGAS: empty answers are Null
        rng = random.Random(derive_seed(p.seed, "g6-judge", system))
        sample = rng.sample(rows, min(cfg.per_system, len(rows)))
        says = [judge(queries[r["example_id"]]["query"], r["response"],
                      " ".join(docs[d] for d in r["retrieved_ids"] if d in docs)) for r in sample]
        systems[system] = says_correct_scores(says, [int(r["c"]) for r in sample])
    competence = control(p, queries, docs, judge, cfg.control)
    if hasattr(llm, "cache"):
        llm.cache.save()
    return {"model": getattr(llm, "model", cfg.backend), "backend": cfg.backend, "competence": competence,
            "systems": systems, "n_calls": calls, "seconds": time.perf_counter() - start}


def control(p, queries: dict, docs: dict, judge, n: int) -> dict:
    """Balanced accuracy on n supported (gold value) and n unsupported (another row's value) answers."""
    rows = [e for e in queries.values() if all(t in docs for t in e["true_doc_ids"])]
    rng = random.Random(derive_seed(p.seed, "g6-control"))
    picks = rng.sample(rows, min(n, len(rows)))
    tp = tn = 0
    for e in picks:
        context = " ".join(docs[t] for t in e["true_doc_ids"])
        others = sorted({o["answer"][0] for o in rows if o["template_id"] == e["template_id"]} - {e["answer"][0]})
        wrong = rng.choice(others) if others else "unknown"
        tp += judge(e["query"], e["answer"][0], context)
        tn += not judge(e["query"], wrong, context)
    k = max(len(picks), 1)
    return {"n": 2 * len(picks), "true_positive_rate": tp / k, "true_negative_rate": tn / k,
            "balanced_accuracy": (tp + tn) / (2 * k)}
