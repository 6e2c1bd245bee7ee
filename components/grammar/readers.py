"""Rule readers (spec §5.3): the extractive ``oracle`` (full synonym lexicon) and the ``brittle`` one
(canonical words only), both reading the renderer's sentence patterns from the retrieved documents."""

from __future__ import annotations

import re
from functools import lru_cache

from components.grammar import lexicon
from components.grammar.documents import FACTS


@lru_cache(maxsize=None)
def _attribute_patterns(brittle: bool) -> list[tuple[str, re.Pattern]]:
    out = []
    for attribute, (canonical, others) in lexicon.SYNONYMS.items():
        for word in (canonical if brittle else (*canonical, *others)):
            out.append((attribute, re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)))
    return out


@lru_cache(maxsize=100_000)
def asked_attribute(query: str, brittle: bool = False) -> str | None:
    """The attribute whose synonym occurs last in the query (questions end long texts); None if none."""
    best, best_pos = None, -1
    for attribute, pattern in _attribute_patterns(brittle):
        for m in pattern.finditer(query):
            if m.start() > best_pos or (m.start() == best_pos and attribute < (best or "")):
                best, best_pos = attribute, m.start()
    return best


@lru_cache(maxsize=None)
def _fact_regex(attribute: str) -> re.Pattern:
    text = re.escape(FACTS[attribute])
    text = text.replace(re.escape("{name}"), r"[^.]+?").replace(re.escape("{other}"), r"[^.]+?")
    return re.compile(text.replace(re.escape("{value}"), r"(?P<value>[^.]+?)"))


def extract_answer(query: str, documents: list[str], brittle: bool = False) -> str:
    """The asked attribute's value from the first document stating it; "" when nothing matches."""
    attribute = asked_attribute(query, brittle)
    if attribute is None:
        return ""
    for doc in documents:
        value = _value_in(attribute, doc)
        if value is not None:
            return value
    return ""


@lru_cache(maxsize=100_000)
def _value_in(attribute: str, document: str) -> str | None:
    m = _fact_regex(attribute).search(document)
    return m.group("value") if m else None
