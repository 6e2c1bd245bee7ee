"""Reference-free evaluators (spec §5.4), scored against GRAMMAR's ground truth: a RAGAS-style
faithfulness proxy and a SelfCheck-style consistency proxy (samples of the *same* query only)."""

from __future__ import annotations

import math
import random
import re

import numpy as np

from components.core.seeding import derive_seed
from components.grammar.judge import normalise

SENTENCE = re.compile(r"(?<=[.!?])\s+")


def faithfulness(response: str, contexts: list[str]) -> float | None:
    """#supported claims / #claims; a claim (response sentence) is supported iff all its content tokens
    occur in the retrieved context; None (Null) for an empty response."""
    claims = [c for c in SENTENCE.split(response.strip()) if normalise(c)]
    if not claims:
        return None
    ctx = set(normalise(" ".join(contexts)).split())
    return sum(set(normalise(c).split()) <= ctx for c in claims) / len(claims)


def inconsistency(answer: str, samples: list[str]) -> float | None:
    """1 − mean(consistent(answer, sample)); None for an empty answer (nothing to check)."""
    if not normalise(answer):
        return None
    return 1.0 - float(np.mean([normalise(answer) == normalise(s) for s in samples]))


def sample_documents(ranked: list[tuple[str, float]], n: int, temperature: float, seed: int, key: str) -> list[str]:
    """``n`` document draws from the top-3 with probability ∝ softmax(score / temperature)."""
    top = ranked[:3]
    scores = np.array([s for _, s in top], dtype=float)
    p = np.exp((scores - scores.max()) / temperature)
    p /= p.sum()
    out = []
    for i in range(n):
        rng = random.Random(derive_seed(seed, key, i))
        out.append(top[int(np.searchsorted(np.cumsum(p), rng.random() * p.sum()).clip(0, len(top) - 1))][0])
    return out


def says_correct_scores(says: list[bool], truth: list[int]) -> dict[str, float]:
    """Precision/recall of "says correct" against c(e), and lift over the base rate (accuracy)."""
    says, truth = np.asarray(says, bool), np.asarray(truth, int)
    tp = float((says & (truth == 1)).sum())
    acc = float(truth.mean()) if len(truth) else math.nan
    precision = tp / says.sum() if says.sum() else math.nan
    return {"n": float(len(truth)), "n_says_correct": float(says.sum()), "n_correct": float(truth.sum()),
            "precision": precision, "recall": tp / truth.sum() if truth.sum() else math.nan,
            "accuracy": acc, "lift": precision / acc if acc and not math.isnan(precision) else math.nan}
