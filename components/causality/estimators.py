"""Effect-estimator registry: name → a call into DoWhy / EconML / scikit-learn / XGBoost (or own Lightning).

Every estimator fits on the frame's ``split == "train"`` rows and returns unit effects τ̂(x) for *all*
rows (a constant for ATE-only estimators, so √PEHE stays defined), plus ATE and ATT on the train rows.
Heavy libraries are imported inside the functions: a worker pays for DoWhy/EconML only once it needs them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

FAMILY = {
    "naive": "none", "ols": "regression adjustment", "s_learner": "regression adjustment",
    "t_learner": "regression adjustment", "x_learner": "regression adjustment",
    "ps_match": "propensity score", "ipw": "propensity score", "aipw": "doubly robust",
    "dml": "double ML", "causal_forest": "tree", "dr_learner": "doubly robust",
    "tarnet": "representation", "cfr": "representation", "entropy_bal": "balancing", "aipw_att": "doubly robust",
}
LIBRARY = {
    "naive": "own", "ols": "dowhy", "s_learner": "econml", "t_learner": "econml", "x_learner": "econml",
    "ps_match": "dowhy", "ipw": "dowhy", "aipw": "econml", "dml": "econml", "causal_forest": "econml",
    "dr_learner": "econml", "tarnet": "own (lightning)", "cfr": "own (lightning)", "entropy_bal": "own (scipy)",
    "aipw_att": "own (sklearn + xgboost)",
}
CATE_METHODS = {"s_learner", "t_learner", "x_learner", "dml", "causal_forest", "dr_learner", "tarnet", "cfr"}


@dataclass
class Fit:
    """What one estimator returns: unit effects on every row, ATE/ATT on train rows, optional 95 % CI."""

    tau: np.ndarray
    ate: float
    att: float
    ci_low: float = float("nan")
    ci_high: float = float("nan")


@dataclass
class Data:
    x: np.ndarray       # all rows
    t: np.ndarray
    y: np.ndarray
    train: np.ndarray   # boolean mask

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "Data":
        cols = [c for c in frame.columns if c.startswith("x_")]
        return cls(frame[cols].to_numpy(np.float64), frame.t.to_numpy(np.int64), frame.y.to_numpy(np.float64),
                   (frame.split == "train").to_numpy())

    @property
    def xt(self) -> np.ndarray:
        return self.x[self.train]

    @property
    def tt(self) -> np.ndarray:
        return self.t[self.train]

    @property
    def yt(self) -> np.ndarray:
        return self.y[self.train]


def _xgb(p, seed: int):
    from xgboost import XGBRegressor

    return XGBRegressor(n_estimators=p.xgb.n_estimators, max_depth=p.xgb.max_depth,
                        learning_rate=p.xgb.learning_rate, n_jobs=1, random_state=seed, tree_method="hist")


def _propensity():
    """Logistic regression on standardised covariates (the spec's propensity model everywhere)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


def _constant(d: Data, ate: float, att: float | None = None, ci=(float("nan"), float("nan"))) -> Fit:
    return Fit(np.full(len(d.y), ate), ate, ate if att is None else att, *ci)


def _from_cate(d: Data, tau: np.ndarray, ci=(float("nan"), float("nan"))) -> Fit:
    tau = np.asarray(tau, dtype=np.float64).ravel()
    treated = d.train & (d.t == 1)
    return Fit(tau, float(tau[d.train].mean()), float(tau[treated].mean()), *ci)


# --- own / DoWhy --------------------------------------------------------------------------------------------

def naive(d: Data, p, seed: int) -> Fit:
    return _constant(d, float(d.yt[d.tt == 1].mean() - d.yt[d.tt == 0].mean()))


def _dowhy(d: Data, method: str, target: str, init: dict | None = None) -> float:
    """One DoWhy back-door estimate; maximal adjustment (all covariates are pre-treatment) skips the slow search."""
    from dowhy import CausalModel

    for name in ("dowhy", "dowhy.causal_model", "dowhy.causal_identifier"):
        logging.getLogger(name).setLevel(logging.ERROR)
    cols = [f"x_{j}" for j in range(d.x.shape[1])]
    frame = pd.DataFrame(d.xt, columns=cols).assign(t=d.tt.astype(bool), y=d.yt)
    model = CausalModel(data=frame, treatment="t", outcome="y", common_causes=cols)
    estimand = model.identify_effect(method_name="maximal-adjustment")
    est = model.estimate_effect(estimand, method_name=method, target_units=target,
                                method_params={"init_params": init or {}})
    return float(est.value)


def ols(d: Data, p, seed: int) -> Fit:
    return _constant(d, _dowhy(d, "backdoor.linear_regression", "ate"))


def ps_match(d: Data, p, seed: int) -> Fit:
    init = {"propensity_score_model": _propensity()}
    return _constant(d, _dowhy(d, "backdoor.propensity_score_matching", "ate", init),
                     _dowhy(d, "backdoor.propensity_score_matching", "att", init))


def ipw(d: Data, p, seed: int) -> Fit:
    """Hájek-normalised IPW (DoWhy's ``ips_weight``). ATE: propensities clipped to [c, 1 − c]. ATT: control
    weights are e/(1 − e), which only explode as e → 1, so only the upper end is clipped — raising tiny
    propensities to c would inflate exactly the controls least like the treated (LaLonde's CPS)."""
    def init(low: float) -> dict:
        return {"propensity_score_model": _propensity(), "min_ps_score": low, "max_ps_score": 1 - p.ps_clip,
                "weighting_scheme": "ips_weight"}

    return _constant(d, _dowhy(d, "backdoor.propensity_score_weighting", "ate", init(p.ps_clip)),
                     _dowhy(d, "backdoor.propensity_score_weighting", "att", init(1e-12)))


def aipw_att(d: Data, p, seed: int) -> float:
    """Cross-fitted AIPW for the ATT (DoWhy's DR is ATE-only and EconML's DR-learner targets the ATE)."""
    from sklearn.model_selection import StratifiedKFold

    x, t, y = d.xt, d.tt, d.yt
    e, mu0 = np.zeros(len(y)), np.zeros(len(y))
    for fit_idx, pred_idx in StratifiedKFold(p.cv, shuffle=True, random_state=seed).split(x, t):
        e[pred_idx] = _propensity().fit(x[fit_idx], t[fit_idx]).predict_proba(x[pred_idx])[:, 1]
        controls = fit_idx[t[fit_idx] == 0]
        mu0[pred_idx] = _xgb(p, seed).fit(x[controls], y[controls]).predict(x[pred_idx])
    e = np.minimum(e, 1 - p.ps_clip)  # ATT: only e → 1 makes e/(1 − e) explode (see ``ipw``)
    resid = y - mu0
    return float(np.sum(t * resid - (1 - t) * e / (1 - e) * resid) / t.sum())


def entropy_weights(x_control: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Entropy balancing (Hainmueller 2012): control weights w ∝ exp(λᵀx) with Σw = 1 and Σw·x = target, from the
    convex dual min_λ log Σ exp(λᵀ(x − target)) (BFGS on standardised covariates)."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp, softmax

    scale = x_control.std(axis=0)
    scale[scale == 0] = 1.0
    c = (x_control - target) / scale

    def dual(lam: np.ndarray) -> tuple[float, np.ndarray]:
        z = c @ lam
        return float(logsumexp(z)), softmax(z) @ c

    sol = minimize(dual, np.zeros(c.shape[1]), jac=True, method="BFGS", options={"gtol": 1e-10, "maxiter": 2000})
    return softmax(c @ sol.x)


def entropy_bal(d: Data, p, seed: int) -> Fit:
    """ATT: treated mean minus the entropy-balanced control mean (first moments of every covariate matched)."""
    x, t, y = d.xt, d.tt, d.yt
    w = entropy_weights(x[t == 0], x[t == 1].mean(axis=0))
    att = float(y[t == 1].mean() - w @ y[t == 0])
    return _constant(d, att, att)


def aipw_att_only(d: Data, p, seed: int) -> Fit:
    """The cross-fitted AIPW ATT alone (``aipw_att``), for bootstrap loops that do not need the ATE."""
    att = aipw_att(d, p, seed)
    return _constant(d, att, att)


# --- EconML -------------------------------------------------------------------------------------------------

def aipw(d: Data, p, seed: int) -> Fit:
    """EconML ``LinearDRLearner`` with X = None: the cross-fitted AIPW ATE with its interval."""
    from econml.dr import LinearDRLearner

    est = LinearDRLearner(model_propensity=_propensity(), model_regression=_xgb(p, seed), cv=p.cv,
                          min_propensity=p.ps_clip, random_state=seed)
    est.fit(d.yt, d.tt, X=None, W=d.xt)
    ate = float(np.ravel(est.ate())[0])
    low, high = (float(np.ravel(v)[0]) for v in est.ate_interval(alpha=0.05))
    return _constant(d, ate, aipw_att(d, p, seed), (low, high))


def s_learner(d: Data, p, seed: int) -> Fit:
    from econml.metalearners import SLearner

    est = SLearner(overall_model=_xgb(p, seed)).fit(d.yt, d.tt, X=d.xt)
    return _from_cate(d, est.effect(d.x))


def t_learner(d: Data, p, seed: int) -> Fit:
    from econml.metalearners import TLearner

    est = TLearner(models=_xgb(p, seed)).fit(d.yt, d.tt, X=d.xt)
    return _from_cate(d, est.effect(d.x))


def x_learner(d: Data, p, seed: int) -> Fit:
    from econml.metalearners import XLearner

    est = XLearner(models=_xgb(p, seed), propensity_model=_propensity()).fit(d.yt, d.tt, X=d.xt)
    return _from_cate(d, est.effect(d.x))


def dml(d: Data, p, seed: int) -> Fit:
    """``LinearDML``: residualised linear CATE θ(x) = xᵀβ — the flexible-nuisance *linear* effect model."""
    from econml.dml import LinearDML

    est = LinearDML(model_y=_xgb(p, seed), model_t=_propensity(), discrete_treatment=True, cv=p.cv,
                    random_state=seed).fit(d.yt, d.tt, X=d.xt)
    low, high = (float(np.ravel(v)[0]) for v in est.ate_interval(X=d.xt, alpha=0.05))
    return _from_cate(d, est.effect(d.x), (low, high))


def causal_forest(d: Data, p, seed: int) -> Fit:
    from econml.dml import CausalForestDML

    est = CausalForestDML(model_y=_xgb(p, seed), model_t=_propensity(), discrete_treatment=True, cv=p.cv,
                          n_estimators=p.forest_trees, min_samples_leaf=5, n_jobs=1, random_state=seed)
    est.fit(d.yt, d.tt, X=d.xt)
    low, high = (float(np.ravel(v)[0]) for v in est.ate_interval(X=d.xt, alpha=0.05))
    return _from_cate(d, est.effect(d.x), (low, high))


def dr_learner(d: Data, p, seed: int) -> Fit:
    from econml.dr import DRLearner
    from sklearn.ensemble import RandomForestRegressor

    final = RandomForestRegressor(n_estimators=100, min_samples_leaf=10, n_jobs=1, random_state=seed)
    est = DRLearner(model_propensity=_propensity(), model_regression=_xgb(p, seed), model_final=final,
                    cv=p.cv, min_propensity=p.ps_clip, random_state=seed).fit(d.yt, d.tt, X=d.xt)
    return _from_cate(d, est.effect(d.x))


# --- representation learning (own Lightning) ---------------------------------------------------------------

def tarnet(d: Data, p, seed: int) -> Fit:
    from components.causality.representation import fit_predict_cate

    return _from_cate(d, fit_predict_cate(d.xt, d.tt, d.yt, d.x, p.representation, alpha=0.0, seed=seed))


def cfr(d: Data, p, seed: int) -> Fit:
    from components.causality.representation import fit_predict_cate

    rp = p.representation
    return _from_cate(d, fit_predict_cate(d.xt, d.tt, d.yt, d.x, rp, alpha=rp.alpha, seed=seed))


REGISTRY: dict[str, Callable[[Data, object, int], Fit]] = {
    "naive": naive, "ols": ols, "s_learner": s_learner, "t_learner": t_learner, "x_learner": x_learner,
    "ps_match": ps_match, "ipw": ipw, "aipw": aipw, "dml": dml, "causal_forest": causal_forest,
    "dr_learner": dr_learner, "tarnet": tarnet, "cfr": cfr, "entropy_bal": entropy_bal, "aipw_att": aipw_att_only,
}


def run_estimator(method: str, frame: pd.DataFrame, params, seed: int) -> tuple[Fit, float]:
    """(fit, seconds) of one registry entry on one prepared frame."""
    start = time.perf_counter()
    fit = REGISTRY[method](Data.from_frame(frame), params, seed)
    return fit, time.perf_counter() - start
