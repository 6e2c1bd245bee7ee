"""The reference-based judge (normalised exact match) and the closed-domain rule (spec §3.2, §5.3)."""

from __future__ import annotations

import re
import string

ARTICLES = re.compile(r"\b(a|an|the)\b")
PUNCT = str.maketrans({c: " " for c in string.punctuation + "—–’‘“”"})


def normalise(text: str) -> str:
    """Lowercase, drop punctuation and articles, canonical integers (``007`` → ``7``), single spaces."""
    text = ARTICLES.sub(" ", str(text).lower().translate(PUNCT))
    return " ".join(str(int(tok)) if tok.isdigit() else tok for tok in text.split())


def normalised_match(gold: list[str], response: str) -> bool:
    """Correct iff every gold cell occurs (as whole words) in the response."""
    resp = f" {normalise(response)} "
    cells = [normalise(g) for g in gold]
    return bool(cells) and all(c and f" {c} " in resp for c in cells)


def closed_domain(correct: bool, retrieval_ok: bool, rule: bool = True) -> bool:
    """With the closed-domain rule a wrong retrieval makes the example incorrect whatever the text."""
    return bool(correct and (retrieval_ok or not rule))
