"""MoVEInt (spec §3): the human-side recurrent MDN prior (RMDN) and the robot VAE, plus the loss.

All tensors of a batch of trajectories are padded to one length: ``(B, T, ·)`` with a ``mask`` (B, T);
the loss of a batch is the mean over its trajectories of the mean over that trajectory's valid windows,
padded windows excluded from every term. The GRU runs causally, so end padding never changes earlier
windows.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def mlp(d_in: int, hidden: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden[0]), nn.LeakyReLU(), nn.Linear(hidden[0], hidden[1]), nn.LeakyReLU())


def maybe_leaky(x: torch.Tensor, on: bool) -> torch.Tensor:
    return F.leaky_relu(x) if on else x


class Decoder(nn.Module):
    """Linear(Z→h1)–LReLU–Linear(h1→h0)–LReLU–Linear(h0→D)[–LReLU: code quirk]."""

    def __init__(self, z: int, d_out: int, hidden: tuple[int, int], leaky_output: bool):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(z, hidden[1]), nn.LeakyReLU(), nn.Linear(hidden[1], hidden[0]),
                                 nn.LeakyReLU(), nn.Linear(hidden[0], d_out))
        self.leaky_output = leaky_output

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return maybe_leaky(self.net(z), self.leaky_output)


class GaussEncoder(nn.Module):
    """MLP → μ = [LReLU](Linear), σ = exp(Linear) + ε (the robot encoder of MoVEInt, also MILD's VAE)."""

    def __init__(self, d_in: int, z: int, hidden: tuple[int, int], eps: float, leaky_output: bool):
        super().__init__()
        self.body = mlp(d_in, hidden)
        self.mu = nn.Linear(hidden[1], z)
        self.log_std = nn.Linear(hidden[1], z)
        self.eps, self.leaky_output = eps, leaky_output

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return maybe_leaky(self.mu(h), self.leaky_output), torch.exp(self.log_std(h)) + self.eps


class MoVEInt(nn.Module):
    def __init__(self, d_h: int, d_r: int, K: int = 3, Z: int = 5, hidden=(40, 20), eps: float = 1e-6,
                 leaky_output: bool = True, prior_std: str = "code"):
        super().__init__()
        hidden = tuple(hidden)
        self.K, self.Z, self.eps, self.leaky_output, self.prior_std = K, Z, eps, leaky_output, prior_std
        self.human_mlp = mlp(d_h, hidden)
        self.human_mu = nn.Linear(hidden[1], K * Z)
        self.human_std = nn.Linear(hidden[1], K * Z)
        if K > 1:
            self.gru = nn.GRU(hidden[1], K * Z, num_layers=1, batch_first=True)
            self.gate = nn.Linear(K * Z, K)
        self.robot = GaussEncoder(d_r, Z, hidden, eps, leaky_output)
        self.decoder = Decoder(Z, d_r, hidden, leaky_output)

    def human(self, xh: torch.Tensor):
        """(B, T, D_h) → expert means/stds (B, T, K, Z) and gate weights α (B, T, K)."""
        B, T = xh.shape[:2]
        h = self.human_mlp(xh)
        mu_k = maybe_leaky(self.human_mu(h), self.leaky_output).view(B, T, self.K, self.Z)
        std_k = torch.exp(maybe_leaky(self.human_std(h), self.leaky_output)).view(B, T, self.K, self.Z) + self.eps
        if self.K > 1:
            g, _ = self.gru(h)
            alpha = torch.softmax(self.gate(g), dim=-1)
        else:
            alpha = torch.ones(B, T, 1, dtype=xh.dtype, device=xh.device)
        return mu_k, std_k, alpha

    def prior(self, mu_k, std_k, alpha):
        return collapse(mu_k, std_k, alpha, self.prior_std)

    def predict(self, xh: torch.Tensor) -> dict:
        """Inference (spec §3): z = μ_h, ŷ = Dec(μ_h); plus α and the experts for usage/separation."""
        mu_k, std_k, alpha = self.human(xh)
        mu_h, _ = self.prior(mu_k, std_k, alpha)
        return {"y": self.decoder(mu_h), "alpha": alpha, "mu_k": mu_k}


def collapse(mu_k, std_k, alpha, prior_std: str = "code"):
    """μ_h = Σ α_k μ_k; σ_h = √(Σ α_k σ_k²) (code) or + Σ α_k (μ_k − μ_h)² (moment matched)."""
    a = alpha.unsqueeze(-1)
    mu_h = (a * mu_k).sum(-2)
    var = (a * std_k ** 2).sum(-2)
    if prior_std == "moment_matched":
        var = var + (a * (mu_k - mu_h.unsqueeze(-2)) ** 2).sum(-2)
    return mu_h, torch.sqrt(var)


def kl_diag(mu_q, std_q, mu_p, std_p) -> torch.Tensor:
    """Elementwise KL(N(μ_q, σ_q²) ‖ N(μ_p, σ_p²)) = ½[(σ_q/σ_p)² + ((μ_q−μ_p)/σ_p)² − 1 − 2 ln(σ_q/σ_p)]."""
    r = std_q / std_p
    return 0.5 * (r ** 2 + ((mu_q - mu_p) / std_p) ** 2 - 1 - 2 * torch.log(r))


def regularisers(mu_k, alpha, mask, axis: str = "components") -> dict[str, torch.Tensor]:
    """The three anti-collapse terms per window (B, T): negative gate entropy, expert repulsion,
    temporal smoothness (difference at t = 0 and across padding = 0)."""
    neg_ent = (alpha * torch.log(alpha.clamp_min(1e-12))).sum(-1)
    K = mu_k.shape[-2]
    i, j = torch.triu_indices(K, K, offset=1)
    rep = torch.exp(-((mu_k[..., i, :] - mu_k[..., j, :]) ** 2).sum(-1)).sum(-1)
    diff = torch.zeros_like(mu_k)
    valid_prev = (mask[:, 1:] * mask[:, :-1]).unsqueeze(-1).unsqueeze(-1)
    diff[:, 1:] = (mu_k[:, 1:] - mu_k[:, :-1]) * valid_prev
    if axis == "components":  # code: squared differences summed over the component axis, mean over latent dims
        smooth = 1 - torch.exp(-(diff ** 2).sum(-2)).mean(-1)
    else:  # per-component distance over latent dims, mean over components
        smooth = 1 - torch.exp(-(diff ** 2).sum(-1)).mean(-1)
    return {"reg_entropy": neg_ent, "reg_repulsion": rep, "reg_smooth": smooth}


def masked_traj_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over trajectories of the mean over each trajectory's valid windows."""
    per_traj = (values * mask).sum(1) / mask.sum(1).clamp_min(1)
    return per_traj.mean()


def loss_terms(model: MoVEInt, xh, xr, mask, samples: int, beta: float, regularise: bool = True,
               smoothness_axis: str = "components", sample: bool = True) -> dict[str, torch.Tensor]:
    """Every term of spec §3 as a batch mean (masked); ``loss`` is the objective.

    ``sample=False`` (evaluation, tests): one 'sample' at the mean of each distribution."""
    mu_k, std_k, alpha = model.human(xh)
    mu_h, std_h = model.prior(mu_k, std_k, alpha)
    mu_r, std_r = model.robot(xr)
    if sample:
        z_r = mu_r + std_r * torch.randn((samples, *mu_r.shape), dtype=mu_r.dtype)
        z_h = mu_h + std_h * torch.randn((samples, *mu_h.shape), dtype=mu_h.dtype)
    else:
        z_r, z_h = mu_r.unsqueeze(0), mu_h.unsqueeze(0)
    rec_r = ((model.decoder(z_r) - xr) ** 2).sum(-1).mean(0)
    rec_h = ((model.decoder(z_h) - xr) ** 2).sum(-1).mean(0)
    kl = kl_diag(mu_r, std_r, mu_h, std_h).mean(-1)
    per_window = {"ae_loss": rec_r, "pred_loss": rec_h, "kl_loss": kl}
    reg = kl
    if model.K > 1:
        terms = regularisers(mu_k, alpha, mask, smoothness_axis)
        per_window.update(terms)
        if regularise:
            reg = reg + terms["reg_entropy"] + terms["reg_repulsion"] + terms["reg_smooth"]
    per_window["loss"] = rec_r + rec_h + beta * reg
    return {k: masked_traj_mean(v, mask) for k, v in per_window.items()}


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---- baselines' networks ----------------------------------------------------------------------------------

class RecurrentBaseline(nn.Module):
    """Bütepage-like, simplified (spec §5): LSTM(hidden) over human windows [+ action one-hot] →
    Linear(hidden→40)–Tanh–Linear(40→D_r)."""

    def __init__(self, d_in: int, d_r: int, hidden: int = 42, n_actions: int = 0):
        super().__init__()
        self.n_actions = n_actions
        self.lstm = nn.LSTM(d_in + n_actions, hidden, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden, 40), nn.Tanh(), nn.Linear(40, d_r))

    def forward(self, xh: torch.Tensor, action: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_actions:
            onehot = F.one_hot(action, self.n_actions).to(xh.dtype)
            xh = torch.cat([xh, onehot.unsqueeze(1).expand(-1, xh.shape[1], -1)], -1)
        h, _ = self.lstm(xh)
        return self.head(h)


class WindowVAE(nn.Module):
    """MILD-like VAE with an N(0, I) prior; one VAE shared by both agents when their widths agree."""

    def __init__(self, d_h: int, d_r: int, Z: int, hidden, eps: float, leaky_output: bool):
        super().__init__()
        hidden = tuple(hidden)
        self.enc_h = GaussEncoder(d_h, Z, hidden, eps, leaky_output)
        self.dec_h = Decoder(Z, d_h, hidden, leaky_output)
        self.shared = d_h == d_r
        if not self.shared:
            self.enc_r = GaussEncoder(d_r, Z, hidden, eps, leaky_output)
            self.dec_r = Decoder(Z, d_r, hidden, leaky_output)

    def agent(self, who: str):
        if who == "h" or self.shared:
            return self.enc_h, self.dec_h
        return self.enc_r, self.dec_r

    def loss(self, x: torch.Tensor, who: str, beta: float, samples: int) -> tuple[torch.Tensor, torch.Tensor]:
        enc, dec = self.agent(who)
        mu, std = enc(x)
        z = mu + std * torch.randn((samples, *mu.shape), dtype=mu.dtype)
        rec = ((dec(z) - x) ** 2).sum(-1).mean(0).mean()
        kl = kl_diag(mu, std, torch.zeros_like(mu), torch.ones_like(std)).mean(-1).mean()
        return rec + beta * kl, rec

