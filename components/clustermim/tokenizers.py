"""Tokenizers: ClusterMIM-Pixel / -HOG / -Teacher (mini-batch k-means), the class-conditional oracle and
random tokens. Centres are fitted once and saved (step outputs); the tokenizer stays outside the trained
model (C-D5) and assigns targets on the same augmented view the encoder sees (C-D6, faithful)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np

from components.clustermim.data import patchify


# ---------------------------------------------------------------- features
def hog_features(x, patch: int = 4, orientations: int = 9, eps: float = 1e-5):
    """Per-patch HOG as ``skimage.feature.hog(img, 9, pixels_per_cell=(p,p), cells_per_block=(1,1),
    block_norm='L2-Hys')`` computes it, batched in torch: (B, H, W) → (B, L, 9). Central-difference
    gradients (zero at the border), unsigned orientation bins of 20°, cell mean of magnitudes, L2-Hys."""
    import torch

    x = torch.as_tensor(x, dtype=torch.float64 if not torch.is_tensor(x) else x.dtype)
    b, h, w = x.shape
    gr = torch.zeros_like(x)
    gc = torch.zeros_like(x)
    gr[:, 1:-1, :] = x[:, 2:, :] - x[:, :-2, :]
    gc[:, :, 1:-1] = x[:, :, 2:] - x[:, :, :-2]
    mag = torch.hypot(gc, gr)
    ang = torch.rad2deg(torch.atan2(gr, gc)) % 180
    width = 180.0 / orientations
    bins = torch.stack([((ang >= width * i) & (ang < width * (i + 1))) for i in range(orientations)], -1)
    contrib = bins * mag[..., None]  # (B, H, W, O)
    cells = patchify(contrib.permute(0, 3, 1, 2).reshape(b * orientations, h, w), patch)  # (B·O, L, p²)
    hist = cells.mean(-1).reshape(b, orientations, -1).permute(0, 2, 1)  # (B, L, O)
    v = hist / torch.sqrt((hist ** 2).sum(-1, keepdim=True) + eps ** 2)
    v = v.clamp(max=0.2)
    return v / torch.sqrt((v ** 2).sum(-1, keepdim=True) + eps ** 2)


# ---------------------------------------------------------------- assignment
def assign_l2(feats, centres):
    """argmin_k ‖φ − c_k‖² (torch or numpy; (..., d) × (K, d) → (...))."""
    import torch

    f = torch.as_tensor(feats)
    c = torch.as_tensor(centres, dtype=f.dtype)
    d = (f ** 2).sum(-1, keepdim=True) - 2 * f @ c.T + (c ** 2).sum(-1)
    return d.argmin(-1)


def assign_cosine(feats, centres):
    """argmax_k ⟨φ/‖φ‖, c_k/‖c_k‖⟩ (``--token_normalize``; centres normalised too, documented)."""
    import torch

    f = torch.as_tensor(feats)
    c = torch.as_tensor(centres, dtype=f.dtype)
    f = f / f.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    c = c / c.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return (f @ c.T).argmax(-1)


def assign_oracle(feats, centres, labels, per_class: int):
    """Among class y's own centres only: token = y·per_class + j (never shared across classes)."""
    import torch

    f = torch.as_tensor(feats)
    c = torch.as_tensor(centres, dtype=f.dtype)
    y = torch.as_tensor(labels)
    own = c.reshape(-1, per_class, c.shape[-1])[y]  # (B, per, d)
    d = ((f[:, :, None, :] - own[:, None, :, :]) ** 2).sum(-1)  # (B, L, per)
    return y[:, None] * per_class + d.argmin(-1)


# ---------------------------------------------------------------- k-means
def fit_kmeans(vectors: np.ndarray, K: int, epochs: int, batch: int, seed: int) -> dict:
    """MiniBatchKMeans(K, random_state=seed) by ``partial_fit`` over shuffled batches for ``epochs`` passes;
    inertia on all vectors after every pass. Deterministic for a seed with one BLAS/OpenMP thread."""
    from sklearn.cluster import MiniBatchKMeans
    from threadpoolctl import threadpool_limits

    vectors = np.ascontiguousarray(vectors, dtype=np.float64)
    if len(vectors) < K:
        raise ValueError(f"k-means with K={K} needs at least K vectors, got {len(vectors)}")
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    km = MiniBatchKMeans(n_clusters=K, random_state=seed, batch_size=batch, n_init=1)
    inertia = []
    with threadpool_limits(1):
        for _ in range(epochs):
            order = rng.permutation(len(vectors))
            for i in range(0, len(order), batch):
                chunk = vectors[order[i:i + batch]]
                if len(chunk) < K and i > 0:
                    continue
                km.partial_fit(chunk)
            inertia.append(float(-km.score(vectors)))
    centres = km.cluster_centers_.astype(np.float32)
    return {"centres": centres, "inertia": inertia, "seconds": time.perf_counter() - start,
            "sha256": hashlib.sha256(centres.tobytes()).hexdigest()}


