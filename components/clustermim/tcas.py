"""TCAS (Token-Class Alignment Similarity), both definitions the spec names.

``tcas_paper``: the paper's own equation (arXiv 2407.09087 §4) is not available to this project (spec §3.4);
the function exists with the shared signature and says so. ``tcas_recon``: the spec's working definition —
the mean between-class token-sharing probability over the mean within-class one. Lower = better aligned.
Every number in the report names the definition that produced it.
"""

from __future__ import annotations

import math

import numpy as np

DEFINITIONS = ("tcas_recon", "tcas_paper")


class TcasUnavailable(NotImplementedError):
    pass


def class_token_counts(tokens: np.ndarray, labels: np.ndarray, K: int, C: int) -> np.ndarray:
    """(C, K) integer counts of token k among patches of class-c images."""
    tokens = np.asarray(tokens, np.int64)
    labels = np.asarray(labels, np.int64)
    if tokens.ndim != 2 or len(tokens) != len(labels):
        raise ValueError(f"tokens must be (N, L) with N = len(labels); got {tokens.shape} and {labels.shape}")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= K):
        raise ValueError(f"token ids must lie in [0, {K})")
    if labels.size and (labels.min() < 0 or labels.max() >= C):
        raise ValueError(f"labels must lie in [0, {C})")
    flat = np.repeat(labels, tokens.shape[1]) * K + tokens.reshape(-1)
    return np.bincount(flat, minlength=C * K).reshape(C, K)


def tcas_recon(tokens: np.ndarray, labels: np.ndarray, K: int, C: int) -> float:
    """[1/(C(C−1)) Σ_{c≠c'} G_cc'] / [1/C Σ_c G_cc],  G_cc' = Σ_k p_c(k) p_c'(k),  p_c(k) = n_ck / (L·N_c).

    Integer products and an exactly rounded sum (``math.fsum``): permuting token or class ids gives
    exactly the same value. Classes absent from ``labels`` are left out."""
    counts = class_token_counts(tokens, labels, K, C)
    present = counts.sum(1) > 0
    counts = counts[present]
    c = len(counts)
    if c < 2:
        raise ValueError("tcas_recon needs at least two classes present")
    totals = [int(t) for t in counts.sum(1)]
    g = counts @ counts.T  # exact integers
    diag = math.fsum(int(g[i, i]) / (totals[i] * totals[i]) for i in range(c)) / c
    off = math.fsum(int(g[i, j]) / (totals[i] * totals[j]) for i in range(c) for j in range(c) if i != j) / (c * (c - 1))
    return off / diag


def tcas_paper(tokens: np.ndarray, labels: np.ndarray, K: int, C: int) -> float:
    raise TcasUnavailable("tcas_paper: the paper's TCAS equation (arXiv 2407.09087 §4) has not been copied into "
                          "this project (spec §3.4); use tcas_recon, the labelled working definition")


def usage(tokens: np.ndarray, K: int) -> dict:
    """Token-usage entropy H = −Σ u_k log u_k / log K and the number of dead tokens (u_k = 0)."""
    u = np.bincount(np.asarray(tokens).reshape(-1), minlength=K) / max(1, np.asarray(tokens).size)
    nz = u[u > 0]
    h = float(-(nz * np.log(nz)).sum() / math.log(K)) if K > 1 else 0.0
    return {"token_entropy": h, "dead_tokens": int((u == 0).sum()), "usage": u}


def tcas_rows(tid: str, kind: str, K: int, tokens: np.ndarray, labels: np.ndarray, n_classes: int, split: str,
              assign: str, meta: dict) -> dict:
    """One row of ``tcas.parquet``: a tokenizer's TCAS (``tcas_recon``), usage entropy, dead tokens, inertia."""
    u = usage(tokens, K)
    inertia = meta.get("inertia") or []
    return {"id": tid, "kind": kind, "K": K, "split": split, "assign": assign, "definition": "tcas_recon",
            "tcas_recon": tcas_recon(tokens, labels, K, n_classes), "token_entropy": u["token_entropy"],
            "dead_tokens": u["dead_tokens"], "kmeans_inertia_first": float(inertia[0]) if inertia else float("nan"),
            "kmeans_inertia": float(inertia[-1]) if inertia else float("nan"),
            "tokenizer_seconds": float(meta.get("seconds", float("nan")))}
