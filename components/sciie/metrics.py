"""Official-style metrics (spec §6), implemented once: entity / Rel / Rel+ micro P/R/F1 and coreference
MUC, B³, CEAF-e (φ4) and the CoNLL average — all from additive per-document counts, so corpus scores and the
document bootstrap share one code path. Verdict rule of §8 and the two-level paired bootstrap."""

from __future__ import annotations

import numpy as np

from components.sciie.scierc import SYMMETRIC

# per-document count columns; every metric is a function of their sums over documents
COUNTS = ("ent_tp", "ent_pred", "ent_gold", "rel_tp", "rel_pred", "rel_gold", "relp_tp",
          "muc_rn", "muc_rd", "muc_pn", "muc_pd", "b3_rn", "b3_rd", "b3_pn", "b3_pd", "ceaf_sim", "ceaf_nk", "ceaf_nr")


def prf(tp: float, n_pred: float, n_gold: float) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _clusters(cl) -> list[frozenset]:
    return [frozenset(tuple(m) for m in c) for c in cl if len(c) >= 2]


def muc_counts(key: list[frozenset], resp: list[frozenset]) -> tuple[float, float]:
    """Σ_K (|K| − |p(K)|), Σ_K (|K| − 1): mentions of K absent from ``resp`` count as singletons."""
    where = {m: i for i, c in enumerate(resp) for m in c}
    num = den = 0
    for k in key:
        parts = {where.get(m, ("single", m)) for m in k}
        num += len(k) - len(parts)
        den += len(k) - 1
    return num, den


def b3_counts(key: list[frozenset], resp: list[frozenset]) -> tuple[float, float]:
    """Σ_K Σ_R |K∩R|²/|K|, Σ_K |K| (recall form; swap the arguments for precision)."""
    num = sum(len(k & r) ** 2 / len(k) for k in key for r in resp)
    return num, sum(len(k) for k in key)


def ceafe_counts(key: list[frozenset], resp: list[frozenset]) -> tuple[float, int, int]:
    """Σ φ4 over the optimal one-to-one alignment, #key, #response clusters."""
    if not key or not resp:
        return 0.0, len(key), len(resp)
    from scipy.optimize import linear_sum_assignment

    sim = np.array([[2 * len(k & r) / (len(k) + len(r)) for r in resp] for k in key])
    rows, cols = linear_sum_assignment(-sim)
    return float(sim[rows, cols].sum()), len(key), len(resp)


def coref_scores(key_clusters, resp_clusters) -> dict:
    """MUC / B³ / CEAF-e P, R, F1 and CoNLL F1 for one document (or a corpus given as one list)."""
    c = dict(zip(COUNTS, [0] * len(COUNTS)))
    _coref_into(c, key_clusters, resp_clusters)
    return coref_from_counts(c)


def _coref_into(c: dict, key_clusters, resp_clusters) -> None:
    key, resp = _clusters(key_clusters), _clusters(resp_clusters)
    c["muc_rn"], c["muc_rd"] = muc_counts(key, resp)
    c["muc_pn"], c["muc_pd"] = muc_counts(resp, key)
    c["b3_rn"], c["b3_rd"] = b3_counts(key, resp)
    c["b3_pn"], c["b3_pd"] = b3_counts(resp, key)
    c["ceaf_sim"], c["ceaf_nk"], c["ceaf_nr"] = ceafe_counts(key, resp)


def _f(p, r):
    return 2 * p * r / (p + r) if p + r else 0.0


def coref_from_counts(c) -> dict:
    out = {}
    for name, (rn, rd, pn, pd_) in {"muc": ("muc_rn", "muc_rd", "muc_pn", "muc_pd"),
                                    "b3": ("b3_rn", "b3_rd", "b3_pn", "b3_pd")}.items():
        r = c[rn] / c[rd] if c[rd] else 0.0
        p = c[pn] / c[pd_] if c[pd_] else 0.0
        out.update({f"{name}_p": p, f"{name}_r": r, f"{name}_f1": _f(p, r)})
    r = c["ceaf_sim"] / c["ceaf_nk"] if c["ceaf_nk"] else 0.0
    p = c["ceaf_sim"] / c["ceaf_nr"] if c["ceaf_nr"] else 0.0
    out.update({"ceafe_p": p, "ceafe_r": r, "ceafe_f1": _f(p, r)})
    out["conll_f1"] = (out["muc_f1"] + out["b3_f1"] + out["ceafe_f1"]) / 3
    return out


