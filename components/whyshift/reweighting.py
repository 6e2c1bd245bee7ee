"""Imbalance and causal methods of spec §3.3 on XGBoost: JTT, SUBY, SUBG, RWY, RWG and DWR.

Each method only changes *which rows* (resampling) or *how much each row counts* (weights) before
an XGB fit with the grid's XGB keys; the rule itself is a small pure function, tested directly.
The sensitive column 0 (coded 1/2) defines the groups of SUBG and RWG.
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache

import numpy as np

from components.whyshift.models import XGBMethod

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------------- rules


def suby_indices(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Every minority row plus an equal number of majority rows drawn *without* replacement (W-D8)."""
    classes, counts = np.unique(y, return_counts=True)
    n_min = counts.min()
    keep = [np.flatnonzero(y == c) if n == n_min else rng.choice(np.flatnonzero(y == c), n_min, replace=False)
            for c, n in zip(classes, counts)]
    return np.sort(np.concatenate(keep))


def subg_indices(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each group resampled *with* replacement to the smallest group's size (the official behaviour)."""
    values, counts = np.unique(groups, return_counts=True)
    n_min = counts.min()
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(groups == g), n_min, replace=True) for g in values]))


def rwy_weights(y: np.ndarray) -> np.ndarray:
    """1 for y = 1 and p/(1−p) for y = 0 (p = mean y), so both classes carry equal mass; sum n."""
    p = float(np.mean(y))
    w = np.where(y == 1, 1.0, p / (1 - p))
    return w * len(y) / w.sum()


def rwg_weights(groups: np.ndarray) -> np.ndarray:
    """min_cnt/cnt_g per group g, so every group carries equal mass; sum n."""
    values, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    w = (counts.min() / counts)[inverse.ravel()]
    return w * len(groups) / w.sum()


def jtt_weights(errors: np.ndarray, lambda_up: float) -> np.ndarray:
    """λ on the rows the first-stage model got wrong, 1 elsewhere."""
    return np.where(errors, float(lambda_up), 1.0)


def _loss_grad(X, v, l1: float, l2: float):
    """DWR objective (``losses.dwr_objective``) at w = v² and its analytic gradient in v, on float64 tensors.

    With w̃ = w/Σw, μ = Xᵀw̃, C = Xᵀdiag(w̃)X − μμᵀ and G = ∂L/∂C (off-diagonal only):
    ∂L/∂w̃_i = x_iᵀGx_i − 2·x_iᵀGμ. Two n×d² products per step. Torch, not numpy: on this project's
    2-core AMD VMs numpy's OpenBLAS took 70 ms for Xᵀdiag(w̃)X (n = 2,000, d = 76, one thread), torch
    2 ms, so 2,000 Adam steps went from ~100 to ~6 CPU-s per fit (measured, issue 12 budget).
    """
    import torch

    n, d = X.shape
    w = v * v
    total = w.sum()
    wn = w / total
    mu = X.T @ wn
    C = X.T @ (wn[:, None] * X) - torch.outer(mu, mu)
    a = 1000.0 / (d * (d - 1))
    off = C.clone()
    off.fill_diagonal_(0.0)
    mean_w = total / n
    loss = a * (off * off).sum() + l1 * (mean_w - 1) ** 2 + l2 * (w * w).mean()
    XG = X @ (2 * a * off)
    g_tilde = (XG * X).sum(dim=1) - 2 * (XG @ mu)
    g_w = (g_tilde - g_tilde @ wn) / total + 2 * l1 * (mean_w - 1) / n + 2 * l2 * w / n
    return float(loss), g_w * 2 * v


def dwr_loss_grad(X: np.ndarray, v: np.ndarray, l1: float, l2: float) -> tuple[float, np.ndarray]:
    """``_loss_grad`` on numpy arrays: (loss, gradient in v)."""
    import torch

    loss, grad = _loss_grad(torch.tensor(np.asarray(X, np.float64)), torch.tensor(np.asarray(v, np.float64)),
                            l1, l2)
    return loss, grad.numpy()


def dwr_weights(X: np.ndarray, l1: float, l2: float, lr: float = 1e-3, max_steps: int = 2000,
                tol: float = 1e-8) -> tuple[np.ndarray, int]:
    """Decorrelating weights: Adam (torch's defaults) on v from 1 (w = v²) until |Δloss| ≤ tol.

    Returns (w / mean w, steps taken). Float64 so a 1e-8 change in the loss is resolvable;
    deterministic (nothing random).
    """
    import torch

    from components.core.execution import threads

    torch.set_num_threads(threads())
    Xt = torch.tensor(np.asarray(X, dtype=np.float64))
    v = torch.ones(Xt.shape[0], dtype=torch.float64)
    m1, m2 = torch.zeros_like(v), torch.zeros_like(v)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    previous = None
    steps = 0
    for steps in range(1, max_steps + 1):
        loss, grad = _loss_grad(Xt, v, l1, l2)
        m1 = beta1 * m1 + (1 - beta1) * grad
        m2 = beta2 * m2 + (1 - beta2) * grad * grad
        v = v - lr * (m1 / (1 - beta1**steps)) / (torch.sqrt(m2 / (1 - beta2**steps)) + eps)
        if previous is not None and abs(previous - loss) <= tol:
            break
        previous = loss
    w = (v * v).numpy()
    return w / w.mean(), steps


# ----------------------------------------------------------------------------------- estimators


class XGBWrapper(XGBMethod):
    """Base of the XGB-based methods: ``XGBMethod``'s keys and predictions; subclasses change what
    ``fit`` trains on (rows, weights, features) and store the fitted model in ``model_``."""

    def _xgb(self) -> XGBMethod:
        return XGBMethod(**{k: getattr(self, k) for k in XGBMethod._get_param_names()})

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)


