"""Fairness methods of spec §3.3 around XGB (fairlearn), sensitive feature = column 0.

``FairReduction`` is fairlearn's ``ExponentiatedGradient`` (in-processing with DP / EO /
error-rate parity, and the spec's ``fair_post_exp`` = DP with difference bound 0.02); its
predictions are the arg-max of the randomised classifier's pmf, so they are deterministic.
``FairThreshold`` is ``ThresholdOptimizer`` on hard XGB predictions, randomised with a fixed state.
"""

from __future__ import annotations

import numpy as np

from components.whyshift.reweighting import XGBWrapper

CONSTRAINTS = ("dp", "eo", "error_parity")


def make_constraint(name: str, difference_bound: float | None = None):
    from fairlearn.reductions import DemographicParity, EqualizedOdds, ErrorRateParity

    classes = {"dp": DemographicParity, "eo": EqualizedOdds, "error_parity": ErrorRateParity}
    if name not in classes:
        raise ValueError(f"unknown fairness constraint {name!r}; expected one of {', '.join(CONSTRAINTS)}")
    return classes[name](difference_bound=difference_bound)


class FairReduction(XGBWrapper):
    """``ExponentiatedGradient(XGB, constraint)``; ``max_iter`` is a profile constant (each round refits XGB)."""

    def __init__(self, constraint: str = "dp", difference_bound: float | None = None, max_iter: int = 20,
                 learning_rate: float = 0.3, max_depth: int = 6, min_split_loss: float = 0.0,
                 colsample_bytree: float = 1.0, max_bin: int = 256, grow_policy: str = "depthwise",
                 n_estimators: int = 50, seed: int = 0):
        super().__init__(learning_rate, max_depth, min_split_loss, colsample_bytree, max_bin, grow_policy,
                         n_estimators, seed)
        self.constraint = constraint
        self.difference_bound = difference_bound
        self.max_iter = max_iter

    def fit(self, X: np.ndarray, y: np.ndarray) -> "FairReduction":
        from fairlearn.reductions import ExponentiatedGradient

        X = np.asarray(X)
        self.model_ = ExponentiatedGradient(self._xgb(), make_constraint(self.constraint, self.difference_bound),
                                            max_iter=self.max_iter)
        self.model_.fit(X, np.asarray(y), sensitive_features=X[:, 0])
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_._pmf_predict(np.asarray(X)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)


class FairThreshold(XGBWrapper):
    """``ThresholdOptimizer(XGB, predict_method='predict')``, default constraint (demographic parity)."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> "FairThreshold":
        from fairlearn.postprocessing import ThresholdOptimizer

        X = np.asarray(X)
        self.model_ = ThresholdOptimizer(estimator=self._xgb(), predict_method="predict")
        self.model_.fit(X, np.asarray(y), sensitive_features=X[:, 0])
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        return np.asarray(self.model_._pmf_predict(X, sensitive_features=X[:, 0]))

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        return np.asarray(self.model_.predict(X, sensitive_features=X[:, 0], random_state=0)).astype(int)
