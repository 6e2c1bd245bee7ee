"""MoVEInt network and loss (spec §9.2–9.7)."""

import itertools

import pytest
import torch

from components.moveint.model import MoVEInt, collapse, kl_diag, loss_terms, n_params, regularisers


def test_parameter_count():
    assert n_params(MoVEInt(90, 90, K=3, Z=5, hidden=(40, 20))) == 16123


def test_kl_matches_torch_and_direction():
    g = torch.Generator().manual_seed(0)
    mq, mp = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g)
    sq, sp = torch.rand(7, 5, generator=g) + 0.2, torch.rand(7, 5, generator=g) + 0.2
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(mq, sq), torch.distributions.Normal(mp, sp))
    assert torch.allclose(kl_diag(mq, sq, mp, sp), ref, atol=1e-6)
    assert kl_diag(mq, sq, mq, sq).abs().max() < 1e-7
    assert not torch.allclose(kl_diag(mq, sq, mp, sp), kl_diag(mp, sp, mq, sq))


def test_mixture_collapse():
    mu = torch.randn(1, 1, 3, 4)
    std = torch.rand(1, 1, 3, 4) + 0.1
    a = torch.tensor([[[0.0, 1.0, 0.0]]])
    m, s = collapse(mu, std, a)
    assert torch.equal(m, mu[:, :, 1]) and torch.allclose(s, std[:, :, 1])
    same = std[:, :, :1].expand(-1, -1, 3, -1)
    _, s2 = collapse(mu, same, torch.full((1, 1, 3), 1 / 3))
    assert torch.allclose(s2, same[:, :, 0], atol=1e-7)
    _, s3 = collapse(mu, same, torch.full((1, 1, 3), 1 / 3), "moment_matched")  # between-expert spread added
    assert (s3 > s2).all()


def _hand_loss(model, xh, xr, beta):
    """Spec §3 term by term with explicit loops (eval: z = means)."""
    mu_k, std_k, alpha = model.human(xh)
    mu_r, std_r = model.robot(xr)
    K, Z = model.K, model.Z
    T = xh.shape[1]
    total = 0.0
    for t in range(T):
        a = alpha[0, t]
        mh = sum(a[k] * mu_k[0, t, k] for k in range(K))
        sh = torch.sqrt(sum(a[k] * std_k[0, t, k] ** 2 for k in range(K)))
        rec_r = ((model.decoder(mu_r[0, t]) - xr[0, t]) ** 2).sum()
        rec_h = ((model.decoder(mh) - xr[0, t]) ** 2).sum()
        kl = sum(0.5 * ((std_r[0, t, d] / sh[d]) ** 2 + ((mu_r[0, t, d] - mh[d]) / sh[d]) ** 2 - 1
                        - 2 * torch.log(std_r[0, t, d] / sh[d])) for d in range(Z)) / Z
        R = kl
        if K > 1:
            R = R + sum(a[k] * torch.log(a[k]) for k in range(K))
            R = R + sum(torch.exp(-((mu_k[0, t, i] - mu_k[0, t, j]) ** 2).sum())
                        for i, j in itertools.combinations(range(K), 2))
            if t > 0:
                R = R + 1 - sum(torch.exp(-sum((mu_k[0, t, k, d] - mu_k[0, t - 1, k, d]) ** 2 for k in range(K)))
                                for d in range(Z)) / Z
        total = total + rec_r + rec_h + beta * R
    return total / T


