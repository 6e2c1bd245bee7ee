"""Metrics of spec §6: albedo alignment, PSNR, SSIM, normal error, IoU, frame bootstrap."""

from __future__ import annotations

import numpy as np


def _mask(mask) -> np.ndarray:
    m = np.asarray(mask, bool)
    if not m.any():
        raise ValueError("empty mask: the metric is undefined")
    return m


def albedo_scale(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-channel s_c = Σ a·â / Σ â² on the mask (repo ``compute_albedo_rescale_factor``), linear RGB."""
    m = _mask(mask)
    p, g = pred[m].reshape(-1, 3).astype(np.float64), gt[m].reshape(-1, 3).astype(np.float64)
    return (p * g).sum(0) / np.maximum((p * p).sum(0), 1e-12)


def align(pred: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.clip(pred * scale, 0, 1)


def psnr(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    m = _mask(mask)
    mse = float(np.mean((np.asarray(x, np.float64)[m] - np.asarray(y, np.float64)[m]) ** 2))
    return float(-10 * np.log10(max(mse, 1e-12)))


def aligned_albedo_psnr(pred, gt, mask) -> float:
    """PSNR (sRGB) of the per-channel aligned albedo; the alignment itself in linear space."""
    from components.intrinsic_avatar.render import srgb_oetf
    import torch

    s = albedo_scale(pred, gt, mask)
    a = align(pred, s)
    to = lambda v: srgb_oetf(torch.as_tensor(v, dtype=torch.float64)).numpy()  # noqa: E731
    return psnr(to(a), to(gt), mask)


def ssim(x: np.ndarray, y: np.ndarray, mask: np.ndarray, win: int = 7) -> float:
    """scikit-image's SSIM on the mask's bounding box (uniform window 7, or the largest odd size ≤ the box; data
    range 1), averaged over channels; NaN when the box is narrower than 3 pixels."""
    from skimage.metrics import structural_similarity

    m = _mask(mask)
    rows, cols = np.where(m)
    x = x[rows.min():rows.max() + 1, cols.min():cols.max() + 1].astype(np.float64)
    y = y[rows.min():rows.max() + 1, cols.min():cols.max() + 1].astype(np.float64)
    w = min(win, min(x.shape[:2]) - (1 - min(x.shape[:2]) % 2))
    w = max(1, w if w % 2 else w - 1)
    if w < 3:
        return float("nan")
    return float(structural_similarity(x, y, win_size=w, data_range=1.0, channel_axis=-1))


def normal_error(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> float:
    """Mean angle (degrees) between normalised normals on the mask."""
    m = _mask(mask)
    p, g = pred[m], gt[m]
    p = p / np.maximum(np.linalg.norm(p, axis=-1, keepdims=True), 1e-12)
    g = g / np.maximum(np.linalg.norm(g, axis=-1, keepdims=True), 1e-12)
    return float(np.degrees(np.arccos(np.clip((p * g).sum(-1), -1, 1))).mean())


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    u = (a | b).sum()
    return float((a & b).sum() / u) if u else float("nan")


def bootstrap_ci(values, reps: int = 1000, seed: int = 0, stat=np.nanmean) -> tuple[float, float, float]:
    """Mean and 95 % percentile CI over frames (resampled with replacement)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(v), size=(reps, len(v)))
    bs = stat(v[idx], axis=1)
    return float(stat(v)), float(np.percentile(bs, 2.5)), float(np.percentile(bs, 97.5))


def bootstrap_pooled(num_a, den_a, num_b, den_b, fn, reps: int = 1000, seed: int = 0):
    """Statistic fn(Σnum_a/Σden_a, Σnum_b/Σden_b) with the same frames resampled for both (paired)."""
    arrs = [np.asarray(x, float) for x in (num_a, den_a, num_b, den_b)]
    n = len(arrs[0])
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)

    def stat(ix):
        s = [a[ix].sum(-1) for a in arrs]
        with np.errstate(divide="ignore", invalid="ignore"):
            return fn(s[0] / s[1], s[2] / s[3])

    point = float(stat(np.arange(n)))
    bs = stat(rng.integers(0, n, size=(reps, n)))
    bs = bs[np.isfinite(bs)]
    if not len(bs):
        return point, float("nan"), float("nan")
    return point, float(np.percentile(bs, 2.5)), float(np.percentile(bs, 97.5))


def depth_edges(depth: np.ndarray, alpha: np.ndarray, jump: float = 0.2, radius: int = 1) -> np.ndarray:
    """IA7's pixels (spec §8): foreground pixels within ``radius`` px of a GT depth discontinuity > ``jump``
    between two foreground 4-neighbours (self-occlusion edges such as the arm over the torso; the silhouette
    against the background is not a depth discontinuity of the surface and is left out)."""
    fg = np.asarray(alpha) > 0.5
    z = np.asarray(depth, np.float64)
    e = np.zeros_like(fg)
    for ax in (0, 1):
        a = [slice(None)] * 2
        b = [slice(None)] * 2
        a[ax], b[ax] = slice(1, None), slice(None, -1)
        hit = fg[tuple(a)] & fg[tuple(b)] & (np.abs(z[tuple(a)] - z[tuple(b)]) > jump)
        e[tuple(a)] |= hit
        e[tuple(b)] |= hit
    out = e.copy()
    H, W = e.shape
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            out[max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] |= \
                e[max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
    return out & fg
