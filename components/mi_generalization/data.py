"""The datasets (spec §4): the prototype set (E1), the random sorted-diagonal set with its i.i.d. and
code-style test sets (E2/E3), scikit-learn's digits (E4 default) and MNIST/Fashion-MNIST IDX files by path
(E4 paper); their storage (npz) and great-expectations suites over per-sample summary frames.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from components.core.errors import UserError
from components.core.io import atomic_path

FLIPS = ((False, False), (True, True), (True, False), (False, True))  # j mod 4 → (left–right, up–down)
LABELS = (0, 1, 0, 1)  # P1, P3 → class 0; P2, P4 → class 1


def flip(image: np.ndarray, j: int) -> np.ndarray:
    lr, ud = FLIPS[j % 4]
    out = np.fliplr(image) if lr else image
    return np.flipud(out) if ud else out


def base_image(h: int) -> np.ndarray:
    """B: along every diagonal of offset o the k-th element is k·h/(h − |o|) (increasing along each diagonal)."""
    i, j = np.indices((h, h))
    return np.minimum(i, j) * h / (h - np.abs(j - i))


def _diag_index(h: int, o: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.arange(max(0, -o), min(h, h - o))
    return rows, rows + o


def sort_diagonals(images: np.ndarray) -> np.ndarray:
    """Every diagonal (all offsets) of each image sorted ascending, as ``image_diagonal`` in the official code.
    Accepts one image (h, h) or a batch (N, h, h)."""
    out = np.array(images, dtype=np.float64, copy=True)
    h = out.shape[-1]
    for o in range(-h + 1, h):
        r, c = _diag_index(h, o)
        out[..., r, c] = np.sort(out[..., r, c], axis=-1)
    return out


def diagonals_sorted(images: np.ndarray) -> np.ndarray | bool:
    """Whether every diagonal is non-decreasing: a bool for one image, one bool per image for a batch."""
    images = np.asarray(images)
    h = images.shape[-1]
    ok = np.ones(images.shape[:-2], dtype=bool)
    for o in range(-h + 1, h):
        r, c = _diag_index(h, o)
        ok &= (np.diff(images[..., r, c], axis=-1) >= -1e-9).all(axis=-1)
    return bool(ok) if ok.ndim == 0 else ok


def flip_batch(images: np.ndarray) -> np.ndarray:
    """Image j flipped by the rule of j mod 4 (its own inverse: applied twice gives the input back)."""
    return np.stack([flip(im, j) for j, im in enumerate(images)])


def unflip(image: np.ndarray, j: int) -> np.ndarray:
    return flip(image, j)  # each flip is its own inverse


def labels_for(n: int) -> np.ndarray:
    return np.array([LABELS[j % 4] for j in range(n)], dtype=np.int64)


def _znorm(x: np.ndarray) -> np.ndarray:
    """Per-image z-score with the population std (``normalize_meanstd(a, axis=(1, 2))``)."""
    axes = tuple(range(1, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    std = np.sqrt(((x - mean) ** 2).mean(axis=axes, keepdims=True))
    return (x - mean) / np.where(std > 0, std, 1.0)


def _noise(rng: np.random.Generator, batch: np.ndarray, var: float, mode: str) -> np.ndarray:
    loc = float(batch.mean()) if mode == "batch_mean" else 0.0
    return rng.normal(loc, np.sqrt(var), size=batch.shape)


def prototype_set(size: int, n: int, noise_var: float, noise_mean: str, normalise: str, seed: int) -> dict:
    """E1: sample j = prototype j mod 4 + noise, z-normalised; test = train + another noise draw, renormalised."""
    rng = np.random.default_rng(seed)
    base = base_image(size)
    clean = np.stack([flip(base, j) for j in range(n)])
    x = clean + _noise(rng, clean, noise_var, noise_mean)
    if normalise == "per_image":
        x = _znorm(x)
    x_test = x + _noise(rng, x, noise_var, noise_mean)
    if normalise == "per_image":
        x_test = _znorm(x_test)
    return {"x_train": x.astype(np.float32), "y_train": labels_for(n), "x_test": x_test.astype(np.float32),
            "y_test": labels_for(n), "clean": clean.astype(np.float32), "proto": np.arange(n) % 4}


def sorted_diagonal_images(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Clean images: N(0, 1), every diagonal sorted ascending, then flipped by j mod 4."""
    return flip_batch(sort_diagonals(rng.standard_normal((n, size, size))))


