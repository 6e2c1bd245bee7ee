"""Spec §9 A4–A6: sophia_soul and sophia_ref updates, GNB sampling, schedule, param groups, clipping."""

import copy
import pytest
import torch

from components.soul.model import lr_lambda
from components.soul.optimizers import SophiaRef, SophiaSoul, gnb_labels, param_groups

B1, B2, RHO, BS, LR, WD = 0.9, 0.95, 0.04, 5120.0, 0.01, 0.1


def one_step(m0, h0, g, theta0=None, wd=0.0, double=True):
    p = torch.nn.Parameter(torch.zeros_like(g) if theta0 is None else theta0.clone())
    opt = SophiaSoul([p], lr=LR, betas=(B1, B2), rho=RHO, weight_decay=wd, bs=BS, double_momentum=double)
    st = opt._state(p)
    st["exp_avg"].copy_(m0)
    st["hessian"].copy_(h0)
    p.grad = g.clone()
    before = p.detach().clone()
    opt.step()
    return p.detach(), before, opt, st


def expected_state(m0, h0, g, double=True):
    h1 = B2 * h0 + (1 - B2) * g * g
    m1 = B1 * m0 + (1 - B1) * g
    if double:
        m1 = B1 * m1 + (1 - B1) * g
    return m1, h1


def test_a4a_unclipped_regime_is_preconditioned_step():
    g = torch.tensor([1e-3, -2e-3, 5e-4], dtype=torch.float64)
    m0, h0 = torch.tensor([1e-3, -1e-3, 2e-4], dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    theta, before, opt, _ = one_step(m0, h0, g)
    m1, h1 = expected_state(m0, h0, g)
    want = LR * m1 / (RHO * BS * h1)
    assert torch.allclose(before - theta, want, rtol=1e-7, atol=0)
    assert opt.frac_clipped == 0.0


def test_a4b_clipped_regime_is_sign_step():
    m0 = torch.tensor([0.5, -0.3, 0.2], dtype=torch.float64)
    g = 1e-6 * torch.sign(m0)  # tiny gradient: ρ·bs·h ≈ 1e-10 ≪ |m| ≈ 0.3
    theta, before, opt, _ = one_step(m0, torch.full((3,), 1e-12, dtype=torch.float64), g)
    assert torch.allclose(before - theta, LR * torch.sign(m0), rtol=1e-12)
    assert opt.frac_clipped == 1.0


def test_a4c_double_momentum_equals_beta1_squared():
    g = torch.tensor([0.3, -1.0], dtype=torch.float64)
    m0 = torch.tensor([0.7, 0.2], dtype=torch.float64)
    _, _, opt, st = one_step(m0, torch.ones(2, dtype=torch.float64), g)
    assert torch.allclose(st["exp_avg"], B1 ** 2 * m0 + (1 - B1 ** 2) * g, rtol=1e-7)
    assert opt.beta1_effective == pytest.approx(0.81)
    _, _, opt1, st1 = one_step(m0, torch.ones(2, dtype=torch.float64), g, double=False)
    assert torch.allclose(st1["exp_avg"], B1 * m0 + (1 - B1) * g)


def test_a4d_decoupled_weight_decay():
    theta0 = torch.tensor([2.0, -3.0], dtype=torch.float64)
    zero = torch.zeros(2, dtype=torch.float64)
    theta, _, _, _ = one_step(zero, zero, zero, theta0=theta0, wd=WD)
    assert torch.allclose(theta, theta0 * (1 - LR * WD), rtol=1e-12)


def test_a4e_hessian_from_clipped_gradient_every_step():
    p = torch.nn.Parameter(torch.zeros(4))
    opt = SophiaSoul([p], lr=LR, betas=(B1, B2), rho=RHO, weight_decay=0.0, bs=BS)
    h_prev = torch.zeros(4)
    for k in range(3):
        p.grad = torch.tensor([30.0, -40.0, 0.0, 0.0]) * (k + 1)
        torch.nn.utils.clip_grad_norm_([p], 1.0)
        g = p.grad.clone()
        assert g.norm() <= 1.0 + 1e-6
        opt.step()
        h_prev = B2 * h_prev + (1 - B2) * g * g
        assert torch.allclose(opt.state[p]["hessian"], h_prev)


def test_a4f_frac_clipped_hand_count():
    g = torch.zeros(5, dtype=torch.float64)
    # after two EMAs with g = 0, m = 0.81·m0; h = 0.95·h0; ratio = 0.81|m0| / (204.8·0.95·h0)
    m0 = torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0], dtype=torch.float64)
    thresh = B1 ** 2 / (RHO * BS * B2)  # h0 below this → clipped
    h0 = torch.tensor([thresh / 2, thresh / 3, thresh * 2, thresh * 10, thresh / 10], dtype=torch.float64)
    _, _, opt, _ = one_step(m0, h0, g)
    assert opt.frac_clipped == pytest.approx(3 / 5)


