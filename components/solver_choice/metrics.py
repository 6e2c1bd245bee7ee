"""Point metrics (Exe_Rate, Exe_Acc, Acc_strict, Acc_random), language spreads, per-solver correlations, and
bootstrap CIs over items (paired: one resample of each dataset's items serves every translator and language)."""

from __future__ import annotations

import numpy as np

LANGS = ("pyke", "fol", "z3")
SOLVER = {"pyke": "Pyke", "fol": "Prover9", "z3": "Z3"}


def point(records: list[dict], rng_seed: int, n_options: int) -> dict:
    succ = np.array([r["flag"] == "success" for r in records], float)
    corr = np.array([r["flag"] == "success" and r["answer"] == r["gold"] for r in records], float)
    rng = np.random.default_rng(rng_seed)
    backup = rng.choice(list("ABC"[:n_options]), size=len(records))
    rand = np.array([(r["answer"] if r["flag"] == "success" else b) == r["gold"] for r, b in zip(records, backup)])
    n = len(records)
    errs = {}
    for r in records:
        if r["flag"] != "success":
            key = ("parse_" if r["flag"] == "parsing error" else "exec_") + (r["error"] or "other")
            errs[key] = errs.get(key, 0) + 1
    return {"n": n, "exe_rate": succ.mean(), "exe_acc": corr.sum() / succ.sum() if succ.sum() else float("nan"),
            "acc_strict": corr.mean(), "acc_random": rand.mean(),
            "parse_errors": sum(r["flag"] == "parsing error" for r in records) / n,
            "exec_errors": sum(r["flag"] == "execution error" for r in records) / n, "errors": errs}


def pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise Pearson r of (B, k) arrays, ignoring NaN columns per row; NaN where undefined."""
    ok = ~(np.isnan(x) | np.isnan(y))
    n = ok.sum(1)
    xm = np.where(ok, x, 0).sum(1) / np.maximum(n, 1)
    ym = np.where(ok, y, 0).sum(1) / np.maximum(n, 1)
    dx, dy = np.where(ok, x - xm[:, None], 0), np.where(ok, y - ym[:, None], 0)
    den = np.sqrt((dx ** 2).sum(1) * (dy ** 2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (dx * dy).sum(1) / den
    r[(den == 0) | (n < 3)] = np.nan
    return r


def pearson(x, y) -> float:
    return float(pearson_rows(np.asarray(x, float)[None], np.asarray(y, float)[None])[0])


def spearman(x, y) -> float:
    from scipy.stats import rankdata

    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = ~(np.isnan(x) | np.isnan(y))
    return pearson(rankdata(x[ok]), rankdata(y[ok])) if ok.sum() >= 3 else float("nan")


def ci(values: np.ndarray) -> tuple[float, float]:
    v = values[~np.isnan(values)]
    if len(v) < 10:
        return float("nan"), float("nan")
    return float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))


class Bootstrap:
    """Per-item success/correct arrays for every (translator, lang, dataset); statistics recomputed per resample."""

    def __init__(self, arrays: dict[tuple, tuple[np.ndarray, np.ndarray]], reps: int, seed: int):
        self.arrays = arrays
        rng = np.random.default_rng(seed)
        sizes = {}
        for (_, _, ds), (s, _) in arrays.items():
            sizes[ds] = len(s)
        self.idx = {ds: rng.integers(0, n, size=(reps, n)) for ds, n in sorted(sizes.items())}

    def stat(self, key: tuple, what: str) -> np.ndarray:
        s, c = self.arrays[key]
        idx = self.idx[key[2]]
        ss, cc = s[idx].sum(1), c[idx].sum(1)
        n = idx.shape[1]
        if what == "exe_rate":
            return ss / n
        if what == "acc_strict":
            return cc / n
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ss > 0, cc / np.maximum(ss, 1), np.nan)


def correlations(points: list[dict], boot: Bootstrap, translators: list[str], datasets: list[str]) -> dict:
    """Per solver: r(Exe_Rate, Acc_strict) and r(Exe_Rate, Exe_Acc) over translators × datasets, with CIs."""
    out = {}
    by = {(p["translator"], p["lang"], p["dataset"]): p for p in points}
    for lang in LANGS:
        keys = [(t, lang, d) for t in translators for d in datasets if (t, lang, d) in by]
        if not keys:
            continue
        x = np.array([by[k]["exe_rate"] for k in keys])
        res = {"n_points": len(keys)}
        reps = {}
        for acc in ("acc_strict", "exe_acc"):
            y = np.array([by[k][acc] for k in keys], float)
            bx = np.stack([boot.stat(k, "exe_rate") for k in keys], 1)
            by_ = np.stack([boot.stat(k, acc) for k in keys], 1)
            rb = pearson_rows(bx, by_)
            reps[acc] = rb
            lo, hi = ci(rb)
            res[acc] = {"r": pearson(x, y), "ci": [lo, hi], "spearman": spearman(x, y)}
        out[lang] = res
        out[lang]["_reps"] = reps
    return out


def spread_max(points: list[dict], boot: Bootstrap, translators: list[str], datasets: list[str]) -> dict:
    """max over (translator, dataset) of max_ℓ Exe_Rate − min_ℓ Exe_Rate, with a bootstrap CI."""
    best, where, reps = -1.0, None, None
    by = {(p["translator"], p["lang"], p["dataset"]): p for p in points}
    rows = []
    allb = []
    for t in translators:
        for d in datasets:
            keys = [(t, lang, d) for lang in LANGS if (t, lang, d) in by]
            if len(keys) < 2:
                continue
            ers = [by[k]["exe_rate"] for k in keys]
            s = max(ers) - min(ers)
            rows.append({"translator": t, "dataset": d, "spread": s, **{f"er_{k[1]}": by[k]["exe_rate"] for k in keys}})
            b = np.stack([boot.stat(k, "exe_rate") for k in keys], 1)
            allb.append(b.max(1) - b.min(1))
            if s > best:
                best, where = s, (t, d)
    if allb:
        reps = np.stack(allb, 1).max(1)
    lo, hi = ci(reps) if reps is not None else (float("nan"), float("nan"))
    return {"max_spread": best, "where": where, "ci": [lo, hi], "rows": rows}


def mean_exe_rate_diffs(points: list[dict], boot: Bootstrap, translators: list[str], datasets: list[str]) -> dict:
    by = {(p["translator"], p["lang"], p["dataset"]): p for p in points}
    means, reps = {}, {}
    for lang in LANGS:
        keys = [(t, lang, d) for t in translators for d in datasets if (t, lang, d) in by]
        means[lang] = float(np.mean([by[k]["exe_rate"] for k in keys])) if keys else float("nan")
        reps[lang] = np.mean(np.stack([boot.stat(k, "exe_rate") for k in keys], 1), 1) if keys else None
    diffs = {}
    for other in ("pyke", "z3"):
        if reps["fol"] is None or reps[other] is None:
            continue
        d = reps["fol"] - reps[other]
        diffs[other] = {"diff": means["fol"] - means[other], "ci": list(ci(d))}
    return {"means": means, "diffs": diffs}
