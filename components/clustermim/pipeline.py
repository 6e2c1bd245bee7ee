"""The ``clustermim`` pipeline, declared once: each step with what it reads, writes and is parameterised by."""

from components.clustermim import steps
from components.clustermim.params import ClustermimParams
from components.core.pipeline import Pipeline, Step

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
)

PIPELINE = Pipeline(
    slug="clustermim",
    title="On the Role of Discrete Tokenization in Visual Representation Learning (ClusterMIM; Du, Wang & Wang, "
          "ICLR 2024)",
    params_model=ClustermimParams,
    steps=(prepare, train, evaluate, report),
)
