"""Spec §9 A5 (robust losses) and A6 (method wrappers) for the 24 whyshift methods."""

import math
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from components.whyshift import losses as L
from components.whyshift.grid import METHODS
from components.whyshift.models import XGBMethod
from components.whyshift.params import TrainParams
from components.whyshift.reweighting import (
    DWR,
    JTT,
    dwr_loss_grad,
    rwg_weights,
    rwy_weights,
    subg_indices,
    suby_indices,
)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(previous)


def _losses(m=64, seed=0):
    return torch.tensor(np.random.default_rng(seed).exponential(size=m), dtype=torch.float64)


# ----------------------------------------------------------------------------------- A5: losses


def test_cvar_alpha_one_is_the_mean_and_one_over_m_the_max():
    ell = _losses(50)
    assert float((L.cvar_weights(ell, 1.0) * ell).sum()) == pytest.approx(float(ell.mean()), abs=1e-12)
    assert float((L.cvar_weights(ell, 1 / 50) * ell).sum()) == pytest.approx(float(ell.max()), abs=1e-12)
    # fractional α·m: ⌊α·m⌋ losses at 1/(α·m), the remainder on the next one; always a distribution
    p = L.cvar_weights(ell, 0.13)  # α·m = 6.5
    ranked = torch.sort(p[torch.argsort(ell, descending=True)], descending=True).values
    assert torch.allclose(ranked[:6], torch.full((6,), 1 / 6.5, dtype=torch.float64))
    assert float(ranked[6]) == pytest.approx(0.5 / 6.5) and float(p.sum()) == pytest.approx(1.0)


@pytest.mark.parametrize("size", [1e-3, 0.01, 0.1, 0.5, 1.0, 5.0])
def test_chi2_weights_are_on_the_simplex_inside_the_ball_and_worst_case(size):
    ell = _losses(64, seed=int(size * 1000))
    p = L.chi2_dro_weights(ell, size)
    assert float(p.min()) >= 0 and float(p.sum()) == pytest.approx(1.0, abs=1e-12)
    div = float(L.chi2_divergence(p))
    assert div <= size + 1e-6
    assert div == pytest.approx(size, abs=1e-6)  # the constraint is active at the maximiser
    # no feasible point does better: mixtures of uniform with random directions scaled into the ball
    rng = np.random.default_rng(1)
    robust = float((p * ell).sum())
    for _ in range(200):
        q = rng.dirichlet(np.ones(64) * rng.uniform(0.05, 5))
        dq = float(L.chi2_divergence(torch.tensor(q)))
        t = min(1.0, math.sqrt(size / dq)) if dq > 0 else 1.0
        q = (1 - t) / 64 + t * q
        assert float(L.chi2_divergence(torch.tensor(q))) <= size + 1e-9
        assert float(np.dot(q, ell.numpy())) <= robust + 1e-9


def test_chi2_small_size_is_the_mean_and_large_size_the_max():
    ell = _losses(64)
    p = L.chi2_dro_weights(ell, 1e-12)
    assert float((p * ell).sum()) == pytest.approx(float(ell.mean()), rel=1e-5)
    # m ≤ 1 + 2·size: the point mass on the arg-max is feasible and optimal
    p = L.chi2_dro_weights(ell[:8], 3.5)
    assert float(p.max()) == 1.0 and int(p.argmax()) == int(ell[:8].argmax())


@pytest.mark.parametrize("alpha,b", [(0.2, 100), (0.5, 64), (0.1, 50)])
def test_cvar_doro_without_outliers_is_cvar(alpha, b):
    ell = _losses(b)
    cvar = (L.cvar_weights(ell, alpha) * ell).sum()
    assert float(L.cvar_doro_loss(ell, alpha, 0.0)) == pytest.approx(float(cvar), abs=1e-12)


