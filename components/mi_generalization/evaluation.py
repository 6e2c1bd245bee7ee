"""Final-epoch metrics per trained network (gaps, Î, B_XR, the SGLD bounds), bootstrap CIs over runs, and the
estimators' checks on distributions with known MI."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import expit

from components.mi_generalization import bounds as B
from components.mi_generalization.estimators import binning_mi, gibbs_mi, kde_mi

PLUGINS = {"xbar_t1_plus_y_yhat": ("i_xbar_t_t1", "i_yt_yhat"), "x_t1": ("i_xt_t1",), "x_yhat": ("i_xt_yhat",)}


def plugin_mi(final: dict, plugin: str) -> float:
    """Î from a run's final-epoch MI values (bits)."""
    return float(sum(final[k] for k in PLUGINS[plugin]))


def run_table(manifest: list[dict], plugin: str, sigma: float) -> pd.DataFrame:
    """One row per trained network with its final metrics; for E2/E3 networks the gaps, Î and the bounds."""
    rows = []
    for r in manifest:
        f = r["final"]
        row = {"tag": r["tag"], "exp": r["exp"], "kind": r["kind"], "var": r["var"], "run": r["run"],
               "optimizer": r["optimizer"], "train_seconds": r["train_seconds"], "train_acc": f["train_acc"],
               "train_loss": f["train_loss"]}
        row.update({k: f[k] for k in f if k.startswith(("i_xt_", "i_yt_", "i_xbar_t_"))})
        if r["exp"] == "e2":
            n = int(r["n"])
            err_train = 1 - f["train_acc"]
            row.update(n=n, err_train=err_train, err_iid=1 - f["iid_acc"], gap_01=(1 - f["iid_acc"]) - err_train,
                       gap_code=(1 - f["code_acc"]) - err_train, gap_ce=f["iid_loss"] - f["train_loss"],
                       i_hat=plugin_mi(f, plugin), bound=f["bound"])
            row["b_xr"] = B.xu_raginsky(row["i_hat"], n, sigma)
            for name in PLUGINS:
                row[f"b_xr_{name}"] = B.xu_raginsky(plugin_mi(f, name), n, sigma)
        else:
            row.update(test_acc=f["test_acc"], test_loss=f["test_loss"])
        rows.append(row)
    return pd.DataFrame(rows)


