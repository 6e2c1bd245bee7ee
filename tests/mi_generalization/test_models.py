"""Model shapes, init, in-loop MI records, the simulators' row layout, and seeded reproducibility (§9.13)."""

import math

import numpy as np
import pytest
import torch

from components.mi_generalization.models import MLP, LitInfoMLP, single_batch
from components.mi_generalization.training import Job, simulator_rows, train_one


def test_mlp_shapes_bias_and_init():
    net = MLP((1024, 8, 6, 2), hidden_bias=False, init="glorot_uniform")
    acts = net(torch.randn(5, 32, 32))
    assert [a.shape for a in acts] == [(5, 8), (5, 6), (5, 2)]
    assert [l.bias is None for l in net.layers] == [True, True, False]
    assert (acts[0] >= 0).all() and (acts[1] >= 0).all()
    bound = math.sqrt(6 / (1024 + 8))
    assert net.layers[0].weight.abs().max() <= bound
    he = MLP((1024, 8, 6, 2), hidden_bias=True, init="he_normal")
    assert all(l.bias is not None and (l.bias == 0).all() for l in he.layers)
    assert float(he.layers[0].weight.detach().std()) == pytest.approx(math.sqrt(2 / 1024), rel=0.1)
    tanh = MLP((4, 3, 2), hidden_bias=False, init="trunc_normal", activation="tanh")
    assert float(tanh.layers[0].weight.detach().abs().max()) <= 0.002
    with pytest.raises(ValueError):
        MLP((4, 2), False, "nope")


def test_info_mlp_records_mi_every_epoch_before_the_update():
    from components.core.training import make_trainer

    torch.manual_seed(0)
    x = torch.randn(32, 16)
    y = torch.tensor([0, 1] * 16)
    m = LitInfoMLP((16, 5, 4, 2), False, "glorot_uniform", 0.01, (x, y), (x, y))
    make_trainer(4, progress=False).fit(m, single_batch(x, y))
    assert [h["epoch"] for h in m.history] == [0, 1, 2, 3, 4] and m.history[-1]["final"]
    for h in m.history:
        assert 0 <= h["i_xt_t1"] <= math.log2(5) + 1e-9 and 0 <= h["i_yt_yhat"] <= 1 + 1e-9
        assert h["i_xbar_t_t1"] == pytest.approx(h["i_xt_t1"] - h["i_yt_t1"])
    assert m.history[0]["train_loss"] != m.history[1]["train_loss"]  # epoch 0 = before any update


@pytest.mark.parametrize("kind", ["incoherence", "cmi"])
def test_simulator_rows_layout(kind):
    lay = simulator_rows(64, kind, seed=3)
    rows = lay["rows"]
    if kind == "incoherence":
        assert len(rows) == 32 and len(set(rows)) == 32 and 0 <= lay["j"] < 32
    else:
        assert len(rows) == 33 and len(set(rows)) == 33 and lay["j"] == 31 and lay["u"] in (1, 2)
    assert simulator_rows(64, kind, seed=3)["rows"].tolist() == rows.tolist()


def test_seeded_training_is_reproducible(tmp_path):
    """§9.13: the same job twice gives the same metrics (to 1e-6) on CPU."""
    from components.core.params import load_config
    from components.mi_generalization import data as D
    from components.mi_generalization.params import MiGeneralizationParams
    from helpers import REPO

    cfg = load_config("mi_generalization", MiGeneralizationParams, REPO, "smoke",
                      ["mi_generalization.e2.epochs=6"])
    s = D.bound_set(32, 64, 8.0, "batch_mean", 128, 0)
    D.save_npz(tmp_path / "prepared" / "bound" / "var8_run0.npz", s)
    finals = []
    for k in range(2):
        job = Job("e2", 0, str(tmp_path / "prepared"), str(tmp_path / f"out{k}"), cfg.params.model_dump(),
                  kind="cmi", var=8.0)
        finals.append(train_one(job)["final"])
    for key, v in finals[0].items():
        assert finals[1][key] == pytest.approx(v, abs=1e-6), key
    assert (tmp_path / "out0" / "e2/var8/adam-cmi/run0_curves.csv").exists()
