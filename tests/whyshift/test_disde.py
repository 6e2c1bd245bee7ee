"""DISDE estimator, ground truth and dominance labels (spec §3.4, acceptance check A4).

Sampling noise sets what a single gauss8 run can show: at n = 5,000 per domain the total
(Acc_P − Acc_Q on independent samples) and yx have a standard deviation of about 0.8 pp (measured
over 20 seeds), so the spec's ±1 pp / ±1.5 pp bounds are asserted on the mean over the three
calibration seeds, each seed is held to 3 standard deviations (2.5 pp), and estimator consistency
against the truth is asserted separately at n = 20,000.
"""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

import components.whyshift.disde as disde_mod
from components.core.seeding import derive_seed
from components.whyshift.disde import (
    DEFAULT_CLASSIFIER,
    DisdeTerms,
    cross_fit_propensity,
    disde,
    disde_truth,
    dominance_ratio,
    expected_calibration_error,
    shared_weights,
    stratified_folds,
)
from components.whyshift.generator import DEFAULT_KNOBS, gauss8
from components.whyshift.settings import build_setting

SCENARIOS = ("pure_x", "pure_x_orth", "pure_yx", "null")
SEEDS = (0, 1, 2)
TERMS = ("total", "x_p2s", "yx", "x_s2q")


def _model(X, y, seed):
    return xgb.XGBClassifier(n_estimators=50, max_depth=4, n_jobs=1, tree_method="hist",
                             random_state=seed).fit(X, y)


def _gauss8_run(scenario: str, seed: int, n: int):
    """(estimate, truth) for one scenario: f is an XGB trained on its own P sample."""
    P, Q = gauss8(scenario, seed)
    f = _model(*P.sample(5000, derive_seed(seed, "gauss8-train")), seed)
    Xp, yp = P.sample(n, derive_seed(seed, "gauss8-P"))
    Xq, yq = Q.sample(n, derive_seed(seed, "gauss8-Q"))
    est = disde(Xp, f.predict(Xp) == yp, Xq, f.predict(Xq) == yq, n_folds=4,
                classifier=DEFAULT_CLASSIFIER, seed=seed)
    truth = disde_truth(P, Q, f.predict, n_mc=50_000, seed=derive_seed(seed, "gauss8-truth"))
    return est, truth


@pytest.fixture(scope="module")
def runs():
    return {(sc, s): _gauss8_run(sc, s, 5000) for sc in SCENARIOS for s in SEEDS}


def _mean(runs, scenario, attr, which=0):
    return float(np.mean([getattr(runs[scenario, s][which].terms if which == 0 else
                                  runs[scenario, s][which], attr) for s in SEEDS]))


# -------------------------------------------------------------------------------- bookkeeping

def test_terms_sum_to_total_and_weights_to_one(runs):
    for est, truth in runs.values():
        for t in (est.terms, truth):
            assert abs(t.x_p2s + t.yx + t.x_s2q - t.total) <= 1e-12
        assert abs(est.w_p.sum() - 1) <= 1e-12 and abs(est.w_q.sum() - 1) <= 1e-12
        assert (est.w_p > 0).all() and (est.w_q > 0).all()
        assert est.propensity_p.shape == (5000,) and est.alpha == 0.5
        assert ((est.propensity_p > 0) & (est.propensity_p < 1)).all()


def test_weights_equal_exact_density_ratios_given_the_true_propensity():
    P, Q = gauss8("pure_x", 0)
    Xp, _ = P.sample(3000, 1)
    Xq, _ = Q.sample(1000, 2)
    alpha = 0.25
    def pi(X):  # noqa: E306 - exact P(T = Q | x) for the pooled sample
        lp, lq = P.log_density(X), Q.log_density(X)
        return alpha * np.exp(lq) / (alpha * np.exp(lq) + (1 - alpha) * np.exp(lp))
    w_p, w_q = shared_weights(pi(Xp), pi(Xq), alpha)
    r_p = 1 / (1 + np.exp(P.log_density(Xp) - Q.log_density(Xp)))       # q/(p+q)
    r_q = 1 / (1 + np.exp(Q.log_density(Xq) - P.log_density(Xq)))       # p/(p+q)
    np.testing.assert_allclose(w_p, r_p / r_p.sum(), rtol=1e-10)
    np.testing.assert_allclose(w_q, r_q / r_q.sum(), rtol=1e-10)