@pytest.mark.parametrize("eps", [0.01, 0.1, 0.2])
@pytest.mark.parametrize("kind", ["cvar", "chi2"])
def test_doro_drops_exactly_the_floor_eps_b_largest_losses(kind, eps):
    b, alpha = 100, 0.2
    fn = L.cvar_doro_loss if kind == "cvar" else L.chi2_doro_loss
    ell = _losses(b, seed=3).requires_grad_(True)
    fn(ell, alpha, eps).backward()
    n_drop = math.floor(eps * b)
    order = torch.argsort(ell.detach(), descending=True)
    grad = ell.grad[order]
    assert torch.all(grad[:n_drop] == 0)
    assert grad[n_drop] > 0  # the largest kept loss always counts
    # making the dropped losses larger changes nothing (outliers are ignored)
    bumped = ell.detach().clone()
    bumped[order[:n_drop]] += 100.0
    assert float(fn(bumped, alpha, eps)) == pytest.approx(float(fn(ell.detach(), alpha, eps)), abs=1e-12)
    if kind == "cvar":
        n1 = math.floor((eps + alpha * (1 - eps)) * b)
        assert torch.count_nonzero(grad).item() == n1 - n_drop
        assert torch.allclose(grad[n_drop:n1], torch.full((n1 - n_drop,), 1 / (alpha * (b - n_drop)),
                                                          dtype=torch.float64))


def test_chi2_doro_eta_is_the_minimiser():
    ell = _losses(80, seed=5)
    alpha, eps = 0.2, 0.1
    value = float(L.chi2_doro_loss(ell, alpha, eps))
    kept = torch.sort(ell, descending=True).values[8:].numpy()
    c = L.chi2_doro_constant(alpha)
    grid = np.linspace(kept.min() - 5, kept.max(), 20001)
    brute = min(c * math.sqrt(np.mean(np.maximum(kept - e, 0) ** 2)) + e for e in grid)
    assert value == pytest.approx(brute, abs=1e-5) and value <= brute + 1e-12


def test_group_dro_q_stays_on_the_simplex_and_rises_for_the_worse_group():
    obj = L.GroupDROLoss(n_groups=2, step=0.1)
    groups = torch.tensor([0] * 30 + [1] * 10)
    rng = np.random.default_rng(0)
    qs = [obj.q[1].item()]
    for _ in range(20):
        ell = torch.tensor(np.r_[rng.uniform(0, 1, 30), rng.uniform(1, 2, 10)], dtype=torch.float32)
        loss = obj(ell, groups)
        q = obj.q
        assert float(q.sum()) == pytest.approx(1.0, abs=1e-6) and float(q.min()) >= 0
        means = L.group_means(ell, groups, 2)
        assert float(loss) == pytest.approx(float((q * means).sum()), rel=1e-6)
        qs.append(q[1].item())
    assert all(b > a for a, b in zip(qs, qs[1:])) and qs[-1] > 0.7
    # a group absent from the batch has mean loss 0
    assert L.group_means(torch.tensor([1.0, 3.0]), torch.tensor([0, 0]), 2).tolist() == [2.0, 0.0]


def test_marginal_dro_huge_radius_leaves_b_at_zero():
    ell = _losses(40, seed=7)
    eta = ell.mean()
    s_distinct = torch.linspace(1, 2, 40, dtype=torch.float64)  # every pair has d_ij > 0
    B = L.marginal_dro_dual(ell, eta, s_distinct, radius=1e9, p_min=0.1)
    assert torch.count_nonzero(B).item() == 0
    # with the 1/2-coded sensitive column only cross-group transport is priced by R
    s = torch.tensor([1.0, 2.0] * 20, dtype=torch.float64)
    B = L.marginal_dro_dual(ell, eta, s, radius=1e9, p_min=0.1)
    cross = (s[:, None] != s[None, :])
    assert torch.count_nonzero(B[cross]).item() == 0


