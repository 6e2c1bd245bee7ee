"""Prefect flow ``causality``: prepare → train → evaluate → report, each step a task."""

from __future__ import annotations

from prefect import flow

from components.core.prefect_adapter import run_in_prefect
from components.causality.pipeline import PIPELINE
from flows.types import Profile, Step


@flow(name="causality", description=PIPELINE.title, log_prints=False)
def causality(profile: Profile = "default", steps: list[Step] | None = None,
              overrides: list[str] | None = None) -> dict:
    """Run the ``causality`` pipeline (its spec: shared/papers/causality.md).

    Args:
        profile: smoke (seconds), default (minutes, checks the claims) or paper (real scale).
        steps: subset of steps to run, in pipeline order; empty = all four.
        overrides: params overrides as `causality.key.path=value` (e.g. `causality.seed=1`).
    """
    return run_in_prefect(PIPELINE, profile, steps, overrides or [])
