"""A tiny ViT MIM from our own blocks (no timm, C-D7): MAE encoder over visible patches, MAE decoder over all
L positions, a K-way token head (ClusterMIM) or a pixel head (MAE, optional norm_pix); masking, losses,
and the fine-tuning classifier. Plain PyTorch; the Lightning wrappers live in training.py."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def sincos_2d(dim: int, grid: int, cls: bool = True) -> torch.Tensor:
    """Fixed 2-D sin-cos positional embedding (MAE), with a zero row for the CLS token."""
    assert dim % 4 == 0, "embedding dim must be a multiple of 4 for 2-D sin-cos"
    omega = 1.0 / 10000 ** (np.arange(dim // 4, dtype=np.float64) / (dim / 4.0))
    gh, gw = np.meshgrid(np.arange(grid, dtype=np.float64), np.arange(grid, dtype=np.float64), indexing="ij")

    def one(pos):
        out = np.einsum("m,d->md", pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], 1)

    emb = np.concatenate([one(gw), one(gh)], 1)
    if cls:
        emb = np.concatenate([np.zeros((1, dim)), emb], 0)
    return torch.tensor(emb, dtype=torch.float32)[None]


class DropPath(nn.Module):
    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape[0], *([1] * (x.dim() - 1)), device=x.device) >= self.p
        return x * keep / (1 - self.p)


class Block(nn.Module):
    """Pre-norm transformer block: MHSA + MLP, residuals, optional drop-path."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, drop_path: float = 0.0):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.drop = DropPath(drop_path)

    def attn(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        return self.proj((a.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d))

    def forward(self, x):
        x = x + self.drop(self.attn(self.norm1(x)))
        return x + self.drop(self.mlp(self.norm2(x)))


def random_masking(b: int, L: int, mask_ratio: float, generator=None):
    """Per-sample random masking: (ids_keep (B, L_vis), mask (B, L) with 1 = masked, ids_restore (B, L))."""
    keep = int(round(L * (1 - mask_ratio)))
    noise = torch.rand(b, L, generator=generator)
    ids_shuffle = noise.argsort(1)
    ids_restore = ids_shuffle.argsort(1)
    mask = torch.ones(b, L)
    mask[:, :keep] = 0
    mask = torch.gather(mask, 1, ids_restore)
    return ids_shuffle[:, :keep], mask, ids_restore


class Encoder(nn.Module):
    def __init__(self, patch_dim: int, L: int, dim: int, depth: int, heads: int, mlp_ratio: float,
                 drop_path: float = 0.0):
        super().__init__()
        self.patch_embed = nn.Linear(patch_dim, dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.register_buffer("pos", sincos_2d(dim, int(round(math.sqrt(L)))), persistent=False)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, drop_path * i / max(1, depth - 1))
                                    for i in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        nn.init.normal_(self.cls, std=0.02)
        self.apply(_init)

    def forward(self, patches, ids_keep=None):
        """(B, L, p²) patches (+ visible ids) → (B, 1 + L_vis, dim) normed tokens; CLS first."""
        x = self.patch_embed(patches) + self.pos[:, 1:]
        if ids_keep is not None:
            x = torch.gather(x, 1, ids_keep[..., None].expand(-1, -1, x.shape[-1]))
        cls = (self.cls + self.pos[:, :1]).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], 1)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)


