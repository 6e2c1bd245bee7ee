"""Identification studies (spec §4.2, §8 C2, C6a–d, C7, C10, C14): small seeded SCMs and three real datasets,
each run through the estimator the identification strategy calls for.

* ``scm_ks`` (Kang–Schafer-style): outcome regression, IPW and AIPW with correct (X) or misspecified (Z)
  nuisance models — the four combinations of double robustness.
* ``scm_iv``: OLS vs 2SLS (linearmodels ``IV2SLS``) with a strong and a weak instrument.
* ``scm_frontdoor``: naive difference vs the front-door two-stage regression (DoWhy's
  ``frontdoor.two_stage_regression`` formula, computed here as two OLS fits: β(M ~ T) · β(Y ~ M | T)).
* ``scm_rdd`` and the real ``rdd_lmb`` / ``rdd_transfers``: local-linear RDD with a uniform kernel (own:
  DoWhy's RDD estimator is an IV on the running variable, spec §2), HC1 standard errors from statsmodels.
* ``dag_latent``: FCI (causal-learn) and the mark it puts on (X₂, X₃), which share the hidden L.
* ``nhefs``: the textbook IPW of Hernán & Robins ch. 12 (logistic PS, Hájek weights, no clipping).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TAU_KS, TAU_IV, TAU_FRONTDOOR, TAU_RDD = 10.0, 1.5, 1.5, 2.0
LMB_ANCHOR, LMB_WINDOW, LMB_ROWS, LMB_WINDOW_ROWS = 21.28, 0.02, 13588, 915
TRANSFERS_ROWS, NHEFS_ROWS = 1948, 1566
NHEFS_IPW_ANCHOR, NHEFS_NAIVE = 3.44, 2.54


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _ols(y: np.ndarray, *cols: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of y on an intercept and ``cols`` (intercept first)."""
    x = np.column_stack([np.ones(len(y)), *cols])
    return np.linalg.lstsq(x, y, rcond=None)[0]


# --- C2: Kang–Schafer double robustness ---------------------------------------------------------------------

