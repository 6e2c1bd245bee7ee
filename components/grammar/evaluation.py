"""GRAMMAR-Eval (spec §3.2, §6): group tags, accuracy / knowledge / robustness (and their "removing LLM
errors" variants), group-bootstrap CIs, retrieval judgements and the modular diagnosis."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd

MODULES = ("db_missing", "db_content", "retriever", "generator")
TAGS = ("gap", "robust", "non_robust")


def group_table(frame: pd.DataFrame, c: str = "c", r: str = "r_gt") -> pd.DataFrame:
    """Per group: size, #correct, #retrieval-correct and its tag (gap / robust / non_robust)."""
    g = frame.groupby("group_id", sort=True).agg(n=(c, "size"), correct=(c, "sum"), retrieved=(r, "sum"))
    g["tag"] = np.where(g["correct"] == 0, "gap", np.where(g["correct"] == g["n"], "robust", "non_robust"))
    return g


def metrics_from_groups(g: pd.DataFrame) -> dict[str, float]:
    """Spec §6 metrics from a group table; robustness is NaN (and flagged) when no group is competent."""
    n, correct, retrieved = g["n"].to_numpy(), g["correct"].to_numpy(), g["retrieved"].to_numpy()
    competent = correct > 0
    e_c = n[competent].sum()
    out = {
        "n_examples": float(n.sum()), "n_groups": float(len(g)),
        "accuracy": correct.sum() / n.sum() if n.sum() else math.nan,
        "accuracy_r": retrieved.sum() / n.sum() if n.sum() else math.nan,
        "knowledge_accuracy": competent.mean() if len(g) else math.nan,
        "robustness": correct[competent].sum() / e_c if e_c else math.nan,
        "robustness_r": retrieved[competent].sum() / e_c if e_c else math.nan,
        "robustness_defined": float(e_c > 0),
    }
    counts = Counter(g["tag"])
    out.update({f"n_{t}": float(counts.get(t, 0)) for t in TAGS})
    return out


def metrics(frame: pd.DataFrame, c: str = "c", r: str = "r_gt") -> dict[str, float]:
    return metrics_from_groups(group_table(frame, c, r))


def _ratio_boot(num: np.ndarray, den: np.ndarray, idx: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return num[idx].sum(axis=1) / den[idx].sum(axis=1)


def bootstrap_ci(g: pd.DataFrame, reps: int, seed: int) -> dict[str, tuple[float, float]]:
    """95 % percentile CIs of the accuracy-type metrics by resampling groups."""
    rng = np.random.default_rng(seed)
    n, correct, retrieved = (g[k].to_numpy(dtype=float) for k in ("n", "correct", "retrieved"))
    comp = (correct > 0).astype(float)
    idx = rng.integers(0, len(g), size=(reps, len(g)))
    draws = {"accuracy": _ratio_boot(correct, n, idx), "accuracy_r": _ratio_boot(retrieved, n, idx),
             "knowledge_accuracy": comp[idx].mean(axis=1),
             "robustness": _ratio_boot(correct * comp, n * comp, idx),
             "robustness_r": _ratio_boot(retrieved * comp, n * comp, idx)}
    return {k: _pct(v) for k, v in draws.items()}


def _pct(values: np.ndarray) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if not len(values):
        return (math.nan, math.nan)
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def paired_delta(a: pd.DataFrame, b: pd.DataFrame, metric: str, reps: int, seed: int) -> dict[str, float]:
    """metric(a) − metric(b) with a 95 % CI, resampling the groups both sets share (e.g. short vs long)."""
    ga, gb = group_table(a), group_table(b)
    common = ga.index.intersection(gb.index)
    ga, gb = ga.loc[common], gb.loc[common]
    value = metrics_from_groups(ga)[metric] - metrics_from_groups(gb)[metric]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(common), size=(reps, len(common)))
    draws = []
    for g in (ga, gb):
        n, correct = g["n"].to_numpy(float), g["correct"].to_numpy(float)
        comp = (correct > 0).astype(float)
        draws.append(_ratio_boot(correct * comp, n * comp, idx) if metric == "robustness"
                     else _ratio_boot(correct, n, idx))
    lo, hi = _pct(draws[0] - draws[1])
    return {"value": float(value), "lo": lo, "hi": hi}


