"""A7: linear-probe code sanity on the default digits split; the kNN helper."""

import numpy as np

from components.clustermim import data as D
from components.clustermim.evaluation import knn_top1, linear_probe


def test_raw_pixel_linear_probe_on_default_split():
    from components.core.seeding import derive_seed

    x, y = D.load_digits_16()
    tr, te = D.stratified_split(y, 500, derive_seed(0, "split"))
    ftr, fte = x[tr].reshape(len(tr), -1), x[te].reshape(len(te), -1)
    lp = linear_probe(ftr, y[tr], fte, y[te], [0.1, 1.0, 10.0], 2000, 0)
    assert lp["top1"] >= 0.90 and lp["C"] in (0.1, 1.0, 10.0)
    shuffled = np.random.default_rng(0).permutation(y[tr])  # labels carry no signal → near chance
    assert linear_probe(ftr, shuffled, fte, y[te], [1.0], 100, 0)["top1"] < 0.3
    assert knn_top1(ftr, y[tr], fte, y[te], 20) >= 0.9
