"""The step declarations name real params keys and the reads/writes the steps use."""

import pytest

from components.core.params import load_config
from components.physics_gnn.params import PhysicsGnnParams
from components.physics_gnn.pipeline import PIPELINE, evaluate, prepare, report, train
from helpers import REPO


@pytest.mark.parametrize("step", PIPELINE.steps, ids=PIPELINE.step_names)
def test_declared_params_exist(step):
    p = load_config("physics_gnn", PhysicsGnnParams, REPO, "default", []).params
    for key in step.params:
        node = p
        for part in key.split("."):
            assert hasattr(node, part), f"{step.name}: {key} is not a physics_gnn params key"
            node = getattr(node, part)


def test_learner_keys_do_not_rerun_the_simulation():
    """Adding a model or changing its rollout step must not regenerate the data (DVC params of prepare)."""
    assert not [k for k in prepare.params if k.endswith((".models", ".rollout_dt")) or k.startswith(("train", "model"))]
    assert {"spring.models", "pendulum.models", "train"} <= set(train.params)
    assert {"spring.rollout_dt", "pendulum.rollout_dt", "train.seeds"} <= set(evaluate.params)
    assert "train.max_train_seconds" not in evaluate.params and "train.lr" in report.params


def test_reads_are_earlier_outputs_and_the_summary_is_an_artifact():
    assert PIPELINE.producer(report.reads["runs"]) == "train"
    assert PIPELINE.producer(report.reads["summary"]) == "evaluate"
    assert evaluate.artifacts == ("summary",)


def test_every_draw_follows_the_seed():
    """`--set physics_gnn.seed=<seed+1000>` (the stability check) is a disjoint block: other initial
    conditions and another train/validation split; the same seed reproduces them exactly."""
    import numpy as np

    from components.physics_gnn.data import simulate
    from components.physics_gnn.training import split_indices

    def spring(seed):
        p = load_config("physics_gnn", PhysicsGnnParams, REPO, "smoke",
                        [f"physics_gnn.seed={seed}", "physics_gnn.spring.n_states=3"]).params
        return simulate(p, "spring", "train", 5, 2)["init_pos"]

    assert np.array_equal(spring(0), spring(0)) and not np.allclose(spring(0), spring(1000))
    assert np.array_equal(split_indices(40, 0.75, 0, "spring")[0], split_indices(40, 0.75, 0, "spring")[0])
    assert not np.array_equal(split_indices(40, 0.75, 0, "spring")[0], split_indices(40, 0.75, 1000, "spring")[0])
