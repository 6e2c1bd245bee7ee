"""The ``causality`` pipeline: registered with the CLI, DVC and Prefect through this object."""

from components.core.pipeline import Pipeline
from components.causality.params import CausalityParams

PIPELINE = Pipeline(
    slug="causality",
    title="A survey of learning causality with data (Guo et al., ACM CSUR 2020): effect and discovery benchmark",
    params_model=CausalityParams,
    steps_module="components.causality.steps",
    artifacts=("evaluate/effects.csv", "evaluate/discovery.csv", "evaluate/pairs.csv"),
)
