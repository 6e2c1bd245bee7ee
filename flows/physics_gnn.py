"""Prefect flow ``physics_gnn``: the pipeline's steps in order, each a task (declared in components/physics_gnn/pipeline.py)."""

from __future__ import annotations

from prefect import flow

from components.core.prefect_adapter import PrefectRun
from components.physics_gnn.pipeline import PIPELINE, evaluate, prepare, report, train
from flows.types import Profile, StepName


@flow(name="physics_gnn", flow_run_name="physics_gnn · {profile}", description=PIPELINE.title,
      log_prints=False)
def physics_gnn(profile: Profile = "default", steps: list[StepName] = [],
                overrides: list[str] = []) -> dict:
    """Run the physics-informed GNN pipeline.

    Args:
        profile: smoke (seconds), default (minutes, checks the claims), full (larger, hours)
            or paper (real scale).
        steps: subset of steps to run, in pipeline order; empty = all four.
        overrides: params overrides as `physics_gnn.key.path=value` (e.g. `physics_gnn.seed=1`).
    """
    with PrefectRun(PIPELINE, profile, steps, overrides) as run:
        run.step(prepare)
        run.step(train)
        run.step(evaluate)
        run.step(report)
    return run.summary
