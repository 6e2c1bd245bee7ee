"""Datasets (digits ×2, procedural shapes16, an ImageFolder loader), stratified splits, patchify, the
pre-training augmentation and the great-expectations suite on a per-image summary frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.core.errors import UserError


# ---------------------------------------------------------------- datasets
def load_digits_16() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's bundled digits: [0, 1] then bilinear ×2 upsampling (order 1) → (1797, 16, 16)."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.images.astype(np.float64) / 16.0
    up = np.stack([zoom(im, 2, order=1) for im in x]).clip(0, 1)
    return up.astype(np.float32), d.target.astype(np.int64)


def stratified_split(y: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test), stratified and seeded: same seed, same split."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=n_test, stratify=y, random_state=seed)
    return np.sort(tr), np.sort(te)


def stratified_subset(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    if n >= len(y):
        return np.arange(len(y))
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    return np.sort(keep)


SHAPES = ("disc", "square", "triangle", "cross", "ring")


def _shape_mask(kind: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Shape of unit size on canonical coordinates (u, v) in [-1, 1]."""
    if kind == "disc":
        return u ** 2 + v ** 2 <= 1
    if kind == "square":
        return (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8)
    if kind == "triangle":
        return (v <= 0.8) & (v >= -0.8) & (np.abs(u) <= (v + 0.8) / 1.6 * 0.9)
    if kind == "cross":
        return ((np.abs(u) <= 0.3) & (np.abs(v) <= 1)) | ((np.abs(v) <= 0.3) & (np.abs(u) <= 1))
    if kind == "ring":
        r2 = u ** 2 + v ** 2
        return (r2 <= 1) & (r2 >= 0.4)
    raise ValueError(kind)


