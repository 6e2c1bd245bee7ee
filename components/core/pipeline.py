"""A pipeline = four plain step functions + a params model; ``run_pipeline`` executes them with tracking.

Nothing here imports Prefect: the Prefect adapter passes ``call_step`` (step → task) and an
executor; the CLI, DVC stages, notebooks and tests all go through this one function.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from components.core.errors import UserError
from components.core.index import record_step
from components.core.execution import Executor, LocalExecutor, limit_threads, progress
from components.core.params import RunConfig, RuntimeParams, StrictModel, load_config
from components.core.paths import Paths, project_root
from components.core.seeding import seed_everything
from components.core.tracking import TrackedRun, Tracker, check_reachable, git_state, resolve_uri

STEPS = ("prepare", "train", "evaluate", "report")


@dataclass(frozen=True)
class Pipeline:
    slug: str
    title: str
    params_model: type[StrictModel]
    steps_module: str  # imported on first use: listing pipelines must stay cheap
    grid: str | None = None  # "module:function" expanding params into the list of grid configs
    artifacts: tuple[str, ...] = ()  # outputs (relative to data/<slug>/) also logged to the parent run

    def step(self, name: str) -> Callable[["StepContext"], None]:
        return getattr(importlib.import_module(self.steps_module), name)

    def expand_grid(self, params) -> list[dict]:
        if self.grid is None:
            raise UserError(f"{self.slug} has no configuration grid", "grids exist for: whyshift")
        module, _, name = self.grid.partition(":")
        return getattr(importlib.import_module(module), name)(params)


@dataclass
class StepContext:
    """What a step gets: validated params, its paths, a seed, its MLflow run and a fan-out executor."""

    slug: str
    step: str
    profile: str
    params: Any
    runtime: RuntimeParams
    paths: Paths
    seed: int
    run: TrackedRun | None
    executor: Executor
    timings: dict[str, float] = field(default_factory=dict)

    def log(self, message: str) -> None:
        print(f"[{self.slug} {self.step}] {message}", file=sys.stderr, flush=True)

    def progress(self, items: Iterable, desc: str, total: int | None = None) -> Iterable:
        return progress(items, f"[{self.slug} {self.step}] {desc}", total)


def resolve_steps(steps: Iterable[str] | None) -> list[str]:
    if not steps:
        return list(STEPS)
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise UserError(f"unknown step {unknown[0]!r}", f"use one of: {', '.join(STEPS)}")
    return [s for s in STEPS if s in set(steps)]


def run_pipeline(pipeline: Pipeline, profile: str = "default", steps: Iterable[str] | None = None,
                 overrides: Iterable[str] = (), *, root: Path | None = None,
                 call_step: Callable[[str, Callable[[], None]], None] | None = None,
                 executor: Callable[[RunConfig], Executor] | None = None,
                 tags: dict[str, str] | None = None) -> dict:
    """Run ``steps`` of ``pipeline`` under one parent MLflow run with a nested run per step.

    ``call_step(step, thunk)`` lets an orchestrator wrap each step (the Prefect adapter makes it a
    task); by default the thunk is called directly. Returns a summary for the caller to print.
    """
    root = root or project_root()
    selected = resolve_steps(steps)
    cfg = load_config(pipeline.slug, pipeline.params_model, root, profile, list(overrides))
    uri = resolve_uri(root, cfg.tracking)
    check_reachable(uri)
    limit_threads()
    paths = Paths(root, pipeline.slug)
    tracker = Tracker(uri, pipeline.slug, artifact_root=root / "mlartifacts")
    commit, dirty = git_state(root)
    base_tags = {"git_commit": commit, "git_dirty": dirty, "profile": profile,
                 "prefect_flow_run_id": "none", **(tags or {})}
    parent = tracker.start_run(pipeline.slug, {**base_tags, "step": ",".join(selected),
                                               "dvc_stage": os.environ.get("DVC_STAGE", "none")})
    parent.log_params({**cfg.raw, "profile": profile, "steps": ",".join(selected)})
    make_executor = executor or (lambda c: LocalExecutor(c.runtime.workers))
    summary = {"slug": pipeline.slug, "profile": profile, "steps": selected, "run_id": parent.run_id,
               "tracking_uri": uri, "reports": str(paths.reports), "seconds": {}}
    child: TrackedRun | None = None
    exported_uri = os.environ.get("MLFLOW_TRACKING_URI")  # mlflow.set_tracking_uri (Lightning) exports it
    try:
        for step in selected:
            child = tracker.start_run(step, {**base_tags, "step": step, "dvc_stage": f"{pipeline.slug}-{step}"},
                                      parent=parent)
            ctx = StepContext(pipeline.slug, step, profile, cfg.params, cfg.runtime, paths,
                              cfg.params.seed, child, make_executor(cfg))
            fn = pipeline.step(step)
            start = time.perf_counter()

            def thunk(fn=fn, ctx=ctx) -> None:
                seed_everything(ctx.seed)
                fn(ctx)

            (call_step or (lambda _name, f: f()))(step, thunk)
            seconds = time.perf_counter() - start
            summary["seconds"][step] = seconds
            child.log_metrics({"step_seconds": seconds, **ctx.timings})
            record_step(paths.data, step, profile, seconds, child.run_id, int(ctx.timings.get("reused", 0)))
            child.finish()
            child = None
            if step == "report" and paths.reports.exists():
                parent.log_artifact(paths.reports, "report")
                for rel in pipeline.artifacts:
                    if (paths.data / rel).exists():
                        parent.log_artifact(paths.data / rel, "data")
        parent.log_metrics({f"seconds_{s}": v for s, v in summary["seconds"].items()})
        parent.finish()
    except BaseException as exc:
        status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
        for run in (child, parent):
            if run is not None:
                run.finish(status)
        raise
    finally:
        if exported_uri is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = exported_uri
    return summary
