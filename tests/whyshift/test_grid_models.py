import itertools

import numpy as np
import pytest

from components.core.errors import UserError
from components.core.params import load_config
from components.whyshift.fitting import accuracy_f1
from components.whyshift.grid import METHODS, expand_grid
from components.whyshift.models import TorchClassifier, XGBMethod, standardise_mask
from components.whyshift.params import WhyshiftParams


def grid(project, profile, *overrides):
    return expand_grid(load_config("whyshift", WhyshiftParams, project, profile, list(overrides)).params)


# spec §5.1 (full grid per setting) and §5.2 (default subset per setting)
PAPER_PER_METHOD = {"lr": 16, "mlp": 36, "svm": 144, "rf": 120, "gbm": 100, "xgb": 144, "lightgbm": 216,
                    "chi_dro": 216, "cvar_dro": 216, "chi_doro": 324, "cvar_doro": 324, "group_dro": 144,
                    "marginal_dro": 56, "jtt": 180, "suby": 36, "subg": 36, "rwy": 36, "rwg": 36, "dwr": 144,
                    "fair_in_dp": 36, "fair_in_eo": 36, "fair_in_error_parity": 36, "fair_post_threshold": 36,
                    "fair_post_exp": 36}
DEFAULT_PER_METHOD = {"lr": 2, "mlp": 4, "svm": 2, "rf": 2, "gbm": 2, "xgb": 8, "lightgbm": 4, "chi_dro": 8,
                      "cvar_dro": 8, "chi_doro": 8, "cvar_doro": 8, "group_dro": 8, "marginal_dro": 2, "jtt": 8,
                      "suby": 4, "subg": 4, "rwy": 4, "rwg": 4, "dwr": 2, "fair_in_dp": 1, "fair_in_eo": 1,
                      "fair_in_error_parity": 1, "fair_post_threshold": 1, "fair_post_exp": 1}


def per_method(configs):
    from collections import Counter

    settings = {c["setting_id"] for c in configs}
    counts = Counter(c["method"] for c in configs)
    return {m: n // len(settings) for m, n in counts.items()}


def test_grid_sizes_follow_the_declared_arithmetic(project):
    # basic + tree 776, DRO 1,280, imbalance 324, causal 144, fairness 180 = 2,704 per setting
    assert sum(PAPER_PER_METHOD.values()) == 776 + 1280 + 324 + 144 + 180 == 2704
    paper = grid(project, "paper")
    assert per_method(paper) == PAPER_PER_METHOD and len(paper) == 22 * 2704 == 59488
    default = grid(project, "default")
    assert sum(DEFAULT_PER_METHOD.values()) == 24 + 42 + 24 + 2 + 5 == 97
    assert per_method(default) == DEFAULT_PER_METHOD and len(default) == 7 * 97 == 679
    smoke = grid(project, "smoke")
    assert per_method(smoke) == dict.fromkeys(PAPER_PER_METHOD, 1) and len(smoke) == 24
    full = grid(project, "full")  # one whole paper setting: the measured slice behind the full-grid projection
    assert [c["config_id"] for c in full] == [c["config_id"] for c in paper if c["setting_id"] == 1]


def test_cli_prints_the_grid_size(project):
    from helpers import run_cli

    for profile, n in (("smoke", 24), ("default", 679), ("full", 2704), ("paper", 59488)):
        proc = run_cli(["grid", "whyshift", "--count", "--profile", profile], project)
        assert proc.returncode == 0 and proc.stdout.strip() == str(n), proc.stderr


def test_config_ids_unique_stable_and_default_inside_paper(project):
    default = grid(project, "default")
    ids = [c["config_id"] for c in default]
    assert len(set(ids)) == len(ids)
    assert ids == [c["config_id"] for c in grid(project, "default")]
    paper_ids = {c["config_id"] for c in grid(project, "paper")}
    # same key/value points ⇒ same id: every default config is a point of the paper grid
    assert {c["config_id"] for c in default} <= paper_ids
    assert {c["config_id"] for c in grid(project, "smoke")} <= {c["config_id"] for c in default}
    assert all(a["setting_id"] <= b["setting_id"] for a, b in itertools.pairwise(default))


def test_seed_changes_ids(project):
    assert grid(project, "smoke")[0]["config_id"] != grid(project, "smoke", "whyshift.seed=1")[0]["config_id"]


def test_unknown_hyper_parameter_is_a_user_error(project):
    with pytest.raises(UserError, match=r"whyshift.grid.methods.xgb.depth: not a hyper-parameter"):
        grid(project, "smoke", "whyshift.grid.methods.xgb.depth=[3]")


def test_metrics_are_computed_outside_the_methods():
    y = np.array([0, 0, 1, 1])
    acc, f1 = accuracy_f1(y, np.array([0, 1, 1, 1]))
    assert acc == 0.75 and f1 == pytest.approx((2 / 3 + 0.8) / 2)


def _toy(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(1, 3, n).astype(float), rng.normal(size=(n, 2)) * 5 + 3,
                         rng.integers(0, 2, n).astype(float)])
    y = ((X[:, 1] - 3) + (X[:, 2] - 3) > 0).astype(int)
    return X, y


def test_standardise_skips_binary_and_sensitive_columns():
    X, _ = _toy()
    assert standardise_mask(X).tolist() == [False, True, True, False]


@pytest.mark.parametrize("method,hp", [("lr", {"lr": 0.01, "batch_size": 64, "train_epochs": 5}),
                                       ("mlp", {"lr": 0.01, "hidden_size": 16, "dropout_ratio": 0.1,
                                                "batch_size": 64}),
                                       ("xgb", {"learning_rate": 0.3, "max_depth": 3})])
def test_methods_learn_and_are_deterministic(method, hp):
    from components.whyshift.params import TrainParams

    X, y = _toy()
    train = TrainParams(mlp_epochs=5, n_estimators=20)
    a = METHODS[method].build(hp, 3, train).fit(X[:400], y[:400])
    b = METHODS[method].build(hp, 3, train).fit(X[:400], y[:400])
    acc = (a.predict(X[400:]) == y[400:]).mean()
    assert acc > 0.85, acc
    np.testing.assert_array_equal(a.predict_proba(X[400:]), b.predict_proba(X[400:]))


def test_estimators_follow_sklearn_conventions():
    import pickle

    from sklearn.base import clone

    for est in (TorchClassifier(hidden_size=8), XGBMethod(max_depth=3)):
        assert clone(est).get_params() == est.get_params()
        assert pickle.loads(pickle.dumps(est)).get_params() == est.get_params()
