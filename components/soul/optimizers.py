"""Unlearning optimisers as ``torch.optim.Optimizer`` classes (spec §3.3).

* ``SophiaSoul`` — SOUL's SophiaG exactly as the repo codes it: Hessian EMA from the squared
  (clipped) gradient every step, the momentum EMA applied twice (β1,eff = β1²), ``bs`` = 5120.
* ``SophiaRef`` — reference Sophia (Liuhong99/Sophia): one momentum EMA per step, Hessian EMA
  refreshed only every k steps from a Gauss–Newton–Bartlett estimate supplied by the caller.
Both record ``frac_clipped`` (share of coordinates whose ratio |m|/(ρ·bs·h) reached 1) per step.
"""

from __future__ import annotations

import torch

NO_DECAY_KEYS = ("bias", "ln_", "layernorm", "layer_norm", "norm.weight")


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Decay on weight matrices only: biases and LayerNorm weights get none (HF Trainer convention)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        low = name.lower()
        (no_decay if param.ndim < 2 or any(k in low for k in NO_DECAY_KEYS) else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class _SophiaBase(torch.optim.Optimizer):
    def __init__(self, params, lr: float, betas: tuple[float, float], rho: float, weight_decay: float, bs: float):
        if lr < 0 or rho <= 0 or bs <= 0:
            raise ValueError("need lr >= 0, rho > 0, bs > 0")
        super().__init__(params, dict(lr=lr, betas=betas, rho=rho, weight_decay=weight_decay, bs=bs))
        self.frac_clipped = float("nan")

    def _state(self, p: torch.Tensor) -> dict:
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)
            state["hessian"] = torch.zeros_like(p)
        return state

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter with a gradient; records ``frac_clipped``."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        clipped = total = 0
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self._state(p)
                state["step"] += 1
                c, n = self._update(p, state, group)
                clipped, total = clipped + c, total + n
        self.frac_clipped = clipped / total if total else float("nan")
        return loss

    def _update(self, p: torch.Tensor, state: dict, group: dict) -> tuple[int, int]:
        raise NotImplementedError

    def _apply(self, p: torch.Tensor, state: dict, group: dict) -> tuple[int, int]:
        """θ ← θ − lr·sign(m)·min(|m|/(ρ·bs·h + 1e-15), 1); returns (#clipped, #coordinates)."""
        m, h = state["exp_avg"], state["hessian"]
        ratio = m.abs() / (group["rho"] * group["bs"] * h + 1e-15)
        clipped = int((ratio >= 1).sum())
        p.addcmul_(m.sign(), ratio.clamp(max=1), value=-group["lr"])
        return clipped, p.numel()


class SophiaSoul(_SophiaBase):
    """SOUL's SophiaG (repo ``src/optim/sophia.py``), update order as coded there (spec §3.3, D1–D3)."""

    def __init__(self, params, lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.95), rho: float = 0.04,
                 weight_decay: float = 0.1, bs: float = 5120, double_momentum: bool = True):
        super().__init__(params, lr, betas, rho, weight_decay, bs)
        self.double_momentum = double_momentum

    @property
    def beta1_effective(self) -> float:
        b1 = self.param_groups[0]["betas"][0]
        return b1 * b1 if self.double_momentum else b1

    def _update(self, p: torch.Tensor, state: dict, group: dict) -> tuple[int, int]:
        beta1, beta2 = group["betas"]
        g = p.grad
        state["hessian"].mul_(beta2).addcmul_(g, g, value=1 - beta2)  # every step (D1)
        state["exp_avg"].mul_(beta1).add_(g, alpha=1 - beta1)
        p.mul_(1 - group["lr"] * group["weight_decay"])
        if self.double_momentum:  # the repo's second EMA in the same step (D2)
            state["exp_avg"].mul_(beta1).add_(g, alpha=1 - beta1)
        return self._apply(p, state, group)


class SophiaRef(_SophiaBase):
    """Reference Sophia-G: one momentum EMA per step; ``update_hessian()`` is called every k steps
    after back-propagating the GNB loss (CE against labels sampled from the model's softmax)."""

    def __init__(self, params, lr: float = 1e-4, betas: tuple[float, float] = (0.965, 0.99), rho: float = 0.04,
                 weight_decay: float = 0.1, bs: float = 1.0):
        super().__init__(params, lr, betas, rho, weight_decay, bs)

    @torch.no_grad()
    def update_hessian(self) -> None:
        """h ← β2·h + (1−β2)·ĝ⊙ĝ with ĝ the gradient currently in ``.grad`` (the GNB gradient)."""
        for group in self.param_groups:
            beta2 = group["betas"][1]
            for p in group["params"]:
                if p.grad is None:
                    continue
                self._state(p)["hessian"].mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)

    def step(self, closure=None, bs: float | None = None):
        if bs is not None:
            for group in self.param_groups:
                group["bs"] = bs  # loss tokens of this step (spec D3)
        return super().step(closure)

    def _update(self, p: torch.Tensor, state: dict, group: dict) -> tuple[int, int]:
        state["exp_avg"].mul_(group["betas"][0]).add_(p.grad, alpha=1 - group["betas"][0])
        p.mul_(1 - group["lr"] * group["weight_decay"])
        return self._apply(p, state, group)


def gnb_labels(logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """ŷ ~ softmax(logits) at every position (the Gauss–Newton–Bartlett sampling)."""
    probs = torch.softmax(logits.detach().float(), dim=-1)
    flat = probs.reshape(-1, probs.size(-1))
    return torch.multinomial(flat, 1, generator=generator).view(probs.shape[:-1])


def make_optimizer(name: str, model: torch.nn.Module, lr: float, wd: float, sophia) -> torch.optim.Optimizer:
    groups = param_groups(model, wd)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    betas = (sophia.beta1, sophia.beta2)
    if name == "sophia_soul":
        return SophiaSoul(groups, lr=lr, betas=betas, rho=sophia.rho, bs=sophia.bs,
                          double_momentum=sophia.double_momentum)
    if name == "sophia_ref":
        return SophiaRef(groups, lr=lr, betas=betas, rho=sophia.rho)
    raise ValueError(f"unknown optimizer {name!r}")