def test_marginal_dro_projection_keeps_b_nonnegative_and_lowers_the_bound():
    ell = _losses(40, seed=8)
    eta = ell.mean() * 0.5
    s = torch.linspace(1, 2, 40, dtype=torch.float64)
    B = L.marginal_dro_dual(ell, eta, s, radius=0.01, p_min=0.1)
    assert float(B.min()) >= 0 and torch.count_nonzero(B).item() > 0
    # without the projection some entries would go negative: the projection is active
    d = (s[:, None] - s[None, :]).abs()
    B0 = torch.zeros(40, 40, dtype=torch.float64, requires_grad=True)
    grad, = torch.autograd.grad(L.marginal_dro_bound(ell, eta, B0, d, 0.01, 0.1), B0)
    assert float(grad.max()) > 0
    zero = L.marginal_dro_bound(ell, eta, torch.zeros(40, 40, dtype=torch.float64), d, 0.01, 0.1)
    assert float(L.marginal_dro_bound(ell, eta, B, d, 0.01, 0.1)) < float(zero)


# ----------------------------------------------------------------------------------- A6: wrappers


def _toy(n=300, seed=0):
    """Column 0 = sensitive 1/2 (70/30), 3 continuous, a 3-level one-hot; ~35% positives."""
    rng = np.random.default_rng(seed)
    g = np.where(rng.random(n) < 0.7, 1.0, 2.0)
    cont = rng.normal(size=(n, 3)) * [1, 3, 0.5] + [0, 10, -2]
    cat = np.eye(3)[rng.integers(0, 3, n)]
    logit = 1.5 * cont[:, 0] + 0.5 * (cont[:, 1] - 10) - 0.6 + 0.8 * (g == 2) + cat @ [0.5, -0.5, 0]
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * logit + 1))).astype(int)
    return np.column_stack([g, cont, cat]), y


def test_suby_is_class_balanced_without_replacement():
    _, y = _toy()
    idx = suby_indices(y, np.random.default_rng(0))
    counts = np.bincount(y[idx])
    assert counts[0] == counts[1] == np.bincount(y).min()
    assert len(np.unique(idx)) == len(idx)  # no row drawn twice
    minority = np.argmin(np.bincount(y))
    assert set(np.flatnonzero(y == minority)) <= set(idx)


def test_subg_resamples_each_group_to_the_smallest_with_replacement():
    X, _ = _toy()
    idx = subg_indices(X[:, 0], np.random.default_rng(0))
    counts = np.unique(X[idx, 0], return_counts=True)[1]
    assert counts.tolist() == [np.unique(X[:, 0], return_counts=True)[1].min()] * 2
    assert len(np.unique(idx)) < len(idx)  # with replacement: duplicates occur


def test_rwy_weights_sum_to_n_with_ratio_p_over_one_minus_p():
    _, y = _toy()
    w = rwy_weights(y)
    p = y.mean()
    assert w.sum() == pytest.approx(len(y))
    assert w[y == 0][0] / w[y == 1][0] == pytest.approx(p / (1 - p))
    assert w[y == 0].sum() == pytest.approx(w[y == 1].sum())  # both classes carry equal mass


def test_rwg_weights_are_proportional_to_min_count_over_group_count():
    X, _ = _toy()
    g = X[:, 0]
    w = rwg_weights(g)
    counts = {v: np.sum(g == v) for v in (1.0, 2.0)}
    ratio = w[g == 1][0] / w[g == 2][0]
    assert ratio == pytest.approx((min(counts.values()) / counts[1]) / (min(counts.values()) / counts[2]))
    assert w.sum() == pytest.approx(len(g)) and len(np.unique(w)) == 2