@pytest.mark.parametrize("K", [2, 1])
def test_loss_composition(K):
    torch.manual_seed(0)
    model = MoVEInt(6, 4, K=K, Z=2, hidden=(8, 5))
    xh, xr = torch.randn(1, 3, 6), torch.randn(1, 3, 4)
    mask = torch.ones(1, 3)
    beta = 0.37
    with torch.no_grad():
        terms = loss_terms(model, xh, xr, mask, 1, beta, sample=False)
        assert terms["loss"].item() == pytest.approx(_hand_loss(model, xh, xr, beta).item(), rel=1e-5)
        if K == 1:  # the regularisers vanish: loss = recon + β KL exactly
            assert "reg_entropy" not in terms
            assert terms["loss"].item() == pytest.approx(
                (terms["ae_loss"] + terms["pred_loss"] + beta * terms["kl_loss"]).item(), rel=1e-6)
        else:
            noreg = loss_terms(model, xh, xr, mask, 1, beta, regularise=False, sample=False)
            extra = terms["reg_entropy"] + terms["reg_repulsion"] + terms["reg_smooth"]
            assert (terms["loss"] - noreg["loss"]).item() == pytest.approx(beta * extra.item(), rel=1e-4, abs=1e-7)


def test_gru_causality():
    torch.manual_seed(1)
    model = MoVEInt(6, 4, K=3, Z=2, hidden=(8, 5))
    x = torch.randn(1, 10, 6)
    y = x.clone()
    y[:, 6:] += torch.randn(1, 4, 6)
    with torch.no_grad():
        a, b = model.human(x)[2], model.human(y)[2]
    assert torch.equal(a[:, :6], b[:, :6]) and not torch.equal(a[:, 6:], b[:, 6:])


def test_padded_batch_equals_mean_of_trajectories():
    torch.manual_seed(2)
    model = MoVEInt(6, 4, K=3, Z=2, hidden=(8, 5))
    lens = [5, 3, 4]
    trajs = [(torch.randn(1, n, 6), torch.randn(1, n, 4)) for n in lens]
    xh, xr, mask = torch.zeros(3, 5, 6), torch.zeros(3, 5, 4), torch.zeros(3, 5)
    for b, ((h, r), n) in enumerate(zip(trajs, lens)):
        xh[b, :n], xr[b, :n], mask[b, :n] = h[0], r[0], 1
    xh[1, 3:] = 50.0  # garbage in the padding must not matter
    with torch.no_grad():
        batch = loss_terms(model, xh, xr, mask, 1, 1e-3, sample=False)
        single = [loss_terms(model, h, r, torch.ones(1, h.shape[1]), 1, 1e-3, sample=False) for h, r in trajs]
    for key in ("loss", "kl_loss", "reg_smooth", "reg_entropy"):
        assert batch[key].item() == pytest.approx(sum(s[key].item() for s in single) / 3, abs=1e-6)


def test_smoothness_zero_at_first_window_and_axis_switch():
    mu = torch.randn(1, 4, 3, 2)
    mask = torch.ones(1, 4)
    a = torch.full((1, 4, 3), 1 / 3)
    comp = regularisers(mu, a, mask, "components")["reg_smooth"]
    lat = regularisers(mu, a, mask, "latent")["reg_smooth"]
    assert comp[0, 0] == 0 and lat[0, 0] == 0 and not torch.allclose(comp[0, 1:], lat[0, 1:])


def test_standardisation_uses_fit_stats_and_round_trips():
    import numpy as np

    from components.moveint.training import scale_trajs, scaler_of, unscale_r

    rng = np.random.default_rng(0)
    fit = [{"xh": rng.normal(2.0, 3.0, (40, 4)), "xr": rng.normal(-1.0, 0.5, (40, 3))} for _ in range(3)]
    sc = scaler_of(fit, True)
    z = np.concatenate([t["xr"] for t in scale_trajs(fit, sc)])
    assert np.allclose(z.mean(0), 0, atol=1e-6) and np.allclose(z.std(0), 1, atol=1e-4)
    y = np.concatenate([t["xr"] for t in fit])
    assert np.allclose(unscale_r(z, sc), y, atol=1e-5)
    off = scaler_of(fit, False)
    assert np.allclose(scale_trajs(fit, off)[0]["xh"], fit[0]["xh"], atol=1e-6)
