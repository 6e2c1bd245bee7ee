"""Prefect flow ``clustermim``: the pipeline's steps in order, each a task (declared in components/clustermim/pipeline.py)."""

from __future__ import annotations

from prefect import flow

from components.core.prefect_adapter import PrefectRun
from components.clustermim.pipeline import PIPELINE, evaluate, prepare, report, train
from flows.types import Profile, StepName


@flow(name="clustermim", flow_run_name="clustermim · {profile}", description=PIPELINE.title,
      log_prints=False)
def clustermim(profile: Profile = "default", steps: list[StepName] = [],
               overrides: list[str] = []) -> dict:
    """Run the clustermim pipeline.

    Args:
        profile: smoke (seconds), default (minutes, checks the claims), full (larger, hours)
            or paper (real scale).
        steps: subset of steps to run, in pipeline order; empty = all four.
        overrides: params overrides as `clustermim.key.path=value` (e.g. `clustermim.seed=1`).
    """
    with PrefectRun(PIPELINE, profile, steps, overrides) as run:
        run.step(prepare)
        run.step(train)
        run.step(evaluate)
        run.step(report)
    return run.summary