def test_no_point_is_scored_by_a_model_that_trained_on_it(monkeypatch):
    """Spy on every fold model: the rows it fits and the rows it scores never overlap."""
    fits, scores = [], []

    class Spy(xgb.XGBClassifier):
        def fit(self, X, y, **kw):
            fits.append({r.tobytes() for r in X})
            return super().fit(X, y, **kw)

        def predict_proba(self, X, **kw):
            scores.append({r.tobytes() for r in X})
            return super().predict_proba(X, **kw)

    monkeypatch.setattr(disde_mod, "make_classifier",
                        lambda params, seed: Spy(n_estimators=5, max_depth=2, n_jobs=1))
    P, Q = gauss8("pure_x", 3)
    Xp, _ = P.sample(600, 1)
    Xq, _ = Q.sample(400, 2)
    res = disde(Xp, np.ones(600), Xq, np.ones(400), n_folds=4, classifier={}, seed=0)
    assert len(fits) == len(scores) == 4
    for trained, scored in zip(fits, scores):
        assert not trained & scored
        assert len(trained) + len(scored) == 1000
    assert set().union(*scores) == {r.tobytes() for r in np.vstack([Xp, Xq])}
    for k in range(4):   # fold_of records who scored what, and folds are stratified by domain
        assert scores[k] == {r.tobytes() for r in np.vstack([Xp, Xq])[res.fold_of == k]}
        assert (res.fold_of[:600] == k).sum() == 150 and (res.fold_of[600:] == k).sum() == 100


