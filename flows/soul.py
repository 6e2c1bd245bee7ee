"""Prefect flow ``soul``: the pipeline's steps in order, each a task (declared in components/soul/pipeline.py)."""

from __future__ import annotations

from prefect import flow

from components.core.prefect_adapter import PrefectRun
from components.soul.pipeline import PIPELINE, evaluate, prepare, report, train
from flows.types import Profile, StepName


@flow(name="soul", flow_run_name="soul · {profile}", description=PIPELINE.title,
      log_prints=False)
def soul(profile: Profile = "default", steps: list[StepName] = [],
         overrides: list[str] = []) -> dict:
    """Run the SOUL pipeline.

    Args:
        profile: smoke (seconds), default (minutes, checks the claims), full (larger, hours)
            or paper (real scale).
        steps: subset of steps to run, in pipeline order; empty = all four.
        overrides: params overrides as `soul.key.path=value` (e.g. `soul.seed=1`).
    """
    with PrefectRun(PIPELINE, profile, steps, overrides) as run:
        run.step(prepare)
        run.step(train)
        run.step(evaluate)
        run.step(report)
    return run.summary
