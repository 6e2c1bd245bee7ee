"""The ``mi_generalization`` pipeline, declared once: each step with what it reads, writes and is parameterised by.

The Prefect flow, the CLI, the DVC stages (``paperflows dvc``) and the MLflow artifacts all come from here.
"""

from components.core.pipeline import Pipeline, Plot, Step
from components.mi_generalization import steps
from components.mi_generalization.params import MiGeneralizationParams

prepare = Step(
    steps.prepare,
    writes={"prepared": "data/prepared"},
    params=("seed", "data", "e2.runs", "e3", "e4.repeats", "e5.repeats", "e5.noise_var"),
)
train = Step(
    steps.train,
    reads={"prepared": "data/prepared"},
    writes={"models": "data/models"},
    params=("seed", "data.bound.noise_var", "data.benchmark.source", "data.benchmark.datasets",
            "e1", "e2", "e3", "e4", "e5"),
)
evaluate = Step(
    steps.evaluate,
    reads={"models": "data/models"},
    writes={"runs": "data/evaluate/runs.csv", "summary": "data/evaluate/summary.json"},
    params=("seed", "evaluate", "data.bound.noise_var", "data.benchmark.source", "data.benchmark.datasets",
            "e1", "e2", "e3", "e4.repeats", "e5.repeats", "e5.activations"),
    artifacts=("runs",),
)
report = Step.report(
    steps.report,
    reads={"models": "data/models", "runs": "data/evaluate/runs.csv", "summary": "data/evaluate/summary.json"},
    params=("seed",),
    plots=(Plot("bound_vs_gap", x="gap_01", y="b_xr", template="scatter",
                title="mi_generalization: Xu–Raginsky plug-in bound vs the observed 0-1 gap, per E2 run",
                x_label="observed generalisation gap (0-1 loss, i.i.d. test)", y_label="B_XR"),),
)

PIPELINE = Pipeline(
    slug="mi_generalization",
    title="A probabilistic representation of DNNs: mutual information and generalisation (Lan & Barner, 2021)",
    params_model=MiGeneralizationParams,
    steps=(prepare, train, evaluate, report),
)
