"""The ``physics_gnn`` pipeline, declared once: each step with what it reads, writes and is parameterised by.

The Prefect flow, the CLI, the DVC stages (``paperflows dvc``) and the MLflow artifacts all come from here.
"""

from components.core.pipeline import Pipeline, Plot, Step
from components.physics_gnn import steps
from components.physics_gnn.params import PhysicsGnnParams


def _keys(system: str, names: str) -> tuple[str, ...]:
    return tuple(f"{system}.{name}" for name in names.split())


# What the simulators read (prepare): every system key except the learner's (models, rollout_dt).
SIMULATION_KEYS = (
    _keys("spring", "n_nodes_train potential init_box v_max dt stride n_states n_train_traj n_test_traj "
                    "n_test_traj_zero_shot zero_shot_N")
    + _keys("pendulum", "n_links_train g l m method dt_gt store_dt n_states n_train_traj n_test_traj "
                        "n_test_traj_zero_shot zero_shot_N")
    + _keys("nbody", "dt stride n_states"))
MODEL_LISTS = ("spring.models", "pendulum.models", "nbody.models")
# What the rollouts read (evaluate): test sizes, physics for the metrics, the stored and learned time steps.
ROLLOUT_KEYS = (
    _keys("spring", "n_nodes_train potential dt stride n_test_traj n_test_traj_zero_shot zero_shot_N rollout_dt")
    + _keys("pendulum", "n_links_train g l m store_dt n_test_traj n_test_traj_zero_shot zero_shot_N rollout_dt")
    + _keys("nbody", "dt stride rollout_dt"))

prepare = Step(
    steps.prepare,
    writes={"prepared": "data/prepared"},
    params=("seed", "systems", *SIMULATION_KEYS),
)
train = Step(
    steps.train,
    reads={"prepared": "data/prepared"},
    writes={"models": "data/models"},  # <system>/<model>/seed<k>.pt, loss curves, runs.json
    params=("seed", "systems", *MODEL_LISTS, "pendulum.m", "model", "train", "noise"),
)
evaluate = Step(
    steps.evaluate,
    reads={"prepared": "data/prepared", "models": "data/models"},
    writes={"rollouts": "data/evaluate/rollouts", "summary": "data/evaluate/summary.csv"},
    params=("systems", *MODEL_LISTS, *ROLLOUT_KEYS, "model", "train.seeds"),
    artifacts=("summary",),
)
report = Step.report(
    steps.report,
    reads={"rollouts": "data/evaluate/rollouts", "summary": "data/evaluate/summary.csv",
           "runs": "data/models/runs.json"},
    params=("systems", "spring.n_nodes_train", "spring.zero_shot_N", "spring.n_train_traj", "pendulum.n_links_train",
            "pendulum.n_train_traj", "train.seeds", "train.epochs", "train.batch_size", "train.lr", "train.fit_nmse",
            "train.check_every"),
    plots=(Plot("rollout_error_vs_size", x="N", y="rollout_err", template="scatter",
                title="physics_gnn: rollout error of every model against system size (trained size and zero-shot)",
                x_label="system size N", y_label="rollout error (geometric mean over trajectories)"),),
)

PIPELINE = Pipeline(
    slug="physics_gnn",
    title="Physics-informed GNNs for dynamical systems (Thangamuthu et al., NeurIPS 2022 D&B)",
    params_model=PhysicsGnnParams,
    steps=(prepare, train, evaluate, report),
)
