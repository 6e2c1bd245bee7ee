"""Score one model on the eval sets: NLLs, greedy generations, Min-k% scores, perplexity (spec §6).

Returns scalar metrics plus the per-item arrays (truth ratios, MIA scores) that FQ needs; FQ itself
is computed afterwards because it compares models (the unlearned one against the retain model).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.soul import metrics as M
from components.soul.corpus import PROMPT
from components.soul.model import collate, encode_qa, encode_text, per_sample_nll, per_setup, setup_worker

AUTHOR_SETS = {"forget": "forget_eval", "retain": "retain_eval"}
UTILITY_SETS = {"ra": "real_authors_eval", "wf": "world_facts_eval"}


def batched_nll(model, tok, pairs: list[tuple[list[int], list[int]]], batch_size: int) -> np.ndarray:
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(pairs), batch_size):
            out.append(per_sample_nll(model, collate(pairs[i:i + batch_size], tok.pad_token_id)).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def token_logprobs(model, tok, texts: list[str], batch_size: int) -> list[np.ndarray]:
    """Log-prob of every token after the first, per text (for Min-k% over question+answer)."""
    import torch

    out: list[np.ndarray] = []
    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            enc = [encode_text(tok, t) for t in texts[i:i + batch_size]]
            b = collate(enc, tok.pad_token_id)
            logp = torch.log_softmax(model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits[:, :-1],
                                     -1)
            lp = logp.gather(-1, b["input_ids"][:, 1:, None])[..., 0]
            for row, (ids, _) in zip(lp, enc):
                out.append(row[:len(ids) - 1].numpy())
    return out


def greedy(model, tok, questions: list[str], max_new_tokens: int) -> list[str]:
    """Greedy answers (KV cache) for each question; prompts of equal length are batched without padding."""
    import torch

    prompts = [tok.encode(PROMPT.format(q=q), add_special_tokens=False) for q in questions]
    groups: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(prompts):
        groups[len(p)].append(i)
    out = [""] * len(questions)
    with torch.no_grad():
        for idx in groups.values():
            ids = torch.tensor([prompts[i] for i in idx])
            limit = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", 2048)
            room = max(1, min(max_new_tokens, limit - ids.size(1)))
            gen = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=room, do_sample=False,
                                 eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
            for row, i in zip(gen[:, ids.size(1):].tolist(), idx):
                if tok.eos_token_id in row:
                    row = row[:row.index(tok.eos_token_id)]
                out[i] = tok.decode([t for t in row if t != tok.pad_token_id], skip_special_tokens=True)
    return out


def evaluate_model(model, tok, data: dict[str, list[dict]], ev) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """All per-model metrics of spec §6 except the cross-model FQ_tofu; ``ev`` is ``soul.evaluate``."""
    model.eval()
    bs = ev.batch_size
    scalars: dict[str, float] = {}
    items: dict[str, np.ndarray] = {}
    # one forward pass over every (question, answer) pair that any NLL-based metric needs
    pairs, where = [], {}
    for short, split in {**AUTHOR_SETS, **UTILITY_SETS}.items():
        recs = data[split]
        truth_key = "paraphrased_answer" if short in AUTHOR_SETS else "answer"
        for kind, answers in (("answer", [r["answer"] for r in recs]), ("truth", [r[truth_key] for r in recs])):
            where[(short, kind)] = (len(pairs), len(recs))
            pairs += [encode_qa(tok, r["question"], a) for r, a in zip(recs, answers)]
        k = len(recs[0]["perturbed_answer"])
        where[(short, "perturbed")] = (len(pairs), len(recs) * k)
        pairs += [encode_qa(tok, r["question"], a) for r in recs for a in r["perturbed_answer"]]
    nll = batched_nll(model, tok, pairs, bs)

    def take(short, kind):
        start, n = where[(short, kind)]
        return nll[start:start + n]

    for short, split in {**AUTHOR_SETS, **UTILITY_SETS}.items():
        k = len(data[split][0]["perturbed_answer"])
        truth, pert = take(short, "truth"), take(short, "perturbed").reshape(-1, k)
        r = M.truth_ratio(truth, pert)
        items[f"R_{short}"] = r
        items[f"R_soul_{short}"] = M.truth_ratio_soul(truth, pert)
        scalars[f"TR_{short}"] = M.truth_ratio_stat(r, forget=short == "forget")
        scalars[f"tr_{short}"] = M.truth_ratio_stat(r)
        if short in AUTHOR_SETS:
            scalars[f"prob_{short}"] = M.prob_answer(take(short, "answer"))
        else:
            scalars[f"prob_{short}"] = M.prob_normalised(take(short, "answer"), pert)
    # greedy generations: original questions (ROUGE-L) and paraphrased questions (acc)
    questions, slots = [], []
    for short, split in {**AUTHOR_SETS, **UTILITY_SETS}.items():
        slots.append((short, "q", len(questions)))
        questions += [r["question"] for r in data[split]]
    for short, split in AUTHOR_SETS.items():
        slots.append((short, "pq", len(questions)))
        questions += [r["paraphrased_question"] for r in data[split]]
    gens = greedy(model, tok, questions, ev.max_new_tokens)
    samples = {}
    for short, kind, start in slots:
        split = {**AUTHOR_SETS, **UTILITY_SETS}[short]
        recs = data[split]
        out = gens[start:start + len(recs)]
        if kind == "q":
            scalars[f"rouge_{short}"] = float(np.mean([M.rouge_l_recall(g, r["answer"]) for g, r in zip(out, recs)]))
            samples[short] = {"question": recs[0]["question"], "generation": out[0], "answer": recs[0]["answer"]}
            if short in UTILITY_SETS:
                scalars[f"acc_{short}"] = float(np.mean([M.acc_substring(g, r["answer"]) for g, r in zip(out, recs)]))
        else:
            scalars[f"acc_bow_{short}"] = float(np.mean(
                [M.acc_bow(g, r["paraphrased_answer"], r["perturbed_answer"]) for g, r in zip(out, recs)]))
            scalars[f"acc_slot_{short}"] = float(np.mean(
                [M.acc_slot(g, r["paraphrased_answer"], r["perturbed_answer"], r["slot_spans"])
                 for g, r in zip(out, recs)]))
    scalars["MU"] = M.model_utility({k: scalars[k] for k in M.MU_KEYS})
    # Min-k% MIA: members = forget_eval, non-members = real authors + world facts
    def qa_texts(recs):
        return [f"{PROMPT.format(q=r['question'])} {r['answer']}" for r in recs]
    members = token_logprobs(model, tok, qa_texts(data["forget_eval"]), bs)
    nonmembers = token_logprobs(model, tok, qa_texts(data["real_authors_eval"] + data["world_facts_eval"]), bs)
    for k in ev.mia_ks:
        sm = np.array([M.min_k_score(lp, k) for lp in members])
        sn = np.array([M.min_k_score(lp, k) for lp in nonmembers])
        scalars[f"mia_auc_k{k}"] = M.mia_auc(sm, sn)
        scalars[f"mia_auc_repo_labels_k{k}"] = M.mia_auc_repo_labels(sm, sn)
        items[f"minK{k}_member"] = sm
    held = [encode_text(tok, r["text"]) for r in data["heldout"][:ev.n_heldout]]
    scalars["ppl"] = float(np.exp(np.average(batched_nll(model, tok, held, bs),
                                             weights=[len(ids) - 1 for ids, _ in held])))
    scalars["_samples"] = samples  # type: ignore[assignment]
    return scalars, items


def fq_metrics(items: dict[str, np.ndarray], retain_items: list[dict[str, np.ndarray]]) -> dict[str, float]:
    """FQ_tofu vs retain seed 0 (primary) and averaged over retain seeds; FQ_soulcode on the same model."""
    fqs = [M.forget_quality(items["R_forget"], ri["R_forget"]) for ri in retain_items]
    return {"FQ_tofu": fqs[0], "log10_FQ_tofu": M.log10_fq(fqs[0]),
            "FQ_tofu_mean_retain": float(np.mean(fqs)),
            "FQ_soulcode": M.forget_quality_soulcode(items["R_soul_forget"], items["R_soul_retain"]),
            "log10_FQ_soulcode": M.log10_fq(M.forget_quality_soulcode(items["R_soul_forget"],
                                                                      items["R_soul_retain"]))}


class MemoTokenizer:
    """A tokenizer whose ``encode`` is memoised: every model of a batch is scored on the same texts, and
    re-encoding them cost ~15% of an evaluation (profiled). Everything else is delegated unchanged."""

    def __init__(self, tok):
        self._tok, self._memo = tok, {}

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        key = (text, add_special_tokens)
        if key not in self._memo:
            self._memo[key] = tuple(self._tok.encode(text, add_special_tokens=add_special_tokens))
        return list(self._memo[key])

    def __len__(self) -> int:
        return len(self._tok)

    def __getattr__(self, name: str):
        return getattr(self._tok, name)


@dataclass(frozen=True)
class EvalSetup:
    tok_dir: str
    corpus_dir: str
    evaluate: dict  # soul.evaluate as a plain dict


def evaluate_models(batch: list[tuple[str, str, EvalSetup]]) -> list[tuple[str, dict, dict]]:
    """The evaluate step's batch function for ``ctx.fan_out``: score each ``(name, model dir, setup)`` →
    (name, scalar metrics, per-item arrays as lists)."""
    setup_worker()
    from components.soul.data import EVAL_SPLITS, load_split
    from components.soul.model import load_model
    from components.soul.params import EvaluateParams
    from components.soul.tokenizer import load_tokenizer

    def load(setup: EvalSetup) -> tuple:
        corpus = Path(setup.corpus_dir)
        return (EvaluateParams.model_validate(setup.evaluate), MemoTokenizer(load_tokenizer(setup.tok_dir)),
                {s: load_split(corpus, s) for s in (*EVAL_SPLITS, "heldout")})

    cache: dict = {}
    out = []
    for name, path, setup in batch:
        ev, tok, data = per_setup(cache, setup, load)
        scalars, items = evaluate_model(load_model(path), tok, data, ev)
        out.append((name, scalars, {k: v.tolist() for k, v in items.items()}))
    return out
