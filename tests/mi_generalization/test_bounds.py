"""Spec §9 checks 5–8: schedule, injected noise, zero-bound cases of the simulators, Xu–Raginsky."""

import math

import numpy as np
import pytest
import torch

from components.mi_generalization import bounds as B
from components.mi_generalization.models import LitBoundSimulator, single_batch


def test_noise_schedule_and_beta():
    assert B.noise_var(0) == pytest.approx(3e-6, rel=1e-12)
    assert B.noise_var(49) == B.noise_var(0)
    assert B.noise_var(50) == pytest.approx(1e-8 + (3e-6 - 1e-8) * math.exp(-0.5), rel=1e-12)
    assert B.beta(50, 0.003) == pytest.approx(2 * 0.003 / B.noise_var(50), rel=1e-12)
    assert B.noise_var(10**6) == pytest.approx(1e-8, rel=1e-9)


@pytest.mark.parametrize("t", [0, 50, 700])
def test_injected_noise_std(t):
    g = torch.zeros(100_000, dtype=torch.float64)
    noisy, eps = B.inject_noise(g, t, 0.003, torch.Generator().manual_seed(1))
    assert float(noisy.std()) == pytest.approx(math.sqrt(B.noise_var(t)) / 0.003, rel=0.02)
    assert torch.allclose(noisy, B.noise_scale(t, 0.003) * eps)


def test_theta_and_update():
    assert B.theta(0.0) == 0.5
    assert B.cmi_theta_update(0.0, 0, 0.003, 10, 0.0, 0.0) == 0.0
    a = B.cmi_theta_update(0.0, 0, 0.003, 10, 4.0, 1.0)
    b = B.beta(0, 0.003)
    assert a == pytest.approx(-0.5 * (b * 0.003 / 200 * 4.0 + math.sqrt(2 * b * 0.003) / 10))


def test_xu_raginsky_worked_value():
    assert B.xu_raginsky(2.0, 256) == pytest.approx(0.05203, abs=1e-5)
    assert B.xu_raginsky(0.0, 256) == 0.0


def _fit(kind, x, y, j=0, u=1, epochs=5):
    from components.core.training import make_trainer

    torch.manual_seed(0)
    m = LitBoundSimulator(kind, (x[0].numel(), 4, 3, 2), 0.003, "adam", (x, y), j, u,
                          {"iid": (x, y)}, noise_seed=1, eval_every=2)
    make_trainer(epochs, progress=False).fit(m, single_batch(torch.zeros(1)))
    return m


def test_cmi_bound_zero_when_the_two_candidates_coincide():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(9, 16, generator=g)
    y = torch.tensor([0, 1] * 4 + [0])
    x[8], y[8] = x[7], y[7]  # z_J2 = z_J1
    m = _fit("cmi", x, y, j=7)
    assert m.acc == 0.0 and m.history[-1]["bound"] == 0.0
    assert m.history[0]["arg_theta"] == pytest.approx(0.0)  # a_0 = 0 → θ_0 = ½


def test_incoherence_bound_zero_when_all_samples_agree():
    x = torch.ones(8, 16)
    y = torch.zeros(8, dtype=torch.long)
    m = _fit("incoherence", x, y, j=3)
    assert m.acc < 1e-12  # float32 rounding of the mean gradient only
    other = _fit("incoherence", torch.randn(8, 16), torch.tensor([0, 1] * 4), j=3)
    assert other.acc > 1e-6  # the same code gives a positive bound on distinct samples


def test_bound_accumulates_the_code_formula():
    x, y = torch.randn(8, 16), torch.tensor([0, 1] * 4)
    m = _fit("incoherence", x, y, j=2, epochs=3)
    sums = [h["acc_sum"] for h in m.history[:-1]]
    assert np.all(np.diff(sums) >= 0)
    assert m.history[-1]["bound"] == pytest.approx(math.sqrt(m.acc) / (2 * math.sqrt(2)))
