"""Spec §9 checks 9–10 and the data loaders' bad inputs."""

import gzip

import numpy as np
import pytest

from components.core.errors import UserError
from components.mi_generalization import data as D


def test_base_image_monotone_and_flips():
    b = D.base_image(32)
    assert D.diagonals_sorted(b) and b[0, 0] == 0
    assert b[5, 9] == pytest.approx(5 * 32 / (32 - 4))  # k = 5 on offset +4
    s = D.prototype_set(32, 512, 1.0, "batch_mean", "per_image", 0)
    c = s["clean"]
    b = b.astype(np.float32)
    np.testing.assert_array_equal(c[0], b)
    np.testing.assert_array_equal(c[1], b[::-1, ::-1])
    np.testing.assert_array_equal(c[2], b[:, ::-1])
    np.testing.assert_array_equal(c[3], b[::-1, :])
    assert D.diagonals_sorted(D.flip_batch(c)).all()
    assert not D.diagonals_sorted(c[1])  # a flipped prototype is not sorted along its diagonals


def test_prototype_labels_and_entropies():
    s = D.prototype_set(32, 512, 1.0, "batch_mean", "per_image", 0)
    assert np.bincount(s["y_train"]).tolist() == [256, 256]
    counts = np.bincount(s["proto"]) / 512
    assert -(counts * np.log2(counts)).sum() == pytest.approx(2.0)  # H(X)
    py = np.bincount(s["y_train"]) / 512
    assert -(py * np.log2(py)).sum() == pytest.approx(1.0)  # H(Y)
    x = s["x_train"].reshape(512, -1)
    assert np.allclose(x.mean(1), 0, atol=1e-5) and np.allclose(x.std(1), 1, atol=1e-4)  # per-image z-score
    assert D.proto_summary(s)[["monotone", "finite", "label_ok"]].all().all()


def test_sorted_diagonal_set_sorted_before_flips_and_seeded():
    a = D.bound_set(32, 64, 8.0, "batch_mean", 16, seed=7)
    b = D.bound_set(32, 64, 8.0, "batch_mean", 16, seed=7)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert D.diagonals_sorted(D.flip_batch(a["clean"])).all()
    assert not D.diagonals_sorted(D.flip_batch(a["x"])).all()  # the noise breaks the order
    assert a["x_iid"].shape == (16, 32, 32) and a["y"].tolist()[:4] == [0, 1, 0, 1]
    noise = a["x"] - a["clean"]
    assert noise.var() == pytest.approx(8.0, rel=0.02)
    assert (a["x_code_test"] - a["x"]).var() == pytest.approx(8.0, rel=0.02)
    c = D.bound_set(32, 64, 8.0, "batch_mean", 16, seed=8)
    assert not np.array_equal(a["x"], c["x"])
    frame = D.bound_summary("v", a)
    assert frame.clean_hash.is_unique and frame.sorted.all() and len(frame) == 80


def test_sort_diagonals_matches_the_code_loop():
    rng = np.random.default_rng(0)
    img = rng.normal(size=(6, 6))
    ref = img.copy()
    h = 6
    for i in range(h):  # the official image_diagonal loops
        d = np.sort(np.diag(ref, i))
        for k in range(h - i):
            ref[k, k + i] = d[k]
    for j in range(-1, -h, -1):
        d = np.sort(np.diag(ref, j))
        for k in range(h + j):
            ref[k - j, k] = d[k]
    np.testing.assert_array_equal(D.sort_diagonals(img), ref)


def test_digits_stratified_and_normalised():
    d = D.digits_set(0.25, 0)
    assert d["x_train"].shape[1] == 64 and len(d["y_train"]) + len(d["y_test"]) == 1797
    assert set(d["y_test"]) == set(range(10))
    assert np.allclose(d["x_train"].mean(1), 0, atol=1e-5)


def _idx(path, arr):
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + arr.astype(np.uint8).tobytes())


def test_idx_loader_reads_and_refuses(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    _idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 255, (20, 4, 4)))
    _idx(folder / "train-labels-idx1-ubyte.gz", np.arange(20) % 10)
    _idx(folder / "t10k-images-idx3-ubyte.gz", rng.integers(0, 255, (10, 4, 4)))
    with pytest.raises(UserError, match="t10k-labels-idx1-ubyte.gz"):
        D.idx_set(str(tmp_path), "mnist")
    _idx(folder / "t10k-labels-idx1-ubyte.gz", np.arange(10))
    d = D.idx_set(str(tmp_path), "mnist")
    assert d["x_train"].shape == (20, 16) and d["y_test"].tolist() == list(range(10))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(UserError, match="t10k-labels-idx1-ubyte.gz"):
        D.idx_set(str(tmp_path), "mnist")
    with pytest.raises(UserError, match="data_dir"):
        D.idx_set(None, "mnist")


def test_load_npz_names_the_bad_file(tmp_path):
    f = tmp_path / "x.npz"
    f.write_bytes(b"garbage")
    with pytest.raises(UserError, match="x.npz"):
        D.load_npz(f, ("x",))