class SUBY(XGBWrapper):
    """XGB on a class-balanced subsample (majority class subsampled without replacement)."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> "SUBY":
        X, y = np.asarray(X), np.asarray(y)
        self.indices_ = suby_indices(y, self._rng())
        self.model_ = self._xgb().fit(X[self.indices_], y[self.indices_])
        self.classes_ = self.model_.classes_
        return self


class SUBG(XGBWrapper):
    """XGB on a group-balanced resample (each sensitive group drawn with replacement to the smallest)."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> "SUBG":
        X, y = np.asarray(X), np.asarray(y)
        self.indices_ = subg_indices(X[:, 0], self._rng())
        self.model_ = self._xgb().fit(X[self.indices_], y[self.indices_])
        self.classes_ = self.model_.classes_
        return self


class RWY(XGBWrapper):
    """XGB with class-balancing weights."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> "RWY":
        self.sample_weight_ = rwy_weights(np.asarray(y))
        self.model_ = self._xgb().fit(X, y, sample_weight=self.sample_weight_)
        self.classes_ = self.model_.classes_
        return self


class RWG(XGBWrapper):
    """XGB with group-balancing weights over the sensitive column."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> "RWG":
        self.sample_weight_ = rwg_weights(np.asarray(X)[:, 0])
        self.model_ = self._xgb().fit(X, y, sample_weight=self.sample_weight_)
        self.classes_ = self.model_.classes_
        return self


class JTT(XGBWrapper):
    """Just Train Twice: refit XGB with weight ``lambda_up`` (the grid's ``lambda``) on first-stage errors.

    ``lambda`` is a Python keyword, so it cannot be an ``__init__`` argument; ``lambda_`` would read
    as a fitted attribute to scikit-learn. The name is JTT's own λ_up.
    """

    def __init__(self, lambda_up: float = 5.0, learning_rate: float = 0.3, max_depth: int = 6,
                 min_split_loss: float = 0.0, colsample_bytree: float = 1.0, max_bin: int = 256,
                 grow_policy: str = "depthwise", n_estimators: int = 50, seed: int = 0):
        super().__init__(learning_rate, max_depth, min_split_loss, colsample_bytree, max_bin, grow_policy,
                         n_estimators, seed)
        self.lambda_up = lambda_up

    def fit(self, X: np.ndarray, y: np.ndarray) -> "JTT":
        y = np.asarray(y)
        first = self._xgb().fit(X, y)
        self.errors_ = first.predict(X) != y
        self.sample_weight_ = jtt_weights(self.errors_, self.lambda_up)
        self.model_ = self._xgb().fit(X, y, sample_weight=self.sample_weight_)
        self.classes_ = self.model_.classes_
        return self


class DWR(XGBWrapper):
    """Decorrelated weighted regression: decorrelating weights → weighted LR feature selection → weighted XGB.

    ``l1`` weights the mean-one penalty (not an L1 norm), ``l2`` the second moment. If no
    coefficient exceeds ``threshold`` every feature is kept (W-D12) and ``empty_selection_`` is 1.
    """

    def __init__(self, l1: float = 0.1, l2: float = 0.1, threshold: float = 1e-3, learning_rate: float = 0.3,
                 max_depth: int = 6, min_split_loss: float = 0.0, colsample_bytree: float = 1.0,
                 max_bin: int = 256, grow_policy: str = "depthwise", n_estimators: int = 50, seed: int = 0):
        super().__init__(learning_rate, max_depth, min_split_loss, colsample_bytree, max_bin, grow_policy,
                         n_estimators, seed)
        self.l1 = l1
        self.l2 = l2
        self.threshold = threshold

    def fit(self, X: np.ndarray, y: np.ndarray) -> "DWR":
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
        weights, self.n_steps_, selected = _dwr_selection(_Frozen(X), _Frozen(y), self.l1, self.l2, self.threshold)
        self.sample_weight_ = weights.copy()
        self.empty_selection_ = int(selected.size == 0)
        if self.empty_selection_:
            log.info("dwr_empty_selection=1: no |coef| > %g, keeping all %d features", self.threshold, X.shape[1])
            selected = np.arange(X.shape[1])
        self.selected_ = selected.copy()
        self.model_ = self._xgb().fit(X[:, selected], y, sample_weight=self.sample_weight_)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(np.asarray(X)[:, self.selected_])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(np.asarray(X)[:, self.selected_])


class _Frozen:
    """An array hashed by its bytes, so equal training data hit the same cache entry."""

    def __init__(self, a: np.ndarray):
        self.a = a
        self.digest = hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest() + str(a.shape) + str(a.dtype)

    def __hash__(self) -> int:
        return hash(self.digest)

    def __eq__(self, other) -> bool:
        return isinstance(other, _Frozen) and other.digest == self.digest


@lru_cache(maxsize=16)
def _dwr_selection(X: _Frozen, y: _Frozen, l1: float, l2: float, threshold: float):
    """(weights, steps, selected features): deterministic in (X, y, l1, l2), so the grid's XGB variants of
    one (l1, l2) share it — the weight fit was ~95 % of a DWR config's CPU time (benchmarks/grid.py)."""
    from sklearn.linear_model import LogisticRegression

    weights, steps = dwr_weights(X.a, l1, l2)
    selector = LogisticRegression(C=1.0).fit(X.a, y.a, sample_weight=weights)
    return weights, steps, np.flatnonzero(np.abs(selector.coef_.ravel()) > threshold)
