"""The ``grammar`` pipeline: registered with the CLI, DVC and Prefect through this object."""

from components.core.pipeline import Pipeline
from components.grammar.params import GrammarParams

PIPELINE = Pipeline(
    slug="grammar",
    title="GRAMMAR: grounded, modular assessment of closed-domain RAG systems (Li, Liu & Gao, 2024)",
    params_model=GrammarParams,
    steps_module="components.grammar.steps",
    artifacts=("evaluate/metrics.csv", "evaluate/diagnosis.json"),
)
