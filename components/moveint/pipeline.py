"""The ``moveint`` pipeline, declared once: each step with what it reads, writes and is parameterised by.

The Prefect flow, the CLI, the DVC stages (``paperflows dvc``) and the MLflow artifacts all come from here.
"""

from components.core.pipeline import Pipeline, Plot, Step
from components.moveint import steps
from components.moveint.params import MoveintParams

prepare = Step(
    steps.prepare,
    writes={"prepared": "data/prepared"},
    params=("seed", "data", "paper"),
)
train = Step(
    steps.train,
    reads={"prepared": "data/prepared"},
    writes={"models": "data/models"},
    params=("seed", "data.val_per_action", "model", "train", "baselines"),
)
evaluate = Step(
    steps.evaluate,
    reads={"prepared": "data/prepared", "models": "data/models"},
    writes={"evaluate": "data/evaluate"},
    params=("seed", "data.val_per_action", "model", "train.models", "train.seeds", "baselines"),
    artifacts=("evaluate",),
)
report = Step.report(
    steps.report,
    reads={"prepared": "data/prepared", "models": "data/models", "evaluate": "data/evaluate"},
    params=("train.models", "train.seeds"),
    plots=(Plot("mse_by_model", x="mse_mean", y="model", template="bar_horizontal",
                title="moveint: robot-trajectory MSE ×100 of each model (mean over actions and seeds)",
                x_label="MSE ×100", y_label="model"),),
)

PIPELINE = Pipeline(
    slug="moveint",
    title="MoVEInt: mixture of variational experts for human-robot interaction (Prasad et al., RA-L 2024)",
    params_model=MoveintParams,
    steps=(prepare, train, evaluate, report),
)
