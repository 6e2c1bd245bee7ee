"""TARNet and CFR-MMD (Shalit et al. 2017) as one LightningModule; no maintained library fits the stack.

Φ: x → r (ELU MLP) with two outcome heads h₀, h₁. Loss: treatment-balanced weighted factual MSE
w_i = t/(2u) + (1 − t)/(2(1 − u)), u = mean(t), plus α · MMD²_RBF(Φ(x)_treated, Φ(x)_control)
(α = 0 → TARNet). Full-batch training; the weights with the best *factual* validation loss are kept
(never select on τ, which is unobservable).
"""

from __future__ import annotations

import copy

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn

MMD_UNITS = 128  # per arm and epoch: a random subsample keeps the O(n²) kernel cheap on a full batch



def mlp(n_in: int, hidden: int, layers: int) -> nn.Sequential:
    mods: list[nn.Module] = []
    for k in range(layers):
        mods += [nn.Linear(n_in if k == 0 else hidden, hidden), nn.ELU()]
    return nn.Sequential(*mods)


def mmd2_rbf(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Biased MMD² with an RBF kernel whose bandwidth is the median pairwise distance (median heuristic)."""
    if len(a) == 0 or len(b) == 0:
        return torch.zeros((), dtype=a.dtype)
    both = torch.cat([a, b])
    d2 = torch.cdist(both, both).pow(2)
    scale = d2.detach().median().clamp_min(1e-6)
    k = torch.exp(-d2 / scale)
    na = len(a)
    return k[:na, :na].mean() + k[na:, na:].mean() - 2 * k[:na, na:].mean()


class CounterfactualRegression(pl.LightningModule):
    """TARNet (alpha = 0) or CFR with an MMD penalty on the representation (alpha > 0)."""

    def __init__(self, n_features: int, hidden: int, layers: int, head_hidden: int, lr: float,
                 weight_decay: float, alpha: float):
        super().__init__()
        self.save_hyperparameters()
        self.phi = mlp(n_features, hidden, layers)
        self.heads = nn.ModuleList([nn.Sequential(mlp(hidden, head_hidden, 2), nn.Linear(head_hidden, 1))
                                    for _ in range(2)])
        self.best_val = float("inf")
        self.best_state: dict | None = None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r = self.phi(x)
        return self.heads[0](r).squeeze(-1), self.heads[1](r).squeeze(-1), r

    def factual_loss(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        x, t, y = batch
        y0, y1, r = self(x)
        u = t.mean().clamp(0.01, 0.99)
        w = t / (2 * u) + (1 - t) / (2 * (1 - u))
        mse = (w * (y - torch.where(t > 0, y1, y0)) ** 2).mean()
        return mse, r

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        mse, r = self.factual_loss(batch)
        loss = mse + self.hparams.alpha * self.imbalance(r, batch[1]) if self.hparams.alpha > 0 else mse
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def imbalance(self, r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """MMD² between treated and control representations, each arm subsampled to ``MMD_UNITS``."""
        arms = []
        for mask in (t > 0, t == 0):
            idx = torch.nonzero(mask).squeeze(-1)
            if len(idx) > MMD_UNITS:
                idx = idx[torch.randperm(len(idx))[:MMD_UNITS]]
            arms.append(r[idx])
        return mmd2_rbf(*arms)

    def validation_step(self, batch, batch_idx: int) -> None:
        mse, _ = self.factual_loss(batch)
        self.log("val_factual_mse", mse, on_epoch=True, on_step=False)
        if float(mse) < self.best_val:
            self.best_val = float(mse)
            self.best_state = copy.deepcopy(self.state_dict())

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)


def _loader(x: np.ndarray, t: np.ndarray, y: np.ndarray):
    from torch.utils.data import DataLoader, TensorDataset

    ds = TensorDataset(*(torch.as_tensor(a, dtype=torch.float32) for a in (x, t, y)))
    return DataLoader(ds, batch_size=len(ds), shuffle=False)


def fit_predict_cate(x: np.ndarray, t: np.ndarray, y: np.ndarray, x_all: np.ndarray, rp, alpha: float,
                     seed: int, run=None) -> np.ndarray:
    """Train on (x, t, y) with a stratified factual validation split; τ̂ for ``x_all`` in outcome units."""
    from components.core.training import make_trainer

    torch.set_num_threads(1)
    pl.seed_everything(seed, verbose=False)
    rng = np.random.default_rng(seed)
    val = np.zeros(len(y), dtype=bool)
    for arm in (0, 1):
        idx = np.flatnonzero(t == arm)
        val[rng.permutation(idx)[: max(1, int(rp.val_share * len(idx)))]] = True
    mx, sx = x[~val].mean(0), x[~val].std(0) + 1e-8
    my, sy = y[~val].mean(), y[~val].std() + 1e-8
    xs, ys = (x - mx) / sx, (y - my) / sy
    model = CounterfactualRegression(x.shape[1], rp.hidden, rp.layers, rp.head_hidden, rp.lr,
                                     rp.weight_decay, alpha)
    trainer = make_trainer(rp.epochs, run=run, progress=False, check_val_every_n_epoch=rp.val_every,
                           log_every_n_steps=1)
    trainer.fit(model, _loader(xs[~val], t[~val], ys[~val]), _loader(xs[val], t[val], ys[val]))
    if model.best_state is not None:
        model.load_state_dict(model.best_state)
    model.eval()
    with torch.no_grad():
        y0, y1, _ = model(torch.as_tensor((x_all - mx) / sx, dtype=torch.float32))
    return ((y1 - y0).numpy() * sy).astype(np.float64)