@dataclass(frozen=True)
class TokSpec:
    id: str
    kind: str  # pix | hog | oracle | random | teach
    K: int


def pixel_vectors(x: np.ndarray, patch: int) -> np.ndarray:
    return patchify(x, patch).reshape(-1, patch * patch)


def build_tokenizer(spec: TokSpec, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, n_classes: int,
                    patch: int, tp, seed: int, n_test: int | None = None) -> dict:
    """Fit one wave-1 tokenizer on the un-augmented (normalised) train images; return its arrays and meta."""
    L = (x_train.shape[1] // patch) * (x_train.shape[2] // patch)
    if spec.kind == "random":
        rng = np.random.default_rng(seed)
        start = time.perf_counter()
        table = rng.integers(0, spec.K, size=(len(x_train), L))
        test = rng.integers(0, spec.K, size=(len(x_test), L))
        return {"table": table, "tokens_train": table, "tokens_test": test,
                "meta": {"inertia": [], "seconds": time.perf_counter() - start, "sha256":
                         hashlib.sha256(table.tobytes()).hexdigest()}}
    if spec.kind == "oracle":
        per = tp.oracle_per_class or spec.K // n_classes
        if per * n_classes != spec.K:
            raise ValueError(f"{spec.id}: K={spec.K} must equal classes ({n_classes}) × oracle_per_class")
        parts, inertia, secs = [], [], 0.0
        for c in range(n_classes):
            r = fit_kmeans(pixel_vectors(x_train[y_train == c], patch), per, tp.kmeans_epochs, tp.kmeans_batch, seed + c)
            parts.append(r["centres"])
            inertia.append(r["inertia"])
            secs += r["seconds"]
        centres = np.concatenate(parts)
        tok = lambda x, y: assign_oracle(patchify(x, patch), centres, y, per).numpy()  # noqa: E731
        meta = {"inertia": list(np.sum(inertia, 0)), "seconds": secs, "per_class": per,
                "sha256": hashlib.sha256(centres.tobytes()).hexdigest()}
        return {"centres": centres, "tokens_train": tok(x_train, y_train), "tokens_test": None, "meta": meta,
                "tokens_test_fn": tok}
    feats = features_fn(spec.kind, patch)
    r = fit_kmeans(feats(x_train).reshape(-1, feats(x_train[:1]).shape[-1]), spec.K, tp.kmeans_epochs,
                   tp.kmeans_batch, seed)
    out = {"centres": r["centres"], "meta": {k: r[k] for k in ("inertia", "seconds", "sha256")}}
    out["tokens_train"] = assign_l2(feats(x_train), r["centres"]).numpy()
    out["tokens_test"] = assign_l2(feats(x_test), r["centres"]).numpy()
    out["tokens_train_cos"] = assign_cosine(feats(x_train), r["centres"]).numpy()
    return out


def features_fn(kind: str, patch: int):
    """Image batch (N, H, W) numpy → per-patch feature array (N, L, d) float64."""
    import torch

    if kind == "pix":
        return lambda x: np.asarray(patchify(np.asarray(x, np.float64), patch))
    if kind == "hog":
        return lambda x: hog_features(torch.as_tensor(np.asarray(x, np.float64)), patch).numpy()
    raise ValueError(kind)


def save_tokenizer(folder, built: dict, spec, seed: int, extra: dict | None = None) -> None:
    """A tokenizer's step outputs: ``centres.npy`` (if any), ``tokens.npz`` (train/test maps), ``meta.json``."""
    from components.core.io import write_json

    folder.mkdir(parents=True, exist_ok=True)
    if built.get("centres") is not None:
        np.save(folder / "centres.npy", built["centres"])
    np.savez(folder / "tokens.npz", train=built["tokens_train"], test=built["tokens_test"])
    write_json(folder / "meta.json", {"id": spec.id, "kind": spec.kind, "K": spec.K, "seed": seed,
                                      **built["meta"], **(extra or {})})
