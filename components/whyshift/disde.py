"""DISDE: split a performance drop P -> Q into X-shift and Y|X-shift terms (spec §3.4).

The shared distribution S (density ∝ p q / (p + q)) lives where both domains have support, so
comparing the model's accuracy under S with P's and with Q's conditionals isolates the concept
(Y|X) part, and the two remaining gaps are pure covariate moves P -> S and S -> Q. The density
ratios come from a cross-fitted domain classifier: scoring a point with a model that trained on it
would overstate the separation (weights too extreme), so every propensity is out-of-fold.

``disde_truth`` computes the same terms from the generator's closed forms, which is what the
estimates are checked against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import xgboost as xgb

from components.core.seeding import derive_seed

_CLIP = 1e-6

# Default-profile domain classifier (§4.3: 50 trees, depth 4). learning_rate 0.2 rather than XGBoost's
# 0.3: at 0.3 the classifier fits enough noise on identical domains (gauss8 null, n = 5,000) that the
# weight CV sits at the 0.2 acceptance bound; 0.2 keeps it near 0.15 without biasing pure_x.
DEFAULT_CLASSIFIER: dict = {"n_estimators": 50, "max_depth": 4, "learning_rate": 0.2}


@dataclass(frozen=True)
class DisdeTerms:
    """total = x_p2s + yx + x_s2q (accuracy drops, as fractions; 0.05 = 5 pp)."""

    total: float
    x_p2s: float
    yx: float
    x_s2q: float

    @classmethod
    def from_risks(cls, acc_p: float, es_p: float, es_q: float, acc_q: float) -> "DisdeTerms":
        """Terms from Acc_P, E_S[R_P], E_S[R_Q], Acc_Q (each term a plain difference)."""
        return cls(acc_p - acc_q, acc_p - es_p, es_p - es_q, es_q - acc_q)

    @property
    def yx_frac(self) -> float:
        return self.yx / self.total if self.total != 0 else float("nan")

    @property
    def x_frac(self) -> float:
        return (self.x_p2s + self.x_s2q) / self.total if self.total != 0 else float("nan")

    def label(self) -> str:
        """Dominance: "Y|X" if yx_frac > 0.5, "X" if x_frac > 0.5, else "neither" (also: no drop)."""
        if not self.total > 0:
            return "neither"
        if self.yx_frac > 0.5:
            return "Y|X"
        return "X" if self.x_frac > 0.5 else "neither"

    def to_dict(self) -> dict:
        return {**asdict(self), "yx_frac": self.yx_frac, "x_frac": self.x_frac, "label": self.label()}


@dataclass(frozen=True)
class DisdeResult:
    """Estimated terms plus everything needed to audit or reuse them (risk region, §3.5)."""

    terms: DisdeTerms
    w_p: np.ndarray           # shared-distribution weights on P points, sum 1 (∝ q/(p+q))
    w_q: np.ndarray           # on Q points, sum 1 (∝ p/(p+q))
    propensity_p: np.ndarray  # cross-fitted π(x) = P(T = Q | x) on P points
    propensity_q: np.ndarray
    ece: float                # 10-bin expected calibration error of π on the pooled sample
    fold_of: np.ndarray       # fold of each pooled point (P first, then Q); scored by that fold's model
    alpha: float              # n_Q / (n_P + n_Q)

    @property
    def weight_cv(self) -> tuple[float, float]:
        """Coefficient of variation of w_P and w_Q (0 = uniform: no detectable X shift)."""
        return _cv(self.w_p), _cv(self.w_q)


def _cv(w: np.ndarray) -> float:
    return float(w.std() / w.mean())


# ------------------------------------------------------------------------------- propensity

def stratified_folds(t: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold id per point, classes spread evenly over folds (every fold model sees both domains)."""
    rng = np.random.default_rng(seed)
    fold = np.empty(t.size, dtype=np.int64)
    for cls in np.unique(t):
        idx = np.flatnonzero(t == cls)
        fold[rng.permutation(idx)] = np.arange(idx.size) % n_folds
    return fold


def make_classifier(params: dict, seed: int) -> xgb.XGBClassifier:
    """XGBoost domain classifier; single-threaded unless the caller says otherwise."""
    kw = {"tree_method": "hist", "n_jobs": 1, "verbosity": 0, "random_state": seed, **params}
    return xgb.XGBClassifier(**kw)


