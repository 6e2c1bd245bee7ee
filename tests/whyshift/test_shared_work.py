"""Shared work in the grid (stacked torch variants, DWR's cached weights) gives each config the result
it gets when fitted alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from components.whyshift.grid import fit_units
from components.whyshift.models import TorchClassifier
from components.whyshift.params import TrainParams
from components.whyshift.reweighting import DWR
from components.whyshift.robust import ChiDORO, ChiDRO, CVaRDORO, CVaRDRO, GroupDRO, MarginalDRO
from components.whyshift.stacked import fit_stacked, stack_key


def _data(n=600, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:, 0] = rng.integers(1, 3, size=n)  # sensitive column coded 1/2
    X[:, 1] = rng.integers(0, 2, size=n)  # a binary column (not standardised)
    y = (X[:, 2] + 0.5 * X[:, 3] * X[:, 0] + rng.normal(size=n) > 0).astype(np.int64)
    return X, y


@pytest.mark.parametrize("cls, variants, common", [
    (TorchClassifier, [{}, {}, {}], dict(hidden_size=16, dropout_ratio=0.1, lr=1e-2, batch_size=64)),
    (ChiDRO, [{"size": 0.1}, {"size": 1.0}], dict(hidden_size=16, dropout_ratio=0.1, lr=1e-2, batch_size=64)),
    (CVaRDRO, [{"size": 0.1}, {"size": 0.5}], dict(hidden_size=8, dropout_ratio=0.0, lr=1e-3, batch_size=128)),
    (CVaRDORO, [{"alpha": 0.2, "eps": 0.01}, {"alpha": 0.5, "eps": 0.1}],
     dict(hidden_size=16, dropout_ratio=0.1, lr=1e-2, batch_size=64)),
    (GroupDRO, [{"group_weights_step_size": 0.01}, {"group_weights_step_size": 0.2}],
     dict(hidden_size=16, dropout_ratio=0.1, lr=1e-2, batch_size=64)),
    (ChiDORO, [{"alpha": 0.2, "eps": 0.01}, {"alpha": 0.5, "eps": 0.2}],
     dict(hidden_size=16, dropout_ratio=0.0, lr=1e-2, batch_size=64)),
    (MarginalDRO, [{"radius": 0.1, "p_min": 0.01}, {"radius": 10, "p_min": 0.5}], dict(batch_size=128)),
])
def test_stacked_fit_matches_fitting_alone(cls, variants, common):
    X, y = _data()
    alone = [cls(**v, **common, train_epochs=3, seed=10 + i) for i, v in enumerate(variants)]
    stacked = [cls(**v, **common, train_epochs=3, seed=10 + i) for i, v in enumerate(variants)]
    for est in alone:
        est.fit(X, y)
    fit_stacked(stacked, X, y)
    for a, b in zip(alone, stacked):
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))  # bit-identical, not close
        for pa, pb in zip(a.module_.state_dict().values(), b.module_.state_dict().values()):
            assert torch.equal(pa, pb)
    probs = [b.predict_proba(X)[:, 1] for b in stacked]
    assert not np.array_equal(probs[0], probs[1])  # each model its own seed and hyper-parameters


def test_stack_keys():
    assert stack_key(TorchClassifier(hidden_size=0)) is None  # LR: nothing to share
    assert stack_key(ChiDRO(size=0.1, lr=1e-3)) == stack_key(ChiDRO(size=1.0, lr=1e-3, seed=5))
    assert stack_key(ChiDRO(lr=1e-3)) != stack_key(ChiDRO(lr=1e-2))
    with pytest.raises(ValueError, match="one stack key"):
        fit_stacked([ChiDRO(lr=1e-3), ChiDRO(lr=1e-2)], *_data())


def test_dwr_shares_weights_but_not_results_across_xgb_variants():
    X, y = _data()
    a = DWR(l1=1, l2=1, max_depth=2, n_estimators=5).fit(X, y)
    b = DWR(l1=1, l2=1, max_depth=4, n_estimators=5).fit(X, y)
    c = DWR(l1=0.1, l2=1, max_depth=2, n_estimators=5).fit(X, y)
    np.testing.assert_array_equal(a.sample_weight_, b.sample_weight_)  # same (X, l1, l2): one weight fit
    assert not np.allclose(a.sample_weight_, c.sample_weight_)
    a.sample_weight_[:] = 0  # an estimator's copy, not the cache's
    assert DWR(l1=1, l2=1, n_estimators=5).fit(X, y).sample_weight_.sum() > 0


def test_fit_units_group_shared_work_per_setting():
    train = TrainParams(mlp_epochs=2, n_estimators=5)
    cfgs = [{"config_id": f"c{i}", "setting_id": s, "method": m, "hp": hp, "seed": i}
            for i, (s, m, hp) in enumerate([
                (1, "chi_dro", {"size": 0.1, "lr": 1e-3}), (1, "chi_dro", {"size": 1.0, "lr": 1e-3}),
                (2, "chi_dro", {"size": 0.1, "lr": 1e-3}), (1, "chi_dro", {"size": 0.1, "lr": 1e-2}),
                (1, "dwr", {"l1": 1, "l2": 1, "max_depth": 4}), (1, "dwr", {"l1": 1, "l2": 1, "max_depth": 6}),
                (1, "xgb", {"max_depth": 4}), (1, "xgb", {"max_depth": 4})])]
    units = [[c["config_id"] for c in u] for u in fit_units(cfgs, train)]
    assert units == [["c0", "c1"], ["c2"], ["c3"], ["c4", "c5"], ["c6"], ["c7"]]
