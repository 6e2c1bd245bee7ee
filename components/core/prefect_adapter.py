"""The one module in ``components`` that imports Prefect: steps become tasks, fan-out becomes task runs,
the report becomes a markdown artifact."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.logging.handlers import APILogHandler
from prefect.runtime import flow_run

from components.core.execution import progress
from components.core.params import RunConfig
from components.core.paths import project_root
from components.core.pipeline import REPORT_WRITES, Pipeline, PipelineRun, Step


@task(cache_policy=NO_CACHE, persist_result=False)
def _step(thunk: Callable[[], None]) -> None:
    thunk()


@task(cache_policy=NO_CACHE, persist_result=False)
def _batch(fn: Callable[[Any], Any], item: Any) -> Any:
    from components.core.execution import limit_threads

    limit_threads()
    return fn(item)


def forget_prefect_services() -> None:
    """Run on each long-lived Dask worker before a run's tasks: Prefect keeps one API service per process
    (tag concurrency slots, log and event shipping) bound to the API of the first run that used it; the
    next ``paperflows run`` (its own temporary API) would then fail with ``ConcurrencySlotAcquisitionError``
    against a closed port (measured: every second run on a loopback cluster). Forgotten services are
    recreated by this run's tasks with this run's settings."""
    from prefect._internal.concurrency.services import _QueueServiceBase

    with _QueueServiceBase._instance_cache_lock:
        _QueueServiceBase._instances.clear()


class PrefectExecutor:
    """Batches as Prefect task runs on a local process pool or an existing Dask cluster (one local
    worker: plain calls inside the step's task).

    Worker processes reach the flow's API through the shipped settings, so the caller must run
    under one shared API (``flows._api.shared_local_api`` or ``PREFECT_API_URL``).
    """

    def __init__(self, workers: int, dask_address: str | None):
        self.workers = workers
        self.dask_address = dask_address

    def _runner(self):
        if self.dask_address:
            from prefect_dask import DaskTaskRunner

            return DaskTaskRunner(address=self.dask_address)
        if self.workers > 1:
            from prefect.task_runners import ProcessPoolTaskRunner

            from components.core.execution import limit_threads

            limit_threads()  # workers inherit the single-thread environment
            return ProcessPoolTaskRunner(max_workers=self.workers)
        return None

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], name: str) -> list[Any]:
        runner = self._runner()
        if runner is None:  # one local worker: plain calls inside the step's task, no per-batch round trips
            return [fn(item) for item in progress(items, name)]
        if self.dask_address:
            from distributed import Client

            with Client(self.dask_address, timeout=30) as client:
                client.run(forget_prefect_services)
        with runner:
            futures = [runner.submit(_batch.with_options(task_run_name=f"{name}-{i}"),
                                     parameters={"fn": fn, "item": item})
                       for i, item in enumerate(items)]
            return [f.result() for f in progress(futures, name)]


class PrefectRun(PipelineRun):
    """A :class:`PipelineRun` inside a ``@flow``: each step a task, fan-out batches task runs, the report
    a markdown artifact. The flow file lists its steps: ``with PrefectRun(...) as run: run.step(prepare)``."""

    def __init__(self, pipeline: Pipeline, profile: str, steps: Iterable[str] | None, overrides: Iterable[str]):
        root = project_root()

        def call_step(step: str, thunk: Callable[[], None]) -> None:
            _step.with_options(name=f"{pipeline.slug}-{step}", task_run_name=step)(thunk)

        def executor(cfg: RunConfig) -> PrefectExecutor:
            return PrefectExecutor(cfg.runtime.workers, cfg.runtime.resolved_dask_address())

        super().__init__(pipeline, profile, steps, overrides or [], root=root, call_step=call_step,
                         executor=executor, tags={"prefect_flow_run_id": str(flow_run.id or "none"),
                                                   "prefect_flow_run_name": str(flow_run.name or "none")},
                         sink=run_log)

    def step(self, step: Step) -> None:
        super().step(step)
        if step.metrics and step.name in self.selected:  # the report step
            publish_report(self.pipeline.slug, self._at(REPORT_WRITES["report_md"]))


def run_log(line: str) -> None:
    """A progress line into the current Prefect flow/task run's log (the UI's run page) — API only: the terminal
    already has it, and a warm runner's console handler would write to the daemon's stderr, not the user's."""
    logger = logging.getLogger("paperflows.run_log")
    if not logger.handlers:
        logger.addHandler(APILogHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False
    logger.info(line)


def publish_report(slug: str, report_md: Path) -> None:
    if report_md.exists():
        key = f"{slug.replace('_', '-')}-report"  # Prefect keys: lowercase letters, digits and dashes only
        create_markdown_artifact(key=key, markdown=embed_figures(report_md),
                                 description=f"{slug} report (the same as report.html)")


def embed_figures(report_md: Path) -> str:
    """report.md with its ``figures/*.png`` links as data URIs: the Prefect UI cannot load files relative
    to the report (it requested them from its own server and got 404s)."""
    import base64
    import re

    def inline(match: re.Match) -> str:
        png = report_md.parent / match.group(2)
        if not png.exists():
            return match.group(0)
        return f"![{match.group(1)}](data:image/png;base64,{base64.b64encode(png.read_bytes()).decode()})"

    return re.sub(r"!\[([^\]]*)\]\((figures/[^)\s]+\.png)\)", inline, report_md.read_text(encoding="utf-8"))