def cross_fit_propensity(X: np.ndarray, t: np.ndarray, *, n_folds: int, classifier: dict,
                         seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold π(x) = P(t = 1 | x) and the fold of each point."""
    if n_folds < 2:
        raise ValueError(f"n_folds must be >= 2 for cross-fitting, got {n_folds}")
    fold = stratified_folds(t, n_folds, derive_seed(seed, "folds"))
    pi = np.empty(t.size)
    for k in range(n_folds):
        test = fold == k
        model = make_classifier(classifier, derive_seed(seed, "fold", k))
        model.fit(X[~test], t[~test])
        pi[test] = model.predict_proba(X[test])[:, 1]
    return np.clip(pi, _CLIP, 1 - _CLIP), fold


def expected_calibration_error(prob: np.ndarray, label: np.ndarray, n_bins: int = 10) -> float:
    """Σ_b (n_b / n) |mean(label_b) − mean(prob_b)| over equal-width bins of prob."""
    b = np.minimum((prob * n_bins).astype(np.int64), n_bins - 1)
    n = np.bincount(b, minlength=n_bins)
    gap = np.bincount(b, weights=label, minlength=n_bins) - np.bincount(b, weights=prob, minlength=n_bins)
    return float(np.abs(gap).sum() / prob.size) if n.sum() else float("nan")


def shared_weights(pi_p: np.ndarray, pi_q: np.ndarray,
                   alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Self-normalised weights of S on P points (∝ q/(p+q)) and on Q points (∝ p/(p+q)).

    With π = αq / (αq + (1−α)p): q/(p+q) ∝ π / ((1−α)π + α(1−π)), and p/(p+q) likewise with 1−π.
    """
    w_p = pi_p / ((1 - alpha) * pi_p + alpha * (1 - pi_p))
    w_q = (1 - pi_q) / ((1 - alpha) * pi_q + alpha * (1 - pi_q))
    return w_p / w_p.sum(), w_q / w_q.sum()


# ------------------------------------------------------------------------------------- DISDE

def disde(X_p: np.ndarray, correct_p: np.ndarray, X_q: np.ndarray, correct_q: np.ndarray, *,
          n_folds: int, classifier: dict, seed: int, max_q: int | None = None) -> DisdeResult:
    """Estimate the decomposition from samples of P and Q and the model's 0/1 correctness.

    ``max_q`` subsamples Q (seeded) as the official code does with its 20,000-row cap.
    """
    X_p, X_q = np.asarray(X_p, float), np.asarray(X_q, float)
    c_p, c_q = np.asarray(correct_p, float), np.asarray(correct_q, float)
    if max_q is not None and X_q.shape[0] > max_q:
        keep = np.sort(np.random.default_rng(derive_seed(seed, "subsample")).choice(
            X_q.shape[0], max_q, replace=False))
        X_q, c_q = X_q[keep], c_q[keep]
    n_p, n_q = X_p.shape[0], X_q.shape[0]
    t = np.r_[np.zeros(n_p), np.ones(n_q)]
    pi, fold = cross_fit_propensity(np.vstack([X_p, X_q]), t, n_folds=n_folds,
                                    classifier=classifier, seed=seed)
    alpha = n_q / (n_p + n_q)
    w_p, w_q = shared_weights(pi[:n_p], pi[n_p:], alpha)
    terms = DisdeTerms.from_risks(c_p.mean(), float(w_p @ c_p), float(w_q @ c_q), c_q.mean())
    return DisdeResult(terms, w_p, w_q, pi[:n_p], pi[n_p:], expected_calibration_error(pi, t),
                       fold, alpha)


def expected_correct(pop, predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray) -> np.ndarray:
    """E[c | x] = P(Y = f(x) | x) under ``pop``'s exact conditional."""
    p1 = pop.p_y1(X)
    return np.where(np.asarray(predict(X)).astype(int) == 1, p1, 1.0 - p1)


def disde_truth(P, Q, predict: Callable[[np.ndarray], np.ndarray], *, n_mc: int, seed: int) -> DisdeTerms:
    """Ground-truth terms from closed-form densities and conditionals (Monte Carlo over x only).

    Fresh samples of P and Q (n_mc each) pooled form a sample of m = (p+q)/2; S-expectations use
    the exact weights s/m ∝ pq/(p+q)², self-normalised, and the same points for both
    conditionals, so yx has no noise from comparing two different samples (exactly 0 when
    P(Y|x) = Q(Y|x)). Accuracies use E[c|x], not sampled labels.
    """
    X_p, _ = P.sample(n_mc, derive_seed(seed, "truth", "P"))
    X_q, _ = Q.sample(n_mc, derive_seed(seed, "truth", "Q"))
    Z = np.vstack([X_p, X_q])
    lp, lq = P.log_density(Z), Q.log_density(Z)
    u = np.exp(lp + lq - 2.0 * np.logaddexp(lp, lq))
    u /= u.sum()
    c_pz, c_qz = expected_correct(P, predict, Z), expected_correct(Q, predict, Z)
    acc_p = float(c_pz[:n_mc].mean())
    acc_q = float(c_qz[n_mc:].mean())
    return DisdeTerms.from_risks(acc_p, float(u @ c_pz), float(u @ c_qz), acc_q)


# ---------------------------------------------------------------------------------- dominance

def dominance_ratio(terms: list[DisdeTerms], min_total: float = 0.05) -> str:
    """README format "Y|X a/b": majority label a of the b pairs with total > ``min_total``.

    Ties go to "Y|X" (the README reports Taxi Bogotá's 1/2 as "Y|X 1/2"); no pair -> "none 0/0".
    """
    big = [t for t in terms if t.total > min_total]
    if not big:
        return "none 0/0"
    n_yx = sum(t.label() == "Y|X" for t in big)
    n_x = sum(t.label() == "X" for t in big)
    return f"Y|X {n_yx}/{len(big)}" if n_yx >= n_x else f"X {n_x}/{len(big)}"
