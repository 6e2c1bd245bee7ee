"""Spec §9 checks 1–4: the Gibbs estimator against hand-computed and independent values; binning and KDE
baselines on distributions with known MI."""

import math

import numpy as np
import pytest
from scipy.special import expit, softmax

from components.mi_generalization.estimators import binning_mi, gibbs_mi, joint_table_mi, kde_mi
from components.mi_generalization.evaluation import binary_entropy, estimator_checks, two_point_gaussian_mi


@pytest.mark.parametrize("a", [0.0, 0.5, 3.0, 30.0])
def test_two_samples_closed_form(a):
    got = gibbs_mi(np.array([[a, 0.0], [0.0, a]]))["i_xt"]
    assert got == pytest.approx(1 - binary_entropy(float(expit(a))), abs=1e-10)
    if a == 0.0:
        assert abs(got) < 1e-12
    if a == 30.0:
        assert got > 1 - 1e-10


def test_one_hot_limit_and_constant_activations():
    acts = np.repeat(np.eye(4) * 1e3, 128, axis=0)
    labels = np.repeat([0, 1, 0, 1], 128)  # units {0, 2} → class 0, {1, 3} → class 1
    r = gibbs_mi(acts, labels)
    assert r["i_xt"] == pytest.approx(2.0, abs=1e-9)
    assert r["i_yt"] == pytest.approx(1.0, abs=1e-9)
    assert r["i_xbar_t"] == pytest.approx(1.0, abs=1e-9)
    flat = gibbs_mi(np.full((512, 4), 0.7), labels)
    assert max(abs(v) for k, v in flat.items() if k != "h_t") < 1e-12


def test_matches_independent_joint_table():
    rng = np.random.default_rng(3)
    n, k = 50, 7
    acts = rng.normal(size=(n, k)) * 2
    p = softmax(acts, axis=1)
    assert gibbs_mi(acts)["i_xt"] == pytest.approx(joint_table_mi(p / n), abs=1e-10)
    labels = rng.permutation(np.repeat([0, 1], n // 2))  # balanced
    p_y = np.stack([p[labels == c].mean(0) for c in (0, 1)]) / 2
    assert gibbs_mi(acts, labels)["i_yt"] == pytest.approx(joint_table_mi(p_y), abs=1e-10)


def test_shift_invariance_scale_dependence_and_ranges():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n, k = int(rng.integers(5, 80)), int(rng.integers(2, 12))
        acts = rng.normal(size=(n, k)) * rng.uniform(0.1, 5)
        labels = rng.integers(0, 2, n)
        base = gibbs_mi(acts, labels)
        shifted = gibbs_mi(acts + rng.normal(size=(n, 1)) * 10, labels)
        for key in ("i_xt", "i_yt", "i_xbar_t"):
            assert shifted[key] == pytest.approx(base[key], abs=1e-9)
        assert -1e-12 <= base["i_xt"] <= min(math.log2(k), math.log2(n)) + 1e-12
        assert -1e-12 <= base["i_yt"] <= 1 + 1e-12
    acts = rng.normal(size=(40, 5))
    assert gibbs_mi(acts * 10)["i_xt"] > gibbs_mi(acts)["i_xt"] + 0.1  # documented scale dependence


def test_binning_known_values():
    labels = np.repeat([0, 1, 0, 1], 16)
    clusters = np.repeat(np.array([[0.2, 0.2], [5.2, 0.2], [0.2, 5.2], [5.2, 5.2]]), 16, axis=0)
    assert binning_mi(clusters, labels, 1.0) == {"i_xt": 2.0, "i_yt": pytest.approx(1.0)}
    same_bin = binning_mi(clusters, labels, 100.0)  # one bin: no information
    assert same_bin["i_xt"] == 0 and same_bin["i_yt"] == 0
    with pytest.raises(ValueError):
        binning_mi(clusters, labels, 0.0)


def test_kde_is_the_pairwise_kl_upper_bound():
    for dist in (0.5, 2.0, 4.0):
        pts = np.repeat(np.array([[0.0], [dist]]), 32, axis=0)
        got = kde_mi(pts, np.repeat([0, 1], 32), 1.0)
        closed = -math.log2(0.5 + 0.5 * math.exp(-dist**2 / 2))
        assert got["i_xt"] == pytest.approx(closed, abs=1e-9)
        assert got["i_yt"] == pytest.approx(closed, abs=1e-9)  # T determines Y here
        assert got["i_xt"] >= two_point_gaussian_mi(dist, 1.0) - 1e-9  # an upper bound on the true MI
    far = kde_mi(np.repeat(np.eye(4) * 100, 8, axis=0), np.repeat([0, 1, 0, 1], 8), 1.0)
    assert far["i_xt"] == pytest.approx(2.0, abs=1e-9) and far["i_yt"] == pytest.approx(1.0, abs=1e-9)


def test_two_point_gaussian_mi_limits():
    assert two_point_gaussian_mi(1e-6, 1.0) < 1e-6
    assert two_point_gaussian_mi(40.0, 1.0) == pytest.approx(1.0, abs=1e-6)


def test_pipeline_estimator_checks_all_pass():
    rows = estimator_checks()
    assert len(rows) == 9 and all(r["ok"] for r in rows)
