"""Lightning training of one registry model on one system's by-state split (spec §3.4 training):
plain MSE on the model's target, Adam, NaN gradients zeroed and counted, element-wise ±clip,
the lowest-training-loss weights kept (the code's ``trained_model_low``)."""

from __future__ import annotations

import copy
import math

import pytorch_lightning as pl
import torch


class LitPhysics(pl.LightningModule):
    def __init__(self, model, lr: float, grad_clip: float):
        super().__init__()
        self.model, self.lr, self.grad_clip = model, lr, grad_clip
        self.nan_steps = 0
        self.best_loss = math.inf
        self.best_state = None
        self.history: list[dict] = []
        self._epoch_losses: list[float] = []
        self._val_losses: list[float] = []

    def training_step(self, batch, batch_idx: int):
        q, v, y = batch
        loss = torch.mean((self.model.predict(q, v, create_graph=True) - y) ** 2)
        self._epoch_losses.append(float(loss.detach()))
        return loss

    def on_before_optimizer_step(self, optimizer) -> None:
        bad = False
        for p in self.parameters():
            if p.grad is not None:
                if not torch.isfinite(p.grad).all():
                    bad = True
                    torch.nan_to_num_(p.grad, nan=0.0, posinf=0.0, neginf=0.0)
                p.grad.clamp_(-self.grad_clip, self.grad_clip)
        self.nan_steps += int(bad)

    def validation_step(self, batch, batch_idx: int):
        q, v, y = batch
        with torch.enable_grad():
            pred = self.model.predict(q, v, create_graph=False)
        self._val_losses.append(float(torch.mean((pred.detach() - y) ** 2)))

    def on_train_epoch_end(self) -> None:
        loss = sum(self._epoch_losses) / max(1, len(self._epoch_losses))
        self._epoch_losses.clear()
        row = {"epoch": self.current_epoch, "train_loss": loss,
               "val_loss": self._val_losses[-1] if self._val_losses else float("nan")}
        self.history.append(row)
        self.log("train_loss", loss, on_epoch=True)
        if math.isfinite(loss) and loss < self.best_loss:
            self.best_loss = loss
            self.best_state = copy.deepcopy(self.model.state_dict())

    def on_validation_epoch_end(self) -> None:
        if self._val_losses:
            val = sum(self._val_losses) / len(self._val_losses)
            self._val_losses = [val]
            self.log("val_loss", val)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)
