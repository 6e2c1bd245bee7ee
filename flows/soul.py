"""Prefect flow ``soul``: prepare → train → evaluate → report, each step a task."""

from __future__ import annotations

from prefect import flow

from components.core.prefect_adapter import run_in_prefect
from components.soul.pipeline import PIPELINE
from flows.types import Profile, Step


@flow(name="soul", description=PIPELINE.title, log_prints=False)
def soul(profile: Profile = "default", steps: list[Step] | None = None,
         overrides: list[str] | None = None) -> dict:
    """Run the ``soul`` pipeline (its spec: shared/papers/soul.md).

    Args:
        profile: smoke (seconds), default (minutes, checks the claims) or paper (real scale).
        steps: subset of steps to run, in pipeline order; empty = all four.
        overrides: params overrides as `soul.key.path=value` (e.g. `soul.seed=1`).
    """
    return run_in_prefect(PIPELINE, profile, steps, overrides or [])