def test_jtt_second_stage_weights_are_lambda_exactly_on_first_stage_errors():
    X, y = _toy()
    jtt = JTT(lambda_up=20, max_depth=2, n_estimators=5, seed=3).fit(X, y)
    first = XGBMethod(max_depth=2, n_estimators=5, seed=3).fit(X, y)
    errors = first.predict(X) != y
    assert errors.sum() > 10
    np.testing.assert_array_equal(jtt.errors_, errors)
    np.testing.assert_array_equal(jtt.sample_weight_, np.where(errors, 20.0, 1.0))
    refit = XGBMethod(max_depth=2, n_estimators=5, seed=3).fit(X, y, sample_weight=np.where(errors, 20.0, 1.0))
    np.testing.assert_array_equal(jtt.predict_proba(X), refit.predict_proba(X))


def test_dwr_weights_have_mean_one_and_decorrelate():
    X, y = _toy()
    dwr = DWR(l1=1, l2=1, n_estimators=5, seed=0).fit(X, y)
    w = dwr.sample_weight_
    assert w.mean() == pytest.approx(1.0, abs=1e-12) and w.min() > 0
    x = torch.tensor(X)
    uniform = float(L.weighted_offdiag_cov(x, torch.ones(len(X), dtype=torch.float64)))
    weighted = float(L.weighted_offdiag_cov(x, torch.tensor(w)))
    assert weighted < uniform, (weighted, uniform)


