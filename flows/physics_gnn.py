"""Prefect flow ``physics_gnn``: prepare → train → evaluate → report, each step a task."""

from __future__ import annotations

from prefect import flow

from components.core.prefect_adapter import run_in_prefect
from components.physics_gnn.pipeline import PIPELINE
from flows.types import Profile, Step


@flow(name="physics_gnn", description=PIPELINE.title, log_prints=False)
def physics_gnn(profile: Profile = "default", steps: list[Step] | None = None,
                overrides: list[str] | None = None) -> dict:
    """Run the ``physics_gnn`` pipeline (its spec: shared/papers/physics_gnn.md).

    Args:
        profile: smoke (seconds), default (minutes, checks the claims) or paper (real scale).
        steps: subset of steps to run, in pipeline order; empty = all four.
        overrides: params overrides as `physics_gnn.key.path=value` (e.g. `physics_gnn.seed=1`).
    """
    return run_in_prefect(PIPELINE, profile, steps, overrides or [])
