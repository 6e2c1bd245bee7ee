"""ERM estimators of the first slice — LR and MLP (torch, trained with Lightning) and XGBoost —
in scikit-learn style: hyper-parameters in ``__init__``, learned state in ``fit``, picklable."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


def standardise_mask(X: np.ndarray) -> np.ndarray:
    """Columns to standardise: every non-binary column except column 0 (the sensitive attribute, kept raw)."""
    binary = np.all((X == 0) | (X == 1), axis=0)
    mask = ~binary
    mask[0] = False
    return mask


def standardiser(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, scale) from train statistics: identity (0, 1) on binary and sensitive columns and on
    constant ones, so ``(X - mean) / scale`` standardises only what should be."""
    mask = standardise_mask(X)
    std = X.std(axis=0)
    return np.where(mask, X.mean(axis=0), 0.0), np.where(mask & (std > 0), std, 1.0)


class WrappedClassifier(ClassifierMixin, BaseEstimator):
    """Base of estimators whose ``fit`` stores a fitted library model in ``model_``: predictions delegate to it."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(np.asarray(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(np.asarray(X))


def batch_loader(dataset, batch_size: int, seed: int):
    """``DataLoader(dataset, batch_size, shuffle=True, generator=seeded)``, but each batch is one indexed slice.

    Same sampler, same generator draws (the loader's base seed, then the permutation), so the batches —
    and the fitted weights — are bit-identical to the per-row loader (tested); the per-row fetch and
    collate were ~1/3 of an MLP fit's CPU time at 2,000 rows (measured, issue 12 budget).
    """
    import torch
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler

    generator = torch.Generator().manual_seed(seed)
    batches = BatchSampler(RandomSampler(dataset, generator=generator), batch_size, drop_last=False)
    return DataLoader(dataset, sampler=batches, batch_size=None, generator=generator, num_workers=0)


class TorchClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression (``hidden_size=0``) or the spec's 2-hidden-layer MLP, cross-entropy, Adam.

    Inputs are standardised with train statistics (non-binary columns only). Trains exactly
    ``train_epochs`` epochs with a seeded shuffle; the official code's off-by-one epoch and
    internal unseeded split are not reproduced.
    """

    def __init__(self, hidden_size: int = 0, dropout_ratio: float = 0.0, lr: float = 1e-3,
                 batch_size: int = 128, train_epochs: int = 10, seed: int = 0):
        self.hidden_size = hidden_size
        self.dropout_ratio = dropout_ratio
        self.lr = lr
        self.batch_size = batch_size
        self.train_epochs = train_epochs
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray, run=None) -> "TorchClassifier":
        import torch
        from torch.utils.data import TensorDataset

        from components.core.training import make_trainer
        from components.whyshift.lightning import LitClassifier

        X = np.asarray(X, dtype=np.float32)
        mean, scale = standardiser(X)
        self.mean_, self.scale_ = mean.astype(np.float32), scale.astype(np.float32)
        self.classes_ = np.array([0, 1])
        objective = self._objective(X)
        tensors = [torch.from_numpy(self._scale(X)), torch.from_numpy(np.array(y, dtype=np.int64))]
        if objective is not None:  # robust objectives read the sensitive column from the batch
            tensors.append(torch.from_numpy(self._batch_groups(X)))
        with torch.random.fork_rng(devices=[]):  # seeded init/dropout without touching the caller's RNG
            torch.manual_seed(self.seed)
            module = LitClassifier(X.shape[1], self.hidden_size, self.dropout_ratio, self.lr, objective)
            loader = batch_loader(TensorDataset(*tensors), self.batch_size, self.seed)
            make_trainer(self.train_epochs, run=run, progress=False).fit(module, loader)
        self.module_ = module.eval()
        return self

    def _objective(self, X: np.ndarray):
        """The batch objective (a ``components.whyshift.losses`` module); None is ERM's mean."""
        return None

    @staticmethod
    def _batch_groups(X: np.ndarray) -> np.ndarray:
        """Group index 0..G−1 of each row from the raw sensitive column 0 (coded 1/2, W-D9)."""
        return np.unique(X[:, 0], return_inverse=True)[1].astype(np.int64).ravel()

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return ((np.asarray(X, dtype=np.float32) - self.mean_) / self.scale_).astype(np.float32)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            logits = self.module_(torch.from_numpy(self._scale(X)))
            return torch.softmax(logits, dim=1).numpy().astype(np.float64)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)


class XGBMethod(WrappedClassifier):
    """XGBoost with the grid's keys (``min_split_loss`` is XGBoost's ``gamma``), one thread, hist trees."""

    def __init__(self, learning_rate: float = 0.3, max_depth: int = 6, min_split_loss: float = 0.0,
                 colsample_bytree: float = 1.0, max_bin: int = 256, grow_policy: str = "depthwise",
                 n_estimators: int = 50, seed: int = 0):
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_split_loss = min_split_loss
        self.colsample_bytree = colsample_bytree
        self.max_bin = max_bin
        self.grow_policy = grow_policy
        self.n_estimators = n_estimators
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> "XGBMethod":
        from xgboost import XGBClassifier

        self.model_ = XGBClassifier(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate, max_depth=self.max_depth,
            gamma=self.min_split_loss, colsample_bytree=self.colsample_bytree, max_bin=self.max_bin,
            grow_policy=self.grow_policy, tree_method="hist", n_jobs=1, random_state=self.seed,
            verbosity=0)
        self.model_.fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.model_.classes_
        return self