def test_dwr_gradient_matches_autograd_of_the_spec_objective():
    X, _ = _toy(n=120, seed=4)
    v = np.random.default_rng(2).uniform(0.5, 1.5, 120)
    loss, grad = dwr_loss_grad(X, v, 0.7, 0.3)
    vt = torch.tensor(v, requires_grad=True)
    ref = L.dwr_objective(torch.tensor(X), vt * vt, 0.7, 0.3)
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(grad, vt.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_dwr_keeps_every_feature_when_none_is_selected():
    X, y = _toy()
    dwr = DWR(threshold=1e9, n_estimators=5).fit(X, y)
    assert dwr.empty_selection_ == 1 and dwr.selected_.tolist() == list(range(X.shape[1]))
    assert DWR(n_estimators=5).fit(X, y).empty_selection_ == 0


SPEC_KEYS = {  # §5.1 grid keys (jtt's "lambda" is the estimator's lambda_up: a Python keyword)
    "lr": {"lr", "batch_size", "train_epochs"},
    "mlp": {"lr", "hidden_size", "dropout_ratio", "batch_size"},
    "svm": {"C", "kernel", "gamma", "n_components"},
    "rf": {"n_estimators", "min_samples_leaf", "max_features", "ccp_alpha"},
    "gbm": {"learning_rate", "n_estimators", "max_depth"},
    "xgb": {"learning_rate", "max_depth", "min_split_loss", "colsample_bytree", "max_bin", "grow_policy"},
    "lightgbm": {"learning_rate", "n_estimators", "reg_lambda", "min_child_samples", "max_depth",
                 "colsample_bytree"},
    "chi_dro": {"size"}, "cvar_dro": {"size"}, "chi_doro": {"alpha", "eps"}, "cvar_doro": {"alpha", "eps"},
    "group_dro": {"group_weights_step_size"}, "marginal_dro": {"radius", "p_min"},
    "jtt": {"lambda_up"}, "suby": set(), "subg": set(), "rwy": set(), "rwg": set(),
    "dwr": {"l1", "l2", "threshold"},
    "fair_in_dp": set(), "fair_in_eo": set(), "fair_in_error_parity": set(), "fair_post_threshold": set(),
    "fair_post_exp": set(),
}
MLP_BASE = {"lr", "hidden_size", "dropout_ratio", "batch_size"}
XGB_BASE = {"learning_rate", "max_depth", "min_split_loss", "colsample_bytree"}
FAMILY = {"basic": ["lr", "mlp", "svm"], "tree": ["rf", "gbm", "xgb", "lightgbm"],
          "DRO": ["chi_dro", "cvar_dro", "chi_doro", "cvar_doro", "group_dro", "marginal_dro"],
          "imbalance": ["jtt", "suby", "subg", "rwy", "rwg"], "causal": ["dwr"],
          "fairness": ["fair_in_dp", "fair_in_eo", "fair_in_error_parity", "fair_post_threshold", "fair_post_exp"]}
MODEL_CLASS = {"linear": ["lr"], "kernel": ["svm"],
               "mlp": ["mlp", "chi_dro", "cvar_dro", "chi_doro", "cvar_doro", "group_dro", "marginal_dro"]}


def test_registry_matches_the_spec():
    assert sorted(METHODS) == sorted(SPEC_KEYS)
    for family, names in FAMILY.items():
        assert all(METHODS[n].family == family for n in names)
    for name, m in METHODS.items():
        expected = next((c for c, names in MODEL_CLASS.items() if name in names), "tree")
        assert m.model_class == expected, name
        keys = set(m.hp_names())
        extra = MLP_BASE if name in FAMILY["DRO"] and name != "marginal_dro" else set()
        extra |= XGB_BASE if name in FAMILY["imbalance"] + FAMILY["causal"] + FAMILY["fairness"] else set()
        assert SPEC_KEYS[name] | extra <= keys, (name, keys)
    assert set(METHODS["marginal_dro"].hp_names()) == {"radius", "p_min"}


TOY_HP = {  # one point of each method's grid, small enough for 300 rows
    "lr": {"lr": 0.01, "batch_size": 64, "train_epochs": 2},
    "mlp": {"lr": 0.01, "hidden_size": 16, "dropout_ratio": 0.1, "batch_size": 64},
    "svm": {"C": 1.0, "kernel": "poly", "gamma": 0.5, "n_components": 64},
    "rf": {"n_estimators": 16, "min_samples_leaf": 2, "max_features": "sqrt", "ccp_alpha": 0.0},
    "gbm": {"learning_rate": 0.1, "n_estimators": 16, "max_depth": 2},
    "xgb": {"learning_rate": 0.3, "max_depth": 3, "min_split_loss": 0.0, "colsample_bytree": 0.7},
    "lightgbm": {"learning_rate": 0.1, "n_estimators": 16, "reg_lambda": 1.0, "min_child_samples": 16,
                 "max_depth": 4, "colsample_bytree": 0.5},
    "chi_dro": {"size": 0.5, "lr": 0.01, "hidden_size": 16, "dropout_ratio": 0.1, "batch_size": 64},
    "cvar_dro": {"size": 0.3, "lr": 0.01, "hidden_size": 16, "dropout_ratio": 0.1, "batch_size": 64},
    "chi_doro": {"alpha": 0.2, "eps": 0.1, "lr": 0.01, "hidden_size": 16, "dropout_ratio": 0.1, "batch_size": 64},
    "cvar_doro": {"alpha": 0.2, "eps": 0.1, "lr": 0.01, "hidden_size": 16, "dropout_ratio": 0.1, "batch_size": 64},
    "group_dro": {"group_weights_step_size": 0.1, "lr": 0.01, "hidden_size": 16, "dropout_ratio": 0.1,
                  "batch_size": 64},
    "marginal_dro": {"radius": 10, "p_min": 0.2},
    "jtt": {"lambda_up": 5, "learning_rate": 0.3, "max_depth": 3},
    "dwr": {"l1": 1, "l2": 1, "learning_rate": 0.3, "max_depth": 3},
    **{n: {"learning_rate": 0.3, "max_depth": 3} for n in ["suby", "subg", "rwy", "rwg", *FAMILY["fairness"]]},
}
TOY_TRAIN = TrainParams(mlp_epochs=20, n_estimators=10, fair_max_iter=5)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_fits_predicts_deterministically_clones_and_pickles(name):
    X, y = _toy()
    Xe, ye = _toy(n=200, seed=1)
    a = METHODS[name].build(TOY_HP[name], 7, TOY_TRAIN)
    assert clone(a).get_params() == a.get_params()
    pred = a.fit(X, y).predict(Xe)
    assert pred.shape == (200,) and set(np.unique(pred)) <= {0, 1}
    assert np.mean(pred == ye) > 0.78, np.mean(pred == ye)  # learned: the majority rate is 0.71
    b = METHODS[name].build(TOY_HP[name], 7, TOY_TRAIN).fit(X, y)
    np.testing.assert_array_equal(b.predict(Xe), pred)
    if hasattr(a, "predict_proba"):
        np.testing.assert_array_equal(a.predict_proba(Xe), b.predict_proba(Xe))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict(Xe), pred)
    assert clone(a).get_params() == a.get_params()