def test_cross_fitting_hides_memorisation():
    """A classifier that memorises its training rows separates identical domains in-sample
    (AUC ~ 1) but not out of fold (AUC ~ 0.5)."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    X, t = rng.standard_normal((1200, 8)), np.r_[np.zeros(600), np.ones(600)]
    greedy = {"n_estimators": 60, "max_depth": 10, "learning_rate": 1.0, "min_child_weight": 0}
    in_sample = disde_mod.make_classifier(greedy, 0).fit(X, t).predict_proba(X)[:, 1]
    pi, fold = cross_fit_propensity(X, t, n_folds=4, classifier=greedy, seed=0)
    assert roc_auc_score(t, in_sample) > 0.99
    assert abs(roc_auc_score(t, pi) - 0.5) < 0.05
    np.testing.assert_array_equal(np.bincount(fold), [300] * 4)
    np.testing.assert_array_equal(stratified_folds(t, 4, 1), stratified_folds(t, 4, 1))


def test_expected_calibration_error():
    rng = np.random.default_rng(0)
    prob = rng.random(200_000)
    label = (rng.random(200_000) < prob).astype(float)
    assert expected_calibration_error(prob, label) < 0.005
    assert expected_calibration_error(np.full(1000, 0.7), np.r_[np.ones(500), np.zeros(500)]) == \
        pytest.approx(0.2)
    assert expected_calibration_error(prob ** 3, label) > 0.1


# ---------------------------------------------------------------------------------- gauss8

def test_pure_x(runs):
    for s in SEEDS:
        t = runs["pure_x", s][0].terms
        assert t.total >= 0.05 and t.yx_frac <= 0.15 and abs(t.yx) <= 0.025
        assert runs["pure_x", s][1].yx == 0.0          # truth: identical P(Y|x) -> exactly 0
    assert abs(_mean(runs, "pure_x", "yx")) <= 0.01


def test_pure_yx(runs):
    for s in SEEDS:
        est, truth = runs["pure_yx", s]
        assert 0.9 <= est.terms.yx_frac <= 1.1 and 0.9 <= truth.yx_frac <= 1.1
        assert est.terms.label() == truth.label() == "Y|X"
        assert 0.14 <= truth.total <= 0.18                  # spec: ≈ 15–16 pp


def test_pure_x_orth_stays_below_the_5pp_filter(runs):
    for s in SEEDS:
        est, truth = runs["pure_x_orth", s]
        assert est.terms.total < 0.05 and truth.total < 0.05
    terms = [runs["pure_x_orth", s][0].terms for s in SEEDS]
    assert dominance_ratio(terms) == "none 0/0"


def test_null(runs):
    for s in SEEDS:
        est, truth = runs["null", s]
        assert max(est.weight_cv) < 0.2
        assert all(abs(getattr(est.terms, k)) <= 0.025 for k in TERMS)
        assert all(abs(getattr(truth, k)) <= 0.005 for k in TERMS)
    assert all(abs(_mean(runs, "null", k)) <= 0.01 for k in TERMS)


def test_estimates_track_the_ground_truth(runs):
    for sc in SCENARIOS:
        errs = np.array([[getattr(runs[sc, s][0].terms, k) - getattr(runs[sc, s][1], k)
                          for k in TERMS] for s in SEEDS])
        assert np.abs(errs).max() <= 0.025, (sc, errs)          # each seed: 3 sd
        assert np.abs(errs.mean(axis=0)).max() <= 0.015, (sc, errs)  # 3-seed mean: spec ±1.5 pp


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_estimates_are_consistent_at_larger_n(scenario):
    est, truth = _gauss8_run(scenario, 0, 20_000)
    for k in TERMS:
        assert abs(getattr(est.terms, k) - getattr(truth, k)) <= 0.015, k


# -------------------------------------------------------------------------------- dominance

def test_labels_and_dominance_ratio():
    yx = DisdeTerms.from_risks(0.85, 0.84, 0.74, 0.73)      # total 12, yx 10
    x = DisdeTerms(0.10, 0.06, 0.01, 0.03)
    small = DisdeTerms(0.03, 0.0, 0.03, 0.0)
    better = DisdeTerms(-0.08, -0.02, -0.06, 0.0)
    assert yx.total == pytest.approx(0.12) and yx.label() == "Y|X"
    assert yx.yx_frac == pytest.approx(10 / 12) and yx.x_frac == pytest.approx(2 / 12)
    assert x.label() == "X" and small.label() == "Y|X" and better.label() == "neither"
    assert DisdeTerms(0.0, 0.0, 0.0, 0.0).label() == "neither"
    assert np.isnan(DisdeTerms(0.0, 0.1, -0.1, 0.0).yx_frac)
    assert dominance_ratio([yx, yx, x, small, better]) == "Y|X 2/3"
    assert dominance_ratio([x, x, yx]) == "X 2/3"
    assert dominance_ratio([x, yx]) == "Y|X 1/2"           # README's tie convention (setting 9)
    assert dominance_ratio([small, better]) == "none 0/0"
    assert dominance_ratio([small], min_total=0.0) == "Y|X 1/1"
    assert yx.to_dict()["label"] == "Y|X"


# ------------------------------------------------------------------------- synthetic settings

N_DOMAINS = {"syn_income": 16, "syn_mobility": 16, "syn_pubcov": 16, "syn_accident": 13, "syn_taxi": 4}
ROWS = {"train": 2000, "id_val": 500, "id_test": 2000, "target": 2000}


def _main_pair(setting_id: int):
    """Reference XGB (§3.6: lr 0.3, depth 6, 50 trees) and the main pair's (estimate, truth)."""
    d = build_setting(setting_id, DEFAULT_KNOBS, N_DOMAINS, ROWS, 0)
    F = d.feature_names
    f = xgb.XGBClassifier(n_estimators=50, max_depth=6, learning_rate=0.3, n_jobs=1,
                          tree_method="hist", random_state=0).fit(d.train[F].to_numpy(), d.train["y"])
    Xp, Xq = d.id_test[F].to_numpy(), d.targets[d.main_target][F].to_numpy()
    est = disde(Xp, f.predict(Xp) == d.id_test["y"].to_numpy(), Xq,
                f.predict(Xq) == d.targets[d.main_target]["y"].to_numpy(),
                n_folds=4, classifier=DEFAULT_CLASSIFIER, seed=0)
    truth = disde_truth(d.population(d.source), d.population(d.main_target), f.predict,
                        n_mc=20_000, seed=1)
    return est, truth


def test_yx_world_main_pair_is_yx_dominated_by_the_truth():
    """syn_taxi NYC -> BOG (setting 10) under the default knobs."""
    est, truth = _main_pair(10)
    assert truth.total > 0.05 and truth.yx_frac > 0.8 and truth.label() == "Y|X"
    assert est.terms.label() == "Y|X"
    assert all(abs(getattr(est.terms, k) - getattr(truth, k)) <= 0.03 for k in TERMS)


def test_accident_main_pair_is_x_dominated_by_the_truth():
    """syn_accident CA -> OR (setting 16): covariates move (a_x 0.6), the conditional barely (a_y 0.1). Pure
    covariate shifts with overlap degrade the reference model by only ~1-5 pp (issue 12, README)."""
    _, truth = _main_pair(16)
    assert truth.total > 0 and truth.x_frac > 0.8 and truth.label() == "X"
