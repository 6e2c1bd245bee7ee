"""Prefect flow ``intrinsic_avatar``: the pipeline's steps in order, each a task (declared in
components/intrinsic_avatar/pipeline.py)."""

from __future__ import annotations

from prefect import flow

from components.core.prefect_adapter import PrefectRun
from components.intrinsic_avatar.pipeline import PIPELINE, evaluate, prepare, report, train
from flows.types import Profile, StepName


@flow(name="intrinsic_avatar", flow_run_name="intrinsic_avatar · {profile}", description=PIPELINE.title,
      log_prints=False)
def intrinsic_avatar(profile: Profile = "default", steps: list[StepName] = [],
                     overrides: list[str] = []) -> dict:
    """Run the intrinsic_avatar pipeline.

    Args:
        profile: smoke (seconds), default (minutes, checks the claims), full (larger, hours)
            or paper (real scale, wired only).
        steps: subset of steps to run, in pipeline order; empty = all four.
        overrides: params overrides as `intrinsic_avatar.key.path=value` (e.g. `intrinsic_avatar.seed=1`).
    """
    with PrefectRun(PIPELINE, profile, steps, overrides) as run:
        run.step(prepare)
        run.step(train)
        run.step(evaluate)
        run.step(report)
    return run.summary