def doc_counts(gold: dict, pred: dict) -> dict:
    """Per-document counts: exact typed entity match; Rel = exact ordered spans + label (types ignored);
    Rel+ = Rel and both arguments' predicted types equal the gold types; coreference components."""
    from components.sciie.scierc import entities, relations

    c = dict(zip(COUNTS, [0] * len(COUNTS)))
    ge, pe = set(entities(gold)), set(entities(pred, "predicted_ner"))
    c["ent_tp"], c["ent_pred"], c["ent_gold"] = len(ge & pe), len(pe), len(ge)
    gr, pr = set(relations(gold)), set(relations(pred, "predicted_relations"))
    c["rel_tp"], c["rel_pred"], c["rel_gold"] = len(gr & pr), len(pr), len(gr)
    gtype = {(s, e): t for s, e, t in ge}
    ptype = {(s, e): t for s, e, t in pe}
    c["relp_tp"] = sum(1 for r in gr & pr
                       if ptype.get(r[:2]) is not None and ptype.get(r[:2]) == gtype.get(r[:2])
                       and ptype.get(r[2:4]) is not None and ptype.get(r[2:4]) == gtype.get(r[2:4]))
    _coref_into(c, gold.get("clusters", []), pred.get("predicted_clusters", []))
    return c


def scores_from_counts(c) -> dict:
    out = {}
    for name, (tp, n_pred, n_gold) in {"ent": ("ent_tp", "ent_pred", "ent_gold"),
                                       "rel": ("rel_tp", "rel_pred", "rel_gold"),
                                       "relp": ("relp_tp", "rel_pred", "rel_gold")}.items():
        out[f"{name}_p"], out[f"{name}_r"], out[f"{name}_f1"] = prf(c[tp], c[n_pred], c[n_gold])
    out.update(coref_from_counts(c))
    return out


METRIC_OF = {"entity F1": "ent_f1", "Rel F1": "rel_f1", "Rel+ F1": "relp_f1", "CoNLL F1": "conll_f1"}


def _metric_vec(S: np.ndarray, metric: str) -> np.ndarray:
    """``metric`` from count sums ``S`` (…, len(COUNTS)), vectorised."""
    ix = {k: i for i, k in enumerate(COUNTS)}

    def g(k):
        return S[..., ix[k]]

    def f1(tp, npred, ngold):
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(npred > 0, tp / np.where(npred > 0, npred, 1), 0.0)
            r = np.where(ngold > 0, tp / np.where(ngold > 0, ngold, 1), 0.0)
            return np.where(p + r > 0, 2 * p * r / np.where(p + r > 0, p + r, 1), 0.0)

    if metric == "ent_f1":
        return f1(g("ent_tp"), g("ent_pred"), g("ent_gold"))
    if metric == "rel_f1":
        return f1(g("rel_tp"), g("rel_pred"), g("rel_gold"))
    if metric == "relp_f1":
        return f1(g("relp_tp"), g("rel_pred"), g("rel_gold"))
    if metric == "conll_f1":
        def ratio_f(rn, rd, pn, pd_):
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(rd > 0, rn / np.where(rd > 0, rd, 1), 0.0)
                p = np.where(pd_ > 0, pn / np.where(pd_ > 0, pd_, 1), 0.0)
                return np.where(p + r > 0, 2 * p * r / np.where(p + r > 0, p + r, 1), 0.0)
        return (ratio_f(g("muc_rn"), g("muc_rd"), g("muc_pn"), g("muc_pd"))
                + ratio_f(g("b3_rn"), g("b3_rd"), g("b3_pn"), g("b3_pd"))
                + ratio_f(g("ceaf_sim"), g("ceaf_nk"), g("ceaf_sim"), g("ceaf_nr"))) / 3
    raise ValueError(metric)


