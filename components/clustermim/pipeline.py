"""The ``clustermim`` pipeline, declared once: each step with what it reads, writes and is parameterised by."""

from components.clustermim import steps
from components.clustermim.params import ClustermimParams
from components.core.pipeline import Pipeline, Plot, Step

prepare = Step(
    steps.prepare,
    writes={"prepared": "data/prepared"},
    params=("seed", "data", "tokenizers", "pretrain.conditions"),
)
train = Step(
    steps.train,
    reads={"prepared": "data/prepared"},
    writes={"models": "data/models"},
    params=("seed", "data", "tokenizers", "model", "pretrain"),
)
evaluate = Step(
    steps.evaluate,
    reads={"prepared": "data/prepared", "models": "data/models"},
    writes={"eval": "data/evaluate/eval.parquet", "ft": "data/evaluate/ft.parquet"},
    params=("seed", "model", "pretrain", "finetune", "probe"),
    artifacts=("eval",),
)
report = Step.report(
    steps.report,
    reads={"prepared": "data/prepared", "models": "data/models", "eval": "data/evaluate/eval.parquet",
           "ft": "data/evaluate/ft.parquet"},
    params=("seed", "pretrain", "claims"),
    plots=(Plot("lp_by_condition", x="lp_top1", y="condition", template="bar_horizontal",
                title="clustermim: linear-probe top-1 of each pretraining condition (mean over seeds)",
                x_label="linear-probe top-1 (CLS)", y_label="condition"),),
)

PIPELINE = Pipeline(
    slug="clustermim",
    title="On the Role of Discrete Tokenization in Visual Representation Learning (ClusterMIM; Du, Wang & Wang, "
          "ICLR 2024)",
    params_model=ClustermimParams,
    steps=(prepare, train, evaluate, report),
)