def bound_set(size: int, train_size: int, noise_var: float, noise_mean: str, iid_test_size: int, seed: int) -> dict:
    """E2/E3: the code's generated set (train_size noisy images; n = train_size/2 are used for training),
    the code's test set (same noisy images + another draw) and a fresh i.i.d. test set (new base images,
    noise with the same law as the training noise)."""
    rng = np.random.default_rng(seed)
    clean = sorted_diagonal_images(train_size, size, rng)
    loc = float(clean.mean()) if noise_mean == "batch_mean" else 0.0
    x = clean + rng.normal(loc, np.sqrt(noise_var), size=clean.shape)
    x_code = x + _noise(rng, x, noise_var, noise_mean)
    clean_iid = sorted_diagonal_images(iid_test_size, size, rng)
    x_iid = clean_iid + rng.normal(loc, np.sqrt(noise_var), size=clean_iid.shape)
    return {"x": x.astype(np.float32), "y": labels_for(train_size), "x_code_test": x_code.astype(np.float32),
            "clean": clean.astype(np.float32), "x_iid": x_iid.astype(np.float32), "y_iid": labels_for(iid_test_size),
            "clean_iid": clean_iid.astype(np.float32)}


def digits_set(test_share: float, seed: int) -> dict:
    """E4 default: scikit-learn's bundled digits (1,797 8×8), stratified split, per-image z-normalisation."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = _znorm(d.images.astype(np.float64)).reshape(len(d.images), -1)
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=test_share, stratify=d.target, random_state=seed)
    return {"x_train": xtr.astype(np.float32), "y_train": ytr.astype(np.int64), "x_test": xte.astype(np.float32),
            "y_test": yte.astype(np.int64)}


IDX_FILES = {"x_train": "train-images-idx3-ubyte.gz", "y_train": "train-labels-idx1-ubyte.gz",
             "x_test": "t10k-images-idx3-ubyte.gz", "y_test": "t10k-labels-idx1-ubyte.gz"}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip) as an array; a malformed file is a ``UserError`` naming it."""
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
        if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
            raise ValueError("bad magic number (expected unsigned-byte IDX)")
        ndim = raw[3]
        dims = [int.from_bytes(raw[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim)]
        data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
        if data.size != int(np.prod(dims)):
            raise ValueError(f"{data.size} values for shape {dims}")
        return data.reshape(dims)
    except (OSError, ValueError, EOFError) as exc:
        raise UserError(f"{path}: not a readable IDX file ({exc})",
                        "replace it with the original gzip IDX file from the dataset's publisher") from None


def idx_set(data_dir: str | None, name: str) -> dict:
    """E4 paper: MNIST / Fashion-MNIST from ``<data_dir>/<name>/`` (never downloaded)."""
    if not data_dir:
        raise UserError(f"{name}: mi_generalization.benchmark.data_dir is not set",
                        "point it at a folder holding mnist/ and fashion_mnist/ with the four IDX files each")
    folder = Path(data_dir) / name
    missing = [f for f in IDX_FILES.values() if not (folder / f).exists()]
    if missing:
        raise UserError(f"{folder}: missing {', '.join(missing)}",
                        "copy the original IDX files (from the dataset's publisher) there; nothing is downloaded")
    arrays = {k: read_idx(folder / f) for k, f in IDX_FILES.items()}
    out = {}
    for split in ("train", "test"):
        x = arrays[f"x_{split}"].astype(np.float64)
        out[f"x_{split}"] = _znorm(x).reshape(len(x), -1).astype(np.float32)
        out[f"y_{split}"] = arrays[f"y_{split}"].astype(np.int64)
    return out


# --- storage -------------------------------------------------------------------------------------------

def save_npz(path: Path, arrays: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return path


def load_npz(path: Path | str, keys: tuple[str, ...]) -> dict:
    """The named arrays of a prepared file; anything unreadable is a ``UserError`` naming the file."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in keys if k not in f.files]
            if missing:
                raise ValueError(f"missing arrays {missing}")
            return {k: f[k] for k in keys}
    except (OSError, ValueError, EOFError, KeyError) as exc:
        raise UserError(f"{path}: unreadable prepared data ({exc})",
                        "rerun `paperflows run mi_generalization --step prepare`") from None


# --- great-expectations suites over per-sample summary frames --------------------------------------------

def _hash(image: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image, dtype=np.float32).tobytes()).hexdigest()[:16]


def proto_summary(d: dict) -> pd.DataFrame:
    """One row per sample: label, prototype, finiteness, clean-image monotonicity before the flip."""
    x, clean = d["x_train"], d["clean"]
    return pd.DataFrame({
        "label": d["y_train"], "proto": d["proto"],
        "finite": np.isfinite(x).reshape(len(x), -1).all(1) & np.isfinite(d["x_test"]).reshape(len(x), -1).all(1),
        "side": np.full(len(x), x.shape[1]), "side2": np.full(len(x), x.shape[2]),
        "monotone": diagonals_sorted(flip_batch(clean)),
        "label_ok": d["y_train"] == np.array([LABELS[p] for p in d["proto"]]),
    })


def proto_expectations(n: int, size: int) -> list:
    from components.core.validation import expect

    tol = 1.0 / n
    return [expect("ExpectTableRowCountToEqual", value=n),
            expect("ExpectColumnValuesToBeInSet", column="label", value_set=[0, 1]),
            expect("ExpectColumnValuesToBeInSet", column="proto", value_set=[0, 1, 2, 3]),
            expect("ExpectColumnMeanToBeBetween", column="label", min_value=0.5 - tol, max_value=0.5 + tol),
            expect("ExpectColumnValuesToBeInSet", column="finite", value_set=[True]),
            expect("ExpectColumnValuesToBeInSet", column="monotone", value_set=[True]),
            expect("ExpectColumnValuesToBeInSet", column="label_ok", value_set=[True]),
            expect("ExpectColumnValuesToBeInSet", column="side", value_set=[size]),
            expect("ExpectColumnValuesToBeInSet", column="side2", value_set=[size])]


def bound_summary(variant: str, d: dict) -> pd.DataFrame:
    """Training-pool and i.i.d.-test samples of one (variance, run) set: sortedness of the stored clean images
    before flips, finiteness, labels, and a hash of each clean image (train/test disjointness)."""
    rows = []
    for split, clean, x, y in (("pool", d["clean"], d["x"], d["y"]), ("iid", d["clean_iid"], d["x_iid"], d["y_iid"])):
        finite = np.isfinite(x).reshape(len(x), -1).all(1)
        if split == "pool":
            finite &= np.isfinite(d["x_code_test"]).reshape(len(x), -1).all(1)
        rows.append(pd.DataFrame({"variant": variant, "split": split, "label": y, "finite": finite,
                                  "side": x.shape[1], "sorted": diagonals_sorted(flip_batch(clean)),
                                  "label_ok": y == labels_for(len(y)),
                                  "clean_hash": [_hash(c) for c in clean]}))
    return pd.concat(rows, ignore_index=True)


def bound_expectations(rows: int, size: int, balance_tol: float) -> list:
    from components.core.validation import expect

    return [expect("ExpectTableRowCountToEqual", value=rows),
            expect("ExpectColumnValuesToBeInSet", column="label", value_set=[0, 1]),
            expect("ExpectColumnMeanToBeBetween", column="label", min_value=0.5 - balance_tol,
                   max_value=0.5 + balance_tol),
            expect("ExpectColumnValuesToBeInSet", column="finite", value_set=[True]),
            expect("ExpectColumnValuesToBeInSet", column="sorted", value_set=[True]),
            expect("ExpectColumnValuesToBeInSet", column="label_ok", value_set=[True]),
            expect("ExpectColumnValuesToBeInSet", column="side", value_set=[size]),
            expect("ExpectColumnValuesToBeUnique", column="clean_hash")]


def benchmark_summary(d: dict) -> pd.DataFrame:
    frames = []
    for split in ("train", "test"):
        x, y = d[f"x_{split}"], d[f"y_{split}"]
        frames.append(pd.DataFrame({"split": split, "label": y, "finite": np.isfinite(x).all(1),
                                    "width": x.shape[1], "hash": [_hash(r) for r in x]}))
    return pd.concat(frames, ignore_index=True)


def benchmark_expectations(rows: int, width: int, classes: int) -> list:
    from components.core.validation import expect

    out = [expect("ExpectTableRowCountToEqual", value=rows),
           expect("ExpectColumnValuesToBeInSet", column="label", value_set=list(range(classes))),
           expect("ExpectColumnValuesToBeInSet", column="finite", value_set=[True]),
           expect("ExpectColumnValuesToBeInSet", column="width", value_set=[width])]
    for split in ("train", "test"):  # every class present in both splits
        out.append(expect("ExpectColumnDistinctValuesToEqualSet", column="label",
                          value_set=list(range(classes)), row_condition=f'split=="{split}"',
                          condition_parser="pandas"))
    return out
