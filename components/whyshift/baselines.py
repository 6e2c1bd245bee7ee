"""Basic and tree baselines of spec §3.2 besides LR/MLP/XGB: random-feature SVM, RF, GBM, LightGBM.

All single-threaded (parallelism comes from processes) and seeded by ``seed``.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from components.whyshift.models import WrappedClassifier, standardiser


class SVMMethod(ClassifierMixin, BaseEstimator):
    """Random features (RBF: ``RBFSampler``; poly: degree-2 ``PolynomialCountSketch``) + ``LinearSVC(C)``.

    Standardisation and the feature map are fitted on train only and reused at predict time
    (the official ``predict`` re-drew features on test data and ignored ``kernel='poly'``, W-D11).
    """

    def __init__(self, C: float = 1.0, kernel: str = "rbf", gamma: float = 1.0, n_components: int = 128,
                 seed: int = 0):
        self.C = C
        self.kernel = kernel
        self.gamma = gamma
        self.n_components = n_components
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> "SVMMethod":
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.kernel_approximation import PolynomialCountSketch, RBFSampler
        from sklearn.svm import LinearSVC

        X = np.asarray(X, dtype=np.float64)
        self.mean_, self.scale_ = standardiser(X)
        if self.kernel == "rbf":
            self.features_ = RBFSampler(gamma=self.gamma, n_components=self.n_components, random_state=self.seed)
        elif self.kernel == "poly":
            self.features_ = PolynomialCountSketch(gamma=self.gamma, degree=2, n_components=self.n_components,
                                                   random_state=self.seed)
        else:
            raise ValueError(f"unknown kernel {self.kernel!r}; expected 'rbf' or 'poly'")
        Z = self.features_.fit_transform(self._scale(X))
        with warnings.catch_warnings():  # large C may stop at LinearSVC's default max_iter; that is the method
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.svc_ = LinearSVC(C=self.C, random_state=self.seed).fit(Z, y)
        self.classes_ = self.svc_.classes_
        return self

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return self.svc_.decision_function(self.features_.transform(self._scale(X)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.svc_.predict(self.features_.transform(self._scale(X)))


class RFMethod(WrappedClassifier):
    def __init__(self, n_estimators: int = 64, min_samples_leaf: int = 1, max_features: str = "sqrt",
                 ccp_alpha: float = 0.0, seed: int = 0):
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.ccp_alpha = ccp_alpha
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> "RFMethod":
        from sklearn.ensemble import RandomForestClassifier

        self.model_ = RandomForestClassifier(
            n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf, max_features=self.max_features,
            ccp_alpha=self.ccp_alpha, n_jobs=1, random_state=self.seed).fit(X, y)
        self.classes_ = self.model_.classes_
        return self


class GBMMethod(WrappedClassifier):
    """scikit-learn ``GradientBoostingClassifier`` (exact trees)."""

    def __init__(self, learning_rate: float = 0.1, n_estimators: int = 64, max_depth: int = 4, seed: int = 0):
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> "GBMMethod":
        from sklearn.ensemble import GradientBoostingClassifier

        self.model_ = GradientBoostingClassifier(learning_rate=self.learning_rate, n_estimators=self.n_estimators,
                                                 max_depth=self.max_depth, random_state=self.seed).fit(X, y)
        self.classes_ = self.model_.classes_
        return self


class LightGBMMethod(WrappedClassifier):
    """LightGBM with the grid's keys; ``n_jobs=1`` is LightGBM's ``num_threads=1``; silent."""

    def __init__(self, learning_rate: float = 0.1, n_estimators: int = 64, reg_lambda: float = 0.0,
                 min_child_samples: int = 16, max_depth: int = -1, colsample_bytree: float = 1.0, seed: int = 0):
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.reg_lambda = reg_lambda
        self.min_child_samples = min_child_samples
        self.max_depth = max_depth
        self.colsample_bytree = colsample_bytree
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> "LightGBMMethod":
        from lightgbm import LGBMClassifier

        self.model_ = LGBMClassifier(learning_rate=self.learning_rate, n_estimators=self.n_estimators,
                                     reg_lambda=self.reg_lambda, min_child_samples=self.min_child_samples,
                                     max_depth=self.max_depth, colsample_bytree=self.colsample_bytree,
                                     n_jobs=1, random_state=self.seed, verbose=-1)
        self.model_.fit(np.asarray(X), np.asarray(y))
        self.classes_ = self.model_.classes_
        return self