def scm_ks(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """X ~ N(0, I₄); T ~ Bern(σ(−x₁ + 0.5x₂ − 0.25x₃ − 0.1x₄)); Y = 210 + 10T + 27.4x₁ + 13.7(x₂+x₃+x₄) + ε;
    Z = Kang–Schafer's nonlinear transforms of X (the 'misspecified' covariates)."""
    x = rng.standard_normal((n, 4))
    t = (rng.random(n) < _sigmoid(-x[:, 0] + 0.5 * x[:, 1] - 0.25 * x[:, 2] - 0.1 * x[:, 3])).astype(np.int64)
    y = 210 + TAU_KS * t + 27.4 * x[:, 0] + 13.7 * x[:, 1:].sum(axis=1) + rng.standard_normal(n)
    z = np.column_stack([np.exp(x[:, 0] / 2), x[:, 1] / (1 + np.exp(x[:, 0])) + 10,
                         (x[:, 0] * x[:, 2] / 25 + 0.6) ** 3, (x[:, 1] + x[:, 3] + 20) ** 2])
    return {"x": x, "z": z, "t": t, "y": y}


def ks_estimates(data: dict, ps_ok: bool, or_ok: bool) -> dict[str, float]:
    """ATE of the outcome model (ols: arm-wise linear regressions), Hájek IPW and AIPW; 'ok' nuisances use X,
    misspecified ones use Z (standardised for the logistic fit)."""
    from sklearn.linear_model import LogisticRegression

    t, y = data["t"], data["y"]
    ps_cov = data["x"] if ps_ok else data["z"]
    ps_cov = (ps_cov - ps_cov.mean(0)) / ps_cov.std(0)
    e = LogisticRegression(C=1e6, max_iter=5000).fit(ps_cov, t).predict_proba(ps_cov)[:, 1]
    or_cov = data["x"] if or_ok else data["z"]
    design = np.column_stack([np.ones(len(y)), or_cov])
    mu = {}
    for arm in (0, 1):
        coef = np.linalg.lstsq(design[t == arm], y[t == arm], rcond=None)[0]
        mu[arm] = design @ coef
    w1, w0 = t / e, (1 - t) / (1 - e)
    ipw = float(np.sum(w1 * y) / np.sum(w1) - np.sum(w0 * y) / np.sum(w0))
    aipw = float(np.mean(mu[1] - mu[0] + t * (y - mu[1]) / e - (1 - t) * (y - mu[0]) / (1 - e)))
    return {"ols": float(np.mean(mu[1] - mu[0])), "ipw": ipw, "aipw": aipw, "min_ps": float(min(e.min(), 1 - e.max()))}


# --- C6a / C7: instrumental variables ------------------------------------------------------------------------

def scm_iv(n: int, gamma: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """U hidden; Z ~ N(0, 1); T = γZ + U + ν; Y = 1.5T + 2U + ε."""
    u, z = rng.standard_normal(n), rng.standard_normal(n)
    t = gamma * z + u + rng.standard_normal(n)
    return {"z": z, "t": t, "y": TAU_IV * t + 2 * u + rng.standard_normal(n)}


def iv_estimates(data: dict) -> dict[str, float]:
    """OLS of Y on T, and 2SLS with Z as instrument (linearmodels), with the first-stage F (t² of γ̂)."""
    from linearmodels.iv import IV2SLS

    frame = pd.DataFrame({"y": data["y"], "t": data["t"], "z": data["z"], "const": 1.0})
    fit = IV2SLS(frame.y, frame[["const"]], frame[["t"]], frame[["z"]]).fit(cov_type="robust")
    first = fit.first_stage.individual["t"]
    return {"ols": float(_ols(data["y"], data["t"])[1]), "2sls": float(fit.params["t"]),
            "2sls_se": float(fit.std_errors["t"]), "first_stage_f": float(first.tstats["z"] ** 2)}


# --- C6b: front-door -----------------------------------------------------------------------------------------

def scm_frontdoor(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """U hidden; T = 1[U + ν > 0]; M = T + ν_M; Y = 1.5M + 2U + ε."""
    u = rng.standard_normal(n)
    t = (u + rng.standard_normal(n) > 0).astype(np.int64)
    m = t + rng.standard_normal(n)
    return {"t": t, "m": m, "y": TAU_FRONTDOOR * m + 2 * u + rng.standard_normal(n)}


def frontdoor_estimates(data: dict) -> dict[str, float]:
    """naive: difference in means; front-door (linear): β(M ~ T) · β(Y ~ M | T)."""
    t, m, y = data["t"], data["m"], data["y"]
    naive = float(y[t == 1].mean() - y[t == 0].mean())
    return {"naive": naive, "frontdoor": float(_ols(m, t)[1] * _ols(y, m, t)[1])}


# --- C6c / C6d: regression discontinuity ---------------------------------------------------------------------

def scm_rdd(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """R ~ U(−1, 1); T = 1[R ≥ 0]; Y = 0.5 + 1.2R − 0.8R² + 2T + ε, ε ~ N(0, 0.5²)."""
    r = rng.uniform(-1, 1, n)
    t = (r >= 0).astype(np.int64)
    return {"r": r, "y": 0.5 + 1.2 * r - 0.8 * r ** 2 + TAU_RDD * t + 0.5 * rng.standard_normal(n)}


def rdd_ll(r: np.ndarray, y: np.ndarray, cutoff: float, h: float, treated_below: bool = False) -> dict[str, float]:
    """Local-linear RDD, uniform kernel: OLS of y on [1, T, r − c, T·(r − c)] within |r − c| < h; the jump is
    T's coefficient (treated side minus control side), SE HC1 (statsmodels)."""
    import statsmodels.api as sm

    keep = np.abs(r - cutoff) < h
    rc = r[keep] - cutoff
    t = (rc < 0) if treated_below else (rc >= 0)
    t = t.astype(np.float64)
    x = np.column_stack([np.ones(keep.sum()), t, rc, t * rc])
    fit = sm.OLS(y[keep], x).fit(cov_type="HC1")
    return {"estimate": float(fit.params[1]), "se": float(fit.bse[1]), "n": int(keep.sum()), "h": float(h)}


def rdd_dowhy(r: np.ndarray, y: np.ndarray, cutoff: float, h: float) -> float:
    """DoWhy's regression-discontinuity estimator (an IV on the running variable within ±h; spec §2 caveat)."""
    import logging

    from dowhy import CausalModel

    for name in ("dowhy", "dowhy.causal_model", "dowhy.causal_identifier"):
        logging.getLogger(name).setLevel(logging.ERROR)
    frame = pd.DataFrame({"r": r, "t": (r >= cutoff).astype(bool), "y": y})
    model = CausalModel(data=frame, treatment="t", outcome="y", instruments=["r"])
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    est = model.estimate_effect(estimand, method_name="iv.regression_discontinuity",
                                method_params={"rd_variable_name": "r", "rd_threshold_value": cutoff,
                                               "rd_bandwidth": h})
    return float(est.value)


def lmb_frame() -> pd.DataFrame:
    """Lee–Moretti–Butler close elections (causaldata): running variable lagdemvoteshare, cutoff 0.5, outcome score.
    ``state`` (a string category) is dropped; rows with a missing vote share are kept here (counted by the suite)."""
    import causaldata

    raw = causaldata.close_elections_lmb.load_pandas().data
    return pd.DataFrame({"r": raw.lagdemvoteshare.astype(np.float64), "t": raw.lagdemocrat.astype(np.int64),
                         "y": raw.score.astype(np.float64)})


def lmb_anchor(frame: pd.DataFrame) -> tuple[float, int]:
    """Mixtape's close-election contrast: OLS of score on lagdemocrat within |lagdemvoteshare − 0.5| < 0.02."""
    close = frame.dropna()
    close = close[(close.r - 0.5).abs() < LMB_WINDOW]
    return float(_ols(close.y.to_numpy(), close.t.to_numpy(np.float64))[1]), len(close)


def transfers_frame() -> pd.DataFrame:
    """Manacorda et al.'s Uruguay transfers (causaldata gov_transfers): treated below Income_Centered = 0."""
    import causaldata

    raw = causaldata.gov_transfers.load_pandas().data
    return pd.DataFrame({"r": raw.Income_Centered.astype(np.float64), "t": raw.Participation.astype(np.int64),
                         "y": raw.Support.astype(np.float64)})


# --- C10: FCI under a latent confounder ----------------------------------------------------------------------

LATENT_NAMES = ["X1", "X2", "X3", "X4", "X5"]


def dag_latent(n: int, rng: np.random.Generator) -> np.ndarray:
    """Observed X₁..X₅, hidden L: X₁→X₂, L→X₂, L→X₃, X₄→X₃, X₂→X₅; linear-Gaussian, weights 1."""
    e = rng.standard_normal((n, 6))
    x1, x4, latent = e[:, 0], e[:, 3], e[:, 5]
    x2 = x1 + latent + e[:, 1]
    x3 = latent + x4 + e[:, 2]
    x5 = x2 + e[:, 4]
    return np.column_stack([x1, x2, x3, x4, x5])


def fci_pag(x: np.ndarray, alpha: float) -> np.ndarray:
    """causal-learn FCI (Fisher-z) → its endpoint matrix (−1 tail, 1 arrow, 2 circle; G[j, i] is the mark at j)."""
    from causallearn.search.ConstraintBased.FCI import fci

    graph, _ = fci(x, independence_test_method="fisherz", alpha=alpha, show_progress=False, verbose=False)
    return np.asarray(graph.graph)


def pag_mark(pag: np.ndarray, i: int, j: int) -> str:
    """The edge between i and j as text: '↔', '→', '←', 'o→', '←o', 'o-o', '—' or 'none'."""
    at_i, at_j = pag[i, j], pag[j, i]  # causal-learn: i → j is graph[j, i] = 1 (arrow at j), graph[i, j] = −1 (tail at i)
    if at_i == 0 and at_j == 0:
        return "none"
    sym = {-1: "tail", 1: "arrow", 2: "circle"}
    key = (sym.get(int(at_i)), sym.get(int(at_j)))
    return {("arrow", "arrow"): "↔", ("tail", "arrow"): "→", ("arrow", "tail"): "←", ("circle", "arrow"): "o→",
            ("arrow", "circle"): "←o", ("circle", "circle"): "o-o", ("tail", "tail"): "—"}.get(key, str(key))


# --- C14: NHEFS textbook IPW ---------------------------------------------------------------------------------

def nhefs_frame() -> pd.DataFrame:
    import causaldata

    raw = causaldata.nhefs_complete.load_pandas().data
    cols = ["qsmk", "wt82_71", "sex", "race", "age", "education", "smokeintensity", "smokeyrs", "exercise",
            "active", "wt71"]
    return raw[cols].astype(np.float64)


def nhefs_design(frame: pd.DataFrame) -> np.ndarray:
    """Hernán & Robins' PS model: sex, race, age (+²), education (5 levels), smokeintensity (+²), smokeyrs (+²),
    exercise (3 levels), active (3 levels), wt71 (+²)."""
    f = frame
    cont = [f.sex, f.race, f.age, f.age ** 2, f.smokeintensity, f.smokeintensity ** 2, f.smokeyrs, f.smokeyrs ** 2,
            f.wt71, f.wt71 ** 2]
    dummies = pd.get_dummies(f[["education", "exercise", "active"]].astype(int).astype("category"), drop_first=True,
                             dtype=np.float64)
    return np.column_stack([np.ones(len(f)), *[c.to_numpy() for c in cont], dummies.to_numpy()])


def nhefs_ipw(frame: pd.DataFrame) -> dict[str, float]:
    """Unpenalised logistic PS (statsmodels), Hájek-weighted difference in means (= WLS of wt82_71 on qsmk)."""
    import statsmodels.api as sm

    t, y = frame.qsmk.to_numpy(), frame.wt82_71.to_numpy()
    e = sm.Logit(t, nhefs_design(frame)).fit(disp=0, maxiter=200).predict()
    w = np.where(t == 1, 1 / e, 1 / (1 - e))
    ipw = float(np.sum(w * t * y) / np.sum(w * t) - np.sum(w * (1 - t) * y) / np.sum(w * (1 - t)))
    return {"ipw": ipw, "naive": float(y[t == 1].mean() - y[t == 0].mean()),
            "max_weight": float(w.max()), "ess": float(w.sum() ** 2 / (w ** 2).sum())}
