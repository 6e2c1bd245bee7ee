"""Prefect flow ``grammar``: prepare → train → evaluate → report, each step a task."""

from __future__ import annotations

from prefect import flow

from components.core.prefect_adapter import run_in_prefect
from components.grammar.pipeline import PIPELINE
from flows.types import Profile, Step


@flow(name="grammar", description=PIPELINE.title, log_prints=False)
def grammar(profile: Profile = "default", steps: list[Step] | None = None,
            overrides: list[str] | None = None) -> dict:
    """Run the ``grammar`` pipeline (its spec: shared/papers/grammar.md).

    Args:
        profile: smoke (seconds), default (minutes, checks the claims) or paper (real scale).
        steps: subset of steps to run, in pipeline order; empty = all four.
        overrides: params overrides as `grammar.key.path=value` (e.g. `grammar.seed=1`).
    """
    return run_in_prefect(PIPELINE, profile, steps, overrides or [])
