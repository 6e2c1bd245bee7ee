"""The ``whyshift`` pipeline: registered with the CLI, DVC and Prefect through this object."""

from components.core.pipeline import Pipeline
from components.whyshift.params import WhyshiftParams

PIPELINE = Pipeline(
    slug="whyshift",
    title="WhyShift: a language for distribution shifts on tabular data (Liu et al., NeurIPS 2023 D&B)",
    params_model=WhyshiftParams,
    steps_module="components.whyshift.steps",
    grid="components.whyshift.grid:expand_grid",
    artifacts=("train/results.parquet", "train/target_metrics.parquet", "evaluate/disde.parquet"),
)