def test_a5_ref_single_momentum_and_hessian_only_on_refresh():
    p = torch.nn.Parameter(torch.zeros(3))
    opt = SophiaRef([p], lr=LR, betas=(B1, B2), rho=RHO, weight_decay=0.0)
    p.grad = torch.tensor([0.1, -0.2, 0.3])
    opt.step(bs=10)
    assert torch.allclose(opt.state[p]["exp_avg"], (1 - B1) * p.grad)
    assert torch.count_nonzero(opt.state[p]["hessian"]) == 0  # step never touches h
    opt.update_hessian()
    assert torch.allclose(opt.state[p]["hessian"], (1 - B2) * p.grad ** 2)
    assert opt.param_groups[0]["bs"] == 10


def test_a5_refresh_every_k_steps_in_the_loop(monkeypatch, tiny_setup):
    from components.soul.unlearn import unlearn

    model, tok, forget, retain, u = tiny_setup
    calls, steps = [], []
    orig_update, orig_step = SophiaRef.update_hessian, SophiaRef.step

    def spy_update(self):
        calls.append(len(steps))
        return orig_update(self)

    def spy_step(self, closure=None, bs=None):
        steps.append(bs)
        return orig_step(self, closure, bs)

    monkeypatch.setattr(SophiaRef, "update_hessian", spy_update)
    monkeypatch.setattr(SophiaRef, "step", spy_step)
    u3 = u.model_copy(update={"sophia": u.sophia.model_copy(update={"hessian_every": 3}), "max_steps": 7})
    cfg = {"objective": "graddiff", "optimizer": "sophia_ref", "lr": 1e-3, "gamma": 1.0, "rho": 0.04, "seed": 0}
    unlearn(copy.deepcopy(model), tok, forget, retain, cfg, u3)
    # reference Sophia: refresh after the step at t ≡ k−1 (after steps 3 and 6 of 7), never before step 1
    assert calls == [3, 6] and len(steps) == 7
    assert all(isinstance(b, int) and b > 0 for b in steps)  # bs = loss tokens of the step
    calls.clear(), steps.clear()
    u_before = u3.model_copy(update={"sophia": u3.sophia.model_copy(update={"ref_schedule": "before"})})
    unlearn(copy.deepcopy(model), tok, forget, retain, cfg, u_before)
    assert calls == [0, 3, 6]  # the former schedule: before the step at t ≡ 0


def test_a5_gnb_gradient_clipped_before_hessian_update(monkeypatch, tiny_setup):
    """The reference clips the GNB gradient to grad_clip before update_hessian (issue 13)."""
    from components.soul.unlearn import unlearn

    model, tok, forget, retain, u = tiny_setup
    norms = []
    orig_update = SophiaRef.update_hessian

    def spy_update(self):
        grads = [p.grad for g in self.param_groups for p in g["params"] if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(x) for x in grads]))))
        return orig_update(self)

    monkeypatch.setattr(SophiaRef, "update_hessian", spy_update)
    tight = u.model_copy(update={"grad_clip": 1e-3, "max_steps": 4,
                                 "sophia": u.sophia.model_copy(update={"hessian_every": 2})})
    unlearn(model, tok, forget, retain, {"objective": "graddiff", "optimizer": "sophia_ref", "lr": 1e-3,
                                         "gamma": 1.0, "rho": 0.04, "seed": 0}, tight)
    assert len(norms) == 2 and max(norms) <= 1e-3 * (1 + 1e-4)


def test_a5_gnb_labels_follow_softmax():
    logits = torch.tensor([[2.0, 0.5, -1.0, 0.0]])
    gen = torch.Generator().manual_seed(0)
    draws = torch.stack([gnb_labels(logits, gen) for _ in range(10_000)]).flatten()
    freq = torch.bincount(draws, minlength=4).float() / draws.numel()
    assert torch.allclose(freq, torch.softmax(logits[0], -1), atol=0.02)


def test_a6_schedule_exact_values():
    f = lr_lambda(warmup=5, total=50)
    assert f(0) == 0.0 and f(5) == 1.0 and f(50) == 0.0
    assert f(2) == pytest.approx(0.4) and f(27) == pytest.approx(23 / 45)


def test_a6_no_decay_on_bias_and_layernorm(tiny_setup):
    model = tiny_setup[0]
    decay, no_decay = param_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all("bias" in names[id(p)] or "ln_" in names[id(p)] for p in no_decay["params"])
    assert not any("bias" in names[id(p)] or "ln_" in names[id(p)] for p in decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_a6_grad_norm_clipped_before_optimizer(monkeypatch, tiny_setup):
    from components.soul.unlearn import unlearn

    model, tok, forget, retain, u = tiny_setup
    norms = []
    orig = torch.optim.AdamW.step

    def spy(self, *a, **k):
        norms.append(float(torch.norm(torch.stack([p.grad.norm() for g in self.param_groups for p in g["params"]
                                                   if p.grad is not None]))))
        return orig(self, *a, **k)

    monkeypatch.setattr(torch.optim.AdamW, "step", spy)
    log = unlearn(model, tok, forget, retain, {"objective": "ga", "optimizer": "adamw", "lr": 1e-3, "gamma": 0.0,
                                               "rho": 0.0, "seed": 0}, u.model_copy(update={"max_steps": 4}))
    assert len(norms) == 4 and max(norms) <= 1.0 + 1e-6
    assert any(r["grad_norm_preclip"] > 1.0 for r in log)  # the clip was active, not vacuous
