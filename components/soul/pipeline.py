"""The ``soul`` pipeline: registered with the CLI, DVC and Prefect through this object."""

from components.core.pipeline import Pipeline
from components.soul.params import SoulParams

PIPELINE = Pipeline(
    slug="soul",
    title="SOUL: second-order optimization for LLM unlearning (Jia et al., EMNLP 2024)",
    params_model=SoulParams,
    steps_module="components.soul.steps",
    artifacts=("eval.parquet", "models/runs.csv"),
)
