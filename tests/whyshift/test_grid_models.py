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


def test_grid_sizes_follow_the_declared_arithmetic(project):
    # first slice: lr 2 + mlp 2·2 + xgb 2·2·2 = 14 per setting
    assert len(grid(project, "smoke")) == 1 * (1 + 1 + 1)
    assert len(grid(project, "default")) == 7 * (2 + 4 + 8)
    assert len(grid(project, "paper")) == 22 * (16 + 36 + 144)


def test_config_ids_unique_stable_and_default_inside_paper(project):
    default = grid(project, "default")
    ids = [c["config_id"] for c in default]
    assert len(set(ids)) == len(ids)
    assert ids == [c["config_id"] for c in grid(project, "default")]
    paper_ids = {c["config_id"] for c in grid(project, "paper")}
    # same key/value points ⇒ same id: every default config is a point of the paper grid
    assert {c["config_id"] for c in default} <= paper_ids
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
