"""Several torch configs of one method fitted in one Lightning loop: the grid's hyper-parameter variants
that share a network shape, batch size, learning rate and epoch count (e.g. the 6 DRO radii of one MLP).

The networks' weights are stacked along a model axis, but every model keeps what makes it *its* fit:
its own seeded init, its own batch order (its own ``batch_loader``), its own dropout masks (a generator
continuing its seeded stream), its own objective and the same per-model ops as alone. The loss is the
sum of the models' losses, so each model's gradient is its own, and Adam is elementwise — each model's
result is bit-identical to fitting it alone (tested).
Why: Lightning's per-step overhead was ~60 % of a DRO config's CPU time (benchmarks/grid.py).
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn

from components.whyshift.lightning import LitClassifier
from components.whyshift.models import TorchClassifier, batch_loader, standardiser


def stack_key(estimator) -> tuple | None:
    """Configs with equal keys can share one loop; ``None`` for estimators that are not stackable."""
    if not isinstance(estimator, TorchClassifier) or estimator.hidden_size == 0:
        return None  # LR: one config per (lr, batch, epochs) in the grid, nothing to share
    return (type(estimator).__name__, estimator.hidden_size, estimator.batch_size, float(estimator.lr),
            estimator.train_epochs)


class _EpochBatches(torch.utils.data.IterableDataset):
    """One epoch of (models × batch) row indices: each model's own loader, iterated in lockstep."""

    def __init__(self, loaders: list):
        self.loaders = loaders

    def __iter__(self):
        for parts in zip(*[iter(loader) for loader in self.loaders]):
            yield torch.stack([p[0] for p in parts])


class StackedMLP(pl.LightningModule):
    """M spec MLPs (Linear→ReLU→Dropout→Linear→ReLU→Linear) whose weights are stacked (M, out, in) tensors.

    Each model's forward runs the same ``F.linear`` calls on its slice as ``nn.Linear`` does alone (same
    kernels, same shapes), so gradients — and Adam's elementwise update of the stacked tensors — are
    bit-identical to fitting it alone; the stack only shares Lightning's per-step work and Adam's calls.
    """

    def __init__(self, nets: list[nn.Sequential], dropouts: list[float], objectives: list, generators: list,
                 lr: float, x: torch.Tensor, y: torch.Tensor, groups: list[torch.Tensor | None]):
        super().__init__()
        linears = [[m for m in net if isinstance(m, nn.Linear)] for net in nets]
        self.weights = nn.ParameterList([nn.Parameter(torch.stack([ls[k].weight.detach() for ls in linears]))
                                         for k in range(3)])
        self.biases = nn.ParameterList([nn.Parameter(torch.stack([ls[k].bias.detach() for ls in linears]))
                                        for k in range(3)])
        self.objectives = nn.ModuleList([o if o is not None else nn.Identity() for o in objectives])
        self.has_objective = [o is not None for o in objectives]
        self.dropouts, self.generators, self.lr = dropouts, generators, lr
        self.x, self.y, self.groups = x, y, groups

    def _loss(self, m: int, idx: torch.Tensor) -> torch.Tensor:
        """Model ``m``'s batch loss, op for op as ``LitClassifier.training_step`` computes it."""
        functional = nn.functional
        h = torch.relu(functional.linear(self.x[idx], self.weights[0][m], self.biases[0][m]))
        p = self.dropouts[m]
        if p > 0:  # nn.Dropout: bernoulli(1 − p) noise from the model's own stream, scaled by 1/(1 − p)
            h = h * torch.empty_like(h).bernoulli_(1 - p, generator=self.generators[m]).div_(1 - p)
        h = torch.relu(functional.linear(h, self.weights[1][m], self.biases[1][m]))
        losses = functional.cross_entropy(functional.linear(h, self.weights[2][m], self.biases[2][m]),
                                          self.y[idx], reduction="none")
        if not self.has_objective[m]:
            return losses.mean()
        return self.objectives[m](losses, self.groups[m][idx] if self.groups[m] is not None else None)

    def training_step(self, idx: torch.Tensor, batch_idx: int) -> torch.Tensor:
        return torch.stack([self._loss(m, idx[m]) for m in range(idx.shape[0])]).sum()

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)

    def unstack(self, m: int, net: nn.Sequential) -> None:
        """Copy model ``m``'s trained weights into its own network."""
        linears = [layer for layer in net if isinstance(layer, nn.Linear)]
        with torch.no_grad():
            for k, layer in enumerate(linears):
                layer.weight.copy_(self.weights[k][m])
                layer.bias.copy_(self.biases[k][m])


def fit_stacked(estimators: list[TorchClassifier], X: np.ndarray, y: np.ndarray) -> None:
    """Fit estimators of one ``stack_key`` together; each ends with ``module_`` as if fitted alone."""
    from components.core.training import make_trainer

    keys = {stack_key(e) for e in estimators}
    if len(keys) != 1 or None in keys:
        raise ValueError(f"fit_stacked needs estimators of one stack key, got {keys}")
    first = estimators[0]
    X = np.asarray(X, dtype=np.float32)
    mean, scale = standardiser(X)
    xs = torch.from_numpy(((X - mean.astype(np.float32)) / scale.astype(np.float32)).astype(np.float32))
    ys = torch.from_numpy(np.array(y, dtype=np.int64))
    index = torch.utils.data.TensorDataset(torch.arange(len(ys)))
    modules, generators, loaders, groups = [], [], [], []
    for est in estimators:
        est.mean_, est.scale_ = mean.astype(np.float32), scale.astype(np.float32)
        est.classes_ = np.array([0, 1])
        objective = est._objective(X)  # built before seeding, as in TorchClassifier.fit
        groups.append(torch.from_numpy(est._batch_groups(X)) if objective is not None else None)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(est.seed)
            modules.append(LitClassifier(X.shape[1], est.hidden_size, est.dropout_ratio, est.lr, objective))
            generators.append(torch.Generator().set_state(torch.get_rng_state()))  # the dropout stream
        loaders.append(batch_loader(index, est.batch_size, est.seed))
    stack = StackedMLP([m.net for m in modules], [e.dropout_ratio for e in estimators],
                       [m.objective for m in modules], generators, first.lr, xs, ys, groups)
    loader = torch.utils.data.DataLoader(_EpochBatches(loaders), batch_size=None)
    make_trainer(first.train_epochs, progress=False).fit(stack, loader)
    for m, (est, module) in enumerate(zip(estimators, modules)):
        stack.unstack(m, module.net)
        est.module_ = module.eval()
