"""The MILD-like latent model on hmmlearn: ridge-regularised EM, filtered (causal) weights, GMR, union."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from components.moveint.hmm import as_hmmlearn, filtered_posteriors, fit_hmm, gmr_predict, union


def _two_state_data(seed, n=6, T=60):
    rng = np.random.default_rng(seed)
    seqs = []
    for _ in range(n):
        cut = rng.integers(20, 40)
        s = np.r_[np.zeros(cut, int), np.ones(T - cut, int)]
        means = np.array([[0.0, 0.0], [3.0, -2.0]])
        seqs.append(means[s] + 0.3 * rng.normal(size=(T, 2)))
    return seqs


def test_em_recovers_two_states_with_the_ridge_and_likelihood_increases():
    hmm = fit_hmm(_two_state_data(0), 2, cov_reg=1e-2, n_iter=20, seed=0)
    order = np.argsort(hmm["means"][:, 0])
    assert np.allclose(hmm["means"][order], [[0, 0], [3, -2]], atol=0.1)
    assert np.allclose(hmm["covars"][order[0]], 0.10 * np.eye(2), atol=0.02)
    # the ridge is a fixed cov_reg·I on top of the sample covariance (hmmlearn's MAP prior would divide it
    # by the state occupancy, ≈ 150 windows here)
    wide = fit_hmm(_two_state_data(0), 2, cov_reg=0.2, n_iter=20, seed=0)
    delta = wide["covars"][np.argsort(wide["means"][:, 0])] - hmm["covars"][order]
    assert np.allclose(delta, 0.19 * np.eye(2)[None], atol=0.01)
    assert (np.diff(hmm["loglik"]) > -1e-6).all() and len(hmm["loglik"]) >= 2
    assert hmm["transmat"][order[0], order[0]] > 0.9


def _forward_reference(x, p):
    """Textbook normalised forward recursion (the filter) on the same parameters."""
    b = np.stack([multivariate_normal(m, c).pdf(x) for m, c in zip(p["means"], p["covars"])], 1)
    out = np.empty_like(b)
    a = p["startprob"] * b[0]
    out[0] = a / a.sum()
    for t in range(1, len(x)):
        a = (out[t - 1] @ p["transmat"]) * b[t]
        out[t] = a / a.sum()
    return out


def test_filtered_posteriors_are_the_forward_filter_not_the_smoother():
    rng = np.random.default_rng(3)
    p = {"startprob": np.array([0.6, 0.3, 0.1]),
         "transmat": np.array([[0.8, 0.15, 0.05], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]),
         "means": rng.normal(size=(3, 2)), "covars": np.stack([np.eye(2) * s for s in (0.5, 1.0, 2.0)])}
    x = rng.normal(size=(12, 2))
    filt = filtered_posteriors(as_hmmlearn(p), x)
    assert np.allclose(filt, _forward_reference(x, p), atol=1e-9)
    _, smooth = as_hmmlearn(p).score_samples(x)
    assert np.allclose(filt[-1], smooth[-1]) and not np.allclose(filt[:-1], smooth[:-1], atol=1e-3)


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
