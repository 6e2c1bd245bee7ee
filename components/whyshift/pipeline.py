"""The ``whyshift`` pipeline, declared once: each step with what it reads, writes and is parameterised by.

The Prefect flow, the CLI, the DVC stages (``paperflows dvc``) and the MLflow artifacts all come from here.
"""

from components.core.pipeline import Pipeline, Plot, Step
from components.whyshift import steps
from components.whyshift.grid import expand_grid
from components.whyshift.params import WhyshiftParams

prepare = Step(
    steps.prepare,
    writes={"prepared": "data/prepared"},
    params=("seed", "data", "grid"),
)
train = Step(
    steps.train,
    reads={"prepared": "data/prepared"},
    writes={"results": "data/train/results.parquet", "target_metrics": "data/train/target_metrics.parquet"},
    params=("seed", "data", "grid", "train"),
    artifacts=("results", "target_metrics"),
)
evaluate = Step(
    steps.evaluate,
    reads={"prepared": "data/prepared", "results": "data/train/results.parquet"},
    writes={"evaluate": "data/evaluate"},
    params=("seed", "data.settings", "train.n_estimators", "evaluate"),
    artifacts=("evaluate",),
)
report = Step.report(
    steps.report,
    reads={"evaluate": "data/evaluate", "results": "data/train/results.parquet"},
    params=("data.source", "evaluate.disde.min_total"),
    plots=(Plot("id_vs_ood", x="id_test_acc", y="ood_acc_main", template="scatter",
                title="whyshift: ID-test vs main-target accuracy, every configuration of every setting",
                x_label="ID-test accuracy", y_label="main-target accuracy"),),
)

PIPELINE = Pipeline(
    slug="whyshift",
    title="WhyShift: a language for distribution shifts on tabular data (Liu et al., NeurIPS 2023 D&B)",
    params_model=WhyshiftParams,
    steps=(prepare, train, evaluate, report),
    grid=expand_grid,
)
