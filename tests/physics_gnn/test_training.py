"""Every registry model trains for a couple of steps through Lightning and rolls out (the models the
default profile does not train are selectable by `physics_gnn.<system>.models`); seeded reruns match."""

import json

import numpy as np
import pytest

from components.core.params import load_config
from components.physics_gnn.models import REGISTRY, applies_to
from components.physics_gnn.params import PhysicsGnnParams
from helpers import REPO

CASES = [(s, m) for s in ("spring", "pendulum") for m in REGISTRY if applies_to(m, s)]
ALL = {"spring": [m for s, m in CASES if s == "spring"], "pendulum": [m for s, m in CASES if s == "pendulum"]}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A tiny prepared folder: smoke sizes, 10 stored states, one zero-shot size each."""
    from components.physics_gnn.data import simulate, test_sizes, write_arrays

    overrides = ["physics_gnn.spring.n_states=10", "physics_gnn.pendulum.n_states=10",
                 "physics_gnn.train.epochs=1", "physics_gnn.train.batch_size=16",
                 f"physics_gnn.spring.models={json.dumps(ALL['spring'])}",
                 f"physics_gnn.pendulum.models={json.dumps(ALL['pendulum'])}"]
    p = load_config("physics_gnn", PhysicsGnnParams, REPO, "smoke", overrides).params
    root = tmp_path_factory.mktemp("pg") / "prepared"
    for system in ("spring", "pendulum"):
        write_arrays(root / system / "train.npz", simulate(p, system, "train", p.system(system).n_nodes_train
                                                            if system == "spring" else 3, 2))
        for n, k in test_sizes(p, system):
            write_arrays(root / system / f"test_N{n}.npz", simulate(p, system, "test", n, k))
    return p, root


@pytest.mark.parametrize("system,name", CASES)
def test_each_model_trains_and_rolls_out(prepared, tmp_path, system, name):
    from components.physics_gnn.evaluation import EvalJob, evaluate_one
    from components.physics_gnn.training import RunJob, train_one

    p, root = prepared
    res = train_one(RunJob(system, name, 0, str(root), str(tmp_path / "models"), p.model_dump()))
    assert res["steps"] >= 1 and np.isfinite(res["val_mse"]) and not res["guard_hit"]
    assert (tmp_path / "models" / system / name / "seed0.pt").exists()
    rows = evaluate_one(EvalJob(system, name, 0, str(root), str(tmp_path / "models"), str(tmp_path / "ev"),
                                p.model_dump()))
    assert [r["N"] for r in rows] == ([5, 10] if system == "spring" else [3, 4])
    for r in rows:
        assert 0 <= r["rollout_err"] <= 1 and 0 <= r["energy_err"] <= 1
        assert (tmp_path / "ev" / system / f"{name}_seed0_N{r['N']}_series.csv").exists()


def test_seeded_training_is_reproducible(prepared, tmp_path):
    from components.physics_gnn.training import RunJob, train_one

    p, root = prepared
    a = train_one(RunJob("spring", "HGNN", 0, str(root), str(tmp_path / "a"), p.model_dump()))
    b = train_one(RunJob("spring", "HGNN", 0, str(root), str(tmp_path / "b"), p.model_dump()))
    c = train_one(RunJob("spring", "HGNN", 1, str(root), str(tmp_path / "c"), p.model_dump()))
    assert a["val_mse"] == b["val_mse"] and a["best_train_loss"] == b["best_train_loss"]
    assert c["val_mse"] != a["val_mse"]
