"""Prefect flow ``mi_generalization``: the pipeline's steps in order, each a task (declared in components/mi_generalization/pipeline.py)."""

from __future__ import annotations

from prefect import flow

from components.core.prefect_adapter import PrefectRun
from components.mi_generalization.pipeline import PIPELINE, evaluate, prepare, report, train
from flows.types import Profile, StepName


@flow(name="mi_generalization", flow_run_name="mi_generalization · {profile}", description=PIPELINE.title,
      log_prints=False)
def mi_generalization(profile: Profile = "default", steps: list[StepName] = [],
              overrides: list[str] = []) -> dict:
    """Run the mi_generalization pipeline.

    Args:
        profile: smoke (seconds), default (minutes, checks the claims), full (larger, hours)
            or paper (real scale).
        steps: subset of steps to run, in pipeline order; empty = all four.
        overrides: params overrides as `mi_generalization.key.path=value` (e.g. `mi_generalization.seed=1`).
    """
    with PrefectRun(PIPELINE, profile, steps, overrides) as run:
        run.step(prepare)
        run.step(train)
        run.step(evaluate)
        run.step(report)
    return run.summary