def test_robust_objectives_reach_training_through_the_batch():
    X, y = _toy()
    gdro = METHODS["group_dro"].build(TOY_HP["group_dro"], 0, TOY_TRAIN).fit(X, y)
    q = gdro.group_weights_
    assert q.sum() == pytest.approx(1.0, abs=1e-6) and abs(q[0] - 0.5) > 1e-3
    mdro = METHODS["marginal_dro"].build(TOY_HP["marginal_dro"], 0, TOY_TRAIN).fit(X, y)
    assert bool(mdro.module_.objective.started) and mdro.module_.objective.eta.item() != 0.0
    # a different objective gives a different model from the same seed and data
    mlp = METHODS["mlp"].build(TOY_HP["mlp"], 0, TOY_TRAIN).fit(X, y)
    dro = METHODS["cvar_dro"].build({**TOY_HP["mlp"], "size": 0.1}, 0, TOY_TRAIN).fit(X, y)
    assert not np.array_equal(mlp.predict_proba(X), dro.predict_proba(X))


def test_svm_feature_map_is_fitted_on_train_only():
    from sklearn.kernel_approximation import PolynomialCountSketch, RBFSampler

    X, y = _toy()
    poly = METHODS["svm"].build(TOY_HP["svm"], 0, TOY_TRAIN).fit(X, y)
    assert isinstance(poly.features_, PolynomialCountSketch) and poly.features_.degree == 2
    rbf = METHODS["svm"].build({**TOY_HP["svm"], "kernel": "rbf"}, 0, TOY_TRAIN).fit(X, y)
    assert isinstance(rbf.features_, RBFSampler)
    before = rbf.features_.random_weights_.copy()
    np.testing.assert_array_equal(rbf.predict(X[:50]), rbf.predict(X[:50]))
    np.testing.assert_array_equal(rbf.features_.random_weights_, before)


def test_fair_reductions_predict_the_argmax_of_the_pmf():
    X, y = _toy()
    for name in ("fair_in_dp", "fair_in_eo", "fair_in_error_parity", "fair_post_exp"):
        est = METHODS[name].build(TOY_HP[name], 0, TOY_TRAIN).fit(X, y)
        np.testing.assert_array_equal(est.predict(X), est.model_._pmf_predict(X).argmax(axis=1))
        assert est.model_.max_iter == TOY_TRAIN.fair_max_iter
    exp = METHODS["fair_post_exp"].build({}, 0, TOY_TRAIN).fit(X, y)
    assert exp.model_.constraints.eps == 0.02  # DemographicParity(difference_bound=0.02)


def test_batch_loader_gives_the_per_row_loaders_batches_bit_for_bit():
    """The sliced loader (budget) must not change any fit: same rows, same order, same generator draws."""
    from torch.utils.data import DataLoader, TensorDataset

    from components.whyshift.models import batch_loader

    ds = TensorDataset(torch.arange(301, dtype=torch.float64)[:, None], torch.arange(301) % 2)
    plain = DataLoader(ds, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(7), num_workers=0)
    fast = batch_loader(ds, 64, 7)
    for _ in range(2):  # two epochs: the generator advances identically
        for (xa, ya), (xb, yb) in zip(plain, fast, strict=True):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)
