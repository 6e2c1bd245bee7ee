"""The Lightning module behind every torch method: a network plus a per-example loss hook.

Batches are ``(x, y)`` or ``(x, y, group)``. ERM takes the plain mean of the per-example
cross-entropy; a robust method passes an ``objective`` (a module of ``components.whyshift.losses``
mapping ``(losses, groups)`` to a scalar) so its state — Group DRO's q, marginal DRO's η — is part
of the module and its learnable parameters reach the optimiser.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import nn


def make_network(n_features: int, hidden_size: int, dropout_ratio: float) -> nn.Module:
    """``Linear(d, 2)`` when ``hidden_size == 0``, else Linear→ReLU→Dropout→Linear→ReLU→Linear (spec §3.2)."""
    if hidden_size == 0:
        return nn.Linear(n_features, 2)
    return nn.Sequential(nn.Linear(n_features, hidden_size), nn.ReLU(), nn.Dropout(dropout_ratio),
                         nn.Linear(hidden_size, hidden_size), nn.ReLU(), nn.Linear(hidden_size, 2))


class LitClassifier(pl.LightningModule):
    def __init__(self, n_features: int, hidden_size: int, dropout_ratio: float, lr: float,
                 objective: nn.Module | None = None):
        super().__init__()
        self.save_hyperparameters(ignore=["objective"])
        self.net = make_network(n_features, hidden_size, dropout_ratio)
        self.lr = lr
        self.objective = objective

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def reduce_loss(self, losses: torch.Tensor, batch) -> torch.Tensor:
        if self.objective is None:
            return losses.mean()
        groups = batch[2] if len(batch) > 2 else None
        return self.objective(losses, groups)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, y = batch[0], batch[1]
        losses = nn.functional.cross_entropy(self(x), y, reduction="none")
        loss = self.reduce_loss(losses, batch)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=False)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)
