"""The ``causality`` pipeline, declared once: each step with what it reads, writes and is parameterised by.

The Prefect flow, the CLI, the DVC stages (``paperflows dvc``) and the MLflow artifacts all come from here.
"""

from components.causality import steps
from components.causality.params import CausalityParams
from components.core.pipeline import Pipeline, Plot, Step

prepare = Step(
    steps.prepare,
    writes={"prepared": "data/prepared"},
    params=("seed", "data"),
)
train = Step(
    steps.train,
    reads={"prepared": "data/prepared"},
    writes={"effects": "data/train/effects.parquet", "cate": "data/train/cate", "graphs": "data/train/graphs.json",
            "pairs": "data/train/pairs.parquet", "studies": "data/train/studies.parquet"},
    params=("seed", "data", "effects", "discovery"),
    artifacts=("effects",),
)
evaluate = Step(
    steps.evaluate,
    reads={"prepared": "data/prepared", "effects": "data/train/effects.parquet", "cate": "data/train/cate",
           "graphs": "data/train/graphs.json", "pairs": "data/train/pairs.parquet",
           "studies": "data/train/studies.parquet"},
    writes={"effects": "data/evaluate/effects.csv", "effects_summary": "data/evaluate/effects_summary.csv",
            "lalonde": "data/evaluate/lalonde.csv", "discovery": "data/evaluate/discovery.csv",
            "pairs": "data/evaluate/pairs.csv", "studies": "data/evaluate/studies.csv",
            "claims_eval": "data/evaluate/claims_eval.json"},
    params=("seed", "data.jobs", "discovery.random_graphs", "evaluate"),
    artifacts=("effects", "discovery", "pairs"),
)
report = Step.report(
    steps.report,
    reads={"prepared": "data/prepared", "graphs": "data/train/graphs.json",
           "effects": "data/evaluate/effects.csv", "effects_summary": "data/evaluate/effects_summary.csv",
           "lalonde": "data/evaluate/lalonde.csv", "discovery": "data/evaluate/discovery.csv",
           "pairs": "data/evaluate/pairs.csv", "studies": "data/evaluate/studies.csv",
           "claims_eval": "data/evaluate/claims_eval.json"},
    params=("seed",),
    plots=(Plot("effect_errors", x="error", y="estimator", template="bar_horizontal",
                title="causality: error of each estimator on each dataset (√PEHE out of sample, or ε_ATT)",
                x_label="error (mean over replications)", y_label="dataset · estimator"),),
)

PIPELINE = Pipeline(
    slug="causality",
    title="A survey of learning causality with data (Guo et al., ACM CSUR 2020): effect and discovery benchmark",
    params_model=CausalityParams,
    steps=(prepare, train, evaluate, report),
)
