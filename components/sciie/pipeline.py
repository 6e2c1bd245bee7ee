"""The ``sciie`` pipeline, declared once: each step with what it reads, writes and is parameterised by."""

from components.core.pipeline import Pipeline, Plot, Step
from components.sciie import steps
from components.sciie.params import SciieParams

prepare = Step(
    steps.prepare,
    writes={"prepared": "data/prepared"},
    params=("seed", "generator", "data", "runs", "train.seeds", "model.max_width", "paper"),
)
train = Step(
    steps.train,
    reads={"prepared": "data/prepared"},
    writes={"models": "data/models"},
    params=("seed", "runs", "model", "train", "kg"),
)
evaluate = Step(
    steps.evaluate,
    reads={"prepared": "data/prepared", "models": "data/models"},
    writes={"metrics": "data/metrics"},
    params=("seed", "runs", "train.seeds", "kg", "stats"),
)
report = Step.report(
    steps.report,
    reads={"prepared": "data/prepared", "models": "data/models", "metrics": "data/metrics"},
    params=("stats", "trimmed"),
    plots=(Plot("delta_f1", x="mean_delta", y="claim", template="bar_horizontal",
                title="sciie: multi-task minus single-task F1 per claim (mean over seeds)",
                x_label="Δ F1 (multi-task − single-task)", y_label="claim"),),
)

PIPELINE = Pipeline(
    slug="sciie",
    title="Multi-Task Identification of Entities, Relations, and Coreference for Scientific Knowledge Graph "
          "Construction (SciIE / SciERC; Luan et al., EMNLP 2018)",
    params_model=SciieParams,
    steps=(prepare, train, evaluate, report),
)
