"""Linear probe (LP-CLS / LP-mean top-1) and kNN on frozen features, for pre-trained and reference encoders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def linear_probe(ftr: np.ndarray, ytr: np.ndarray, fte: np.ndarray, yte: np.ndarray, Cs, max_iter: int,
                 seed: int) -> dict:
    """Standardise with train statistics (BN affine=False analogue); multinomial LBFGS logistic regression,
    C chosen on a stratified 80/20 split of train; refit on all train; test top-1."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(ftr)
    a, b = sc.transform(ftr), sc.transform(fte)
    ia, iv = train_test_split(np.arange(len(ytr)), test_size=0.2, stratify=ytr, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = {}
        for C in Cs:
            m = LogisticRegression(C=C, max_iter=max_iter).fit(a[ia], ytr[ia])
            scores[C] = float(m.score(a[iv], ytr[iv]))
        best = max(Cs, key=lambda c: (scores[c], -c))
        m = LogisticRegression(C=best, max_iter=max_iter).fit(a, ytr)
    return {"top1": float(m.score(b, yte)), "C": best, "val": scores[best]}


def knn_top1(ftr, ytr, fte, yte, k: int) -> float:
    from sklearn.neighbors import KNeighborsClassifier

    k = min(k, len(ytr))
    return float(KNeighborsClassifier(k, metric="cosine", algorithm="brute").fit(ftr, ytr).score(fte, yte))


def encoder_features(enc, x: np.ndarray, patch: int) -> tuple[np.ndarray, np.ndarray]:
    """(CLS, mean-pooled patch tokens) of a frozen encoder with all patches visible."""
    import torch

    from components.clustermim.data import patchify

    enc.eval()
    with torch.no_grad():
        out = enc(patchify(torch.as_tensor(x), patch))
    return out[:, 0].numpy().astype(np.float64), out[:, 1:].mean(1).numpy().astype(np.float64)


@dataclass(frozen=True)
class ProbeJob:
    cond: str  # a pre-training condition, or "raw_pixels" / "random_init"
    seed_index: int
    seed: int
    prepared: str
    encoder: str | None
    params: dict


def probe_one(job: ProbeJob) -> dict:
    import torch

    from components.clustermim.params import ClustermimParams
    from components.clustermim.training import L_of, load_encoder, load_prepared

    p = ClustermimParams.model_validate(job.params)
    d = load_prepared(job.prepared)
    ytr, yte = d["y_train"], d["y_test"]
    pr = p.probe
    if job.cond == "raw_pixels":
        ftr, fte = d["x_train"].reshape(len(ytr), -1), d["x_test"].reshape(len(yte), -1)
        lp = linear_probe(ftr, ytr, fte, yte, pr.Cs, pr.max_iter, job.seed)
        return {"cond": job.cond, "seed_index": job.seed_index, "lp_top1_cls": lp["top1"], "lp_top1_mean": lp["top1"],
                "knn_top1": knn_top1(ftr, ytr, fte, yte, pr.knn_k), "lp_C": lp["C"]}
    if job.cond == "random_init":
        from components.clustermim.model import Encoder

        torch.manual_seed(job.seed)
        enc = Encoder(p.data.patch ** 2, L_of(p), p.model.dim, p.model.depth, p.model.heads, p.model.mlp_ratio)
    else:
        enc = load_encoder(job.encoder, p)
    ctr, mtr = encoder_features(enc, d["x_train"], p.data.patch)
    cte, mte = encoder_features(enc, d["x_test"], p.data.patch)
    lp = linear_probe(ctr, ytr, cte, yte, pr.Cs, pr.max_iter, job.seed)
    lpm = linear_probe(mtr, ytr, mte, yte, pr.Cs, pr.max_iter, job.seed)
    return {"cond": job.cond, "seed_index": job.seed_index, "lp_top1_cls": lp["top1"], "lp_top1_mean": lpm["top1"],
            "knn_top1": knn_top1(ctr, ytr, cte, yte, pr.knn_k), "lp_C": lp["C"]}


def eval_batch(jobs: list) -> list[dict]:
    """Probe and fine-tune jobs in one fan-out (results in order)."""
    from components.clustermim.training import FinetuneJob, finetune_one

    return [finetune_one(j) if isinstance(j, FinetuneJob) else probe_one(j) for j in jobs]
