"""The MILD-like latent model on hmmlearn (spec §5): per-action Gaussian HMMs on [z_h, z_r], GMR on the
human marginal.

Fitting is hmmlearn's ``GaussianHMM`` (full covariances, k-means initialisation, Baum–Welch). The covariance
regulariser is a fixed ridge ``cov_reg · I`` added after every M-step (as MILD's HMM does); hmmlearn's own
MAP prior would divide it by the state occupancy, so :class:`RidgeGaussianHMM` adds it instead
(``covars_prior = 0``).

A fitted model travels as plain arrays (``startprob``, ``transmat``, ``means``, ``covars``) inside the
checkpoint and is rebuilt as a ``GaussianHMM`` for inference. GMR needs the *filtered* state probabilities
p(s_t | z_h,≤t) (causal, the robot reacts online); hmmlearn's public ``score_samples`` returns smoothed
posteriors, and the smoothed posterior of the last frame of the prefix z_h,≤t is exactly the filtered one —
so all prefixes go through one ``score_samples`` call as separate sequences (``lengths = 1 … T``).
"""

from __future__ import annotations

import numpy as np
from hmmlearn.hmm import GaussianHMM


class RidgeGaussianHMM(GaussianHMM):
    """hmmlearn's full-covariance Gaussian HMM with ``cov_reg · I`` added to every re-estimated covariance."""

    def __init__(self, n_components: int, cov_reg: float = 5e-3, n_iter: int = 30, random_state: int = 0,
                 tol: float = 1e-2):
        super().__init__(n_components=n_components, covariance_type="full", min_covar=cov_reg,
                         covars_prior=0.0, n_iter=n_iter, tol=tol, random_state=random_state)
        self.cov_reg = cov_reg

    def _do_mstep(self, stats):
        super()._do_mstep(stats)
        if "c" in self.params:
            self._covars_ = self._covars_ + self.cov_reg * np.eye(self.n_features)[None]


def fit_hmm(seqs: list[np.ndarray], states: int, cov_reg: float, n_iter: int, seed: int) -> dict[str, np.ndarray]:
    """Fit one HMM on a list of (T_i, D) sequences → its parameters and the EM log-likelihood trace."""
    hmm = RidgeGaussianHMM(states, cov_reg=cov_reg, n_iter=n_iter, random_state=seed)
    hmm.fit(np.concatenate(seqs), lengths=[len(s) for s in seqs])
    return {"startprob": hmm.startprob_, "transmat": hmm.transmat_, "means": hmm.means_, "covars": hmm.covars_,
            "loglik": np.asarray(hmm.monitor_.history, dtype=float)}


def as_hmmlearn(params: dict[str, np.ndarray], dims: slice | None = None) -> GaussianHMM:
    """A ``GaussianHMM`` with the given parameters (optionally the marginal over ``dims``)."""
    d = dims or slice(None)
    means, covars = params["means"][:, d], params["covars"][:, d, d]
    hmm = GaussianHMM(n_components=len(params["startprob"]), covariance_type="full")
    hmm.n_features = means.shape[1]
    hmm.startprob_, hmm.transmat_ = params["startprob"], params["transmat"]
    hmm.means_, hmm.covars_ = means, covars
    return hmm


def filtered_posteriors(hmm: GaussianHMM, x: np.ndarray) -> np.ndarray:
    """p(s_t | x_≤t) for every t (T, K): the smoothed posterior of the last frame of each prefix."""
    T = len(x)
    idx = np.concatenate([np.arange(t + 1) for t in range(T)])
    _, post = hmm.score_samples(x[idx], lengths=np.arange(1, T + 1))
    return post[np.cumsum(np.arange(1, T + 1)) - 1]


def union(hmms: list[dict]) -> dict[str, np.ndarray]:
    """One HMM over all actions: block-diagonal transitions, start spread uniformly over the actions —
    the forward variable then infers the action from the human motion (the label-free MILD variant)."""
    A = len(hmms)
    K = sum(len(h["startprob"]) for h in hmms)
    trans = np.zeros((K, K))
    o = 0
    for h in hmms:
        k = len(h["startprob"])
        trans[o:o + k, o:o + k] = h["transmat"]
        o += k
    return {"startprob": np.concatenate([h["startprob"] / A for h in hmms]), "transmat": trans,
            "means": np.concatenate([h["means"] for h in hmms]), "covars": np.concatenate([h["covars"] for h in hmms])}


def gmm_as_hmm(weights: np.ndarray, means: np.ndarray, covars: np.ndarray) -> dict[str, np.ndarray]:
    """A GMM is an HMM whose every transition row is the mixture weights (responsibilities, no dynamics)."""
    return {"startprob": weights, "transmat": np.tile(weights, (len(weights), 1)), "means": means, "covars": covars}


def gmr_predict(params: dict[str, np.ndarray], z_h: np.ndarray, d_h: int) -> tuple[np.ndarray, np.ndarray]:
    """Robot latent for every step of one trajectory: filtered weights on the human marginal, then
    Σ_k h_k (μ_k^r + Σ_k^{rh} (Σ_k^{hh})⁻¹ (z_h − μ_k^h)). Returns (ẑ_r (T, d_r), weights (T, K))."""
    mu, cov = params["means"], params["covars"]
    mu_h, mu_r = mu[:, :d_h], mu[:, d_h:]
    c_hh, c_rh = cov[:, :d_h, :d_h], cov[:, d_h:, :d_h]
    w = filtered_posteriors(as_hmmlearn(params, slice(0, d_h)), z_h)
    gain = np.einsum("kij,kjl->kil", c_rh, np.linalg.inv(c_hh))  # (K, d_r, d_h)
    cond = mu_r[None] + np.einsum("kij,tkj->tki", gain, z_h[:, None, :] - mu_h[None])  # (T, K, d_r)
    return (w[:, :, None] * cond).sum(1), w


__all__ = ["RidgeGaussianHMM", "fit_hmm", "as_hmmlearn", "filtered_posteriors", "union", "gmm_as_hmm",
           "gmr_predict"]
