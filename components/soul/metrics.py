"""TOFU-style metrics done right (spec §6), as pure functions on NLL arrays, strings and scores.

Primary: TOFU's truth ratio R = P(ã)/geomean_j P(â_j) and FQ_tofu = KS p-value of the forget-set R
of the unlearned model against the retain model's. Secondary (the SOUL code's variants, D5–D7):
R_soul = mean_j P(â_j)/(P(ã)+1e-12), FQ_soulcode = KS of forget vs retain R_soul on the same model,
and MIA with the repo's misaligned labels.
"""

from __future__ import annotations

import re

import numpy as np

MU_KEYS = tuple(f"{m}_{s}" for s in ("retain", "ra", "wf") for m in ("prob", "rouge", "tr"))
FQ_FLOOR = 1e-300


def truth_ratio(nll_true: np.ndarray, nll_perturbed: np.ndarray) -> np.ndarray:
    """TOFU R = exp(mean_j NLL(â_j) − NLL(ã)); > 1 when the truth is preferred. Shapes (n,), (n, k)."""
    return np.exp(np.asarray(nll_perturbed).mean(axis=1) - np.asarray(nll_true))


def truth_ratio_soul(nll_true: np.ndarray, nll_perturbed: np.ndarray) -> np.ndarray:
    """SOUL-code R: arithmetic mean of perturbed probabilities over P(truth) (inverted orientation, D6)."""
    return np.exp(-np.asarray(nll_perturbed)).mean(axis=1) / (np.exp(-np.asarray(nll_true)) + 1e-12)


def ks_pvalue(a, b) -> float:
    from scipy.stats import ks_2samp

    return float(ks_2samp(np.asarray(a), np.asarray(b)).pvalue)


def forget_quality(r_unlearned_forget, r_retain_model_forget) -> float:
    """FQ_tofu: KS test of forget-set truth ratios, unlearned model vs the retain model."""
    return ks_pvalue(r_unlearned_forget, r_retain_model_forget)


def forget_quality_soulcode(r_soul_forget, r_soul_retain) -> float:
    """FQ as the SOUL code computes it: forget vs retain R_soul of the same model (not TOFU's FQ, D5)."""
    return ks_pvalue(r_soul_forget, r_soul_retain)


def log10_fq(fq: float) -> float:
    return float(np.log10(max(fq, FQ_FLOOR)))


def prob_answer(nll_true: np.ndarray) -> float:
    return float(np.exp(-np.asarray(nll_true)).mean())


def prob_normalised(nll_true: np.ndarray, nll_perturbed: np.ndarray) -> float:
    """Real-authors / world-facts Prob: mean P(a)/(P(a) + Σ_j P(â_j))."""
    p = np.exp(-np.asarray(nll_true))
    return float((p / (p + np.exp(-np.asarray(nll_perturbed)).sum(axis=1))).mean())


def truth_ratio_stat(r: np.ndarray, forget: bool = False) -> float:
    """TR-stat: mean max(0, 1 − 1/R) on utility sets; mean min(R, 1/R) on the forget set."""
    r = np.asarray(r, dtype=float)
    return float(np.minimum(r, 1 / r).mean()) if forget else float(np.maximum(0.0, 1 - 1 / r).mean())


def model_utility(values: dict[str, float]) -> float:
    """Harmonic mean of exactly the nine {Prob, ROUGE-L, TR} × {retain, real authors, world facts} numbers."""
    from scipy.stats import hmean

    missing = [k for k in MU_KEYS if k not in values]
    if missing:
        raise ValueError(f"model utility needs all nine inputs; missing {missing}")
    nums = [float(values[k]) for k in MU_KEYS]
    if min(nums) <= 0:
        return 0.0
    return float(hmean(nums))


_SCORER = None


def rouge_l_recall(prediction: str, reference: str) -> float:
    """ROUGE-L recall via ``rouge-score`` (stemmer on), the TOFU setting."""
    global _SCORER
    if _SCORER is None:
        from rouge_score import rouge_scorer

        _SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return float(_SCORER.score(reference, prediction)["rougeL"].recall)


def min_k_score(token_logprobs, k_percent: int) -> float:
    """Min-k% Prob: −mean of the lowest k% token log-probs (at least one token)."""
    lp = np.sort(np.asarray(token_logprobs, dtype=float))
    n = max(1, int(len(lp) * k_percent / 100))
    return float(-lp[:n].mean())


def mia_auc(member_scores, nonmember_scores) -> float:
    """AUC with aligned labels: members (forget items) 1, non-members 0. Higher = forget items look unseen."""
    from sklearn.metrics import roc_auc_score

    scores = np.concatenate([member_scores, nonmember_scores])
    labels = np.concatenate([np.ones(len(member_scores)), np.zeros(len(nonmember_scores))])
    return float(roc_auc_score(labels, scores))


def mia_auc_repo_labels(member_scores, nonmember_scores) -> float:
    """The SOUL code's AUC (D7): data ordered [members, non-members], labels [0]*n_non + [1]*n_mem."""
    from sklearn.metrics import roc_auc_score

    scores = np.concatenate([member_scores, nonmember_scores])
    labels = np.concatenate([np.zeros(len(nonmember_scores)), np.ones(len(member_scores))])
    return float(roc_auc_score(labels, scores))


def _ngrams(text: str) -> dict[str, int]:
    words = re.findall(r"\S+", text.lower())
    grams = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
    out: dict[str, int] = {}
    for g in grams:
        out[g] = out.get(g, 0) + 1
    return out


def bow_cosine(a: str, b: str) -> float:
    x, y = _ngrams(a), _ngrams(b)
    dot = sum(v * y.get(k, 0) for k, v in x.items())
    norm = np.sqrt(sum(v * v for v in x.values()) * sum(v * v for v in y.values()))
    return float(dot / norm) if norm else 0.0


def acc_bow(generation: str, truth: str, perturbed: list[str]) -> bool:
    """The repo's acc with unigram+bigram counts for MiniLM: is the truth the nearest candidate?"""
    sims = [bow_cosine(generation, c) for c in [truth, *perturbed]]
    return int(np.argmax(sims)) == 0


def slot_values(answer: str, spans: dict[str, list[int]]) -> list[str]:
    words = answer.split()
    return [" ".join(words[lo:hi]) for lo, hi in spans.values()]


def acc_slot(generation: str, truth: str, perturbed: list[str], spans: dict[str, list[int]]) -> bool:
    """Generation holds every gold slot value and none of the perturbed values."""
    gold = set(slot_values(truth, spans))
    wrong = {v for p in perturbed for v in slot_values(p, spans)} - gold
    padded = f" {generation} "
    return all(f" {g} " in padded for g in gold) and not any(f" {w} " in padded for w in wrong)


def acc_substring(generation: str, answer: str) -> bool:
    return answer.rstrip(" .").strip() in generation
