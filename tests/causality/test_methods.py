"""Estimators and discovery on seeded synthetic data with known truth (spec §9 acceptance 14, 18; NOTEARS)."""

import numpy as np
import pytest

from components.causality import discovery, scm
from components.causality.estimators import REGISTRY, Data
from components.causality.params import EffectParams, ScmKind

EFFECT_PARAMS = EffectParams.model_validate({
    "xgb": {"n_estimators": 50, "max_depth": 3, "learning_rate": 0.1}, "forest_trees": 40, "cv": 2,
    "ps_clip": 0.01,
    "representation": {"hidden": 16, "layers": 1, "head_hidden": 8, "epochs": 30, "lr": 0.01,
                       "weight_decay": 0.0, "alpha": 1.0, "val_share": 0.2}})


def _scm(n, hidden=0.0, seed=0):
    kind = ScmKind(outcome="linear", noise="gaussian", hidden=hidden, overlap=0.8)
    return Data.from_frame(scm.effect_scm(kind, n, 10, np.random.default_rng(seed), test_share=0.1))


def test_ols_recovers_the_effect_and_naive_is_biased():
    d = _scm(20000)
    assert abs(REGISTRY["ols"](d, EFFECT_PARAMS, 0).ate - 2.0) < 0.05
    assert REGISTRY["naive"](d, EFFECT_PARAMS, 0).ate - 2.0 > 0.5  # x1 + x2 − x3 raises both T and Y


def test_hidden_confounder_biases_adjustment():
    d = _scm(5000, hidden=1.0)
    assert REGISTRY["ols"](d, EFFECT_PARAMS, 0).ate - 2.0 > 0.5


@pytest.mark.parametrize("method", ["ipw", "aipw", "t_learner", "ps_match"])
def test_backdoor_estimators_are_close_on_scm_lin(method):
    d = _scm(4000, seed=1)
    fit = REGISTRY[method](d, EFFECT_PARAMS, 0)
    assert abs(fit.ate - 2.0) < 0.3, fit.ate
    assert fit.tau.shape == d.y.shape


def test_cate_learner_tracks_heterogeneity():
    kind = ScmKind(outcome="nonlinear", noise="laplace", hidden=0.0, overlap=0.8)
    frame = scm.effect_scm(kind, 4000, 10, np.random.default_rng(3), test_share=0.2)
    d = Data.from_frame(frame)
    tau_hat = REGISTRY["t_learner"](d, EFFECT_PARAMS, 0).tau
    assert np.corrcoef(tau_hat, frame.tau)[0, 1] > 0.6


def test_tarnet_and_cfr_run_and_differ():
    d = _scm(800, seed=2)
    a = REGISTRY["tarnet"](d, EFFECT_PARAMS, 0)
    b = REGISTRY["cfr"](d, EFFECT_PARAMS, 0)
    assert np.isfinite(a.tau).all() and np.isfinite(b.tau).all()
    assert not np.allclose(a.tau, b.tau)
    assert abs(a.ate - 2.0) < 1.0


class DiscoveryP:
    alpha, lingam_threshold, notears_lambda, notears_threshold, notears_max_iter, anm_max_points = \
        0.01, 0.1, 0.1, 0.3, 100, 100


def test_notears_recovers_a_small_known_dag():
    b = np.zeros((4, 4))
    b[0, 1], b[1, 2], b[0, 3], b[3, 2] = 1.5, -1.0, 1.2, 0.8
    x = scm.linear_sem(b, 2000, "gauss", np.random.default_rng(0))
    w = discovery.notears_linear(x, 0.1, 0.3)
    assert scm.is_acyclic(w)
    assert ((w != 0).astype(int) == (b != 0).astype(int)).all(), w


def test_lingam_orients_under_nongaussian_noise_only():
    rng = np.random.default_rng(4)
    b = scm.random_dag(8, rng)
    truth = (b != 0).astype(int)
    from components.causality.metrics import directed_prf

    f1 = {noise: directed_prf(discovery.direct_lingam(scm.linear_sem(b, 2000, noise, np.random.default_rng(5)),
                                                      DiscoveryP, 0), truth)["f1"] for noise in ("unif", "gauss")}
    assert f1["unif"] >= 0.8 and f1["unif"] - f1["gauss"] >= 0.2, f1


def test_pc_scored_against_the_cpdag():
    b = np.zeros((3, 3))
    b[0, 2], b[1, 2] = 1.0, 1.0  # a collider: its CPDAG is fully oriented
    x = scm.linear_sem(b, 3000, "gauss", np.random.default_rng(0))
    est = discovery.pc(x, DiscoveryP, 0)
    cpdag = discovery.dag_to_cpdag((b != 0).astype(int))
    assert (cpdag == (b != 0)).all()
    from components.causality.metrics import shd

    assert shd(est, cpdag) == 0


def test_bivariate_methods_on_a_clear_nonlinear_pair():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 500)
    y = x ** 3 + 0.05 * rng.uniform(-1, 1, 500)
    assert discovery.reci(x, y, DiscoveryP, 0) == 1
    assert discovery.igci(x, y, DiscoveryP, 0) == 1 and discovery.igci(y, x, DiscoveryP, 0) == -1
