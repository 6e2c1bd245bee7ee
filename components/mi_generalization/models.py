"""The MLPs and their Lightning modules.

* :class:`MLP` — fully connected ReLU layers returning every layer's activations (T1, T2, …, logits).
* :class:`LitInfoMLP` (E1, E4) — Adam, cross-entropy; at the start of every epoch (weights after e−1
  updates, as the companion code) the Gibbs MI of every layer on the training inputs and the train/test
  loss and accuracy are recorded in ``history`` — computed in the loop, activations never stored.
* :class:`LitBoundSimulator` (E2, E3) — manual optimisation, one full-batch step per epoch: the official
  incoherence or conditional-MI simulator (spec §3.3): singled-out per-sample gradients by separate backward
  passes, SGLD-type noise (σ_t/η)·ε added to the gradient, then Adam (the code) or SGD (option).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn

from components.mi_generalization import bounds as B
from components.mi_generalization.estimators import gibbs_mi

LAYER_NAMES = ("t1", "t2", "yhat")


class MLP(nn.Module):
    """``sizes[0] → … → sizes[-1]``; ReLU on hidden layers; ``hidden_bias`` for hidden layers, output bias always."""

    def __init__(self, sizes: tuple[int, ...], hidden_bias: bool, init: str, activation: str = "relu"):
        super().__init__()
        if activation not in ("relu", "tanh"):
            raise ValueError(f"unknown activation {activation!r}")
        self.act = torch.relu if activation == "relu" else torch.tanh
        self.layers = nn.ModuleList([nn.Linear(a, b, bias=hidden_bias or k == len(sizes) - 2)
                                     for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))])
        for k, layer in enumerate(self.layers):
            if init == "glorot_uniform":
                nn.init.xavier_uniform_(layer.weight)
            elif init == "he_normal":  # Keras he_normal: truncated normal, std √(2/fan_in)
                nn.init.trunc_normal_(layer.weight, std=math.sqrt(2 / layer.in_features) / 0.8796,
                                      a=-2 * math.sqrt(2 / layer.in_features) / 0.8796,
                                      b=2 * math.sqrt(2 / layer.in_features) / 0.8796)
            elif init == "trunc_normal":  # companion MNIST code: std 0.001 (layer 1), 0.1 (others)
                std = 0.001 if k == 0 else 0.1
                nn.init.trunc_normal_(layer.weight, std=std, a=-2 * std, b=2 * std)
            else:
                raise ValueError(f"unknown init {init!r}")
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = x.flatten(1)
        acts = []
        for k, layer in enumerate(self.layers):
            h = layer(h)
            if k < len(self.layers) - 1:
                h = self.act(h)
            acts.append(h)
        return acts


def layer_mi(acts: list[torch.Tensor], labels: torch.Tensor) -> dict[str, float]:
    """Gibbs MI of every layer (bits): ``i_xt_<layer>``, ``i_yt_<layer>``, ``i_xbar_t_<layer>``."""
    y = labels.detach().cpu().numpy()
    out = {}
    names = LAYER_NAMES if len(acts) == 3 else tuple(f"t{k + 1}" for k in range(len(acts) - 1)) + ("yhat",)
    for name, a in zip(names, acts):
        for key, value in gibbs_mi(a.detach().cpu().double().numpy(), y).items():
            if key != "h_t":
                out[f"{key}_{name}"] = value
    return out


def baseline_mi(acts: list[torch.Tensor], labels: torch.Tensor, bin_sizes, kde_vars) -> dict[str, float]:
    """Binning and KDE estimates of every layer (bits): ``bin<b>_i_xt_<layer>``, ``kde<v>_i_yt_<layer>``, …"""
    from components.mi_generalization.estimators import binning_mi, kde_mi

    y = labels.detach().cpu().numpy()
    out = {}
    for name, a in zip(LAYER_NAMES, acts):
        a = a.detach().cpu().double().numpy()
        for b in bin_sizes:
            out.update({f"bin{b:g}_{k}_{name}": v for k, v in binning_mi(a, y, b).items()})
        for v in kde_vars:
            out.update({f"kde{v:g}_{k}_{name}": val for k, val in kde_mi(a, y, v).items()})
    return out


def _loss_acc(logits: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    return (float(nn.functional.cross_entropy(logits, y)), float((logits.argmax(1) == y).float().mean()))


class _Curves(pl.LightningModule):
    """Shared: per-epoch records, thinned logging through the attached (MLflow) logger."""

    def __init__(self, log_every: int):
        super().__init__()
        self.history: list[dict] = []
        self.log_every = max(1, log_every)
        self._t0 = time.perf_counter()

    def _record(self, row: dict) -> None:
        self.history.append(row)
        if self.logger is not None and (row["epoch"] % self.log_every == 0 or row.get("final")):
            self.logger.log_metrics({k: float(v) for k, v in row.items() if k not in ("epoch", "final")
                                     and v is not None and np.isfinite(v)}, step=int(row["epoch"]))


class LitInfoMLP(_Curves):
    """E1/E4: Adam on cross-entropy; MI per layer per epoch on the whole training set."""

    def __init__(self, sizes, hidden_bias: bool, init: str, lr: float, train: tuple, test: tuple,
                 log_every: int = 10, activation: str = "relu", baselines: dict | None = None):
        super().__init__(log_every)
        self.net = MLP(tuple(sizes), hidden_bias, init, activation)
        self.baselines = baselines  # {"bin_sizes": [...], "kde_vars": [...], "every": k} or None
        self.lr = lr
        self.x_tr, self.y_tr = train
        self.x_te, self.y_te = test

    def forward(self, x):
        return self.net(x)

    @torch.no_grad()
    def snapshot(self, epoch: int, final: bool = False) -> dict:
        acts = self.net(self.x_tr.to(self.device))
        tr_loss, tr_acc = _loss_acc(acts[-1], self.y_tr.to(self.device))
        te_loss, te_acc = _loss_acc(self.net(self.x_te.to(self.device))[-1], self.y_te.to(self.device))
        row = {"epoch": epoch, "train_loss": tr_loss, "train_acc": tr_acc, "test_loss": te_loss, "test_acc": te_acc,
               **layer_mi(acts, self.y_tr), **({"final": True} if final else {})}
        if self.baselines and (final or epoch % self.baselines["every"] == 0):
            row.update(baseline_mi(acts, self.y_tr, self.baselines["bin_sizes"], self.baselines["kde_vars"]))
        return row

    def on_train_epoch_start(self) -> None:
        self._record(self.snapshot(self.current_epoch))

    def on_train_end(self) -> None:
        self._record(self.snapshot(self.current_epoch, final=True))  # after fit: the number of epochs done

    def training_step(self, batch, batch_idx: int):
        x, y = batch
        return nn.functional.cross_entropy(self.net(x)[-1], y)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


class LitBoundSimulator(_Curves):
    """E2/E3: one simulator run (``kind`` = ``incoherence`` or ``cmi``) on its fixed training rows.

    ``rows``: x (m, …), y (m,) with the simulator's layout — incoherence: the n kept samples, index ``j``
    singled out; cmi: S∖J (n−1 rows) then z_J1, z_J2 (rows n−1 and n), ``u`` ∈ {1, 2} picks the trained one.
    """

    def __init__(self, kind: str, sizes, lr: float, optimizer: str, rows: tuple, j: int, u: int,
                 tests: dict, noise_seed: int, eval_every: int, log_every: int = 50):
        super().__init__(log_every)
        if kind not in ("incoherence", "cmi"):
            raise ValueError(f"unknown simulator {kind!r}")
        self.automatic_optimization = False
        self.kind, self.lr, self.opt_name = kind, lr, optimizer
        self.net = MLP(tuple(sizes), True, "he_normal")
        self.x, self.y = rows
        self.j, self.u = j, u
        self.n = len(self.y) if kind == "incoherence" else len(self.y) - 1
        self.tests = tests
        self.eval_every = max(1, eval_every)
        self.gen = torch.Generator().manual_seed(noise_seed)
        self.acc = 0.0  # Σ_t of the bound's summands
        self.a = 0.0  # the CMI simulator's θ argument
        self.step_t = 0

    def configure_optimizers(self):
        if self.opt_name == "adam":
            return torch.optim.Adam(self.parameters(), lr=self.lr)
        return torch.optim.SGD(self.parameters(), lr=self.lr)

    def train_mask(self) -> torch.Tensor:
        """Rows the network is trained on: all n (incoherence) or S∖J plus z_JU (cmi)."""
        m = torch.ones(len(self.y), dtype=torch.bool)
        if self.kind == "cmi":
            m[self.n - 1 + (2 - self.u)] = False  # drop the z_J that is not trained on
        return m

    def _grad(self, loss: torch.Tensor, retain: bool) -> torch.Tensor:
        grads = torch.autograd.grad(loss, list(self.net.parameters()), retain_graph=retain)
        return torch.cat([g.reshape(-1) for g in grads]).double()

    @torch.no_grad()
    def evaluate(self, acts=None) -> dict:
        out = {}
        for name, (x, y) in self.tests.items():
            loss, acc = _loss_acc(self.net(x.to(self.device))[-1], y.to(self.device))
            out[f"{name}_loss"], out[f"{name}_acc"] = loss, acc
        return out

    def _summary(self, acts, epoch: int, with_tests: bool, final: bool = False) -> dict:
        mask = self.train_mask().to(self.device)
        logits = acts[-1][mask]
        y = self.y.to(self.device)[mask]
        tr_loss, tr_acc = _loss_acc(logits, y)
        bound = B.incoherence_bound(self.acc) if self.kind == "incoherence" else B.cmi_bound(self.acc, self.n)
        row = {"epoch": epoch, "train_loss": tr_loss, "train_acc": tr_acc, "bound": bound, "acc_sum": self.acc}
        if self.kind == "cmi":
            row["arg_theta"] = self.a
        if with_tests:  # MI and test metrics every ``eval_every`` epochs (and after the last update)
            row.update(layer_mi([a[mask] for a in acts], y))
            row.update(self.evaluate())
        if final:
            row["final"] = True
        return row

    def training_step(self, batch, batch_idx: int):
        x, y = self.x.to(self.device), self.y.to(self.device)
        opt = self.optimizers()
        t, lr, n = self.step_t, self.lr, self.n
        acts = self.net(x)
        losses = nn.functional.cross_entropy(acts[-1], y, reduction="none")
        if self.kind == "incoherence":
            rest = torch.ones(len(y), dtype=torch.bool, device=self.device)
            rest[self.j] = False
            g_rest = self._grad(losses[rest].mean(), True)
            g_j = self._grad(losses[self.j], False)
            self.acc += B.incoherence_term(t, lr, n, float(((g_rest - g_j) ** 2).sum()))
            g_train = (n - 1) / n * g_rest + g_j / n
        else:
            g_rest = self._grad(losses[: n - 1].mean(), True)
            g1 = self._grad(losses[n - 1], True)
            g2 = self._grad(losses[n], False)
            delta = g1 - g2
            delta_sq = float((delta**2).sum())
            self.acc += B.cmi_term(t, lr, delta_sq, self.a)
            g_train = (n - 1) / n * g_rest + (g1 if self.u == 1 else g2) / n
        noisy, eps = B.inject_noise(g_train, t, lr, self.gen)
        if self.kind == "cmi":
            s = -1.0 if self.u == 1 else 1.0
            self.a = B.cmi_theta_update(self.a, t, lr, n, delta_sq, float((s * delta * eps).sum()))
        with torch.no_grad():
            record_tests = self.current_epoch % self.eval_every == 0
            self._record(self._summary([a.detach() for a in acts], self.current_epoch, record_tests))
        offset = 0
        for p in self.net.parameters():
            k = p.numel()
            p.grad = noisy[offset: offset + k].view_as(p).to(p.dtype)
            offset += k
        opt.step()
        opt.zero_grad(set_to_none=True)
        self.step_t += 1

    def on_train_end(self) -> None:
        with torch.no_grad():
            acts = self.net(self.x.to(self.device))
            self._record(self._summary(acts, self.step_t, True, final=True))


class SingleBatch:
    """A 'loader' with one full batch per epoch (no DataLoader overhead on a latency-bound loop).
    Not a list: Lightning would read a list as several loaders."""

    def __init__(self, *tensors):
        self.batch = tuple(tensors)

    def __iter__(self):
        yield self.batch

    def __len__(self) -> int:
        return 1


def single_batch(*tensors) -> SingleBatch:
    return SingleBatch(*tensors)
