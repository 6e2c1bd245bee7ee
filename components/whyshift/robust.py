"""DRO methods of spec §3.3 on the spec MLP: ``TorchClassifier`` with a robust batch objective.

Each estimator only adds its ambiguity-set keys to the MLP_base keys (lr, hidden_size,
dropout_ratio, batch_size) and says which ``components.whyshift.losses`` module reduces the
per-example cross-entropy; standardisation, seeding and the Lightning loop are shared.
"""

from __future__ import annotations

import numpy as np

from components.whyshift.models import TorchClassifier


class ChiDRO(TorchClassifier):
    """χ²-DRO (constraint form, reg = 0) with radius ``size``."""

    def __init__(self, size: float = 0.1, hidden_size: int = 16, dropout_ratio: float = 0.1, lr: float = 1e-3,
                 batch_size: int = 128, train_epochs: int = 10, seed: int = 0):
        super().__init__(hidden_size, dropout_ratio, lr, batch_size, train_epochs, seed)
        self.size = size

    def _objective(self, X):
        from components.whyshift.losses import Chi2DROLoss

        return Chi2DROLoss(self.size)


class CVaRDRO(TorchClassifier):
    """CVaR-DRO at level α = ``size`` (the grid's key, as in the official config)."""

    def __init__(self, size: float = 0.1, hidden_size: int = 16, dropout_ratio: float = 0.1, lr: float = 1e-3,
                 batch_size: int = 128, train_epochs: int = 10, seed: int = 0):
        super().__init__(hidden_size, dropout_ratio, lr, batch_size, train_epochs, seed)
        self.size = size

    def _objective(self, X):
        from components.whyshift.losses import CVaRDROLoss

        return CVaRDROLoss(self.size)


class ChiDORO(TorchClassifier):
    """χ²-DORO: drops the ⌊εB⌋ largest losses (outliers), χ² DRO at level α on the rest."""

    def __init__(self, alpha: float = 0.2, eps: float = 0.01, hidden_size: int = 16, dropout_ratio: float = 0.1,
                 lr: float = 1e-3, batch_size: int = 128, train_epochs: int = 10, seed: int = 0):
        super().__init__(hidden_size, dropout_ratio, lr, batch_size, train_epochs, seed)
        self.alpha = alpha
        self.eps = eps

    def _objective(self, X):
        from components.whyshift.losses import Chi2DOROLoss

        return Chi2DOROLoss(self.alpha, self.eps)


class CVaRDORO(TorchClassifier):
    """CVaR-DORO: drops the ⌊εB⌋ largest losses, CVaR at level α on the rest."""

    def __init__(self, alpha: float = 0.2, eps: float = 0.01, hidden_size: int = 16, dropout_ratio: float = 0.1,
                 lr: float = 1e-3, batch_size: int = 128, train_epochs: int = 10, seed: int = 0):
        super().__init__(hidden_size, dropout_ratio, lr, batch_size, train_epochs, seed)
        self.alpha = alpha
        self.eps = eps

    def _objective(self, X):
        from components.whyshift.losses import CVaRDOROLoss

        return CVaRDOROLoss(self.alpha, self.eps)


class GroupDRO(TorchClassifier):
    """Group DRO over the sensitive column's values, exponentiated-gradient step on q."""

    def __init__(self, group_weights_step_size: float = 0.01, hidden_size: int = 16, dropout_ratio: float = 0.1,
                 lr: float = 1e-3, batch_size: int = 128, train_epochs: int = 10, seed: int = 0):
        super().__init__(hidden_size, dropout_ratio, lr, batch_size, train_epochs, seed)
        self.group_weights_step_size = group_weights_step_size

    def _objective(self, X):
        from components.whyshift.losses import GroupDROLoss

        return GroupDROLoss(len(np.unique(X[:, 0])), self.group_weights_step_size)

    @property
    def group_weights_(self) -> np.ndarray:
        """Final q, one entry per sorted sensitive value."""
        return self.module_.objective.q.detach().numpy().copy()


class MarginalDRO(TorchClassifier):
    """Marginal DRO over the sensitive value: the dual bound of §3.3 (not the official loop, W-D10).

    The MLP is fixed by the spec (lr 1e-3, hidden 64, dropout 0.1, batch 512); only ``radius``
    and ``p_min`` are grid keys.
    """

    def __init__(self, radius: float = 1.0, p_min: float = 0.1, hidden_size: int = 64, dropout_ratio: float = 0.1,
                 lr: float = 1e-3, batch_size: int = 512, train_epochs: int = 10, seed: int = 0):
        super().__init__(hidden_size, dropout_ratio, lr, batch_size, train_epochs, seed)
        self.radius = radius
        self.p_min = p_min

    def _objective(self, X):
        from components.whyshift.losses import MarginalDROLoss

        return MarginalDROLoss(self.radius, self.p_min)

    @staticmethod
    def _batch_groups(X: np.ndarray) -> np.ndarray:
        """The raw sensitive value: the transport cost is |s_i − s_j|."""
        return np.ascontiguousarray(X[:, 0], dtype=np.float32)