def boot_ci(values, n_boot: int, seed: int, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap of the mean over runs."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (math.nan, math.nan, math.nan)
    if len(v) == 1:
        return (float(v[0]), math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    a = (1 - level) / 2
    return (float(v.mean()), float(np.quantile(means, a)), float(np.quantile(means, 1 - a)))


def t_ci(values, level: float = 0.95) -> tuple[float, float, float, float, int]:
    """(mean, low, high, sd, n): Student-t interval of the mean over repeats.

    Used where a mean over repeats is judged against a fixed tolerance (M3, M5): unlike the percentile
    bootstrap it does not shrink below the sampling error at small n; NaN bounds with fewer than 2 values."""
    from scipy.stats import t

    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (math.nan, math.nan, math.nan, math.nan, 0)
    if len(v) == 1:
        return (float(v[0]), math.nan, math.nan, math.nan, 1)
    m, sd = float(v.mean()), float(v.std(ddof=1))
    h = float(t.ppf(0.5 + level / 2, len(v) - 1)) * sd / math.sqrt(len(v))
    return (m, m - h, m + h, sd, len(v))


def bound_pairs(table: pd.DataFrame, optimizer: str, var: float) -> dict[str, pd.DataFrame]:
    """Per simulator: the E2 networks at ``var`` trained with ``optimizer``, indexed by run."""
    sel = table[(table.exp == "e2") & (table.optimizer == optimizer) & (table["var"] == var)] if len(table) else table
    return {k: g.set_index("run").sort_index() for k, g in sel.groupby("kind")} if len(sel) else {}


def per_run_average(pairs: dict[str, pd.DataFrame], column: str) -> pd.Series:
    """A run's value averaged over its simulator networks (one value per run for CIs over runs)."""
    frames = [g[column] for g in pairs.values()]
    return pd.concat(frames, axis=1).mean(axis=1) if frames else pd.Series(dtype=float)


# --- estimators on distributions with known MI (in-pipeline sanity checks) ---------------------------------

def binary_entropy(p: float) -> float:
    return float(-(p * math.log2(p) + (1 - p) * math.log2(1 - p))) if 0 < p < 1 else 0.0


def two_point_gaussian_mi(dist: float, var: float) -> float:
    """True I(X; X + N) in bits for X uniform on {0, dist} (1-D), N ~ N(0, var): numerical integration."""
    s = math.sqrt(var)
    t = np.linspace(-12 * s, dist + 12 * s, 200001)
    p0 = np.exp(-t**2 / (2 * var)) / math.sqrt(2 * math.pi * var)
    p1 = np.exp(-(t - dist) ** 2 / (2 * var)) / math.sqrt(2 * math.pi * var)
    mix = 0.5 * (p0 + p1)
    integrand = 0.5 * p0 * np.log2(np.maximum(p0, 1e-300) / np.maximum(mix, 1e-300)) + \
        0.5 * p1 * np.log2(np.maximum(p1, 1e-300) / np.maximum(mix, 1e-300))
    return float(np.trapezoid(integrand, t))


def estimator_checks() -> list[dict]:
    """Each estimator on inputs whose MI is known in closed form (or bounded by a known value)."""
    rows = []
    a = 3.0
    g = gibbs_mi(np.array([[a, 0.0], [0.0, a]]))
    rows.append({"case": "gibbs two samples [[a,0],[0,a]], a=3", "expected": 1 - binary_entropy(float(expit(a))),
                 "observed": g["i_xt"], "tol": 1e-10})
    acts = np.repeat(np.eye(4) * 1e3, 128, axis=0)
    labels = np.repeat([0, 1, 0, 1], 128)
    g = gibbs_mi(acts, labels)
    rows += [{"case": "gibbs one-hot, 4 prototypes: I(X;F)", "expected": 2.0, "observed": g["i_xt"], "tol": 1e-9},
             {"case": "gibbs one-hot: I(F;Y)", "expected": 1.0, "observed": g["i_yt"], "tol": 1e-9},
             {"case": "gibbs one-hot: I(X̄;F)", "expected": 1.0, "observed": g["i_xbar_t"], "tol": 1e-9}]
    clusters = np.repeat(np.array([[0.2, 0.2], [5.2, 0.2], [0.2, 5.2], [5.2, 5.2]]), 128, axis=0)
    b = binning_mi(clusters, labels, 1.0)
    rows += [{"case": "binning, 4 separated clusters: I(X;T)", "expected": 2.0, "observed": b["i_xt"], "tol": 1e-12},
             {"case": "binning, 4 separated clusters: I(T;Y)", "expected": 1.0, "observed": b["i_yt"], "tol": 1e-12}]
    k = kde_mi(clusters * 20, labels, 1.0)
    rows.append({"case": "KDE, 4 far-apart points + N(0,1): I(X;T+N)", "expected": 2.0, "observed": k["i_xt"],
                 "tol": 1e-6})
    dist, var = 2.0, 1.0
    pts = np.repeat(np.array([[0.0], [dist]]), 64, axis=0)
    k = kde_mi(pts, np.repeat([0, 1], 64), var)
    upper = -math.log2(0.5 + 0.5 * math.exp(-dist**2 / (2 * var)))  # the pairwise-KL bound in closed form
    true = two_point_gaussian_mi(dist, var)
    rows.append({"case": "KDE = pairwise-KL bound, 2 points 2σ apart", "expected": upper, "observed": k["i_xt"],
                 "tol": 1e-9})
    rows.append({"case": "KDE ≥ true I(X;X+N) (numerical) for 2 points 2σ apart", "expected": true,
                 "observed": k["i_xt"], "tol": math.inf, "lower_bound": True})
    for r in rows:
        err = r["observed"] - r["expected"]
        r["ok"] = bool(err >= -1e-9) if r.pop("lower_bound", False) else bool(abs(err) <= r["tol"])
        r["abs_err"] = abs(err)
    return rows
