"""A1 (data) and this paper's bad data inputs."""

import numpy as np
import pytest

from components.clustermim import data as D
from components.core.errors import DataValidationError, UserError


@pytest.fixture(scope="module")
def digits():
    return D.load_digits_16()


def test_digits_upsampled_to_16(digits):
    x, y = digits
    assert x.shape == (1797, 16, 16) and x.min() >= 0 and x.max() <= 1 and set(y) == set(range(10))


def test_stratified_split_is_deterministic_and_proportional(digits):
    _, y = digits
    tr, te = D.stratified_split(y, 500, 0)
    tr2, te2 = D.stratified_split(y, 500, 0)
    assert np.array_equal(tr, tr2) and np.array_equal(te, te2)
    assert len(tr) == 1297 and len(te) == 500 and not set(tr) & set(te)
    expected = np.bincount(y) * 500 / len(y)
    assert np.abs(np.bincount(y[te]) - expected).max() <= 1
    _, te3 = D.stratified_split(y, 500, 1)
    assert not np.array_equal(te, te3)


def test_patchify_unpatchify_exact(digits):
    x, _ = digits
    p = D.patchify(x[:10], 4)
    assert p.shape == (10, 16, 16)
    assert np.array_equal(p[0, 1], x[0, 0:4, 4:8].reshape(-1))  # row-major patch order
    assert np.array_equal(D.unpatchify(p, 4, 16), x[:10])


def test_shapes16_deterministic_and_balanced():
    a, ya = D.shapes16(6, 3)
    b, yb = D.shapes16(6, 3)
    c, _ = D.shapes16(6, 4)
    assert np.array_equal(a, b) and np.array_equal(ya, yb) and not np.array_equal(a, c)
    assert np.bincount(ya).tolist() == [6] * 10 and a.shape == (60, 16, 16) and 0 <= a.min() and a.max() <= 1


def test_random_resized_crop_keeps_shape_and_identity_at_full_scale():
    import torch

    x = torch.rand(5, 16, 16)
    out = D.random_resized_crop(x, (1.0, 1.0), ratio=(1.0, 1.0))
    assert out.shape == x.shape and torch.allclose(out, x, atol=1e-5)


def test_gx_suite_names_the_failed_expectation(digits):
    x, y = digits
    frame = D.summary_frame(x[:200], y[:200], "train")
    expected = {c: 20 for c in range(10)}
    from components.core.validation import validate_frame

    ok = D.expectations(frame, 10, 16, {c: int(n) for c, n in enumerate(np.bincount(y[:200]))})
    validate_frame(frame, ok, "ok")
    bad = x[:200].copy()
    bad[0, 0, 0] = 3.0  # out of range
    frame = D.summary_frame(bad, np.where(y[:200] == 3, 4, y[:200]), "train")  # class 3 missing: imbalance
    with pytest.raises(DataValidationError) as exc:
        validate_frame(frame, D.expectations(frame, 10, 16, expected), "bad")
    msg = str(exc.value)
    assert "max" in msg and "count_dev" in msg and "label" in msg


def test_imagefolder_loader_and_bad_files(tmp_path):
    from PIL import Image

    for split in ("train", "val"):
        for c in ("a", "b"):
            (tmp_path / split / c).mkdir(parents=True)
            for i in range(2):
                Image.fromarray((np.random.default_rng(i).random((20, 20)) * 255).astype(np.uint8)).save(
                    tmp_path / split / c / f"{i}.png")
    x, y, classes = D.load_imagefolder(tmp_path, "train", 16)
    assert x.shape == (4, 16, 16) and y.tolist() == [0, 0, 1, 1] and classes == ["a", "b"]
    (tmp_path / "train" / "b" / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(UserError, match="broken.jpg"):
        D.load_imagefolder(tmp_path, "train", 16)
    with pytest.raises(UserError, match="no such folder"):
        D.load_imagefolder(tmp_path / "nope", "train", 16)
    with pytest.raises(UserError, match="imagefolder.root"):
        D.load_imagefolder(None, "train", 16)
