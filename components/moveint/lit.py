"""Lightning wrappers: MoVEInt, the recurrent baseline and MILD's VAE; padded trajectory batches.

Every ``log_every`` epochs (and at the last) each module records train/val prediction error in the
§6 unit (``history``, logged to MLflow); validation demos are split off the training demos — never
the test split — and nothing is selected on them: the final epoch is what gets evaluated.
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import Dataset

from components.moveint.metrics import window_errors
from components.moveint.model import MoVEInt, RecurrentBaseline, WindowVAE, loss_terms, masked_traj_mean


class Trajectories(Dataset):
    def __init__(self, trajs: list[dict]):
        self.trajs = trajs

    def __len__(self) -> int:
        return len(self.trajs)

    def __getitem__(self, i: int) -> dict:
        return self.trajs[i]


def pad_batch(trajs: list[dict]) -> dict[str, torch.Tensor]:
    """Trajectories of different lengths → (B, T_max, ·) tensors with a (B, T_max) mask."""
    B, T = len(trajs), max(len(t["xh"]) for t in trajs)
    xh = torch.zeros(B, T, trajs[0]["xh"].shape[1])
    xr = torch.zeros(B, T, trajs[0]["xr"].shape[1])
    mask = torch.zeros(B, T)
    for b, t in enumerate(trajs):
        n = len(t["xh"])
        xh[b, :n] = torch.as_tensor(t["xh"], dtype=torch.float32)
        xr[b, :n] = torch.as_tensor(t["xr"], dtype=torch.float32)
        mask[b, :n] = 1
    return {"xh": xh, "xr": xr, "mask": mask, "action": torch.as_tensor([t["action"] for t in trajs])}


class _Tracked(pl.LightningModule):
    """Shared: AdamW, history of train/val prediction error every ``log_every`` epochs."""

    def setup_tracking(self, lr: float, weight_decay: float, log_every: int, epochs: int, monitor: dict,
                       err_spec: tuple[int, float], unscale=lambda y: y):
        """``monitor``: name → (model-space trajectories, raw trajectories); ``unscale`` maps predictions
        back to the raw unit so the logged errors are in the §6 unit."""
        self.lr, self.weight_decay, self.log_every, self.max_epochs_ = lr, weight_decay, log_every, epochs
        self.monitor_sets, self.err_spec, self.unscale = monitor, err_spec, unscale
        self.history: list[dict] = []
        self._sums: dict[str, list[float]] = {}

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def _accumulate(self, terms: dict[str, torch.Tensor]) -> None:
        for k, v in terms.items():
            self._sums.setdefault(k, []).append(float(v.detach()))

    def predict_trajs(self, trajs: list[dict]) -> np.ndarray:
        raise NotImplementedError

    def on_train_epoch_end(self) -> None:
        epoch = self.current_epoch + 1
        if epoch % self.log_every and epoch != self.max_epochs_:
            self._sums = {}
            return
        row = {"epoch": epoch, **{f"train/{k}": float(np.mean(v)) for k, v in self._sums.items()}}
        self._sums = {}
        was = self.training
        self.eval()
        with torch.no_grad():
            for name, (trajs, raw) in self.monitor_sets.items():
                if trajs:
                    pred = self.unscale(self.predict_trajs(trajs))
                    y = np.concatenate([t["xr"] for t in raw])
                    row[f"{name}/pred_mse"] = float(window_errors(pred, y, *self.err_spec).mean())
        self.train(was)
        self.history.append(row)
        self.log_dict({k: v for k, v in row.items() if k != "epoch"}, on_step=False, on_epoch=True)


class LitMoVEInt(_Tracked):
    def __init__(self, d_h: int, d_r: int, mp, regularise: bool, K: int, samples: int):
        super().__init__()
        self.model = MoVEInt(d_h, d_r, K=K, Z=mp.Z, hidden=mp.hidden, eps=mp.eps, leaky_output=mp.leaky_output,
                             prior_std=mp.prior_std)
        self.beta, self.samples, self.regularise, self.axis = mp.beta, samples, regularise, mp.smoothness_axis

    def training_step(self, batch, batch_idx):
        terms = loss_terms(self.model, batch["xh"], batch["xr"], batch["mask"], self.samples, self.beta,
                           self.regularise, self.axis, sample=True)
        self._accumulate(terms)
        return terms["loss"]

    def predict_trajs(self, trajs):
        b = pad_batch(trajs)
        y = self.model.predict(b["xh"])["y"]
        return np.concatenate([y[i, :len(t["xh"])].numpy() for i, t in enumerate(trajs)])


class LitRecurrent(_Tracked):
    def __init__(self, d_h: int, d_r: int, hidden: int, n_actions: int):
        super().__init__()
        self.model = RecurrentBaseline(d_h, d_r, hidden, n_actions)

    def training_step(self, batch, batch_idx):
        pred = self.model(batch["xh"], batch["action"])
        loss = masked_traj_mean(((pred - batch["xr"]) ** 2).sum(-1), batch["mask"])
        self._accumulate({"pred_loss": loss})
        return loss

    def predict_trajs(self, trajs):
        b = pad_batch(trajs)
        y = self.model(b["xh"], b["action"])
        return np.concatenate([y[i, :len(t["xh"])].numpy() for i, t in enumerate(trajs)])


class LitWindowVAE(_Tracked):
    """MILD's VAE on windows of both agents (batches of (x_h, x_r) window pairs)."""

    def __init__(self, d_h: int, d_r: int, mp, beta: float, samples: int):
        super().__init__()
        self.model = WindowVAE(d_h, d_r, mp.Z, mp.hidden, mp.eps, mp.leaky_output)
        self.beta, self.samples = beta, samples

    def training_step(self, batch, batch_idx):
        xh, xr = batch
        lh, rh = self.model.loss(xh, "h", self.beta, self.samples)
        lr, rr = self.model.loss(xr, "r", self.beta, self.samples)
        self._accumulate({"ae_loss": (rh + rr) / 2})
        return lh + lr

    def predict_trajs(self, trajs):  # reconstruction of the robot windows (the VAE's own fit)
        enc, dec = self.model.agent("r")
        x = torch.as_tensor(np.concatenate([t["xr"] for t in trajs]), dtype=torch.float32)
        return dec(enc(x)[0]).numpy()