def paired_bootstrap(counts_m: np.ndarray, counts_s: np.ndarray, metric: str, n_boot: int = 2000,
                     seed: int = 0) -> dict:
    """Two-level bootstrap of mean Δ = F1(M) − F1(S) (spec §6).

    ``counts_*``: (seeds, docs, len(COUNTS)) per-document counts on the same test documents, seed i of M paired
    with seed i of S. Each resample draws seeds with replacement, then documents with replacement (one draw shared
    by M and S), recomputes micro-F1 for both and averages Δ over the drawn seeds."""
    counts_m, counts_s = np.asarray(counts_m, float), np.asarray(counts_s, float)
    n_seeds, n_docs, _ = counts_m.shape
    fm = _metric_vec(counts_m.sum(1), metric)
    fs = _metric_vec(counts_s.sum(1), metric)
    delta = fm - fs
    rng = np.random.default_rng(seed)
    W = rng.multinomial(n_docs, np.full(n_docs, 1 / n_docs), size=n_boot).astype(float)  # (B, docs)
    Sm = np.einsum("bd,sdk->bsk", W, counts_m)
    Ss = np.einsum("bd,sdk->bsk", W, counts_s)
    dB = _metric_vec(Sm, metric) - _metric_vec(Ss, metric)  # (B, seeds)
    pick = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    means = np.take_along_axis(dB, pick, axis=1).mean(1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"mean_delta": float(delta.mean()), "ci_lo": float(lo), "ci_hi": float(hi),
            "wins": int((delta > 0).sum()), "n_seeds": int(n_seeds), "f1_m": fm.tolist(), "f1_s": fs.tolist(),
            "deltas": delta.tolist()}


def verdict_rule(mean_delta: float, ci_lo: float, ci_hi: float, wins: int, *, delta: float = 0.01,
                 min_wins: int = 4) -> str:
    """§8: reproduced if mean Δ > 0, CI lower bound > 0 and wins ≥ 4/5; not reproduced if the CI upper bound
    < δ (a gain of δ or more is excluded); inconclusive otherwise (rules checked in this order)."""
    if mean_delta > 0 and ci_lo > 0 and wins >= min_wins:
        return "reproduced"
    if ci_hi < delta:
        return "not reproduced"
    return "inconclusive"


def control_rule_no_gain(ci_lo: float, ci_hi: float, *, delta: float = 0.01) -> str:
    """M7 (negative control, expect no gain): as expected (→ reproduced) if the CI upper bound < δ; not as
    expected (→ not reproduced) if the CI lower bound > 0 (random supervision helped); else inconclusive."""
    if ci_hi < delta:
        return "reproduced"
    if ci_lo > 0:
        return "not reproduced"
    return "inconclusive"


def control_rule_equivalence(ci_lo: float, ci_hi: float, *, delta: float = 0.01) -> str:
    """M8: as expected if the CI lies inside (−δ, δ); not as expected if it lies entirely outside; else
    inconclusive."""
    if -delta < ci_lo and ci_hi < delta:
        return "reproduced"
    if ci_lo >= delta or ci_hi <= -delta:
        return "not reproduced"
    return "inconclusive"


def canonical_symmetric(rels: list[list]) -> list[list]:
    """Symmetric labels to textual order; a pair predicted both ways is kept once (the textual-order one)."""
    out, seen = [], set()
    for s1, e1, s2, e2, lab in rels:
        if lab in SYMMETRIC and (s2, e2) < (s1, e1):
            s1, e1, s2, e2 = s2, e2, s1, e1
        key = (s1, e1, s2, e2, lab)
        if key not in seen:
            seen.add(key)
            out.append([s1, e1, s2, e2, lab])
    return out
