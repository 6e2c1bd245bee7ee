"""Lightning training of one registry model on one system's by-state split (spec §3.4 training):
MSE on the model's target, Adam, NaN gradients zeroed and counted, element-wise ±clip.

Target scaling (issue 14): the loss is the MSE of each target block divided by that block's training
variance (the standardised target), and the model's outputs carry the blocks' standard deviations as a
fixed scale (``PhysicsGNN.set_output_scale``) — so the networks learn O(1) outputs and the loss is the fit
criterion's own quantity. The learning rate follows a cosine decay over the step cap (``lr_schedule``).

Budget rule (issue 14), the same for every model: train until the pre-registered fit criterion holds on
the validation split (checked every ``check_every`` optimizer steps) or until the step cap; never a
wall-clock limit. The weights kept are those of the check with the lowest validation error (the first one
meeting the criterion when any does), so the reported fit status is the kept model's."""

from __future__ import annotations

import copy
import math

import pytorch_lightning as pl
import torch


def block_nmse(pred: torch.Tensor, y: torch.Tensor, dim: int) -> list[float]:
    """Validation MSE of each target block over its variance: one block (q̈) or two (ż = (q̇, ṗ),
    deltas = (Δq, Δv)) of ``dim`` columns each — so a small-variance block cannot hide behind a large one."""
    out = []
    for k in range(y.shape[-1] // dim):
        yb, pb = y[..., k * dim:(k + 1) * dim], pred[..., k * dim:(k + 1) * dim]
        var = float(((yb - yb.mean(0)) ** 2).mean())
        out.append(float(((pb - yb) ** 2).mean()) / max(var, 1e-300))
    return out


def predict_all(model, q: torch.Tensor, v: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    with torch.enable_grad():
        return torch.cat([model.predict(q[i:i + chunk], v[i:i + chunk], create_graph=False).detach()
                          for i in range(0, len(q), chunk)])


class LitPhysics(pl.LightningModule):
    def __init__(self, model, lr: float, grad_clip: float, val=None, fit_nmse: float = 0.05,
                 check_every: int = 25, target_scale: torch.Tensor | None = None, max_steps: int | None = None,
                 lr_schedule: str = "constant"):
        super().__init__()
        self.model, self.lr, self.grad_clip = model, lr, grad_clip
        self.target_scale = target_scale  # per target column (None: the plain MSE of the code)
        self.max_steps, self.lr_schedule = max_steps, lr_schedule
        self.val, self.fit_nmse, self.check_every = val, fit_nmse, check_every
        self.nan_steps = 0
        self.best_nmse = math.inf  # max over target blocks, at the kept checkpoint
        self.best_blocks: list[float] = []
        self.best_state = None
        self.fit_step: int | None = None  # optimizer step at which the criterion first held
        self.history: list[dict] = []  # one row per fit check
        self._losses: list[float] = []

    def training_step(self, batch, batch_idx: int):
        q, v, y = batch
        err = self.model.predict(q, v, create_graph=True) - y
        if self.target_scale is not None:
            err = err / self.target_scale
        loss = torch.mean(err ** 2)
        self._losses.append(float(loss.detach()))
        return loss

    def on_before_optimizer_step(self, optimizer) -> None:
        """The code's gradient hygiene: NaN/inf → 0 (counted), then an element-wise ±clip — one finiteness
        test over all gradients (a sum is finite iff every term is) and fused clamps."""
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        if not grads:
            return
        if not bool(torch.isfinite(torch.stack([g.sum() for g in grads]).sum())):
            self.nan_steps += 1
            for g in grads:
                torch.nan_to_num_(g, nan=0.0, posinf=0.0, neginf=0.0)
        torch._foreach_clamp_min_(grads, -self.grad_clip)
        torch._foreach_clamp_max_(grads, self.grad_clip)

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        step = self.trainer.global_step
        if self.val is None or step % self.check_every:
            return
        self.check(step)
        row = self.history[-1]
        self.log_dict({"train_loss": row["train_loss"], "val_nmse": row["val_nmse"]})

    def check(self, step: int) -> bool:
        """Score the current weights on the validation split; keep them if best; stop when fit."""
        q, v, y = self.val
        blocks = block_nmse(predict_all(self.model, q, v), y, q.shape[-1])
        worst = max(blocks) if all(math.isfinite(b) for b in blocks) else math.inf
        train_loss = sum(self._losses) / max(1, len(self._losses))
        self._losses.clear()
        self.history.append({"step": step, "train_loss": train_loss, "val_nmse": worst})
        fit = worst <= self.fit_nmse
        if worst < self.best_nmse and self.fit_step is None:
            self.best_nmse, self.best_blocks = worst, blocks
            self.best_state = copy.deepcopy(self.model.state_dict())
        if fit and self.fit_step is None:
            self.fit_step = step
            self.trainer.should_stop = True
        return fit

    def configure_optimizers(self):
        opt = torch.optim.Adam(self.parameters(), lr=self.lr)
        if self.lr_schedule == "constant" or not self.max_steps:
            return opt
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.max_steps, eta_min=self.lr * 0.01)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def block_scales(y: torch.Tensor, dim: int) -> list[float]:
    """Standard deviation of each target block (over samples, nodes and its ``dim`` columns)."""
    return [float(y[..., k * dim:(k + 1) * dim].std()) for k in range(y.shape[-1] // dim)]


def column_scale(scales: list[float], dim: int) -> torch.Tensor:
    """The block scales repeated over each block's columns: divides the error in the loss."""
    return torch.as_tensor([s for s in scales for _ in range(dim)], dtype=torch.float64)
