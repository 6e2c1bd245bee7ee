"""Prefect flow ``solver_choice``: the pipeline's steps in order, each a task (declared in components/solver_choice/pipeline.py)."""

from __future__ import annotations

from prefect import flow

from components.core.prefect_adapter import PrefectRun
from components.solver_choice.pipeline import PIPELINE, evaluate, prepare, report, train
from flows.types import Profile, StepName


@flow(name="solver_choice", flow_run_name="solver_choice · {profile}", description=PIPELINE.title,
      log_prints=False)
def solver_choice(profile: Profile = "default", steps: list[StepName] = [],
              overrides: list[str] = []) -> dict:
    """Run the solver_choice pipeline.

    Args:
        profile: smoke (seconds), default (minutes, checks the claims), full (larger, hours)
            or paper (real scale).
        steps: subset of steps to run, in pipeline order; empty = all four.
        overrides: params overrides as `solver_choice.key.path=value` (e.g. `solver_choice.seed=1`).
    """
    with PrefectRun(PIPELINE, profile, steps, overrides) as run:
        run.step(prepare)
        run.step(train)
        run.step(evaluate)
        run.step(report)
    return run.summary
