"""The numpy Gaussian HMM and GMR of the MILD-like baseline (hmmlearn is not installed here)."""

import numpy as np
import pytest

from components.moveint.hmm import GaussianHMM, forward_filter, gauss_logpdf, gmr_predict, union


def _two_state_data(seed, n=6, T=60):
    rng = np.random.default_rng(seed)
    seqs = []
    for _ in range(n):
        cut = rng.integers(20, 40)
        s = np.r_[np.zeros(cut, int), np.ones(T - cut, int)]
        means = np.array([[0.0, 0.0], [3.0, -2.0]])
        seqs.append(means[s] + 0.3 * rng.normal(size=(T, 2)))
    return seqs


def test_em_recovers_two_states_and_likelihood_increases():
    hmm = GaussianHMM(2, cov_reg=1e-3, n_iter=20).fit(_two_state_data(0))
    order = np.argsort(hmm.means_[:, 0])
    assert np.allclose(hmm.means_[order], [[0, 0], [3, -2]], atol=0.1)
    assert np.allclose(hmm.covars_[order[0]], 0.09 * np.eye(2) + 1e-3 * np.eye(2), atol=0.03)
    ll = np.array(hmm.log_likelihoods_)
    assert (np.diff(ll) > -1e-6).all()
    assert hmm.transmat_[order[0], order[0]] > 0.9


def test_gauss_logpdf_matches_scipy():
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(1)
    A = rng.normal(size=(3, 3))
    cov = A @ A.T + np.eye(3)
    x, m = rng.normal(size=(4, 3)), rng.normal(size=3)
    assert np.allclose(gauss_logpdf(x, m[None], cov[None])[:, 0], multivariate_normal(m, cov).logpdf(x))


def test_gmr_single_state_is_the_gaussian_conditional():
    cov = np.array([[2.0, 0.8], [0.8, 1.0]])
    hmm = {"startprob": np.ones(1), "transmat": np.ones((1, 1)), "means": np.array([[1.0, -1.0]]),
           "covars": cov[None]}
    zh = np.array([[0.0], [3.0]])
    zr, w = gmr_predict(hmm, zh, 1)
    assert np.allclose(w, 1) and np.allclose(zr[:, 0], -1.0 + 0.8 / 2.0 * (zh[:, 0] - 1.0))


def test_union_infers_the_action_from_the_human_marginal():
    def one(mh):
        return {"startprob": np.array([1.0]), "transmat": np.ones((1, 1)), "means": np.array([[mh, 10 * mh]]),
                "covars": np.eye(2)[None] * 0.1}
    joint = union([one(0.0), one(5.0)])
    assert joint["transmat"].tolist() == [[1, 0], [0, 1]] and joint["startprob"].tolist() == [0.5, 0.5]
    zr, w = gmr_predict(joint, np.full((4, 1), 5.0), 1)
    assert w[-1, 1] > 0.999 and zr[-1, 0] == pytest.approx(50.0, abs=1e-3)
    alpha, ll = forward_filter(np.log(np.array([[0.5, 0.5]])), np.array([0.5, 0.5]), np.eye(2))
    assert np.allclose(alpha, 0.5) and ll == pytest.approx(np.log(0.5))
