"""Gaussian HMM with full covariances (Baum–Welch, scaled forward–backward) and GMR (spec §3, §5).

hmmlearn is named by the spec but is not installed in this project's environment (``import hmmlearn``
fails in .venv), so the model is implemented here in numpy, following hmmlearn's ``GaussianHMM``
conventions (``startprob_``, ``transmat_``, ``means_``, ``covars_``; covariance regulariser added to the
diagonal at every M-step). Initialisation is deterministic: each training sequence is cut into
``n_states`` equal time segments (left-to-right start for reach → interact → retreat motions).

GMR on the human marginal: the forward variable is computed with the human block of each state's
Gaussian only, and the robot latent is the responsibility-weighted conditional mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TINY = 1e-300


def gauss_logpdf(x: np.ndarray, means: np.ndarray, covs: np.ndarray) -> np.ndarray:
    """log N(x_t | μ_k, Σ_k) for x (T, D), means (K, D), covs (K, D, D) → (T, K)."""
    T, D = x.shape
    out = np.empty((T, len(means)))
    for k, (m, c) in enumerate(zip(means, covs)):
        L = np.linalg.cholesky(c)
        sol = np.linalg.solve(L, (x - m).T)
        out[:, k] = -0.5 * (sol ** 2).sum(0) - np.log(np.diag(L)).sum() - 0.5 * D * np.log(2 * np.pi)
    return out


def forward_filter(log_b: np.ndarray, startprob: np.ndarray, transmat: np.ndarray) -> tuple[np.ndarray, float]:
    """Filtered state probabilities p(s_t | x_≤t) (T, K) and the log-likelihood (scaled recursion)."""
    T, K = log_b.shape
    alpha = np.empty((T, K))
    ll = 0.0
    for t in range(T):
        shift = log_b[t].max()
        b = np.exp(log_b[t] - shift)
        a = (startprob if t == 0 else alpha[t - 1] @ transmat) * b
        s = a.sum()
        alpha[t] = a / max(s, TINY)
        ll += np.log(max(s, TINY)) + shift
    return alpha, ll


def _backward(log_b: np.ndarray, transmat: np.ndarray, scales: np.ndarray) -> np.ndarray:
    T, K = log_b.shape
    beta = np.ones((T, K))
    for t in range(T - 2, -1, -1):
        b = np.exp(log_b[t + 1] - log_b[t + 1].max())
        beta[t] = transmat @ (b * beta[t + 1])
        beta[t] /= max(beta[t].sum(), TINY)
    return beta


@dataclass
class GaussianHMM:
    n_states: int
    cov_reg: float = 5e-3
    n_iter: int = 30
    tol: float = 1e-4

    def fit(self, seqs: list[np.ndarray]) -> "GaussianHMM":
        K, D = self.n_states, seqs[0].shape[1]
        # init: equal time segments per sequence
        seg = [np.array_split(np.arange(len(s)), K) for s in seqs]
        self.means_ = np.stack([np.concatenate([s[idx[k]] for s, idx in zip(seqs, seg)]).mean(0) for k in range(K)])
        self.covars_ = np.stack([np.cov(np.concatenate([s[idx[k]] for s, idx in zip(seqs, seg)]).T, bias=True)
                                 .reshape(D, D) + self.cov_reg * np.eye(D) for k in range(K)])
        self.startprob_ = np.full(K, 1e-3)
        self.startprob_[0] = 1.0
        self.startprob_ /= self.startprob_.sum()
        self.transmat_ = np.full((K, K), 1e-3) + np.eye(K) * 0.8 + np.eye(K, k=1) * 0.2
        self.transmat_ /= self.transmat_.sum(1, keepdims=True)
        self.log_likelihoods_ = []
        for _ in range(self.n_iter):
            ll = self._em_step(seqs)
            self.log_likelihoods_.append(ll)
            if len(self.log_likelihoods_) > 1 and abs(ll - self.log_likelihoods_[-2]) < self.tol * abs(ll):
                break
        return self

    def _em_step(self, seqs: list[np.ndarray]) -> float:
        K, D = self.n_states, seqs[0].shape[1]
        g_sum = np.zeros(K)
        x_sum = np.zeros((K, D))
        xx_sum = np.zeros((K, D, D))
        start = np.zeros(K)
        trans = np.zeros((K, K))
        total = 0.0
        for x in seqs:
            log_b = gauss_logpdf(x, self.means_, self.covars_)
            alpha, ll = forward_filter(log_b, self.startprob_, self.transmat_)
            beta = _backward(log_b, self.transmat_, None)
            gamma = alpha * beta
            gamma /= gamma.sum(1, keepdims=True)
            b = np.exp(log_b - log_b.max(1, keepdims=True))
            for t in range(len(x) - 1):
                xi = alpha[t][:, None] * self.transmat_ * (b[t + 1] * beta[t + 1])[None, :]
                trans += xi / max(xi.sum(), TINY)
            start += gamma[0]
            g_sum += gamma.sum(0)
            x_sum += gamma.T @ x
            xx_sum += np.einsum("tk,ti,tj->kij", gamma, x, x)
            total += ll
        self.startprob_ = (start + 1e-10) / (start + 1e-10).sum()
        self.transmat_ = (trans + 1e-10) / (trans + 1e-10).sum(1, keepdims=True)
        g = np.maximum(g_sum, 1e-10)
        self.means_ = x_sum / g[:, None]
        self.covars_ = xx_sum / g[:, None, None] - np.einsum("ki,kj->kij", self.means_, self.means_) \
            + self.cov_reg * np.eye(D)[None]
        self.covars_ = 0.5 * (self.covars_ + self.covars_.transpose(0, 2, 1))
        return total

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"startprob": self.startprob_, "transmat": self.transmat_, "means": self.means_,
                "covars": self.covars_}


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


def gmr_predict(hmm: dict[str, np.ndarray], z_h: np.ndarray, d_h: int) -> tuple[np.ndarray, np.ndarray]:
    """Robot latent for every step of one trajectory: forward weights on the human marginal, then
    Σ_k h_k (μ_k^r + Σ_k^{rh} (Σ_k^{hh})⁻¹ (z_h − μ_k^h)). Returns (ẑ_r (T, d_r), weights (T, K))."""
    mu, cov = hmm["means"], hmm["covars"]
    mu_h, mu_r = mu[:, :d_h], mu[:, d_h:]
    c_hh, c_rh = cov[:, :d_h, :d_h], cov[:, d_h:, :d_h]
    log_b = gauss_logpdf(z_h, mu_h, c_hh)
    w, _ = forward_filter(log_b, hmm["startprob"], hmm["transmat"])
    gain = np.einsum("kij,kjl->kil", c_rh, np.linalg.inv(c_hh))  # (K, d_r, d_h)
    cond = mu_r[None] + np.einsum("kij,tkj->tki", gain, z_h[:, None, :] - mu_h[None])  # (T, K, d_r)
    return (w[:, :, None] * cond).sum(1), w


__all__ = ["GaussianHMM", "gauss_logpdf", "forward_filter", "union", "gmm_as_hmm", "gmr_predict"]