def shapes16(n_per_class: int, seed: int, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Spec §4.2: 5 shapes × 2 stripe orientations = 10 classes, random position/scale/rotation,
    intensities and noise; deterministic per seed, exactly ``n_per_class`` per class."""
    rng = np.random.default_rng(seed)
    ys = np.repeat(np.arange(10), n_per_class)
    ys = ys[rng.permutation(len(ys))]
    grid = np.arange(size) - (size - 1) / 2
    gy, gx = np.meshgrid(grid, grid, indexing="ij")
    out = np.empty((len(ys), size, size), np.float32)
    for n, y in enumerate(ys):
        shape, stripes = SHAPES[y // 2], y % 2
        dx, dy = rng.uniform(-3, 3, 2)
        scale = rng.uniform(0.5, 0.9) * size / 2
        th = np.deg2rad(rng.uniform(-20, 20))
        fg, bg = rng.uniform(0.6, 1.0), rng.uniform(0.0, 0.3)
        x0, y0 = gx - dx, gy - dy
        u = (np.cos(th) * x0 + np.sin(th) * y0) / scale
        v = (-np.sin(th) * x0 + np.cos(th) * y0) / scale
        mask = _shape_mask(shape, u, v)
        stripe = ((gy if stripes == 0 else gx).astype(int) % 2 == 0)  # period 2 px: horizontal / vertical
        img = np.where(mask, np.where(stripe, fg, bg + 0.5 * (fg - bg)), bg)
        out[n] = np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1)
    return out, ys.astype(np.int64)


IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png", ".bmp")


def load_imagefolder(root: str | Path, split: str, size: int, max_per_class: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """ImageFolder layout ``<root>/<split>/<class>/*.JPEG`` → grey [0, 1] images resized to ``size``
    (paper profile; user-supplied data, nothing downloaded). A bad folder or file is one clear error."""
    from PIL import Image, UnidentifiedImageError

    if not root:
        raise UserError("clustermim.data.imagefolder.root is not set (dataset imagefolder)",
                        "set it to an ImageFolder root with train/<class>/ and val/<class>/ (nothing is downloaded)")
    base = Path(root) / split
    if not base.is_dir():
        raise UserError(f"{base}: no such folder", "set clustermim.data.imagefolder.root to an ImageFolder root "
                                                   "with train/<class>/ and val/<class>/")
    classes = sorted(p.name for p in base.iterdir() if p.is_dir())
    if not classes:
        raise UserError(f"{base}: no class folders", "put images under <root>/<split>/<class>/")
    xs, ys = [], []
    for c, name in enumerate(classes):
        files = sorted(f for f in (base / name).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        for f in files[:max_per_class]:
            try:
                with Image.open(f) as im:
                    im = im.convert("L").resize((size, size), Image.BICUBIC)
                    xs.append(np.asarray(im, np.float32) / 255.0)
            except (UnidentifiedImageError, OSError) as exc:
                raise UserError(f"{f}: not a readable image ({exc})", "remove or replace the file") from None
            ys.append(c)
    if not xs:
        raise UserError(f"{base}: no images ({', '.join(IMAGE_SUFFIXES)})", "check the folder")
    return np.stack(xs), np.asarray(ys, np.int64), classes


def build_dataset(d, seed: int) -> dict:
    """Train/test arrays in [0, 1] (N, H, W) with labels, per ``data`` params."""
    from components.core.seeding import derive_seed

    if d.dataset == "digits":
        x, y = load_digits_16()
        tr, te = stratified_split(y, d.n_test, derive_seed(seed, "split"))
        xtr, ytr, xte, yte = x[tr], y[tr], x[te], y[te]
    elif d.dataset == "shapes16":
        xtr, ytr = shapes16(d.shapes16.n_per_class_train, derive_seed(seed, "shapes", "train"), d.image_size)
        xte, yte = shapes16(d.shapes16.n_per_class_test, derive_seed(seed, "shapes", "test"), d.image_size)
    else:
        xtr, ytr, _ = load_imagefolder(d.imagefolder.root, "train", d.image_size, d.imagefolder.max_per_class)
        xte, yte, _ = load_imagefolder(d.imagefolder.root, "val", d.image_size, d.imagefolder.max_per_class)
    if d.n_train is not None:
        keep = stratified_subset(ytr, d.n_train, derive_seed(seed, "subset"))
        xtr, ytr = xtr[keep], ytr[keep]
        keep = stratified_subset(yte, max(10, d.n_train // 3) if d.dataset != "digits" else d.n_test, derive_seed(seed, "subset-test"))
        xte, yte = xte[keep], yte[keep]
    return {"x_train": xtr.astype(np.float32), "y_train": ytr, "x_test": xte.astype(np.float32), "y_test": yte}


def normalise(ds: dict) -> tuple[dict, dict]:
    """Standardise with the train split's mean and std (the ImageNet-normalisation analogue)."""
    mean, std = float(ds["x_train"].mean()), float(ds["x_train"].std())
    out = {**ds, "x_train": (ds["x_train"] - mean) / std, "x_test": (ds["x_test"] - mean) / std}
    return {k: (v.astype(np.float32) if k.startswith("x") else v) for k, v in out.items()}, {"mean": mean, "std": std}


# ---------------------------------------------------------------- patches
def patchify(x, p: int):
    """(N, H, W) → (N, L, p·p), row-major patches (numpy or torch)."""
    n, h, w = x.shape
    g, q = h // p, w // p
    return x.reshape(n, g, p, q, p).swapaxes(2, 3).reshape(n, g * q, p * p)


def unpatchify(t, p: int, h: int):
    n, L, _ = t.shape
    g = h // p
    q = L // g
    return t.reshape(n, g, q, p, p).swapaxes(2, 3).reshape(n, g * p, q * p)


def random_resized_crop(x, scale: tuple[float, float], ratio=(3 / 4, 4 / 3), generator=None):
    """Batched RandomResizedCrop (bilinear, same output size, no flip) on (B, H, W) torch images.

    One crop per sample: area fraction ~ U(scale), log aspect ~ U(log ratio), clipped to the image."""
    import math

    import torch
    import torch.nn.functional as F

    b = x.shape[0]
    s = torch.empty(b).uniform_(scale[0], scale[1], generator=generator)
    r = torch.exp(torch.empty(b).uniform_(math.log(ratio[0]), math.log(ratio[1]), generator=generator))
    w = torch.sqrt(s * r).clamp(max=1.0)
    h = torch.sqrt(s / r).clamp(max=1.0)
    ox = torch.rand(b, generator=generator) * (1 - w)
    oy = torch.rand(b, generator=generator) * (1 - h)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = w, 2 * ox + w - 1
    theta[:, 1, 1], theta[:, 1, 2] = h, 2 * oy + h - 1
    grid = F.affine_grid(theta, (b, 1, *x.shape[1:]), align_corners=False)
    return F.grid_sample(x[:, None], grid, mode="bilinear", padding_mode="border", align_corners=False)[:, 0]


# ---------------------------------------------------------------- validation
def summary_frame(x: np.ndarray, y: np.ndarray, split: str):
    import pandas as pd

    flat = x.reshape(len(x), -1)
    return pd.DataFrame({"split": split, "label": y.astype(np.int64), "mean": flat.mean(1).astype(float),
                         "min": flat.min(1).astype(float), "max": flat.max(1).astype(float),
                         "ink": (flat > 0.5).mean(1).astype(float), "shape": [str(x.shape[1:])] * len(x)})


def expectations(frame, n_classes: int, size: int, expected_counts: dict[int, int]):
    """Shape, [0, 1] range, label set, and class balance within ±2 % of the stratified counts
    (a per-row ``count_dev`` column: |count of the row's class − expected| / n)."""
    from components.core.validation import expect

    n = len(frame)
    counts = frame["label"].value_counts().to_dict()
    frame["count_dev"] = [abs(counts.get(c, 0) - expected_counts.get(int(c), 0)) / n for c in frame["label"]]
    return [expect("ExpectTableRowCountToEqual", value=n),
            expect("ExpectColumnValuesToNotBeNull", column="label"),
            expect("ExpectColumnValuesToBeInSet", column="label", value_set=list(range(n_classes))),
            expect("ExpectColumnDistinctValuesToEqualSet", column="label", value_set=list(range(n_classes))),
            expect("ExpectColumnValuesToBeInSet", column="shape", value_set=[str((size, size))]),
            expect("ExpectColumnValuesToBeBetween", column="min", min_value=0.0, max_value=1.0),
            expect("ExpectColumnValuesToBeBetween", column="max", min_value=0.0, max_value=1.0),
            expect("ExpectColumnValuesToBeBetween", column="mean", min_value=0.0, max_value=1.0),
            expect("ExpectColumnValuesToBeBetween", column="ink", min_value=0.0, max_value=1.0),
            expect("ExpectColumnValuesToBeBetween", column="count_dev", min_value=0.0, max_value=0.02)]