def judge_retrieval(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``r_gt`` (retrieved set = true set) — must exist as column ``retrieval_ok`` — and ``r_ctx``:
    context comparison inside non-robust groups (same documents as a correct sibling); undefined (-1)
    elsewhere, where validation falls back to the true ids."""
    out = frame.copy()
    out["r_gt"] = out["retrieval_ok"].astype(int)
    tags = group_table(out)["tag"]
    out["tag"] = out["group_id"].map(tags)
    correct_docs = out[out["c"] == 1].groupby("group_id")["retrieved_key"].agg(set)
    same = [int(key in correct_docs.get(gid, set())) for gid, key in zip(out["group_id"], out["retrieved_key"])]
    out["r_ctx"] = np.where(out["tag"] == "non_robust", np.where(out["c"] == 1, 1, same), -1)
    return out


def true_module(row) -> str | None:
    """Ground truth for an incorrect example, from the data. An injected knowledge gap is the root cause
    whatever the retriever did (no retriever could have found the fact); otherwise a wrong retrieval
    blames the retriever and a right one the reader."""
    if row["c"] == 1:
        return None
    if row["doc_missing"]:
        return "db_missing"
    if row["fact_deleted"]:
        return "db_content"
    if not row["retrieval_ok"]:
        return "retriever"
    return "generator"


def predicted_modules(frame: pd.DataFrame, mode: str = "context") -> pd.Series:
    """GRAMMAR's attribution per incorrect example (spec §3.2 table); the gap-group rules need the true
    ids (retrieval-DB judgement), as context comparison is undefined there."""
    pred = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    for gid, g in frame.groupby("group_id", sort=False):
        wrong = g.index[g["c"] == 0]
        if not len(wrong):
            continue
        if g["tag"].iat[0] == "gap":
            if not g["doc_in_db"].all():
                label = "db_missing"
            elif g["r_gt"].sum() == 0:
                label = "retriever"
            elif not g.loc[g["r_gt"] == 1, "answer_in_doc"].any():
                label = "db_content"
            else:
                label = "generator"
            pred.loc[wrong] = label
        else:
            r = g.loc[wrong, "r_ctx" if mode == "context" else "r_gt"]
            pred.loc[wrong] = np.where(r == 1, "generator", "retriever")
    return pred


def group_attribution(frame: pd.DataFrame) -> pd.DataFrame:
    """Per group with errors: its attribution (the set of modules over its incorrect examples), the
    majority module (ties by module order) for single-label scoring, and the true module set."""
    rows = []
    for gid, g in frame[frame["c"] == 0].groupby("group_id", sort=True):
        counts = Counter(g["pred_module"])
        truth_counts = Counter(g["true_module"])
        rows.append({"group_id": gid, "tag": g["tag"].iat[0],
                     "pred_set": sorted(counts, key=MODULES.index),
                     "pred": max(MODULES, key=lambda m: (counts.get(m, 0), -MODULES.index(m))),
                     "truth": sorted(truth_counts, key=MODULES.index),
                     "truth_major": max(MODULES, key=lambda m: (truth_counts.get(m, 0), -MODULES.index(m)))})
    return pd.DataFrame(rows, columns=["group_id", "tag", "pred_set", "pred", "truth", "truth_major"])


def precision_recall(pred: list, truth: list[list[str]]) -> dict[str, dict[str, float]]:
    """Per module m over groups: P_m = #(m predicted ∧ m true)/#(m predicted), R_m = #(both)/#(m true).
    A prediction is a module (single label) or a set of modules (the group's attribution)."""
    sets = [set(p) if isinstance(p, (list, tuple, set)) else {p} for p in pred]
    out = {}
    for m in MODULES:
        n_pred = sum(m in p for p in sets)
        n_true = sum(m in t for t in truth)
        if not n_pred and not n_true:
            continue
        hit = sum(m in p and m in t for p, t in zip(sets, truth))
        out[m] = {"precision": hit / n_pred if n_pred else math.nan,
                  "recall": hit / n_true if n_true else math.nan, "n_pred": n_pred, "n_true": n_true}
    return out


def macro(pr: dict[str, dict[str, float]]) -> tuple[float, float]:
    ps = [v["precision"] for v in pr.values() if not math.isnan(v["precision"])]
    rs = [v["recall"] for v in pr.values() if not math.isnan(v["recall"])]
    return (float(np.mean(ps)) if ps else math.nan, float(np.mean(rs)) if rs else math.nan)


def resample_gap(frame: pd.DataFrame, factor: float, seed: int) -> pd.DataFrame:
    """Gap-group examples resampled ×factor (G1b: robustness must not move, accuracy must)."""
    g = group_table(frame)
    gap = frame["group_id"].isin(g.index[g["tag"] == "gap"])
    rng = np.random.default_rng(seed)
    parts = [frame[~gap]]
    for _, members in frame[gap].groupby("group_id"):
        n = max(1, int(round(factor * len(members))))
        parts.append(members.iloc[rng.integers(0, len(members), n)])
    return pd.concat(parts, ignore_index=True)