class MIM(nn.Module):
    """Encoder + MAE decoder + head: ``K`` token logits, or ``patch_dim`` pixels when ``K`` is 0."""

    def __init__(self, patch_dim: int, L: int, m, K: int = 0):
        super().__init__()
        self.L, self.K = L, K
        self.encoder = Encoder(patch_dim, L, m.dim, m.depth, m.heads, m.mlp_ratio)
        self.dec_embed = nn.Linear(m.dim, m.dec_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, m.dec_dim))
        self.register_buffer("dec_pos", sincos_2d(m.dec_dim, int(round(math.sqrt(L)))), persistent=False)
        self.dec_blocks = nn.ModuleList(Block(m.dec_dim, m.dec_heads, m.mlp_ratio) for _ in range(m.dec_depth))
        self.dec_norm = nn.LayerNorm(m.dec_dim, eps=1e-6)
        self.head = nn.Linear(m.dec_dim, K if K else patch_dim)
        nn.init.normal_(self.mask_token, std=0.02)
        for mod in (self.dec_embed, self.dec_blocks, self.dec_norm, self.head):
            mod.apply(_init)

    def forward(self, patches, ids_keep, ids_restore):
        """→ (B, L, K) logits or (B, L, p²) pixels, at every position in original order."""
        z = self.dec_embed(self.encoder(patches, ids_keep))
        b, n_vis = z.shape[0], z.shape[1] - 1
        masks = self.mask_token.expand(b, self.L - n_vis, -1)
        x = torch.cat([z[:, 1:], masks], 1)
        x = torch.gather(x, 1, ids_restore[..., None].expand(-1, -1, x.shape[-1]))
        x = torch.cat([z[:, :1], x], 1) + self.dec_pos
        for blk in self.dec_blocks:
            x = blk(x)
        return self.head(self.dec_norm(x))[:, 1:]


def _init(mod):
    if isinstance(mod, nn.Linear):
        nn.init.xavier_uniform_(mod.weight)
        if mod.bias is not None:
            nn.init.zeros_(mod.bias)
    elif isinstance(mod, nn.LayerNorm):
        nn.init.ones_(mod.weight)
        nn.init.zeros_(mod.bias)


# ---------------------------------------------------------------- losses
def token_loss(logits, targets, mask, label_smoothing: float = 0.0):
    """Σ_i m_i CE(z_i, t_i) / Σ_i m_i; only masked positions contribute."""
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none",
                         label_smoothing=label_smoothing).reshape(mask.shape)
    return (ce * mask).sum() / mask.sum()


def norm_pix_target(patches, eps: float = 1e-6):
    mean = patches.mean(-1, keepdim=True)
    var = patches.var(-1, keepdim=True, unbiased=True)
    return (patches - mean) / (var + eps) ** 0.5


def pixel_loss(pred, patches, mask, norm_pix: bool = False):
    """MAE: per-patch MSE on masked patches (targets optionally normalised per patch)."""
    target = norm_pix_target(patches) if norm_pix else patches
    per = ((pred - target) ** 2).mean(-1)
    return (per * mask).sum() / mask.sum()


# ---------------------------------------------------------------- fine-tuning
class Classifier(nn.Module):
    """Pre-trained encoder + global average pooling of patch tokens + fc_norm + linear head (MAE fine-tune)."""

    def __init__(self, encoder: Encoder, dim: int, n_classes: int):
        super().__init__()
        self.encoder = encoder
        self.fc_norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, n_classes)
        nn.init.trunc_normal_(self.head.weight, std=2e-5)
        nn.init.zeros_(self.head.bias)

    def forward(self, patches):
        return self.head(self.fc_norm(self.encoder(patches)[:, 1:].mean(1)))


def layer_decay_groups(model: Classifier, lr: float, wd: float, decay: float) -> list[dict]:
    """Layer-wise lr decay (MAE ``lr_decay``): embeddings get decay^(depth+1), block i decay^(depth−i),
    head 1; no weight decay on biases, norms, cls."""
    depth = len(model.encoder.blocks)
    groups: dict[tuple[int, bool], dict] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.startswith("encoder.blocks."):
            layer = int(name.split(".")[2]) + 1
        elif name.startswith("encoder.") and not name.startswith("encoder.norm"):
            layer = 0
        else:
            layer = depth + 1
        no_wd = p.ndim == 1 or name.endswith("cls")
        g = groups.setdefault((layer, no_wd), {"params": [], "lr": lr * decay ** (depth + 1 - layer),
                                               "weight_decay": 0.0 if no_wd else wd})
        g["params"].append(p)
    return list(groups.values())


def param_groups(model: nn.Module, wd: float) -> list[dict]:
    """AdamW groups: no decay on biases, norm weights, cls and mask tokens (timm ``add_weight_decay``)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim == 1 or name.endswith(("cls", "mask_token")) else decay).append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]
