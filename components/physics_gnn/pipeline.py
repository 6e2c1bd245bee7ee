"""The ``physics_gnn`` pipeline: registered with the CLI, DVC and Prefect through this object."""

from components.core.pipeline import Pipeline
from components.physics_gnn.params import PhysicsGnnParams

PIPELINE = Pipeline(
    slug="physics_gnn",
    title="Physics-informed GNNs for dynamical systems (Thangamuthu et al., NeurIPS 2022 D&B)",
    params_model=PhysicsGnnParams,
    steps_module="components.physics_gnn.steps",
    artifacts=("evaluate/summary.csv",),
)
